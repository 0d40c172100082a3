"""The SSM Command document that applies an app host's desired state. No Pulumi.

An SSM association runs it on the host after every change (and on its
schedule). It first installs whatever the host lacks of Docker, Compose, psql
and the AWS CLI (`components.host.packages`): a failed install fails the run,
and the next scheduled run tries again. Then it reads the host's parameters
(the compose document, the bootstrap SQL per database instance) and each
service's SecureString parameters by path, writes the env files (0600;
ticketing's also carries each venue's sync credential) and RabbitMQ
definitions, runs the bootstrap SQL with psql as the RDS master user (secret
from Secrets Manager), then brings the compose project up. The document itself
holds no secret and no value that changes per environment: those are its
parameters, each with an allowed pattern so nothing can be injected into the
script.

The compose document and the bootstrap SQL outgrow SSM's 4 KB standard (and
8 KB advanced) parameter limits, so they are stored gzipped and base64
encoded: `pack_parameter`.
"""

from __future__ import annotations

import base64
import gzip
import re
from dataclasses import dataclass
from typing import Any

from components.host import bootstrap_sql, compose, rabbitmq
from components.host import packages as host_packages
from components.host.bootstrap_sql import DatabaseGrant
from seed import naming
from seed.catalog import Backing, DomainService

# Leaf names under the host's SSM path.
COMPOSE_PARAMETER = "compose"
BOOTSTRAP_SQL_PARAMETER = "bootstrap-sql"

# Env file variable -> the service's SSM parameter that holds its value.
SERVICE_ENV: dict[Backing, tuple[str, str]] = {
    Backing.POSTGRESQL: ("DATABASE_URL", naming.DATABASE_URL),
    Backing.REDIS: ("REDIS_URL", naming.REDIS_URL),
    Backing.RABBITMQ: ("AMQP_URL", naming.AMQP_URL),
}
REDIS_ENV = ("REDIS_PASSWORD", naming.REDIS_PASSWORD)

_TARGET = re.compile(r"^[a-z][a-z0-9-]*$")
_VENUE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


@dataclass(frozen=True)
class DatabaseTarget:
    """One PostgreSQL instance whose roles and databases this host bootstraps.

    Args:
        name: `shared` for the shared RDS instance, or the service name of a dedicated one.
        services: the services whose database lives there (each gets a `DatabaseGrant`).
    """

    name: str
    services: tuple[DomainService, ...]

    def __post_init__(self) -> None:
        if not _TARGET.match(self.name):
            raise ValueError(f"database target {self.name!r}: lowercase letters, digits, hyphens")
        if not self.services:
            raise ValueError(f"database target {self.name!r} has no services")

    @property
    def grants(self) -> tuple[DatabaseGrant, ...]:
        return tuple(DatabaseGrant.for_service(s) for s in self.services)

    @property
    def parameter(self) -> str:
        """Its bootstrap SQL's leaf name under the host's SSM path."""
        return f"{BOOTSTRAP_SQL_PARAMETER}/{self.name}"

    @property
    def sql_file(self) -> str:
        return f"{compose.HOST_ROOT}/bootstrap-{self.name}.sql"

    def document_parameter(self, suffix: str) -> str:
        """This target's document parameter: `SharedDatabaseHost`, `PaymentsMasterSecretArn`."""
        return "".join(part.capitalize() for part in self.name.split("-")) + suffix


@dataclass(frozen=True)
class ApplySpec:
    """What the apply document sets up on one host.

    Args:
        services: the domain services placed on the host (their env files, RabbitMQ definitions).
        databases: the PostgreSQL instances holding those services' databases; every
            service on the host that uses PostgreSQL is in exactly one of them.
        venues: the venues whose Bastions sync with `naming.VENUE_SYNC_SERVICE`; each
            credential goes into that service's env file, so it must run on this host.
    """

    services: tuple[DomainService, ...]
    databases: tuple[DatabaseTarget, ...]
    venues: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        names = [s.name for s in self.services]
        if len(set(names)) != len(names):
            raise ValueError("a service is listed twice")
        placed = [s.name for t in self.databases for s in t.services]
        wanted = sorted(s.name for s in self.services if s.uses(Backing.POSTGRESQL))
        if sorted(placed) != wanted:
            raise ValueError(f"database targets must hold exactly {wanted}, got {sorted(placed)}")
        targets = [t.name for t in self.databases]
        if len(set(targets)) != len(targets):
            raise ValueError("a database target is listed twice")
        if self.venues and naming.VENUE_SYNC_SERVICE not in names:
            raise ValueError(f"venue credentials need {naming.VENUE_SYNC_SERVICE} on the host")
        if len(set(self.venues)) != len(self.venues):
            raise ValueError("a venue is listed twice")
        for venue in self.venues:
            if not _VENUE.match(venue):
                raise ValueError(f"venue {venue!r}: lowercase letters, digits, hyphens")


def pack_parameter(text: str) -> str:
    """`text` gzipped (deterministically) and base64 encoded, as the host expects it."""
    return base64.b64encode(gzip.compress(text.encode("utf-8"), mtime=0)).decode("ascii")


