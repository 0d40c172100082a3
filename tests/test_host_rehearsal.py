"""The app host rehearsed for real: the dev plan's apply script, run as the host runs it.

The plan is dev's with two replicas of every service and web client, as staging and prod
run them (`appHost.replicas: 2`, on a t3.large they fit): dev's own single replica only
leaves out the rolling lines. The script is that plan's SSM Command document's own
`runCommand` (read from the captured `aws:ssm/document` resource, not rendered again),
its `{{ Name }}` parameters filled in from the captured association as SSM fills them in,
written to a file and executed. It runs in the suite's dockerd's mount namespace
(`DockerDaemon.host_run`: `/opt` is a copy-on-write overlay) against:

- the real dockerd and real Docker Compose v2 (`tests/engines/docker.py`), with stand-in
  images from Debian packages under the exact references the compose document names;
- SSM Parameter Store and Secrets Manager served by moto in server mode on 127.0.0.1,
  holding every parameter the plan stores, read by the real AWS CLI (awscli from
  requirements-dev) through `AWS_ENDPOINT_URL`;
- the ALB's target groups: HAProxy (Debian's) in the daemon's network namespace, one
  backend per target group with a server per replica's host port, driven through its
  runtime API by a stand-in for `aws elbv2` on the script's PATH (`TargetGroups`);
- a real PostgreSQL standing in for RDS: Debian's PostgreSQL server with TLS on (the
  embedded server the other tests use is built without SSL), its certificate for
  127.0.0.1 issued by a CA of the rehearsal's own that stands in for the RDS CA, its master
  role shaped as RDS's (`tests/test_bootstrap_sql.py`). The script fetches that CA as the
  RDS CA bundle from an HTTPS server on 127.0.0.1 (the document parameter
  `RdsCaBundleUrl`; `SSL_CERT_FILE` is the host's trust store for it), and its psql
  connects with `sslmode=verify-full` against it.

What differs from EC2, and why: the compose document in SSM has each container's log
driver set to json-file (CloudWatch Logs is not reachable here); `systemctl` is a stub
that succeeds (dockerd is the suite's, not a systemd unit); the database host and the
master secret's ARN in the association's parameters are the local server's and moto's;
the instance id and the target groups' ARNs are the rehearsal's own;
the CloudWatch agent is a stand-in control script at the agent's own path
(`tests/test_cloudwatch_agent.fake_ctl`, recording each call), so the script's install
of AWS's package is skipped as on a host that has it (the bucket is unreachable here and
dpkg would install into this machine; tests/test_cloudwatch_agent.py runs that install
with real gpgv) while its configuration step runs as on EC2.

The service stand-in serves its health path only while its own Redis answers PING and its
own RabbitMQ accepts it, with the URLs from its env file, so "healthy" includes each
service reaching its stores.
"""

from __future__ import annotations

import base64
import http.server
import io
import json
import re
import ssl
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import psycopg
import pytest
import yaml

from components.host import apply_document, cloudwatch_agent, compose, rabbitmq, shell
from plan import engine
from plan.model import Plan, reveal
from seed import naming
from tests.engines import postgres as postgres_engine
from tests.engines import target_groups as target_groups_engine
from tests.engines.docker import DockerDaemon, StandIn, in_ci
from tests.engines.postgres import free_port
from tests.test_cloudwatch_agent import config_errors, fake_ctl
from tests.test_fargate_containers import REDIS_PING, redis_stand_in
from tests.test_host_ingress import web_stand_in
from tests.test_host_rabbitmq import rabbitmq_stand_in

pytestmark = pytest.mark.real_engine

PROJECT = naming.PROJECT
MASTER, MASTER_PASSWORD = "master", "master-pw-rehearsal"
VENV_BIN = Path(__file__).resolve().parents[1] / "venv" / "bin"
# dev as staging and prod run it: two replicas of each owner (they fit a t3.large).
TWO_REPLICAS = {"ticketing:appHost": {"instanceType": "t3.large", "replicas": 2}}
INSTANCE_ID = "i-0123456789abcdef0"
SYSTEMCTL_STUB = "#!/bin/sh\n# dockerd is the suite's own, not a systemd unit.\nexit 0\n"

# Healthy only while the service's own Redis and RabbitMQ (those its env file names)
# answer with its credentials.
SERVICE_STAND_IN = """#!/bin/sh
mkdir -p /tmp/www
while :; do
  ok=1
  if [ -n "${REDIS_URL:-}" ]; then
    redis-ping "$REDIS_URL" 2>/dev/null | grep -q PONG || ok=0
  fi
  if [ -n "${AMQP_URL:-}" ]; then
    amqp-declare-queue --url="$AMQP_URL" -q healthz >/dev/null 2>&1 || ok=0
  fi
  if [ "$ok" = 1 ]; then echo ok > /tmp/www/healthz; else rm -f /tmp/www/healthz; fi
  sleep 2
done &
exec httpd -f -p 8080 -h /tmp/www
"""


