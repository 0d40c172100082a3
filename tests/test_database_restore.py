"""The shared database restored into a new instance by config: `database.restore`.

What the program registers for each step of the runbook (docs/runbooks.md, "Restore the
shared database into a new instance"), on stacks the tests build (`tests.factories`):
the restored copy beside the shared instance, then serving, then the shared instance
retired. What the provider does with the arguments is from its source
(terraform-provider-aws, internal/service/rds/instance.go): `snapshot_identifier` and
`restore_to_point_in_time` restore instead of creating, force a new instance when they
change, send no master username (the snapshot's is kept), and apply the rest of the
arguments with ModifyDBInstance once the instance is restored. The host's side, the
bootstrap on a physical copy, runs on real PostgreSQL in test_database_restore_rehearsal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from components.host.apply_document import unpack_parameter
from components.settings import ConfigError, parse
from plan import notes, policy
from plan.model import Plan, Resource
from plan.resource_types import RDS_INSTANCE
from seed import catalog
from tests.app_tier_helpers import parameter_value
from tests.factories import cloud_stack

SNAPSHOT = "rds:ticketing-prod-db-2026-12-01-02-10"
ASSOCIATION = "aws:ssm/association:Association"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
POSTGRES = [s for s in catalog.SERVICES if s.uses(catalog.Backing.POSTGRESQL)]


def restoring(**restore: Any) -> dict[str, Any]:
    return {"database": {"restore": restore}}


def instances(plan: Plan) -> dict[str, Resource]:
    return {r.name: r for r in plan.of_type(RDS_INSTANCE)}


def database_url(plan: Plan, service: str) -> str:
    return str(parameter_value(plan, f"/ticketing/{plan.stack}/services/{service}/database-url"))


def bootstrapped(plan: Plan) -> set[str]:
    """The instances the shared host bootstraps: its bootstrap-sql parameters' leaves."""
    prefix = f"/ticketing/{plan.stack}/hosts/shared/bootstrap-sql/"
    return {
        str(r.inputs["name"]).removeprefix(prefix)
        for r in plan.of_type("aws:ssm/parameter:Parameter")
        if str(r.inputs["name"]).startswith(prefix)
    }


@pytest.fixture(scope="module")
def steps(built: Callable[..., Plan]) -> dict[str, Plan]:
    """prod before the restore and at each of the runbook's three steps."""
    return {
        "before": built("prod"),
        "restored": built("prod", **restoring(snapshot=SNAPSHOT)),
        "serving": built("prod", **restoring(snapshot=SNAPSHOT, serve=True)),
        "retired": built("prod", **restoring(snapshot=SNAPSHOT, serve=True, retireOriginal=True)),
    }


def test_a_restore_makes_a_new_instance_from_the_snapshot_beside_the_shared_one(
    steps: dict[str, Plan],
) -> None:
    before, restored = instances(steps["before"]), instances(steps["restored"])
    assert set(restored) == {"db-instance", "db-restored-instance"}
    copy, shared = restored["db-restored-instance"].inputs, restored["db-instance"].inputs
    assert copy["identifier"] == "ticketing-prod-db-restored"
    assert copy["snapshotIdentifier"] == SNAPSHOT
    assert "restoreToPointInTime" not in copy
    # The provider sends no username to a restore: the snapshot's master user stays, and
    # RDS manages a new password for it with the stack's secrets key.
    assert "username" not in copy and shared["username"] == "postgres_admin"
    assert copy["manageMasterUserPassword"] is True
    assert copy["masterUserSecretKmsKeyId"] == shared["masterUserSecretKmsKeyId"]
    # Hardened and sized as the shared one; only what names it differs.
    differs = {"identifier", "snapshotIdentifier", "username", "finalSnapshotIdentifier"}
    # Its own subnet group, security group, parameter group and monitoring role.
    differs |= {"dbSubnetGroupName", "vpcSecurityGroupIds", "parameterGroupName"}
    differs.add("monitoringRoleArn")
    assert {k: v for k, v in copy.items() if k not in differs} == {
        k: v for k, v in shared.items() if k not in differs
    }
    assert copy["finalSnapshotIdentifier"] == "ticketing-prod-db-restored-final"
    # The shared instance is untouched: the same identity and the same inputs.
    assert restored["db-instance"].urn == before["db-instance"].urn
    assert shared == before["db-instance"].inputs


