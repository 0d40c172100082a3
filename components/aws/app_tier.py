"""`AppTier`: behind the ALB, in the seed's order: databases, backing stacks, app hosts, alarms."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi

from components.aws import placement
from components.aws.app_host import (
    AppHost,
    AppHostArgs,
    AppHostConfig,
    AppHostFirewall,
    AppHostFirewallArgs,
)
from components.aws.backup import DataBackups, DataBackupsArgs, DataBackupsConfig
from components.aws.database import Database, DatabaseArgs, DatabaseConfig
from components.aws.fargate import (
    FargateCluster,
    FargateClusterArgs,
    FargateService,
    FargateServiceArgs,
    FargateServiceConfig,
)
from components.aws.network import AwsNetwork
from components.aws.observability import (
    AlarmTopic,
    AlarmTopicArgs,
    Observability,
    ObservabilityArgs,
)
from components.aws.routing import Router
from components.aws.secrets_key import SecretsKey
from components.aws.service_stack import (
    ServiceBackingStack,
    ServiceBackingStackArgs,
    ServiceBackingStackConfig,
)
from components.aws.venue_sync import (
    VenueHealthAlarms,
    VenueHealthAlarmsArgs,
    VenueHealthAlarmsConfig,
    VenueSyncCredentials,
)
from components.aws.web_client import WebClientSite, WebClientSiteArgs
from components.outputs import ComponentOutputs, exported
from components.settings import CloudSettings
from seed import catalog, naming


@dataclass(frozen=True)
class AppTierArgs:
    """What the app tier builds, from the settings, and the boundaries it is wired to.

    Each child's part that the settings say is here (`<Child>Config.of`, or the child's
    whole args where nothing of it is made inside the tier); AppTier wires those to
    the siblings it makes first (the hosts' security group, the alarm topic, the RDS
    instances, the backing stacks, the hosts).

    Attributes:
        alarms: the alarm topic every alarm notifies.
        firewall: the app hosts' security group.
        databases: RDS instance (`shared`, `restored` or a service's name) -> its config
            (`placement.databases`).
        serving: the instance serving the shared databases (`placement.serving`), whose
            endpoint is `rdsEndpoint`.
        stacks: service -> its backing stack's config, for every catalog service.
        database_of: service -> the RDS instance it uses (`placement.database_of`).
        host_of: service -> `shared`, `ecs` or its dedicated host (`placement.host_of`).
        sites: web client -> its site, for every static web client.
        hosts: each app host's config, the shared host first (`placement.hosts`).
        host_zones: the zone (index into the VPC's zones) of each of `hosts`.
        backups: the backups' config; None where `backup.retentionDays` is 0.
        cluster: the ECS cluster; None where no service runs on ECS.
        fargate: the config of each service on ECS, in catalog order.
        environment: dev, staging or prod (the alarms and dashboard).
        region: the AWS region (the dashboard's widgets).
        host_instance_type: the app hosts' EC2 type (their alarms' thresholds).
        dashboard: whether the stack has a CloudWatch dashboard
            (`observability.dashboard`).
        venue_health: the venues' alarms' config; None where the stack serves no venue.
        network: the VPC, its private subnets and what their internet egress consists of.
        router: the ALB (`components.aws.ingress.Ingress`).
        venue_sync: the venues' sync credentials, which the ticketing service reads.
        secrets_key_arn: the key every SecureString and master secret is encrypted with
            (`SecretsKey`).
    """

    alarms: AlarmTopicArgs
    firewall: AppHostFirewallArgs
    databases: Mapping[str, DatabaseConfig]
    serving: str
    stacks: Mapping[str, ServiceBackingStackConfig]
    database_of: Mapping[str, str]
    host_of: Mapping[str, str]
    sites: Mapping[str, WebClientSiteArgs]
    hosts: tuple[AppHostConfig, ...]
    host_zones: tuple[int, ...]
    backups: DataBackupsConfig | None
    cluster: FargateClusterArgs | None
    fargate: tuple[FargateServiceConfig, ...]
    environment: str
    region: str
    host_instance_type: str
    dashboard: bool
    venue_health: VenueHealthAlarmsConfig | None
    network: AwsNetwork
    router: Router
    venue_sync: VenueSyncCredentials
    secrets_key_arn: pulumi.Input[str]

    @classmethod
    def of(
        cls,
        settings: CloudSettings,
        network: AwsNetwork,
        router: Router,
        venue_sync: VenueSyncCredentials,
        secrets_key: SecretsKey,
    ) -> AppTierArgs:
        """The cloud stack's app tier as `components.aws.placement` places it, in `network`
        behind `router`."""
        vpc_id = network.outputs.vpc_id
        on_ecs = placement.ecs_services(settings)
        return cls(
            alarms=AlarmTopicArgs.of(settings),
            firewall=AppHostFirewallArgs.of(
                vpc_id, router.outputs.alb_security_group_id, settings.app_host.replicas
            ),
            databases={
                t: DatabaseConfig.of(settings, placement.restore_of(settings, t))
                for t in placement.databases(settings)
            },
            serving=placement.serving(settings),
            stacks={s.name: ServiceBackingStackConfig.of(settings, s) for s in catalog.SERVICES},
            database_of={s.name: placement.database_of(settings, s.name) for s in catalog.SERVICES},
            host_of={s.name: placement.host_of(settings, s.name) for s in catalog.SERVICES},
            sites={
                c.name: WebClientSiteArgs.of(settings, c, router, vpc_id)
                for c in catalog.WEB_CLIENTS
            },
            hosts=tuple(AppHostConfig.of(settings, h) for h in placement.hosts(settings)),
            host_zones=placement.host_zones(settings),
            backups=DataBackupsConfig.of(settings) if settings.backup.retention_days else None,
            cluster=FargateClusterArgs.of(settings, vpc_id=vpc_id) if on_ecs else None,
            fargate=tuple(FargateServiceConfig.of(settings, s) for s in on_ecs),
            environment=settings.environment,
            region=settings.region,
            host_instance_type=settings.app_host.instance_type,
            dashboard=settings.observability.dashboard,
            venue_health=VenueHealthAlarmsConfig.of(settings) if settings.venues else None,
            network=network,
            router=router,
            venue_sync=venue_sync,
            secrets_key_arn=secrets_key.outputs.arn,
        )


@dataclass(frozen=True)
class AppTierOutputs(ComponentOutputs):
    """What people read of the app tier: every one a stack output."""

    services: pulumi.Output[dict[str, dict[str, object]]] = field(
        metadata=exported(
            "Per domain service: its database and database role, the RDS instance holding the "
            "database, where it runs (`shared`, `ecs`, or its own name on a dedicated host) "
            "and the names of the SSM parameters holding its credentials and URLs. Names "
            "only, never a value.",
            people="read a service's credential: `aws ssm get-parameter --with-decryption "
            "--name <services.<service>.ssmParameters.database-url>`",
        )
    )
    rds_endpoint: pulumi.Output[str] = field(
        metadata=exported(
            "The endpoint (`host:port`) of the RDS PostgreSQL instance serving the shared "
            "databases (the restored copy once `database.restore.serve` is set), or of the "
            "first dedicated one where every service has its own.",
            people="connect from an app host (opened with `ssmSessionCommand`); RDS is "
            "reachable from the app hosts only",
        )
    )
    app_host_instance_ids: pulumi.Output[dict[str, str]] = field(
        metadata=exported(
            "The EC2 instance id of each app host, by host (`shared`, or the name of a "
            "service on a dedicated host).",
            people="open a shell on any app host: `aws ssm start-session --target <id>`",
        )
    )
    ssm_session_command: pulumi.Output[str] = field(
        metadata=exported(
            "The command that opens a shell on the shared app host through SSM Session "
            "Manager: the hosts have no SSH and no open port.",
            people="run it for a shell on the shared app host",
        )
    )


class AppTier(pulumi.ComponentResource):
    """Everything behind the ALB for a cloud stack, placed by `components.aws.placement`.

    The shared RDS instance (plus one per `database: dedicated` service), one
    `ServiceBackingStack` per catalog service, one `WebClientSite` per static
    web client, the shared app host (plus one per `host: dedicated` service),
    and the alarms and dashboard watching them. Switching a placement in
    config is the whole scale path.

    Args:
        name: prefix for every child's name.
        args: each child's config and the boundaries they are wired to (`AppTierArgs.of`).
        opts: must carry the stack's AWS provider.
    """

    outputs: AppTierOutputs
    stack_outputs: dict[str, pulumi.Input[object]]

    def __init__(
        self, name: str, args: AppTierArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ticketing:aws:AppTier", name, None, opts)
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        child = self._child

        alarms = AlarmTopic(f"{name}-alarms", args.alarms, opts=child)
        firewall = AppHostFirewall(f"{name}-hosts", args.firewall, opts=child)
        databases = self._databases(firewall)
        stacks = self._stacks(databases, alarms)
        sites = {c: WebClientSite(c, site, opts=child) for c, site in args.sites.items()}
        hosts = self._hosts(firewall, stacks, sites, databases)
        if args.backups is not None:
            DataBackups(
                f"{name}-backups",
                DataBackupsArgs.of(
                    args.backups,
                    [d.outputs.arn for d in databases.values()]
                    + [h.outputs.data_volume_arn for h in hosts.values()],
                ),
                opts=child,
            )
        self._fargate(name, stacks, databases, alarms, hosts)
        Observability(
            f"{name}-observability",
            ObservabilityArgs.of(
                args.environment,
                args.region,
                args.host_instance_type,
                topic_arn=alarms.outputs.arn,
                alb_arn_suffix=args.router.outputs.alb_arn_suffix,
                databases=databases,
                hosts={h: host.outputs.instance_id for h, host in hosts.items()},
                nat_instance_id=args.network.outputs.nat_instance_id,
                dashboard=args.dashboard,
            ),
            opts=child,
        )
        if args.venue_health is not None:
            VenueHealthAlarms(
                f"{name}-venue-health",
                VenueHealthAlarmsArgs.of(args.venue_health, alarms.outputs.arn),
                opts=child,
            )

        shared_db = databases.get(args.serving) or next(iter(databases.values()))
        self.outputs = AppTierOutputs(
            services=self._services(stacks),  # names only, never a secret value
            rds_endpoint=shared_db.outputs.endpoint,
            app_host_instance_ids=pulumi.Output.all(
                **{h: host.outputs.instance_id for h, host in hosts.items()}
            ).apply(lambda v: {str(k): str(i) for k, i in v.items()}),
            ssm_session_command=hosts[placement.SHARED].outputs.session_command,
        )
        self.stack_outputs = self.outputs.stack_outputs()
        self.register_outputs(self.outputs.registered())

    def _databases(self, firewall: AppHostFirewall) -> dict[str, Database]:
        """The shared RDS instance (`db`) where any service uses it, its restored copy
        (`db-restored`), and one per dedicated database (`<service>-db`), each admitting
        the app hosts' group."""
        network = self._args.network
        return {
            target: Database(
                placement.database_component(target),
                DatabaseArgs.of(
                    config,
                    vpc_id=network.outputs.vpc_id,
                    subnet_ids=network.outputs.private_subnet_ids,
                    client_security_group_id=firewall.outputs.security_group_id,
                    secrets_key_arn=self._args.secrets_key_arn,
                ),
                opts=self._child,
            )
            for target, config in self._args.databases.items()
        }

    def _stacks(
        self, databases: Mapping[str, Database], alarms: AlarmTopic
    ) -> dict[str, ServiceBackingStack]:
        """One backing stack per catalog service, on the RDS instance holding its database."""
        args = self._args
        return {
            service: ServiceBackingStack(
                service,
                ServiceBackingStackArgs.of(
                    config,
                    database=databases[args.database_of[service]],
                    router=args.router,
                    vpc_id=args.network.outputs.vpc_id,
                    alarm_topic_arn=alarms.outputs.arn,
                    secrets_key_arn=args.secrets_key_arn,
                ),
                opts=self._child,
            )
            for service, config in args.stacks.items()
        }

    def _hosts(
        self,
        firewall: AppHostFirewall,
        stacks: Mapping[str, ServiceBackingStack],
        sites: Mapping[str, WebClientSite],
        databases: Mapping[str, Database],
    ) -> dict[str, AppHost]:
        """The shared app host, then one per dedicated service, each in its zone's private
        subnet."""
        args, network = self._args, self._args.network
        private = network.outputs.private_subnet_ids
        return {
            config.layout.name: AppHost(
                f"{config.layout.name}-host",
                AppHostArgs.of(
                    config,
                    subnet_id=private[zone],
                    zone=network.zones[zone],
                    egress=network.private_egress[zone],
                    security_group_id=firewall.outputs.security_group_id,
                    stacks=stacks,
                    sites=sites,
                    databases=databases,
                    secrets_key_arn=args.secrets_key_arn,
                    venue_sync=args.venue_sync,
                ),
                opts=self._child,
            )
            for config, zone in zip(args.hosts, args.host_zones, strict=True)
        }

    def _fargate(
        self,
        name: str,
        stacks: Mapping[str, ServiceBackingStack],
        databases: Mapping[str, Database],
        alarms: AlarmTopic,
        hosts: Mapping[str, AppHost],
    ) -> None:
        """One `FargateService` per `host: ecs` service, under its backing stack."""
        args = self._args
        if args.cluster is None:
            return
        cluster = FargateCluster(f"{name}-ecs", args.cluster, opts=self._child)
        for config in args.fargate:
            service = config.spec.service
            stack = stacks[service.name]
            database = databases.get(args.database_of[service.name])
            revisions = [stack.outputs.revision]
            if service.name == naming.VENUE_SYNC_SERVICE:
                revisions.append(args.venue_sync.outputs.revision)
            FargateService(
                f"{service.name}-ecs",
                FargateServiceArgs.of(
                    config,
                    cluster=cluster.outputs,
                    vpc_id=args.network.outputs.vpc_id,
                    subnet_ids=args.network.outputs.private_subnet_ids,
                    alb_security_group_id=args.router.outputs.alb_security_group_id,
                    alb_arn_suffix=args.router.outputs.alb_arn_suffix,
                    target_group_arn=stack.outputs.routed_target_group_arn,
                    target_group_arn_suffix=stack.outputs.target_group_arn_suffix,
                    database_security_group_id=(
                        database.outputs.security_group_id if database else None
                    ),
                    alarm_topic_arn=alarms.outputs.arn,
                    secrets_key_arn=args.secrets_key_arn,
                    secrets_revision=pulumi.Output.all(*revisions).apply(
                        lambda r: ";".join(str(x) for x in r)
                    ),
                    # The shared host bootstraps the service's database before its tasks start.
                    wait_for=[hosts[placement.SHARED]],
                ),
                opts=pulumi.ResourceOptions(parent=stack),
            )

    def _services(
        self, stacks: Mapping[str, ServiceBackingStack]
    ) -> pulumi.Output[dict[str, dict[str, object]]]:
        """Per service: its database, role, RDS instance, host and SSM parameters' names."""
        return pulumi.Output.all(
            **{
                n: pulumi.Output.all(
                    databaseName=s.outputs.database_name,
                    roleName=s.outputs.role_name,
                    databaseInstance=s.outputs.database_identifier,
                    host=self._args.host_of[n],
                    ssmParameters=s.outputs.parameter_names,
                )
                for n, s in stacks.items()
            }
        ).apply(lambda v: {str(k): dict(d) for k, d in v.items()})
