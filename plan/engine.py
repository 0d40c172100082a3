"""Run the real program under the SDK's mock engine and capture what it registers.

The stock mock arguments lack resource options and parents, and the stock
monitor neither applies `additionalSecretOutputs` nor builds the engine's URNs.
`CaptureMonitor` does all three, so the capture is what `pulumi preview` (and
the policy pack) would see. The option `depends_on` as the program wrote it
never reaches the monitor: the SDK sends one `dependencies` list per resource,
its `depends_on` targets merged with every resource an input references, and a
component replaced by the custom resources under it. So `ExplicitDependsOn`
reads the option itself, from a stack transformation.
"""

from __future__ import annotations

import dataclasses
import logging
import runpy
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast

import pulumi
import pulumi.runtime
from pulumi.runtime import mocks, rpc
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import (  # pyright: ignore[reportPrivateUsage]
    _ensure_event_loop,  # pyright: ignore[reportPrivateUsage]
    _sync_await,
)

from components.settings import DEFAULT_REGION
from components.venue import preflight
from plan import fakes, references, stack_config
from plan.backends import Backend
from plan.model import Plan, Resource, Secret
from plan.resource_types import STACK, STACK_REFERENCE

PROJECT_DIR = Path(__file__).resolve().parent.parent

StackOutputs = Callable[[str], Mapping[str, Any]]


class ProgramError(Exception):
    """The program failed for a reason other than config; one line for people."""


def _to_capture(value: Any) -> Any:
    """Engine values as captured: secrets wrapped in `Secret`, containers copied."""
    if rpc.is_rpc_secret(value):
        return Secret(_to_capture(rpc.unwrap_rpc_secret(value)))
    if isinstance(value, Mapping):
        return {k: _to_capture(v) for k, v in cast(Mapping[str, Any], value).items()}
    if isinstance(value, list):
        return [_to_capture(v) for v in cast(list[Any], value)]
    return value


class PlanMocks(pulumi.runtime.Mocks):
    """The fake cloud: computed outputs from `plan.fakes`, stack references from
    `stack_outputs` (a venue stack reads its cloud stack's offline plan)."""

    def __init__(self, region: str, stack_outputs: StackOutputs | None = None) -> None:
        self.region = region
        self.stack_outputs = stack_outputs

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        if args.typ == STACK_REFERENCE:
            name = str(args.inputs.get("name") or args.name)
            outputs = dict(self.stack_outputs(name)) if self.stack_outputs else {}
            secret_names = [k for k, v in outputs.items() if isinstance(v, Secret)]
            plain = {k: (v.value if isinstance(v, Secret) else v) for k, v in outputs.items()}
            return name, {"name": name, "outputs": plain, "secretOutputNames": secret_names}
        if not args.custom and args.custom is not None:
            return None, {}  # component: no state of its own
        physical_id = args.resource_id or fakes.resource_id(args.typ, args.name)
        return physical_id, fakes.state(args.typ, args.name, args.inputs, self.region)

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        region = str(args.args.get("region") or self.region)
        try:
            return fakes.invoke(args.token, args.args, region), []
        except KeyError:
            raise ProgramError(
                f"the offline plan has no answer for the call {args.token}"
            ) from None


