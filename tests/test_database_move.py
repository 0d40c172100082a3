"""A service's database moving to its own instance, rehearsed on two real PostgreSQL servers.

The host's apply script as the program renders it (`apply_spec` from settings with
`services.payments.database` set to `moving`, then `dedicated`) runs under bash with
Debian's real psql, pg_dump and pg_restore against two servers serving TLS, set up as RDS
sets up an instance (tests/engines/postgres.py): the shared instance and payments' own.
Only the AWS CLI (the SSM parameters and master secrets, tests/test_host_apply.py's fake)
and Docker (recorded, tests/test_host_apply.py's fake) are not real.

What the path promises, each checked on the servers themselves: `moving` creates the role
and an empty database on the new instance while payments keeps its data on the shared
one; `dedicated` stops payments, copies its database over once (tables, rows, indexes,
views, sequences, owner) and only then writes the new configuration; a failed copy
switches nothing and starts payments again; the shared copy stays, its role no longer
able to log in; and nothing is ever copied over a database the move did not fill.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from components.aws import placement
from components.aws.app_host import AppHostConfig, apply_spec
from components.host import apply_document as host_apply
from components.host import cloudwatch_agent, compose, database_move
from components.host.apply_document import ApplySpec
from components.settings import CloudSettings, parse
from seed import catalog
from tests.engines import postgres
from tests.engines.postgres import Server
from tests.factories import cloud_stack
from tests.test_cloudwatch_agent import fake_ctl
from tests.test_host_apply import FAKE_AWS, FAKE_DOCKER, FAKE_LOGGER, PARAMETER, SYSTEM_TOOLS

pytestmark = pytest.mark.real_engine

PAYMENTS = catalog.service("payments")
SHARED_SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-shared-AbCd"
OWN_SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-payments-EfGh"
PASSWORDS = {s.name: f"db-{s.name}-pw" for s in catalog.SERVICES}
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


def settings_with(database: str) -> CloudSettings:
    stack = cloud_stack("dev")["config"]
    raw = {key.removeprefix("ticketing:"): value for key, value in stack.items()}
    raw["services"]["payments"]["database"] = database
    parsed = parse(raw)
    assert isinstance(parsed, CloudSettings)
    return parsed


def spec_of(database: str) -> ApplySpec:
    """The shared host's apply spec, from the program's own placement, for `database`."""
    settings = settings_with(database)
    [shared, *_] = placement.hosts(settings)
    config = AppHostConfig.of(settings, shared)
    return apply_spec(shared, config.placed, config.bootstrapped, (), config.moves)


@dataclass
class Run:
    result: subprocess.CompletedProcess[str]
    docker: list[list[str]]

    @property
    def stops_and_starts(self) -> list[list[str]]:
        return [
            c[3:] for c in self.docker if c[:1] == ["compose"] and c[3:4] in (["stop"], ["start"])
        ]

    @property
    def converged(self) -> bool:
        return any(c[:1] == ["compose"] and "up" in c for c in self.docker)


class Host:
    """The shared app host's root, tools and fakes; `apply(spec)` runs its apply script."""

    def __init__(self, workdir: Path, shared: Server, own: Server) -> None:
        self.workdir, self.shared, self.own = workdir, shared, own
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
        for tool in ("psql", "pg_dump", "pg_restore"):
            (self.bin / tool).symlink_to(shared.bin / tool)
        (self.bin / "python3").symlink_to(sys.executable)
        shebang = f"#!{sys.executable}\n"
        (self.snaps / "aws").write_text(shebang + FAKE_AWS)
        (self.bin / "docker").write_text(shebang + FAKE_DOCKER)
        (self.bin / "systemctl").write_text(shebang + FAKE_LOGGER)
        (self.bin / "cloud-init").write_text("#!/bin/sh\nexit 0\n")
        for fake in (self.snaps / "aws", self.bin / "docker", self.bin / "systemctl"):
            fake.chmod(0o755)
        (self.bin / "cloud-init").chmod(0o755)
        self.env = {
            "PATH": f"{self.bin}:{shared.bin}",
            "FAKE_LOG": str(workdir / "calls.log"),
            "FAKE_SSM": str(workdir / "ssm.json"),
            "FAKE_SECRETS": str(workdir / "secrets.json"),
            "FAKE_COMPOSE_PLUGIN": str(plugin),
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

    def store(self, spec: ApplySpec) -> dict[str, str]:
        host = "/ticketing/dev/hosts/shared"
        store = {f"{host}/compose": host_apply.pack_parameter("name: ticketing\nservices: {}\n")}
        for target in spec.databases:
            store[f"{host}/{target.parameter}"] = host_apply.pack_parameter(target.bootstrap_sql)
        for s in catalog.SERVICES:
            path = f"/ticketing/dev/services/{s.name}"
            store[f"{path}/database-url"] = f"postgresql://{s.role}@db/{s.database}"
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
        values = self.values()
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
        return Run(result, [c[1:] for c in calls if c[0] == "docker"])


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
