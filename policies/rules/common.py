"""What every rule shares: safe reads of engine-shaped props, rule metadata, and
how a rule learns the stack's environment.

Props arrive the way the engine hands them to a pack: engine (camelCase) names,
numbers as floats, secrets unwrapped, wrapped in pulumi_policy's unknown-checking
proxy, which raises `UnknownValueError` when a value cannot be known during
preview. Rules read through `at()` and friends, which turn that into the
`UNKNOWN` marker, and skip a check they cannot decide; `resource_rule` and
`stack_rule` turn anything left over into "not applicable" instead of a crash.

How the environment reaches the rules
-------------------------------------
Some rules relax in `dev` (deletion protection, Multi-AZ, backup retention,
protected stateful resources). A resource policy sees a single resource, so
`resolve_environment` takes the first of:

1. the rule's own policy config `environment` (an explicit override through
   `--policy-pack-config`);
2. the stack's config `ticketing:environment`, the key the program itself
   validates. The CLI starts a policy pack with the stack's config in
   `PULUMI_CONFIG` (pulumi `analyzer_plugin.go`, `constructEnv`), and
   pulumi_policy loads it into `pulumi.runtime` config before every
   Analyze/AnalyzeStack (`_PolicyAnalyzerServicer._configure_runtime_settings`).
   The offline evaluator installs the committed stack file's config the same way;
3. the `environment` default tag of the AWS provider (the resource's own
   provider for resource rules, any AWS provider for stack rules);
4. the stack name in the URN (`dev`, `staging`, `prod`, `venue-<env>-<venue>`).

If none of them gives an answer, the rule applies its strict (non-dev) form.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, Protocol, cast

import pulumi.runtime
from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
    proxy,
)
from pulumi_policy.proxy import UnknownValueError

from seed import naming

AWS_PROVIDER: Final = "pulumi:providers:aws"
ENVIRONMENTS: Final = ("dev", "staging", "prod")


class Category(StrEnum):
    """Why a rule exists; it decides the rule's default enforcement level."""

    SECURITY = "security"
    ARCHITECTURE = "architecture"
    OPERATIONS = "operations"
    COST = "cost"


DEFAULT_ENFORCEMENT: Final[Mapping[Category, EnforcementLevel]] = {
    Category.SECURITY: EnforcementLevel.MANDATORY,
    Category.ARCHITECTURE: EnforcementLevel.MANDATORY,
    Category.OPERATIONS: EnforcementLevel.ADVISORY,
    Category.COST: EnforcementLevel.ADVISORY,
}


# --- reading engine-shaped props ---------------------------------------------------


class Unknown:
    """A value the engine cannot know during preview (it depends on an output)."""

    def __repr__(self) -> str:
        return "<unknown during preview>"


UNKNOWN: Final = Unknown()

_SENTINELS: Final = frozenset(
    {
        proxy.UNKNOWN_STRING_VALUE,
        proxy.UNKNOWN_NUMBER_VALUE,
        proxy.UNKNOWN_BOOLEAN_VALUE,
        proxy.UNKNOWN_ARRAY_VALUE,
        proxy.UNKNOWN_OBJECT_VALUE,
        proxy.UNKNOWN_ASSET_VALUE,
        proxy.UNKNOWN_ARCHIVE_VALUE,
    }
)


def is_unknown(value: object) -> bool:
    return value is UNKNOWN or (isinstance(value, str) and value in _SENTINELS)


def is_map(value: object) -> bool:
    return isinstance(value, Mapping)


def is_list(value: object) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def at(value: Any, *path: str | int) -> Any:
    """`value[p0][p1]...`: None where absent, `UNKNOWN` where unknown during preview."""
    current: Any = value
    try:
        for key in path:
            if is_unknown(current):
                return UNKNOWN
            if isinstance(key, int):
                if not is_list(current):
                    return None
                items = cast(Sequence[Any], current)
                if not 0 <= key < len(items):
                    return None
                current = items[key]
            else:
                if not is_map(current):
                    return None
                try:
                    current = cast(Mapping[str, Any], current)[key]
                except KeyError:
                    return None
    except UnknownValueError:
        return UNKNOWN
    return UNKNOWN if is_unknown(current) else current


def elements(value: Any) -> list[Any]:
    """The items of a list (`UNKNOWN` for an unknown item); [] for anything else."""
    if not is_list(value):
        return []
    items = cast(Sequence[Any], value)
    return [at(items, i) for i in range(len(items))]


def entries(value: Any) -> list[tuple[str, Any]]:
    """The (key, value) pairs of a map (`UNKNOWN` for an unknown value); [] otherwise."""
    if not is_map(value):
        return []
    mapping = cast(Mapping[str, Any], value)
    return [(key, at(mapping, key)) for key in mapping]


def text(value: Any) -> str | None:
    """A known string, else None."""
    return value if isinstance(value, str) and not is_unknown(value) else None


def number(value: Any) -> float | None:
    """A known number (the engine sends floats), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def config_value(config: Mapping[str, Any], key: str, default: Any) -> Any:
    """A policy config property; the CLI fills in schema defaults, direct calls may not."""
    value = config.get(key)
    return default if value is None else value


# --- the environment ----------------------------------------------------------------


def stack_setting(key: str) -> Any:
    """The stack's config value `ticketing:<key>` as the engine passed it (objects decoded)."""
    raw: Any = pulumi.runtime.get_config(f"{naming.PROJECT}:{key}")
    if not isinstance(raw, str):
        return raw
    stripped = raw.strip()
    if stripped[:1] in ("{", "["):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            return raw
    return raw


