"""A service's RabbitMQ on an app host, for real: the broker the compose document runs,
under real Docker Compose on the suite's dockerd, fed by the apply script's own steps.

The compose document is the one the dev plan puts in SSM; the files are written with the
apply script's own `put` (a new file renamed over the old one) and the broker is told to
re-read them with the apply script's own reload line. Only the log driver is swapped,
for json-file (CloudWatch Logs is not reachable here), and the image is a stand-in built
from Debian's rabbitmq-server under the reference the document names.

What it proves: a rotated password reaches the running broker (the definitions
directory is mounted, not the file: a file mount keeps showing the container the file
it was started with, as the last test shows), and the broker raises its memory alarm at
0.4 of the container's limit, not of the host's memory.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.host import apply_document, compose, memory, rabbitmq
from plan.model import Plan
from tests.app_tier_helpers import compose_document
from tests.engines.docker import DockerDaemon, StandIn

pytestmark = pytest.mark.real_engine

SERVICE = "notifications"
BROKER = f"{SERVICE}-rabbitmq"
SALT = bytes.fromhex("0a0b0c0d")


def rabbitmq_stand_in(ref: str) -> StandIn:
    # Debian's broker laid out as the official image is: its scripts on PATH and conf.d
    # beside /etc/rabbitmq; it runs as root here (the image's entrypoint would drop to
    # its rabbitmq user), so root needs a home for the Erlang cookie.
    return StandIn(
        ref,
        packages=("rabbitmq-server",),
        follow=("erlang-",),
        directories={
            "/root": 0o700,
            "/etc/rabbitmq/conf.d": 0o755,
            "/var/log/rabbitmq": 0o755,
            "/var/lib/rabbitmq": 0o755,
        },
        changes=(
            "ENV PATH=/usr/lib/rabbitmq/bin:/usr/local/bin:/usr/bin:/usr/sbin:/bin",
            "ENV HOME=/root",
            'CMD ["rabbitmq-server"]',
        ),
    )


def script_function(name: str) -> str:
    """A shell function of the rendered apply script, exactly as the host runs it."""
    script = "\n".join(
        apply_document.render_script(apply_document.ApplySpec(services=(), databases=()))
    )
    match = re.search(rf"^{name}\(\) {{\n.*?^}}\n", script + "\n", flags=re.M | re.S)
    assert match, name
    return match.group(0)


def reload_lines() -> str:
    """The apply script's reload of this broker's definitions."""
    from seed.catalog import SERVICES

    [service] = [s for s in SERVICES if s.name == SERVICE]
    return "\n".join(apply_document._rabbitmq_reloads([service]))  # pyright: ignore[reportPrivateUsage]


class Host:
    def __init__(self, daemon: DockerDaemon, workdir: Path, document: dict[str, Any]) -> None:
        self.daemon, self.workdir = daemon, workdir
        [self.container] = [c["container_name"] for c in document["services"].values()]
        self.project = f"rmq-{uuid.uuid4().hex[:6]}"
        [self.service] = document["services"]
        self.files = [workdir / "compose.yaml", workdir / "override.yaml"]
        self.files[0].write_text(yaml.safe_dump({**document, "name": self.project}))

    def put(self, path: str, content: str) -> None:
        """The apply script's `put`: the content to a new file, renamed over `path`."""
        script = (
            f'{script_function("put")}install -d -m 0755 {Path(path).parent}\nput 0644 "$1" "$2"\n'
        )
        result = self.daemon.host_run(
            ["bash", "-c", script, "put", path, content], env={"PATH": "/usr/bin:/bin"}
        )
        assert result.returncode == 0, result.stderr

    def compose(self, *args: str, check: bool = True) -> str:
        flags = [a for f in self.files for a in ("-f", str(f))]
        result = self.daemon.host_run(
            ["docker", "compose", *flags, *args],
            env={**self.daemon.env, "PATH": "/usr/bin:/bin"},
        )
        assert not check or result.returncode == 0, result.stderr + result.stdout
        return result.stdout

    def up(self) -> None:
        """Compose up, then wait for the broker's boot to finish: its health check (a ping)
        passes once the node answers, possibly before the definitions are imported."""
        self.compose("up", "-d", "--wait", "--wait-timeout", "180")
        result = self.daemon.host_run(
            ["docker", "exec", self.container, "rabbitmqctl", "await_startup", "--timeout", "120"],
            env={**self.daemon.env, "PATH": "/usr/bin:/bin"},
        )
        assert result.returncode == 0, result.stderr + result.stdout

    def authenticates(self, password: str) -> bool:
        result = self.daemon.host_run(
            [
                "docker",
                "exec",
                self.container,
                "rabbitmqctl",
                "authenticate_user",
                SERVICE,
                password,
            ],
            env={**self.daemon.env, "PATH": "/usr/bin:/bin"},
        )
        return result.returncode == 0

    def reload(self) -> None:
        # The apply script names the compose file at its host path; this project's is here.
        lines = reload_lines().replace(
            f"-f {compose.COMPOSE_FILE}", " ".join(f"-f {f}" for f in self.files)
        )
        lines = lines.replace(f" {BROKER} ", f" {self.service} ")
        result = self.daemon.host_run(
            ["bash", "-c", lines], env={**self.daemon.env, "PATH": "/usr/bin:/bin"}
        )
        assert result.returncode == 0, result.stderr


