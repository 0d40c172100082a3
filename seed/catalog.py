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
        health_check_path: what the load balancer and Compose probe.
        port: the container port the service listens on.
        rate_limited_paths: path prefixes the edge rate-limits (login, payments).
    """

    name: str
    title: str
    backing: frozenset[Backing]
    path_prefix: str
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
    are also served as pinned containers on the app host.
    """

    name: str
    title: str
    platforms: tuple[str, ...]
    hostname: str | None
    static_site: bool = False


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
    ),
    DomainService(
        name="payments",
        title="Payments",
        backing=frozenset({Backing.POSTGRESQL, Backing.REDIS, Backing.RABBITMQ}),
        path_prefix="/payments",
        rate_limited_paths=("/payments",),
    ),
    DomainService(
        name="identity",
        title="Identity",
        backing=frozenset({Backing.POSTGRESQL, Backing.REDIS}),
        path_prefix="/identity",
        rate_limited_paths=("/identity/login", "/identity/token"),
    ),
    DomainService(
        name="notifications",
        title="Notifications",
        backing=frozenset({Backing.POSTGRESQL, Backing.RABBITMQ}),
        path_prefix="/notifications",
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
    ClientApp("admin-portal", "Admin Portal", ("Web",), hostname="admin", static_site=True),
    ClientApp("client-web", "Client Web", ("Web",), hostname="app", static_site=True),
)

WEB_CLIENTS: tuple[ClientApp, ...] = tuple(c for c in CLIENTS if c.static_site)


def platforms_text(client: ClientApp) -> str:
    """The seed's wording: `iOS, Android`, `Android only`, `Web (any browser)`."""
    if client.platforms == ("Web",):
        return "Web (any browser)"
    if len(client.platforms) == 1:
        return f"{client.platforms[0]} only"
    return ", ".join(client.platforms)


def service(name: str) -> DomainService:
    """The catalog entry for `name`; KeyError names the known services."""
    for s in SERVICES:
        if s.name == name:
            return s
    raise KeyError(f"unknown service {name!r}; known: {', '.join(SERVICE_NAMES)}")
