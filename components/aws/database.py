"""`Database`: an RDS PostgreSQL instance, hardened the same way whether shared or dedicated."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws import placement
from components.aws.instance_identity import service_assume_role_policy
from components.outputs import ComponentOutputs
from components.settings import (
    CloudSettings,
    DatabaseRestoreSettings,
    DatabaseSettings,
    RetentionDays,
    rds_classes,
)
from seed import naming

POSTGRES_PORT = 5432
LOG_EXPORTS = ("postgresql", "upgrade")
SLOW_QUERY_MS = 500
PERFORMANCE_INSIGHTS_DAYS = 7  # the free retention tier
MONITORING_PRINCIPAL = "monitoring.rds.amazonaws.com"
MASTER_USER = "postgres_admin"


# The parameter group's settings: name -> (value, apply method). `pending-reboot` is valid
# for static and dynamic parameters alike, `immediate` for dynamic ones only (botocore's
# rds model, ModifyDBParameterGroup's Parameters); a static one set `immediate` fails.
# max_connections is static; rds.force_ssl takes effect at the next reboot, never mid-day.
# Bind values are personal data (names, e-mails, card tokens): a slow statement's log line
# and an error's context carry none of them (PostgreSQL's log_parameter_max_length and
# log_parameter_max_length_on_error, 0 = none; the suite runs them on a real server).
FORCE_SSL = ("rds.force_ssl", "1", "pending-reboot")
LOG_PARAMETERS = (
    ("log_min_duration_statement", str(SLOW_QUERY_MS), "immediate"),
    ("log_parameter_max_length", "0", "immediate"),
    ("log_parameter_max_length_on_error", "0", "immediate"),
)


def parameter_group_parameters(instance_class: str) -> list[aws.rds.ParameterGroupParameterArgs]:
    """The parameter group's parameters for an instance of `instance_class`."""
    connections = (
        "max_connections",
        str(rds_classes.max_connections(instance_class)),
        "pending-reboot",
    )
    return [
        aws.rds.ParameterGroupParameterArgs(name=n, value=v, apply_method=m)
        for n, v, m in (FORCE_SSL, connections, *LOG_PARAMETERS)
    ]


@dataclass(frozen=True)
class DatabaseConfig:
    """What one RDS instance is, from the stack's settings alone (no other component's output).

    Attributes:
        environment: dev, staging or prod (identifier; dev drops its data with the stack).
        settings: the stack's database settings (a dedicated instance reuses them).
        log_retention_days: retention of the exported PostgreSQL logs.
        restore: what a restored instance is made from (`placement.restore_of`): a
            snapshot, or a point in time of the shared instance; None for a new one.
    """

    environment: str
    settings: DatabaseSettings
    log_retention_days: RetentionDays
    restore: DatabaseRestoreSettings | None = None

    @classmethod
    def of(
        cls, settings: CloudSettings, restore: DatabaseRestoreSettings | None = None
    ) -> DatabaseConfig:
        """The stack's `database` settings, its environment and its log retention;
        restored from `restore` where given."""
        return cls(
            environment=settings.environment,
            settings=settings.database,
            log_retention_days=settings.observability.log_retention_days,
            restore=restore,
        )


@dataclass(frozen=True)
class DatabaseArgs:
    """What one RDS instance needs.

    Attributes:
        config: the instance as the settings describe it (`DatabaseConfig.of`).
        vpc_id: the VPC.
        subnet_ids: the private subnets its subnet group spans.
        client_security_group_id: the app hosts' group, the only one admitted.
        secrets_key_arn: the key RDS encrypts the master secret with (`SecretsKey`).
    """

    config: DatabaseConfig
    vpc_id: pulumi.Input[str]
    subnet_ids: tuple[pulumi.Input[str], ...]
    client_security_group_id: pulumi.Input[str]
    secrets_key_arn: pulumi.Input[str]

    @classmethod
    def of(
        cls,
        config: DatabaseConfig,
        *,
        vpc_id: pulumi.Input[str],
        subnet_ids: Sequence[pulumi.Input[str]],
        client_security_group_id: pulumi.Input[str],
        secrets_key_arn: pulumi.Input[str],
    ) -> DatabaseArgs:
        """`config`'s instance in its VPC's private subnets, for these clients."""
        return cls(
            config=config,
            vpc_id=vpc_id,
            subnet_ids=tuple(subnet_ids),
            client_security_group_id=client_security_group_id,
            secrets_key_arn=secrets_key_arn,
        )


@dataclass(frozen=True)
class DatabaseOutputs(ComponentOutputs):
    """Where the instance is and how its clients reach it.

    `master_secret_arn`: the Secrets Manager secret RDS keeps the master password in;
    `security_group_id`: the instance's own group (a Fargate service adds its rule).
    """

    arn: pulumi.Output[str]
    identifier: pulumi.Output[str]
    address: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    master_secret_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    port: pulumi.Output[int]


