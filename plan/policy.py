"""Offline policy enforcement: the pack run on a captured plan as the engine would run it.

`evaluate(plan)` mirrors pulumi_policy's analyzer server
(`pulumi_policy.policy._PolicyAnalyzerServicer`) and the CLI around it:

- **Analyze** (resource rules): every registered resource (reads are not
  analyzed), for every enabled `ResourceValidationPolicy`. Props are the
  resource's inputs marshalled as the engine marshals them
  (`MarshalProperties` with KeepUnknowns, KeepSecrets, SkipInternalKeys: secrets
  as signature objects, unknowns as the sentinel string, numbers as doubles in
  a protobuf `Struct`), then the analyzer's own
  `unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(...)))`.
  Options and provider are built like `_get_resource_options` and
  `_get_provider_resource`; a resource on a default provider gets the
  `default` provider with the stack's `<package>:*` config as its props.
- **AnalyzeStack** (stack rules): every resource, reads included, plus the root
  `pulumi:pulumi:Stack` (props = the stack outputs), as `PolicyResource`s over
  their outputs, with parent, dependencies and property dependencies wired by
  URN as `AnalyzeStack` does.
- **Config**: the CLI's `ReconcilePolicyPackConfig`: schema defaults, then
  `all`, then each rule's entry (`"advisory"` or `{"enforcementLevel": ...,
  <properties>}`), validated against the rule's schema.
- **Enforcement**: disabled rules don't run; `remediate` is reported as
  mandatory; an unknown value that escapes a rule becomes the analyzer's advisory
  "can't run policy ... during preview" diagnostic; `not_applicable` is recorded.
- **Stack config**: the CLI starts a pack with the stack's config in
  `PULUMI_CONFIG` and pulumi_policy loads it into `pulumi.runtime` config. Here
  the committed `Pulumi.<stack>.yaml` (via `plan.stack_config`) is installed
  into `pulumi.runtime` config for the evaluation only.

One check cannot be a pack rule: **stack-credential-outputs-secret**. The
analyzer unwraps secrets before any rule sees a value (`deserialize_properties`
without `proxy_secrets`), so under the real engine no policy can tell whether a
stack output is secret. It runs here on the plan's outputs, and is reported and
configured exactly like the rules.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from inspect import isawaitable
from pathlib import Path
from typing import Any, Final, Generic, Protocol, TypeVar, cast

import jsonschema
import pulumi
from google.protobuf import json_format, struct_pb2
from pulumi.runtime.config import CONFIG
from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import (
    SPECIAL_SECRET_SIG,
    SPECIAL_SIG_KEY,
    deserialize_properties,
    serialize_properties,
)
from pulumi_policy.policy import _NotApplicableError  # pyright: ignore[reportPrivateUsage]
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy
from rich.console import Console
from rich.table import Table
from rich.text import Text

from plan import stack_config as stack_files
from plan.model import Plan, Resource, Secret
from plan.resource_types import SSM_PARAMETER, STACK
from policies.pack import PACK_NAME, POLICIES
from policies.rules.aws import PRIVATE_KEY, URL_PASSWORD

PROJECT_DIR: Final = Path(__file__).resolve().parent.parent

Rule = ResourceValidationPolicy | StackValidationPolicy
T = TypeVar("T")


# --- the report --------------------------------------------------------------------------


@dataclass(frozen=True)
class Violation:
    """One diagnostic, as `pulumi preview --policy-pack` would print it."""

    rule: str
    enforcement: EnforcementLevel
    severity: Severity | None
    urn: str
    resource_type: str
    resource_name: str
    message: str
    description: str
    remediation: str

    @property
    def mandatory(self) -> bool:
        return self.enforcement == EnforcementLevel.MANDATORY


@dataclass(frozen=True)
class NotApplicable:
    rule: str
    urn: str
    reason: str


@dataclass
class PolicyReport:
    """What the pack said about one plan."""

    project: str
    stack: str
    violations: list[Violation] = field(default_factory=list[Violation])
    not_applicable: list[NotApplicable] = field(default_factory=list[NotApplicable])
    rules_run: int = 0
    """Pack rules run, as `pulumi preview --policy-pack` would run them."""
    checks_run: int = 0
    """Plan checks run: what only the offline plan can check (PLAN_CHECKS)."""

    @property
    def mandatory_violations(self) -> list[Violation]:
        return [v for v in self.violations if v.mandatory]

    @property
    def advisory_violations(self) -> list[Violation]:
        return [v for v in self.violations if not v.mandatory]

    @property
    def passed(self) -> bool:
        """True when no mandatory rule is violated (what lets `pulumi up` proceed)."""
        return not self.mandatory_violations

    def of_rule(self, rule: str) -> list[Violation]:
        return [v for v in self.violations if v.rule == rule]


class PolicyConfigError(ValueError):
    """Policy config the CLI would refuse (bad level, schema violation, unknown rule)."""


class PolicyCrashError(RuntimeError):
    """A rule raised: under the engine this fails the whole preview."""


# --- engine-shaped props ---------------------------------------------------------------------


def _to_wire(value: Any) -> Any:
    """A captured value as the engine marshals it for an analyzer."""
    if isinstance(value, Secret):
        return {SPECIAL_SIG_KEY: SPECIAL_SECRET_SIG, "value": _to_wire(value.value)}
    if isinstance(value, pulumi.Asset | pulumi.Archive):
        return serialize_properties({"v": value})["v"]
    if isinstance(value, Mapping):
        mapping = cast(Mapping[Any, Any], value)
        # SkipInternalKeys: `__`-prefixed keys never reach an analyzer.
        return {str(k): _to_wire(v) for k, v in mapping.items() if not str(k).startswith("__")}
    if isinstance(value, list | tuple):
        return [_to_wire(v) for v in cast(Sequence[Any], value)]
    return value


def wire_properties(props: Mapping[str, Any]) -> dict[str, Any]:
    """What the analyzer gets from `json_format.MessageToDict(request.properties)`."""
    struct = struct_pb2.Struct()
    struct.update(_to_wire(props))
    return json_format.MessageToDict(struct)


def _from_wire(wire: dict[str, Any]) -> Mapping[str, Any]:
    return unknown_checking_proxy(deserialize_properties(wire))


def engine_properties(props: Mapping[str, Any]) -> Mapping[str, Any]:
    """`props` (engine names, `Secret`s, unknown sentinels) exactly as a rule receives them."""
    return _from_wire(wire_properties(props))


def run_with_stack_config(stack_config: Mapping[str, str], fn: Callable[[], T]) -> T:
    """Run `fn` with `pulumi.runtime` config holding `stack_config` only, as in a pack process."""

    def scoped() -> T:
        CONFIG.set(dict(stack_config))
        return fn()

    return contextvars.copy_context().run(scoped)


def committed_stack_config(stack: str, project_dir: Path = PROJECT_DIR) -> dict[str, str]:
    """The config the CLI would pass for a committed stack ({} when there is no stack file)."""
    if not (project_dir / f"Pulumi.{stack}.yaml").exists():
        return {}
    try:
        return stack_files.load(project_dir, stack).values
    except stack_files.StackConfigError:
        return {}


# --- config, as the CLI reconciles it --------------------------------------------------------


@dataclass(frozen=True)
class RuleConfig:
    enforcement: EnforcementLevel
    properties: dict[str, Any]


class _Configurable(Protocol):
    """What config reconciliation needs of a rule or plan check."""

    @property
    def name(self) -> str: ...
    @property
    def enforcement_level(self) -> EnforcementLevel | None: ...
    @property
    def config_schema(self) -> PolicyConfigSchema | None: ...


def _level(rule: str, value: object) -> EnforcementLevel:
    try:
        return EnforcementLevel(value)
    except ValueError:
        levels = ", ".join(level.value for level in EnforcementLevel)
        raise PolicyConfigError(
            f"{rule}: {value!r} is not an enforcement level ({levels})"
        ) from None


def reconcile_config(
    rules: Sequence[_Configurable], config: Mapping[str, Any] | None
) -> dict[str, RuleConfig]:
    """Each rule's effective level and properties, as pulumi's ReconcilePolicyPackConfig."""
    given: dict[str, tuple[EnforcementLevel | None, dict[str, Any]]] = {}
    for key, value in (config or {}).items():
        if isinstance(value, str):
            given[key] = (_level(key, value), {})
        elif isinstance(value, Mapping):
            properties = dict(cast(Mapping[str, Any], value))
            level = properties.pop("enforcementLevel", None)
            given[key] = (None if level is None else _level(key, level), properties)
        else:
            raise PolicyConfigError(f"{key}: must be an enforcement level or an object")
    known = {rule.name for rule in rules}
    unknown = sorted(set(given) - known - {"all"})
    if unknown:
        raise PolicyConfigError(f"no such rule in {PACK_NAME}: {', '.join(unknown)}")

    result: dict[str, RuleConfig] = {}
    for rule in rules:
        schema = rule.config_schema.properties if rule.config_schema else {}
        defaults = {k: v["default"] for k, v in schema.items() if "default" in v}
        result[rule.name] = RuleConfig(
            rule.enforcement_level or EnforcementLevel.ADVISORY, defaults
        )
    everything = given.get("all", (None, {}))[0]
    if everything is not None:
        result = {n: RuleConfig(everything, c.properties) for n, c in result.items()}
    for name, (level, properties) in given.items():
        if name == "all":
            continue
        current = result[name]
        result[name] = RuleConfig(
            level or current.enforcement, {**current.properties, **properties}
        )

    for rule in rules:
        if rule.config_schema is None:
            continue
        schema = {"type": "object", "properties": rule.config_schema.properties}
        if rule.config_schema.required:
            schema["required"] = rule.config_schema.required
        try:
            jsonschema.validate(result[rule.name].properties, schema)
        except jsonschema.ValidationError as exc:
            raise PolicyConfigError(f"{rule.name}: {exc.message}") from None
    return result


def load_config(path: Path) -> dict[str, Any]:
    """A `--policy-pack-config` file (`{"rule": "advisory"}`, `{"rule": {"enforcementLevel":
    ..., <properties>}}`, `{"all": "mandatory"}`), refused as the CLI would refuse it.

    Raises:
        PolicyConfigError: one line naming the file and what is wrong with it.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyConfigError(f"{path}: no such file") from None
    except OSError as exc:
        raise PolicyConfigError(f"{path}: {exc.strerror or exc}") from None
    try:
        document: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PolicyConfigError(
            f"{path}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    if not isinstance(document, dict):
        raise PolicyConfigError(
            f"{path}: expected an object of rule names, got {type(document).__name__}"
        )
    config = cast(dict[str, Any], document)
    try:
        reconcile_config([*POLICIES, *PLAN_CHECKS], config)
    except PolicyConfigError as exc:
        raise PolicyConfigError(f"{path}: {exc}") from None
    return config


# --- the plan check the pack cannot do -------------------------------------------------------

CREDENTIAL_OUTPUT_NAME: Final = re.compile(
    r"password|passwd|secret|token|credential|api[-_]?key|private[-_]?key|connection[-_]?string",
    re.IGNORECASE,
)
# A name ending in one of these words points at a credential rather than holds one.
REFERENCE_WORDS: Final = frozenset(
    {"arn", "arns", "id", "ids", "name", "names", "path", "paths", "parameter", "parameters"}
    | {"version", "versions", "status"}
)
# Values that are references too: an ARN or an SSM parameter path.
REFERENCE_VALUE: Final = re.compile(r"^(arn:|/[\w.-]+(/[\w.-]+)+$)")
# Outputs of these resource types are credentials whatever they are called.
CREDENTIAL_SOURCES: Final[Mapping[str, tuple[str, ...]]] = {
    "random:index/randomPassword:RandomPassword": ("result", "bcryptHash"),
    "tls:index/privateKey:PrivateKey": ("privateKeyPem", "privateKeyOpenssh", "privateKeyPemPkcs8"),
}


def _is_reference_name(key: str) -> bool:
    """`masterUserSecretArn`, `ssmParameters`, `password_path`: a pointer, not a value."""
    words = re.findall(r"[a-z0-9]+|[A-Z][a-z0-9]*", key)
    return bool(words) and words[-1].lower() in REFERENCE_WORDS


def _leaves(
    value: Any, path: tuple[str, ...], secret: bool
) -> Iterator[tuple[tuple[str, ...], Any, bool]]:
    """(path, leaf, secret) for every leaf; a leaf is secret when it or a container is."""
    if isinstance(value, Secret):
        yield from _leaves(value.value, path, True)
    elif isinstance(value, Mapping):
        for key, item in cast(Mapping[Any, Any], value).items():
            yield from _leaves(item, (*path, str(key)), secret)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(cast(Sequence[Any], value)):
            yield from _leaves(item, (*path, f"[{i}]"), secret)
    else:
        yield path, value, secret


def _plain(value: Any) -> Any:
    while isinstance(value, Secret):
        value = value.value
    return value


def credential_values(plan: Plan) -> dict[str, str]:
    """Known credential values in the plan -> where they come from."""
    found: dict[str, str] = {}
    for resource in plan.resources:
        for prop in CREDENTIAL_SOURCES.get(resource.type, ()):
            value = _plain(resource.outputs.get(prop))
            if isinstance(value, str) and value:
                found[value] = f"{resource.name}.{prop}"
        if resource.type == SSM_PARAMETER and _plain(resource.inputs.get("type")) == "SecureString":
            value = _plain(resource.inputs.get("value"))
            if isinstance(value, str) and value:
                found[value] = (
                    f"SecureString {_plain(resource.inputs.get('name')) or resource.name}"
                )
    return found


def credential_output_problems(plan: Plan) -> list[str]:
    """Stack outputs (or parts of them) that carry a credential but are not secret."""
    known = credential_values(plan)
    problems: list[str] = []
    for name in sorted(plan.outputs):
        for path, leaf, secret in _leaves(plan.outputs[name], (name,), False):
            if secret or leaf is None or leaf == "":
                continue
            where = ".".join(path).replace(".[", "[")
            reasons: list[str] = []
            keys = [p for p in path if not p.startswith("[")]
            reference = (bool(keys) and _is_reference_name(keys[-1])) or (
                isinstance(leaf, str) and REFERENCE_VALUE.match(leaf) is not None
            )
            if any(CREDENTIAL_OUTPUT_NAME.search(k) for k in keys) and not reference:
                reasons.append("its name says it is a credential")
            if isinstance(leaf, str):
                if any(not p.startswith(("$", "{{")) for p in URL_PASSWORD.findall(leaf)):
                    reasons.append("it embeds a password in a URL")
                if PRIVATE_KEY.search(leaf):
                    reasons.append("it holds a private key")
                if leaf in known:
                    reasons.append(f"it is the value of {known[leaf]}")
            if reasons:
                problems.append(f"stack output {where} is not secret, but {'; '.join(reasons)}.")
    return problems


@dataclass(frozen=True)
class PlanCheck:
    """A rule evaluated on the plan itself; configured and reported like the pack's rules."""

    name: str
    description: str
    severity: Severity
    enforcement_level: EnforcementLevel
    remediation_steps: str
    run: Callable[[Plan], list[str]]
    config_schema: PolicyConfigSchema | None = None


CREDENTIAL_OUTPUTS_SECRET: Final = PlanCheck(
    name="stack-credential-outputs-secret",
    description="Every stack output that carries a credential is a secret.",
    severity=Severity.CRITICAL,
    enforcement_level=EnforcementLevel.MANDATORY,
    remediation_steps="Export it with pulumi.Output.secret(...) (or export the SSM parameter "
    "name instead of the value); StackReference readers get it back as a secret.",
    run=credential_output_problems,
)
PLAN_CHECKS: Final = (CREDENTIAL_OUTPUTS_SECRET,)


# --- evaluation -------------------------------------------------------------------------------


def root_urn(plan: Plan) -> str:
    return f"urn:pulumi:{plan.stack}::{plan.project}::{STACK}::{plan.project}-{plan.stack}"


def _root(plan: Plan) -> Resource:
    for resource in plan.resources:
        if resource.type == STACK:
            return resource
    return Resource(
        urn=root_urn(plan),
        type=STACK,
        name=f"{plan.project}-{plan.stack}",
        custom=False,
        parent=None,
        provider=None,
        inputs={},
        outputs=plan.outputs,
    )


def _options(resource: Resource) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=resource.protect,
        ignore_changes=list(resource.ignore_changes),
        delete_before_replace=True if resource.delete_before_replace else None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0.0, 0.0, 0.0),
        additional_secret_outputs=list(resource.additional_secret_outputs),
        parent=resource.parent,
    )


