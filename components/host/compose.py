"""The app host's Docker Compose document: pure rendering from typed data, no Pulumi.

Each domain service runs its own container plus exactly the backing containers
the catalog lists for it (Redis and/or RabbitMQ; PostgreSQL is RDS). Those
backing containers sit on a Compose network shared with that one service and
nothing else (`internal`, no host ports), so payments cannot reach ticketing's
Redis. Service containers and the static web clients also join the ingress
network and publish one host port each, which the ALB's target groups target; that
network carries no traffic between its containers (`INGRESS`). Where the stack runs two
replicas (`appHost.replicas`), each service and web client has a second container
(`naming.second_replica`) on its second declared host port, in the same target group,
sharing the first's env file and backing containers; the apply script replaces the two
one at a time (`apply_rolling.sh`).

No secret is in this document: each container reads an env file that the host
apply document writes from SSM SecureString parameters (see `HOST_ROOT`).
Compose interpolates `$` itself, so every `$` meant for a container's shell is
written `$$`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import yaml

from components.host import memory, rabbitmq
from seed import naming
from seed.catalog import Backing, ClientApp, DomainService

# Where the apply document puts things on the host, and where Compose reads them.
HOST_ROOT = "/opt/ticketing"
COMPOSE_FILE = f"{HOST_ROOT}/compose.yaml"
# The last compose document that came up healthy: what a failed apply rolls back to.
LAST_GOOD_COMPOSE_FILE = f"{HOST_ROOT}/compose.last-good.yaml"
ENV_DIR = f"{HOST_ROOT}/env"
# The RDS CA bundle on the host (the apply script fetches it), and where a service that uses
# PostgreSQL sees it, read-only: its DATABASE_URL verifies the server against it.
RDS_CA_FILE = f"{HOST_ROOT}/rds-ca-bundle.pem"
RDS_CA_TARGET = "/etc/ticketing/rds-ca-bundle.pem"
RABBITMQ_DIR = f"{HOST_ROOT}/rabbitmq"
# Where a node's boot config sits in the container (beside the image's own conf.d files).
RABBITMQ_CONF_TARGET = "/etc/rabbitmq/conf.d/20-ticketing.conf"

REDIS_PORT = 6379
# The user a `requirepass` password belongs to (Redis 6 and later: ACL user `default`).
REDIS_USER = "default"
AMQP_PORT = 5672
RESTART = "unless-stopped"
SECURITY_OPT = ("no-new-privileges:true",)

HttpProbe = Literal["curl", "wget"]

# Containers on ingress publish a port each for the ALB and never talk to each other
# across it (that would bypass the ALB and the edge): Docker's bridge driver drops
# traffic between its containers when enable_icc is false.
INGRESS: dict[str, Any] = {
    "driver": "bridge",
    "driver_opts": {"com.docker.network.bridge.enable_icc": "false"},
}


def env_file(service: str) -> str:
    """The service container's env file (DATABASE_URL, REDIS_URL, AMQP_URL as it uses them)."""
    return f"{ENV_DIR}/{service}.env"


def redis_env_file(service: str) -> str:
    """The service's Redis container's env file: REDIS_PASSWORD and nothing else."""
    return f"{ENV_DIR}/{naming.redis_container(service)}.env"


def rabbitmq_dir(service: str) -> str:
    """The service's RabbitMQ directory on the host, mounted read-only into its node."""
    return f"{RABBITMQ_DIR}/{service}"


def rabbitmq_definitions_file(service: str) -> str:
    """The service's RabbitMQ definitions (its user, password hash and vhost) on the host."""
    return f"{rabbitmq_dir(service)}/definitions.json"


def rabbitmq_config_file(service: str) -> str:
    """The service's RabbitMQ boot config on the host (`rabbitmq.boot_config`)."""
    return f"{rabbitmq_dir(service)}/rabbitmq.conf"


def rabbitmq_volume(service: str) -> str:
    """The named volume that keeps the service's RabbitMQ data across container replacement."""
    return f"{naming.rabbitmq_container(service)}-data"


