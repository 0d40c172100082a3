"""The plan tree shows the CI identity's trust and permissions, and nothing more for the
cloud stacks' own roles."""

from __future__ import annotations

from collections.abc import Callable

from plan.iam_details import details
from plan.model import Plan, Resource
from plan.resource_types import IAM_ROLE, IAM_ROLE_POLICY, OIDC_PROVIDER


def named(plan: Plan, type_: str, name: str) -> Resource:
    return next(r for r in plan.of_type(type_) if r.name == name)


def test_a_ci_role_shows_who_may_assume_it(plan_of: Callable[[str], Plan]) -> None:
    plan = plan_of("bootstrap")
    lines = details(named(plan, IAM_ROLE, "ci-prod-deploy"), plan)
    assert lines[0].startswith("trust sts:AssumeRoleWithWebIdentity from Federated arn:aws:iam::")
    assert "  token.actions.githubusercontent.com:aud StringEquals sts.amazonaws.com" in lines
    assert (
        "  token.actions.githubusercontent.com:sub StringEquals "
        "repo:example-tickets/ticketing-infra:environment:prod"
    ) in lines


def test_a_policy_shows_its_statements_with_their_conditions(
    plan_of: Callable[[str], Plan],
) -> None:
    plan = plan_of("bootstrap")
    lines = details(named(plan, IAM_ROLE_POLICY, "ci-dev-preview-ssm-decrypt"), plan)
    assert lines == ["Allow kms:Decrypt on * when kms:ViaService StringLike ssm.*.amazonaws.com"]
    provider = details(named(plan, OIDC_PROVIDER, "ci-github"), plan)
    assert provider == [
        "issuer https://token.actions.githubusercontent.com · audience sts.amazonaws.com"
    ]


def test_the_cloud_stacks_roles_stay_one_line(plan_of: Callable[[str], Plan]) -> None:
    plan = plan_of("dev")
    assert plan.of_type(IAM_ROLE)
    assert all(details(r, plan) == [] for r in plan.of_type(IAM_ROLE))
