"""A service's database moving to its own instance, rehearsed on two real PostgreSQL servers.

The host's apply script as the program renders it (`apply_spec` from settings with
`services.payments.database` set to `moving`, then `dedicated`) runs under bash with
Debian's real psql, pg_dump and pg_restore against two servers serving TLS, set up as RDS
sets up an instance (tests/engines/postgres.py): the shared instance and payments' own.
Only the AWS CLI (the SSM parameters and master secrets, tests/test_host_apply.py's fake)
and Docker (recorded, tests/test_host_apply.py's fake) are not real, except in the last
rehearsal: there Docker is the suite's real daemon and Compose (tests/engines/docker.py),
and payments' replicas (one as dev runs them, two as staging and prod) are stand-ins that
write to its database all along, through the URL of the env file the script writes.

What the path promises, each checked on the servers themselves: `moving` creates the role
and an empty database on the new instance while payments keeps its data on the shared
one; `dedicated` stops payments, copies its database over once (tables, rows, indexes,
views, sequences, owner) and only then writes the new configuration; a failed copy
switches nothing and starts payments again; the shared copy stays, its role no longer
able to log in; nothing is ever copied over a database the move did not fill; and every
replica of payments stops before the copy begins, so its own instance holds every row
it wrote, and then runs again, writing there.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from components.aws import placement
from components.aws.app_host import AppHostConfig, apply_spec
from components.aws.service_stack import ServiceBackingStackConfig
from components.host import apply_document as host_apply
from components.host import cloudwatch_agent, compose, database_move
from components.host.apply_document import ApplySpec, RollingOwner
from components.settings import CloudSettings, parse
from seed import catalog
from seed.catalog import DomainService
from tests.engines import postgres
from tests.engines.docker import DockerDaemon, StandIn
from tests.engines.postgres import Server
from tests.factories import cloud_stack
from tests.test_cloudwatch_agent import fake_ctl
from tests.test_host_apply import FAKE_AWS, FAKE_DOCKER, FAKE_LOGGER, PARAMETER, SYSTEM_TOOLS

pytestmark = pytest.mark.real_engine

PAYMENTS = catalog.service("payments")
SHARED_SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-shared-AbCd"
OWN_SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-payments-EfGh"
PASSWORDS = {s.name: f"db-{s.name}-pw" for s in catalog.SERVICES}
TARGET_GROUP = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup"
# pg_dump, its start time recorded in the calls log: the moment the copy began.
TIMED_PG_DUMP = """
import json, os, sys, time
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps(["pg_dump", time.time()]) + "\\n")
os.execv(os.environ["PG_DUMP"], ["pg_dump"] + sys.argv[1:])
"""
# The real Docker CLI, each call recorded as FAKE_DOCKER records it.
RECORDED_DOCKER = """
import json, os, sys
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps(["docker"] + sys.argv[1:]) + "\\n")
os.execv(os.environ["REAL_DOCKER"], ["docker"] + sys.argv[1:])
"""
SEED = """
CREATE TABLE orders (
  id bigserial PRIMARY KEY,
  email text NOT NULL,
  placed timestamptz NOT NULL DEFAULT '2026-11-30 19:30:00+01',
  total numeric(10, 2)
);
INSERT INTO orders (email, total)
  SELECT 'fan' || g || '@example.com', g * 1.5 FROM generate_series(1, 500) AS g;