def provider_default_tags(props: Any) -> Any:
    """The AWS provider's default tags: a mapping, `UNKNOWN`, or None when unset.

    The Python SDK sends a provider's non-string inputs as JSON strings
    (`defaultTags='{"tags": {...}}'`); an engine that already decoded them sends
    an object. Both are read.
    """
    raw = at(props, "defaultTags")
    if is_unknown(raw) or raw is None:
        return raw
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            return None
    tags = at(raw, "tags")
    return tags if is_unknown(tags) or is_map(tags) else None


def stack_name(urn: str) -> str | None:
    """The stack segment of a URN (`urn:pulumi:<stack>::<project>::...`)."""
    prefix = "urn:pulumi:"
    if not urn.startswith(prefix):
        return None
    return urn[len(prefix) :].split("::", 1)[0] or None


_VENUE_STACK = re.compile(r"^venue-(dev|staging|prod)-")


def environment_of_stack(stack: str | None) -> str | None:
    """`dev` for `dev` and for `venue-dev-<venue>`; None for other names."""
    if stack is None:
        return None
    if stack in ENVIRONMENTS:
        return stack
    match = _VENUE_STACK.match(stack)
    return match.group(1) if match else None


@dataclass(frozen=True)
class Environment:
    """The stack's environment and where it was learned; None means "apply the strict form"."""

    name: str | None
    source: str

    @property
    def is_dev(self) -> bool:
        return self.name == "dev"

    def __str__(self) -> str:
        return f"{self.name} ({self.source})" if self.name else f"unknown ({self.source})"


def resolve_environment(
    config: Mapping[str, Any], urn: str, aws_provider_props: Iterable[Any]
) -> Environment:
    """The first of: policy config, stack config, AWS provider tag, stack name."""
    explicit = config.get("environment")
    if explicit in ENVIRONMENTS:
        return Environment(str(explicit), "policy config")
    configured = stack_setting("environment")
    if configured in ENVIRONMENTS:
        return Environment(str(configured), f"stack config {naming.PROJECT}:environment")
    for props in aws_provider_props:
        tag = text(at(provider_default_tags(props), "environment"))
        if tag in ENVIRONMENTS:
            return Environment(str(tag), "AWS provider default tag")
    from_name = environment_of_stack(stack_name(urn))
    if from_name is not None:
        return Environment(from_name, "stack name")
    return Environment(None, "nothing names it; strict")


def resource_environment(args: ResourceValidationArgs) -> Environment:
    provider = args.provider
    providers = [provider.props] if provider and provider.resource_type == AWS_PROVIDER else []
    return resolve_environment(args.get_config(), args.urn, providers)


def stack_environment(args: StackValidationArgs) -> Environment:
    providers = [r.props for r in args.resources if r.resource_type == AWS_PROVIDER]
    urn = args.resources[0].urn if args.resources else ""
    return resolve_environment(args.get_config(), urn, providers)


ENVIRONMENT_SCHEMA: Final[dict[str, Any]] = {
    "type": "string",
    "enum": list(ENVIRONMENTS),
    "description": "Override the stack's environment (normally read from ticketing:environment).",
}


# --- building rules -------------------------------------------------------------------


class Reporter(Protocol):
    """Reports one violation; stack rules name the violating resource's URN."""

    def __call__(self, message: str, urn: str | None = None, /) -> None: ...


ResourceCheck = Callable[[ResourceValidationArgs, Reporter], None]
StackCheck = Callable[[StackValidationArgs, Reporter], None]


def _reporter(report: ReportViolation) -> Reporter:
    def say(message: str, urn: str | None = None, /) -> None:
        report(message, urn)

    return say


def _schema(config: Mapping[str, dict[str, Any]] | None) -> PolicyConfigSchema | None:
    return PolicyConfigSchema(properties=dict(config)) if config else None


def resource_rule(
    name: str,
    *,
    description: str,
    category: Category,
    severity: Severity,
    remediation: str,
    types: Iterable[str],
    check: ResourceCheck,
    config: Mapping[str, dict[str, Any]] | None = None,
) -> ResourceValidationPolicy:
    """A resource policy that runs `check` on resources of `types` only.

    An unknown value the check did not handle makes the rule not applicable to
    that resource during preview (it runs again with known values at update).
    """
    wanted = frozenset(types)

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type not in wanted:
            return
        try:
            check(args, _reporter(report))
        except UnknownValueError as exc:
            args.not_applicable(exc.message)

    return ResourceValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=DEFAULT_ENFORCEMENT[category],
        config_schema=_schema(config),
        severity=severity,
        tags=[category.value],
        remediation_steps=remediation,
    )


def stack_rule(
    name: str,
    *,
    description: str,
    category: Category,
    severity: Severity,
    remediation: str,
    check: StackCheck,
    config: Mapping[str, dict[str, Any]] | None = None,
) -> StackValidationPolicy:
    """A stack policy over every resource's outputs; unknowns make it not applicable."""

    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        try:
            check(args, _reporter(report))
        except UnknownValueError as exc:
            args.not_applicable(exc.message)

    return StackValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=DEFAULT_ENFORCEMENT[category],
        config_schema=_schema(config),
        severity=severity,
        tags=[category.value],
        remediation_steps=remediation,
    )


def category_of(policy: ResourceValidationPolicy | StackValidationPolicy) -> Category | None:
    """The category a rule was built with (its first tag)."""
    for tag in policy.tags or []:
        try:
            return Category(tag)
        except ValueError:
            continue
    return None


def task_containers(props: Any) -> list[Any]:
    """The container definitions of a task definition's props ([] if unreadable)."""
    raw = at(props, "containerDefinitions")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            return []
    return [c for c in elements(raw) if is_map(c)]
