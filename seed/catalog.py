"""The seed's deployment page as data: the one source of truth.

Code, policies, docs and the diagram read these tables instead of repeating
them. Nothing here imports Pulumi, so the policy pack can import it from its
own virtualenv.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Backing(StrEnum):
    """A backing service a domain API may own (database-per-service pattern)."""

    POSTGRESQL = "PostgreSQL"
    REDIS = "Redis"
    RABBITMQ = "RabbitMQ"


@dataclass(frozen=True)
class DomainService:
    """One domain API and exactly the backing services it owns.

    Args:
        name: the service id used in config keys, resource names and SSM paths.
        title: the seed's display name.
        backing: the backing services the seed's table lists for it.
        path_prefix: where the API hostname routes to it (`/ticketing/*`).
        host_port: the app host port it publishes and its ALB target group targets.
        replica_host_port: the host port of its second replica, in the same target group,
            where the stack runs two (`appHost.replicas`): declared, never computed, so
            neither port moves when another owner is added.
        rule_priority: its ALB listener rule's priority.
        health_check_path: what the load balancer and Compose probe.
        port: the container port the service listens on.
        rate_limited_paths: path prefixes the edge rate-limits (login, payments).
    """

    name: str
    title: str
    backing: frozenset[Backing]
    path_prefix: str
    host_port: int
    replica_host_port: int
    rule_priority: int
    health_check_path: str = "/healthz"
    port: int = 8080
    rate_limited_paths: tuple[str, ...] = ()

    def uses(self, backing: Backing) -> bool:
        return backing in self.backing

    @property
    def database(self) -> str:
        """The service's own PostgreSQL database (and its login role's name)."""
        return f"{self.name}_db"

    @property
    def role(self) -> str:
        return f"{self.name}_app"


@dataclass(frozen=True)
class ProviderService:
    """A row of a provider boundary's table: what we use and why."""

    service: str
    purpose: str


@dataclass(frozen=True)
class ClientApp:
    """A client application and the platforms it runs on.

    `hostname` is the public hostname key it talks to; `static_site` web clients
    are also served as pinned containers on the app host, publishing `host_port` (and
    `replica_host_port` for a second replica) behind an ALB host rule of `rule_priority`.
    """

    name: str
    title: str
    platforms: tuple[str, ...]
    hostname: str | None
    static_site: bool = False
    host_port: int | None = None
    replica_host_port: int | None = None
    rule_priority: int | None = None


@dataclass(frozen=True)
class OnPremComponent:
    """A system that runs inside a venue's local network."""

    name: str
    title: str
    platform: str
    purpose: str


SERVICES: tuple[DomainService, ...] = (
    DomainService(
        name="ticketing",
        title="Ticketing",
        backing=frozenset({Backing.POSTGRESQL, Backing.REDIS, Backing.RABBITMQ}),
        path_prefix="/ticketing",
        host_port=8081,
        replica_host_port=8181,
        rule_priority=100,
    ),
    DomainService(
        name="payments",
        title="Payments",
        backing=frozenset({Backing.POSTGRESQL, Backing.REDIS, Backing.RABBITMQ}),
        path_prefix="/payments",
        host_port=8082,
        replica_host_port=8182,
        rule_priority=110,
        rate_limited_paths=("/payments",),
    ),
    DomainService(
        name="identity",
        title="Identity",
        backing=frozenset({Backing.POSTGRESQL, Backing.REDIS}),
        path_prefix="/identity",
        host_port=8083,
        replica_host_port=8183,
        rule_priority=120,
        rate_limited_paths=("/identity/login", "/identity/token"),
    ),
    DomainService(
        name="notifications",
        title="Notifications",
        backing=frozenset({Backing.POSTGRESQL, Backing.RABBITMQ}),
        path_prefix="/notifications",
        host_port=8084,
        replica_host_port=8184,
        rule_priority=130,
    ),
)

SERVICE_NAMES: tuple[str, ...] = tuple(s.name for s in SERVICES)

CLOUDFLARE: tuple[ProviderService, ...] = (
    ProviderService("CDN", "Edge caching and content delivery"),
    ProviderService("WAF", "Request filtering and security rules"),
    ProviderService("DDoS Protection", "Traffic analysis and attack mitigation"),
)

