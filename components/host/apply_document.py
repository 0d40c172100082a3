"""The SSM Command document that applies an app host's desired state. No Pulumi.

An SSM association runs it on the host after every change (and on its
schedule). It first installs whatever the host lacks of Docker, Compose, psql
and the AWS CLI (`components.host.packages`): a failed install fails the run,
and the next scheduled run tries again. It keeps the CloudWatch agent installed and
configured (`components.host.cloudwatch_agent`: installed once, restarted only when
its configuration changes), so every deploy converges running hosts. Then it
reads the host's parameters (the compose document, the bootstrap SQL per database
instance) and each service's SecureString parameters by path, writes the env files (0600;
ticketing's also carries each venue's sync credential) and RabbitMQ
definitions, runs the bootstrap SQL with psql as the RDS master user (secret
from Secrets Manager), then brings the compose project up and waits for every
container's health. A document that comes up healthy is kept beside the live one
(`compose.LAST_GOOD_COMPOSE_FILE`); when a run fails after writing a new document
(a container that never gets healthy, a bootstrap that fails), the kept one goes
back in place and up again, and the run still fails, so the association's run is
Failed and the `pulumi up` waiting on it fails. Only the compose document rolls
back: the env files and RabbitMQ definitions carry the credentials that the
database and the brokers already hold by then. Where the stack runs two replicas of
each service and web client (`appHost.replicas`), a changed one is replaced a replica at a
time before the converge (`RollingOwner`, `scripts/apply_rolling.sh`): the replica leaves
its target group (`aws elbv2 deregister-targets`, then `wait target-deregistered`, so
requests in flight finish), is recreated alone and waited healthy, and is registered again
and waited in service before the other one goes; a failed run registers the replica it
took out again. With one replica the converge replaces a changed container in place, and
its target group answers 502 until the new one passes its checks. After a healthy run,
images that no container uses are pruned (`docker image prune --all`): at that moment every
image the kept document names is in use, so a later rollback finds its images
on the host.

Database TLS is verified, not only required: psql and the services connect
with `sslmode=verify-full` against the RDS CA bundle, which the script fetches
from AWS's published address (`RDS_CA_BUNDLE_URL`, the document parameter
`RdsCaBundleUrl`) when the host has none, over HTTPS with the server checked
against the host's system trust store, and keeps only if it parses as CA
certificates; it is written once (0644) and reused, so later applies never
depend on that address. Not shipped with the program: at about 160 KB it fits
neither an SSM parameter (8 KB) nor user data (16 KB). Not pinned to a SHA-256:
AWS adds certificates to that file (new regions, new CAs), and a pin would fail
fresh hosts the day it changes while adding nothing that the HTTPS check does
not already give. The document itself
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

from components.host import (
    bootstrap_sql,
    cloudwatch_agent,
    compose,
    database_move,
    memory,
    rabbitmq,
    shell,
)
from components.host import packages as host_packages
from components.host.bootstrap_sql import DatabaseGrant
from seed import naming
from seed.catalog import Backing, DomainService

# Where AWS publishes the CA bundle of every commercial region's RDS certificates
# (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL.html).
RDS_CA_BUNDLE_URL = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"

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
_HOST = r"^[a-z0-9.-]+$"
_PORT = r"^[0-9]{2,5}$"
_SECRET_ARN = r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@!-]+$"
_VENUE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
# An instance id, and a target group's ARN (ELBv2 API reference: TargetGroupArn; the name
# is 1 to 32 letters, digits and hyphens, the id 16 hexadecimal digits).
_INSTANCE_ID = r"^i-[0-9a-f]{8,17}$"
_TARGET_GROUP_ARN = (
    r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:[0-9]{12}:targetgroup/"
    r"[A-Za-z0-9-]{1,32}/[0-9a-f]{16}$"
)


@dataclass(frozen=True)
class RollingOwner:
    """A service or web client whose two replicas share a target group, so a deploy
    replaces them one at a time (`scripts/apply_rolling.sh`).

    Args:
        owner: the service or web client (`compose.ServiceSpec.name`).
        replicas: (container name, host port) of each replica, as the compose document
            runs them (`compose.ServiceSpec.replicas`).
    """

    owner: str
    replicas: tuple[tuple[str, int], ...]

    def __post_init__(self) -> None:
        if not _TARGET.match(self.owner):
            raise ValueError(f"rolling owner {self.owner!r}: lowercase letters, digits, hyphens")
        if len(self.replicas) != 2:
            raise ValueError(f"{self.owner}: rolls two replicas, got {len(self.replicas)}")
        for name, port in self.replicas:
            if not _TARGET.match(name) or not 1024 <= port <= 65535:
                raise ValueError(f"{self.owner}: replica {name!r} on port {port}")

    @property
    def parameter(self) -> str:
        """Its target group's document parameter: `ClientWebTargetGroupArn`."""
        return "".join(part.capitalize() for part in self.owner.split("-")) + "TargetGroupArn"