CREATE INDEX orders_by_email ON orders (email);
CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 600;
CREATE TABLE seats (venue text, seat text, held jsonb, PRIMARY KEY (venue, seat));
INSERT INTO seats VALUES ('arena', 'A-1', '{"until": "20:00"}'), ('arena', 'A-2', NULL);
"""


def settings_with(database: str, replicas: int = 1) -> CloudSettings:
    """dev's settings with payments' database at `database`; with two `replicas` on a
    t3.large, as staging and prod run them (tests/test_host_rehearsal.py)."""
    app_host = {"instanceType": "t3.large", "replicas": 2} if replicas == 2 else {}
    stack = cloud_stack("dev", **({"appHost": app_host} if app_host else {}))["config"]
    raw = {key.removeprefix("ticketing:"): value for key, value in stack.items()}
    raw["services"]["payments"]["database"] = database
    parsed = parse(raw)
    assert isinstance(parsed, CloudSettings)
    return parsed


def spec_of(database: str, replicas: int = 1) -> ApplySpec:
    """The shared host's apply spec, from the program's own placement, for `database`;
    its services' replicas rolled as `AppHostArgs.of` rolls them."""
    settings = settings_with(database, replicas)
    [shared, *_] = placement.hosts(settings)
    config = AppHostConfig.of(settings, shared)
    specs = [ServiceBackingStackConfig.of(settings, s).spec for s in shared.services]
    rolling = [RollingOwner(o.name, o.replicas) for o in specs if len(o.replicas) == 2]
    return apply_spec(shared, config.placed, config.bootstrapped, (), config.moves, False, rolling)


@dataclass
class Run:
    result: subprocess.CompletedProcess[str]
    docker: list[list[str]]
    dumps: list[float]  # when each pg_dump started (time.time())

    @property
    def stops_and_starts(self) -> list[list[str]]:
        return [
            c[3:] for c in self.docker if c[:1] == ["compose"] and c[3:4] in (["stop"], ["start"])
        ]

    @property
    def converged(self) -> bool:
        return any(c[:1] == ["compose"] and "up" in c for c in self.docker)


# What the fake `docker` reads of SSM's compose document: payments, as dev runs it once
# (the move stops the replicas the running document declares).
FAKE_COMPOSE_DOCUMENT = "name: ticketing\nservices:\n  payments: {}\n"


