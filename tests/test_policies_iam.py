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


# --- a service's role confined to this account -------------------------------------------

SERVICE_RULE = "service-trust-source-account"


def service_role_messages(trust: str) -> list[str]:
    return run_resource_rule(
        SERVICE_RULE, iam.IAM_ROLE, {"name": "flow-logs", "assumeRolePolicy": trust}
    ).messages


def test_a_flow_log_role_confined_to_the_account_passes() -> None:
    from components.aws.instance_identity import service_assume_role_policy

    trust = service_assume_role_policy(
        "vpc-flow-logs.amazonaws.com",
        source_account="123456789012",
        source_arn="arn:aws:ec2:eu-west-1:123456789012:vpc-flow-log/*",
    )
    assert service_role_messages(trust) == []


def test_a_service_trust_without_source_account_is_refused() -> None:
    from components.aws.instance_identity import service_assume_role_policy

    for service in iam.SOURCE_ACCOUNT_SERVICES:
        [message] = service_role_messages(service_assume_role_policy(service))
        assert message.startswith(f"the trust of {service} does not require aws:SourceAccount")
    wildcard = service_assume_role_policy("vpc-flow-logs.amazonaws.com", source_account="*")
    assert service_role_messages(wildcard) != []
    # EC2 documents no such condition for instance profiles: not this rule's business.
    assert service_role_messages(service_assume_role_policy("ec2.amazonaws.com")) == []


def test_an_unknown_service_trust_is_not_applicable() -> None:
    outcome = run_resource_rule(
        SERVICE_RULE, iam.IAM_ROLE, {"name": "flow-logs", "assumeRolePolicy": UNKNOWN}
    )
    assert outcome.violations == [] and outcome.not_applicable


CORE = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
NO_CORE = "no-ssm-managed-instance-core"


def test_the_ssm_managed_instance_core_policy_is_refused_wherever_attached() -> None:
    message = (
        "attaches AmazonSSMManagedInstanceCore, which allows ssm:GetParameter(s) on "
        "every parameter of the account: any instance could read every SecureString."
    )
    attachment = {"role": "shared-host-role", "policyArn": CORE}
    assert run_resource_rule(NO_CORE, iam.ROLE_POLICY_ATTACHMENT, attachment).messages == [message]
    gov = {"role": "r", "policyArn": CORE.replace("arn:aws:", "arn:aws-us-gov:")}
    assert run_resource_rule(NO_CORE, iam.ROLE_POLICY_ATTACHMENT, gov).messages == [message]
    legacy = {"roles": ["r"], "policyArn": CORE}
    assert run_resource_rule(NO_CORE, iam.POLICY_ATTACHMENT, legacy).messages == [message]
    inline = {"assumeRolePolicy": "{}", "managedPolicyArns": [CORE]}
    assert run_resource_rule(NO_CORE, iam.IAM_ROLE, inline).messages == [message]


def test_other_managed_policies_and_unknown_arns_pass() -> None:
    read_only = {"role": "ci-preview", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}
    assert run_resource_rule(NO_CORE, iam.ROLE_POLICY_ATTACHMENT, read_only).messages == []
    assert run_resource_rule(NO_CORE, iam.IAM_ROLE, {"assumeRolePolicy": "{}"}).messages == []
    unknown = run_resource_rule(NO_CORE, iam.ROLE_POLICY_ATTACHMENT, {"policyArn": UNKNOWN})
    assert unknown.messages == [] and unknown.not_applicable


def test_no_committed_stack_attaches_the_managed_policy(plan_of: Any) -> None:
    from tests.conftest import committed_stacks

    for stack in committed_stacks():
        arns = [
            str(r.inputs.get("policyArn"))
            for r in plan_of(stack).of_type(iam.ROLE_POLICY_ATTACHMENT)
        ]
        assert not [a for a in arns if a.endswith("AmazonSSMManagedInstanceCore")], stack
