"""`CiIdentity`: GitHub's OIDC identity provider and the pipeline's roles in one AWS account.

Per environment: `ticketing-<env>-preview` (read-only, for pull-request previews and the
scheduled drift check) and `ticketing-<env>-deploy` (for the main branch's deploy job of
that environment); with an S3 state backend also `ticketing-<env>-venue`, which reaches
the state bucket only, for the venue workflow. No workflow holds an AWS key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.delivery import github_oidc
from components.outputs import ComponentOutputs, exported
from components.settings import BootstrapSettings
from components.settings.bootstrap import CiIdentitySettings


@dataclass(frozen=True)
class CiIdentityArgs:
    """What the identity serves: the repository, its environments, the state bucket.

    `protect`: keep the provider and the roles from being deleted by accident (outside dev).
    """

    settings: CiIdentitySettings
    protect: bool

    @classmethod
    def of(cls, stack: BootstrapSettings) -> CiIdentityArgs:
        return cls(settings=stack.ci_identity, protect=not stack.is_dev)


@dataclass(frozen=True)
class CiIdentityOutputs(ComponentOutputs):
    """`ci_role_arns`: role name (`github_oidc.role_name`) -> its ARN."""

    ci_oidc_provider_arn: pulumi.Output[str] = field(
        metadata=exported(
            "The IAM identity provider for GitHub's OIDC tokens "
            "(`token.actions.githubusercontent.com`) in the account.",
            people="check the pipeline's identity provider after `pulumi up -s bootstrap`",
        )
    )
    ci_role_arns: dict[str, pulumi.Output[str]] = field(
        metadata=exported(
            "The ARN of each role the workflows assume, by role name: "
            "`ticketing-<env>-preview`, `ticketing-<env>-deploy` and, with an S3 state "
            "backend, `ticketing-<env>-venue`.",
            people="the ARNs the workflows assume; they build the same ARNs from the "
            "repository variable `AWS_ACCOUNT_ID`, so compare them once after "
            "`pulumi up -s bootstrap`",
        )
    )


class CiIdentity(pulumi.ComponentResource):
    """The OIDC provider and, per environment, the preview and deploy roles.

    Args:
        name: prefix for every child's name.
        args: the repository, its environments and the state bucket (`CiIdentityArgs.of`).
        opts: must carry the bootstrap stack's AWS provider.
    """

    outputs: CiIdentityOutputs

    def __init__(
        self, name: str, args: CiIdentityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ticketing:delivery:CiIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, protect=args.protect)
        ci = args.settings
        # No thumbprint: for GitHub's issuer IAM validates against its own trusted root CAs
        # and ignores any thumbprint (pulumi_aws 7 OpenIdConnectProviderArgs docstring).
        provider = aws.iam.OpenIdConnectProvider(
            f"{name}-github",
            url=github_oidc.ISSUER_URL,
            client_id_lists=[github_oidc.AUDIENCE],
            opts=child,
        )
        role_arns: dict[str, pulumi.Output[str]] = {}
        for environment in ci.environments:
            subjects: dict[github_oidc.RoleKind, list[str]] = {
                "preview": github_oidc.preview_subjects(ci.repository),
                "deploy": github_oidc.deploy_subjects(ci.repository, environment),
            }
            if ci.state_bucket:
                subjects["venue"] = github_oidc.venue_subjects(ci.repository, environment)
            for kind, allowed in subjects.items():
                role = self._role(name, environment, kind, provider, allowed, ci, child)
                role_arns[github_oidc.role_name(environment, kind)] = role.arn

        self.outputs = CiIdentityOutputs(ci_oidc_provider_arn=provider.arn, ci_role_arns=role_arns)
        self.stack_outputs = self.outputs.stack_outputs()
        self.register_outputs(self.outputs.registered())

    def _role(
        self,
        name: str,
        environment: str,
        kind: github_oidc.RoleKind,
        provider: aws.iam.OpenIdConnectProvider,
        subjects: list[str],
        ci: CiIdentitySettings,
        opts: pulumi.ResourceOptions,
    ) -> aws.iam.Role:
        label = f"{name}-{environment}-{kind}"
        role = aws.iam.Role(
            label,
            name=github_oidc.role_name(environment, kind),
            path=github_oidc.ROLE_PATH,
            description=f"GitHub Actions {kind} role of the {environment} stacks ({ci.repository})",
            assume_role_policy=provider.arn.apply(
                lambda arn: json.dumps(github_oidc.trust_policy(arn, subjects))
            ),
            max_session_duration=ci.max_session_hours * 3600,
            opts=opts,
        )
        on_role = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(parent=role))
        managed = {
            "preview": aws.iam.ManagedPolicy.READ_ONLY_ACCESS,
            "deploy": aws.iam.ManagedPolicy.POWER_USER_ACCESS,
        }.get(kind)
        if managed is not None:
            aws.iam.RolePolicyAttachment(
                f"{label}-managed", role=role.name, policy_arn=managed, opts=on_role
            )
        inline: dict[str, github_oidc.Document] = {}
        if kind != "venue":  # venue stacks encrypt with the technician's passphrase
            inline["stack-secrets"] = github_oidc.secrets_key_policy(environment)
        if kind == "preview":
            inline["ssm-decrypt"] = github_oidc.ssm_decrypt_policy()
        if kind == "deploy":
            inline["stack-iam"] = github_oidc.deploy_iam_policy()
        if ci.state_bucket:
            writable = kind != "preview"
            inline["state"] = github_oidc.state_bucket_policy(ci.state_bucket, writable=writable)
        for policy_name, document in inline.items():
            aws.iam.RolePolicy(
                f"{label}-{policy_name}",
                role=role.id,
                name=policy_name,
                policy=json.dumps(document),
                opts=on_role,
            )
        return role
