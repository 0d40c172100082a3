"""A domain service on ECS Fargate as container definitions: pure rendering, no Pulumi.

Three task definitions per service, each rendered here as the `containerDefinitions`
list of ECS's RegisterTaskDefinition API (its camelCase member names):

- `api`: the service's own container on its catalog port, the ALB's `ip` target;
- `redis`: its cache (no persistence), where the catalog gives it Redis;
- `rabbitmq`: its broker, data on an EFS access point, where the catalog gives it RabbitMQ.

They mirror what the app host's Compose document runs (`components.host.compose`):
the same probes, the same Redis arguments, the same RabbitMQ definitions, awslogs
to the service's log group. Credentials reach a container only through `secrets`,
each an SSM SecureString of the service's own path that ECS resolves at task start
(`valueFrom` by parameter name, which ECS accepts for a parameter in the task's own
region: ECS API reference, "Secret"); `environment` holds no credential.

A read-only root gets its writable `/tmp` as a tmpfs, as on the host: Fargate mounts
`linuxParameters.tmpfs` since January 2026 (AWS What's New, 2026-01-06, "Amazon ECS
supports tmpfs mounts on AWS Fargate"), where a bind-mounted task volume would be
owned by root and closed to an unprivileged user (aws/containers-roadmap#938).
`hostname` is not supported in `awsvpc` mode, so RabbitMQ's node name, which names
its data directory, is fixed by `RABBITMQ_NODENAME` instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from components.host import rabbitmq
from components.host.apply_document import REDIS_ENV, SERVICE_ENV
from components.host.compose import AMQP_PORT, REDIS_PORT, HttpProbe
from components.settings.fargate import fargate_size_problem, smallest_fargate_size
from seed import naming
from seed.catalog import Backing, DomainService

Task = Literal["api", "redis", "rabbitmq"]

# The platform's API images run unprivileged on an unprivileged port; this is their user.
API_USER: Final = "10001:10001"
# The official images' users: `redis` by name (as Compose runs it); RabbitMQ's by number,
# because the EFS access point must create its data directory as that same uid and gid
# (docker-library/rabbitmq: alpine variants `adduser -u 100 ... -G rabbitmq` with
# `addgroup -g 101`, Debian variants `useradd --uid 999` with `groupadd --gid 999`).
REDIS_USER: Final = "redis"
RABBITMQ_ALPINE_IDS: Final = (100, 101)
RABBITMQ_DEBIAN_IDS: Final = (999, 999)

# Docker's own defaults for `--tmpfs` (rw, noexec, nosuid, 64 MiB), which Compose gives /tmp.
TMP_TMPFS: Final = {"containerPath": "/tmp", "size": 64, "mountOptions": ["rw", "noexec", "nosuid"]}
RABBITMQ_DATA_VOLUME: Final = "rabbitmq-data"
RABBITMQ_DATA_DIR: Final = "/var/lib/rabbitmq"
# A fixed node name keeps the data directory (mnesia/<node>) the same on every new task.
RABBITMQ_NODENAME: Final = "rabbit@localhost"
RABBITMQ_CONFIG_FILE: Final = "/etc/rabbitmq/conf.d/20-definitions.conf"
RABBITMQ_DEFINITIONS_ENV: Final = "RABBITMQ_DEFINITIONS"
LOG_STREAM_PREFIX: Final = "ecs"
# Redis: `maxmemory` bounds the data set only, the allocator and buffers need headroom
# (the same 64 MiB the Compose document gives the container).
REDIS_HEADROOM_MB: Final = 64
RABBITMQ_MEMORY_MB: Final = 1024


@dataclass(frozen=True)
class TaskSize:
    """Task-level CPU units and memory (MiB): one of Fargate's combinations."""

    cpu: int
    memory_mb: int

    def __post_init__(self) -> None:
        problem = fargate_size_problem(self.cpu, self.memory_mb)
        if problem:
            raise ValueError(problem)

    @property
    def vcpu(self) -> float:
        return self.cpu / 1024

    @property
    def memory_gb(self) -> float:
        return self.memory_mb / 1024


