"""GitHub Actions' OIDC tokens as AWS sees them: subjects, trust and permission documents.

Pure functions of typed data, no Pulumi. The claim formats are GitHub's ("OpenID
Connect reference", docs.github.com/en/actions/reference/security/oidc): a job's
token has `aud` (the audience, `sts.amazonaws.com` for
aws-actions/configure-aws-credentials) and `sub`, which is
`repo:<owner>/<repo>:environment:<name>` for a job that names an environment,
`repo:<owner>/<repo>:pull_request` for a pull_request run, and
`repo:<owner>/<repo>:ref:refs/heads/<branch>` otherwise (push, schedule,
workflow_dispatch). AWS evaluates both as the condition keys
`token.actions.githubusercontent.com:aud` / `:sub` of
`sts:AssumeRoleWithWebIdentity` (IAM User Guide, "Configuring a role for GitHub
OIDC identity provider"), and recommends always evaluating `sub`.
"""

from __future__ import annotations

from typing import Any, Final, Literal

ISSUER_HOST: Final = "token.actions.githubusercontent.com"
ISSUER_URL: Final = f"https://{ISSUER_HOST}"
AUDIENCE: Final = "sts.amazonaws.com"
MAIN_BRANCH: Final = "main"
# Every CI role lives under this IAM path, so the deploy roles can be denied changing them.
ROLE_PATH: Final = "/ci/"
PROJECT: Final = "ticketing"

RoleKind = Literal["preview", "deploy", "venue"]

Document = dict[str, Any]


def role_name(environment: str, kind: RoleKind) -> str:
    """`ticketing-prod-deploy`: fixed, so workflows build the ARN from the account id alone."""
    return f"{PROJECT}-{environment}-{kind}"


def role_arn(account_id: str, environment: str, kind: RoleKind) -> str:
    return f"arn:aws:iam::{account_id}:role{ROLE_PATH}{role_name(environment, kind)}"


def preview_subjects(repository: str) -> list[str]:
    """Pull-request previews, and the drift check the schedule runs on the main branch."""
    return [f"repo:{repository}:pull_request", f"repo:{repository}:ref:refs/heads/{MAIN_BRANCH}"]


def deploy_subjects(repository: str, environment: str) -> list[str]:
    """Only a job that names the GitHub environment `<environment>`; the environment's
    deployment-branch rule (main only) and reviewers guard who gets that far."""
    return [f"repo:{repository}:environment:{environment}"]


def venue_subjects(repository: str, environment: str) -> list[str]:
    """The venue workflow's jobs, one GitHub environment per venue stack."""
    return [f"repo:{repository}:environment:venue-{environment}-*"]


def trust_policy(provider_arn: str, subjects: list[str]) -> Document:
    """Who may assume a role: tokens of GitHub's provider for our audience and `subjects`.

    `StringLike` only where a subject has a wildcard: an exact subject is compared exactly.
    """
    operator = "StringLike" if any("*" in s for s in subjects) else "StringEquals"
    conditions: dict[str, dict[str, Any]] = {"StringEquals": {f"{ISSUER_HOST}:aud": AUDIENCE}}
    conditions.setdefault(operator, {})[f"{ISSUER_HOST}:sub"] = (
        subjects[0] if len(subjects) == 1 else list(subjects)
    )
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": conditions,
            }
        ],
    }


def state_bucket_policy(bucket: str, *, writable: bool) -> Document:
    """The DIY backend's bucket (`s3://<bucket>`): read it all; a preview writes only the
    stack lock files under `.pulumi/locks/`, a deploy writes checkpoints and history too."""
    objects = f"arn:aws:s3:::{bucket}/*"
    writes = objects if writable else f"arn:aws:s3:::{bucket}/.pulumi/locks/*"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ListState",
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                "Resource": f"arn:aws:s3:::{bucket}",
            },
            {"Sid": "ReadState", "Effect": "Allow", "Action": "s3:GetObject", "Resource": objects},
            {
                "Sid": "WriteState",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:DeleteObject"],
                "Resource": writes,
            },
        ],
    }


def secrets_key_alias(environment: str) -> str:
    """The KMS alias of `environment`'s Pulumi secrets provider, as its stack file names it
    (`secretsprovider: awskms://alias/ticketing-<env>-pulumi-secrets?region=...`)."""
    return f"alias/{PROJECT}-{environment}-pulumi-secrets"


def secrets_key_policy(environment: str) -> Document:
    """Open the stack's secrets: the awskms provider decrypts the stack's data key with
    the environment's KMS key on every preview and update. The key is named by its alias
    (`kms:ResourceAliases`), so a key rotated behind the same alias stays usable."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DecryptStackSecrets",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {
                    "ForAnyValue:StringEquals": {
                        "kms:ResourceAliases": secrets_key_alias(environment)
                    }
                },
            }
        ],
    }


def ssm_decrypt_policy() -> Document:
    """`pulumi preview --refresh` reads the SSM SecureString parameters back, which the
    provider does with decryption; allowed only through SSM, never KMS directly."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DecryptThroughSsm",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {"StringLike": {"kms:ViaService": "ssm.*.amazonaws.com"}},
            }
        ],
    }


# What PowerUserAccess leaves out of IAM and the program needs: its EC2 and flow-log roles,
# their inline policies and managed attachments, the instance profiles, and passing them on.
_STACK_IAM_ACTIONS: Final = [
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:GetRole",
    "iam:UpdateRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:ListRoleTags",
    "iam:PutRolePolicy",
    "iam:GetRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:ListRolePolicies",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
    "iam:CreateInstanceProfile",
    "iam:DeleteInstanceProfile",
    "iam:GetInstanceProfile",
    "iam:TagInstanceProfile",
    "iam:UntagInstanceProfile",
    "iam:AddRoleToInstanceProfile",
    "iam:RemoveRoleFromInstanceProfile",
    "iam:PassRole",
]


def deploy_iam_policy() -> Document:
    """The stack's own IAM, and never the CI roles or GitHub's provider: a deploy role
    cannot widen its own trust or permissions (an explicit Deny wins over any Allow)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "StackIam",
                "Effect": "Allow",
                "Action": list(_STACK_IAM_ACTIONS),
                "Resource": ["arn:aws:iam::*:role/*", "arn:aws:iam::*:instance-profile/*"],
            },
            {
                "Sid": "ServiceLinkedRoles",
                "Effect": "Allow",
                "Action": "iam:CreateServiceLinkedRole",
                "Resource": "arn:aws:iam::*:role/aws-service-role/*",
            },
            {
                "Sid": "NeverTheCiIdentity",
                "Effect": "Deny",
                "Action": "iam:*",
                "Resource": [
                    f"arn:aws:iam::*:role{ROLE_PATH}*",
                    f"arn:aws:iam::*:oidc-provider/{ISSUER_HOST}",
                ],
            },
        ],
    }
