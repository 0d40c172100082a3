"""A venue stack's settings: one venue's Docker host, its Bastion and its cloud stack."""

from __future__ import annotations

from typing import Annotated, Any, Literal, cast

from pydantic import Field, model_validator

from components.settings.cloud import DEFAULT_REGION, UNSET_DOMAIN
from components.settings.errors import at
from components.settings.validators import (
    DockerHost,
    Environment,
    Hostname,
    Label,
    LanAddress,
    Model,
    PinnedImage,
    Port,
    StackName,
)

# A tcp:// venue Docker host's client TLS material, in the order VenueHost reads it.
DOCKER_TLS_KEYS = ("dockerTlsCa", "dockerTlsCert", "dockerTlsKey")


class CaSettings(Model):
    """Which generation of the venue CA signs the Bastion's certificate, and the next one.

    Rotation is two deploys: `next: 2` creates CA 2 beside CA 1 and enrolls both; once
    every handheld has re-enrolled, `current: 2` (no `next`) switches the certificate.
    """

    current: Annotated[int, Field(ge=1, le=99)] = 1
    next: Annotated[int, Field(ge=2, le=99)] | None = None

    @model_validator(mode="after")
    def _next_follows_current(self) -> CaSettings:
        if self.next is not None and self.next != self.current + 1:
            message = f"the next CA generation is current + 1 ({self.current + 1})"
            raise at(("next",), message, self.next)
        return self


class BackupSettings(Model):
    """The offline store's scheduled copy on the venue host."""

    image: PinnedImage = "docker.io/library/busybox:1.36.1"
    every_hours: Annotated[int, Field(ge=1, le=168)] = 6
    keep: Annotated[int, Field(ge=1, le=1000)] = 28


class VenueSettings(Model):
    """Where one venue's Bastion runs and which cloud stack it syncs with."""

    id: Label
    cloud_stack: StackName
    docker_host: DockerHost
    lan_address: LanAddress
    hostname: Hostname | None = None
    port: Port = 8443
    bastion_image: PinnedImage
    memory_mb: Annotated[int, Field(ge=128, le=16_384)] = 512
    ca: CaSettings = CaSettings()
    backup: BackupSettings = BackupSettings()

    @property
    def server_name(self) -> str:
        """The Bastion's hostname on the LAN (the certificate's DNS SAN)."""
        return self.hostname or f"bastion.{self.id}.internal"


# Cloud-stack keys whose Pulumi.yaml default reaches every stack; a venue stack keeps
# the default and nothing else, since its cloud stack's region and domain apply.
_CLOUD_ONLY_DEFAULTS: dict[str, str] = {"region": DEFAULT_REGION, "domain": UNSET_DOMAIN}


class VenueStackSettings(Model):
    """A venue stack: the on-prem Docker host running the Bastion."""

    role: Literal["venue"]
    environment: Environment
    venue: VenueSettings

    @model_validator(mode="before")
    @classmethod
    def _no_cloud_only_keys(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        raw = dict(cast(dict[str, Any], value))
        for key, default in _CLOUD_ONLY_DEFAULTS.items():
            given = raw.pop(key, default)
            if given != default:
                message = f"venue stacks take no {key} (their cloud stack's applies)"
                raise at((key,), message, given)
        return raw

    @property
    def is_dev(self) -> bool:
        return self.environment == "dev"
