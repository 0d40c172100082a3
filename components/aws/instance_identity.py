"""The IAM identity every EC2 instance of the platform starts from: Session Manager, no SSH."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


def service_assume_role_policy(
    service: str, *, source_account: str | None = None, source_arn: str | None = None
) -> str:
    """The trust policy that lets one AWS service (`ec2.amazonaws.com`) assume a role.

    `source_account` and `source_arn` (a pattern) confine it to requests the service
    makes for this account's resources, against the confused deputy problem (IAM User
    Guide, "The confused deputy problem"); pass them for every service that documents
    `aws:SourceAccount` in its role's trust policy.
    """
    statement: dict[str, object] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    condition: dict[str, dict[str, str]] = {}
    if source_account is not None:
        condition["StringEquals"] = {"aws:SourceAccount": source_account}
    if source_arn is not None:
        condition["ArnLike"] = {"aws:SourceArn": source_arn}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


EC2_ASSUME_ROLE_POLICY = service_assume_role_policy("ec2.amazonaws.com")


@dataclass(frozen=True)
class InstanceIdentity:
    """The role, its Session Manager attachment and the instance profile that carries it."""

    role: aws.iam.Role
    ssm_core: aws.iam.RolePolicyAttachment
    profile: aws.iam.InstanceProfile


def session_manager_identity(
    name: str, description: str, opts: pulumi.ResourceOptions
) -> InstanceIdentity:
    """`<name>-role` with AmazonSSMManagedInstanceCore and `<name>-profile`.

    Shell access is Session Manager only, so the core policy is all an instance
    needs to be reachable; callers attach their own permissions to `role`.

    Args:
        name: prefix of the three resources' names (the calling component's name).
        description: the role's description.
        opts: the calling component's child options (`parent=self`).
    """
    role = aws.iam.Role(
        f"{name}-role",
        description=description,
        assume_role_policy=EC2_ASSUME_ROLE_POLICY,
        opts=opts,
    )
    ssm_core = aws.iam.RolePolicyAttachment(
        f"{name}-ssm-core",
        role=role.name,
        policy_arn=aws.iam.ManagedPolicy.AMAZON_SSM_MANAGED_INSTANCE_CORE,
        opts=opts,
    )
    profile = aws.iam.InstanceProfile(f"{name}-profile", role=role.name, opts=opts)
    return InstanceIdentity(role, ssm_core, profile)
