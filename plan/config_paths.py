"""`make plan PLAN_ARGS="--set services.ticketing.host=ecs"`: plan a stack with config changed.

Each `--set PATH=VALUE` changes the stack's config the way
`pulumi config set --path PATH VALUE` would write it into `Pulumi.<stack>.yaml`: the
first part of the path is the key (in the project's namespace unless it names one,
`aws:region`), the rest walks into its object, creating what is missing; the value
is read as YAML scalars are (`2` a number, `true` a boolean, anything else text).
The stack file itself is never written.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import yaml

from plan.stack_config import StackConfigError, project_name

_ASSIGNMENT = re.compile(r"^(?P<path>[A-Za-z0-9_:-]+(\.[A-Za-z0-9_-]+)*)=(?P<value>.*)$", re.S)


def path_overrides(project_dir: Path, stack: str, assignments: Sequence[str]) -> dict[str, Any]:
    """Full config key -> its new value, for `stack_config.load`'s `overrides`.

    Raises StackConfigError (one line) for an assignment that is not `PATH=VALUE` or
    walks into a value that is not an object.
    """
    if not assignments:
        return {}
    project = project_name(project_dir)
    stack_file = project_dir / f"Pulumi.{stack}.yaml"
    try:
        loaded: Any = yaml.safe_load(stack_file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        loaded = {}  # stack_config.load reports what is wrong with the file itself
    config = cast(dict[str, Any], (loaded.get("config") if isinstance(loaded, dict) else {}) or {})
    changed: dict[str, Any] = {}
    for assignment in assignments:
        match = _ASSIGNMENT.match(assignment)
        if match is None:
            raise StackConfigError(
                f"--set {assignment}: expected PATH=VALUE, as in services.ticketing.host=ecs"
            )
        key, *path = match["path"].split(".")
        full_key = key if ":" in key else f"{project}:{key}"
        value = yaml.safe_load(match["value"]) if match["value"] else ""
        if not path:
            changed[full_key] = value
            continue
        if full_key not in changed:
            changed[full_key] = copy.deepcopy(config.get(full_key, config.get(key, {})))
        node = changed[full_key]
        walked = [full_key]
        for part in path[:-1]:
            if not isinstance(node, dict):
                break
            node = cast(dict[str, Any], node).setdefault(part, {})
            walked.append(part)
        if not isinstance(node, dict):
            raise StackConfigError(
                f"--set {assignment}: {'.'.join(walked)} is not an object, got {node!r}"
            )
        cast(dict[str, Any], node)[path[-1]] = value
    return changed
