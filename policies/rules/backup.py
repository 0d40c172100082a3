"""AWS Backup: outside dev every database has recovery points of its own, and prod's are
copied to a second region.

RDS's automated backups go with the instance's region and settings; a backup plan
keeps recovery points in a vault of its own. The rule reads the stack as a whole: a
database is covered when a backup selection names its ARN, and in prod when that
selection's plan copies each point to a vault in another region.
"""

from __future__ import annotations

from typing import Final

from pulumi_policy import PolicyResource, Severity, StackValidationArgs

from policies.rules.common import (
    ENVIRONMENT_SCHEMA,
    Category,
    Reporter,
    at,
    elements,
    is_unknown,
    stack_environment,
    stack_rule,
    text,
)

RDS_INSTANCE: Final = "aws:rds/instance:Instance"
BACKUP_PLAN: Final = "aws:backup/plan:Plan"
BACKUP_SELECTION: Final = "aws:backup/selection:Selection"
BACKUP_VAULT: Final = "aws:backup/vault:Vault"


def _copies_elsewhere(plan: PolicyResource, vaults: list[PolicyResource]) -> bool:
    """Whether a rule of `plan` copies to a vault of this stack in another region, or to a
    vault the stack does not hold (which is then elsewhere, by ARN)."""
    regions = {text(at(v.props, "arn")): text(at(v.props, "region")) for v in vaults}
    for rule in elements(at(plan.props, "rules")):
        for copy in elements(at(rule, "copyActions")):
            destination = at(copy, "destinationVaultArn")
            if is_unknown(destination):
                return True  # a vault created in this update: its region is in its inputs
            if text(destination) and (destination not in regions or regions[destination]):
                return True
    return False


def _databases_backed_up(args: StackValidationArgs, report: Reporter) -> None:
    env = stack_environment(args)
    databases = [r for r in args.resources if r.resource_type == RDS_INSTANCE]
    if env.is_dev:
        args.not_applicable(f"environment {env} keeps RDS's automated backups only")
        return
    if not databases:
        args.not_applicable("no RDS instance in this stack")
        return
    vaults = [v for v in args.resources if v.resource_type == BACKUP_VAULT]
    selected: dict[str, PolicyResource | None] = {}
    for selection in (r for r in args.resources if r.resource_type == BACKUP_SELECTION):
        # The selection's `planId` input makes the plan one of its dependencies.
        plan = next((d for d in selection.dependencies if d.resource_type == BACKUP_PLAN), None)
        for arn in elements(at(selection.props, "resources")):
            if text(arn):
                selected[arn] = plan
    for database in databases:
        arn = text(at(database.props, "arn"))
        if arn is None:
            continue  # created in this update: the selection names it by an unknown ARN
        if arn not in selected:
            report(f"RDS instance {database.name} is in no AWS Backup selection.", database.urn)
            continue
        plan = selected[arn]
        strict = env.name in ("prod", None)  # an unknown environment gets the strict form
        if strict and (plan is None or not _copies_elsewhere(plan, vaults)):
            report(
                f"RDS instance {database.name}'s backups are not copied to another region.",
                database.urn,
            )


POLICIES = [
    stack_rule(
        "rds-in-a-backup-plan",
        description="Outside dev, every RDS instance is in an AWS Backup plan; in prod the plan "
        "copies each recovery point to a second region.",
        category=Category.ARCHITECTURE,
        severity=Severity.HIGH,
        remediation="Set ticketing:backup.retentionDays (at least 1) and, in prod, "
        "ticketing:backup.copyRegion to a region other than the stack's.",
        check=_databases_backed_up,
        config={"environment": ENVIRONMENT_SCHEMA},
    ),
]
