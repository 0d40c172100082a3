"""Where everything runs: hosts, host ports, databases, routing priorities. No Pulumi.

The scale path is config only: `services.<name>.host: dedicated` moves a
service (with its Redis and RabbitMQ) to an app host of its own, and
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
    """`shared`, or the service's own name when it runs on a dedicated host."""
    return service if settings.services[service].host == "dedicated" else SHARED


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
    """The shared host (web clients and every shared-placement service) then dedicated hosts."""
    shared = HostLayout(
        SHARED,
        tuple(s for s in SERVICES if host_of(settings, s.name) == SHARED),
        WEB_CLIENTS,
    )
    dedicated = tuple(
        HostLayout(s.name, (s,), ()) for s in SERVICES if host_of(settings, s.name) != SHARED
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
