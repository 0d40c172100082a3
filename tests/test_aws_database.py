"""The RDS instance(s): hardening as captured from the real program under the mock engine."""

from __future__ import annotations

import json
from collections.abc import Callable

import botocore.session
import pytest

from components.aws import database
from components.settings import rds_windows
from plan import fakes
from plan.model import Plan
from plan.resource_types import (
    IAM_ROLE,
    IAM_ROLE_POLICY_ATTACHMENT,
    LOG_GROUP,
    RDS_INSTANCE,
    RDS_PARAMETER_GROUP,
    SUBNET,
)
from tests.app_tier_helpers import services_with

SG_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


def test_instance_is_hardened_in_every_stack(plan_of: Callable[[str], Plan]) -> None:
    for stack in ("dev", "staging", "prod"):
        [db] = plan_of(stack).of_type(RDS_INSTANCE)
        i = db.inputs
        assert (i["engine"], i["engineVersion"]) == ("postgres", "16")
        assert i["storageEncrypted"] is True and i["storageType"] == "gp3"
        assert i["manageMasterUserPassword"] is True and "password" not in i
        assert i["publiclyAccessible"] is False
        assert i["copyTagsToSnapshot"] is True and i["autoMinorVersionUpgrade"] is True
        assert i["performanceInsightsEnabled"] is True
        assert set(i["enabledCloudwatchLogsExports"]) == {"postgresql", "upgrade"}


def test_default_major_version_lets_rds_apply_minor_upgrades(dev_plan: Plan) -> None:
    [db] = dev_plan.of_type(RDS_INSTANCE)
    assert db.inputs["engineVersion"] == "16"
    assert db.inputs["autoMinorVersionUpgrade"] is True
    [group] = dev_plan.of_type(RDS_PARAMETER_GROUP)
    assert group.inputs["family"] == "postgres16"


def test_a_pinned_minor_version_turns_automatic_minor_upgrades_off(
    capture: Callable[..., Plan],
) -> None:
    plan = capture("dev", {"ticketing:database": {"engineVersion": "17.2"}})
    [db] = plan.of_type(RDS_INSTANCE)
    assert db.inputs["engineVersion"] == "17.2"
    assert db.inputs["autoMinorVersionUpgrade"] is False
    [group] = plan.of_type(RDS_PARAMETER_GROUP)
    assert group.inputs["family"] == "postgres17"


def test_a_major_version_from_yaml_may_be_a_number(capture: Callable[..., Plan]) -> None:
    plan = capture("dev", {"ticketing:database": {"engineVersion": 17}})
    [db] = plan.of_type(RDS_INSTANCE)
    assert (db.inputs["engineVersion"], db.inputs["autoMinorVersionUpgrade"]) == ("17", True)
    [group] = plan.of_type(RDS_PARAMETER_GROUP)
    assert group.inputs["family"] == "postgres17"


def test_parameter_group_forces_tls_and_logs_slow_queries(dev_plan: Plan) -> None:
    """Apply methods per botocore's rds model (ModifyDBParameterGroup, Parameters):
    `immediate` is for dynamic parameters only, `pending-reboot` for dynamic and static."""
    [group] = dev_plan.of_type(RDS_PARAMETER_GROUP)
    params = {p["name"]: (p["value"], p.get("applyMethod")) for p in group.inputs["parameters"]}
    assert params["rds.force_ssl"] == ("1", "pending-reboot")
    assert params["max_connections"] == ("112", "pending-reboot")  # db.t4g.micro, static
    assert int(params["log_min_duration_statement"][0]) > 0
    assert params["log_parameter_max_length"] == ("0", "immediate")
    assert params["log_parameter_max_length_on_error"] == ("0", "immediate")
    [db] = dev_plan.of_type(RDS_INSTANCE)
    assert db.inputs["parameterGroupName"] == group.outputs["name"]


def test_apply_methods_are_botocores_values() -> None:
    """botocore ships the RDS API model: ApplyMethod is the enum immediate | pending-reboot."""
    model = botocore.session.get_session().get_service_model("rds")
    allowed = set(model.shape_for("ApplyMethod").enum)
    assert allowed == {"immediate", "pending-reboot"}
    for _, _, method in (database.FORCE_SSL, *database.LOG_PARAMETERS):
        assert method in allowed