_UNREAD: Any = object()


class _OnFirstRead(Generic[T]):
    """An attribute built on its first read, by the function its instance holds as
    `_build_<name>`, then kept; assigning it sets it as any attribute."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.value, self.build = f"_{name}", f"_build_{name}"

    def __get__(self, obj: Any, owner: type | None = None) -> T:
        if obj is None:
            return cast(T, self)
        value = obj.__dict__.get(self.value, _UNREAD)
        if value is _UNREAD:
            value = obj.__dict__[self.value] = getattr(obj, self.build)()
        return value

    def __set__(self, obj: Any, value: T) -> None:
        obj.__dict__[self.value] = value


class _PropsOnFirstRead:
    """A rule's view of one resource whose props and provider are built when first read
    (`_build_props`, `_build_provider`), for `_ReadArgs` and `_ReadResource`."""

    # Read as the pulumi_policy classes declare them: a Mapping, a provider or None.
    props = _OnFirstRead[Mapping[str, Any]]()
    provider = _OnFirstRead[PolicyProviderResource | None]()


class _ReadArgs(_PropsOnFirstRead, ResourceValidationArgs):
    """`ResourceValidationArgs` whose props and provider are built when the rule first
    reads them.

    Each rule still gets its own, as from the analyzer's `Analyze`; but most rules see a
    resource of a type they do not check and return before reading either, so building
    both for every rule and resource up front was most of an evaluation's time."""

    def __init__(
        self,
        resource_type: str,
        props: Callable[[], Mapping[str, Any]],
        urn: str,
        name: str,
        opts: PolicyResourceOptions,
        provider: Callable[[], PolicyProviderResource | None],
        config: Mapping[str, Any] | None,
    ) -> None:
        self._build_props, self._build_provider = props, provider
        super().__init__(resource_type, _UNREAD, urn, name, opts, _UNREAD, config, {})


