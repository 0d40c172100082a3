"""The memory limit of every container an app host runs, by container name. No Pulumi.

`compose` writes these limits as `mem_limit`; the settings add them up per host and
refuse a host whose containers would not fit its instance. Pure arithmetic on the
catalog and the per-service settings, so both read the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from seed import naming
from seed.catalog import Backing, ClientApp, DomainService

# Redis `maxmemory` bounds the data set only; the allocator and buffers need headroom.
REDIS_HEADROOM_MB: Final = 64
RABBITMQ_MEMORY_MB: Final = 512
WEB_CLIENT_MEMORY_MB: Final = 128


def redis_limit_mb(max_memory_mb: int) -> int:
    """A Redis container's limit for a given `maxmemory`."""
    return max_memory_mb + REDIS_HEADROOM_MB


@dataclass(frozen=True)
class ServiceMemory:
    """A domain service's sizing as the settings give it (`replicas`: `appHost.replicas`)."""

    service: DomainService
    memory_mb: int
    redis_max_memory_mb: int
    replicas: int = 1

    def limits(self) -> dict[str, int]:
        """Container name -> memory limit (MiB) of the service (each replica) and its backing
        containers (one each, whatever the replicas)."""
        name = self.service.name
        limits = {name: self.memory_mb}
        if self.replicas == 2:
            limits[naming.second_replica(name)] = self.memory_mb
        if self.service.uses(Backing.REDIS):
            limits[naming.redis_container(name)] = redis_limit_mb(self.redis_max_memory_mb)
        if self.service.uses(Backing.RABBITMQ):
            limits[naming.rabbitmq_container(name)] = RABBITMQ_MEMORY_MB
        return limits


def host_limits(
    services: Iterable[ServiceMemory], web_clients: Iterable[ClientApp], replicas: int = 1
) -> dict[str, int]:
    """Container name -> memory limit (MiB) of everything one host runs; web clients run
    `replicas` containers each, as the services do."""
    limits: dict[str, int] = {}
    for service in services:
        limits.update(service.limits())
    for client in web_clients:
        limits[client.name] = WEB_CLIENT_MEMORY_MB
        if replicas == 2:
            limits[naming.second_replica(client.name)] = WEB_CLIENT_MEMORY_MB
    return limits
