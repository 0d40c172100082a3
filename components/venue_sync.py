"""The sync contract between a cloud stack and the Bastions at its venues.

Cloud side, `VenueSyncCredentials`: one generated credential per listed venue,
stored where the ticketing service reads it (an SSM SecureString under its own
path, which its app host writes into its env file as `VENUE_SYNC_CREDENTIAL_<ID>`)
and exported as the secret stack output `venueSync`:

    {"arena": {"syncUrl": "https://api.<domain>/ticketing/sync", "credential": "..."}}

Venue side, `read_venue_sync`: the venue stack reads its own entry through a
`pulumi.StackReference`. A cloud stack that does not serve the venue stops the
venue stack with one line naming both.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components import catalog, naming
from components.settings import NAMESPACE, CloudSettings, ConfigError, VenueSettings

OUTPUT = "venueSync"
SYNC_URL = "syncUrl"
CREDENTIAL = "credential"
CREDENTIAL_LENGTH = 48


def sync_url(settings: CloudSettings) -> str:
    """Where Bastions sync: under the ticketing service's path on the API hostname."""
    service = catalog.service(naming.VENUE_SYNC_SERVICE)
    prefix = settings.services[service.name].path_prefix or service.path_prefix
    return f"https://{settings.api_host}{prefix}/sync"


@dataclass(frozen=True)
class VenueSyncArgs:
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
    def of(cls, settings: CloudSettings) -> VenueSyncArgs:
        return cls(settings.environment, tuple(settings.venues), sync_url(settings))


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

    entries: pulumi.Output[dict[str, dict[str, str]]]
    parameter_names: dict[str, str]
    venues: tuple[str, ...]
    revision: pulumi.Output[str]

    def __init__(
        self, name: str, args: VenueSyncArgs, opts: pulumi.ResourceOptions | None = None
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
        self.entries = pulumi.Output.secret(cast(dict[str, dict[str, str]], entries))
        self.venues = tuple(args.venues)
        # Versions rise with every value change: the app host re-applies when one moves.
        self.revision = pulumi.Output.all(*versions).apply(
            lambda parts: ",".join(sorted(str(p) for p in parts))
        )
        # Secret as a whole; each venue stack reads its own entry.
        self.stack_outputs: dict[str, pulumi.Input[Any]] = {"venueSync": self.entries}
        self.register_outputs({"entries": self.entries})


@dataclass(frozen=True)
class VenueSync:
    """What a venue stack reads from its cloud stack."""

    sync_url: pulumi.Output[str]
    credential: pulumi.Output[str]


def venue_entry(value: Any, cloud_stack: str, venue_id: str) -> Mapping[str, str]:
    """The venue's entry of the cloud stack's `venueSync` output, or one clear line."""
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"{NAMESPACE}:venue.cloudStack: cloud stack {cloud_stack} has no {OUTPUT} output "
            f"(deploy it with venue {json.dumps(venue_id)} in ticketing:venues), "
            f"got {json.dumps(cloud_stack)}"
        )
    served = cast(Mapping[str, Any], value)
    if venue_id not in served:
        known = ", ".join(sorted(served)) or "none"
        raise ConfigError(
            f"{NAMESPACE}:venue.id: venue {json.dumps(venue_id)} is not served by cloud stack "
            f"{cloud_stack} (its venues: {known}), got {json.dumps(venue_id)}"
        )
    entry = served[venue_id]
    fields: Mapping[str, Any] = cast(Mapping[str, Any], entry) if isinstance(entry, Mapping) else {}
    missing = [
        k for k in (SYNC_URL, CREDENTIAL) if not isinstance(fields.get(k), str) or not fields[k]
    ]
    if missing:
        raise ConfigError(
            f"{NAMESPACE}:venue.cloudStack: cloud stack {cloud_stack} serves venue "
            f"{json.dumps(venue_id)} but its {OUTPUT} entry has no {' and no '.join(missing)} "
            f"(run pulumi up on the cloud stack), got {json.dumps(cloud_stack)}"
        )
    return cast(Mapping[str, str], entry)


def read_venue_sync(venue: VenueSettings) -> VenueSync:
    """The venue's sync URL and credential, read from its cloud stack's outputs."""
    cloud = pulumi.StackReference(venue.cloud_stack)
    entry = cloud.get_output(OUTPUT).apply(
        lambda value: venue_entry(value, venue.cloud_stack, venue.id)
    )
    return VenueSync(
        # The URL is public; only the credential needs to stay secret.
        sync_url=pulumi.Output.unsecret(entry.apply(lambda e: e[SYNC_URL])),
        credential=pulumi.Output.secret(entry.apply(lambda e: e[CREDENTIAL])),
    )
