"""The bootstrap stack: GitHub's OIDC provider and the pipeline's roles, trusted narrowly.

The claim formats (`sub`, `aud`) are GitHub's OIDC reference; the condition keys are
AWS's (IAM User Guide, "Configuring a role for GitHub OIDC identity provider"). Name,
path and session limits come from botocore's IAM service model; the permission
documents are checked by moto's IAM policy validator (the one its PutRolePolicy runs).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from components.delivery import github_oidc
from components.settings import BootstrapSettings, ConfigError, parse
from plan import policy, stack_config
from plan.engine import PROJECT_DIR
from plan.model import Plan, Resource
from plan.resource_types import IAM_ROLE, IAM_ROLE_POLICY, OIDC_PROVIDER

REPO = "example-tickets/ticketing-infra"  # Pulumi.bootstrap.yaml's ciIdentity.repository
ENVIRONMENTS = ("dev", "staging", "prod")


@pytest.fixture(scope="module")
def bootstrap(plan_of: Callable[[str], Plan]) -> Plan:
    return plan_of("bootstrap")


def roles(plan: Plan) -> dict[str, Resource]:
    return {str(r.inputs["name"]): r for r in plan.resources if r.type == IAM_ROLE}


def trust(role: Resource) -> dict[str, Any]:
    [statement] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    return statement


def subjects(role: Resource) -> list[str]:
    conditions = trust(role)["Condition"]
    for operator in ("StringEquals", "StringLike"):
        value = conditions.get(operator, {}).get(f"{github_oidc.ISSUER_HOST}:sub")
        if value is not None:
            return [value] if isinstance(value, str) else value
    return []


def inline_policies(plan: Plan, role: Resource) -> dict[str, dict[str, Any]]:
    return {
        str(r.inputs["name"]): json.loads(r.inputs["policy"])
        for r in plan.resources
        if r.type == IAM_ROLE_POLICY and r.parent == role.urn
    }


def test_the_provider_is_githubs_issuer_for_the_sts_audience(bootstrap: Plan) -> None:
    [provider] = [r for r in bootstrap.resources if r.type == OIDC_PROVIDER]
    assert provider.inputs["url"] == "https://token.actions.githubusercontent.com"
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    # pulumi_aws 7: GitHub's certificate is checked against IAM's trusted CAs, no thumbprint.
    assert "thumbprintLists" not in provider.inputs
    assert provider.protect


def test_every_environment_has_a_preview_and_a_deploy_role(bootstrap: Plan) -> None:
    names = set(roles(bootstrap))
    for environment in ENVIRONMENTS:
        assert {f"ticketing-{environment}-preview", f"ticketing-{environment}-deploy"} <= names


def test_every_role_trusts_only_githubs_provider_for_the_sts_audience(bootstrap: Plan) -> None:
    [provider] = [r for r in bootstrap.resources if r.type == OIDC_PROVIDER]
    for role in roles(bootstrap).values():
        statement = trust(role)
        assert statement["Principal"] == {"Federated": provider.outputs["arn"]}
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        audience = statement["Condition"]["StringEquals"][f"{github_oidc.ISSUER_HOST}:aud"]
        assert audience == "sts.amazonaws.com"
        assert subjects(role), f"{role.name} does not evaluate the sub claim"


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_a_deploy_role_is_assumed_only_by_its_environments_job(
    bootstrap: Plan, environment: str
) -> None:
    role = roles(bootstrap)[f"ticketing-{environment}-deploy"]
    assert subjects(role) == [f"repo:{REPO}:environment:{environment}"]
    # Exact comparison: a StringLike with the same text would still take no wildcard,
    # but an exact subject says so plainly.
    assert f"{github_oidc.ISSUER_HOST}:sub" in trust(role)["Condition"]["StringEquals"]


def test_a_preview_role_takes_pull_requests_and_the_main_branch_only(bootstrap: Plan) -> None:
    for environment in ENVIRONMENTS:
        role = roles(bootstrap)[f"ticketing-{environment}-preview"]
        assert sorted(subjects(role)) == [
            f"repo:{REPO}:pull_request",
            f"repo:{REPO}:ref:refs/heads/main",
        ]


def test_preview_roles_read_and_deploy_roles_write(bootstrap: Plan) -> None:
    attached = {
        r.parent: r.inputs["policyArn"]
        for r in bootstrap.resources
        if r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
    }
    for name, role in roles(bootstrap).items():
        kind = name.rsplit("-", 1)[1]
        expected = {
            "preview": "arn:aws:iam::aws:policy/ReadOnlyAccess",
            "deploy": "arn:aws:iam::aws:policy/PowerUserAccess",
            "venue": None,
        }[kind]
        assert attached.get(role.urn) == expected, name


def test_a_deploy_role_cannot_touch_the_ci_identity(bootstrap: Plan) -> None:
    role = roles(bootstrap)["ticketing-prod-deploy"]
    statements = inline_policies(bootstrap, role)["stack-iam"]["Statement"]
    [deny] = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Action"] == "iam:*"
    assert "arn:aws:iam::*:role/ci/*" in deny["Resource"]
    assert role.inputs["path"] == "/ci/"


def test_a_preview_writes_only_lock_files_in_the_state_bucket(bootstrap: Plan) -> None:
    role = roles(bootstrap)["ticketing-prod-preview"]
    state = inline_policies(bootstrap, role)["state"]
    [write] = [s for s in state["Statement"] if s["Sid"] == "WriteState"]
    assert write["Resource"] == "arn:aws:s3:::example-tickets-pulumi-state/.pulumi/locks/*"


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_preview_and_deploy_roles_open_their_stacks_secrets(
    bootstrap: Plan, environment: str
) -> None:
    # The stack file's secrets provider names the key whose alias the roles may decrypt with.
    provider = stack_config.load(PROJECT_DIR, environment).secrets_provider or ""
    alias = provider.removeprefix("awskms://").split("?", 1)[0]
    for kind in ("preview", "deploy"):
        role = roles(bootstrap)[f"ticketing-{environment}-{kind}"]
        [statement] = inline_policies(bootstrap, role)["stack-secrets"]["Statement"]
        assert statement["Action"] == "kms:Decrypt"
        assert statement["Condition"] == {
            "ForAnyValue:StringEquals": {"kms:ResourceAliases": alias}
        }
    venue = roles(bootstrap)[f"ticketing-{environment}-venue"]
    assert "stack-secrets" not in inline_policies(bootstrap, venue)


def test_the_bootstrap_plan_passes_the_policy_pack(bootstrap: Plan) -> None:
    assert policy.evaluate(bootstrap, stack_config=bootstrap.config).passed


def test_outputs_name_every_role_arn(bootstrap: Plan) -> None:
    arns = bootstrap.outputs["ciRoleArns"]
    assert arns["ticketing-prod-deploy"] == github_oidc.role_arn("123456789012", "prod", "deploy")


# --- published constraints and a real policy validator ---------------------------------


def iam_shape(operation: str, member: str) -> Any:
    model = botocore.session.get_session().get_service_model("iam")
    shape: Any = model.operation_model(operation).input_shape
    return shape.members[member]


def test_role_names_and_path_fit_iams_published_constraints() -> None:
    import re

    name_shape, path_shape = iam_shape("CreateRole", "RoleName"), iam_shape("CreateRole", "Path")
    name_pattern = re.compile(f"^(?:{name_shape.metadata['pattern']})$")
    path_pattern = re.compile(f"^(?:{path_shape.metadata['pattern']})$", re.DOTALL)
    for environment in ENVIRONMENTS:
        for kind in ("preview", "deploy", "venue"):
            name = github_oidc.role_name(environment, kind)
            assert len(name) <= name_shape.metadata["max"] and name_pattern.match(name)
    assert path_pattern.match(github_oidc.ROLE_PATH)
    session = iam_shape("CreateRole", "MaxSessionDuration").metadata
    assert session["min"] <= 3600 and session["max"] >= 12 * 3600


def test_trust_policies_fit_iams_default_length_quota(bootstrap: Plan) -> None:
    # IAM quotas: a role trust policy holds at most 2,048 characters unless raised.
    for role in roles(bootstrap).values():
        assert len(role.inputs["assumeRolePolicy"]) <= 2048


@pytest.mark.real_engine
def test_every_document_is_accepted_by_a_real_iam_validator(bootstrap: Plan) -> None:
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        iam.create_open_id_connect_provider(
            Url=github_oidc.ISSUER_URL, ClientIDList=[github_oidc.AUDIENCE]
        )
        for name, role in roles(bootstrap).items():
            iam.create_role(
                RoleName=name,
                Path=role.inputs["path"],
                AssumeRolePolicyDocument=role.inputs["assumeRolePolicy"],
                MaxSessionDuration=int(role.inputs["maxSessionDuration"]),
            )
            for policy_name, document in inline_policies(bootstrap, role).items():
                iam.put_role_policy(
                    RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document)
                )
        # The validator does refuse: the same document with a bad effect is malformed.
        broken = github_oidc.deploy_iam_policy()
        broken["Statement"][0]["Effect"] = "Permit"
        with pytest.raises(ClientError, match="MalformedPolicyDocument"):
            iam.put_role_policy(
                RoleName="ticketing-prod-deploy", PolicyName="x", PolicyDocument=json.dumps(broken)
            )


# --- settings ---------------------------------------------------------------------------

BASE: dict[str, Any] = {
    "role": "bootstrap",
    "environment": "prod",
    "region": "eu-west-1",
    "domain": "",
    "ciIdentity": {"repository": REPO},
}


def test_defaults_cover_every_environment_without_a_state_bucket() -> None:
    settings = parse(BASE)
    assert isinstance(settings, BootstrapSettings)
    assert settings.ci_identity.environments == ["dev", "staging", "prod"]
    assert settings.ci_identity.state_bucket is None


@pytest.mark.parametrize(
    ("change", "line"),
    [
        (
            {"ciIdentity": {"repository": "not a repo"}},
            "ticketing:ciIdentity.repository: not a GitHub repository like "
            'acme/ticketing-infra, got "not a repo"',
        ),
        (
            {"ciIdentity": {"repository": REPO, "environments": ["dev", "dev"]}},
            'ticketing:ciIdentity.environments: environments must be distinct, got ["dev", "dev"]',
        ),
        (
            {"ciIdentity": {"repository": REPO, "stateBucket": "Bad_Bucket"}},
            "ticketing:ciIdentity.stateBucket: not an S3 bucket name (3-63 lowercase letters, "
            "digits, '.', '-'), got \"Bad_Bucket\"",
        ),
        (
            {"domain": "tickets.example.com"},
            "ticketing:domain: bootstrap stacks take no domain (they create no zone), "
            'got "tickets.example.com"',
        ),
    ],
    ids=["repository", "environments", "bucket", "domain"],
)
def test_bad_bootstrap_values_give_one_line(change: dict[str, Any], line: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse({**BASE, **change})
    assert str(info.value) == line