def unpack_parameter(value: str) -> str:
    """The inverse of `pack_parameter`."""
    return gzip.decompress(base64.b64decode(value)).decode("utf-8")


def document_parameters(spec: ApplySpec) -> dict[str, dict[str, str]]:
    """The document's parameters; the association supplies their values."""
    params: dict[str, dict[str, str]] = {
        "Environment": _param("The stack's environment.", r"^(dev|staging|prod)$"),
        "HostName": _param("This host's name under the SSM hosts path.", r"^[a-z0-9][a-z0-9-]*$"),
        "Region": _param(
            "The AWS region of the parameters and secrets.", r"^[a-z]{2}(-gov)?-[a-z]+-\d$"
        ),
    }
    for target in spec.databases:
        params[target.document_parameter("DatabaseHost")] = _param(
            f"Address of the PostgreSQL instance '{target.name}'.", r"^[a-z0-9.-]+$"
        )
        params[target.document_parameter("DatabasePort")] = {
            **_param(f"Port of the PostgreSQL instance '{target.name}'.", r"^[0-9]{2,5}$"),
            "default": "5432",
        }
        params[target.document_parameter("MasterSecretArn")] = _param(
            f"ARN of the master user secret of '{target.name}' (RDS-managed).",
            r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@!-]+$",
        )
    return params


def render_apply_document(spec: ApplySpec) -> dict[str, Any]:
    """The SSM Command document (schema 2.2, one `aws:runShellScript` step) for `spec`."""
    return {
        "schemaVersion": "2.2",
        "description": "Apply the ticketing app host: missing tools, env files, "
        "RabbitMQ definitions, database bootstrap, docker compose up.",
        "parameters": document_parameters(spec),
        "mainSteps": [
            {
                "action": "aws:runShellScript",
                "name": "applyHost",
                "precondition": {"StringEquals": ["platformType", "Linux"]},
                "inputs": {"timeoutSeconds": "3600", "runCommand": render_script(spec)},
            }
        ],
    }


def render_script(spec: ApplySpec) -> list[str]:
    """The shell script's lines; `{{ Name }}` are the document's parameters."""
    host_path = naming.ssm_host_path("{{ Environment }}", "{{ HostName }}")
    lines = [
        "#!/bin/bash",
        "set -euo pipefail",
        # A failing $(...) must stop the script, not leave a half-written value behind.
        "shopt -s inherit_errexit",
        "umask 077",
        "export AWS_DEFAULT_REGION='{{ Region }}'",
        'export PATH="$PATH:/snap/bin"',
        # Snaps (the AWS CLI) need a HOME; SSM's agent may run the script without one.
        'export HOME="${HOME:-/root}"',
        # On first boot cloud-init holds apt; whatever it failed to install is installed next.
        "cloud-init status --wait >/dev/null || true",
        "",
        "# Docker, Compose, psql and the AWS CLI, whichever is missing; a failed install fails.",
        *host_packages.install_missing(),
        *_helpers(),
        "",
        f"install -d -m 0755 {compose.HOST_ROOT} {compose.RABBITMQ_DIR}",
        f"install -d -m 0700 {compose.ENV_DIR}",
        "",
        "# The host's own documents.",
        f"HOST=$(by_path '{host_path}')",
        f'DOC=$(pick "$HOST" {COMPOSE_PARAMETER} | base64 -d | gunzip)',
        f'put 0644 {compose.COMPOSE_FILE} "$DOC"',
    ]
    rabbits = [s for s in spec.services if s.uses(Backing.RABBITMQ)]
    if rabbits:
        lines += [
            f"put 0644 {compose.RABBITMQ_BOOT_CONFIG_FILE} {_quote(rabbitmq.BOOT_CONFIG.rstrip())}"
        ]
    for service in spec.services:
        lines += _service_files(service, spec.venues)
    for target in spec.databases:
        lines += _bootstrap(target)
    dc = f"docker compose -f {compose.COMPOSE_FILE}"
    if rabbits:
        lines += [
            "",
            "# A running RabbitMQ imports its current definitions now (password rotation).",
        ]
    for service in rabbits:
        name = naming.rabbitmq_container(service.name)
        lines += [
            f'if [ -n "$({dc} ps -q --status running {name})" ]; then',
            f"  {dc} exec -T {name} rabbitmqctl import_definitions {rabbitmq.DEFINITIONS_PATH}",
            "fi",
        ]
    lines += [
        "",
        "# Converge: create or recreate what changed, remove what is gone, wait for health.",
        f"{dc} up -d --remove-orphans --wait --wait-timeout 600",
    ]
    return lines


