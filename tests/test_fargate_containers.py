"""The ECS test stack's containers, run under the suite's real Docker daemon.

Each container of ticketing's and payments' task definitions (as captured from the
program, `tests.conftest.ecs_plan`) runs from a stand-in image under its exact image
reference, wired as its definition says: user, read-only root and tmpfs, dropped
capabilities, init process, environment, health check, and its `secrets` resolved the
way the ECS agent resolves them at task start. That resolution runs against the AWS
API emulator (moto's SSM, holding the values the program stores) after the task's
execution role policy, as the program renders it, is evaluated for the request by
moto's IAM policy evaluator; the broker's data directory is a volume created as the
EFS access point would create it (owner and mode from the access point).

What stands in for what AWS provides:

- a task's ENI and security groups: one bridge network per store task, joined by
  the store and by every API task whose security group the store's ingress rules
  admit (read from the captured rules, not written here); the store's Cloud Map
  name is its network alias;
- EFS: a named volume; CloudWatch Logs: the daemon's default log driver.

The stand-in API serves its health check only while its own Redis answers PING and
its own RabbitMQ accepts it (both from the URLs in its secrets), so "healthy" is the
service reaching its stores.
"""

from __future__ import annotations

import json
import shlex
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from components.aws.fargate import parameter_arn
from plan import fakes
from plan.model import Plan, Resource, reveal
from tests.conftest import ECS_SERVICES
from tests.engines.docker import DockerDaemon, StandIn
from tests.test_fargate import containers, permitted

REGION = "eu-west-1"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
ECS_SERVICE = "aws:ecs/service:Service"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
DISCOVERY = "aws:servicediscovery/service:Service"
NAMESPACE = "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace"
HEALTHY_WITHIN_SECONDS = 420

# redis-ping URL: what a service does with its REDIS_URL, redis://default:<password>@...
# (redis-cli -u would print a warning about a password on its command line).
REDIS_PING = """#!/bin/sh
# redis-ping URL: PING the Redis at redis://<user>:<password>@<host>:<port>/<db>.
rest=${1#redis://}
auth=${rest%%@*}
where=${rest#*@}
where=${where%%/*}
REDISCLI_AUTH="${auth#*:}" exec timeout 5 redis-cli -h "${where%:*}" -p "${where##*:}" ping
"""

API_STAND_IN = """#!/bin/sh
# Healthy only while this service's own Redis and RabbitMQ answer with its credentials.
mkdir -p /tmp/www
while :; do
  if redis-ping "$REDIS_URL" 2>/dev/null | grep -q PONG \\
      && amqp-declare-queue --url="$AMQP_URL" -q healthz >/dev/null 2>&1; then
    echo ok > /tmp/www/healthz
  else
    rm -f /tmp/www/healthz
  fi
  sleep 2
done &
exec httpd -f -p 8080 -h /tmp/www
"""


def _users(*users: tuple[str, int, int, str]) -> dict[str, str]:
    rows = [("root", 0, 0, "/root"), *users]
    return {
        "/etc/passwd": "".join(f"{n}:x:{u}:{g}:{n}:{h}:/bin/sh\n" for n, u, g, h in rows),
        "/etc/group": "".join(f"{n}:x:{g}:\n" for n, _, g, _ in rows),
    }


def api_stand_in(ref: str) -> StandIn:
    return StandIn(
        ref,
        packages=("redis-tools", "amqp-tools", "curl"),
        files={
            "/usr/local/bin/api-stand-in": API_STAND_IN,
            "/usr/local/bin/redis-ping": REDIS_PING,
            **_users(),
        },
        executables=("/usr/local/bin/api-stand-in", "/usr/local/bin/redis-ping"),
        changes=('CMD ["/usr/local/bin/api-stand-in"]',),
    )


def redis_stand_in(ref: str) -> StandIn:
    # The official image's user: redis (999).
    return StandIn(
        ref, packages=("redis-server", "redis-tools"), files=_users(("redis", 999, 1000, "/data"))
    )