class Host:
    """The shared app host's root, tools and fakes; `apply(spec)` runs its apply script.

    With a `daemon`, its `docker` is the real CLI on that daemon (each call recorded as the
    fake records it) and SSM's compose document is `compose_document`."""

    def __init__(
        self,
        workdir: Path,
        shared: Server,
        own: Server,
        daemon: DockerDaemon | None = None,
        compose_document: str = FAKE_COMPOSE_DOCUMENT,
    ) -> None:
        self.workdir, self.shared, self.own = workdir, shared, own
        self.compose_document = compose_document
        self.root = workdir / "opt-ticketing"
        # The RDS CA bundle the script verifies both servers with: the CAs that issued their
        # certificates (for 127.0.0.1), already on the host, so nothing is fetched.
        self.root.mkdir()
        (self.root / "rds-ca-bundle.pem").write_text(
            "".join(s.ca_file.read_text() for s in (shared, own))
        )
        self.bin, self.snaps = workdir / "bin", workdir / "snap-bin"
        plugin = workdir / "cli-plugins" / "docker-compose"
        for directory in (self.bin, self.snaps, plugin.parent):
            directory.mkdir()
        plugin.write_text("#!/bin/sh\n")
        for tool in SYSTEM_TOOLS:
            (self.bin / tool).symlink_to(shutil.which(tool) or tool)
        for tool in ("psql", "pg_restore"):
            (self.bin / tool).symlink_to(shared.bin / tool)
        (self.bin / "python3").symlink_to(sys.executable)
        shebang = f"#!{sys.executable}\n"
        (self.bin / "pg_dump").write_text(shebang + TIMED_PG_DUMP)
        (self.snaps / "aws").write_text(shebang + FAKE_AWS)
        (self.bin / "docker").write_text(shebang + (RECORDED_DOCKER if daemon else FAKE_DOCKER))
        (self.bin / "systemctl").write_text(shebang + FAKE_LOGGER)
        (self.bin / "cloud-init").write_text("#!/bin/sh\nexit 0\n")
        for fake in ("pg_dump", "docker", "systemctl"):
            (self.bin / fake).chmod(0o755)
        (self.snaps / "aws").chmod(0o755)
        (self.bin / "cloud-init").chmod(0o755)
        self.env = {
            "PATH": f"{self.bin}:{shared.bin}",
            "FAKE_LOG": str(workdir / "calls.log"),
            "FAKE_SSM": str(workdir / "ssm.json"),
            "FAKE_SECRETS": str(workdir / "secrets.json"),
            "FAKE_COMPOSE_PLUGIN": str(plugin),
            "PG_DUMP": str(shared.bin / "pg_dump"),
            **({"REAL_DOCKER": shutil.which("docker") or "docker", **daemon.env} if daemon else {}),
        }
        secrets = {
            SHARED_SECRET: {"username": postgres.MASTER, "password": shared.master_password},
            OWN_SECRET: {"username": postgres.MASTER, "password": own.master_password},
        }
        (workdir / "secrets.json").write_text(
            json.dumps({arn: json.dumps(value) for arn, value in secrets.items()})
        )

    def values(self) -> dict[str, str]:
        """What SSM fills in: the association's parameters, pointing at the two servers."""
        shared, own = str(self.shared.port), str(self.own.port)
        return {
            "InstanceId": "i-0123456789abcdef0",
            "Environment": "dev",
            "HostName": "shared",
            "Region": "eu-west-1",
            "RdsCaBundleUrl": host_apply.RDS_CA_BUNDLE_URL,
            "SharedDatabaseHost": "127.0.0.1",
            "SharedDatabasePort": shared,
            "SharedMasterSecretArn": SHARED_SECRET,
            "PaymentsDatabaseHost": "127.0.0.1",
            "PaymentsDatabasePort": own,
            "PaymentsMasterSecretArn": OWN_SECRET,
            "PaymentsMoveSourceHost": "127.0.0.1",
            "PaymentsMoveSourcePort": shared,
            "PaymentsMoveSourceMasterSecretArn": SHARED_SECRET,
        }

    def database_url(self, service: DomainService, spec: ApplySpec) -> str:
        """What the program stores as `service`'s database URL: its own instance's once it
        is copied there (the spec moves it), else the shared one's. payments' reaches the
        server over its unix socket (under the server's directory), as the writers can from
        the daemon's network namespace."""
        if service != PAYMENTS:
            return f"postgresql://{service.role}@db/{service.database}"
        server = self.own if PAYMENTS in spec.moves else self.shared
        return (
            f"postgresql://{service.role}:{PASSWORDS[service.name]}@/{service.database}"
            f"?host={server.workdir}&port={server.port}"
        )

    def store(self, spec: ApplySpec) -> dict[str, str]:
        host = "/ticketing/dev/hosts/shared"
        store = {f"{host}/compose": host_apply.pack_parameter(self.compose_document)}
        for target in spec.databases:
            store[f"{host}/{target.parameter}"] = host_apply.pack_parameter(target.bootstrap_sql)
        for s in catalog.SERVICES:
            path = f"/ticketing/dev/services/{s.name}"
            store[f"{path}/database-url"] = self.database_url(s, spec)
            store[f"{path}/database-password"] = PASSWORDS[s.name]
            store[f"{path}/redis-url"] = f"redis://default:r@{s.name}-redis:6379/0"
            store[f"{path}/redis-password"] = "r"
            store[f"{path}/amqp-url"] = f"amqp://{s.name}:a@{s.name}-rabbitmq:5672/{s.name}"
            store[f"{path}/rabbitmq-definitions"] = json.dumps({"users": [{"name": s.name}]})
        return store

    def apply(self, spec: ApplySpec) -> Run:
        (self.workdir / "ssm.json").write_text(json.dumps(self.store(spec)))
        log = self.workdir / "calls.log"
        log.unlink(missing_ok=True)
        document = host_apply.render_apply_document(spec)
        # With two replicas, each rolled owner's target group; none is called here: the
        # first apply starts the replicas and a move stops them, so the converge starts them.
        groups = {r.parameter: f"{TARGET_GROUP}/{r.owner}/0123456789abcdef" for r in spec.rolling}
        values = {**groups, **self.values()}
        script = "\n".join(document["mainSteps"][0]["inputs"]["runCommand"])
        script = PARAMETER.sub(lambda m: values[m.group(1)], script)
        script = script.replace(compose.HOST_ROOT, str(self.root)).replace(
            "/snap/bin", str(self.snaps)
        )
        # An installed CloudWatch agent (its own lines run in tests/test_cloudwatch_agent.py).
        agent = self.workdir / "cloudwatch-agent"
        agent.mkdir(exist_ok=True)
        (agent / "ctl").write_text(fake_ctl(agent))
        (agent / "ctl").chmod(0o755)
        script = script.replace(cloudwatch_agent.CTL, str(agent / "ctl"))
        (self.workdir / "apply.sh").write_text(script)
        result = subprocess.run(
            [shutil.which("bash") or "bash", str(self.workdir / "apply.sh")],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        return Run(
            result,
            [c[1:] for c in calls if c[0] == "docker"],
            [c[1] for c in calls if c[0] == "pg_dump"],
        )


def connect(server: Server, service: str, database: str | None = None) -> psycopg.Connection[Any]:
    role = catalog.service(service).role
    return psycopg.connect(
        host="127.0.0.1",
        port=server.port,
        dbname=database or catalog.service(service).database,
        user=role,
        password=PASSWORDS[service],
        sslmode="require",
        connect_timeout=5,
        autocommit=True,
    )


def contents(server: Server) -> str:
    """payments' data as the superuser sees it: rows, the sequence, owners, the view."""
    return server.superuser_sql(
        "SELECT json_agg(o ORDER BY id) FROM orders AS o;"
        "SELECT json_agg(s ORDER BY venue, seat) FROM seats AS s;"
        "SELECT last_value, is_called FROM orders_id_seq;"
        "SELECT string_agg(format('%s:%s:%s', relname, relkind, relowner::regrole), ','"
        " ORDER BY relname) FROM pg_class WHERE relnamespace = 'public'::regnamespace;"
        "SELECT pg_get_viewdef('big_orders');",
        database=PAYMENTS.database,
    )


def relations(server: Server) -> str:
    return server.superuser_sql(database_move.relations(), database=PAYMENTS.database)


def can_log_in(server: Server, service: str) -> bool:
    try:
        connect(server, service).close()
    except psycopg.OperationalError:
        return False
    return True


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[Server, Server]]:
    if not postgres.BINS:
        pytest.skip("no PostgreSQL server in /usr/lib/postgresql (apt-get install postgresql)")
    with postgres.running("shared") as shared, postgres.running("payments") as own:
        yield shared, own