@dataclass(frozen=True)
class ServiceSpec:
    """One domain service on the host: its container and its own backing containers.

    Args:
        service: the catalog entry (name, backing services, port, health check path).
        image: the service's pinned image (tag or digest, never `latest`).
        host_port: the host port its ALB target group targets; maps to `service.port`.
        replica_host_port: its second replica's host port (same target group), or None
            for one replica.
        log_group: the CloudWatch log group of the service (its backing containers log there too).
        memory_mb: the service container's memory limit.
        redis_max_memory_mb: Redis `maxmemory`; the container gets headroom above it.
        rabbitmq_memory_mb: the RabbitMQ container's memory limit.
        probe: the HTTP client inside the image that the Compose health check runs.
        health_check_path: overrides the catalog's `health_check_path` (config
            `services.<name>.healthCheckPath`), so Compose and the ALB probe the same path.
    """

    service: DomainService
    image: str
    host_port: int
    log_group: str
    replica_host_port: int | None = None
    memory_mb: int = 512
    redis_max_memory_mb: int = 64
    rabbitmq_memory_mb: int = memory.RABBITMQ_MEMORY_MB
    probe: HttpProbe = "curl"
    health_check_path: str | None = None

    def __post_init__(self) -> None:
        _require_pinned(self.image, self.service.name)
        for port in self.host_ports:
            _require_port(port, self.service.name)
        if self.health_check_path is not None and not self.health_check_path.startswith("/"):
            raise ValueError(f"{self.service.name}: health check path must start with /")

    @property
    def name(self) -> str:
        return self.service.name

    @property
    def probe_path(self) -> str:
        return self.health_check_path or self.service.health_check_path

    @property
    def host_ports(self) -> tuple[int, ...]:
        return _ports(self.host_port, self.replica_host_port)

    @property
    def replicas(self) -> tuple[tuple[str, int], ...]:
        """(container name, host port) of each replica, the first under the service's name."""
        return _replicas(self.name, self.host_ports)


@dataclass(frozen=True)
class WebClientSpec:
    """A static web client (client-web, admin-portal) served by its own pinned container.

    Args:
        client: the catalog entry.
        image: a pinned nginx-like image serving the static site on `container_port`.
        host_port: the host port its ALB target group targets.
        log_group: the CloudWatch log group it logs to.
        replica_host_port: its second replica's host port (same target group), or None
            for one replica.
        container_port: where the image listens (unprivileged nginx images use 8080).
        health_check_path: what the Compose health check requests.
        memory_mb: the container's memory limit.
        probe: the HTTP client inside the image that the Compose health check runs.
    """

    client: ClientApp
    image: str
    host_port: int
    log_group: str
    replica_host_port: int | None = None
    container_port: int = 8080
    health_check_path: str = "/"
    memory_mb: int = memory.WEB_CLIENT_MEMORY_MB
    probe: HttpProbe = "curl"

    def __post_init__(self) -> None:
        if not self.client.static_site:
            raise ValueError(f"{self.client.name} is not a static web client")
        _require_pinned(self.image, self.client.name)
        for port in self.host_ports:
            _require_port(port, self.client.name)

    @property
    def name(self) -> str:
        return self.client.name

    @property
    def host_ports(self) -> tuple[int, ...]:
        return _ports(self.host_port, self.replica_host_port)

    @property
    def replicas(self) -> tuple[tuple[str, int], ...]:
        """(container name, host port) of each replica, the first under the client's name."""
        return _replicas(self.name, self.host_ports)


@dataclass(frozen=True)
class HostSpec:
    """Everything one app host runs.

    Args:
        name: the host's name (prefix of its CloudWatch log streams).
        region: the AWS region its containers log to.
        services: the domain services placed on this host.
        web_clients: the static web clients placed on this host.
        redis_image: the pinned Redis image every service's Redis runs.
        rabbitmq_image: the pinned RabbitMQ (3.13) image every service's RabbitMQ runs.
        bind_address: the host address published ports bind to. The instance's
            security group admits only the ALB, so all addresses is acceptable.
    """

    name: str
    region: str
    services: tuple[ServiceSpec, ...]
    web_clients: tuple[WebClientSpec, ...]
    redis_image: str
    rabbitmq_image: str
    bind_address: str = "0.0.0.0"

    def __post_init__(self) -> None:
        _require_pinned(self.redis_image, "redis")
        _require_pinned(self.rabbitmq_image, "rabbitmq")
        ipaddress.ip_address(self.bind_address)
        names = [s.name for s in self.services] + [w.name for w in self.web_clients]
        if len(set(names)) != len(names):
            raise ValueError(f"host {self.name}: a service or web client is listed twice")
        ports = [p for o in (*self.services, *self.web_clients) for p in o.host_ports]
        if len(set(ports)) != len(ports):
            raise ValueError(f"host {self.name}: host ports must be distinct, got {ports}")


