"""Stack references in the offline plan: a venue stack reads its cloud stack.

`pulumi.StackReference("<org>/ticketing/dev")` is answered from the committed
stack `Pulumi.dev.yaml`'s own offline plan, never from a backend or network.
The name is checked against the rules of the backend the plan runs for
(`plan.backends`): a name that backend would refuse is one line.
Secret outputs stay secret, and the generated secret material inside them
(what is secret in the cloud plan's resources) is replaced by a placeholder.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast

from plan import stack_config
from plan.backends import Backend
from plan.model import Plan, Secret

StackOutputs = Callable[[str], Mapping[str, Any]]

_NAME = re.compile(r"^([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/)?[A-Za-z0-9_.-]+$")


def cloud_stack_of(
    config: stack_config.StackConfig, project_dir: Path, backend: Backend
) -> tuple[str, str] | None:
    """(committed stack, full name) a venue stack references; None for other stacks.

    A malformed name is left to the program's own config validation; a name
    `backend` would refuse, or that no committed stack answers, is a
    `StackConfigError`.
    """
    if config.values.get(f"{config.project}:role") != "venue":
        return None
    try:
        venue: Any = json.loads(config.values.get(f"{config.project}:venue", "{}"))
    except json.JSONDecodeError:
        return None
    written = cast(Mapping[str, Any], venue).get("cloudStack") if isinstance(venue, dict) else None
    if not isinstance(written, str) or not _NAME.match(written):
        return None
    full_name = backend.full_name(written, config.project)
    refusal = backend.refusal(full_name)
    if refusal:
        raise stack_config.StackConfigError(
            f"{config.project}:venue.cloudStack: {refusal}, got {json.dumps(written)}"
        )
    _, project, stack = full_name.split("/")
    committed = stack_config.stacks(project_dir)
    if project != config.project or stack not in committed:
        raise stack_config.StackConfigError(
            f"{config.project}:venue.cloudStack: the offline plan reads only committed stacks "
            f"of project {config.project} (committed: {', '.join(committed)}), "
            f"got {json.dumps(written)}"
        )
    role = stack_config.load(project_dir, stack).values.get(f"{config.project}:role")
    if role != "cloud":
        raise stack_config.StackConfigError(
            f"{config.project}:venue.cloudStack: stack {stack} is a {role} stack, not a cloud "
            f"stack, got {json.dumps(written)}"
        )
    return stack, full_name


def reference_outputs(plan: Plan) -> dict[str, Any]:
    """`plan`'s outputs as another stack reads them offline: secret outputs stay
    `Secret`, and any secret material of the plan's resources inside them is masked."""
    material: set[str] = set()
    for resource in plan.resources:
        _collect_secret_strings(resource.outputs, material, inside=False)
        _collect_secret_strings(resource.inputs, material, inside=False)
    material.discard("")
    return {
        name: Secret(_mask(value.value, material)) if isinstance(value, Secret) else value
        for name, value in plan.outputs.items()
    }


def answer(full_name: str, plan: Plan) -> StackOutputs:
    """The mock engine's answer to StackReference reads: `plan`'s outputs for `full_name`."""
    outputs = reference_outputs(plan)

    def read(name: str) -> Mapping[str, Any]:
        return outputs if name == full_name else {}

    return read


def _collect_secret_strings(value: Any, found: set[str], *, inside: bool) -> None:
    if isinstance(value, Secret):
        _collect_secret_strings(value.value, found, inside=True)
    elif isinstance(value, Mapping):
        for item in cast(Mapping[str, Any], value).values():
            _collect_secret_strings(item, found, inside=inside)
    elif isinstance(value, list | tuple):
        for item in cast(list[Any], value):
            _collect_secret_strings(item, found, inside=inside)
    elif inside and isinstance(value, str):
        found.add(value)


def _mask(value: Any, material: set[str]) -> Any:
    if isinstance(value, Mapping):
        return {k: _mask(v, material) for k, v in cast(Mapping[str, Any], value).items()}
    if isinstance(value, list):
        return [_mask(v, material) for v in cast(list[Any], value)]
    if isinstance(value, str) and value in material:
        return stack_config.SECRET_PLACEHOLDER
    return value