def test_until_it_serves_the_services_stay_on_the_shared_instance_and_the_host_readies_the_copy(
    steps: dict[str, Plan],
) -> None:
    plan = steps["restored"]
    shared = instances(plan)["db-instance"].outputs["address"]
    for service in POSTGRES:
        assert f"@{shared}:" in database_url(plan, service.name), service.name
    assert plan.outputs["rdsEndpoint"] == instances(plan)["db-instance"].outputs["endpoint"]
    # The host sets each role's password and grants on the copy too, so it can serve.
    assert bootstrapped(plan) == {"shared", "restored"}
    sql = unpack_parameter(
        parameter_value(plan, "/ticketing/prod/hosts/shared/bootstrap-sql/restored")
    )
    for service in POSTGRES:
        assert f"'{service.role}'" in sql and f"'{service.database}'" in sql


def test_serve_points_every_shared_service_at_the_copy_and_leaves_the_original_alone(
    steps: dict[str, Plan],
) -> None:
    plan = steps["serving"]
    dbs = instances(plan)
    copy = dbs["db-restored-instance"]
    for service in POSTGRES:
        assert f"@{copy.outputs['address']}:" in database_url(plan, service.name)
        assert plan.outputs["services"][service.name]["databaseInstance"] == (
            "ticketing-prod-db-restored"
        )
    assert plan.outputs["rdsEndpoint"] == copy.outputs["endpoint"]
    # No host bootstraps the original any more; it stays, protected, with its data.
    assert bootstrapped(plan) == {"restored"}
    assert dbs["db-instance"].inputs == instances(steps["before"])["db-instance"].inputs
    assert dbs["db-instance"].protect and copy.protect
    [association] = plan.of_type(ASSOCIATION)
    parameters = association.inputs["parameters"]
    assert parameters["RestoredDatabaseHost"] == copy.outputs["address"]
    assert not [p for p in parameters if p.startswith("Shared")]


def test_the_copy_keeps_one_identity_through_every_step(steps: dict[str, Plan]) -> None:
    """Serving and retiring never replace the restored instance (a new snapshot would:
    `snapshot_identifier` forces a new one)."""
    copies = [
        instances(steps[s])["db-restored-instance"] for s in ("restored", "serving", "retired")
    ]
    assert len({c.urn for c in copies}) == 1
    assert all(c.inputs == copies[0].inputs for c in copies)


def test_retire_original_removes_the_shared_instance_and_nothing_of_the_copy(
    steps: dict[str, Plan],
) -> None:
    retired, serving = steps["retired"], steps["serving"]
    assert set(instances(retired)) == {"db-restored-instance"}
    kept = {r.urn for r in retired}
    gone = sorted(r.name for r in serving if r.urn not in kept)
    # Exactly the shared Database component, what it owns and the alarms watching it.
    assert "db-instance" in gone and "app-observability-shared-rds-cpu" in gone
    assert [
        n
        for n in gone
        if not (n == "db" or n.startswith(("db-", "app-observability-shared-rds-")))
        or n.startswith("db-restored")
    ] == []


def test_each_step_passes_the_policy_pack(steps: dict[str, Plan]) -> None:
    for step, plan in steps.items():
        verdicts = policy.evaluate(plan, stack_config=plan.config)
        assert [(v.rule, v.resource_name) for v in verdicts.mandatory_violations] == [], step


def test_the_copy_is_backed_up_and_alarmed_as_the_shared_instance(
    steps: dict[str, Plan],
) -> None:
    plan = steps["serving"]
    selections = plan.of_type("aws:backup/selection:Selection")
    arns = {instances(plan)[n].outputs["arn"] for n in ("db-instance", "db-restored-instance")}
    assert arns <= {str(a) for s in selections for a in s.inputs["resources"]}
    alarms = [str(r.inputs.get("name")) for r in plan.of_type(METRIC_ALARM)]
    restored = sorted(
        a.removeprefix("ticketing-prod-restored-") for a in alarms if "-restored-" in a
    )
    shared = sorted(a.removeprefix("ticketing-prod-shared-") for a in alarms if "-shared-rds" in a)
    assert restored == shared and "rds-connections" in restored, alarms


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        (
            "latest",
            {"sourceDbInstanceIdentifier": "ticketing-dev-db", "useLatestRestorableTime": True},
        ),
        (
            "2026-12-01T02:10:00Z",
            {
                "sourceDbInstanceIdentifier": "ticketing-dev-db",
                "restoreTime": "2026-12-01T02:10:00Z",
            },
        ),
    ],
)
def test_a_point_in_time_restore_copies_the_shared_instance_as_it_was(
    built: Callable[..., Plan], point: str, expected: dict[str, object]
) -> None:
    plan = built("dev", **restoring(pointInTime=point))
    copy = instances(plan)["db-restored-instance"].inputs
    assert copy["restoreToPointInTime"] == expected
    assert "snapshotIdentifier" not in copy and "username" not in copy