@pytest.fixture(scope="module")
def host(servers: tuple[Server, Server], tmp_path_factory: pytest.TempPathFactory) -> Host:
    """The host as it runs before any move: every database on the shared instance, and
    payments' with data in it."""
    host = Host(tmp_path_factory.mktemp("host"), *servers)
    first = host.apply(spec_of("shared"))
    assert first.result.returncode == 0, first.result.stderr
    with connect(host.shared, "payments") as c:
        c.execute(SEED)
    return host


@pytest.fixture
def moving(host: Host) -> Iterator[Host]:
    """Step one applied: payments' own instance has its role and an empty database."""
    run = host.apply(spec_of("moving"))
    assert run.result.returncode == 0, run.result.stderr
    yield host
    # The next test starts from step one again: its own database gone, the shared one used.
    host.own.superuser_sql(f"DROP DATABASE IF EXISTS {PAYMENTS.database} WITH (FORCE)")


def test_moving_makes_an_empty_database_on_its_own_instance_and_keeps_the_service_on_the_shared_one(
    host: Host,
) -> None:
    run = host.apply(spec_of("moving"))
    assert run.result.returncode == 0, run.result.stderr
    assert run.stops_and_starts == [] and run.converged
    assert relations(host.own) == "0"
    assert can_log_in(host.own, "payments") and can_log_in(host.shared, "payments")
    assert "fan500@example.com" in contents(host.shared)
    # The other services' databases are not made on payments' instance.
    assert (
        host.own.superuser_sql("SELECT count(*) FROM pg_database WHERE datname LIKE '%_db'") == "1"
    )
    host.own.superuser_sql(f"DROP DATABASE {PAYMENTS.database} WITH (FORCE)")