@dataclass(frozen=True)
class DatabaseTarget:
    """One PostgreSQL instance whose roles and databases this host bootstraps.

    Args:
        name: `shared` for the shared RDS instance, or the service name of a dedicated one.
        services: the services whose database this host bootstraps there (each gets a
            `DatabaseGrant`).
        residents: every service whose database lives there, whichever host bootstraps
            it (default: `services`); the bootstrap retires only roles outside them.
    """

    name: str
    services: tuple[DomainService, ...]
    residents: tuple[DomainService, ...] = ()

    def __post_init__(self) -> None:
        if not _TARGET.match(self.name):
            raise ValueError(f"database target {self.name!r}: lowercase letters, digits, hyphens")
        if not self.services:
            raise ValueError(f"database target {self.name!r} has no services")
        if self.residents and not set(self.services) <= set(self.residents):
            raise ValueError(f"database target {self.name!r}: its services must be residents")

    @property
    def grants(self) -> tuple[DatabaseGrant, ...]:
        return tuple(DatabaseGrant.for_service(s) for s in self.services)

    @property
    def resident_roles(self) -> tuple[str, ...]:
        return tuple(s.role for s in (self.residents or self.services))

    @property
    def bootstrap_sql(self) -> str:
        """The bootstrap SQL this host runs on the instance."""
        return bootstrap_sql.render_bootstrap_sql(self.grants, resident_roles=self.resident_roles)

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
        bootstrap_only: services that run elsewhere (ECS) whose databases this host
            bootstraps all the same; of their parameters it reads the database password only.
        moves: services of the host whose database it copies from the shared instance to
            their own (the target of their name) before anything else, where not done yet
            (`placement.moves`).
        registry: it logs in to a private registry (`appHost.registry`) before pulling:
            the document then takes its server, user and password parameter.
        rolling: the services and web clients it runs two replicas of; the document then
            takes the instance's id and each one's target group ARN.
    """

    services: tuple[DomainService, ...]
    databases: tuple[DatabaseTarget, ...]
    venues: tuple[str, ...] = ()
    bootstrap_only: tuple[DomainService, ...] = ()
    moves: tuple[DomainService, ...] = ()
    registry: bool = False
    rolling: tuple[RollingOwner, ...] = ()

    def __post_init__(self) -> None:
        names = [s.name for s in self.services]
        if len(set(names + [s.name for s in self.bootstrap_only])) != len(names) + len(
            self.bootstrap_only
        ):
            raise ValueError("a service is listed twice")
        # A moving service's database is on two targets: the one it uses, and its own.
        placed = sorted({s.name for t in self.databases for s in t.services})
        wanted = sorted(
            s.name for s in (*self.services, *self.bootstrap_only) if s.uses(Backing.POSTGRESQL)
        )
        if placed != wanted:
            raise ValueError(f"database targets must hold exactly {wanted}, got {placed}")
        targets = [t.name for t in self.databases]
        if len(set(targets)) != len(targets):
            raise ValueError("a database target is listed twice")
        for service in self.moves:
            if service not in self.services or service.name not in targets:
                raise ValueError(f"{service.name} moves to a target of its own on this host")
        if self.venues and naming.VENUE_SYNC_SERVICE not in names:
            raise ValueError(f"venue credentials need {naming.VENUE_SYNC_SERVICE} on the host")
        if len(set(self.venues)) != len(self.venues):
            raise ValueError("a venue is listed twice")
        for venue in self.venues:
            if not _VENUE.match(venue):
                raise ValueError(f"venue {venue!r}: lowercase letters, digits, hyphens")
        owners = [r.owner for r in self.rolling]
        if len(set(owners)) != len(owners):
            raise ValueError("a rolling owner is listed twice")


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
        "RdsCaBundleUrl": {
            **_param(
                "HTTPS address of the RDS CA bundle, fetched when the host has none.",
                r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?/[A-Za-z0-9._/-]+$",
            ),
            "default": RDS_CA_BUNDLE_URL,
        },
    }
    for target in spec.databases:
        params[target.document_parameter("DatabaseHost")] = _param(
            f"Address of the PostgreSQL instance '{target.name}'.", _HOST
        )
        params[target.document_parameter("DatabasePort")] = {
            **_param(f"Port of the PostgreSQL instance '{target.name}'.", _PORT),
            "default": "5432",
        }
        params[target.document_parameter("MasterSecretArn")] = _param(
            f"ARN of the master user secret of '{target.name}' (RDS-managed).", _SECRET_ARN
        )
    if spec.registry:
        params.update(REGISTRY_PARAMETERS)
    if spec.rolling:
        params["InstanceId"] = _param(
            "This instance's id: its targets in its target groups.", _INSTANCE_ID
        )
    for rolling in spec.rolling:
        params[rolling.parameter] = _param(
            f"ARN of the target group of {rolling.owner}'s replicas.", _TARGET_GROUP_ARN
        )
    for service in spec.moves:
        params[move_parameter(service, "Host")] = _param(
            f"Address of the shared instance {service.name}'s database moves from.", _HOST
        )
        params[move_parameter(service, "Port")] = {
            **_param(f"Port of the shared instance {service.name}'s database moves from.", _PORT),
            "default": "5432",
        }
        params[move_parameter(service, "MasterSecretArn")] = _param(
            f"ARN of the master user secret of the shared instance {service.name} moves from.",
            _SECRET_ARN,
        )
    return params


# The private registry's document parameters (`ApplySpec.registry`); the patterns admit
# what `components.settings` admits for `appHost.registry`.
REGISTRY_PARAMETERS: dict[str, dict[str, str]] = {
    "RegistryServer": {
        "type": "String",
        "description": "The private registry (host[:port]) the host logs in to.",
        "allowedPattern": r"^[a-z0-9.-]+(:[0-9]{1,5})?$",
    },
    "RegistryUsername": {
        "type": "String",
        "description": "The user it logs in as.",
        "allowedPattern": r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$",
    },
    "RegistryPasswordParameter": {
        "type": "String",
        "description": "The SSM SecureString holding the registry password or token.",
        "allowedPattern": r"^/[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$",
    },
}


def move_parameter(service: DomainService, suffix: str) -> str:
    """The document parameter of `service`'s move: `PaymentsMoveSourceHost`."""
    return DatabaseTarget(service.name, (service,)).document_parameter("MoveSource" + suffix)