AWS: tuple[ProviderService, ...] = (
    ProviderService("VPC", "Network isolation and security boundaries"),
    ProviderService("Static IP", "Stable public endpoint for DNS"),
    ProviderService("Load Balancer (ALB)", "Traffic distribution and SSL termination"),
    ProviderService("Certificate Manager", "Automated SSL/TLS provisioning"),
    ProviderService("RDS (PostgreSQL)", "Managed Database service"),
    ProviderService("CloudWatch", "Metrics, logs, and alarms"),
)

ON_PREM: tuple[OnPremComponent, ...] = (
    OnPremComponent("bastion", "Bastion", ".NET 10 (Docker)", "Offline validation and cloud sync"),
    OnPremComponent("handheld", "Handheld", "Android", "Staff ticket scanning"),
)

CLIENTS: tuple[ClientApp, ...] = (
    ClientApp("client-mobile", "Client Mobile", ("iOS", "Android"), hostname="api"),
    # Handhelds scan against the venue's Bastion on the LAN, not a public hostname.
    ClientApp("handheld", "Handheld", ("Android",), hostname=None),
    ClientApp(
        "admin-portal",
        "Admin Portal",
        ("Web",),
        hostname="admin",
        static_site=True,
        host_port=8092,
        replica_host_port=8192,
        rule_priority=20,
    ),
    ClientApp(
        "client-web",
        "Client Web",
        ("Web",),
        hostname="app",
        static_site=True,
        host_port=8091,
        replica_host_port=8191,
        rule_priority=10,
    ),
)

WEB_CLIENTS: tuple[ClientApp, ...] = tuple(c for c in CLIENTS if c.static_site)


def platforms_text(client: ClientApp) -> str:
    """The seed's wording: `iOS, Android`, `Android only`, `Web (any browser)`."""
    if client.platforms == ("Web",):
        return "Web (any browser)"
    if len(client.platforms) == 1:
        return f"{client.platforms[0]} only"
    return ", ".join(client.platforms)


# An ALB listener rule's priority (ELBv2 API, CreateRule: 1 to 50000), and a host port
# above the well-known ones, so no service takes a port a system daemon listens on.
RULE_PRIORITIES = range(1, 50_001)
HOST_PORTS = range(1024, 65_536)


def check(services: tuple[DomainService, ...], clients: tuple[ClientApp, ...]) -> None:
    """Refuse a catalog in which two owners share a name, a host port or an ALB rule priority.

    Each service and static web client declares its own ports (one per replica) and
    priority, so adding one never renumbers another (a new port would replace its target
    group).
    """
    owners: list[tuple[str, int | None, int | None, int | None]] = [
        (s.name, s.host_port, s.replica_host_port, s.rule_priority) for s in services
    ]
    for client in clients:
        declared = (
            client.host_port is not None,
            client.replica_host_port is not None,
            client.rule_priority is not None,
        )
        if declared != (client.static_site,) * 3:
            raise ValueError(
                f"web client {client.name}: host_port, replica_host_port and rule_priority are "
                "for static sites, and a static site needs all three"
            )
        if client.static_site:
            owners.append(
                (client.name, client.host_port, client.replica_host_port, client.rule_priority)
            )
    seen: dict[tuple[str, object], str] = {}
    for name, port, replica_port, priority in owners:
        for what, value, allowed in (
            ("name", name, None),
            ("host port", port, HOST_PORTS),
            ("host port", replica_port, HOST_PORTS),
            ("rule priority", priority, RULE_PRIORITIES),
        ):
            if allowed is not None and value not in allowed:
                raise ValueError(
                    f"{name}: {what} {value} is outside {allowed.start}-{allowed.stop - 1}"
                )
            if (what, value) in seen:
                raise ValueError(f"{name}: {what} {value} is already {seen[what, value]}'s")
            seen[what, value] = name


def service(name: str) -> DomainService:
    """The catalog entry for `name`; KeyError names the known services."""
    for s in SERVICES:
        if s.name == name:
            return s
    raise KeyError(f"unknown service {name!r}; known: {', '.join(SERVICE_NAMES)}")


def web_client(name: str) -> ClientApp:
    """The static web client `name`; KeyError names the known ones."""
    for c in WEB_CLIENTS:
        if c.name == name:
            return c
    raise KeyError(f"unknown web client {name!r}; known: {', '.join(c.name for c in WEB_CLIENTS)}")


check(SERVICES, CLIENTS)
