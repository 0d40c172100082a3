"""The shared database restored into a new instance, rehearsed on real PostgreSQL servers.

The restored copy is a physical copy of the running shared server (`pg_basebackup`, as an
RDS snapshot is one: every database, role and password at that moment) started as a
server of its own with a new master password, as RDS manages a new master secret for a
restored instance (tests/engines/postgres.py). The host's apply script as the program
renders it (`apply_spec` from settings with `database.restore`, then with `serve`) runs
under bash with Debian's real psql against both, through test_database_move's host
(only the AWS CLI and Docker are fakes). What RDS itself does with the snapshot is the
provider's and AWS's part (tests/test_database_restore.py).

What the path promises, each checked on the servers: the host readies the copy (every
role logs in with its password, the data exactly as at the copy) without writing to the
shared instance's data; once the copy serves, the host bootstraps the copy alone and
leaves the shared instance as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from components.aws import placement
from components.aws.app_host import AppHostConfig, apply_spec
from components.host.apply_document import ApplySpec
from components.settings import CloudSettings, parse
from seed import catalog
from tests.engines import postgres
from tests.engines.postgres import Server
from tests.factories import cloud_stack
from tests.test_database_move import OWN_SECRET, PAYMENTS, SEED, Host, can_log_in, connect, contents

pytestmark = pytest.mark.real_engine

POSTGRES = [s for s in catalog.SERVICES if s.uses(catalog.Backing.POSTGRESQL)]


def settings_with(**restore: Any) -> CloudSettings:
    sections = {"database": {"restore": restore}} if restore else {}
    stack = cloud_stack("dev", **sections)["config"]
    parsed = parse({key.removeprefix("ticketing:"): value for key, value in stack.items()})
    assert isinstance(parsed, CloudSettings)
    return parsed


def spec_of(**restore: Any) -> ApplySpec:
    """The shared host's apply spec, from the program's own placement, for `restore`."""
    settings = settings_with(**restore)
    [shared, *_] = placement.hosts(settings)
    config = AppHostConfig.of(settings, shared)
    return apply_spec(shared, config.placed, config.bootstrapped, (), config.moves)


class RestoringHost(Host):
    """The shared host, its `restored` database target the copy's server."""

    def values(self) -> dict[str, str]:
        values = super().values()
        values["RestoredDatabaseHost"] = "127.0.0.1"
        values["RestoredDatabasePort"] = str(self.own.port)
        values["RestoredMasterSecretArn"] = OWN_SECRET
        return values


def password_hash(server: Server, role: str) -> str:
    return server.superuser_sql(f"SELECT rolpassword FROM pg_authid WHERE rolname = '{role}'")


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The shared instance as the host left it before any restore, payments' data in it."""
    if not postgres.BINS:
        pytest.skip("no PostgreSQL server in /usr/lib/postgresql (apt-get install postgresql)")
    with postgres.running("shared") as server:
        host = Host(tmp_path_factory.mktemp("before"), server, server)
        first = host.apply(spec_of())
        assert first.result.returncode == 0, first.result.stderr
        with connect(server, "payments") as c:
            c.execute(SEED)
        yield server


@pytest.fixture(scope="module")
def restore(
    shared: Server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RestoringHost, str]]:
    """The copy taken, then a write on the shared instance after it; the host and payments'
    data as the copy holds it."""
    at_copy = contents(shared)
    with postgres.restored(shared, "restored") as copy:
        with connect(shared, "payments") as c:
            c.execute("INSERT INTO orders (email) VALUES ('after-the-snapshot@example.com')")
        yield RestoringHost(Path(tmp_path_factory.mktemp("host")), shared, copy), at_copy


def test_the_host_readies_the_copy_and_leaves_the_shared_instance_as_it_was(
    restore: tuple[RestoringHost, str],
) -> None:
    host, at_copy = restore
    # The copy's master password is its own: the host must use the copy's secret there.
    assert can_log_in(host.own, "payments")
    host.own.superuser_sql(f"ALTER ROLE {PAYMENTS.role} NOLOGIN")  # drifted on the copy
    shared_before = contents(host.shared)
    run = host.apply(spec_of(snapshot="nightly"))
    assert run.result.returncode == 0, run.result.stderr
    assert contents(host.own) == at_copy
    assert "after-the-snapshot@example.com" not in at_copy
    assert contents(host.shared) == shared_before
    assert "after-the-snapshot@example.com" in shared_before
    for service in POSTGRES:  # every role logs in to both, with its own password
        assert can_log_in(host.own, service.name) and can_log_in(host.shared, service.name)


def test_once_the_copy_serves_only_the_copy_is_bootstrapped(
    restore: tuple[RestoringHost, str],
) -> None:
    host, _ = restore
    # Drift on both: only the instance the host still bootstraps is put right.
    for server in (host.shared, host.own):
        server.superuser_sql(f"ALTER ROLE {PAYMENTS.role} NOLOGIN")
    shared_hash = password_hash(host.shared, PAYMENTS.role)
    run = host.apply(spec_of(snapshot="nightly", serve=True))
    assert run.result.returncode == 0, run.result.stderr
    assert can_log_in(host.own, "payments")
    assert not can_log_in(host.shared, "payments")
    assert password_hash(host.shared, PAYMENTS.role) == shared_hash
    with connect(host.own, "payments") as c:  # payments carries on where the copy stood
        assert c.execute("SELECT count(*) FROM orders").fetchone() == (500,)
    host.shared.superuser_sql(f"ALTER ROLE {PAYMENTS.role} LOGIN")
