"""Run a single rule on resources built the way the engine hands them to a pack.

Props go through `plan.policy.engine_properties`: a protobuf `Struct` as the
engine marshals it, then pulumi_policy's own `deserialize_properties` and
`unknown_checking_proxy`, so numbers are floats, secrets are unwrapped and
`UNKNOWN` raises on access exactly as under `pulumi preview`. Policy config is
reconciled as the CLI does it (schema defaults filled in), and the stack's
config is installed into `pulumi.runtime` the way pulumi_policy loads
`PULUMI_CONFIG`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulumi.runtime import rpc
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.policy import _NotApplicableError  # pyright: ignore[reportPrivateUsage]

from plan.policy import engine_properties, reconcile_config, run_with_stack_config
from policies.pack import POLICIES

# The engine's marker for a value that is unknown during preview.
UNKNOWN: str = rpc.UNKNOWN
PROJECT = "ticketing"


def rule(name: str) -> ResourceValidationPolicy | StackValidationPolicy:
    for policy in POLICIES:
        if policy.name == name:
            return policy
    raise KeyError(name)


def urn_of(stack: str, type_: str, name: str) -> str:
    return f"urn:pulumi:{stack}::{PROJECT}::{type_}::{name}"


@dataclass
class Outcome:
    """What one rule said: violations as (message, urn) and a not-applicable reason."""

    violations: list[tuple[str, str | None]] = field(default_factory=list[tuple[str, str | None]])
    not_applicable: str | None = None

    @property
    def messages(self) -> list[str]:
        return [message for message, _ in self.violations]

    @property
    def clean(self) -> bool:
        """Ran to the end and found nothing."""
        return not self.violations and self.not_applicable is None

    def mentions(self, text: str) -> bool:
        return any(text in message for message in self.messages)


def _options(protect: bool = False, parent: str | None = None) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect, [], None, [], PolicyCustomTimeouts(0.0, 0.0, 0.0), [], parent
    )


def _config(policy: ResourceValidationPolicy | StackValidationPolicy, config: Any) -> Any:
    given = {policy.name: dict(config)} if config else None
    properties = reconcile_config([policy], given)[policy.name].properties
    return dict(properties) or None


def _run(stack_config: Mapping[str, str] | None, outcome: Outcome, fn: Callable[[], Any]) -> None:
    def guarded() -> None:
        try:
            fn()
        except _NotApplicableError as exc:
            outcome.not_applicable = exc.reason or ""

    run_with_stack_config(stack_config or {}, guarded)


@dataclass(frozen=True)
class Provider:
    """An explicit provider resource, inputs as the SDK sends them (non-strings JSON-encoded)."""

    type: str
    inputs: Mapping[str, Any]
    name: str = "provider"


def aws_provider(environment: str | None = "prod", stack: str = "prod", **tags: str) -> Provider:
    default_tags = {"stack": stack, "managed-by": "pulumi:ticketing", **tags}
    if environment is not None:
        default_tags["environment"] = environment
    return Provider(
        "pulumi:providers:aws",
        {"region": "eu-west-1", "defaultTags": json.dumps({"tags": default_tags})},
        "aws",
    )


def run_resource_rule(
    name: str,
    type_: str,
    inputs: Mapping[str, Any],
    *,
    resource_name: str = "subject",
    stack: str = "test",
    config: Mapping[str, Any] | None = None,
    stack_config: Mapping[str, str] | None = None,
    provider: Provider | None = None,
    protect: bool = False,
) -> Outcome:
    """Run resource rule `name` on one resource of `type_` with engine-shaped `inputs`."""
    policy = rule(name)
    assert isinstance(policy, ResourceValidationPolicy)
    policy_provider = None
    if provider is not None:
        policy_provider = PolicyProviderResource(
            provider.type,
            engine_properties(provider.inputs),
            urn_of(stack, provider.type, provider.name),
            provider.name,
        )
    args = ResourceValidationArgs(
        type_,
        engine_properties(inputs),
        urn_of(stack, type_, resource_name),
        resource_name,
        _options(protect),
        policy_provider,
        _config(policy, config),
        {},
    )
    outcome = Outcome()

    def report(message: str, urn: str | None = None) -> None:
        outcome.violations.append((message, urn))

    _run(stack_config, outcome, lambda: policy.validate(args, report))
    return outcome


@dataclass(frozen=True)
class StackResource:
    """A resource of a stack as stack rules see it: its outputs and options."""

    type: str
    name: str
    outputs: Mapping[str, Any] = field(default_factory=dict[str, Any])
    protect: bool = False
    depends_on: tuple[str, ...] = ()  # names of other StackResources


def run_stack_rule(
    name: str,
    resources: Sequence[StackResource],
    *,
    stack: str = "test",
    config: Mapping[str, Any] | None = None,
    stack_config: Mapping[str, str] | None = None,
) -> Outcome:
    """Run stack rule `name` over `resources` (plus the root stack resource)."""
    policy = rule(name)
    assert isinstance(policy, StackValidationPolicy)
    root_urn = urn_of(stack, "pulumi:pulumi:Stack", f"{PROJECT}-{stack}")
    root = PolicyResource(
        "pulumi:pulumi:Stack",
        engine_properties({}),
        root_urn,
        f"{PROJECT}-{stack}",
        _options(),
        None,
        None,
        [],
        {},
    )
    built: dict[str, PolicyResource] = {}
    for r in resources:
        built[r.name] = PolicyResource(
            r.type,
            engine_properties(r.outputs),
            urn_of(stack, r.type, r.name),
            r.name,
            _options(r.protect, root_urn),
            None,
            root,
            [],
            {},
        )
    for r in resources:
        built[r.name].dependencies.extend(built[d] for d in r.depends_on)
    args = StackValidationArgs([root, *built.values()], _config(policy, config), {})
    outcome = Outcome()

    def report(message: str, urn: str | None = None) -> None:
        outcome.violations.append((message, urn))

    _run(stack_config, outcome, lambda: policy.validate(args, report))
    return outcome
