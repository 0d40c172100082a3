"""`VenueSyncCredentials`: the cloud side of the sync contract with the venues' Bastions.

One generated credential per listed venue, stored where the ticketing service
reads it (an SSM SecureString under its own path, which its app host writes
into its env file as `VENUE_SYNC_CREDENTIAL_<ID>`) and exported as the secret
stack output `venueSync` (the contract is in `components.venue.sync`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.outputs import EXPORTED, ComponentOutputs
from components.settings import CloudSettings
from components.venue.sync import CREDENTIAL, SYNC_URL
from seed import catalog, naming

CREDENTIAL_LENGTH = 48


@dataclass(frozen=True)
class VenueSyncCredentialsArgs:
    """The venues one cloud stack serves.

    Attributes:
        environment: picks the SSM path `naming.ssm_venue_credential(<env>, <venue>)`.
        venues: venue ids (`ticketing:venues`).
        sync_url: the public URL every Bastion of this stack syncs with.
    """

    environment: str
    venues: Sequence[str]
    sync_url: str

    @classmethod
    def of(cls, settings: CloudSettings) -> VenueSyncCredentialsArgs:
        """Bastions sync under the ticketing service's (configured) path on the API host."""
        service = catalog.service(naming.VENUE_SYNC_SERVICE)
        prefix = settings.services[service.name].path_prefix or service.path_prefix
        sync_url = f"https://{settings.api_host}{prefix}/sync"
        return cls(settings.environment, tuple(settings.venues), sync_url)


@dataclass(frozen=True)
class VenueSyncCredentialsOutputs(ComponentOutputs):
    """`venue_sync`: venue id -> its sync URL and credential, secret as a whole (the stack
    output `components.venue.sync.OUTPUT` each venue stack reads its own entry of).
    `revision`: the parameters' versions; they rise with every value change, so the app
    host re-applies when one moves."""

    venue_sync: pulumi.Output[dict[str, dict[str, str]]] = field(metadata=EXPORTED)
    revision: pulumi.Output[str]


class VenueSyncCredentials(pulumi.ComponentResource):
    """Per venue: a generated sync credential and its SSM SecureString parameter.

    The parameter sits under the ticketing service's SSM path, so the app host
    running ticketing may read it and puts it in ticketing's env file; the
    service authenticates the venue's Bastion with it. The venue stack reads
    the same value from `entries`.

    Args:
        name: prefix for every child's name.
        args: the venues and their sync URL.
        opts: must carry the stack's AWS provider.
    """

    outputs: VenueSyncCredentialsOutputs
    parameter_names: dict[str, str]
    venues: tuple[str, ...]

    def __init__(
        self, name: str, args: VenueSyncCredentialsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ticketing:venue:VenueSyncCredentials", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        entries: dict[str, Any] = {}
        self.parameter_names = {}
        versions: list[pulumi.Output[str]] = []
        for venue in args.venues:
            credential = random.RandomPassword(
                f"{name}-{venue}",
                length=CREDENTIAL_LENGTH,
                special=False,  # travels in an HTTP header; no escaping anywhere
                opts=child,
            )
            parameter_name = naming.ssm_venue_credential(args.environment, venue)
            parameter = aws.ssm.Parameter(
                f"{name}-{venue}-ssm",
                name=parameter_name,
                type="SecureString",
                value=credential.result,
                description=f"Sync credential of the Bastion at venue {venue}",
                opts=child,
            )
            self.parameter_names[venue] = parameter_name
            versions.append(pulumi.Output.concat(venue, "=", parameter.version.apply(str)))
            entries[venue] = {SYNC_URL: args.sync_url, CREDENTIAL: credential.result}
        self.venues = tuple(args.venues)
        self.outputs = VenueSyncCredentialsOutputs(
            venue_sync=pulumi.Output.secret(cast(dict[str, dict[str, str]], entries)),
            revision=pulumi.Output.all(*versions).apply(
                lambda parts: ",".join(sorted(str(p) for p in parts))
            ),
        )
        self.stack_outputs = self.outputs.stack_outputs()
        self.register_outputs(self.outputs.registered())