@dataclass(frozen=True)
class FargateServiceSpec:
    """One domain service on Fargate: its API task and its own backing tasks.

    Args:
        service: the catalog entry (name, backing services, port, health check path).
        environment: picks the SSM path of its parameters.
        region: the region its containers log to.
        image: the service's pinned image.
        log_group: the service's CloudWatch log group (its backing tasks log there too).
        api_size: the API task's CPU and memory (`services.<name>.ecs`).
        health_check_path: what the container health check and the ALB probe.
        redis_image: the pinned Redis image.
        rabbitmq_image: the pinned RabbitMQ image.
        redis_max_memory_mb: Redis `maxmemory`.
        venues: venues whose sync credential the service reads (the sync service only).
        probe: the HTTP client inside the API image.
    """

    service: DomainService
    environment: str
    region: str
    image: str
    log_group: str
    api_size: TaskSize
    health_check_path: str
    redis_image: str
    rabbitmq_image: str
    redis_max_memory_mb: int = 64
    venues: tuple[str, ...] = ()
    probe: HttpProbe = "curl"

    @property
    def name(self) -> str:
        return self.service.name

    @property
    def tasks(self) -> tuple[Task, ...]:
        """The task definitions this service has, in the order they are created."""
        backing: list[Task] = []
        if self.service.uses(Backing.REDIS):
            backing.append("redis")
        if self.service.uses(Backing.RABBITMQ):
            backing.append("rabbitmq")
        return ("api", *backing)

    def parameter(self, key: str) -> str:
        return naming.ssm_service_parameter(self.environment, self.name, key)

    def secrets(self, task: Task) -> dict[str, str]:
        """Env variable -> the SSM parameter (name) ECS resolves into it, for `task`."""
        if task == "redis":
            env, key = REDIS_ENV
            return {env: self.parameter(key)}
        if task == "rabbitmq":
            return {RABBITMQ_DEFINITIONS_ENV: self.parameter(naming.RABBITMQ_DEFINITIONS)}
        found = {
            env: self.parameter(key)
            for backing, (env, key) in SERVICE_ENV.items()
            if self.service.uses(backing)
        }
        if self.name == naming.VENUE_SYNC_SERVICE:
            found.update(
                {
                    naming.venue_credential_env(v): naming.ssm_venue_credential(self.environment, v)
                    for v in self.venues
                }
            )
        return found

    def size(self, task: Task) -> TaskSize:
        if task == "api":
            return self.api_size
        if task == "redis":
            return TaskSize(*smallest_fargate_size(self.redis_max_memory_mb + REDIS_HEADROOM_MB))
        return TaskSize(*smallest_fargate_size(RABBITMQ_MEMORY_MB))

    def family(self, task: Task) -> str:
        """The task definition family: `ticketing-<env>-<service>-<task>`."""
        return f"{naming.PROJECT}-{self.environment}-{self.name}-{task}"

    @property
    def rabbitmq_ids(self) -> tuple[int, int]:
        """The uid and gid of the RabbitMQ image's `rabbitmq` user, by its variant."""
        tag = self.rabbitmq_image.rsplit("/", 1)[-1]
        return RABBITMQ_ALPINE_IDS if "alpine" in tag else RABBITMQ_DEBIAN_IDS


def container_name(service: DomainService, task: Task) -> str:
    """The API container is named after the service, its stores as the Compose containers."""
    if task == "redis":
        return naming.redis_container(service.name)
    if task == "rabbitmq":
        return naming.rabbitmq_container(service.name)
    return service.name


def task_port(service: DomainService, task: Task) -> int:
    if task == "redis":
        return REDIS_PORT
    if task == "rabbitmq":
        return AMQP_PORT
    return service.port


def render_containers(spec: FargateServiceSpec, task: Task) -> list[dict[str, Any]]:
    """The `containerDefinitions` of `task`: one essential container."""
    if task not in spec.tasks:
        raise ValueError(
            f"{spec.name} has no {task} task (catalog: {sorted(spec.service.backing)})"
        )
    if task == "redis":
        container = _redis(spec)
    elif task == "rabbitmq":
        container = _rabbitmq(spec)
    else:
        container = _api(spec)
    return [container]


def _api(spec: FargateServiceSpec) -> dict[str, Any]:
    service = spec.service
    return {
        "name": container_name(service, "api"),
        "image": spec.image,
        "essential": True,
        "user": API_USER,
        "portMappings": [{"containerPort": service.port, "protocol": "tcp"}],
        "secrets": _secrets(spec.secrets("api")),
        "environment": [],
        "healthCheck": _health_check(
            _http_probe(spec.probe, service.port, spec.health_check_path), start=30
        ),
        "logConfiguration": _awslogs(spec),
        "readonlyRootFilesystem": True,
        "linuxParameters": {**_linux(), "tmpfs": [dict(TMP_TMPFS)]},
        "stopTimeout": 30,
    }