class CaptureMonitor(mocks.MockMonitor):
    """MockMonitor that records every registration with its options, builds URNs
    the way the engine does, and keeps `additionalSecretOutputs` secret."""

    def __init__(self, mocks_: PlanMocks) -> None:
        super().__init__(mocks_)
        self.captured: list[Resource] = []

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        if parent:
            parent_type = parent.split("::")[2]
            if parent_type != STACK:
                type_ = f"{parent_type}${type_}"
        return "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), type_, name])

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        if request.type == STACK:
            return super().RegisterResource(request)
        mocks._ensure_event_loop()  # pyright: ignore[reportPrivateUsage, reportPrivateImportUsage]
        urn = self.make_urn(request.parent, request.type, request.name)
        inputs = rpc.deserialize_properties(request.object)
        custom = bool(request.custom)
        resource_args = pulumi.runtime.MockResourceArgs(
            typ=request.type,
            name=request.name,
            inputs=inputs,
            provider=request.provider,
            resource_id=request.importId,
            custom=custom,
        )
        id_, state = self.mocks.new_resource(resource_args)
        secret_outputs = list(request.additionalSecretOutputs)
        # The SDK collects them in sets: sorted, so the same program captures the same.
        by_input = {k: tuple(sorted(v.urns)) for k, v in request.propertyDependencies.items()}
        dependencies = tuple(sorted(request.dependencies))
        state = {
            k: (rpc.wrap_rpc_secret(v) if k in secret_outputs and not rpc.is_rpc_secret(v) else v)
            for k, v in state.items()
        }
        self.captured.append(
            Resource(
                urn=urn,
                type=request.type,
                name=request.name,
                custom=custom,
                parent=request.parent or None,
                provider=request.provider.rsplit("::", 1)[0] if request.provider else None,
                inputs=_to_capture(inputs),
                outputs=_to_capture(state),
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                delete_before_replace=bool(request.deleteBeforeReplace),
                replace_on_changes=tuple(request.replaceOnChanges),
                ignore_changes=tuple(request.ignoreChanges),
                dependencies=dependencies,
                property_dependencies=by_input,
                additional_secret_outputs=tuple(secret_outputs),
                id=id_ or "",
                import_id=request.importId,
            )
        )
        obj = _sync_await(rpc.serialize_properties(state, {}))
        self.resources[urn] = mocks.MockMonitor.ResourceRegistration(urn, id_ or "", state)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=id_ or "", object=obj)

    def ReadResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        response = super().ReadResource(request)
        registration = self.resources[response.urn]
        self.captured.append(
            Resource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                custom=True,
                parent=request.parent or None,
                provider=None,
                inputs={},
                outputs=_to_capture(registration.state),
                read=True,
                id=registration.id,
            )
        )
        return response


class ExplicitDependsOn:
    """The `depends_on` option of every resource, as the program wrote it.

    `transformation` (a stack transformation: it sees each resource's real
    `ResourceOptions` and changes nothing) keeps the option's value;
    `urns()`, once the program has finished, resolves it the way the SDK's
    `_resolve_depends_on` does (a Resource, a list, or an Output of either, plus
    the resources such an Output came from), but keeps a component as itself.
    """

    def __init__(self) -> None:
        self._written: list[tuple[pulumi.Resource, pulumi.Input[Any]]] = []

    def transformation(
        self, args: pulumi.ResourceTransformationArgs
    ) -> pulumi.ResourceTransformationResult | None:
        if args.opts.depends_on is not None:
            self._written.append((args.resource, args.opts.depends_on))
        return None

    async def urns(self) -> dict[str, tuple[str, ...]]:
        """Each resource's URN to the sorted URNs its `depends_on` names."""
        by_urn: dict[str, tuple[str, ...]] = {}
        for resource, depends_on in self._written:
            targets = await _depends_on_targets(depends_on)
            urns = {str(await t.urn.future()) for t in targets}
            by_urn[str(await resource.urn.future())] = tuple(sorted(urns))
        return by_urn


async def _depends_on_targets(depends_on: pulumi.Input[Any]) -> list[pulumi.Resource]:
    output = pulumi.Output.from_input(depends_on)
    value = await output.future(with_unknowns=True)
    listed = cast(list[Any], value) if isinstance(value, list) else [value]
    targets = [r for r in listed if isinstance(r, pulumi.Resource)]
    return [*targets, *(await output.resources())]


