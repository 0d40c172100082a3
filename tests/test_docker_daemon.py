"""The suite's real Docker daemon (tests/engines/docker.py) does what the other tests rely on.

Every check here runs against dockerd itself: containers from an imported
stand-in, bridge networks, a published port, memory limits, the Compose v2
plugin, and the overlay that keeps what a host command writes out of the
machine's own directories.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from tests.engines import docker
from tests.engines.docker import DockerDaemon, StandIn

BUSYBOX = StandIn(
    "ticketing-test/busybox:1",
    files={"/www/healthz": "ok\n"},
    changes=('CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]',),
)


@pytest.fixture(scope="module")
def busybox(docker_daemon: DockerDaemon) -> StandIn:
    docker_daemon.load(BUSYBOX)
    return BUSYBOX


def test_an_imported_stand_in_runs_under_its_reference(
    docker_daemon: DockerDaemon, busybox: StandIn
) -> None:
    out = docker_daemon.docker("run", "--rm", busybox.ref, "sh", "-c", "echo hello; id -u")
    assert out.stdout.split() == ["hello", "0"]
    listed = docker_daemon.docker("images", "--format", "{{.Repository}}:{{.Tag}}", busybox.ref)
    assert listed.stdout.split() == [busybox.ref]


def test_a_cached_stand_in_is_not_rebuilt(busybox: StandIn) -> None:
    first = busybox.tarball()
    mtime = first.stat().st_mtime_ns
    assert busybox.tarball() == first and first.stat().st_mtime_ns == mtime
    changed = StandIn(busybox.ref, files={"/www/healthz": "changed\n"}, changes=busybox.changes)
    assert changed.digest() != busybox.digest()


def test_containers_on_one_bridge_network_talk_by_name(
    docker_daemon: DockerDaemon, busybox: StandIn
) -> None:
    network = f"t-{uuid.uuid4().hex[:8]}"
    docker_daemon.docker("network", "create", network)
    try:
        web = f"{network}-web"
        docker_daemon.docker("run", "-d", "--name", web, "--network", network, busybox.ref)
        out = docker_daemon.docker(
            "run", "--rm", "--network", network, busybox.ref, "sh", "-c",
            f"printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' | nc -w 5 {network}-web 8080",
        )  # fmt: skip
        assert out.stdout.startswith("HTTP/1.") and " 200 " in out.stdout.splitlines()[0]
    finally:
        docker_daemon.docker("rm", "-f", f"{network}-web", check=False)
        docker_daemon.docker("network", "rm", network, check=False)


def test_a_published_port_answers_in_the_daemons_network_namespace(
    docker_daemon: DockerDaemon, busybox: StandIn
) -> None:
    name = f"p-{uuid.uuid4().hex[:8]}"
    docker_daemon.docker("run", "-d", "--name", name, "-p", "127.0.0.1:18080:8080", busybox.ref)
    try:
        probe = "printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 5 127.0.0.1 18080"
        out = docker_daemon.netns_run(["sh", "-c", probe])
        assert " 200 " in out.stdout.splitlines()[0], out.stderr
    finally:
        docker_daemon.docker("rm", "-f", name, check=False)


def test_memory_limits_are_enforced(docker_daemon: DockerDaemon, busybox: StandIn) -> None:
    if not docker_daemon.memory_limits:
        pytest.skip("this machine's cgroups give the daemon no memory controller")
    name = f"m-{uuid.uuid4().hex[:8]}"
    # tail keeps a line without a newline in memory: 64 MiB of zeros under a 16 MiB limit.
    hog = ["sh", "-c", "head -c 67108864 /dev/zero | tail >/dev/null"]
    docker_daemon.docker("run", "--name", name, "-m", "16m", busybox.ref, *hog, check=False)
    state = json.loads(docker_daemon.docker("inspect", "--format", "{{json .State}}", name).stdout)
    docker_daemon.docker("rm", "-f", name, check=False)
    assert state["OOMKilled"] is True


def test_compose_v2_is_the_pinned_plugin(docker_daemon: DockerDaemon) -> None:
    out = docker_daemon.docker("compose", "version", "--short")
    assert out.stdout.strip() == docker.COMPOSE_VERSION.removeprefix("v")


def test_what_a_host_command_writes_stays_in_the_daemons_overlay(
    docker_daemon: DockerDaemon, busybox: StandIn
) -> None:
    marker = f"/opt/ticketing-overlay-{uuid.uuid4().hex[:8]}"
    written = docker_daemon.host_run(["sh", "-c", f"mkdir {marker} && echo seen > {marker}/f"])
    assert written.returncode == 0, written.stderr
    assert not Path(marker).exists()  # the machine's /opt is untouched
    # ... and the daemon bind-mounts what the command wrote.
    out = docker_daemon.docker(
        "run", "--rm", "-v", f"{marker}:/m:ro", busybox.ref, "cat", "/m/f"
    )  # fmt: skip
    assert out.stdout == "seen\n"
