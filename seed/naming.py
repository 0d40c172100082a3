"""Names other parts rely on: SSM paths and the compose layout on an app host.

The policy pack, the app host's apply document and the tests all find things
by these names, so they are defined once here. No Pulumi import.
"""

from __future__ import annotations

PROJECT = "ticketing"

# Per-service SSM SecureString keys the app host turns into the service's env file.
DATABASE_URL = "database-url"
REDIS_URL = "redis-url"
AMQP_URL = "amqp-url"
DATABASE_PASSWORD = "database-password"
REDIS_PASSWORD = "redis-password"
RABBITMQ_PASSWORD = "rabbitmq-password"
RABBITMQ_DEFINITIONS = "rabbitmq-definitions"
# Per-service plain String: the name of the service's own database (not a credential).
DATABASE_NAME = "database-name"
# Per-venue Bastion sync credential, read by the ticketing service.
VENUE_SYNC_CREDENTIAL = "sync-credential"
# The service Bastions sync with: its SSM path holds every venue's credential.
VENUE_SYNC_SERVICE = "ticketing"


def ssm_root(environment: str) -> str:
    """Everything the platform stores in SSM for one environment."""
    return f"/{PROJECT}/{environment}"


def ssm_service_path(environment: str, service: str) -> str:
    """One service's parameters: `/ticketing/<env>/services/<service>`."""
    return f"{ssm_root(environment)}/services/{service}"


def ssm_service_parameter(environment: str, service: str, key: str) -> str:
    return f"{ssm_service_path(environment, service)}/{key}"


def ssm_host_path(environment: str, host: str) -> str:
    """One app host's documents (compose file, bootstrap SQL): `/ticketing/<env>/hosts/<host>`."""
    return f"{ssm_root(environment)}/hosts/{host}"


def venue_credential_key(venue: str) -> str:
    """A venue's sync credential relative to the sync service's path: `venues/<venue>/...`."""
    return f"venues/{venue}/{VENUE_SYNC_CREDENTIAL}"


def ssm_venue_credential(environment: str, venue: str) -> str:
    """A venue's sync credential, under the service that reads it (and its host may read).

    `/ticketing/<env>/services/ticketing/venues/<venue>/sync-credential`.
    """
    return ssm_service_parameter(environment, VENUE_SYNC_SERVICE, venue_credential_key(venue))


def venue_credential_env(venue: str) -> str:
    """The env variable carrying a venue's credential: `VENUE_SYNC_CREDENTIAL_ARENA`."""
    return "VENUE_SYNC_CREDENTIAL_" + venue.replace("-", "_").upper()


def backing_network(service: str) -> str:
    """The Compose network a service shares with its own Redis and RabbitMQ only."""
    return f"{service}-backing"


INGRESS_NETWORK = "ingress"


def second_replica(owner: str) -> str:
    """The second replica's container (and Compose service) of a service or web client; the
    first keeps the owner's own name."""
    return f"{owner}-2"


def redis_container(service: str) -> str:
    return f"{service}-redis"


def rabbitmq_container(service: str) -> str:
    return f"{service}-rabbitmq"


# A Docker volume whose files the program writes again on every deploy (the venue
# TLS files) carries this label: it holds no data, so nothing protects it.
GENERATED_VOLUME_LABEL = "ticketing.contents"
GENERATED_VOLUME_VALUE = "generated"


def service_discovery_namespace(environment: str) -> str:
    """The Cloud Map private DNS namespace where a service on ECS finds its Redis and RabbitMQ:
    `<env>.ticketing.internal`, so payments' Redis is `payments-redis.<env>.ticketing.internal`."""
    return f"{environment}.{PROJECT}.internal"


# Docker label of an ECS container whose image needs a writable root filesystem; its value
# says why. Every other container runs with a read-only root.
WRITABLE_ROOT_LABEL = "ticketing.writable-root"