def service_stand_in(ref: str) -> StandIn:
    return StandIn(
        ref,
        packages=("redis-tools", "amqp-tools", "curl"),
        files={
            "/usr/local/bin/service-stand-in": SERVICE_STAND_IN,
            "/usr/local/bin/redis-ping": REDIS_PING,
        },
        executables=("/usr/local/bin/service-stand-in", "/usr/local/bin/redis-ping"),
        changes=('CMD ["/usr/local/bin/service-stand-in"]',),
    )


# --- what the plan renders -----------------------------------------------------------------


def one(plan: Plan, type_: str) -> Any:
    [resource] = plan.of_type(type_)
    return resource


def document_script(plan: Plan) -> tuple[str, dict[str, Any]]:
    """The SSM document's script and its parameter declarations, as the plan stores them."""
    document = json.loads(reveal(one(plan, "aws:ssm/document:Document").inputs["content"]))
    [step] = document["mainSteps"]
    return "\n".join(step["inputs"]["runCommand"]) + "\n", document["parameters"]


def fill_in(script: str, declared: Mapping[str, Any], values: Mapping[str, str]) -> str:
    """`{{ Name }}` replaced as SSM does: the value given, else the declared default; each
    value must match the parameter's allowedPattern (SSM refuses the run otherwise)."""
    filled: dict[str, str] = {}
    for name, spec in declared.items():
        value = values.get(name, spec.get("default"))
        assert value is not None, f"no value for document parameter {name}"
        assert re.match(spec["allowedPattern"], value), (name, value)
        filled[name] = value
    out = re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: filled[m.group(1)], script)
    assert "{{" not in out
    return out


def stored_parameters(plan: Plan) -> dict[str, tuple[str, str, str]]:
    """Every SSM parameter the plan stores: name -> (type, value, tier)."""
    found: dict[str, tuple[str, str, str]] = {}
    for r in plan.of_type("aws:ssm/parameter:Parameter"):
        value = reveal(r.inputs.get("value", r.inputs.get("insecureValue")))
        type_, tier = r.inputs.get("type", "String"), r.inputs.get("tier", "Standard")
        found[reveal(r.inputs["name"])] = (type_, str(value), tier)
    return found


def json_file_logging(
    packed: str,
    image_changes: Mapping[str, str] | None = None,
    service_changes: Mapping[str, Mapping[str, Any]] | None = None,
) -> str:
    """The compose document with json-file logging; `image_changes` and `service_changes`
    apply to every replica of the owner they name."""
    document = yaml.safe_load(apply_document.unpack_parameter(packed))
    for name, service in document["services"].items():
        owner = name.removesuffix("-2") if name.endswith("-2") else name
        service["logging"] = {"driver": "json-file"}
        if image_changes and owner in image_changes:
            service["image"] = image_changes[owner]
        service.update((service_changes or {}).get(owner, {}))
    return apply_document.pack_parameter(yaml.safe_dump(document, sort_keys=False))


def replicas(service: str) -> list[str]:
    return [service, naming.second_replica(service)]


# --- the engines ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Postgres:
    """The rehearsal's RDS: a server of tests/engines/postgres.py."""

    server: postgres_engine.Server

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def ca_file(self) -> Path:
        """The CA that issued the server's certificate: the rehearsal's RDS CA bundle."""
        return self.server.ca_file

    @property
    def server_cert(self) -> tuple[Path, Path]:
        """The server's certificate (for IP 127.0.0.1) and key."""
        return self.server.server_cert

    def connect(
        self, role: str, password: str, database: str, **tls: str
    ) -> psycopg.Connection[Any]:
        """A connection that verifies the server; `tls` overrides host, sslrootcert..."""
        params: dict[str, Any] = {
            "host": "127.0.0.1",
            "sslmode": "verify-full",
            "sslrootcert": str(self.ca_file),
            **tls,
        }
        return psycopg.connect(
            port=self.port,
            dbname=database,
            user=role,
            password=password,
            connect_timeout=5,
            autocommit=True,
            **params,
        )


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    if not postgres_engine.BINS:
        why = "no PostgreSQL server in /usr/lib/postgresql (apt-get install postgresql, .ci/run)"
        pytest.fail(why) if in_ci() else pytest.skip(why)
    with postgres_engine.running("rds", MASTER_PASSWORD) as server:
        assert MASTER == postgres_engine.MASTER
        yield Postgres(server)


@dataclass(frozen=True)
class BundleServer:
    """Serves the rehearsal's RDS CA bundle over HTTPS, as AWS's truststore address does."""

    url: str
    requests: list[str]