class _ReadResource(_PropsOnFirstRead, PolicyResource):
    """`PolicyResource` whose props and provider are built when a stack rule first reads
    them: a rule looks at most resources' type alone."""

    def __init__(
        self,
        resource_type: str,
        props: Callable[[], Mapping[str, Any]],
        urn: str,
        name: str,
        opts: PolicyResourceOptions,
        provider: Callable[[], PolicyProviderResource | None],
    ) -> None:
        self._build_props, self._build_provider = props, provider
        super().__init__(resource_type, _UNREAD, urn, name, opts, _UNREAD, None, [], {})


class _Evaluation:
    """One plan's evaluation: cached wire forms, the report being built."""

    def __init__(
        self,
        plan: Plan,
        configs: Mapping[str, RuleConfig],
        stack_config: Mapping[str, str],
    ) -> None:
        self.plan = plan
        self.configs = configs
        self.stack_config = stack_config
        self.root = _root(plan)
        self.resources = [self.root, *(r for r in plan.resources if r is not self.root)]
        self.by_urn = {r.urn: r for r in self.resources}
        self.report = PolicyReport(project=plan.project, stack=plan.stack)
        self._inputs = {r.urn: wire_properties(r.inputs) for r in self.resources}
        outputs = {r.urn: r.outputs for r in self.resources}
        if not self.root.outputs:
            outputs[self.root.urn] = plan.outputs
        self._outputs = {urn: wire_properties(o) for urn, o in outputs.items()}

    def provider(self, resource: Resource) -> PolicyProviderResource | None:
        if not resource.custom or resource.is_provider or resource.read:
            return None
        if resource.provider:
            provider = self.by_urn.get(resource.provider)
            if provider is None:
                return None
            props = _from_wire(self._inputs[provider.urn])
            return PolicyProviderResource(provider.type, props, provider.urn, provider.name)
        package = resource.package
        props = {
            key.split(":", 1)[1]: value
            for key, value in self.stack_config.items()
            if key.startswith(f"{package}:")
        }
        stack, project = self.plan.stack, self.plan.project
        urn = f"urn:pulumi:{stack}::{project}::pulumi:providers:{package}::default"
        return PolicyProviderResource(
            f"pulumi:providers:{package}", engine_properties(props), urn, "default"
        )

    def record(
        self, rule: Rule | PlanCheck, level: EnforcementLevel, urn: str, message: str
    ) -> None:
        resource = self.by_urn.get(urn, self.root)
        self.report.violations.append(
            Violation(
                rule=rule.name,
                enforcement=level,
                severity=rule.severity,
                urn=resource.urn,
                resource_type=resource.type,
                resource_name=resource.name,
                message=message,
                description=rule.description,
                remediation=rule.remediation_steps or "",
            )
        )

    def invoke(self, rule: Rule, run: Callable[[], Any], urn: str) -> None:
        """Run one validation as the analyzer does, including its awaitable and error handling."""
        try:
            result = run()
            if isawaitable(result):
                loop = asyncio.new_event_loop()
                try:
                    loop.run_until_complete(cast(Any, result))
                finally:
                    loop.close()
        except UnknownValueError as exc:
            message = (
                f"can't run policy '{rule.name}' from policy pack '{PACK_NAME}' during preview: "
                f"{exc.message}"
            )
            self.record(rule, EnforcementLevel.ADVISORY, self.root.urn, message)
        except _NotApplicableError as exc:
            self.report.not_applicable.append(NotApplicable(rule.name, urn, exc.reason or ""))
        except Exception as exc:
            raise PolicyCrashError(f"rule {rule.name} crashed on {urn}: {exc!r}") from exc

    def analyze(self, rule: ResourceValidationPolicy, level: EnforcementLevel) -> None:
        if not rule.has_validation():
            self.report.not_applicable.append(
                NotApplicable(rule.name, self.root.urn, "Policy does not implement validate")
            )
            return
        config = self.configs[rule.name].properties
        for resource in self.resources:
            if resource.read:
                continue
            args = _ReadArgs(
                resource.type,
                lambda wire=self._inputs[resource.urn]: _from_wire(wire),
                resource.urn,
                resource.name,
                _options(resource),
                lambda r=resource: self.provider(r),
                dict(config) or None,
            )

            def report(message: str, _urn: str | None = None, r: Resource = resource) -> None:
                self.record(rule, level, r.urn, message)

            self.invoke(rule, lambda a=args, rep=report: rule.validate(a, rep), resource.urn)

    def stack_resources(self) -> list[PolicyResource]:
        built: dict[str, PolicyResource] = {}
        for resource in self.resources:
            built[resource.urn] = _ReadResource(
                resource.type,
                lambda wire=self._outputs[resource.urn]: _from_wire(wire),
                resource.urn,
                resource.name,
                _options(resource),
                lambda r=resource: self.provider(r),
            )
        for resource in self.resources:
            policy_resource = built[resource.urn]
            if resource.parent in built:
                policy_resource.parent = built[resource.parent]
            # The engine's `dependencies`: explicit depends_on with a component as its
            # children, and every input's references; never the component itself.
            policy_resource.dependencies.extend(
                built[d] for d in resource.dependencies if d in built
            )
            for prop, urns in resource.property_dependencies.items():
                policy_resource.property_dependencies[prop] = [built[d] for d in urns if d in built]
        return list(built.values())

    def analyze_stack(self, rule: StackValidationPolicy, level: EnforcementLevel) -> None:
        config = self.configs[rule.name].properties
        args = StackValidationArgs(self.stack_resources(), dict(config) or None, {})

        def report(message: str, urn: str | None = None) -> None:
            self.record(rule, level, urn or self.root.urn, message)

        self.invoke(rule, lambda: rule.validate(args, report), self.root.urn)

    def run(self, rules: Sequence[Rule], checks: Sequence[PlanCheck]) -> PolicyReport:
        for rule in [*rules, *checks]:
            level = self.configs[rule.name].enforcement
            if level == EnforcementLevel.DISABLED:
                continue
            if isinstance(rule, PlanCheck):
                self.report.checks_run += 1
            else:
                self.report.rules_run += 1
            if level == EnforcementLevel.REMEDIATE:
                level = EnforcementLevel.MANDATORY
            if isinstance(rule, ResourceValidationPolicy):
                self.analyze(rule, level)
            elif isinstance(rule, StackValidationPolicy):
                self.analyze_stack(rule, level)
            else:
                for message in rule.run(self.plan):
                    self.record(rule, level, self.root.urn, message)
        return self.report


