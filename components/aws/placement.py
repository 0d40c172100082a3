"""Where everything runs: hosts, host ports, databases, routing priorities. No Pulumi.

The scale path is config only: `services.<name>.host: dedicated` moves a
service (with its Redis and RabbitMQ) to an app host of its own,
`services.<name>.host: ecs` runs it as an ECS service on Fargate (its Redis and
RabbitMQ as ECS services of their own, found through Cloud Map), and
`services.<name>.database: dedicated` gives its database an RDS instance of
its own, in two steps from the shared one: `moving` creates the instance (and
the service's role and database on it) while the service stays on the shared
one, and `dedicated` then copies the data over and switches (`moves`).
`database.restore` restores the shared instance into a new one beside it,
`restored`, which takes the shared instance's services once it `serve`s. Every
component reads placement from here, so a switch in config is the only change
needed.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.settings import CloudSettings, DatabaseRestoreSettings
from seed import catalog, naming
from seed.catalog import SERVICES, WEB_CLIENTS, Backing, ClientApp, DomainService

SHARED = "shared"
ECS = "ecs"
RESTORED = "restored"


def service_host_port(service: str) -> int:
    """The app host port a domain service publishes and its target group targets (catalog)."""
    return catalog.service(service).host_port


def web_client_host_port(client: str) -> int:
    return _declared(client, catalog.web_client(client).host_port)


def replica_host_port(settings: CloudSettings, owner: str) -> int | None:
    """The host port of a service's or web client's second replica (catalog), or None where
    the stack runs one (`appHost.replicas`)."""
    if settings.app_host.replicas == 1:
        return None
    if owner in catalog.SERVICE_NAMES:
        return catalog.service(owner).replica_host_port
    return _declared(owner, catalog.web_client(owner).replica_host_port)


def service_priority(service: str) -> int:
    """Its ALB listener rule's priority (catalog): path prefixes on the API hostname."""
    return catalog.service(service).rule_priority


def web_client_priority(client: str) -> int:
    """Its ALB listener rule's priority (catalog): a host rule of its own hostname."""
    return _declared(client, catalog.web_client(client).rule_priority)


def _declared(client: str, value: int | None) -> int:
    if value is None:  # catalog.check refuses this: a static site declares both
        raise ValueError(f"web client {client} declares no host port or rule priority")
    return value


def host_ports(replicas: int = 1) -> dict[str, int]:
    """Every host port an app host may publish, by owner (service or web client); with two
    `replicas`, the second replica's too, under its container's name."""
    ports = {s.name: service_host_port(s.name) for s in SERVICES}
    ports.update({c.name: web_client_host_port(c.name) for c in WEB_CLIENTS})
    if replicas == 2:
        seconds = [(s.name, s.replica_host_port) for s in SERVICES]
        seconds += [(c.name, _declared(c.name, c.replica_host_port)) for c in WEB_CLIENTS]
        ports.update({naming.second_replica(owner): port for owner, port in seconds})
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


def serving(settings: CloudSettings) -> str:
    """The instance serving the shared databases: `shared`, or `restored` once the shared
    instance's restored copy serves (`database.restore.serve`)."""
    restore = settings.database.restore
    return RESTORED if restore and restore.serve else SHARED


def database_of(settings: CloudSettings, service: str) -> str:
    """The instance the service uses: the shared one (`serving`), or its own name once its
    database is `dedicated` (a `moving` one is still served by the shared instance)."""
    return service if settings.services[service].database == "dedicated" else serving(settings)


def database_component(target: str) -> str:
    """The `Database` component's name of an instance: `db` (the shared one), `db-restored`
    (its restored copy), `<service>-db` (a service's own)."""
    if target == SHARED:
        return "db"
    return "db-restored" if target == RESTORED else f"{target}-db"


def restore_of(settings: CloudSettings, target: str) -> DatabaseRestoreSettings | None:
    """What the instance `target` is restored from: the restored copy's source, else None."""
    return settings.database.restore if target == RESTORED else None


def moves(settings: CloudSettings, layout: HostLayout) -> tuple[DomainService, ...]:
    """The services on `layout`'s host whose database the host copies from the shared
    instance to their own, once: every `dedicated` one while the stack has a shared
    instance. The copy runs only where the shared instance holds the service's database
    and the dedicated one has not taken it yet (apply_service_database_move.sh), so a
    service placed `dedicated` from the start copies nothing."""
    if serving(settings) not in databases(settings):
        return ()
    return tuple(
        s
        for s in layout.services
        if s.uses(Backing.POSTGRESQL) and settings.services[s.name].database == "dedicated"
    )


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


def host_zones(settings: CloudSettings) -> tuple[int, ...]:
    """The zone (index into the VPC's zones) each host of `hosts` runs in, in that order:
    the shared host in the first, dedicated hosts round the zones after it."""
    return tuple(index % settings.network.az_count for index in range(len(hosts(settings))))


def databases(settings: CloudSettings) -> dict[str, tuple[DomainService, ...]]:
    """RDS instance name -> the services whose database it holds (shared only if used).

    A `moving` service's database is on both: the shared instance serves it, and its own
    instance gets the role and the empty database its data will be copied into.

    With `database.restore`, the restored copy follows the shared instance and holds what
    it holds. Once the copy serves, the shared instance holds nothing any host bootstraps
    (its data stays, untouched) until `retireOriginal` removes it.
    """
    placed: dict[str, tuple[DomainService, ...]] = {}
    for s in SERVICES:
        if s.uses(Backing.POSTGRESQL):
            targets = [database_of(settings, s.name)]
            if settings.services[s.name].database == "moving":
                targets.append(s.name)
            for target in targets:
                placed[target] = (*placed.get(target, ()), s)
    restore = settings.database.restore
    if restore is None or (held := placed.pop(serving(settings), None)) is None:
        return placed
    copies = {SHARED: () if restore.serve else held, RESTORED: held}
    if restore.retire_original:
        del copies[SHARED]
    return {**copies, **placed}


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