BUNDLE_PATH = "/global/global-bundle.pem"


@pytest.fixture(scope="module")
def rds_ca_server(postgres: Postgres) -> Iterator[BundleServer]:
    bundle = postgres.ca_file.read_bytes()
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            if self.path != BUNDLE_PATH:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/x-pem-file")
            self.send_header("Content-Length", str(len(bundle)))
            self.end_headers()
            self.wfile.write(bundle)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*map(str, postgres.server_cert))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield BundleServer(f"https://127.0.0.1:{server.server_address[1]}{BUNDLE_PATH}", requests)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def aws_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


class Host:
    """The dev app host: its SSM (moto), its script, and what it runs (dockerd)."""

    def __init__(
        self,
        daemon: DockerDaemon,
        plan: Plan,
        endpoint: str,
        db: Postgres,
        workdir: Path,
        rds_ca_url: str,
    ) -> None:
        self.daemon, self.plan, self.db = daemon, plan, db
        self.region = reveal(one(plan, "aws:ssm/association:Association").inputs["parameters"])[
            "Region"
        ]
        self.aws_env = {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            # The host's trust store for the HTTPS fetch of the RDS CA bundle.
            "SSL_CERT_FILE": str(db.ca_file),
        }
        session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=self.region
        )
        self.ssm = session.client("ssm", endpoint_url=endpoint)
        secrets = session.client("secretsmanager", endpoint_url=endpoint)
        self.parameters = stored_parameters(plan)
        for name, (type_, value, tier) in self.parameters.items():
            if name.endswith("/compose"):
                value = json_file_logging(value)
            self.put(name, value, type_, tier)
        master = secrets.create_secret(
            Name="rds!db-rehearsal",
            SecretString=json.dumps({"username": MASTER, "password": MASTER_PASSWORD}),
        )
        script, declared = document_script(plan)
        document = yaml.safe_load(
            apply_document.unpack_parameter(
                self.parameters[f"{naming.ssm_host_path('dev', 'shared')}/compose"][1]
            )
        )
        groups = target_groups_engine.groups_of(document, self.region)
        self.target_groups = target_groups_engine.TargetGroups(
            daemon.netns, workdir, groups, INSTANCE_ID
        )
        values = dict(reveal(one(plan, "aws:ssm/association:Association").inputs["parameters"]))
        values["InstanceId"] = INSTANCE_ID
        for group in groups:
            rolling = apply_document.RollingOwner(group.name, (("a", 1024), ("b", 1025)))
            values[rolling.parameter] = group.arn
        [host_key] = [k for k in values if k.endswith("DatabaseHost")]
        target = host_key.removesuffix("DatabaseHost")
        values.update(
            {
                host_key: "127.0.0.1",
                f"{target}DatabasePort": str(db.port),
                f"{target}MasterSecretArn": master["ARN"],
                "RdsCaBundleUrl": rds_ca_url,
            }
        )
        self.script = workdir / "_script.sh"
        self.script.write_text(fill_in(script, declared, values))
        self.script.chmod(0o755)
        self.bin = workdir / "bin"
        self.bin.mkdir()
        (self.bin / "systemctl").write_text(SYSTEMCTL_STUB)
        (self.bin / "systemctl").chmod(0o755)
        (self.bin / "aws").write_text(self.target_groups.aws_wrapper(VENV_BIN / "aws"))
        (self.bin / "aws").chmod(0o755)
        self.applies: list[float] = []

    def put(
        self, name: str, value: str, type_: str = "SecureString", tier: str = "Standard"
    ) -> None:
        self.ssm.put_parameter(Name=name, Value=value, Type=type_, Tier=tier, Overwrite=True)

    def get(self, name: str) -> str:
        return self.ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]

    def apply(
        self, expect_success: bool = True, script: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = {
            **self.daemon.env,
            **self.aws_env,
            "PATH": f"{self.bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": "/root",
        }
        started = time.monotonic()
        result = self.daemon.host_run([str(script or self.script)], env=env)
        self.applies.append(time.monotonic() - started)
        if expect_success:
            assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return result

    def docker(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.daemon.docker(*args, check=check)

    def containers(self) -> dict[str, dict[str, Any]]:
        """The project's containers by name: id, created, status, health."""
        ids = self.docker(
            "ps", "-aq", "--filter", f"label=com.docker.compose.project={PROJECT}"
        ).stdout.split()
        inspected = json.loads(self.docker("inspect", *ids).stdout) if ids else []
        return {
            c["Name"].lstrip("/"): {
                "id": c["Id"],
                "created": c["Created"],
                "status": c["State"]["Status"],
                "health": c["State"].get("Health", {}).get("Status"),
            }
            for c in inspected
        }

    def exec(self, container: str, script: str) -> subprocess.CompletedProcess[str]:
        return self.docker("exec", container, "sh", "-c", script, check=False)

    def service_path(self, service: str, key: str) -> str:
        return f"{naming.ssm_service_path('dev', service)}/{key}"


def compose_services(host: Host) -> dict[str, Any]:
    packed = host.get(f"{naming.ssm_host_path('dev', 'shared')}/compose")
    return yaml.safe_load(apply_document.unpack_parameter(packed))["services"]


@pytest.fixture(scope="module")
def two_replica_plan() -> Plan:
    """dev with two replicas of every service and web client (`TWO_REPLICAS`)."""
    return engine.capture("dev", overrides=TWO_REPLICAS)


@pytest.fixture(scope="module")
def host(
    docker_daemon: DockerDaemon,
    two_replica_plan: Plan,
    aws_endpoint: str,
    postgres: Postgres,
    rds_ca_server: BundleServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Host]:
    h = Host(
        docker_daemon,
        two_replica_plan,
        aws_endpoint,
        postgres,
        tmp_path_factory.mktemp("host"),
        rds_ca_server.url,
    )
    images: dict[str, StandIn] = {}
    for name, service in compose_services(h).items():
        ref = service["image"]
        if name.endswith("-redis"):
            images[ref] = redis_stand_in(ref)
        elif name.endswith("-rabbitmq"):
            images[ref] = rabbitmq_stand_in(ref)
        elif "-backing" in " ".join(service["networks"]):
            images[ref] = service_stand_in(ref)
        else:
            images[ref] = web_stand_in(ref)
    docker_daemon.load(*images.values())
    install_agent_stand_in(docker_daemon)
    h.target_groups.start()
    try:
        h.apply()
        yield h
    finally:
        h.target_groups.stop()
        down = docker_daemon.host_run(
            ["docker", "compose", "-p", PROJECT, "down", "-v", "--remove-orphans"],
            env={**docker_daemon.env, "PATH": "/usr/bin:/bin"},
        )
        assert down.returncode == 0, down.stderr
        print(f"\nrehearsal applies took {', '.join(f'{s:.0f}s' for s in h.applies)}")


# Where the agent's stand-in keeps its calls and state (in the /opt overlay, as the agent).
AGENT_STATE = str(Path(cloudwatch_agent.CTL).parents[1] / "stand-in")


def install_agent_stand_in(daemon: DockerDaemon) -> None:
    ctl = cloudwatch_agent.CTL
    result = daemon.host_run(
        [
            "sh",
            "-c",
            f"mkdir -p {AGENT_STATE} {Path(ctl).parent} && cat >{ctl} && chmod 0755 {ctl}",
        ],
        env={"PATH": "/usr/bin:/bin"},
        input=fake_ctl(Path(AGENT_STATE)),
    )
    assert result.returncode == 0, result.stderr


def agent_calls(host: Host) -> list[str]:
    return host_file(host, f"{AGENT_STATE}/calls.log").splitlines()


def services_using(host: Host, store: str) -> list[str]:
    return sorted(
        n.removesuffix(f"-{store}") for n in compose_services(host) if n.endswith(f"-{store}")
    )


def test_every_container_becomes_healthy(host: Host) -> None:
    running = host.containers()
    assert set(running) == set(compose_services(host))
    unhealthy = {
        n: (c["status"], c["health"]) for n, c in running.items() if c["health"] != "healthy"
    }
    assert not unhealthy


def test_the_bootstrap_gives_each_role_its_database_with_the_password_from_ssm(host: Host) -> None:
    for service in services_using_database(host):
        password = host.get(host.service_path(service, naming.DATABASE_PASSWORD))
        database = host.get(host.service_path(service, "database-name"))
        url = host.get(host.service_path(service, naming.DATABASE_URL))
        role = url.removeprefix("postgresql://").split(":")[0]
        with host.db.connect(role, password, database) as conn:
            assert conn.execute("select current_user, current_database()").fetchone() == (
                role,
                database,
            )


def services_using_database(host: Host) -> list[str]:
    return sorted(
        n.split("/")[-2]
        for n in host.parameters
        if n.endswith(f"/{naming.DATABASE_PASSWORD}") and "/services/" in n
    )


def test_each_service_reaches_its_own_stores_with_the_credentials_from_ssm(host: Host) -> None:
    for service in services_using(host, "redis"):
        url = host.get(host.service_path(service, naming.REDIS_URL))
        assert host.exec(service, 'printf %s "$REDIS_URL"').stdout == url
        assert host.exec(service, 'redis-ping "$REDIS_URL"').stdout.strip() == "PONG", service
    for service in services_using(host, "rabbitmq"):
        url = host.get(host.service_path(service, naming.AMQP_URL))
        assert host.exec(service, 'printf %s "$AMQP_URL"').stdout == url
        declared = host.exec(service, 'amqp-declare-queue --url="$AMQP_URL" -q probe')
        assert declared.returncode == 0, (service, declared.stderr)


def test_each_store_refuses_every_other_services_credentials(host: Host) -> None:
    redis, rabbits = services_using(host, "redis"), services_using(host, "rabbitmq")
    for owner in redis:
        for other in redis:
            password = host.get(host.service_path(other, naming.REDIS_PASSWORD))
            answer = host.exec(f"{owner}-redis", f"REDISCLI_AUTH='{password}' redis-cli ping")
            assert (answer.stdout.strip() == "PONG") == (owner == other), (owner, other, answer)
            if owner != other:
                # Nor can the other service reach it at all: not on its network.
                url = host.get(host.service_path(other, naming.REDIS_URL))
                theirs = url.replace(f"@{other}-redis:", f"@{owner}-redis:")
                assert host.exec(other, f"redis-ping '{theirs}'").returncode != 0
    for owner in rabbits:
        for other in rabbits:
            password = host.get(host.service_path(other, naming.RABBITMQ_PASSWORD))
            answer = host.exec(
                f"{owner}-rabbitmq", f"rabbitmqctl authenticate_user '{other}' '{password}'"
            )
            assert (answer.returncode == 0) == (owner == other), (owner, other, answer.stdout)


def test_services_cannot_reach_each_other_across_ingress(host: Host) -> None:
    if not host.daemon.iptables:
        pytest.skip("dockerd runs without iptables here: enable_icc is not enforced")
    inspected = json.loads(host.docker("network", "inspect", f"{PROJECT}_ingress").stdout)[0]
    address = {c["Name"]: c["IPv4Address"].split("/")[0] for c in inspected["Containers"].values()}
    fetch = 'curl -fsS -m 3 -o /dev/null "http://{}:8080{}"'
    assert host.exec("ticketing", fetch.format("127.0.0.1", "/healthz")).returncode == 0
    assert host.exec("client-web", fetch.format("127.0.0.1", "/")).returncode == 0
    for source, target, path in (
        ("payments", "ticketing", "/healthz"),
        ("ticketing", "client-web", "/"),
    ):
        assert host.exec(source, fetch.format(address[target], path)).returncode != 0, source


def test_a_second_apply_with_nothing_changed_changes_nothing(host: Host) -> None:
    before = host.containers()
    host.apply()
    assert host.containers() == before


def test_the_cloudwatch_agent_is_configured_once_and_left_alone_after(host: Host) -> None:
    """Applied twice by now (the fixture's, then the one that changed nothing): the first
    wrote the configuration and (re)started the agent with it, the second only asked its
    status. What the script handed the agent uses only the agent's documented keys."""
    fetch = f"-a fetch-config -m ec2 -s -c file:{cloudwatch_agent.CONFIG_FILE}"
    assert agent_calls(host) == ["-a status", fetch, "-a status"]
    assert host_file(host, cloudwatch_agent.CONFIG_FILE) == cloudwatch_agent.render_config()
    applied = json.loads(host_file(host, f"{AGENT_STATE}/applied.json"))
    assert applied == cloudwatch_agent.agent_config()
    assert config_errors(applied) == []


def test_an_agent_configuration_changed_on_the_host_is_put_back_and_applied(
    host: Host,
) -> None:
    before = len(agent_calls(host))
    stale = cloudwatch_agent.render_config(("/",))
    edit = host.daemon.host_run(
        ["sh", "-c", f"cat >{cloudwatch_agent.CONFIG_FILE}"],
        env={"PATH": "/usr/bin:/bin"},
        input=stale,
    )
    assert edit.returncode == 0, edit.stderr
    containers = host.containers()
    host.apply()
    fetch = f"-a fetch-config -m ec2 -s -c file:{cloudwatch_agent.CONFIG_FILE}"
    assert agent_calls(host)[before:] == ["-a status", fetch]
    assert host_file(host, cloudwatch_agent.CONFIG_FILE) == cloudwatch_agent.render_config()
    assert host.containers() == containers  # the agent's restart touches no container


def test_the_rds_ca_bundle_is_fetched_once_and_mounted_read_only(
    host: Host, rds_ca_server: BundleServer
) -> None:
    # Applied twice by now (the fixture, then the apply that changed nothing): fetched once.
    assert rds_ca_server.requests == [BUNDLE_PATH]
    bundle = host.db.ca_file.read_text()
    assert host_file(host, compose.RDS_CA_FILE) == bundle
    for service in services_using_database(host):
        assert host.exec(service, f"cat {compose.RDS_CA_TARGET}").stdout == bundle
        mounts = json.loads(host.docker("inspect", service).stdout)[0]["Mounts"]
        [mount] = [m for m in mounts if m["Destination"] == compose.RDS_CA_TARGET]
        assert (mount["Source"], mount["RW"]) == (compose.RDS_CA_FILE, False)


def test_database_urls_verify_the_server_against_the_rds_ca_bundle(
    host: Host, tmp_path: Path
) -> None:
    """libpq (psycopg's) with each service's own URL parameters: the server's certificate
    must chain to the bundle and name the host; a wrong CA or a wrong name is refused."""
    bundle = tmp_path / "bundle.pem"  # the container's file is the host's (the mount above)
    bundle.write_text(host_file(host, compose.RDS_CA_FILE))
    _, wrong_ca = postgres_engine.make_ca(tmp_path, "other-ca")
    for service in services_using_database(host):
        url = urlsplit(host.get(host.service_path(service, naming.DATABASE_URL)))
        query = parse_qs(url.query)
        assert query == {"sslmode": ["verify-full"], "sslrootcert": [compose.RDS_CA_TARGET]}
        role, password, database = url.username or "", url.password or "", url.path[1:]
        tls = {"sslmode": query["sslmode"][0], "sslrootcert": str(bundle)}
        with host.db.connect(role, password, database, **tls) as conn:
            query_ssl = "select ssl from pg_stat_ssl where pid = pg_backend_pid()"
            assert conn.execute(query_ssl).fetchone() == (True,)
        with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
            host.db.connect(role, password, database, **{**tls, "sslrootcert": str(wrong_ca)})
        with pytest.raises(psycopg.OperationalError, match="does not match host name"):
            host.db.connect(
                role, password, database, **tls, host="db.wrong.example", hostaddr="127.0.0.1"
            )


def test_an_image_tag_change_recreates_only_that_services_containers(host: Host) -> None:
    service = "identity"
    compose_name = f"{naming.ssm_host_path('dev', 'shared')}/compose"
    old = compose_services(host)[service]["image"]
    new = old.rsplit(":", 1)[0] + ":0.0.1-rehearsal"
    host.daemon.load(service_stand_in(new))
    before = host.containers()
    _, packed, tier = host.parameters[compose_name]
    host.put(compose_name, json_file_logging(packed, {service: new}), "String", tier)
    host.apply()
    after = host.containers()
    changed = sorted(n for n in after if after[n]["id"] != before.get(n, {}).get("id"))
    assert changed == replicas(service)
    for name in replicas(service):
        assert after[name]["health"] == "healthy"
        assert json.loads(host.docker("inspect", name).stdout)[0]["Config"]["Image"] == new


def image_refs(host: Host) -> set[str]:
    listed = host.docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}").stdout
    return set(listed.split())


def test_a_healthy_apply_prunes_images_no_container_uses(host: Host) -> None:
    """After the tag change above, its previous image is gone; an image nothing runs goes at
    the next healthy apply; every image of the running (and kept) document stays."""
    compose_name = f"{naming.ssm_host_path('dev', 'shared')}/compose"
    planned = yaml.safe_load(apply_document.unpack_parameter(host.parameters[compose_name][1]))
    replaced = planned["services"]["identity"]["image"]
    unused = "ticketing-rehearsal-unused:old"
    host.daemon.docker("import", "-", unused, input=tar_of({"unused": "nothing runs this\n"}))
    assert unused in image_refs(host)
    before = host.containers()
    host.apply()
    refs = image_refs(host)
    assert unused not in refs and replaced not in refs
    kept = yaml.safe_load(host_file(host, compose.LAST_GOOD_COMPOSE_FILE))["services"]
    assert {s["image"] for s in kept.values()} <= refs
    assert host.containers() == before


def tar_of(files: Mapping[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_a_rotated_rabbitmq_password_leaves_the_service_connected(host: Host) -> None:
    service = "payments"
    old_password = host.get(host.service_path(service, naming.RABBITMQ_PASSWORD))
    new_password = "rotated0rehearsal0password0000"
    old_url = host.get(host.service_path(service, naming.AMQP_URL))
    definitions = rabbitmq.render_definitions(service, new_password, service, bytes(4))
    host.put(host.service_path(service, naming.RABBITMQ_PASSWORD), new_password)
    host.put(
        host.service_path(service, naming.RABBITMQ_DEFINITIONS),
        json.dumps(definitions, sort_keys=True),
    )
    host.put(
        host.service_path(service, naming.AMQP_URL), old_url.replace(old_password, new_password)
    )
    host.apply()
    assert new_password in host.exec(service, 'printf %s "$AMQP_URL"').stdout
    declared = host.exec(service, 'amqp-declare-queue --url="$AMQP_URL" -q probe')
    assert declared.returncode == 0, declared.stderr
    assert host.containers()[service]["health"] == "healthy"
    broker = f"{service}-rabbitmq"
    refused = host.exec(broker, f"rabbitmqctl authenticate_user {service} '{old_password}'")
    assert refused.returncode != 0


def host_file(host: Host, path: str) -> str:
    result = host.daemon.host_run(["cat", path])
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_deploy_that_never_gets_healthy_fails_and_rolls_back(host: Host) -> None:
    """A new image whose health check always fails: `up --wait` fails on its first replica
    (Compose v2.40.3 reports the unhealthy container), the script puts the last healthy
    document back, brings it up, registers that replica in its target group again and
    exits non-zero, which fails the association run. The second replica served
    throughout: it was never touched."""
    service = "identity"
    compose_name = f"{naming.ssm_host_path('dev', 'shared')}/compose"
    good = host_file(host, compose.COMPOSE_FILE)
    old = compose_services(host)[service]["image"]
    broken = old.rsplit(":", 1)[0] + ":0.0.2-never-healthy"
    host.docker("tag", old, broken)
    before = host.containers()
    old_config = json.loads(host.docker("inspect", service).stdout)[0]["Config"]
    _, packed, tier = host.parameters[compose_name]
    never_healthy = {
        "healthcheck": {"test": ["CMD", "false"], "interval": "1s", "retries": 1},
    }
    host.put(
        compose_name,
        json_file_logging(packed, {service: broken}, {service: never_healthy}),
        "String",
        tier,
    )
    calls = len(host.target_groups.calls())
    try:
        result = host.apply(expect_success=False)
    finally:
        host.put(compose_name, json_file_logging(packed), "String", tier)
    assert result.returncode != 0
    assert "unhealthy" in result.stderr, result.stderr[-2000:]
    assert "rolled back" in result.stderr, result.stderr[-2000:]
    assert host_file(host, compose.COMPOSE_FILE) == good
    assert host_file(host, compose.LAST_GOOD_COMPOSE_FILE) == good
    after = host.containers()
    assert set(after) == set(before)
    assert all(c["health"] == "healthy" for c in after.values()), after
    # Only the replica being replaced was, and it runs its previous config, back in its
    # target group.
    assert sorted(n for n in after if after[n]["id"] != before[n]["id"]) == [service]
    config = json.loads(host.docker("inspect", service).stdout)[0]["Config"]
    assert (config["Image"], config["Healthcheck"]) == (old, old_config["Healthcheck"])
    first = int(compose_services(host)[service]["ports"][0]["published"])
    made = [(c["call"], c["port"]) for c in host.target_groups.calls()[calls:]]
    assert made == [
        ("deregister-targets", first),
        ("wait target-deregistered", first),
        ("register-targets", first),
    ]
    host.target_groups.wait_all_up(service)


# A registry's login endpoint only (`GET /v2/` with HTTP Basic auth), as the Docker
# daemon's login asks it: 401 with a Basic challenge, then 200 for the right user and
# password. It serves no image: pulls from it are not rehearsed.
FAKE_REGISTRY = """
import base64, http.server, sys
port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
good = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
class Registry(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.rstrip("/") != "/v2":
            self.send_error(404)
            return
        self.send_response(200 if self.headers.get("Authorization") == good else 401)
        self.send_header("WWW-Authenticate", 'Basic realm="rehearsal"')
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", port), Registry).serve_forever()
"""


def test_the_registry_login_lines_log_the_daemon_in_with_the_token_from_ssm(
    host: Host, tmp_path: Path
) -> None:
    """The apply script's login lines (those `render_script` puts in a registry host's
    script), run against the real dockerd and moto: the daemon logs in to a registry in its
    own network namespace (on 127.0.0.1, which Docker treats as an insecure registry, so
    plain HTTP) with the token read from SSM; a wrong token is refused and fails."""
    lines = shell.render_lines("apply_registry_login.sh")
    with_login = apply_document.ApplySpec((), (), registry=True)
    assert "\n".join(lines) in "\n".join(apply_document.render_script(with_login))
    port, user, token = free_port(), "deploy-bot", "rehearsal0registry0token"
    parameter = "/ticketing/registry/rehearsal-token"
    server = subprocess.Popen(
        [
            *("ip", "netns", "exec", host.daemon.netns, sys.executable, "-c", FAKE_REGISTRY),
            *(str(port), user, token),
        ],
    )
    try:
        probe = f"import socket; socket.create_connection(('127.0.0.1', {port}), 1)"
        deadline = time.monotonic() + 20
        while host.daemon.netns_run([sys.executable, "-c", probe]).returncode != 0:
            assert time.monotonic() < deadline, "the fake registry did not start"
            time.sleep(0.2)
        values = {
            "RegistryServer": f"localhost:{port}",
            "RegistryUsername": user,
            "RegistryPasswordParameter": parameter,
        }
        body = fill_in(
            "\n".join(lines),
            apply_document.REGISTRY_PARAMETERS,
            values,
        )
        script = tmp_path / "login.sh"
        script.write_text(f"set -euo pipefail\nexport AWS_DEFAULT_REGION={host.region}\n{body}\n")
        config = tmp_path / "docker-config"
        config.mkdir()
        env = {
            **host.daemon.env,
            **host.aws_env,
            "DOCKER_CONFIG": str(config),
            "PATH": f"{host.bin}:/usr/local/bin:/usr/bin:/bin",
            "HOME": "/root",
        }
        host.put(parameter, "wrong-token")
        refused = host.daemon.host_run(["bash", str(script)], env=env)
        assert refused.returncode != 0
        assert "401" in refused.stderr or "unauthorized" in refused.stderr.lower(), refused.stderr
        host.put(parameter, token)
        logged_in = host.daemon.host_run(["bash", str(script)], env=env)
        assert logged_in.returncode == 0, logged_in.stderr
        auths = json.loads((config / "config.json").read_text())["auths"]
        expected = base64.b64encode(f"{user}:{token}".encode()).decode()
        assert auths[f"localhost:{port}"]["auth"] == expected
        assert token not in logged_in.stdout + logged_in.stderr
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_changed_service_deploys_without_a_failed_request(host: Host) -> None:
    """A client loops requests through identity's target group while a new image of
    identity deploys.

    The target group is HAProxy (tests/engines/target_groups.py), driven by the script's
    own `aws elbv2` calls: deregistering a target stops new requests to it and lets those
    in flight finish, `wait target-deregistered` returns once none is in flight (or after
    the 30 s delay), a registered target gets requests only after two passing health
    checks, `wait target-in-service` returns once it has; like an ALB it never retries a
    request nor sends it to another target. What it cannot prove of a real ALB: its
    timings (checks every 1 s here, every 15 s there: a real replace-all deploy fails for
    longer, not shorter), its fail-open routing when every target is unhealthy, its
    connection handling across its nodes, and IAM (nothing authorizes the calls here; the
    host policy's statements are checked in tests/test_aws_app_host.py).

    The control first: the same kind of deploy through the script with its rolling lines
    taken out, so the converge replaces both replicas at once (the behaviour before
    replicas were rolled, and dev's with its single replica): the client sees failed
    requests, so this stand-in and this client can see a deploy's downtime. Then the
    script as the plan renders it: each replica leaves the target group, drains, is
    replaced, and is back in service before the other goes; the client sees not one
    failed request."""
    service = "identity"
    compose_name = f"{naming.ssm_host_path('dev', 'shared')}/compose"
    _, packed, tier = host.parameters[compose_name]
    ports = [int(compose_services(host)[n]["ports"][0]["published"]) for n in replicas(service)]

    def deploy(tag: str, script: Path | None = None) -> target_groups_engine.ClientResult:
        # A new tag of what runs (SSM may name another image by now, and applies prune).
        current = json.loads(host.docker("inspect", service).stdout)[0]["Config"]["Image"]
        image = current.rsplit(":", 1)[0] + f":{tag}"
        host.docker("tag", current, image)
        host.put(compose_name, json_file_logging(packed, {service: image}), "String", tier)
        host.target_groups.wait_all_up(service)
        before = host.containers()
        with host.target_groups.client(service) as seen:
            time.sleep(2)  # the client is under way before the deploy starts
            host.apply(script=script)
            host.target_groups.wait_all_up(service)
            time.sleep(1)
        after = host.containers()
        assert sorted(n for n in after if after[n]["id"] != before[n]["id"]) == replicas(service)
        assert all(c["health"] == "healthy" for c in after.values()), after
        return seen[0]

    replace_all = host.script.with_name("_replace_all.sh")
    text = host.script.read_text()
    replace_all.write_text(re.sub(r"^roll '.*\n", "", text, flags=re.M))
    assert replace_all.read_text() != text
    replace_all.chmod(0o755)
    calls = len(host.target_groups.calls())
    control = deploy("0.0.3-replace-all", replace_all)
    print(f"\nreplace-all deploy: {control.ok} requests served, {len(control.failed)} failed")
    assert control.failed, control
    assert len(host.target_groups.calls()) == calls

    rolled = deploy("0.0.4-rolling")
    print(f"rolling deploy: {rolled.ok} requests served, {len(rolled.failed)} failed")
    assert rolled.ok > 100 and rolled.failed == (), rolled
    made = [(c["group"], c["call"], c["port"]) for c in host.target_groups.calls()[calls:]]
    assert made == [
        (service, call, port)
        for port in ports
        for call in (
            "deregister-targets",
            "wait target-deregistered",
            "register-targets",
            "wait target-in-service",
        )
    ]