def test_only_the_app_hosts_group_reaches_postgres(dev_plan: Plan) -> None:
    [db] = dev_plan.of_type(RDS_INSTANCE)
    [db_group_id] = db.inputs["vpcSecurityGroupIds"]
    rules = [r for r in dev_plan.of_type(SG_INGRESS) if r.inputs["securityGroupId"] == db_group_id]
    hosts_group = dev_plan.named("app-hosts-sg")
    assert [
        (r.inputs["fromPort"], r.inputs["toPort"], r.inputs.get("referencedSecurityGroupId"))
        for r in rules
    ] == [(5432.0, 5432.0, hosts_group.id)]
    assert "cidrIpv4" not in rules[0].inputs


def test_private_subnets_only(dev_plan: Plan) -> None:
    [group] = dev_plan.of_type("aws:rds/subnetGroup:SubnetGroup")
    private = {r.id for r in dev_plan.of_type(SUBNET) if "private" in r.name}
    assert set(group.inputs["subnetIds"]) == private


def test_prod_is_protected_multi_az_and_keeps_a_final_snapshot(prod_plan: Plan) -> None:
    [db] = prod_plan.of_type(RDS_INSTANCE)
    assert db.protect is True
    assert db.inputs["deletionProtection"] is True and db.inputs["multiAz"] is True
    assert db.inputs["skipFinalSnapshot"] is False and db.inputs["finalSnapshotIdentifier"]
    assert db.inputs["backupRetentionPeriod"] == 30.0  # Pulumi.prod.yaml


def test_outside_dev_automated_backups_outlive_the_instance(
    plan_of: Callable[[str], Plan],
) -> None:
    """The provider's delete_automated_backups defaults to true, as DeleteDBInstance's
    DeleteAutomatedBackups does (botocore's rds model): the backups would go with it."""
    for stack, deleted in (("dev", True), ("staging", False), ("prod", False)):
        [db] = plan_of(stack).of_type(RDS_INSTANCE)
        assert db.inputs["deleteAutomatedBackups"] is deleted, stack
    model = botocore.session.get_session().get_service_model("rds")
    doc = model.shape_for("DeleteDBInstanceMessage").members["DeleteAutomatedBackups"]
    assert "default is to remove automated backups" in doc.documentation


def test_backup_and_maintenance_windows_per_environment_never_overlap(
    plan_of: Callable[[str], Plan],
) -> None:
    windows = {}
    for stack in ("dev", "staging", "prod"):
        [db] = plan_of(stack).of_type(RDS_INSTANCE)
        windows[stack] = (db.inputs["backupWindow"], db.inputs["maintenanceWindow"])
        assert not rds_windows.overlaps(*windows[stack]), stack
    assert windows == {
        "dev": ("01:00-01:30", "tue:03:00-tue:03:30"),
        "staging": ("01:30-02:00", "wed:03:00-wed:04:00"),
        "prod": ("02:00-03:00", "thu:04:00-thu:05:00"),
    }


def test_windows_follow_botocores_documented_constraints() -> None:
    """CreateDBInstance's PreferredBackupWindow / PreferredMaintenanceWindow in botocore's rds
    model: hh24:mi-hh24:mi, ddd:hh24:mi-ddd:hh24:mi, UTC, at least 30 minutes, no conflict."""
    model = botocore.session.get_session().get_service_model("rds")
    members = model.shape_for("CreateDBInstanceMessage").members
    backup = members["PreferredBackupWindow"].documentation
    maintenance = members["PreferredMaintenanceWindow"].documentation
    assert "hh24:mi-hh24:mi" in backup and "ddd:hh24:mi-ddd:hh24:mi" in maintenance
    for doc in (backup, maintenance):
        assert "Must be at least 30 minutes" in doc and "Must not conflict" in doc
    assert "mon | tue | wed | thu | fri | sat | sun" in maintenance