def rabbitmq_stand_in(ref: str, uid: int, gid: int) -> StandIn:
    # Debian's broker laid out as the official image is: its scripts on PATH, /etc/rabbitmq
    # and conf.d writable by everyone (chmod 1777), the rabbitmq user with the image's ids.
    return StandIn(
        ref,
        packages=("rabbitmq-server",),
        follow=("erlang-",),
        files=_users(("rabbitmq", uid, gid, "/var/lib/rabbitmq")),
        directories={
            "/etc/rabbitmq": 0o1777,
            "/etc/rabbitmq/conf.d": 0o1777,
            "/var/log/rabbitmq": 0o1777,
            "/var/lib/rabbitmq": 0o755,
        },
        changes=(
            "ENV PATH=/usr/lib/rabbitmq/bin:/usr/local/bin:/usr/bin:/usr/sbin:/bin",
            'CMD ["rabbitmq-server"]',
        ),
    )


# --- what the plan says ------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    service: str
    kind: str  # api, redis, rabbitmq
    definition: Resource
    ecs_service: Resource

    @property
    def container(self) -> dict[str, Any]:
        [only] = containers(self.definition)
        return only


def tasks_of(plan: Plan) -> dict[tuple[str, str], Task]:
    definitions = {d.outputs["arn"]: d for d in plan.of_type(TASK_DEFINITION)}
    found: dict[tuple[str, str], Task] = {}
    for service in plan.of_type(ECS_SERVICE):
        owner, kind = str(service.inputs["name"]).rsplit("-", 1)
        found[(owner, kind)] = Task(
            owner, kind, definitions[service.inputs["taskDefinition"]], service
        )
    return found


def cloud_map_name(plan: Plan, task: Task) -> str:
    [registry] = [r["registryArn"] for r in [task.ecs_service.inputs["serviceRegistries"]]]
    [discovery] = [d for d in plan.of_type(DISCOVERY) if d.outputs["arn"] == registry]
    [namespace] = [
        n for n in plan.of_type(NAMESPACE) if n.id == discovery.inputs["dnsConfig"]["namespaceId"]
    ]
    return f"{discovery.inputs['name']}.{namespace.inputs['name']}"


def admitted_groups(plan: Plan, store: Task) -> set[str]:
    groups = set(store.ecs_service.inputs["networkConfiguration"]["securityGroups"])
    return {
        str(r.inputs["referencedSecurityGroupId"])
        for r in plan.of_type(INGRESS)
        if r.inputs["securityGroupId"] in groups and "referencedSecurityGroupId" in r.inputs
    }


def execution_policies(plan: Plan, definition: Resource) -> list[dict[str, Any]]:
    [role] = [
        r
        for r in plan.of_type("aws:iam/role:Role")
        if r.outputs["arn"] == definition.inputs["executionRoleArn"]
    ]
    return [
        json.loads(reveal(p.inputs["policy"]))
        for p in plan.of_type("aws:iam/rolePolicy:RolePolicy")
        if p.inputs["role"] == role.id
    ]


class SecretDeniedError(Exception):
    pass


def resolve_secrets(plan: Plan, task: Task, ssm: Any) -> dict[str, str]:
    """What the ECS agent does at task start: GetParameters with the execution role."""
    policies = execution_policies(plan, task.definition)
    values: dict[str, str] = {}
    for secret in task.container.get("secrets", []):
        arn = parameter_arn(REGION, fakes.ACCOUNT_ID, secret["valueFrom"])
        if not permitted(policies, "ssm:GetParameters", arn):
            raise SecretDeniedError(f"{task.definition.name} may not read {secret['valueFrom']}")
        [parameter] = ssm.get_parameters(Names=[secret["valueFrom"]], WithDecryption=True)[
            "Parameters"
        ]
        values[secret["name"]] = parameter["Value"]
    return values


# --- running a container as its definition says -------------------------------------------


def _seconds(value: int) -> str:
    return f"{value}s"