def test_dedicated_copies_the_data_once_then_switches(moving: Host) -> None:
    before = contents(moving.shared)
    run = moving.apply(spec_of("dedicated"))
    assert run.result.returncode == 0, run.result.stderr
    assert "payments: payments_db copied to 'payments'" in run.result.stdout
    # payments was stopped for the copy, and started again only by the convergence.
    assert run.stops_and_starts == [["stop", "payments"]] and run.converged
    assert contents(moving.own) == before
    assert "orders:r:payments_app" in before
    comment = moving.own.superuser_sql(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database"
        f" WHERE datname = '{PAYMENTS.database}'"
    )
    assert comment.startswith(database_move.MOVED + " at ")
    with connect(moving.own, "payments") as c:  # the service carries on where it stood
        assert c.execute(
            "INSERT INTO orders (email) VALUES ('next@example.com') RETURNING id"
        ).fetchone() == (501,)
    # The shared copy stays, and its role can no longer log in there.
    assert not can_log_in(moving.shared, "payments")
    assert contents(moving.shared) == before
    # Every later apply finds it moved: nothing stopped, nothing copied again.
    again = moving.apply(spec_of("dedicated"))
    assert again.result.returncode == 0, again.result.stderr
    assert again.stops_and_starts == [] and "copied" not in again.result.stdout
    assert "next@example.com" in contents(moving.own)
    moving.shared.superuser_sql(f"ALTER ROLE {PAYMENTS.role} LOGIN")


def test_dedicated_without_moving_first_fails_before_touching_anything(host: Host) -> None:
    run = host.apply(spec_of("dedicated"))
    assert run.result.returncode != 0
    assert (
        "payments: payments_db is not on 'payments' yet: apply services.payments.database: "
        "moving first" in run.result.stderr
    )
    assert run.stops_and_starts == [] and not run.converged
    assert can_log_in(host.shared, "payments")


def test_a_failed_copy_switches_nothing_and_starts_the_service_again(moving: Host) -> None:
    # The restore fails half way: its own database refuses payments' tables.
    moving.own.superuser_sql("ALTER SCHEMA public OWNER TO postgres", database=PAYMENTS.database)
    before = contents(moving.shared)
    run = moving.apply(spec_of("dedicated"))
    assert run.result.returncode != 0
    assert "payments: nothing switched; it runs on the shared instance again" in run.result.stderr
    assert run.stops_and_starts == [["stop", "payments"], ["start", "payments"]]
    assert not run.converged
    assert relations(moving.own) == "0"  # one transaction: nothing of it stayed
    assert can_log_in(moving.shared, "payments") and contents(moving.shared) == before


def test_a_database_the_move_did_not_fill_is_never_overwritten(moving: Host) -> None:
    with connect(moving.own, "payments") as c:
        c.execute("CREATE TABLE written_meanwhile (id int)")
    run = moving.apply(spec_of("dedicated"))
    assert run.result.returncode != 0
    assert (
        "payments: payments_db on 'payments' holds 1 relations no move put there: "
        "refusing to overwrite them" in run.result.stderr
    )
    assert run.stops_and_starts == [] and not run.converged


def test_a_service_dedicated_from_the_start_copies_nothing(host: Host) -> None:
    # The shared instance never held it (as on a stack that placed it dedicated at once).
    host.shared.superuser_sql(f"ALTER DATABASE {PAYMENTS.database} RENAME TO payments_elsewhere")
    try:
        run = host.apply(spec_of("dedicated"))
        assert run.result.returncode == 0, run.result.stderr
        assert run.stops_and_starts == [] and run.converged
        assert relations(host.own) == "0"  # made by its bootstrap, empty
        assert can_log_in(host.own, "payments")
    finally:
        host.own.superuser_sql(f"DROP DATABASE IF EXISTS {PAYMENTS.database} WITH (FORCE)")
        host.shared.superuser_sql(
            f"ALTER DATABASE payments_elsewhere RENAME TO {PAYMENTS.database}"
        )
        host.shared.superuser_sql(f"ALTER ROLE {PAYMENTS.role} LOGIN")