def test_a_service_moving_off_a_serving_copy_copies_from_the_copy(
    built: Callable[..., Plan],
) -> None:
    services = cloud_stack("dev")["config"]["ticketing:services"]
    services["payments"] = {**services["payments"], "database": "dedicated", "host": "dedicated"}
    plan = built("dev", services=services, **restoring(snapshot="nightly", serve=True))
    copy = instances(plan)["db-restored-instance"]
    [association] = [
        r for r in plan.of_type(ASSOCIATION) if r.inputs["parameters"]["HostName"] == "payments"
    ]
    assert association.inputs["parameters"]["PaymentsMoveSourceHost"] == copy.outputs["address"]


def settings_error(environment: str = "dev", **sections: Any) -> str:
    stack = cloud_stack(environment, **sections)["config"]
    raw = {key.removeprefix("ticketing:"): value for key, value in stack.items()}
    with pytest.raises(ConfigError) as error:
        parse(raw)
    message = str(error.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("restore", "message"),
    [
        (
            {"snapshot": "nightly", "pointInTime": "latest"},
            "ticketing:database.restore.pointInTime: a restore needs exactly one of snapshot "
            'and pointInTime, got "latest"',
        ),
        (
            {"serve": True},
            "ticketing:database.restore.pointInTime: a restore needs exactly one of snapshot "
            "and pointInTime, got nothing",
        ),
        (
            {"snapshot": "2026-nightly"},
            "ticketing:database.restore.snapshot: not an RDS snapshot like my-snapshot, "
            "rds:ticketing-prod-db-2026-12-01-02-10, awsbackup:job-<id> or "
            'arn:aws:rds:<region>:<account>:snapshot:<name>, got "2026-nightly"',
        ),
        (
            {"pointInTime": "2026-12-01 02:10"},
            "ticketing:database.restore.pointInTime: not latest or a UTC time like "
            '2026-12-01T02:10:00Z, got "2026-12-01 02:10"',
        ),
        (
            {"snapshot": "arn:aws:rds:us-east-1:123456789012:snapshot:nightly"},
            "ticketing:database.restore.snapshot: is in us-east-1, not the stack's region "
            "eu-west-1: copy it over first (aws rds copy-db-snapshot) and restore the copy, "
            'got "arn:aws:rds:us-east-1:123456789012:snapshot:nightly"',
        ),
        (
            {"snapshot": "nightly", "retireOriginal": True},
            "ticketing:database.restore.retireOriginal: the shared instance retires only once "
            "the restored copy serves (serve: true), got true",
        ),
    ],
)
def test_a_restore_that_cannot_be_is_refused_in_one_line(
    restore: dict[str, Any], message: str
) -> None:
    assert settings_error(**restoring(**restore)) == message


def test_a_restore_with_nothing_on_the_shared_instance_is_refused() -> None:
    services = cloud_stack("dev")["config"]["ticketing:services"]
    for service in POSTGRES:
        services[service.name] = {**services[service.name], "database": "dedicated"}
    message = settings_error(services=services, **restoring(snapshot="nightly"))
    assert message.startswith(
        "ticketing:database.restore: no service's database is on the shared instance: "
        "there is nothing to restore, got "
    )


def test_the_plan_says_what_the_copy_is_restored_from_and_what_the_services_use(
    steps: dict[str, Plan], built: Callable[..., Plan]
) -> None:
    assert notes.restore_note(steps["before"]) is None
    assert notes.restore_note(steps["restored"]) == (
        f"database: ticketing-prod-db-restored restored from snapshot {SNAPSHOT}; "
        "the services use ticketing-prod-db"
    )
    assert notes.restore_note(steps["serving"]) == (
        f"database: ticketing-prod-db-restored restored from snapshot {SNAPSHOT}; "
        "the services use ticketing-prod-db-restored"
    )
    latest = built("dev", **restoring(pointInTime="latest"))
    assert notes.restore_note(latest) in notes.notes(latest)
    assert notes.restore_note(latest) == (
        "database: ticketing-dev-db-restored restored from ticketing-dev-db at its latest "
        "restorable time; the services use ticketing-dev-db"
    )
