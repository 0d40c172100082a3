"""The IAM identity every EC2 instance of the platform starts from: Session Manager, no SSH.

No instance carries the AWS-managed AmazonSSMManagedInstanceCore: it allows
`ssm:GetParameter(s)` on every parameter of the account, which would let any
instance (the NAT in the public subnet included) read every service's
SecureStrings by name. `ssm_agent_policy` keeps of it what the SSM agent needs,
and each role adds its own paths beside it.
"""

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

# Registration and heartbeat (every five minutes), and Session Manager's channels: the
# whole of AWS's "instance profile with minimal Session Manager permissions" (Systems
# Manager User Guide, "Create a custom IAM instance profile for Session Manager").
SESSION_MANAGER_ACTIONS = (
    "ssm:UpdateInstanceInformation",
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
)
# The Message Delivery Service endpoint the agent receives commands through ("Reference:
# ec2messages, ssmmessages, and other API calls": "required to send and receive commands").
COMMAND_ACTIONS = (
    "ec2messages:AcknowledgeMessage",
    "ec2messages:DeleteMessage",
    "ec2messages:FailMessage",
    "ec2messages:GetEndpoint",
    "ec2messages:GetMessages",
    "ec2messages:SendReply",
)
# State Manager, which applies an app host's desired state: ListInstanceAssociations finds
# new associations (the same reference: "required for State Manager to function"); the
# agent reads the association and its document and reports the run's status. Kept from
# the managed policy as written there.
ASSOCIATION_ACTIONS = (
    "ssm:ListInstanceAssociations",
    "ssm:DescribeAssociation",
    "ssm:GetDocument",
    "ssm:DescribeDocument",
    "ssm:UpdateInstanceAssociationStatus",
)


def ssm_agent_policy(*, runs_associations: bool) -> str:
    """What the SSM agent needs of AmazonSSMManagedInstanceCore, and no parameter at all.

    Kept: registration, Session Manager and command delivery; with `runs_associations`
    also State Manager's association calls. Left out: `ssm:GetParameter(s)` on "*"
    (each role reads its own paths in its own policy), Inventory (`ssm:PutInventory`),
    Patch Manager (`ssm:GetDeployablePatchSnapshotForInstance`), Distributor
    (`ssm:GetManifest`, `ssm:PutConfigurePackageResult`), compliance items
    (`ssm:PutComplianceItems`) and the InstanceId-style associations
    (`ssm:ListAssociations`, `ssm:UpdateAssociationStatus`): the platform uses none of
    them, and its associations target instances by `Targets`.
    """
    statements: list[dict[str, object]] = [
        {
            "Sid": "SessionManager",
            "Effect": "Allow",
            "Action": list(SESSION_MANAGER_ACTIONS),
            "Resource": "*",
        },
        {
            "Sid": "ReceiveCommands",
            "Effect": "Allow",
            "Action": list(COMMAND_ACTIONS),
            "Resource": "*",
        },
    ]
    if runs_associations:
        statements.append(
            {
                "Sid": "ApplyAssociations",
                "Effect": "Allow",
                "Action": list(ASSOCIATION_ACTIONS),
                "Resource": "*",
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


@dataclass(frozen=True)
class InstanceIdentity:
    """The role, the SSM agent's inline policy and the instance profile that carries it."""

    role: aws.iam.Role
    agent: aws.iam.RolePolicy
    profile: aws.iam.InstanceProfile


def session_manager_identity(
    name: str,
    description: str,
    opts: pulumi.ResourceOptions,
    *,
    runs_associations: bool = False,
) -> InstanceIdentity:
    """`<name>-role` with the SSM agent's policy (`<name>-ssm-agent`) and `<name>-profile`.

    Shell access is Session Manager only, so the agent's policy is all an instance
    needs to be reachable; callers attach their own permissions to `role`.

    Args:
        name: prefix of the three resources' names (the calling component's name).
        description: the role's description.
        opts: the calling component's child options (`parent=self`).
        runs_associations: the instance applies State Manager associations.
    """
    role = aws.iam.Role(
        f"{name}-role",
        description=description,
        assume_role_policy=EC2_ASSUME_ROLE_POLICY,
        opts=opts,
    )
    agent = aws.iam.RolePolicy(
        f"{name}-ssm-agent",
        role=role.id,
        policy=ssm_agent_policy(runs_associations=runs_associations),
        opts=opts,
    )
    profile = aws.iam.InstanceProfile(f"{name}-profile", role=role.name, opts=opts)
    return InstanceIdentity(role, agent, profile)