# --- every replica of the moving service, writing for real ---------------------------------

# payments as its replicas run it: one INSERT after another with the DATABASE_URL of its
# env file, each row naming its replica and stamped by the server, until it is stopped.
WRITER_LOOP = """#!/bin/sh
trap 'exit 0' TERM INT
while :; do
  psql "$DATABASE_URL" -X -q -c "INSERT INTO writes (replica) VALUES ('$REPLICA')" \\
    >/dev/null 2>&1
  sleep 0.05
done
"""
WRITES = (
    "CREATE TABLE IF NOT EXISTS writes (id bigserial PRIMARY KEY, replica text NOT NULL,"
    " at timestamptz NOT NULL DEFAULT clock_timestamp())"
)
WRITER_PROJECT = "ticketing-move-rehearsal"
WRITER_IMAGE = f"{WRITER_PROJECT}-writer:1"


def writer_stand_in(server: Server) -> StandIn:
    return StandIn(
        WRITER_IMAGE,
        binaries=(str(server.bin / "psql"),),
        files={"/usr/local/bin/writer": WRITER_LOOP},
        executables=("/usr/local/bin/writer",),
        changes=(f"ENV PATH={server.bin}:/usr/bin", 'CMD ["/usr/local/bin/writer"]'),
    )


def writers_document(root: Path, containers: tuple[str, ...], servers: tuple[Server, ...]) -> str:
    """The compose document of payments' `containers` as writers: the program's container
    names, restart policy and env file (under the host's `root`), each server's socket
    directory mounted where its URL names it, and no network (the servers are not in the
    daemon's network namespace; their unix sockets are reachable from it)."""
    sockets = [
        {"type": "bind", "source": str(s.workdir), "target": str(s.workdir), "read_only": True}
        for s in servers
    ]
    env_file = compose.env_file(PAYMENTS.name).replace(compose.HOST_ROOT, str(root))
    services = {
        name: {
            "container_name": name,
            "image": WRITER_IMAGE,
            "restart": compose.RESTART,
            "env_file": [env_file],
            "environment": {"REPLICA": name},
            "network_mode": "none",
            "volumes": sockets,
        }
        for name in containers
    }
    return yaml.safe_dump({"name": WRITER_PROJECT, "services": services}, sort_keys=False)


def rows(server: Server, where: str = "true") -> list[tuple[int, str, float]]:
    """payments' writes on `server`: (id, replica, epoch of the server's stamp)."""
    out = server.superuser_sql(
        f"SELECT id, replica, extract(epoch FROM at) FROM writes WHERE {where} ORDER BY id",
        database=PAYMENTS.database,
    )
    return [(int(i), r, float(t)) for i, r, t in (line.split("|") for line in out.splitlines())]