class Database(pulumi.ComponentResource):
    """RDS PostgreSQL in the private subnets, reachable on 5432 from the app hosts only.

    Encrypted gp3 storage with autoscaling, the master password managed by RDS
    (Secrets Manager), a parameter group forcing TLS, logging slow queries without
    their bind values and setting max_connections from `rds_classes` (the number
    the connections alarm is a fraction of),
    backups, Multi-AZ and deletion protection as configured, Performance
    Insights, Enhanced Monitoring where configured (outside dev: the OS's per
    process view every 60 s, through a role only RDS may assume for this
    instance), automatic minor upgrades (unless the settings pin a minor version),
    tags copied to snapshots and logs exported to CloudWatch. Outside dev it takes
    a final snapshot and is `protect`ed, so neither Pulumi nor a console click can
    drop the data.

    `settings` is what it was built from: its alarms' thresholds follow its class
    and storage.

    Args:
        name: prefix for every child's name (`db` for the shared instance,
            `<service>-db` for a dedicated one).
        args: its settings and network (`DatabaseArgs.of`).
        opts: must carry the stack's AWS provider.
    """

    outputs: DatabaseOutputs
    settings: DatabaseSettings

    def __init__(
        self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ticketing:aws:Database", name, None, opts)
        self._name = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        self._identifier = f"{naming.PROJECT}-{args.config.environment}-{name}"
        self.settings = args.config.settings

        subnet_group, group = self._network()
        parameters = self._parameter_group()
        log_groups = self._log_groups()
        monitoring = self._monitoring_role(
            name, self._identifier, args.config.settings, self._child
        )
        instance = self._instance(subnet_group, group, parameters, log_groups, monitoring)
        self.outputs = DatabaseOutputs(
            arn=instance.arn,
            identifier=instance.identifier,
            address=instance.address,
            endpoint=instance.endpoint,
            master_secret_arn=instance.master_user_secrets.apply(
                lambda secrets: (secrets[0].secret_arn or "") if secrets else ""
            ),
            security_group_id=group.id,
            port=instance.port,
        )
        self.register_outputs(self.outputs.registered())

    def _network(self) -> tuple[aws.rds.SubnetGroup, aws.ec2.SecurityGroup]:
        """Its subnet group, and its security group admitting the app hosts' on 5432."""
        name, identifier, args, child = self._name, self._identifier, self._args, self._child
        subnet_group = aws.rds.SubnetGroup(
            f"{name}-subnets",
            description=f"Private subnets of {identifier}",
            subnet_ids=list(args.subnet_ids),
            opts=child,
        )
        group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description=f"{identifier}: PostgreSQL from the app hosts only",
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-from-app-hosts",
            security_group_id=group.id,
            referenced_security_group_id=args.client_security_group_id,
            ip_protocol="tcp",
            from_port=POSTGRES_PORT,
            to_port=POSTGRES_PORT,
            description="PostgreSQL from the app hosts",
            opts=child,
        )
        # The other half of the same connection, so a dedicated instance is reachable too.
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-app-hosts-to-db",
            security_group_id=args.client_security_group_id,
            referenced_security_group_id=group.id,
            ip_protocol="tcp",
            from_port=POSTGRES_PORT,
            to_port=POSTGRES_PORT,
            description=f"PostgreSQL to {identifier}",
            opts=child,
        )
        return subnet_group, group

    def _parameter_group(self) -> aws.rds.ParameterGroup:
        settings = self._args.config.settings
        return aws.rds.ParameterGroup(
            f"{self._name}-params",
            family=settings.family,
            description=f"{self._identifier}: TLS only, slow queries logged without bind values",
            parameters=parameter_group_parameters(settings.instance_class),
            opts=self._child,
        )

    def _log_groups(self) -> list[aws.cloudwatch.LogGroup]:
        """Its exported logs' groups, created before the instance so RDS writes into groups
        that expire."""
        return [
            aws.cloudwatch.LogGroup(
                f"{self._name}-log-{export}",
                name=f"/aws/rds/instance/{self._identifier}/{export}",
                retention_in_days=self._args.config.log_retention_days,
                opts=self._child,
            )
            for export in LOG_EXPORTS
        ]

    def _instance(
        self,
        subnet_group: aws.rds.SubnetGroup,
        group: aws.ec2.SecurityGroup,
        parameters: aws.rds.ParameterGroup,
        log_groups: list[aws.cloudwatch.LogGroup],
        monitoring: tuple[aws.iam.Role, aws.iam.RolePolicyAttachment] | None,
    ) -> aws.rds.Instance:
        settings, restore = self._args.config.settings, self._args.config.restore
        dev = self._args.config.environment == "dev"
        identifier = self._identifier
        return aws.rds.Instance(
            f"{self._name}-instance",
            identifier=identifier,
            engine="postgres",
            engine_version=settings.engine_version,
            instance_class=settings.instance_class,
            allocated_storage=settings.allocated_storage_gb,
            max_allocated_storage=settings.max_allocated_storage_gb,
            storage_type="gp3",
            storage_encrypted=True,
            # A restored instance keeps its source's master user (the provider sends no
            # username to a restore); RDS then manages a new password for it.
            username=None if restore else MASTER_USER,
            manage_master_user_password=True,
            # A restored instance's source. The provider restores first and then applies
            # what the restore call cannot take (storage, backup and maintenance windows,
            # monitoring, Performance Insights, the managed master password and its key)
            # with ModifyDBInstance, so it ends up as hardened as a new one
            # (terraform-provider-aws, internal/service/rds/instance.go: the create's
            # `snapshot_identifier` and `restore_to_point_in_time` branches). Either one
            # changed forces a new instance.
            snapshot_identifier=restore.snapshot if restore else None,
            restore_to_point_in_time=self._point_in_time(),
            # RDS refuses a new key for a secret it already manages (ModifyDBInstance's
            # MasterUserSecretKmsKeyId): an existing instance moves by the runbook "Move a
            # master secret onto the secrets key" (docs/runbooks.md).
            master_user_secret_kms_key_id=self._args.secrets_key_arn,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[group.id],
            parameter_group_name=parameters.name,
            publicly_accessible=False,
            port=POSTGRES_PORT,
            multi_az=settings.multi_az,
            backup_retention_period=settings.backup_retention_days,
            backup_window=settings.backup_window,
            maintenance_window=settings.maintenance_window,
            # Outside dev the automated backups outlive the instance (point-in-time restore
            # of a deleted database); RDS's default removes them with it.
            delete_automated_backups=dev,
            copy_tags_to_snapshot=True,
            deletion_protection=settings.deletion_protection,
            skip_final_snapshot=dev,
            final_snapshot_identifier=None if dev else f"{identifier}-final",
            # A major-only version lets RDS upgrade minors; a pinned minor would drift.
            auto_minor_version_upgrade=not settings.minor_pinned,
            allow_major_version_upgrade=False,
            performance_insights_enabled=settings.performance_insights,
            performance_insights_retention_period=(
                PERFORMANCE_INSIGHTS_DAYS if settings.performance_insights else None
            ),
            enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
            monitoring_interval=settings.enhanced_monitoring_seconds,
            monitoring_role_arn=monitoring[0].arn if monitoring else None,
            # RDS checks the role when the instance is created: it needs its policy by then.
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=not dev,
                depends_on=[*log_groups, *([monitoring[1]] if monitoring else [])],
            ),
        )

    def _point_in_time(self) -> aws.rds.InstanceRestoreToPointInTimeArgs | None:
        """A point-in-time restore's source: the shared instance at `pointInTime`."""
        config = self._args.config
        if config.restore is None or config.restore.point_in_time is None:
            return None
        latest = config.restore.point_in_time == "latest"
        shared = placement.database_component(placement.SHARED)
        return aws.rds.InstanceRestoreToPointInTimeArgs(
            source_db_instance_identifier=f"{naming.PROJECT}-{config.environment}-{shared}",
            restore_time=None if latest else config.restore.point_in_time,
            use_latest_restorable_time=True if latest else None,
        )

    def _monitoring_role(
        self,
        name: str,
        identifier: str,
        settings: DatabaseSettings,
        child: pulumi.ResourceOptions,
    ) -> tuple[aws.iam.Role, aws.iam.RolePolicyAttachment] | None:
        """The Enhanced Monitoring role and its AWS-managed policy; None when monitoring is off.

        Only RDS, for this account's instance of this identifier, may assume it (the trust
        policy of RDS User Guide, "Setting up and enabling Enhanced Monitoring").
        """
        if not settings.enhanced_monitoring_seconds:
            return None
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        region = aws.get_region_output(opts=invoke).region
        trust = pulumi.Output.all(account, region).apply(
            lambda v: service_assume_role_policy(
                MONITORING_PRINCIPAL,
                source_account=str(v[0]),
                source_arn=f"arn:aws:rds:{v[1]}:{v[0]}:db:{identifier}",
            )
        )
        role = aws.iam.Role(
            f"{name}-monitoring",
            description=f"Lets RDS Enhanced Monitoring of {identifier} write its OS metrics",
            assume_role_policy=trust,
            opts=child,
        )
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-monitoring",
            role=role.name,
            policy_arn=aws.iam.ManagedPolicy.AMAZON_RDS_ENHANCED_MONITORING_ROLE,
            opts=child,
        )
        return role, attachment