def render_compose(host: HostSpec) -> dict[str, Any]:
    """The Compose document (as data) that runs `host`'s services and web clients."""
    services: dict[str, Any] = {}
    networks: dict[str, Any] = {naming.INGRESS_NETWORK: INGRESS}
    volumes: dict[str, Any] = {}
    for spec in host.services:
        service = spec.service
        backing: dict[str, Any] = {}
        if service.uses(Backing.REDIS):
            backing[naming.redis_container(service.name)] = _redis(host, spec)
        if service.uses(Backing.RABBITMQ):
            backing[naming.rabbitmq_container(service.name)] = _rabbitmq(host, spec)
            volume = rabbitmq_volume(service.name)
            volumes[volume] = {"name": volume}
        if backing:
            networks[naming.backing_network(service.name)] = {"driver": "bridge", "internal": True}
        for name, port in spec.replicas:
            services[name] = _service(host, spec, name, port, depends_on=sorted(backing))
        services.update(backing)
    for client in host.web_clients:
        for name, port in client.replicas:
            services[name] = _web_client(host, client, name, port)
    document: dict[str, Any] = {
        "name": naming.PROJECT,
        "services": services,
        "networks": networks,
    }
    if volumes:
        document["volumes"] = volumes
    return document


class _Dumper(yaml.SafeDumper):
    """Writes every value in place: no `&id001` anchors for values that happen to repeat."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def to_yaml(document: Mapping[str, Any]) -> str:
    """`document` as YAML: key order as rendered, no anchors, no line folding."""
    return yaml.dump(
        dict(document),
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        width=1_000_000,
        allow_unicode=True,
    )


# --- containers ------------------------------------------------------------------


def _service(
    host: HostSpec, spec: ServiceSpec, name: str, host_port: int, depends_on: list[str]
) -> dict[str, Any]:
    service = spec.service
    networks = [naming.INGRESS_NETWORK]
    if depends_on:
        networks.insert(0, naming.backing_network(service.name))
    container: dict[str, Any] = {
        "container_name": name,
        "image": spec.image,
        "restart": RESTART,
        "env_file": [env_file(service.name)],
        "networks": networks,
        "ports": [_published(host, host_port, service.port)],
        "healthcheck": _healthcheck(
            _http_probe(spec.probe, service.port, spec.probe_path), start="30s"
        ),
        "logging": _awslogs(host, spec.log_group, name),
        "mem_limit": f"{spec.memory_mb}m",
        "read_only": True,
        "tmpfs": ["/tmp"],
        "cap_drop": ["ALL"],
        "security_opt": list(SECURITY_OPT),
    }
    if service.uses(Backing.POSTGRESQL):
        container["volumes"] = [
            {"type": "bind", "source": RDS_CA_FILE, "target": RDS_CA_TARGET, "read_only": True}
        ]
    if depends_on:
        container["depends_on"] = {
            name: {"condition": "service_healthy", "restart": True} for name in depends_on
        }
    return container


def _redis(host: HostSpec, spec: ServiceSpec) -> dict[str, Any]:
    name = naming.redis_container(spec.name)
    # A cache only: no RDB snapshots, no AOF; evict least-recently-used keys at the limit.
    server = (
        'exec redis-server --requirepass "$$REDIS_PASSWORD"'
        " --save '' --appendonly no"
        f" --maxmemory {spec.redis_max_memory_mb}mb --maxmemory-policy allkeys-lru"
    )
    # REDISCLI_AUTH keeps the password out of the probe's argument list.
    probe = 'REDISCLI_AUTH="$$REDIS_PASSWORD" redis-cli ping | grep -q PONG'
    return {
        "container_name": name,
        "image": host.redis_image,
        "restart": RESTART,
        # The image drops to this user only when started as `redis-server`; we start `sh`.
        "user": "redis",
        "command": ["sh", "-c", server],
        "env_file": [redis_env_file(spec.name)],
        "networks": [naming.backing_network(spec.name)],
        "healthcheck": _healthcheck(["CMD-SHELL", probe], start="10s"),
        "logging": _awslogs(host, spec.log_group, name),
        "mem_limit": f"{memory.redis_limit_mb(spec.redis_max_memory_mb)}m",
        "read_only": True,
        "cap_drop": ["ALL"],
        "security_opt": list(SECURITY_OPT),
    }


def _rabbitmq(host: HostSpec, spec: ServiceSpec) -> dict[str, Any]:
    name = naming.rabbitmq_container(spec.name)
    return {
        "container_name": name,
        # RabbitMQ keeps its data under its node name (rabbit@<hostname>): it must be stable.
        "hostname": name,
        "image": host.rabbitmq_image,
        "restart": RESTART,
        "networks": [naming.backing_network(spec.name)],
        "volumes": [
            {"type": "volume", "source": rabbitmq_volume(spec.name), "target": "/var/lib/rabbitmq"},
            # The directory, not the file: a new definitions file (a rotated password)
            # replaces the old one by rename, which only a directory mount shows.
            {
                "type": "bind",
                "source": rabbitmq_dir(spec.name),
                "target": rabbitmq.HOST_DEFINITIONS_DIR,
                "read_only": True,
            },
            {
                "type": "bind",
                "source": rabbitmq_config_file(spec.name),
                "target": RABBITMQ_CONF_TARGET,
                "read_only": True,
            },
        ],
        "healthcheck": _healthcheck(
            ["CMD", "rabbitmq-diagnostics", "-q", "ping"], start="60s", timeout="10s"
        ),
        "logging": _awslogs(host, spec.log_group, name),
        "mem_limit": f"{spec.rabbitmq_memory_mb}m",
        "security_opt": list(SECURITY_OPT),
    }


def _web_client(host: HostSpec, client: WebClientSpec, name: str, host_port: int) -> dict[str, Any]:
    return {
        "container_name": name,
        "image": client.image,
        "restart": RESTART,
        "networks": [naming.INGRESS_NETWORK],
        "ports": [_published(host, host_port, client.container_port)],
        "healthcheck": _healthcheck(
            _http_probe(client.probe, client.container_port, client.health_check_path),
            start="10s",
        ),
        "logging": _awslogs(host, client.log_group, name),
        "mem_limit": f"{client.memory_mb}m",
        "read_only": True,
        "tmpfs": ["/tmp"],
        "cap_drop": ["ALL"],
        "security_opt": list(SECURITY_OPT),
    }


# --- shared pieces ---------------------------------------------------------------


def _published(host: HostSpec, host_port: int, container_port: int) -> dict[str, Any]:
    return {
        "target": container_port,
        "published": str(host_port),
        "host_ip": host.bind_address,
        "protocol": "tcp",
        "mode": "host",
    }


def _http_probe(tool: HttpProbe, port: int, path: str) -> list[str]:
    url = f"http://127.0.0.1:{port}{path}"
    if tool == "wget":
        return ["CMD", "wget", "-q", "-O", "/dev/null", url]
    return ["CMD", "curl", "-fsS", "-o", "/dev/null", url]


def _healthcheck(test: list[str], start: str, timeout: str = "5s") -> dict[str, Any]:
    return {
        "test": test,
        "interval": "15s",
        "timeout": timeout,
        "retries": 5,
        "start_period": start,
    }


def _awslogs(host: HostSpec, group: str, container: str) -> dict[str, Any]:
    return {
        "driver": "awslogs",
        "options": {
            "awslogs-region": host.region,
            "awslogs-group": group,
            "awslogs-stream": f"{host.name}/{container}",
            # Never block a container on CloudWatch: buffer, and drop when the buffer is full.
            "mode": "non-blocking",
            "max-buffer-size": "4m",
        },
    }


def _ports(host_port: int, replica_host_port: int | None) -> tuple[int, ...]:
    return (host_port,) if replica_host_port is None else (host_port, replica_host_port)


def _replicas(owner: str, ports: tuple[int, ...]) -> tuple[tuple[str, int], ...]:
    names = (owner, naming.second_replica(owner))
    return tuple(zip(names, ports, strict=False))


def _require_pinned(image: str, owner: str) -> None:
    name, _, digest = image.partition("@")
    tag = name.rsplit("/", 1)[-1].partition(":")[2]
    if digest:
        return
    if not tag or tag == "latest":
        raise ValueError(f"{owner}: image {image!r} must be pinned to a tag or digest")


def _require_port(port: int, owner: str) -> None:
    if not 1024 <= port <= 65535:
        raise ValueError(f"{owner}: host port must be 1024 to 65535, got {port}")