def evaluate(
    plan: Plan,
    config: Mapping[str, Any] | None = None,
    *,
    stack_config: Mapping[str, str] | None = None,
    project_dir: Path = PROJECT_DIR,
    rules: Sequence[Rule] | None = None,
) -> PolicyReport:
    """Run the whole pack (and the plan checks) on `plan`.

    Args:
        plan: the captured program.
        config: policy pack config as given to `--policy-pack-config`.
        stack_config: the stack's config as the CLI passes it (`ticketing:environment`
            -> "prod"); by default the committed `Pulumi.<stack>.yaml`'s, if any.
        project_dir: where the stack files are.
        rules: the rules to run (default: the whole pack).

    Raises:
        PolicyConfigError: `config` is something the CLI would refuse.
        PolicyCrashError: a rule raised (under the engine, the preview would fail).
    """
    selected = list(POLICIES if rules is None else rules)
    checks = list(PLAN_CHECKS)
    configs = reconcile_config([*selected, *checks], config)
    values = (
        dict(stack_config)
        if stack_config is not None
        else committed_stack_config(plan.stack, project_dir)
    )
    evaluation = _Evaluation(plan, configs, values)
    return run_with_stack_config(values, lambda: evaluation.run(selected, checks))


# --- printing --------------------------------------------------------------------------------


