"""Turn `Pulumi.yaml` + `Pulumi.<stack>.yaml` into the config the engine would pass.

The CLI hands a program its config as strings: objects and lists JSON-encoded,
numbers and booleans in their text form, project defaults from `Pulumi.yaml`
filled in. `secure:` values cannot be decrypted without the CLI, so they become
a placeholder and stay listed as secret.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import yaml

SECRET_PLACEHOLDER = "offline-plan-secret-placeholder"


class StackConfigError(Exception):
    """The stack file is missing or not the shape Pulumi reads."""


@dataclass(frozen=True)
class StackConfig:
    project: str
    stack: str
    values: dict[str, str]
    secret_keys: list[str]


def project_name(project_dir: Path) -> str:
    return str(_read_yaml(project_dir / "Pulumi.yaml")["name"])


def stacks(project_dir: Path) -> list[str]:
    """Every committed stack, by its file name."""
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml"))


def load(project_dir: Path, stack: str, overrides: dict[str, Any] | None = None) -> StackConfig:
    """The config of `stack` as the engine would pass it; `overrides` win (tests use them)."""
    project_file = _read_yaml(project_dir / "Pulumi.yaml")
    project = str(project_file["name"])
    stack_path = project_dir / f"Pulumi.{stack}.yaml"
    if not stack_path.exists():
        known = ", ".join(stacks(project_dir)) or "none"
        raise StackConfigError(f"no stack file {stack_path.name} (committed stacks: {known})")
    stack_file = _read_yaml(stack_path)

    values: dict[str, str] = {}
    secret_keys: list[str] = []
    schema = cast(dict[str, Any], project_file.get("config") or {})
    for key, spec in schema.items():
        if isinstance(spec, dict) and "default" in spec:
            values[_qualify(project, key)] = _encode(cast(dict[str, Any], spec)["default"])
    raw = dict(cast(dict[str, Any], stack_file.get("config") or {}))
    raw.update(overrides or {})
    for key, value in raw.items():
        full_key = _qualify(project, key)
        if isinstance(value, dict) and set(cast(dict[str, Any], value)) == {"secure"}:
            values[full_key] = SECRET_PLACEHOLDER
            secret_keys.append(full_key)
        elif value is None:
            values.pop(full_key, None)
        else:
            values[full_key] = _encode(value)
    return StackConfig(project=project, stack=stack, values=values, secret_keys=secret_keys)


def _qualify(project: str, key: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def _encode(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise StackConfigError(f"{path.name} not found in {path.parent}") from None
    except yaml.YAMLError as exc:
        raise StackConfigError(f"{path.name}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise StackConfigError(f"{path.name}: expected a mapping at the top level")
    return cast(dict[str, Any], data)