def definitions(password: str) -> str:
    return json.dumps(rabbitmq.render_definitions(SERVICE, password, SERVICE, SALT), sort_keys=True)


def broker_only(plan: Plan, mounts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The dev plan's compose document, with only this service's broker and its network;
    with `mounts`, a second broker beside it (its own container and data volume)."""
    document = compose_document(plan)
    broker = dict(document["services"][BROKER])
    broker["logging"] = {"driver": "json-file"}
    name, volumes = (
        BROKER,
        {k: v for k, v in document["volumes"].items() if k == compose.rabbitmq_volume(SERVICE)},
    )
    if mounts is not None:
        name = f"{BROKER}-file-mount"
        broker["container_name"] = name
        broker["volumes"] = mounts
        volumes = {f"{name}-data": {"name": f"{name}-data"}}
    return {
        "services": {name: broker},
        "networks": {n: document["networks"][n] for n in broker["networks"]},
        "volumes": volumes,
    }


@pytest.fixture(scope="module")
def host(
    docker_daemon: DockerDaemon, dev_plan: Plan, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Host]:
    document = broker_only(dev_plan)
    docker_daemon.load(rabbitmq_stand_in(document["services"][BROKER]["image"]))
    workdir = tmp_path_factory.mktemp("host-rabbitmq")
    h = Host(docker_daemon, workdir, document)
    h.files[1].write_text("{}\n")
    h.put(compose.rabbitmq_definitions_file(SERVICE), definitions("first-password"))
    config = rabbitmq.boot_config(rabbitmq.HOST_DEFINITIONS_PATH, memory.RABBITMQ_MEMORY_MB)
    h.put(compose.rabbitmq_config_file(SERVICE), config.rstrip())
    h.up()
    try:
        yield h
    finally:
        h.compose("down", "-v", check=False)


def test_the_broker_takes_the_service_user_from_its_definitions(host: Host) -> None:
    assert host.authenticates("first-password")
    assert not host.authenticates("guest")


def test_a_rotated_password_reaches_the_running_broker(host: Host) -> None:
    host.put(compose.rabbitmq_definitions_file(SERVICE), definitions("second-password"))
    host.reload()
    assert host.authenticates("second-password")
    assert not host.authenticates("first-password")


def test_the_memory_alarm_is_a_share_of_the_container_limit(host: Host) -> None:
    result = host.daemon.host_run(
        ["docker", "exec", BROKER, "rabbitmqctl", "eval", "vm_memory_monitor:get_memory_limit()."],
        env={**host.daemon.env, "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) == int(512 * 1024 * 1024 * 0.4)


def test_a_file_mount_would_keep_the_old_password(
    docker_daemon: DockerDaemon, dev_plan: Plan, tmp_path: Path
) -> None:
    """The mount this replaced: the definitions file itself. After the same rotation the
    container still reads the file it started with (the old inode)."""
    directory = f"/opt/ticketing-file-mount/{SERVICE}"
    old_way = [
        {"type": "volume", "source": f"{BROKER}-file-mount-data", "target": "/var/lib/rabbitmq"},
        {
            "type": "bind",
            "source": f"{directory}/definitions.json",
            "target": rabbitmq.HOST_DEFINITIONS_PATH,
            "read_only": True,
        },
        {
            "type": "bind",
            "source": f"{directory}/rabbitmq.conf",
            "target": compose.RABBITMQ_CONF_TARGET,
            "read_only": True,
        },
    ]
    h = Host(docker_daemon, tmp_path, broker_only(dev_plan, old_way))
    h.files[1].write_text("{}\n")
    h.put(f"{directory}/definitions.json", definitions("first-password"))
    h.put(
        f"{directory}/rabbitmq.conf", rabbitmq.boot_config(rabbitmq.HOST_DEFINITIONS_PATH).rstrip()
    )
    try:
        h.up()
        h.put(f"{directory}/definitions.json", definitions("second-password"))
        h.reload()
        assert h.authenticates("first-password")
        assert not h.authenticates("second-password")
    finally:
        h.compose("down", "-v", check=False)
