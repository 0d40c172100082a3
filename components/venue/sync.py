"""The sync contract between a cloud stack and the Bastions at its venues, venue side.

The cloud stack (`components.aws.venue_sync.VenueSyncCredentials`) exports the
secret output `venueSync`:

    {"arena": {"syncUrl": "https://api.<domain>/ticketing/sync", "credential": "..."}}

`read_venue_sync`: the venue stack reads its own entry through a
`pulumi.StackReference`. A cloud stack that does not serve the venue stops the
venue stack with one line naming both.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import pulumi

from components.settings import NAMESPACE, ConfigError, VenueSettings

OUTPUT = "venueSync"
SYNC_URL = "syncUrl"
CREDENTIAL = "credential"


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


def cloud_stack_name(written: str) -> str:
    """The full name of the cloud stack: a bare stack name (`dev`) is this project's stack
    in the organization this stack runs in, which on a self-managed backend is always
    `organization`; a full name stays as written."""
    if "/" in written:
        return written
    return f"{pulumi.get_organization()}/{pulumi.get_project()}/{written}"


def read_venue_sync(venue: VenueSettings) -> VenueSync:
    """The venue's sync URL and credential, read from its cloud stack's outputs."""
    name = cloud_stack_name(venue.cloud_stack)
    cloud = pulumi.StackReference(name)
    entry = cloud.get_output(OUTPUT).apply(lambda value: venue_entry(value, name, venue.id))
    return VenueSync(
        # The URL is public; only the credential needs to stay secret.
        sync_url=pulumi.Output.unsecret(entry.apply(lambda e: e[SYNC_URL])),
        credential=pulumi.Output.secret(entry.apply(lambda e: e[CREDENTIAL])),
    )


# --- the heartbeat: how the cloud learns each Bastion's state ----------------------------
# Every HEARTBEAT_SECONDS the Bastion's sync posts to `<syncUrl>/heartbeat`, with its sync
# credential, whether its own health check passes and the `notAfter` dates of its server
# certificate and venue CA (read from the files it serves). The ticketing service turns
# each heartbeat into two CloudWatch metrics with the dimension VENUE_DIMENSION=<venue id>:
# HEARTBEAT_METRIC (1 for a healthy Bastion) and CERTIFICATE_DAYS_METRIC (days until the
# earlier of the two dates). The cloud stack alarms on both per venue
# (`components.aws.venue_sync.VenueHealthAlarms`); a venue offline, or a Bastion down,
# sends nothing, which the heartbeat alarm counts as breaching.
HEARTBEAT_PATH = "/heartbeat"
HEARTBEAT_SECONDS = 60
METRIC_NAMESPACE = "Ticketing/Venues"
HEARTBEAT_METRIC = "BastionHeartbeat"
CERTIFICATE_DAYS_METRIC = "CertificateDaysLeft"
VENUE_DIMENSION = "Venue"
# Alarm after this long without a healthy heartbeat.
HEARTBEAT_MISSING_MINUTES = 15
# The server certificate renews on a deploy 60 days before it expires: fewer days left
# than this means no deploy has renewed it (or the CA is about to expire).
CERTIFICATE_DAYS_ALARM = 30
