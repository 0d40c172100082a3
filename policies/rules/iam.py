"""IAM rules: who may assume a role.

A role that GitHub Actions' OIDC tokens can assume names who may assume it.

GitHub's provider issues a token to every workflow run of every repository on
github.com; what keeps another repository's workflow out of a role is the trust
policy's condition on the token's `sub` claim, which AWS recommends always
evaluating (IAM User Guide, "Create a role for OpenID Connect federation"), and on
`aud`. The subject formats are GitHub's (`repo:<owner>/<repo>:environment:<name>`,
`repo:<owner>/<repo>:pull_request`, `repo:<owner>/<repo>:ref:<ref>`).

A role an AWS service assumes on this account's behalf, for a service that documents
`aws:SourceAccount` in its role's trust policy, is confined to this account: without
the condition the service would assume it for anyone who names its ARN (IAM User
Guide, "The confused deputy problem"). `SOURCE_ACCOUNT_SERVICES` names those services
and the page that documents the condition for each.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from pulumi_policy import ResourceValidationArgs, Severity

from policies.rules.common import Category, Reporter, at, elements, is_map, is_unknown
from policies.rules.common import resource_rule as _resource_rule

IAM_ROLE: Final = "aws:iam/role:Role"
ROLE_POLICY_ATTACHMENT: Final = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
POLICY_ATTACHMENT: Final = "aws:iam/policyAttachment:PolicyAttachment"
# Allows ssm:GetParameter(s) on "*": every parameter of the account, by name. Any
# partition (`arn:aws:`, `arn:aws-cn:`, `arn:aws-us-gov:`) names it the same way.
SSM_MANAGED_INSTANCE_CORE: Final = ":iam::aws:policy/AmazonSSMManagedInstanceCore"
GITHUB_ISSUER: Final = "token.actions.githubusercontent.com"
AUDIENCE: Final = "sts.amazonaws.com"
SOURCE_ACCOUNT_SERVICES: Final = {
    "vpc-flow-logs.amazonaws.com": "VPC User Guide, IAM role for publishing flow logs to "
    "CloudWatch Logs",
    "monitoring.rds.amazonaws.com": "RDS User Guide, Setting up and enabling Enhanced Monitoring",
}
_ACCOUNT: Final = re.compile(r"^\d{12}$")
# A subject of one repository, its owner and name spelled out (no `*` or `?`), then a context.
_SUBJECT: Final = re.compile(
    r"^repo:(?P<repository>[A-Za-z0-9-]+/[A-Za-z0-9._-]+):(?P<context>.+)$"
)


def _document(args: ResourceValidationArgs) -> Any:
    raw = at(args.props, "assumeRolePolicy")
    if is_unknown(raw):
        args.not_applicable("assumeRolePolicy can't be known during preview")
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return None
    return raw


def _trusts_github(statement: Any) -> bool:
    federated = [str(p) for p in elements(at(statement, "Principal", "Federated"))]
    if isinstance(at(statement, "Principal", "Federated"), str):
        federated = [str(at(statement, "Principal", "Federated"))]
    return any(p.endswith(f"oidc-provider/{GITHUB_ISSUER}") for p in federated)


def _values(condition: Any, key: str) -> list[str] | None:
    """Every value a condition block gives `key` across its operators, or None if none does."""
    found: list[str] | None = None
    if not is_map(condition):
        return None
    for operator in ("StringEquals", "StringLike"):
        value = at(condition, operator, key)
        if value is None:
            continue
        listed = [value] if isinstance(value, str) else [str(v) for v in elements(value)]
        found = [*(found or []), *listed]
    return found


def _github_trust_scoped(args: ResourceValidationArgs, report: Reporter) -> None:
    document = _document(args)
    statements = at(document, "Statement")
    for statement in [statements] if is_map(statements) else elements(statements):
        if at(statement, "Effect") != "Allow" or not _trusts_github(statement):
            continue
        condition = at(statement, "Condition")
        audiences = _values(condition, f"{GITHUB_ISSUER}:aud")
        if audiences != [AUDIENCE]:
            report(f"the trust of GitHub's OIDC provider does not require aud {AUDIENCE}.")
        subjects = _values(condition, f"{GITHUB_ISSUER}:sub")
        if not subjects:
            report("the trust of GitHub's OIDC provider does not evaluate the sub claim.")
            continue
        for subject in subjects:
            match = _SUBJECT.match(subject)
            if match is None:
                report(f"sub {subject!r} admits more than one repository's workflows.")
            elif match["context"].strip("*") == "":
                report(f"sub {subject!r} admits every workflow of {match['repository']}.")


def _services(statement: Any) -> list[str]:
    service = at(statement, "Principal", "Service")
    return [service] if isinstance(service, str) else [str(s) for s in elements(service)]


def _service_trust_scoped(args: ResourceValidationArgs, report: Reporter) -> None:
    document = _document(args)
    statements = at(document, "Statement")
    for statement in [statements] if is_map(statements) else elements(statements):
        if at(statement, "Effect") != "Allow":
            continue
        for service in _services(statement):
            if service not in SOURCE_ACCOUNT_SERVICES:
                continue
            accounts = _values(at(statement, "Condition"), "aws:SourceAccount") or []
            if not accounts or not all(_ACCOUNT.match(a) or is_unknown(a) for a in accounts):
                report(
                    f"the trust of {service} does not require aws:SourceAccount to be this "
                    f"account ({SOURCE_ACCOUNT_SERVICES[service]})."
                )


def _no_ssm_managed_instance_core(args: ResourceValidationArgs, report: Reporter) -> None:
    if args.resource_type == IAM_ROLE:
        arns = at(args.props, "managedPolicyArns")
        listed = [] if arns is None or is_unknown(arns) else [str(a) for a in elements(arns)]
    else:
        arn = at(args.props, "policyArn")
        if is_unknown(arn):
            args.not_applicable("policyArn can't be known during preview")
        listed = [str(arn)]
    if any(a.startswith("arn:") and a.endswith(SSM_MANAGED_INSTANCE_CORE) for a in listed):
        report(
            "attaches AmazonSSMManagedInstanceCore, which allows ssm:GetParameter(s) on "
            "every parameter of the account: any instance could read every SecureString."
        )


POLICIES = [
    _resource_rule(
        "github-oidc-trust-scoped",
        description="A role GitHub Actions can assume names its repository and context.",
        category=Category.SECURITY,
        severity=Severity.CRITICAL,
        remediation="Condition the trust on token.actions.githubusercontent.com:aud = "
        "sts.amazonaws.com and :sub = repo:<owner>/<repo>:environment:<env> (or "
        ":pull_request, :ref:refs/heads/main).",
        types=[IAM_ROLE],
        check=_github_trust_scoped,
    ),
    _resource_rule(
        "service-trust-source-account",
        description="A role an AWS service assumes for this account (VPC flow logs, RDS "
        "Enhanced Monitoring) requires aws:SourceAccount, so the service never assumes it "
        "for another account (the confused deputy problem).",
        category=Category.SECURITY,
        severity=Severity.HIGH,
        remediation='Add "Condition": {"StringEquals": {"aws:SourceAccount": "<account id>"}} '
        "(and ArnLike aws:SourceArn where the service documents it) to the trust statement "
        "(components.aws.instance_identity.service_assume_role_policy).",
        types=[IAM_ROLE],
        check=_service_trust_scoped,
    ),
    _resource_rule(
        "no-ssm-managed-instance-core",
        description="No role carries AmazonSSMManagedInstanceCore: an instance reads only its "
        "own SSM parameters.",
        category=Category.SECURITY,
        severity=Severity.HIGH,
        remediation="Give the instance role components.aws.instance_identity's inline SSM agent "
        "policy, and ssm:GetParameter(s) on its own paths only.",
        types=[IAM_ROLE, ROLE_POLICY_ATTACHMENT, POLICY_ATTACHMENT],
        check=_no_ssm_managed_instance_core,
    ),
]
