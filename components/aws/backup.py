"""`DataBackups`: AWS Backup's daily recovery points of the stack's RDS instances and of
the app hosts' data volumes (Docker's data root: RabbitMQ's queues).

RDS's own automated backups (`database.backupRetentionDays`, at most 35 days) live
and die with the instance's region and account settings; AWS Backup keeps recovery
points in a vault of their own, for as long as `backup.retentionDays` says, and,
with `backup.copyRegion`, copies each one to a vault in a second region (prod), so
a lost region still leaves a database to restore.

- one vault in the stack's region (`ticketing-<env>`), encrypted with AWS Backup's
  key, and with `copy_region` one there (`ticketing-<env>-copy`);
- one plan: a daily rule at `backup.startTime` (05:00 UTC unless set; the settings keep
  its hour clear of RDS's backup and maintenance windows) that must start within the
  hour and finish within eight, keeping points `retention_days` and copies
  `copy_retention_days`;
- one selection naming each RDS instance and data volume by ARN, taken with a role
  that only AWS
  Backup may assume, for this account, holding AWS's managed backup and restore
  policies.

Restoring is `aws backup start-restore-job` from a recovery point into a new
instance (docs/runbooks.md, "Restore a database from AWS Backup").
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.outputs import ComponentOutputs
from components.settings import CloudSettings
from components.settings.cloud import BACKUP_START_WINDOW_MINUTES
from seed import naming

BACKUP_PRINCIPAL = "backup.amazonaws.com"
# AWS's managed policies for the role AWS Backup takes a backup with (snapshots of RDS,
# EBS and the other supported resources; nothing else) and restores one with.
BACKUP_SERVICE_POLICY = "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"
RESTORE_SERVICE_POLICY = (
    "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores"
)
START_WITHIN_MINUTES = BACKUP_START_WINDOW_MINUTES
COMPLETE_WITHIN_MINUTES = 480


@dataclass(frozen=True)
class DataBackupsConfig:
    """The stack's backups, from its settings alone (no other component's output).

    Attributes:
        environment: dev, staging or prod (vault, plan and role names).
        retention_days: days each recovery point is kept (`backup.retentionDays`).
        schedule: the daily rule's cron expression, from `backup.startTime` (UTC).
        copy_region: the region each point is copied to, or None (`backup.copyRegion`).
        copy_retention_days: days each copy is kept (`backup.copyRetentionDays`).
    """

    environment: str
    retention_days: int
    schedule: str
    copy_region: str | None
    copy_retention_days: int

    @classmethod
    def of(cls, settings: CloudSettings) -> DataBackupsConfig:
        """The stack's `backup` settings."""
        backup = settings.backup
        hours, minutes = (int(part) for part in backup.start_time.split(":"))
        return cls(
            environment=settings.environment,
            retention_days=backup.retention_days,
            schedule=f"cron({minutes} {hours} * * ? *)",
            copy_region=backup.copy_region,
            copy_retention_days=backup.kept_copy_days,
        )


@dataclass(frozen=True)
class DataBackupsArgs:
    """What the backups of one stack's databases and data volumes need.

    Attributes:
        config: the backups as the settings describe them (`DataBackupsConfig.of`).
        resource_arns: the RDS instances and EBS volumes to back up.
    """

    config: DataBackupsConfig
    resource_arns: tuple[pulumi.Input[str], ...]

    @classmethod
    def of(
        cls, config: DataBackupsConfig, resource_arns: Sequence[pulumi.Input[str]]
    ) -> DataBackupsArgs:
        """`config`'s backups, for these resources."""
        return cls(config, tuple(resource_arns))


@dataclass(frozen=True)
class DataBackupsOutputs(ComponentOutputs):
    """`vault_name`: where the recovery points are; `plan_id`: the backup plan; `role_arn`:
    the role a restore job runs with."""

    vault_name: pulumi.Output[str]
    plan_id: pulumi.Output[str]
    role_arn: pulumi.Output[str]


class DataBackups(pulumi.ComponentResource):
    """A vault (and a copy vault in a second region), a daily plan, and the selection of
    the stack's RDS instances and data volumes. See the module docstring."""

    outputs: DataBackupsOutputs

    def __init__(
        self, name: str, args: DataBackupsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ticketing:aws:DataBackups", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix = f"{naming.PROJECT}-{args.config.environment}"
        vault = aws.backup.Vault(f"{name}-vault", name=prefix, opts=child)
        copies: list[aws.backup.PlanRuleCopyActionArgs] = []
        if args.config.copy_region is not None:
            copy_vault = aws.backup.Vault(
                f"{name}-copy-vault",
                name=f"{prefix}-copy",
                region=args.config.copy_region,
                opts=child,
            )
            copies.append(
                aws.backup.PlanRuleCopyActionArgs(
                    destination_vault_arn=copy_vault.arn,
                    lifecycle=aws.backup.PlanRuleCopyActionLifecycleArgs(
                        delete_after=args.config.copy_retention_days
                    ),
                )
            )
        plan = aws.backup.Plan(
            f"{name}-plan",
            name=prefix,
            rules=[
                aws.backup.PlanRuleArgs(
                    rule_name="daily",
                    target_vault_name=vault.name,
                    schedule=args.config.schedule,
                    start_window=START_WITHIN_MINUTES,
                    completion_window=COMPLETE_WITHIN_MINUTES,
                    lifecycle=aws.backup.PlanRuleLifecycleArgs(
                        delete_after=args.config.retention_days
                    ),
                    copy_actions=copies,
                )
            ],
            opts=child,
        )
        account = aws.get_caller_identity_output(
            opts=pulumi.InvokeOutputOptions(parent=self)
        ).account_id
        role = aws.iam.Role(
            f"{name}-role",
            name=f"{prefix}-backup",
            description=f"{prefix}: AWS Backup snapshots the databases and data volumes",
            assume_role_policy=account.apply(backup_trust_policy),
            opts=child,
        )
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-role-policy", role=role.name, policy_arn=BACKUP_SERVICE_POLICY, opts=child
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-role-restores", role=role.name, policy_arn=RESTORE_SERVICE_POLICY, opts=child
        )
        aws.backup.Selection(
            f"{name}-data",
            name=f"{prefix}-data",
            plan_id=plan.id,
            iam_role_arn=role.arn,
            resources=list(args.resource_arns),
            # AWS Backup checks the role when the selection is created.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[attachment]),
        )
        self.outputs = DataBackupsOutputs(vault_name=vault.name, plan_id=plan.id, role_arn=role.arn)
        self.register_outputs(self.outputs.registered())


def backup_trust_policy(account: str) -> str:
    """Only AWS Backup may assume the role, and only for this account's backups."""
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": BACKUP_PRINCIPAL},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": account}},
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, sort_keys=True)