def render_apply_document(spec: ApplySpec) -> dict[str, Any]:
    """The SSM Command document (schema 2.2, one `aws:runShellScript` step) for `spec`."""
    return {
        "schemaVersion": "2.2",
        "description": "Apply the ticketing app host: missing tools, the CloudWatch agent, "
        "env files, RabbitMQ definitions, database bootstrap, docker compose up.",
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
    """The shell script's lines (`scripts/apply_host.sh`); `{{ Name }}` are the document's
    parameters."""
    rabbits = [s for s in spec.services if s.uses(Backing.RABBITMQ)]
    return shell.render_lines(
        "apply_host.sh",
        INSTALL_MISSING=host_packages.install_missing(),
        HOST_ROOT=compose.HOST_ROOT,
        RABBITMQ_DIR=compose.RABBITMQ_DIR,
        ENV_DIR=compose.ENV_DIR,
        HOST_PATH=naming.ssm_host_path("{{ Environment }}", "{{ HostName }}"),
        COMPOSE_PARAMETER=COMPOSE_PARAMETER,
        RDS_CA_FILE=compose.RDS_CA_FILE,
        COMPOSE_FILE=compose.COMPOSE_FILE,
        CLOUDWATCH_AGENT=cloudwatch_agent.apply_lines(),
        REGISTRY_LOGIN=shell.render_lines("apply_registry_login.sh") if spec.registry else [],
        MOVES=[line for s in spec.moves for line in _move(s)],
        LAST_GOOD_FILE=compose.LAST_GOOD_COMPOSE_FILE,
        SERVICES=[line for s in spec.services for line in _service_files(s, spec.venues)]
        + [line for s in spec.bootstrap_only for line in _database_password_only(s)],
        DATABASES=[line for target in spec.databases for line in _bootstrap(target)],
        RABBITMQ_RELOADS=_rabbitmq_reloads(rabbits) if rabbits else [],
        ROLLING=_rolling(spec.rolling) if spec.rolling else [],
    )


def _rolling(owners: tuple[RollingOwner, ...]) -> list[str]:
    rolls = [
        line
        for owner in owners
        for line in shell.render_lines(
            "apply_rolling_owner.sh",
            TARGET_GROUP=_parameter(owner.parameter),
            REPLICAS=" ".join(f"{name}:{port}" for name, port in owner.replicas),
        )
    ]
    return shell.render_lines(
        "apply_rolling.sh",
        COMPOSE_FILE=compose.COMPOSE_FILE,
        INSTANCE_ID=_parameter("InstanceId"),
        OWNERS=rolls,
    )


def _rabbitmq_reloads(rabbits: list[DomainService]) -> list[str]:
    reloads = [
        line
        for service in rabbits
        for line in shell.render_lines(
            "apply_rabbitmq_reload.sh",
            COMPOSE_FILE=compose.COMPOSE_FILE,
            CONTAINER=naming.rabbitmq_container(service.name),
            DEFINITIONS_PATH=rabbitmq.HOST_DEFINITIONS_PATH,
        )
    ]
    return shell.render_lines("apply_rabbitmq_reloads.sh", RELOADS=reloads)


def _service_files(service: DomainService, venues: tuple[str, ...]) -> list[str]:
    var = _shell_var(service.name)
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
    redis: list[str] = []
    if service.uses(Backing.REDIS):
        name, key = REDIS_ENV
        redis = shell.render_lines(
            "apply_service_redis.sh",
            VAR=var,
            KEY=key,
            NAME=name,
            ENV_FILE=compose.redis_env_file(service.name),
        )
    definitions: list[str] = []
    if service.uses(Backing.RABBITMQ):
        config = rabbitmq.boot_config(rabbitmq.HOST_DEFINITIONS_PATH, memory.RABBITMQ_MEMORY_MB)
        definitions = shell.render_lines(
            "apply_service_rabbitmq.sh",
            DIR=compose.rabbitmq_dir(service.name),
            VAR=var,
            KEY=naming.RABBITMQ_DEFINITIONS,
            DEFINITIONS_FILE=compose.rabbitmq_definitions_file(service.name),
            CONFIG_FILE=compose.rabbitmq_config_file(service.name),
            CONFIG=_quote(config.rstrip()),
        )
    return shell.render_lines(
        "apply_service.sh",
        SERVICE=service.name,
        VAR=var,
        PATH=naming.ssm_service_path("{{ Environment }}", service.name),
        ENV_LINES="; ".join(env_lines),
        ENV_FILE=compose.env_file(service.name),
        REDIS=redis,
        RABBITMQ=definitions,
    )


def _database_password_only(service: DomainService) -> list[str]:
    return shell.render_lines(
        "apply_service_database_password.sh",
        SERVICE=service.name,
        VAR=_shell_var(service.name),
        PATH=naming.ssm_service_path("{{ Environment }}", service.name),
        KEY=naming.DATABASE_PASSWORD,
    )


def _bootstrap(target: DatabaseTarget) -> list[str]:
    passwords: list[str] = []
    for service, grant in zip(target.services, target.grants, strict=True):
        source = f'pick "${_shell_var(service.name)}" {naming.DATABASE_PASSWORD}'
        passwords += [f"{grant.password_env}=$({source})", f"export {grant.password_env}"]
    return shell.render_lines(
        "apply_database.sh",
        TARGET=target.name,
        PARAMETER=target.parameter,
        SQL_FILE=target.sql_file,
        MASTER_SECRET_ARN=_parameter(target.document_parameter("MasterSecretArn")),
        DATABASE_HOST=_parameter(target.document_parameter("DatabaseHost")),
        DATABASE_PORT=_parameter(target.document_parameter("DatabasePort")),
        ROLE_PASSWORDS=passwords,
        PSQL=" ".join(bootstrap_sql.psql_command(target.sql_file)),
        RDS_CA_FILE=compose.RDS_CA_FILE,
    )


def _move(service: DomainService) -> list[str]:
    """The copy of `service`'s database to its own instance, its writers stopped meanwhile
    so no write is lost: whichever of its two possible replicas the running document has,
    which may be more or fewer than the new one runs (an apply that moves a service can
    also change `appHost.replicas`)."""
    replicas = (service.name, naming.second_replica(service.name))
    target = DatabaseTarget(service.name, (service,))
    return shell.render_lines(
        "apply_service_database_move.sh",
        SERVICE=service.name,
        CONTAINERS=" ".join(f"'{name}'" for name in replicas),
        DATABASE=service.database,
        ROLE=service.role,
        TARGET=target.name,
        COMPOSE_FILE=compose.COMPOSE_FILE,
        SOURCE_HOST=_parameter(move_parameter(service, "Host")),
        SOURCE_PORT=_parameter(move_parameter(service, "Port")),
        SOURCE_SECRET_ARN=_parameter(move_parameter(service, "MasterSecretArn")),
        TARGET_HOST=_parameter(target.document_parameter("DatabaseHost")),
        TARGET_PORT=_parameter(target.document_parameter("DatabasePort")),
        TARGET_SECRET_ARN=_parameter(target.document_parameter("MasterSecretArn")),
        HELD_SQL=_quote(database_move.held(service.database)),
        STATE_SQL=_quote(database_move.state(service.database)),
        RELATIONS_SQL=_quote(database_move.relations()),
        FINGERPRINT=_quote(database_move.fingerprint()),
        MARK_SQL=_quote(database_move.mark(service.database)),
        RDS_CA_FILE=compose.RDS_CA_FILE,
    )


def _parameter(name: str) -> str:
    """A reference to the document's parameter `name`, which SSM fills in on the host."""
    return "{{ " + name + " }}"


def _param(description: str, pattern: str) -> dict[str, str]:
    return {"type": "String", "description": description, "allowedPattern": pattern}


def _shell_var(service: str) -> str:
    return "SVC_" + re.sub(r"[^A-Za-z0-9]", "_", service).upper()


def _quote(text: str) -> str:
    """`text` as one single-quoted shell word."""
    return "'" + text.replace("'", "'\\''") + "'"