@pytest.mark.parametrize(
    ("backup", "maintenance", "overlap"),
    [
        ("01:00-01:30", "tue:01:29-tue:02:00", True),
        ("01:00-01:30", "tue:01:30-tue:02:00", False),  # end minute excluded
        ("01:00-01:30", "tue:00:30-tue:01:00", False),
        ("23:45-00:15", "wed:00:00-wed:00:30", True),  # backups past midnight
        ("23:45-00:15", "sat:00:15-sat:01:00", False),
        ("03:00-04:00", "sun:23:30-mon:03:30", True),  # maintenance across the week's end
        ("03:00-04:00", "sun:23:30-mon:03:00", False),
    ],
)
def test_window_overlap_is_checked_on_every_day_across_midnight(
    backup: str, maintenance: str, overlap: bool
) -> None:
    assert rds_windows.overlaps(backup, maintenance) is overlap


def test_staging_keeps_at_least_a_week_of_backups(plan_of: Callable[[str], Plan]) -> None:
    [db] = plan_of("staging").of_type(RDS_INSTANCE)
    assert db.protect is True and db.inputs["backupRetentionPeriod"] >= 7


def test_dev_may_be_deleted_without_a_snapshot(dev_plan: Plan) -> None:
    [db] = dev_plan.of_type(RDS_INSTANCE)
    assert db.protect is False and db.inputs["skipFinalSnapshot"] is True


def test_exported_logs_expire(dev_plan: Plan) -> None:
    [db] = dev_plan.of_type(RDS_INSTANCE)
    groups = {
        r.inputs.get("name"): r.inputs["retentionInDays"] for r in dev_plan.of_type(LOG_GROUP)
    }
    for export in ("postgresql", "upgrade"):
        assert groups[f"/aws/rds/instance/{db.inputs['identifier']}/{export}"] == 14.0


def test_dedicated_database_has_the_same_hardening(capture: Callable[..., Plan]) -> None:
    plan = capture("dev", services_with("payments", database="dedicated"))
    shared, dedicated = sorted(plan.of_type(RDS_INSTANCE), key=lambda r: r.name)
    assert (shared.name, dedicated.name) == ("db-instance", "payments-db-instance")
    ignore = {"identifier", "dbSubnetGroupName", "parameterGroupName", "vpcSecurityGroupIds"}
    assert {k: v for k, v in dedicated.inputs.items() if k not in ignore} == {
        k: v for k, v in shared.inputs.items() if k not in ignore
    }


def test_enhanced_monitoring_outside_dev_through_a_role_only_rds_may_assume(
    plan_of: Callable[[str], Plan],
) -> None:
    for stack in ("staging", "prod"):
        plan = plan_of(stack)
        [db] = plan.of_type(RDS_INSTANCE)
        assert db.inputs["monitoringInterval"] == 60
        [role] = [r for r in plan.of_type(IAM_ROLE) if r.name == "db-monitoring"]
        assert db.inputs["monitoringRoleArn"] == role.outputs["arn"]
        [statement] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        assert statement["Principal"] == {"Service": "monitoring.rds.amazonaws.com"}
        identifier = db.inputs["identifier"]
        assert statement["Condition"] == {
            "StringEquals": {"aws:SourceAccount": fakes.ACCOUNT_ID},
            "ArnLike": {
                "aws:SourceArn": f"arn:aws:rds:eu-west-1:{fakes.ACCOUNT_ID}:db:{identifier}"
            },
        }
        [attachment] = [
            r for r in plan.of_type(IAM_ROLE_POLICY_ATTACHMENT) if r.name == "db-monitoring"
        ]
        assert attachment.inputs["policyArn"] == (
            "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
        )
        assert attachment.urn in db.depends_on  # RDS checks the role at creation


def test_dev_has_no_enhanced_monitoring(dev_plan: Plan) -> None:
    [db] = dev_plan.of_type(RDS_INSTANCE)
    assert db.inputs["monitoringInterval"] == 0 and "monitoringRoleArn" not in db.inputs
    assert not [r for r in dev_plan.of_type(IAM_ROLE) if r.name == "db-monitoring"]