def _redis(spec: FargateServiceSpec) -> dict[str, Any]:
    # As on the app host: a cache only, no RDB snapshots, no AOF, LRU eviction at the limit.
    server = (
        'exec redis-server --requirepass "$REDIS_PASSWORD"'
        " --save '' --appendonly no"
        f" --maxmemory {spec.redis_max_memory_mb}mb --maxmemory-policy allkeys-lru"
    )
    probe = 'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli ping | grep -q PONG'
    return {
        "name": container_name(spec.service, "redis"),
        "image": spec.redis_image,
        "essential": True,
        "user": REDIS_USER,
        "command": ["sh", "-c", server],
        "portMappings": [{"containerPort": REDIS_PORT, "protocol": "tcp"}],
        "secrets": _secrets(spec.secrets("redis")),
        "environment": [],
        "healthCheck": _health_check(["CMD-SHELL", probe], start=10),
        "logConfiguration": _awslogs(spec),
        "readonlyRootFilesystem": True,
        "linuxParameters": _linux(),
    }


def rabbitmq_boot_script() -> str:
    """Write the definitions (from the secret) and the boot config, then start the broker."""
    config = " ".join(_quote(line) for line in rabbitmq.BOOT_CONFIG.splitlines())
    return "; ".join(
        [
            "set -e",
            "umask 077",
            f'printf %s "${RABBITMQ_DEFINITIONS_ENV}" > {rabbitmq.DEFINITIONS_PATH}',
            f"printf '%s\\n' {config} > {RABBITMQ_CONFIG_FILE}",
            f"unset {RABBITMQ_DEFINITIONS_ENV}",
            "exec rabbitmq-server",
        ]
    )


def _rabbitmq(spec: FargateServiceSpec) -> dict[str, Any]:
    uid, gid = spec.rabbitmq_ids
    return {
        "name": container_name(spec.service, "rabbitmq"),
        "image": spec.rabbitmq_image,
        "essential": True,
        "user": f"{uid}:{gid}",
        "command": ["sh", "-c", rabbitmq_boot_script()],
        "portMappings": [{"containerPort": AMQP_PORT, "protocol": "tcp"}],
        "secrets": _secrets(spec.secrets("rabbitmq")),
        "environment": [
            {"name": "RABBITMQ_NODENAME", "value": RABBITMQ_NODENAME},
            {"name": "RABBITMQ_USE_LONGNAME", "value": "false"},
        ],
        "healthCheck": _health_check(
            ["CMD", "rabbitmq-diagnostics", "-q", "ping"], start=60, timeout=10
        ),
        "logConfiguration": _awslogs(spec),
        "readonlyRootFilesystem": False,
        "dockerLabels": {
            naming.WRITABLE_ROOT_LABEL: "the broker writes its definitions and boot config "
            "under /etc/rabbitmq at start"
        },
        "mountPoints": [
            {
                "sourceVolume": RABBITMQ_DATA_VOLUME,
                "containerPath": RABBITMQ_DATA_DIR,
                "readOnly": False,
            }
        ],
        "linuxParameters": _linux(),
        "stopTimeout": 60,
    }


# --- shared pieces ---------------------------------------------------------------------


def _secrets(secrets: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"name": env, "valueFrom": parameter} for env, parameter in secrets.items()]


def _http_probe(tool: HttpProbe, port: int, path: str) -> list[str]:
    url = f"http://127.0.0.1:{port}{path}"
    if tool == "wget":
        return ["CMD", "wget", "-q", "-O", "/dev/null", url]
    return ["CMD", "curl", "-fsS", "-o", "/dev/null", url]


def _health_check(command: list[str], start: int, timeout: int = 5) -> dict[str, Any]:
    # The Compose document's timings, in the seconds ECS takes.
    return {
        "command": command,
        "interval": 15,
        "timeout": timeout,
        "retries": 5,
        "startPeriod": start,
    }


def _awslogs(spec: FargateServiceSpec) -> dict[str, Any]:
    return {
        "logDriver": "awslogs",
        "options": {
            "awslogs-region": spec.region,
            "awslogs-group": spec.log_group,
            "awslogs-stream-prefix": LOG_STREAM_PREFIX,
            # Never block a container on CloudWatch: buffer, and drop when the buffer is full.
            "mode": "non-blocking",
            "max-buffer-size": "4m",
        },
    }


def _linux() -> dict[str, Any]:
    # An init process reaps zombies and forwards SIGTERM; no Linux capability is kept.
    return {"capabilities": {"drop": ["ALL"]}, "initProcessEnabled": True}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"