def capture(
    stack: str,
    *,
    project_dir: Path = PROJECT_DIR,
    overrides: Mapping[str, Any] | None = None,
    stack_file: Mapping[str, Any] | None = None,
    stack_outputs: StackOutputs | None = None,
    plan_of: Callable[[str], Plan] | None = None,
    backend: Backend | None = None,
    probe_docker_host: bool = False,
) -> Plan:
    """Run `__main__.py` for `stack` under mocks and return everything it registered,
    with the stack config it ran with (`Plan.config`).

    `stack_file` stands in for `Pulumi.<stack>.yaml` (a stack a test builds itself).

    A venue stack's StackReference is answered from its cloud stack's plan,
    `plan_of(cloud stack)` (default: a fresh capture), unless `stack_outputs`
    answers it. `backend` (default: `Backend.of()`) is the state backend the
    stack runs on: its organization is `pulumi.get_organization()`, and a stack
    name it would refuse is a `StackConfigError`.

    A venue stack's Docker host is probed (`components.venue.preflight`) only with
    `probe_docker_host`: the offline plan has no network.

    Raises `components.settings.ConfigError` for bad config (before anything is
    registered), `stack_config.StackConfigError` for a bad stack file, and
    `ProgramError` for anything else the program does wrong.
    """
    config = stack_config.load(
        project_dir,
        stack,
        dict(overrides or {}),
        stack_file=None if stack_file is None else dict(stack_file),
    )
    backend = backend or Backend.of()
    if stack_outputs is None:
        cloud = references.cloud_stack_of(config, project_dir, backend)
        if cloud is not None:
            # Complete before this capture starts: a capture resets Pulumi's runtime.
            cloud_plan = (
                plan_of or (lambda s: capture(s, project_dir=project_dir, backend=backend))
            )(cloud[0])
            stack_outputs = references.answer(cloud[1], cloud_plan)
    # Pulumi.yaml gives `region` a default; a project that declares no region gets the settings'.
    region = config.values.get(f"{config.project}:region", DEFAULT_REGION)
    monitor = CaptureMonitor(PlanMocks(region, stack_outputs))
    depends_on = ExplicitDependsOn()
    warnings = _Warnings()

    pulumi.runtime.reset_options(project=config.project, stack=stack)
    pulumi.runtime.set_all_config(config.values, config.secret_keys)
    pulumi.runtime.set_mocks(
        monitor.mocks,
        project=config.project,
        stack=stack,
        preview=False,
        monitor=monitor,
        organization=backend.organization,
        logger=warnings.logger,
    )
    # On the root stack set_mocks created, so it applies to every resource the program makes.
    pulumi.runtime.register_stack_transformation(depends_on.transformation)
    program = str(project_dir / "__main__.py")
    if str(project_dir) not in sys.path:
        sys.path.insert(0, str(project_dir))

    def run() -> None:
        runpy.run_path(program, run_name="__main__")

    _ensure_event_loop().set_exception_handler(_report_once)
    preflight.enabled = probe_docker_host
    try:
        _sync_await(run_pulumi_func(run))
    finally:
        preflight.enabled = True
    written = _sync_await(depends_on.urns())
    resources = [
        dataclasses.replace(r, depends_on=written.get(r.urn, ())) for r in monitor.captured
    ]
    plan = Plan(
        project=config.project,
        stack=stack,
        resources=resources,
        config=dict(config.values),
        warnings=warnings.messages,
    )
    plan.outputs = _stack_outputs()
    return plan


class _Warnings(logging.Handler):
    """Collects what the program logs with `pulumi.log.warn` (the mock engine's logger)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []
        self.logger = logging.getLogger(f"plan.engine.program.{id(self)}")
        self.logger.propagate = False
        self.logger.addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message not in self.messages:  # an apply may run more than once
            self.messages.append(message)


def _report_once(loop: Any, context: dict[str, Any]) -> None:
    # capture() raises the first RunError; every output depending on it fails again.
    if isinstance(context.get("exception"), pulumi.RunError):
        return
    loop.default_exception_handler(context)


def _stack_outputs() -> dict[str, Any]:
    root = pulumi.runtime.settings.get_root_resource()
    raw: dict[str, Any] = dict(getattr(root, "outputs", {}) or {})
    resolved: dict[str, Any] = {}
    for name, value in raw.items():
        output = pulumi.Output.from_input(value)
        plain = _sync_await(output.future())
        resolved[name] = Secret(plain) if _sync_await(output.is_secret()) else plain
    return resolved
