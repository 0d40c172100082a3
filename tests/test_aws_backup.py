"""AWS Backup of the databases: vaults, the daily plan, its copy to a second region in
prod, the selection of every RDS instance, and the role AWS Backup takes it with."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from components.aws.backup import BACKUP_SERVICE_POLICY, RESTORE_SERVICE_POLICY
from components.settings import CloudSettings, ConfigError, parse
from plan import fakes
from plan.model import Plan, Resource
from plan.resource_types import RDS_INSTANCE
from tests.app_tier_helpers import services_with
from tests.test_settings import cloud

VAULT = "aws:backup/vault:Vault"
PLAN = "aws:backup/plan:Plan"
SELECTION = "aws:backup/selection:Selection"


def only(plan: Plan, type_: str) -> Resource:
    [resource] = plan.of_type(type_)
    return resource


def daily_rule(plan: Plan) -> dict[str, Any]:
    [rule] = only(plan, PLAN).inputs["rules"]
    return dict(rule)


@pytest.mark.parametrize(("stack", "days"), [("staging", 14), ("prod", 35)])
def test_a_daily_recovery_point_is_kept_for_the_environments_days(
    plan_of: Callable[[str], Plan], stack: str, days: int
) -> None:
    plan = plan_of(stack)
    [vault] = [v for v in plan.of_type(VAULT) if "region" not in v.inputs]
    assert vault.inputs["name"] == f"ticketing-{stack}"
    rule = daily_rule(plan)
    assert rule["targetVaultName"] == vault.outputs["name"]
    assert rule["schedule"] == "cron(0 5 * * ? *)"  # backup.startTime 05:00 UTC
    assert (rule["startWindow"], rule["completionWindow"]) == (60, 480)
    assert rule["lifecycle"] == {"deleteAfter": days}


def test_only_prod_copies_each_point_to_a_second_region(plan_of: Callable[[str], Plan]) -> None:
    prod = plan_of("prod")
    [copy_vault] = [v for v in prod.of_type(VAULT) if "region" in v.inputs]
    assert (copy_vault.inputs["name"], copy_vault.inputs["region"]) == (
        "ticketing-prod-copy",
        "eu-central-1",
    )
    [copy] = daily_rule(prod)["copyActions"]
    assert copy == {
        "destinationVaultArn": copy_vault.outputs["arn"],
        "lifecycle": {"deleteAfter": 35},
    }
    assert len(plan_of("staging").of_type(VAULT)) == 1
    assert not daily_rule(plan_of("staging")).get("copyActions")


def test_dev_keeps_rds_automated_backups_only(plan_of: Callable[[str], Plan]) -> None:
    dev = plan_of("dev")
    assert not dev.of_type(VAULT) and not dev.of_type(PLAN) and not dev.of_type(SELECTION)
    assert only(dev, RDS_INSTANCE).inputs["backupRetentionPeriod"] == 1


def test_every_database_and_data_volume_is_selected_dedicated_ones_too(
    capture: Callable[..., Plan],
) -> None:
    plan = capture(
        "staging", services_with("payments", "staging", database="dedicated", host="dedicated")
    )
    databases = plan.of_type(RDS_INSTANCE)
    volumes = plan.of_type("aws:ebs/volume:Volume")
    assert len(databases) == len(volumes) == 2
    selection = only(plan, SELECTION)
    assert sorted(selection.inputs["resources"]) == sorted(
        r.outputs["arn"] for r in (*databases, *volumes)
    )
    assert selection.inputs["planId"] == only(plan, PLAN).id


def test_only_aws_backup_may_take_the_role_for_this_account(prod_plan: Plan) -> None:
    selection = only(prod_plan, SELECTION)
    [role] = [
        r
        for r in prod_plan.of_type("aws:iam/role:Role")
        if r.outputs["arn"] == selection.inputs["iamRoleArn"]
    ]
    [statement] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Service": "backup.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": fakes.ACCOUNT_ID}}
    attachments = [
        a
        for a in prod_plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.inputs["role"] == role.outputs["name"]
    ]
    by_policy = {a.inputs["policyArn"]: a for a in attachments}
    assert set(by_policy) == {BACKUP_SERVICE_POLICY, RESTORE_SERVICE_POLICY}
    # AWS Backup checks the role's permissions when the selection is created.
    assert by_policy[BACKUP_SERVICE_POLICY].urn in selection.depends_on


def test_a_copy_to_the_stacks_own_region_is_one_line() -> None:
    with pytest.raises(ConfigError) as info:
        parse(cloud(backup={"copyRegion": "eu-west-1"}))
    assert str(info.value) == (
        "ticketing:backup.copyRegion: must differ from the stack's region (eu-west-1): a copy "
        'survives it, got "eu-west-1"'
    )


def test_staging_without_backups_is_one_line() -> None:
    raw = cloud(environment="staging", backup={"retentionDays": 0})
    with pytest.raises(ConfigError) as info:
        parse(raw)
    assert (
        str(info.value) == "ticketing:backup.retentionDays: must be at least 1 outside dev, got 0"
    )


def test_prod_without_a_copy_region_is_one_line() -> None:
    raw = cloud(
        environment="prod", database__multiAz=True, database__deletionProtection=True, backup={}
    )
    with pytest.raises(ConfigError, match=r"^ticketing:backup.copyRegion: prod copies its backups"):
        parse(raw)
    settings = parse({**raw, "backup": {"copyRegion": "eu-central-1"}})
    assert isinstance(settings, CloudSettings)
    assert settings.backup.kept_copy_days == 35


@pytest.mark.real_engine
def test_the_backup_api_takes_the_vaults_plan_and_role_as_rendered(prod_plan: Plan) -> None:
    """botocore validates each request against AWS Backup's and IAM's API models and moto
    (the AWS API emulator) creates the vaults, the plan with its copy, and the role. (The
    engine carries numbers as floats; the provider sends them as the integers the API takes.)"""
    import boto3
    from moto import mock_aws

    rule = daily_rule(prod_plan)
    [copy] = rule["copyActions"]
    role = next(
        r
        for r in prod_plan.of_type("aws:iam/role:Role")
        if r.inputs.get("name") == "ticketing-prod-backup"
    )
    with mock_aws():
        source = boto3.client("backup", region_name="eu-west-1")
        target = boto3.client("backup", region_name="eu-central-1")
        for client, vault in ((source, "ticketing-prod"), (target, "ticketing-prod-copy")):
            client.create_backup_vault(BackupVaultName=vault)
        copy_arn = target.describe_backup_vault(BackupVaultName="ticketing-prod-copy")[
            "BackupVaultArn"
        ]
        created = source.create_backup_plan(
            BackupPlan={
                "BackupPlanName": only(prod_plan, PLAN).inputs["name"],
                "Rules": [
                    {
                        "RuleName": rule["ruleName"],
                        "TargetBackupVaultName": "ticketing-prod",
                        "ScheduleExpression": rule["schedule"],
                        "StartWindowMinutes": int(rule["startWindow"]),
                        "CompletionWindowMinutes": int(rule["completionWindow"]),
                        "Lifecycle": {"DeleteAfterDays": int(rule["lifecycle"]["deleteAfter"])},
                        "CopyActions": [
                            {
                                "DestinationBackupVaultArn": copy_arn,
                                "Lifecycle": {
                                    "DeleteAfterDays": int(copy["lifecycle"]["deleteAfter"])
                                },
                            }
                        ],
                    }
                ],
            }
        )
        stored = source.get_backup_plan(BackupPlanId=created["BackupPlanId"])["BackupPlan"]
        [kept] = stored["Rules"]
        assert kept["Lifecycle"]["DeleteAfterDays"] == 35
        assert kept["CopyActions"][0]["DestinationBackupVaultArn"].startswith(
            "arn:aws:backup:eu-central-1:"
        )
        iam = boto3.client("iam", region_name="us-east-1")
        iam.create_role(
            RoleName=role.inputs["name"], AssumeRolePolicyDocument=role.inputs["assumeRolePolicy"]
        )


@pytest.mark.parametrize(
    ("changes", "key", "window"),
    [
        ({"backup__startTime": "01:15"}, "backupWindow", "01:30-02:00"),
        ({"backup__startTime": "02:45"}, "maintenanceWindow", "wed:03:00-wed:04:00"),
        (
            {"backup__startTime": "23:30", "database__maintenanceWindow": "sun:23:00-mon:00:15"},
            "maintenanceWindow",
            "sun:23:00-mon:00:15",
        ),
    ],
    ids=["rds-backup-window", "maintenance-later-that-hour", "maintenance-across-midnight"],
)
def test_the_jobs_start_hour_stays_clear_of_the_database_windows(
    changes: dict[str, Any], key: str, window: str
) -> None:
    """AWS Backup's start hour never meets staging's RDS backup window (01:30-02:00) or
    maintenance window (wed 03:00-04:00), nor one that runs past midnight; one line names
    the key, the hour and the window."""
    raw = cloud(environment="staging", backup__retentionDays=14, **changes)
    start = changes["backup__startTime"]
    with pytest.raises(ConfigError) as info:
        parse(raw)
    assert str(info.value).startswith(f"ticketing:backup.startTime: its start hour {start}-")
    assert f"overlaps database.{key} {window}; choose an hour clear of both" in str(info.value)


def test_a_start_hour_clear_of_both_windows_is_taken(capture: Callable[..., Plan]) -> None:
    plan = capture("staging", {"ticketing:backup": {"retentionDays": 14, "startTime": "06:30"}})
    assert daily_rule(plan)["schedule"] == "cron(30 6 * * ? *)"
