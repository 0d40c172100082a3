"""`VenueSyncCredentials`: the cloud side of the sync contract with the venues' Bastions;
`VenueHealthAlarms`: what their heartbeats say, alarmed per venue.

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

from components.outputs import ComponentOutputs, exported
from components.settings import CloudSettings
from components.venue.sync import (
    CERTIFICATE_DAYS_ALARM,
    CERTIFICATE_DAYS_METRIC,
    CREDENTIAL,
    HEARTBEAT_METRIC,
    HEARTBEAT_MISSING_MINUTES,
    METRIC_NAMESPACE,
    SYNC_URL,
    VENUE_DIMENSION,
)
from seed import catalog, naming

CREDENTIAL_LENGTH = 48


@dataclass(frozen=True)
class VenueSyncCredentialsArgs:
    """The venues one cloud stack serves.

    Attributes:
        environment: picks the SSM path `naming.ssm_venue_credential(<env>, <venue>)`.
        venues: venue ids (`ticketing:venues`).
        sync_url: the public URL every Bastion of this stack syncs with.
        secrets_key_arn: the key the credentials are encrypted with (`SecretsKey`).
    """

    environment: str
    venues: Sequence[str]
    sync_url: str
    secrets_key_arn: pulumi.Input[str]

    @classmethod
    def of(
        cls, settings: CloudSettings, secrets_key_arn: pulumi.Input[str]
    ) -> VenueSyncCredentialsArgs:
        """Bastions sync under the ticketing service's (configured) path on the API host."""
        service = catalog.service(naming.VENUE_SYNC_SERVICE)
        prefix = settings.services[service.name].path_prefix or service.path_prefix
        sync_url = f"https://{settings.api_host}{prefix}/sync"
        return cls(settings.environment, tuple(settings.venues), sync_url, secrets_key_arn)


@dataclass(frozen=True)
class VenueSyncCredentialsOutputs(ComponentOutputs):
    """`venue_sync`: venue id -> its sync URL and credential, secret as a whole (the stack
    output `components.venue.sync.OUTPUT` each venue stack reads its own entry of).
    `revision`: the parameters' versions; they rise with every value change, so the app
    host re-applies when one moves."""

    venue_sync: pulumi.Output[dict[str, dict[str, str]]] = field(
        metadata=exported(
            "Per venue the stack serves (`ticketing:venues`): the URL its Bastion syncs with "
            f"(`{SYNC_URL}`) and the generated credential it syncs with (`{CREDENTIAL}`). "
            "Secret as a whole.",
            venue_stacks="each venue stack reads its own entry and gives the Bastion its "
            "sync URL and credential",
        )
    )
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
                key_id=args.secrets_key_arn,
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


@dataclass(frozen=True)
class VenueHealthAlarmsConfig:
    """The venues whose Bastions one cloud stack alarms on, from its settings alone.

    Attributes:
        environment: dev, staging or prod (the alarm names).
        venues: the venue ids (`ticketing:venues`).
    """

    environment: str
    venues: tuple[str, ...]

    @classmethod
    def of(cls, settings: CloudSettings) -> VenueHealthAlarmsConfig:
        """The stack's venues (`ticketing:venues`)."""
        return cls(settings.environment, tuple(settings.venues))


@dataclass(frozen=True)
class VenueHealthAlarmsArgs:
    """The venues' alarms and where they notify.

    Attributes:
        config: the venues (`VenueHealthAlarmsConfig.of`).
        topic_arn: the stack's alarm topic.
    """

    config: VenueHealthAlarmsConfig
    topic_arn: pulumi.Input[str]

    @classmethod
    def of(
        cls, config: VenueHealthAlarmsConfig, topic_arn: pulumi.Input[str]
    ) -> VenueHealthAlarmsArgs:
        """`config`'s venues, alarmed on `topic_arn`."""
        return cls(config, topic_arn)


@dataclass(frozen=True)
class VenueHealthAlarmsOutputs(ComponentOutputs):
    """`alarm_names`: venue id -> its heartbeat and certificate alarms' names."""

    alarm_names: dict[str, list[str]]


class VenueHealthAlarms(pulumi.ComponentResource):
    """Per venue the cloud stack serves: what its Bastion's heartbeats say, alarmed.

    The heartbeat contract is in `components.venue.sync`: each Bastion's sync
    reports through the ticketing service, which publishes the venue's
    `HEARTBEAT_METRIC` and `CERTIFICATE_DAYS_METRIC`. Two alarms per venue, both
    notifying the stack's alarm topic:

    - `<name>-<venue>-heartbeat`: no healthy heartbeat for `HEARTBEAT_MISSING_MINUTES`
      (missing data breaches: a venue offline or a Bastion down sends nothing);
    - `<name>-<venue>-certificate`: the earlier of the server certificate's and the
      venue CA's expiry is fewer than `CERTIFICATE_DAYS_ALARM` days away.

    Args:
        name: prefix for every child's name.
        args: the venues and the alarm topic (`VenueHealthAlarmsArgs.of`).
        opts: must carry the stack's AWS provider.
    """

    outputs: VenueHealthAlarmsOutputs

    def __init__(
        self, name: str, args: VenueHealthAlarmsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ticketing:venue:VenueHealthAlarms", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix = f"{naming.PROJECT}-{args.config.environment}-venue"
        topic_arn = args.topic_arn
        period = 300
        alarm_names: dict[str, list[str]] = {}
        for venue in args.config.venues:
            dimensions = {VENUE_DIMENSION: venue}
            aws.cloudwatch.MetricAlarm(
                f"{name}-{venue}-heartbeat",
                name=f"{prefix}-{venue}-heartbeat",
                alarm_description=(
                    f"No healthy heartbeat from the Bastion at venue {venue} for "
                    f"{HEARTBEAT_MISSING_MINUTES} minutes (venue offline or Bastion down)"
                ),
                namespace=METRIC_NAMESPACE,
                metric_name=HEARTBEAT_METRIC,
                dimensions=dimensions,
                statistic="Sum",
                period=period,
                evaluation_periods=HEARTBEAT_MISSING_MINUTES * 60 // period,
                threshold=1,
                comparison_operator="LessThanThreshold",
                treat_missing_data="breaching",
                alarm_actions=[topic_arn],
                ok_actions=[topic_arn],
                opts=child,
            )
            aws.cloudwatch.MetricAlarm(
                f"{name}-{venue}-certificate",
                name=f"{prefix}-{venue}-certificate",
                alarm_description=(
                    f"A certificate of the Bastion at venue {venue} expires in fewer than "
                    f"{CERTIFICATE_DAYS_ALARM} days: deploy its venue stack (the server "
                    "certificate renews), or rotate the venue CA (docs/runbooks.md)"
                ),
                namespace=METRIC_NAMESPACE,
                metric_name=CERTIFICATE_DAYS_METRIC,
                dimensions=dimensions,
                statistic="Minimum",
                period=3600,
                evaluation_periods=1,
                threshold=CERTIFICATE_DAYS_ALARM,
                comparison_operator="LessThanThreshold",
                # No data is the heartbeat alarm's to report.
                treat_missing_data="notBreaching",
                alarm_actions=[topic_arn],
                ok_actions=[topic_arn],
                opts=child,
            )
            alarm_names[venue] = [f"{prefix}-{venue}-heartbeat", f"{prefix}-{venue}-certificate"]
        self.outputs = VenueHealthAlarmsOutputs(alarm_names=alarm_names)
        self.register_outputs(self.outputs.registered())