def create_args(
    container: Mapping[str, Any], name: str, env_file: Path, volumes: Mapping[str, str]
) -> list[str]:
    """`docker create` arguments for one ECS container definition."""
    args = ["--name", name, "--env-file", str(env_file)]
    if "user" in container:
        args += ["--user", container["user"]]
    if container.get("readonlyRootFilesystem"):
        args.append("--read-only")
    linux = container.get("linuxParameters", {})
    for capability in linux.get("capabilities", {}).get("drop", []):
        args += ["--cap-drop", capability]
    if linux.get("initProcessEnabled"):
        args.append("--init")
    for tmpfs in linux.get("tmpfs", []):
        options = ",".join([*tmpfs.get("mountOptions", []), f"size={tmpfs['size']}m"])
        args += ["--tmpfs", f"{tmpfs['containerPath']}:{options}"]
    for mount in container.get("mountPoints", []):
        # An EFS access point shows its own directory: nothing of the image is copied in.
        mode = "ro" if mount.get("readOnly") else "rw"
        target = f"{volumes[mount['sourceVolume']]}:{mount['containerPath']}:{mode},nocopy"
        args += ["-v", target]
    if "stopTimeout" in container:
        args += ["--stop-timeout", str(container["stopTimeout"])]
    for label, value in container.get("dockerLabels", {}).items():
        args += ["--label", f"{label}={value}"]
    check = container.get("healthCheck")
    if check:
        kind, *command = check["command"]
        # ECS's CMD form runs the words as given; the CLI's --health-cmd takes one shell line.
        shell = command[0] if kind == "CMD-SHELL" else shlex.join(command)
        args += [
            "--health-cmd", shell,
            "--health-interval", _seconds(check["interval"]),
            "--health-timeout", _seconds(check["timeout"]),
            "--health-retries", str(check["retries"]),
            "--health-start-period", _seconds(check["startPeriod"]),
        ]  # fmt: skip
    args.append(container["image"])
    args += container.get("command", [])
    return args


