"""Where everything runs: hosts, host ports, databases, routing priorities. No Pulumi.

The scale path is config only: `services.<name>.host: dedicated` moves a
service (with its Redis and RabbitMQ) to an app host of its own,
`services.<name>.host: ecs` runs it as an ECS service on Fargate (its Redis and
RabbitMQ as ECS services of their own, found through Cloud Map), and
`services.<name>.database: dedicated` gives its database an RDS instance of
its own. Every component reads placement from here, so a switch in config is
the only change needed.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.settings import CloudSettings
from seed import naming
from seed.catalog import SERVICES, WEB_CLIENTS, Backing, ClientApp, DomainService

SHARED = "shared"
ECS = "ecs"

SERVICE_PORT_BASE = 8081
WEB_CLIENT_PORTS: dict[str, int] = {"client-web": 8091, "admin-portal": 8092}
# ALB listener rule priorities: web clients by hostname first, then API path prefixes.
WEB_CLIENT_PRIORITIES: dict[str, int] = {"client-web": 10, "admin-portal": 20}
SERVICE_PRIORITY_BASE = 100


def _index(service: str) -> int:
    return [s.name for s in SERVICES].index(service)


def service_host_port(service: str) -> int:
    """The app host port a domain service publishes and its target group targets."""
    return SERVICE_PORT_BASE + _index(service)


def web_client_host_port(client: str) -> int:
    return WEB_CLIENT_PORTS[client]


def service_priority(service: str) -> int:
    return SERVICE_PRIORITY_BASE + 10 * _index(service)


def web_client_priority(client: str) -> int:
    return WEB_CLIENT_PRIORITIES[client]


def host_ports() -> dict[str, int]:
    """Every host port an app host may publish, by owner (service or web client)."""
    ports = {s.name: service_host_port(s.name) for s in SERVICES}
    ports.update({c.name: web_client_host_port(c.name) for c in WEB_CLIENTS})
    return ports


def log_group_name(environment: str, owner: str) -> str:
    """The CloudWatch log group a service's (or web client's) containers log to."""
    return f"/{naming.PROJECT}/{environment}/{owner}"


def host_of(settings: CloudSettings, service: str) -> str:
    """`shared`, `ecs`, or the service's own name when it runs on a dedicated host."""
    placed = settings.services[service].host
    if placed == "dedicated":
        return service
    return ECS if placed == ECS else SHARED


def on_ecs(settings: CloudSettings, service: str) -> bool:
    return host_of(settings, service) == ECS


def ecs_services(settings: CloudSettings) -> tuple[DomainService, ...]:
    """The domain services that run as ECS services on Fargate, in catalog order."""
    return tuple(s for s in SERVICES if on_ecs(settings, s.name))


def redis_host(settings: CloudSettings, service: str) -> str:
    """Where the service finds its Redis: a Compose container name, or its Cloud Map name."""
    name = naming.redis_container(service)
    if on_ecs(settings, service):
        return f"{name}.{naming.service_discovery_namespace(settings.environment)}"
    return name


def rabbitmq_host(settings: CloudSettings, service: str) -> str:
    """Where the service finds its RabbitMQ: a Compose container name, or its Cloud Map name."""
    name = naming.rabbitmq_container(service)
    if on_ecs(settings, service):
        return f"{name}.{naming.service_discovery_namespace(settings.environment)}"
    return name


def database_of(settings: CloudSettings, service: str) -> str:
    """`shared`, or the service's own name when its database has a dedicated instance."""
    return service if settings.services[service].database == "dedicated" else SHARED


@dataclass(frozen=True)
class HostLayout:
    """One app host and what it runs.

    Args:
        name: `shared`, or the name of the service a dedicated host is for.
        services: domain services placed here (each with its own Redis/RabbitMQ).
        web_clients: static web clients placed here (always the shared host).
    """

    name: str
    services: tuple[DomainService, ...]
    web_clients: tuple[ClientApp, ...]


def hosts(settings: CloudSettings) -> tuple[HostLayout, ...]:
    """The shared host (web clients and every shared-placement service) then dedicated hosts.

    ECS services run on no host; the shared host still bootstraps their databases
    (`bootstrapped_elsewhere`).
    """
    shared = HostLayout(
        SHARED,
        tuple(s for s in SERVICES if host_of(settings, s.name) == SHARED),
        WEB_CLIENTS,
    )
    dedicated = tuple(
        HostLayout(s.name, (s,), ())
        for s in SERVICES
        if host_of(settings, s.name) not in (SHARED, ECS)
    )
    return (shared, *dedicated)


def databases(settings: CloudSettings) -> dict[str, tuple[DomainService, ...]]:
    """RDS instance name -> the services whose database it holds (shared only if used)."""
    placed: dict[str, tuple[DomainService, ...]] = {}
    for s in SERVICES:
        if s.uses(Backing.POSTGRESQL):
            target = database_of(settings, s.name)
            placed[target] = (*placed.get(target, ()), s)
    return placed


def bootstrapped_elsewhere(
    settings: CloudSettings, layout: HostLayout
) -> tuple[DomainService, ...]:
    """The ECS services whose databases `layout`'s host bootstraps: the shared host's job.

    A Fargate task never holds an RDS master password, so the role and database of an
    ECS service are created by the shared host, which already holds it for its own.
    """
    if layout.name != SHARED:
        return ()
    return tuple(s for s in ecs_services(settings) if s.uses(Backing.POSTGRESQL))
