"""`AppTier`: behind the ALB, in the seed's order: databases, backing stacks, app hosts, alarms."""

from __future__ import annotations

from collections.abc import Mapping

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
from components.outputs import StackOutput, describe
from components.settings import CloudSettings
from seed import catalog, naming

# Exported as a dict until AppTier declares AppTierOutputs; then each moves into `exported`.
STACK_OUTPUTS = describe(
    __name__,
    {
        "services": StackOutput(
            "Per domain service: its database and database role, the RDS instance holding the "
            "database, the app host it runs on (`shared` or `dedicated`) and the names of the "
            "SSM parameters holding its credentials and URLs. Names only, never a value.",
            people="read a service's credential: `aws ssm get-parameter --with-decryption "
            "--name <services.<service>.ssmParameters.database-url>`",
        ),
        "rdsEndpoint": StackOutput(
            "The endpoint (`host:port`) of the shared RDS PostgreSQL instance, or of the "
            "first dedicated one where every service has its own.",
            people="connect from an app host (opened with `ssmSessionCommand`); RDS is "
            "reachable from the app hosts only",
        ),
        "appHostInstanceIds": StackOutput(
            "The EC2 instance id of each app host, by host (`shared`, or the name of a "
            "service on a dedicated host).",
            people="open a shell on any app host: `aws ssm start-session --target <id>`",
        ),
        "ssmSessionCommand": StackOutput(
            "The command that opens a shell on the shared app host through SSM Session "
            "Manager: the hosts have no SSH and no open port.",
            people="run it for a shell on the shared app host",
        ),
    },
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
        settings: the cloud stack's settings.
        network: the VPC, its private subnets and what their internet egress consists of.
        router: the ALB (`components.aws_ingress.Ingress`).
        venue_sync: the venues' sync credentials, which the ticketing service reads.
        secrets_key: the key every SecureString and master secret is encrypted with.
        opts: must carry the stack's AWS provider.
    """

    services: pulumi.Output[dict[str, dict[str, object]]]
    rds_endpoint: pulumi.Output[str]
    app_host_instance_ids: pulumi.Output[dict[str, str]]
    ssm_session_command: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        settings: CloudSettings,
        network: AwsNetwork,
        router: Router,
        venue_sync: VenueSyncCredentials,
        secrets_key: SecretsKey,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("ticketing:aws:AppTier", name, None, opts)
        key_arn = secrets_key.outputs.arn
        child = pulumi.ResourceOptions(parent=self)
        env = settings.environment
        private = network.outputs.private_subnet_ids

        alarms = AlarmTopic(f"{name}-alarms", AlarmTopicArgs.of(settings), opts=child)
        firewall = AppHostFirewall(
            f"{name}-hosts",
            AppHostFirewallArgs.of(network.outputs.vpc_id, router.outputs.alb_security_group_id),
            opts=child,
        )
        databases = {
            target: Database(
                placement.database_component(target),
                DatabaseArgs.of(
                    DatabaseConfig.of(settings, placement.restore_of(settings, target)),
                    vpc_id=network.outputs.vpc_id,
                    subnet_ids=private,
                    client_security_group_id=firewall.outputs.security_group_id,
                    secrets_key_arn=key_arn,
                ),
                opts=child,
            )
            for target in placement.databases(settings)
        }
        stacks = {
            s.name: ServiceBackingStack(
                s.name,
                ServiceBackingStackArgs.of(
                    ServiceBackingStackConfig.of(settings, s),
                    database=databases[placement.database_of(settings, s.name)],
                    router=router,
                    vpc_id=network.outputs.vpc_id,
                    alarm_topic_arn=alarms.outputs.arn,
                    secrets_key_arn=key_arn,
                ),
                opts=child,
            )
            for s in catalog.SERVICES
        }
        sites = {
            c.name: WebClientSite(
                c.name,
                WebClientSiteArgs.of(settings, c, router, network.outputs.vpc_id),
                opts=child,
            )
            for c in catalog.WEB_CLIENTS
        }
        zones = placement.host_zones(settings)
        hosts = {
            layout.name: AppHost(
                f"{layout.name}-host",
                AppHostArgs.of(
                    AppHostConfig.of(settings, layout),
                    subnet_id=private[zones[index]],
                    zone=network.zones[zones[index]],
                    egress=network.private_egress[zones[index]],
                    security_group_id=firewall.outputs.security_group_id,
                    stacks=stacks,
                    sites=sites,
                    databases=databases,
                    secrets_key_arn=key_arn,
                    venue_sync=venue_sync,
                ),
                opts=child,
            )
            for index, layout in enumerate(placement.hosts(settings))
        }
        if settings.backup.retention_days:
            DataBackups(
                f"{name}-backups",
                DataBackupsArgs.of(
                    DataBackupsConfig.of(settings),
                    [d.outputs.arn for d in databases.values()]
                    + [h.outputs.data_volume_arn for h in hosts.values()],
                ),
                opts=child,
            )
        self._fargate(
            name, settings, network, router, stacks, databases, alarms, hosts, venue_sync, key_arn
        )
        Observability(
            f"{name}-observability",
            ObservabilityArgs.of(
                env,
                settings.region,
                settings.app_host.instance_type,
                topic_arn=alarms.outputs.arn,
                alb_arn_suffix=router.outputs.alb_arn_suffix,
                databases=databases,
                hosts={h: host.outputs.instance_id for h, host in hosts.items()},
                nat_instance_id=network.outputs.nat_instance_id,
                dashboard=settings.observability.dashboard,
            ),
            opts=child,
        )
        if settings.venues:
            VenueHealthAlarms(
                f"{name}-venue-health",
                VenueHealthAlarmsArgs.of(VenueHealthAlarmsConfig.of(settings), alarms.outputs.arn),
                opts=child,
            )

        self.services = pulumi.Output.all(
            **{
                n: pulumi.Output.all(
                    databaseName=s.outputs.database_name,
                    roleName=s.outputs.role_name,
                    databaseInstance=s.outputs.database_identifier,
                    host=placement.host_of(settings, n),
                    ssmParameters=s.outputs.parameter_names,
                )
                for n, s in stacks.items()
            }
        ).apply(lambda v: {str(k): dict(d) for k, d in v.items()})
        shared_db = databases.get(placement.serving(settings)) or next(iter(databases.values()))
        self.rds_endpoint = shared_db.outputs.endpoint
        self.app_host_instance_ids = pulumi.Output.all(
            **{h: host.outputs.instance_id for h, host in hosts.items()}
        ).apply(lambda v: {str(k): str(i) for k, i in v.items()})
        self.ssm_session_command = hosts[placement.SHARED].outputs.session_command
        self.stack_outputs = STACK_OUTPUTS.values(
            {
                "services": self.services,  # names only, never a secret value
                "rdsEndpoint": self.rds_endpoint,
                "appHostInstanceIds": self.app_host_instance_ids,
                "ssmSessionCommand": self.ssm_session_command,
            }
        )
        self.register_outputs(self.stack_outputs)

    def _fargate(
        self,
        name: str,
        settings: CloudSettings,
        network: AwsNetwork,
        router: Router,
        stacks: Mapping[str, ServiceBackingStack],
        databases: Mapping[str, Database],
        alarms: AlarmTopic,
        hosts: Mapping[str, AppHost],
        venue_sync: VenueSyncCredentials,
        secrets_key_arn: pulumi.Output[str],
    ) -> None:
        """One `FargateService` per `host: ecs` service, under its backing stack."""
        on_ecs = placement.ecs_services(settings)
        if not on_ecs:
            return
        cluster = FargateCluster(
            f"{name}-ecs",
            FargateClusterArgs.of(settings, vpc_id=network.outputs.vpc_id),
            opts=pulumi.ResourceOptions(parent=self),
        )
        for service in on_ecs:
            stack = stacks[service.name]
            database = databases.get(placement.database_of(settings, service.name))
            revisions = [stack.outputs.revision]
            if service.name == naming.VENUE_SYNC_SERVICE:
                revisions.append(venue_sync.outputs.revision)
            FargateService(
                f"{service.name}-ecs",
                FargateServiceArgs.of(
                    FargateServiceConfig.of(settings, service),
                    cluster=cluster.outputs,
                    vpc_id=network.outputs.vpc_id,
                    subnet_ids=network.outputs.private_subnet_ids,
                    alb_security_group_id=router.outputs.alb_security_group_id,
                    alb_arn_suffix=router.outputs.alb_arn_suffix,
                    target_group_arn=stack.outputs.routed_target_group_arn,
                    target_group_arn_suffix=stack.outputs.target_group_arn_suffix,
                    database_security_group_id=(
                        database.outputs.security_group_id if database else None
                    ),
                    alarm_topic_arn=alarms.outputs.arn,
                    secrets_key_arn=secrets_key_arn,
                    secrets_revision=pulumi.Output.all(*revisions).apply(
                        lambda r: ";".join(str(x) for x in r)
                    ),
                    # The shared host bootstraps the service's database before its tasks start.
                    wait_for=[hosts[placement.SHARED]],
                ),
                opts=pulumi.ResourceOptions(parent=stack),
            )