def render_report(report: PolicyReport) -> Table:
    """Every violation: level, rule, resource, message and remediation."""
    table = Table(title=f"Policy violations ({PACK_NAME})", show_lines=True, expand=True)
    table.add_column("Level", no_wrap=True)
    table.add_column("Rule", no_wrap=True)
    table.add_column("Resource", overflow="fold")
    table.add_column("Message", overflow="fold")
    table.add_column("Remediation", overflow="fold")
    ordered = sorted(report.violations, key=lambda v: (not v.mandatory, v.rule, v.urn))
    for v in ordered:
        level = Text(v.enforcement.value, style="bold red" if v.mandatory else "yellow")
        resource = Text(f"{v.resource_name}\n", style="bold")
        resource.append(v.resource_type, style="dim")
        table.add_row(level, v.rule, resource, Text(v.message), Text(v.remediation))
    return table


def summary(report: PolicyReport) -> str:
    """`policy ticketing-guardrails passed: 36 rules + 1 plan check, 0 mandatory and ...`."""
    mandatory, advisory = len(report.mandatory_violations), len(report.advisory_violations)
    verdict = "passed" if report.passed else "failed"
    return (
        f"policy {PACK_NAME} {verdict}: {report.rules_run} rules + {checks_phrase(report)}, "
        f"{mandatory} mandatory and "
        f"{advisory} advisory violations"
    )


def checks_phrase(report: PolicyReport) -> str:
    """`1 plan check`, `2 plan checks`."""
    return f"{report.checks_run} plan check" + ("" if report.checks_run == 1 else "s")


def print_report(report: PolicyReport, console: Console) -> None:
    """The violations table (if any) and the summary line, for `make plan`."""
    if report.violations:
        console.print(render_report(report))
    style = "bold green" if report.passed else "bold red"
    console.print(Text(summary(report), style=style))


def document(report: PolicyReport) -> dict[str, Any]:
    """The report as JSON-ready data (for `make plan --json`)."""
    return {
        "pack": PACK_NAME,
        "rulesRun": report.rules_run,
        "planChecksRun": report.checks_run,
        "passed": report.passed,
        "violations": [
            {
                "rule": v.rule,
                "enforcementLevel": v.enforcement.value,
                "severity": v.severity.value if v.severity else None,
                "urn": v.urn,
                "type": v.resource_type,
                "name": v.resource_name,
                "message": v.message,
                "remediation": v.remediation,
            }
            for v in report.violations
        ],
    }
