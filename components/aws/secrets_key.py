"""`SecretsKey`: the environment's customer-managed KMS key for SSM SecureStrings and the RDS
master secrets, and the policy statements that let a role decrypt its own secrets only.

The AWS-managed `aws/ssm` and `aws/secretsmanager` keys let any principal of the
account decrypt through the service, so a role allowed `ssm:GetParameter` on a
path could read every SecureString the account holds. This key's policy admits
the account (IAM then decides, as for every other resource) and refuses the
NAT instance outright; each reader's own IAM policy allows `kms:Decrypt` for
exactly its own parameters and master secrets, by the encryption context the
services send:

- Parameter Store sends `PARAMETER_ARN` (the parameter's ARN) as the encryption
  context of every Encrypt and Decrypt of a SecureString (AWS KMS Developer Guide,
  "How AWS Systems Manager Parameter Store uses AWS KMS", its encryption context
  section);
- Secrets Manager sends `SecretARN` and `SecretVersionId` (AWS Secrets Manager
  User Guide, "Secret encryption and decryption in AWS Secrets Manager",
  "Encryption context").
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.aws.kms import account_administers, customer_key
from components.aws.network import AwsNetworkOutputs
from components.outputs import ComponentOutputs
from components.settings import CloudSettings
from seed import naming

PARAMETER_CONTEXT = "kms:EncryptionContext:PARAMETER_ARN"
SECRET_CONTEXT = "kms:EncryptionContext:SecretARN"


@dataclass(frozen=True)
class SecretsKeyArgs:
    """Whose secrets the key encrypts and who may never use it.

    Attributes:
        environment: dev, staging or prod (the alias and the description).
        denied_role_arns: roles refused every use of the key, whatever their IAM policies
            say (the NAT instance's, in the public subnet).
    """

    environment: str
    denied_role_arns: tuple[pulumi.Input[str], ...]

    @classmethod
    def of(cls, settings: CloudSettings, network: AwsNetworkOutputs) -> SecretsKeyArgs:
        """The stack's environment; its NAT instance's role, where it has one, refused."""
        nat = network.nat_role_arn
        return cls(settings.environment, (nat,) if nat is not None else ())


@dataclass(frozen=True)
class SecretsKeyOutputs(ComponentOutputs):
    """`arn`: the key every SecureString (`key_id`) and master secret is encrypted with."""

    arn: pulumi.Output[str]


class SecretsKey(pulumi.ComponentResource):
    """A symmetric KMS key with yearly rotation, and its alias `alias/ticketing-<env>-secrets`.

    Its policy: the account administers it (so it can never become unmanageable, and
    the deploying principal encrypts with it when it writes a parameter), and the
    roles in `denied_role_arns` may do nothing with it. Decryption is granted by each
    reader's own policy (`decrypt_statements`). Built after the roles it names and
    before the parameters it encrypts.

    Args:
        name: prefix for every child's name.
        args: the environment and the refused roles (`SecretsKeyArgs.of`).
        opts: must carry the stack's AWS provider.
    """

    outputs: SecretsKeyOutputs

    def __init__(
        self, name: str, args: SecretsKeyArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ticketing:aws:SecretsKey", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix = f"{naming.PROJECT}-{args.environment}"
        # Output-form invoke: a plain invoke would stall the program until it resolves.
        account = aws.get_caller_identity_output(
            opts=pulumi.InvokeOutputOptions(parent=self)
        ).account_id
        policy = pulumi.Output.all(account, *args.denied_role_arns).apply(
            lambda v: secrets_key_policy(str(v[0]), [str(arn) for arn in v[1:]])
        )
        key = customer_key(
            name,
            alias=f"{prefix}-secrets",
            description=f"{prefix}: SecureStrings and RDS master secrets, each read by its owner",
            policy=policy,
            opts=child,
        )
        self.outputs = SecretsKeyOutputs(arn=key.arn)
        self.register_outputs(self.outputs.registered())


def secrets_key_policy(account: str, denied_role_arns: Sequence[str]) -> str:
    """The key's policy: the account administers it; the denied roles may not use it."""
    statements: list[dict[str, Any]] = [account_administers(account)]
    if denied_role_arns:
        statements.append(
            {
                "Sid": "NeverTheseRoles",
                "Effect": "Deny",
                "Principal": {"AWS": sorted(denied_role_arns)},
                "Action": "kms:*",
                "Resource": "*",
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


def decrypt_statements(
    key_arn: str,
    region: str,
    *,
    parameter_arns: Sequence[str] = (),
    secret_arns: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """A reader's `kms:Decrypt` of the key: through SSM for exactly these parameters, and
    through Secrets Manager for exactly these secrets; nothing when it reads neither."""
    statements: list[dict[str, Any]] = []
    if parameter_arns:
        statements.append(
            {
                "Sid": "DecryptOwnParameters",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": key_arn,
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": f"ssm.{region}.amazonaws.com",
                        PARAMETER_CONTEXT: sorted(set(parameter_arns)),
                    }
                },
            }
        )
    if secret_arns:
        statements.append(
            {
                "Sid": "DecryptOwnMasterSecrets",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": key_arn,
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": f"secretsmanager.{region}.amazonaws.com",
                        SECRET_CONTEXT: sorted(set(secret_arns)),
                    }
                },
            }
        )
    return statements
