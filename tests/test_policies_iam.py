"""The GitHub OIDC trust rule on engine-shaped roles: the bootstrap stack's own trust
passes; a trust any repository's workflow could use, or without aud, does not."""

from __future__ import annotations

import json
from typing import Any

from components.delivery import github_oidc
from policies.rules import iam
from tests.policy_helpers import UNKNOWN, run_resource_rule

PROVIDER = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
RULE = "github-oidc-trust-scoped"


def role(trust: Any) -> dict[str, Any]:
    return {"name": "ticketing-prod-deploy", "assumeRolePolicy": json.dumps(trust)}


def run(trust: Any) -> list[str]:
    return run_resource_rule(RULE, iam.IAM_ROLE, role(trust)).messages


def test_the_bootstrap_stacks_trust_passes() -> None:
    for subjects in (
        github_oidc.deploy_subjects("acme/infra", "prod"),
        github_oidc.preview_subjects("acme/infra"),
        github_oidc.venue_subjects("acme/infra", "dev"),
    ):
        assert run(github_oidc.trust_policy(PROVIDER, subjects)) == []


def test_a_trust_without_a_subject_is_refused() -> None:
    trust = github_oidc.trust_policy(PROVIDER, ["repo:acme/infra:pull_request"])
    del trust["Statement"][0]["Condition"]["StringEquals"][f"{iam.GITHUB_ISSUER}:sub"]
    assert run(trust) == ["the trust of GitHub's OIDC provider does not evaluate the sub claim."]


def test_a_subject_of_any_repository_or_any_workflow_is_refused() -> None:
    trust = github_oidc.trust_policy(
        PROVIDER, ["repo:acme/*:environment:prod", "repo:acme/infra:*"]
    )
    assert run(trust) == [
        "sub 'repo:acme/*:environment:prod' admits more than one repository's workflows.",
        "sub 'repo:acme/infra:*' admits every workflow of acme/infra.",
    ]


def test_a_trust_without_the_sts_audience_is_refused() -> None:
    trust = github_oidc.trust_policy(PROVIDER, ["repo:acme/infra:pull_request"])
    trust["Statement"][0]["Condition"]["StringEquals"][f"{iam.GITHUB_ISSUER}:aud"] = "other"
    assert run(trust) == [
        "the trust of GitHub's OIDC provider does not require aud sts.amazonaws.com."
    ]


def test_a_service_role_is_none_of_its_business() -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    assert run_resource_rule(RULE, iam.IAM_ROLE, role(trust)).clean


def test_an_unknown_trust_waits_for_the_update() -> None:
    outcome = run_resource_rule(RULE, iam.IAM_ROLE, {"assumeRolePolicy": UNKNOWN})
    assert outcome.violations == [] and outcome.not_applicable is not None
