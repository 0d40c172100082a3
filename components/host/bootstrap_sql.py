"""Database-per-service bootstrap SQL for a PostgreSQL (RDS) instance. No Pulumi.

The app host runs the script with psql inside the VPC as the RDS master user,
which is not a superuser (it is a member of `rds_superuser` with CREATEROLE and
CREATEDB). Per service it creates the login role and the database the role
owns, re-sets the role's password on every run (rotation), and takes CONNECT
away from everyone else, so no role can connect to another service's database.

The script is idempotent and holds no secret: each password reaches psql
through an environment variable (`\\getenv`, psql 15+) or `-v name=value`.
`CREATE DATABASE` cannot run inside a DO block or a transaction, and DO blocks
cannot see psql variables, so every conditional statement is built with
`SELECT format(...) ... \\gexec`, names quoted with %I and values with %L.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from seed.catalog import DomainService

MAINTENANCE_DATABASE = "postgres"
# Every service role the bootstrap creates is a member of this NOLOGIN role, so a later
# run finds the roles of services that were removed since: it takes their LOGIN away
# and ends their sessions, and leaves their databases (the data) as they are.
SERVICE_GROUP = "ticketing_services"
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_ENV = re.compile(r"^[A-Z_][A-Z0-9_]*$")


@dataclass(frozen=True)
class DatabaseGrant:
    """One service's login role and the database it owns on one PostgreSQL instance.

    Args:
        role: the login role (catalog `DomainService.role`).
        database: its database (catalog `DomainService.database`).
        password_variable: the psql variable the script reads the role's password from.
        password_env: the environment variable that fills `password_variable`.
    """

    role: str
    database: str
    password_variable: str
    password_env: str

    def __post_init__(self) -> None:
        for what, value in (
            ("role", self.role),
            ("database", self.database),
            ("password variable", self.password_variable),
        ):
            if not _NAME.match(value):
                raise ValueError(f"{what} {value!r}: use lowercase letters, digits, underscores")
        if not _ENV.match(self.password_env):
            raise ValueError(f"password env {self.password_env!r}: use A-Z, 0-9, underscores")

    @classmethod
    def for_service(cls, service: DomainService) -> DatabaseGrant:
        """The grant the catalog implies for `service` (`ticketing_app` owns `ticketing_db`)."""
        key = service.name.replace("-", "_")
        return cls(
            role=service.role,
            database=service.database,
            password_variable=f"{key}_password",
            password_env=f"{key.upper()}_DB_PASSWORD",
        )


def render_bootstrap_sql(
    grants: Sequence[DatabaseGrant], *, resident_roles: Sequence[str] | None = None
) -> str:
    """The idempotent psql script that creates and isolates every grant's role and database.

    `resident_roles` are the roles of every service whose database lives on the instance,
    whichever host bootstraps it (default: the grants' own): a service on a dedicated host
    whose database is on the shared instance is bootstrapped by its own host, and neither
    host's run may retire the other's roles. Only a service role outside them is retired.
    """
    if not grants:
        raise ValueError("no database grants to bootstrap")
    residents = [g.role for g in grants] if resident_roles is None else list(resident_roles)
    if missing := sorted({g.role for g in grants} - set(residents)):
        raise ValueError(f"resident roles must include every grant's role, missing {missing}")
    for attr in ("role", "database", "password_variable", "password_env"):
        values = [getattr(g, attr) for g in grants]
        if len(set(values)) != len(values):
            raise ValueError(f"each grant needs its own {attr.replace('_', ' ')}, got {values}")
    lines = [
        "-- Database-per-service bootstrap, rendered by the program for the app host.",
        "-- Idempotent: creates what is missing, re-sets passwords, re-applies grants.",
        "\\set ON_ERROR_STOP on",
        "",
    ]
    for grant in grants:
        lines += _password(grant)
    lines += _service_group()
    for grant in grants:
        lines += _role_and_database(grant)
    lines += _retire_removed(residents)
    for grant in grants:
        lines += _schema(grant)
    return "\n".join(lines).rstrip("\n") + "\n"


def psql_command(script_path: str, database: str = MAINTENANCE_DATABASE) -> tuple[str, ...]:
    """The psql command line the host runs; the connection comes from PGHOST, PGUSER etc."""
    return (
        "psql",
        "--no-psqlrc",
        "--set=ON_ERROR_STOP=1",
        f"--dbname={database}",
        f"--file={script_path}",
    )


def password_environment(grants: Sequence[DatabaseGrant]) -> Mapping[str, str]:
    """Environment variable -> the role whose password it must hold when psql runs."""
    return {g.password_env: g.role for g in grants}


def _password(grant: DatabaseGrant) -> list[str]:
    var, env = grant.password_variable, grant.password_env
    missing = f"bootstrap: no password for role {grant.role}; set {env} or -v {var}=..."
    return [
        f"-- {grant.role}'s password: from ${env} unless given with -v {var}=...",
        f"\\getenv {var} {env}",
        f"\\if :{{?{var}}}",
        "\\else",
        f"DO $$ BEGIN RAISE EXCEPTION {literal(missing)}; END $$;",
        "\\endif",
        f"SELECT :'{var}' = '' AS bootstrap_password_empty \\gset",
        "\\if :bootstrap_password_empty",
        f"DO $$ BEGIN RAISE EXCEPTION {literal(missing)}; END $$;",
        "\\endif",
        "",
    ]


def _service_group() -> list[str]:
    group = literal(SERVICE_GROUP)
    return [
        f"-- {SERVICE_GROUP}: no privileges, no login; it only marks the service roles.",
        f"SELECT format('CREATE ROLE %I NOLOGIN', {group})",
        f"WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = {group}) \\gexec",
        "",
    ]


def _retire_removed(residents: Sequence[str]) -> list[str]:
    group = literal(SERVICE_GROUP)
    current = ", ".join(literal(role) for role in residents)
    removed = (
        "SELECT r.rolname FROM pg_catalog.pg_roles r"
        " JOIN pg_catalog.pg_auth_members m ON m.member = r.oid"
        f" WHERE m.roleid = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = {group})"
        f" AND r.rolname NOT IN ({current})"
        # PostgreSQL 16+ makes the group's creator (this script's user) an admin member.
        " AND NOT m.admin_option AND r.rolname <> current_user"
    )
    return [
        "-- Roles of services no longer deployed: no new logins, sessions ended, data kept.",
        f"SELECT format('ALTER ROLE %I NOLOGIN', rolname) FROM ({removed}) AS removed",
        "WHERE (SELECT rolcanlogin FROM pg_catalog.pg_roles p WHERE p.rolname = removed.rolname)",
        "\\gexec",
        "SELECT pg_catalog.pg_terminate_backend(a.pid) AS ended FROM pg_catalog.pg_stat_activity a",
        f"WHERE a.usename IN ({removed})",
        "AND pg_catalog.pg_has_role(current_user, a.usename, 'MEMBER');",
        "",
    ]


def _role_and_database(grant: DatabaseGrant) -> list[str]:
    role, db = literal(grant.role), literal(grant.database)
    return [
        f"-- {grant.role} owns {grant.database} and is the only role that may connect to it.",
        f"SELECT format('CREATE ROLE %I LOGIN', {role})",
        f"WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = {role}) \\gexec",
        "SELECT format('ALTER ROLE %I WITH LOGIN NOCREATEDB NOCREATEROLE PASSWORD %L',",
        f"              {role}, :'{grant.password_variable}') \\gexec",
        f"SELECT format('GRANT %I TO %I', {literal(SERVICE_GROUP)}, {role})",
        f"WHERE NOT pg_catalog.pg_has_role({role}, {literal(SERVICE_GROUP)}, 'MEMBER') \\gexec",
        # PostgreSQL 16+: creating a database for another owner needs membership in that role.
        f"SELECT format('GRANT %I TO CURRENT_USER', {role})",
        "WHERE NOT pg_catalog.pg_has_role(current_user,"
        f" (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = {role}), 'USAGE') \\gexec",
        f"SELECT format('CREATE DATABASE %I OWNER %I', {db}, {role})",
        f"WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_database WHERE datname = {db}) \\gexec",
        f"SELECT format('ALTER DATABASE %I OWNER TO %I', {db}, {role}) \\gexec",
        f"SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', {db}) \\gexec",
        f"SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', {db}, {role}) \\gexec",
        "",
    ]


def _schema(grant: DatabaseGrant) -> list[str]:
    return [
        f"-- Inside {grant.database}: only its owner creates objects in schema public.",
        f"\\connect {grant.database}",
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC;",
        "",
    ]


def literal(value: str) -> str:
    """`value` as an SQL string literal."""
    return "'" + value.replace("'", "''") + "'"
