"""The backup rule: outside dev every RDS instance is selected by an AWS Backup plan, and
in prod that plan copies to a vault in another region."""

from __future__ import annotations

from typing import Any

import pytest

from policies.rules import backup
from tests.policy_helpers import UNKNOWN, StackResource, run_stack_rule

RULE = "rds-in-a-backup-plan"
ARN = "arn:aws:rds:eu-west-1:123456789012:db:ticketing-prod-shared"


def database(arn: Any = ARN) -> StackResource:
    return StackResource(backup.RDS_INSTANCE, "db", {"arn": arn})


def plan(*copies: str) -> StackResource:
    rule = {"ruleName": "daily", "copyActions": [{"destinationVaultArn": c} for c in copies]}
    return StackResource(backup.BACKUP_PLAN, "plan", {"rules": [rule]})


def selection(*arns: str) -> StackResource:
    return StackResource(
        backup.BACKUP_SELECTION, "selection", {"resources": list(arns)}, depends_on=("plan",)
    )


def vault(name: str, region: str | None = None) -> StackResource:
    props = {"arn": f"arn:aws:backup:{region or 'eu-west-1'}:1:backup-vault:{name}", "name": name}
    return StackResource(
        backup.BACKUP_VAULT, name, {**props, **({"region": region} if region else {})}
    )


COPY = vault("copy", "eu-central-1")
LOCAL = vault("local")


def test_prod_passes_with_a_copy_to_another_region() -> None:
    resources = [database(), plan(COPY.outputs["arn"]), selection(ARN), LOCAL, COPY]
    assert run_stack_rule(RULE, resources, stack="prod").clean


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        ([database(), LOCAL], "RDS instance db is in no AWS Backup selection."),
        (
            [database(), plan(), selection(ARN), LOCAL],
            "RDS instance db's backups are not copied to another region.",
        ),
        (
            [database(), plan(LOCAL.outputs["arn"]), selection(ARN), LOCAL],
            "RDS instance db's backups are not copied to another region.",
        ),
    ],
    ids=["not-selected", "no-copy", "copy-in-the-same-region"],
)
def test_prod_refuses(resources: list[StackResource], message: str) -> None:
    outcome = run_stack_rule(RULE, resources, stack="prod")
    assert [m for m, _ in outcome.violations] == [message]


def test_staging_needs_a_selection_but_no_copy() -> None:
    assert run_stack_rule(RULE, [database(), plan(), selection(ARN)], stack="staging").clean
    outcome = run_stack_rule(RULE, [database()], stack="staging")
    assert [m for m, _ in outcome.violations] == ["RDS instance db is in no AWS Backup selection."]


def test_dev_and_stacks_without_a_database_are_not_applicable() -> None:
    assert run_stack_rule(RULE, [database()], stack="dev").not_applicable
    assert run_stack_rule(RULE, [], stack="prod").not_applicable == "no RDS instance in this stack"


def test_a_database_created_in_this_update_is_not_judged_by_an_unknown_arn() -> None:
    assert run_stack_rule(RULE, [database(UNKNOWN)], stack="prod").clean