# Shell helpers. python3 (always on Ubuntu) reads the CLI's JSON: no jq, no secret in a temp file.
_HELPERS: str = r"""
# by_path PATH: PATH's parameters, decrypted, as JSON {name relative to PATH: value}.
by_path() {
  aws ssm get-parameters-by-path --path "$1" --recursive --with-decryption \
    --query 'Parameters[].[Name,Value]' --output json \
  | python3 -c 'import json,sys; p=sys.argv[1]
json.dump(dict((n[len(p)+1:], v) for n, v in json.load(sys.stdin)), sys.stdout)' "$1"
}
# pick JSON NAME: one value from by_path's output; fails naming what is missing.
pick() {
  printf '%s' "$1" | python3 -c 'import json,sys; v=json.load(sys.stdin); k=sys.argv[1]
sys.exit("missing SSM parameter " + k) if k not in v else sys.stdout.write(v[k])' "$2"
}
# env_line VAR: stdin as one single-quoted (never interpolated) env-file line.
env_line() {
  python3 -c 'import sys; k=sys.argv[1]; v=sys.stdin.read(); q=chr(39)
sys.exit(k + ": a quote or newline cannot go into an env file") if q in v or chr(10) in v \
else print(k + "=" + q + v + q)' "$1"
}
# secret_field FIELD: one field of a Secrets Manager JSON secret on stdin.
secret_field() {
  python3 -c 'import json,sys; sys.stdout.write(json.load(sys.stdin)[sys.argv[1]])' "$1"
}
# put MODE FILE CONTENT: CONTENT to FILE atomically, never readable beyond MODE.
put() {
  local tmp; tmp=$(mktemp "$2.XXXXXX")
  printf '%s\n' "$3" >"$tmp"; chmod "$1" "$tmp"; mv -f "$tmp" "$2"
}
"""


def _helpers() -> list[str]:
    return _HELPERS.splitlines()


def _service_files(service: DomainService, venues: tuple[str, ...]) -> list[str]:
    var = _shell_var(service.name)
    path = naming.ssm_service_path("{{ Environment }}", service.name)
    env_lines = [
        f'pick "${var}" {key} | env_line {name}'
        for backing, (name, key) in SERVICE_ENV.items()
        if service.uses(backing)
    ]
    if service.name == naming.VENUE_SYNC_SERVICE:
        env_lines += [
            f'pick "${var}" {naming.venue_credential_key(v)} | env_line '
            f"{naming.venue_credential_env(v)}"
            for v in venues
        ]
    lines = [
        "",
        f"# {service.name}: env file(s) and definitions from its SecureString parameters.",
        f"{var}=$(by_path '{path}')",
        f"ENV=$({'; '.join(env_lines)})",
        f'put 0600 {compose.env_file(service.name)} "$ENV"',
    ]
    if service.uses(Backing.REDIS):
        name, key = REDIS_ENV
        lines += [
            f'ENV=$(pick "${var}" {key} | env_line {name})',
            f'put 0600 {compose.redis_env_file(service.name)} "$ENV"',
        ]
    if service.uses(Backing.RABBITMQ):
        definitions = compose.rabbitmq_definitions_file(service.name)
        lines += [
            f"install -d -m 0755 {definitions.rsplit('/', 1)[0]}",
            f'DEFS=$(pick "${var}" {naming.RABBITMQ_DEFINITIONS})',
            # The broker runs as its own user in the container and must read the (hashed) file.
            f'put 0644 {definitions} "$DEFS"',
        ]
    return lines


def _bootstrap(target: DatabaseTarget) -> list[str]:
    host = "{{ " + target.document_parameter("DatabaseHost") + " }}"
    port = "{{ " + target.document_parameter("DatabasePort") + " }}"
    arn = "{{ " + target.document_parameter("MasterSecretArn") + " }}"
    lines = [
        "",
        f"# Bootstrap '{target.name}' as its master user; the secrets live in this subshell only.",
        f'SQL=$(pick "$HOST" {target.parameter} | base64 -d | gunzip)',
        f'put 0600 {target.sql_file} "$SQL"',
        "(",
        f"  MASTER=$(aws secretsmanager get-secret-value --secret-id '{arn}' \\",
        "    --query SecretString --output text)",
        "  PGUSER=$(printf '%s' \"$MASTER\" | secret_field username)",
        "  PGPASSWORD=$(printf '%s' \"$MASTER\" | secret_field password)",
        f"  PGHOST='{host}' PGPORT='{port}' PGSSLMODE=require PGCONNECT_TIMEOUT=10",
        "  export PGUSER PGPASSWORD PGHOST PGPORT PGSSLMODE PGCONNECT_TIMEOUT",
    ]
    for service, grant in zip(target.services, target.grants, strict=True):
        source = f'pick "${_shell_var(service.name)}" {naming.DATABASE_PASSWORD}'
        lines += [f"  {grant.password_env}=$({source})", f"  export {grant.password_env}"]
    lines += [f"  {' '.join(bootstrap_sql.psql_command(target.sql_file))}", ")"]
    return lines


def _param(description: str, pattern: str) -> dict[str, str]:
    return {"type": "String", "description": description, "allowedPattern": pattern}


def _shell_var(service: str) -> str:
    return "SVC_" + re.sub(r"[^A-Za-z0-9]", "_", service).upper()


def _quote(text: str) -> str:
    """`text` as one single-quoted shell word."""
    return "'" + text.replace("'", "'\\''") + "'"