@dataclass
class Running:
    daemon: DockerDaemon
    plan: Plan
    tasks: dict[tuple[str, str], Task]
    names: dict[tuple[str, str], str]
    secrets: dict[tuple[str, str], dict[str, str]]
    networks: dict[tuple[str, str], str]
    volumes: dict[str, str]
    workdir: Path
    prefix: str

    def exec(self, key: tuple[str, str], script: str) -> Any:
        return self.daemon.docker(
            "exec", self.names[key], "sh", "-c", script, check=False, timeout=60
        )

    def start(self, key: tuple[str, str], without: frozenset[str] = frozenset()) -> None:
        """Create and start `key`'s container as its definition says (less `without`'s
        environment variables, for a counter-example)."""
        task = self.tasks[key]
        env_file = self.workdir / f"{key[0]}-{key[1]}.env"
        variables = {v["name"]: v["value"] for v in task.container.get("environment", [])}
        variables.update(self.secrets[key])
        variables = {k: v for k, v in variables.items() if k not in without}
        env_file.write_text("".join(f"{k}={v}\n" for k, v in variables.items()))
        env_file.chmod(0o600)
        volumes = {"rabbitmq-data": self.volumes.get(key[0], "")}
        name = self.names[key]
        self.daemon.docker("create", *create_args(task.container, name, env_file, volumes))
        joined = [n for k, n in self.networks.items() if self._joins(key, k)]
        for network in joined:
            aliases = ["--alias", self.alias(key)] if key[1] != "api" else []
            self.daemon.docker("network", "connect", *aliases, network, name)
        self.daemon.docker("network", "disconnect", "bridge", name, check=False)
        self.daemon.docker("start", name)

    def _joins(self, key: tuple[str, str], store: tuple[str, str]) -> bool:
        if key == store:
            return True
        if key[1] != "api":
            return False
        groups = set(self.tasks[key].ecs_service.inputs["networkConfiguration"]["securityGroups"])
        return bool(groups & admitted_groups(self.plan, self.tasks[store]))

    def alias(self, key: tuple[str, str]) -> str:
        return cloud_map_name(self.plan, self.tasks[key])

    def health(self, key: tuple[str, str]) -> str:
        out = self.daemon.docker("inspect", "--format", "{{.State.Health.Status}}", self.names[key])
        return out.stdout.strip()

    def wait_healthy(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        deadline = time.monotonic() + HEALTHY_WITHIN_SECONDS
        states: dict[tuple[str, str], str] = {}
        while time.monotonic() < deadline:
            states = {k: self.health(k) for k in keys}
            if all(s == "healthy" for s in states.values()) or "unhealthy" in states.values():
                break
            time.sleep(3)
        return states


@pytest.fixture(scope="module")
def running(
    docker_daemon: DockerDaemon, ecs_plan: Plan, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Running]:
    tasks = {k: t for k, t in tasks_of(ecs_plan).items() if k[0] in ECS_SERVICES}
    # Stand-ins under the exact references the task definitions name.
    images: dict[str, StandIn] = {}
    for task in tasks.values():
        ref = task.container["image"]
        if task.kind == "redis":
            images[ref] = redis_stand_in(ref)
        elif task.kind == "rabbitmq":
            uid, gid = (int(x) for x in task.container["user"].split(":"))
            images[ref] = rabbitmq_stand_in(ref, uid, gid)
    api_refs = sorted({t.container["image"] for t in tasks.values() if t.kind == "api"})
    docker_daemon.load(*images.values(), api_stand_in(api_refs[0]))
    for ref in api_refs[1:]:
        docker_daemon.docker("tag", api_refs[0], ref)

    prefix = f"ecs-{uuid.uuid4().hex[:6]}"
    workdir = tmp_path_factory.mktemp("ecs-containers")
    with mock_aws():
        ssm = boto3.client("ssm", region_name=REGION)
        # What the program stores for every service (not only those on ECS).
        for parameter in ecs_plan.of_type("aws:ssm/parameter:Parameter"):
            inputs = reveal(parameter.inputs)
            if not str(inputs["name"]).startswith("/ticketing/dev/services/"):
                continue
            ssm.put_parameter(
                Name=inputs["name"],
                Value=inputs.get("value", inputs.get("insecureValue")),
                Type=inputs["type"],
            )
        secrets = {k: resolve_secrets(ecs_plan, t, ssm) for k, t in tasks.items()}

    networks = {k: f"{prefix}-{k[0]}-{k[1]}" for k in tasks if k[1] != "api"}
    volumes: dict[str, str] = {}
    state = Running(
        docker_daemon,
        ecs_plan,
        tasks,
        {k: f"{prefix}-{k[0]}-{k[1]}" for k in tasks},
        secrets,
        networks,
        volumes,
        workdir,
        prefix,
    )
    try:
        for network in networks.values():
            docker_daemon.docker("network", "create", network)
        for service in ECS_SERVICES:
            volumes[service] = _access_point_volume(
                docker_daemon, ecs_plan, service, prefix, images
            )
        for key in tasks:
            if key[1] != "api":
                state.start(key)
        yield state
    finally:
        for name in state.names.values():
            docker_daemon.docker("rm", "-f", name, check=False)
        for network in networks.values():
            docker_daemon.docker("network", "rm", network, check=False)
        for volume in volumes.values():
            docker_daemon.docker("volume", "rm", "-f", volume, check=False)


def _access_point_volume(
    daemon: DockerDaemon, plan: Plan, service: str, prefix: str, images: Mapping[str, StandIn]
) -> str:
    """A volume whose root is what the EFS access point creates: its owner, its mode."""
    point = plan.named(f"{service}-ecs-rabbitmq-data-ap").inputs
    info = point["rootDirectory"]["creationInfo"]
    volume = f"{prefix}-{service}-rabbitmq-data"
    daemon.docker("volume", "create", volume)
    any_image = next(iter(images))
    owner = f"{int(info['ownerUid'])}:{int(info['ownerGid'])}"
    setup = f"chown {owner} /ap && chmod {info['permissions']} /ap"
    daemon.docker(
        "run", "--rm", "-v", f"{volume}:/ap", "--entrypoint", "sh", any_image, "-c", setup
    )
    return volume


# --- the checks -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def healthy(running: Running) -> Running:
    """Stores first, then the APIs: ECS would replace an API task whose health check failed
    while its stores were still starting; here the APIs start once the stores are healthy."""
    stores = [k for k in running.tasks if k[1] != "api"]
    apis = [k for k in running.tasks if k[1] == "api"]
    assert running.wait_healthy(stores) == dict.fromkeys(stores, "healthy")
    for key in apis:
        running.start(key)
    # The API's check passes only once it reached its own Redis and RabbitMQ.
    assert running.wait_healthy(apis) == dict.fromkeys(apis, "healthy")
    return running


def test_every_container_becomes_healthy_by_its_own_health_check(healthy: Running) -> None:
    for key in healthy.tasks:
        assert healthy.health(key) == "healthy", key


def test_containers_run_as_their_definitions_say(healthy: Running) -> None:
    running = healthy
    for key, name in running.names.items():
        container = running.tasks[key].container
        config = json.loads(running.daemon.docker("inspect", name).stdout)[0]
        assert config["Config"]["User"] == container["user"], key
        assert config["HostConfig"]["ReadonlyRootfs"] is bool(
            container.get("readonlyRootFilesystem")
        )
        assert config["HostConfig"]["CapDrop"] == ["ALL"]
        user = container["user"].split(":")[0]
        who = running.exec(key, "id -u" if user.isdigit() else "id -un").stdout.strip()
        assert who == user and running.exec(key, "id -u").stdout.strip() != "0", key
    api = ("ticketing", "api")
    assert running.exec(api, "touch /x").returncode != 0  # read-only root
    assert running.exec(api, "touch /tmp/x && rm /tmp/x").returncode == 0  # its tmpfs


def test_secrets_reach_the_environment_as_the_program_stored_them(healthy: Running) -> None:
    running = healthy
    env = running.exec(("ticketing", "api"), "env").stdout
    names = {line.split("=", 1)[0] for line in env.splitlines() if "=" in line}
    assert {"DATABASE_URL", "REDIS_URL", "AMQP_URL", "VENUE_SYNC_CREDENTIAL_ARENA"} <= names
    redis_url = running.secrets[("ticketing", "api")]["REDIS_URL"]
    assert redis_url.startswith("redis://default:")
    assert redis_url.endswith("@ticketing-redis.dev.ticketing.internal:6379/0")
    broker = running.exec(("ticketing", "rabbitmq"), "env").stdout
    assert "RABBITMQ_NODENAME=rabbit@localhost" in broker
    # The broker's own process runs without the definitions in its environment.
    leaked = running.exec(
        ("ticketing", "rabbitmq"),
        "for p in $(pidof beam.smp); do tr '\\0' '\\n' < /proc/$p/environ; done"
        " | grep -c '^RABBITMQ_DEFINITIONS=' || true",
    )
    assert leaked.stdout.strip() == "0"


def test_the_execution_role_refuses_another_services_secret(running: Running) -> None:
    task = running.tasks[("ticketing", "api")]
    borrowed = json.loads(task.definition.inputs["containerDefinitions"])
    borrowed[0]["secrets"] = [
        {"name": "REDIS_URL", "valueFrom": "/ticketing/dev/services/payments/redis-url"}
    ]
    stolen = Task(
        task.service, task.kind, _with_containers(task.definition, borrowed), task.ecs_service
    )
    with mock_aws():
        ssm = boto3.client("ssm", region_name=REGION)
        ssm.put_parameter(
            Name="/ticketing/dev/services/payments/redis-url", Value="x", Type="SecureString"
        )
        with pytest.raises(
            SecretDeniedError, match="may not read /ticketing/dev/services/payments/redis-url"
        ):
            resolve_secrets(running.plan, stolen, ssm)


def _with_containers(definition: Resource, containers_: list[dict[str, Any]]) -> Resource:
    return replace(
        definition, inputs={**definition.inputs, "containerDefinitions": json.dumps(containers_)}
    )


def _redis_ping(running: Running, key: tuple[str, str], url: str) -> str:
    out = running.exec(key, f"redis-ping {shlex.quote(url)} 2>&1")
    return out.stdout.strip()


def test_each_service_reaches_its_own_stores(healthy: Running) -> None:
    running = healthy
    for service in ECS_SERVICES:
        secrets = running.secrets[(service, "api")]
        assert _redis_ping(running, (service, "api"), secrets["REDIS_URL"]) == "PONG"
        amqp = running.exec(
            (service, "api"),
            f"amqp-declare-queue --url={shlex.quote(secrets['AMQP_URL'])} -q probe",
        )
        assert amqp.returncode == 0 and amqp.stdout.strip() == "probe", amqp.stderr


def test_no_service_reaches_anothers_stores(healthy: Running) -> None:
    running = healthy
    ticketing, payments = ("ticketing", "api"), ("payments", "api")
    theirs = running.secrets[payments]
    # Not by name: another service's Cloud Map names are not on its networks.
    for name in (running.alias(("payments", "redis")), running.alias(("payments", "rabbitmq"))):
        lookup = running.exec(
            ticketing, f"nslookup {name} 127.0.0.11 >/dev/null 2>&1 && echo found"
        )
        assert lookup.stdout.strip() != "found", name
    assert _redis_ping(running, ticketing, theirs["REDIS_URL"]) != "PONG"
    stolen = running.exec(
        ticketing, f"amqp-declare-queue --url={shlex.quote(theirs['AMQP_URL'])} -q probe"
    )
    assert stolen.returncode != 0
    # Not by address either: unreachable where the daemon isolates networks, and where it
    # cannot, refused with ticketing's own password.
    address = running.daemon.docker(
        "inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
        running.names[("payments", "redis")],
    ).stdout.strip()  # fmt: skip
    own = running.secrets[ticketing]["REDIS_URL"]
    password = own.split("//default:", 1)[1].split("@", 1)[0]
    direct = running.exec(
        ticketing,
        f"REDISCLI_AUTH={shlex.quote(password)} timeout 5 redis-cli -h {address} ping 2>&1",
    ).stdout.strip()
    assert direct != "PONG"
    if running.daemon.iptables:
        assert "WRONGPASS" not in direct  # never even got to ask


def test_broker_data_outlives_its_task(healthy: Running) -> None:
    """A replaced broker task (new container, new hostname) finds the messages it kept."""
    running = healthy
    api, broker = ("ticketing", "api"), ("ticketing", "rabbitmq")
    url = shlex.quote(running.secrets[api]["AMQP_URL"])
    kept = running.exec(
        api,
        f"amqp-declare-queue --url={url} -d -q kept >/dev/null"
        f" && amqp-publish --url={url} -r kept -p -b survived",
    )
    assert kept.returncode == 0, kept.stderr
    before = running.daemon.docker(
        "inspect", "--format", "{{.Config.Hostname}}", running.names[broker]
    ).stdout
    replace_task(running, broker)
    after = running.daemon.docker(
        "inspect", "--format", "{{.Config.Hostname}}", running.names[broker]
    ).stdout
    assert before != after
    assert running.wait_healthy([broker]) == {broker: "healthy"}
    got = running.exec(api, f"amqp-get --url={url} -q kept")
    assert got.stdout.strip() == "survived", got.stderr


def replace_task(
    running: Running, key: tuple[str, str], without: frozenset[str] = frozenset()
) -> None:
    # ECS stops a task as `docker stop` does: SIGTERM, then SIGKILL after its stopTimeout.
    running.daemon.docker("stop", running.names[key], timeout=180)
    running.daemon.docker("rm", running.names[key])
    running.start(key, without)


def test_without_its_fixed_node_name_a_replaced_broker_would_start_empty(healthy: Running) -> None:
    """Why the definition sets RABBITMQ_NODENAME: the data directory is named after the node,
    and a new task has a new hostname."""
    running = healthy
    api, broker = ("payments", "api"), ("payments", "rabbitmq")
    url = shlex.quote(running.secrets[api]["AMQP_URL"])
    kept = running.exec(
        api,
        f"amqp-declare-queue --url={url} -d -q kept >/dev/null"
        f" && amqp-publish --url={url} -r kept -p -b survived",
    )
    assert kept.returncode == 0, kept.stderr
    replace_task(running, broker, without=frozenset({"RABBITMQ_NODENAME"}))
    assert running.wait_healthy([broker]) == {broker: "healthy"}
    got = running.exec(api, f"amqp-get --url={url} -q kept")
    assert got.returncode != 0 and got.stdout.strip() != "survived"