def wait_for(what: str, done: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, f"not within {seconds:.0f}s: {what}"
        time.sleep(0.2)


@dataclass
class Writers:
    """A host whose payments replicas (`containers`) write to its database for real."""

    host: Host
    daemon: DockerDaemon
    replicas: int
    containers: tuple[str, ...]
    root: Path
    servers: tuple[Server, Server]
    replicas_after: int
    """How many the apply that moves payments runs: `appHost.replicas` may change with it."""

    def containers_after(self) -> tuple[str, ...]:
        return payments_containers(self.replicas_after)

    def written_by(self, server: Server, where: str = "true") -> set[str]:
        return {replica for _, replica, _ in rows(server, where)}

    def environment(self, container: str) -> dict[str, str]:
        inspected = json.loads(self.daemon.docker("inspect", container).stdout)[0]
        assert inspected["State"]["Running"], (container, inspected["State"])
        return dict(e.split("=", 1) for e in inspected["Config"]["Env"])


def payments_containers(replicas: int) -> tuple[str, ...]:
    """payments' containers with `replicas`, named as `AppHostArgs.of` rolls them."""
    rolled = [r for r in spec_of("moving", replicas).rolling if r.owner == PAYMENTS.name]
    return tuple(n for r in rolled for n, _ in r.replicas) or (PAYMENTS.name,)


@pytest.fixture(
    params=[(1, 1), (2, 2), (1, 2), (2, 1)],
    ids=["one-replica", "two-replicas", "one-to-two-replicas", "two-to-one-replica"],
)
def writers(
    request: pytest.FixtureRequest,
    servers: tuple[Server, Server],
    docker_daemon: DockerDaemon,
    tmp_path: Path,
) -> Iterator[Writers]:
    """Step one applied on a host of the real daemon whose payments replicas (one, as dev
    runs them, or two, as staging and prod) are writing to the shared instance; the move
    then runs as many or, where `appHost.replicas` changes with it, the other count."""
    replicas, replicas_after = request.param
    shared, own = servers
    containers = payments_containers(replicas)
    docker_daemon.load(writer_stand_in(shared))
    root = tmp_path / "opt-ticketing"
    document = writers_document(root, containers, servers)
    host = Host(tmp_path, shared, own, docker_daemon, document)
    try:
        run = host.apply(spec_of("moving", replicas))
        assert run.result.returncode == 0, run.result.stderr
        with connect(shared, "payments") as c:
            c.execute(WRITES)
        live = Writers(host, docker_daemon, replicas, containers, root, servers, replicas_after)
        wait_for("every replica writing", lambda: live.written_by(shared) == set(containers))
        yield live
    finally:
        down = ["compose", "-p", WRITER_PROJECT, "down", "--remove-orphans", "--timeout", "1"]
        docker_daemon.docker(*down, check=False)
        own.superuser_sql(f"DROP DATABASE IF EXISTS {PAYMENTS.database} WITH (FORCE)")
        shared.superuser_sql(f"ALTER ROLE {PAYMENTS.role} LOGIN")
        shared.superuser_sql("DROP TABLE IF EXISTS writes", database=PAYMENTS.database)


def test_every_replica_stops_writing_for_the_copy_and_writes_to_its_own_instance_after(
    writers: Writers,
) -> None:
    """The move with payments' replicas writing all along, on the real daemon and Compose
    (tests/engines/docker.py): the copy begins (pg_dump starts) only once every replica has
    stopped, so the shared instance holds no write from then on and its own instance
    exactly the shared one's rows; then every replica runs again, writing there."""
    host, shared, own = writers.host, writers.host.shared, writers.host.own
    after = writers.containers_after()
    host.compose_document = writers_document(writers.root, after, writers.servers)
    applied = time.time()
    run = host.apply(spec_of("dedicated", writers.replicas_after))
    assert run.result.returncode == 0, run.result.stderr
    assert "payments: payments_db copied to 'payments'" in run.result.stdout
    [copy_began] = run.dumps
    on_shared = rows(shared)
    # Each replica was writing until the apply stopped it.
    assert {replica for _, replica, at in on_shared if at > applied} == set(writers.containers)
    late = [row for row in on_shared if row[2] >= copy_began]
    assert late == [], f"{len(late)} rows written on the shared instance after the copy began"
    last = on_shared[-1][0]
    assert rows(own, f"id <= {last}") == on_shared  # none lost, none changed
    # The replicas the running document had, not the ones the new one runs.
    assert run.stops_and_starts == [["stop", *writers.containers]]
    # Every replica the new document runs is up on its own instance, and writes only there.
    url = host.database_url(PAYMENTS, spec_of("dedicated", writers.replicas_after))
    for container in after:
        assert writers.environment(container)["DATABASE_URL"] == url
    wait_for(
        "every replica writing on its own instance",
        lambda: writers.written_by(own, f"id > {last}") == set(after),
    )
    assert rows(shared) == on_shared
