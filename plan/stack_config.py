"""Turn `Pulumi.yaml` + `Pulumi.<stack>.yaml` into the config the engine would pass.

The CLI hands a program its config as strings: objects and lists JSON-encoded,
numbers and booleans in their text form, project defaults from `Pulumi.yaml`
filled in. `secure:` values cannot be decrypted without the CLI, so they become
a placeholder and stay listed as secret.

Before that, the CLI checks the stack against the `config:` schema of
`Pulumi.yaml` (`ValidateStackConfigAndApplyProjectConfig` in
sdk/go/common/workspace): a project key declared without a default must be set
by the stack, and a declared `type` (string, integer, boolean, object, array)
must fit the value. `load` applies the same rules, so a stack the offline plan
accepts is one `pulumi preview` accepts too.
"""

from __future__ import annotations

import json
import re
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
    secrets_provider: str | None = None  # the stack file's `secretsprovider`; None: the backend's


# The secrets providers `pulumi stack init --secrets-provider` takes
# (https://www.pulumi.com/docs/iac/concepts/secrets/#available-encryption-providers).
SECRETS_PROVIDERS = re.compile(
    r"^(default|passphrase|awskms://\S+|azurekeyvault://\S+|gcpkms://\S+|hashivault://\S+)$"
)


def project_name(project_dir: Path) -> str:
    return str(_read_yaml(project_dir / "Pulumi.yaml")["name"])


def stacks(project_dir: Path) -> list[str]:
    """Every committed stack, by its file name."""
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml"))


def load(
    project_dir: Path,
    stack: str,
    overrides: dict[str, Any] | None = None,
    *,
    stack_file: dict[str, Any] | None = None,
) -> StackConfig:
    """The config of `stack` as the engine would pass it; `overrides` win (tests use them).

    `stack_file` is the stack file's content in place of `Pulumi.<stack>.yaml`: a test
    that builds its own stack (tests/factories.py) reads no committed file.

    Raises StackConfigError, one line, where the CLI would refuse the stack.
    """
    project_file = _read_yaml(project_dir / "Pulumi.yaml")
    project = str(project_file["name"])
    stack_path = project_dir / f"Pulumi.{stack}.yaml"
    if stack_file is None:
        if not stack_path.exists():
            known = ", ".join(stacks(project_dir)) or "none"
            raise StackConfigError(f"no stack file {stack_path.name} (committed stacks: {known})")
        stack_file = _read_yaml(stack_path)

    provider = stack_file.get("secretsprovider")
    if provider is not None and not SECRETS_PROVIDERS.match(str(provider)):
        raise StackConfigError(
            f"{stack_path.name}: secretsprovider: expected default, passphrase, awskms://, "
            f"azurekeyvault://, gcpkms:// or hashivault://, got {_show(provider)}"
        )
    stack_values = stack_file.get("config") or {}
    if not isinstance(stack_values, dict):
        raise StackConfigError(f"{stack_path.name}: config: expected a mapping of keys to values")
    # An empty value in the stack file is empty text to the CLI; a None override unsets.
    raw = {k: "" if v is None else v for k, v in cast(dict[str, Any], stack_values).items()}
    raw.update(overrides or {})
    given = {_qualify(project, k): v for k, v in raw.items() if v is not None}
    schema = _schema(project, project_file)
    _check_against_schema(project, stack, schema, given)

    values: dict[str, str] = {}
    secret_keys: list[str] = []
    for full_key, spec in schema.items():
        if full_key not in given and ("default" in spec or "value" in spec):
            values[full_key] = _encode(spec["default"] if "default" in spec else spec["value"])
    for full_key, value in given.items():
        if _is_secure(value):
            values[full_key] = SECRET_PLACEHOLDER
            secret_keys.append(full_key)
        else:
            values[full_key] = _encode(value)
    return StackConfig(
        project=project,
        stack=stack,
        values=values,
        secret_keys=secret_keys,
        secrets_provider=None if provider is None else str(provider),
    )


def _schema(project: str, project_file: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """`Pulumi.yaml`'s `config:` by full key; a bare value is shorthand for a project
    key's default or another namespace's value, as the CLI reads it."""
    schema: dict[str, dict[str, Any]] = {}
    for key, spec in cast(dict[str, Any], project_file.get("config") or {}).items():
        full_key = _qualify(project, key)
        if isinstance(spec, dict):
            schema[full_key] = cast(dict[str, Any], spec)
        else:
            schema[full_key] = {"default" if _in_project(project, full_key) else "value": spec}
    return schema


def _check_against_schema(
    project: str, stack: str, schema: dict[str, dict[str, Any]], given: dict[str, Any]
) -> None:
    """The CLI's rules: declared project keys without a default are set, values fit types."""
    declared = sorted(k for k in schema if _in_project(project, k))
    for full_key in declared:
        spec = schema[full_key]
        if full_key not in given and "default" not in spec and "value" not in spec:
            raise StackConfigError(
                f"{full_key}: Pulumi.yaml declares it without a default, so stack {stack} "
                "must set it (pulumi preview refuses the stack), got nothing"
            )
    for full_key in declared:
        spec = schema[full_key]
        type_name = _type_name(spec)
        if type_name is None:
            continue
        if "default" in spec and not _fits(spec, spec["default"]):
            raise StackConfigError(
                f"{full_key}: the default in Pulumi.yaml is not of the declared type "
                f"{type_name}, got {_show(spec['default'])}"
            )
        if full_key not in given:
            continue
        value = given[full_key]
        if _is_secure(value):
            continue  # encrypted: only the CLI can decrypt and check it
        if spec.get("secret"):
            raise StackConfigError(
                f"{full_key}: Pulumi.yaml declares it secret, so stack {stack} must set it with "
                "pulumi config set --secret, got a plain value"
            )
        # The CLI reads a scalar stack value as its text, an object or list as JSON.
        if not _fits(spec, value if isinstance(value, dict | list) else _encode(value)):
            raise StackConfigError(
                f"{full_key}: not of the type {type_name} that Pulumi.yaml declares "
                f"(stack {stack}), got {_show(value)}"
            )


_GO_INT = re.compile(r"^[+-]?[0-9]+$")
_INT64 = 2**63


def _fits(spec: dict[str, Any], value: Any) -> bool:
    """The CLI's `ValidateConfigValue`: does `value` fit the declared type (and items)?"""
    type_name = spec.get("type")
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "integer":
        if isinstance(value, bool):
            return False
        if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
            return True
        return (
            isinstance(value, str) and bool(_GO_INT.match(value)) and -_INT64 <= int(value) < _INT64
        )
    if type_name == "boolean":
        return isinstance(value, bool) or value in ("true", "false")
    if type_name == "object":
        return isinstance(value, dict)
    items = spec.get("items")
    if type_name != "array" or not isinstance(value, list) or not isinstance(items, dict):
        return False
    return all(_fits(cast(dict[str, Any], items), item) for item in cast(list[Any], value))


def _type_name(spec: dict[str, Any]) -> str | None:
    """The declared type as the CLI names it (`array<string>`), or None when untyped."""
    type_name = spec.get("type")
    if type_name is None:
        return None
    items = spec.get("items")
    if isinstance(items, dict):
        return f"array<{_type_name(cast(dict[str, Any], items))}>"
    return str(type_name)


def _in_project(project: str, full_key: str) -> bool:
    return full_key.startswith(f"{project}:")


def _is_secure(value: Any) -> bool:
    return isinstance(value, dict) and set(cast(dict[str, Any], value)) == {"secure"}


def _show(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


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
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StackConfigError(f"{path.name} not found in {path.parent}") from None
    except UnicodeDecodeError as exc:
        raise StackConfigError(
            f"{path.name}: not UTF-8 text (byte {exc.start}: {exc.reason})"
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise StackConfigError(_yaml_error_line(path.name, text, exc)) from None
    if not isinstance(data, dict):
        raise StackConfigError(f"{path.name}: expected a mapping at the top level")
    return cast(dict[str, Any], data)


def _yaml_error_line(name: str, text: str, exc: yaml.YAMLError) -> str:
    """`Pulumi.dev.yaml:12:5: not valid YAML: <PyYAML's problem>`, on one line."""
    where, problem = name, str(exc)
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "malformed"
        if mark is not None:
            where = f"{name}:{mark.line + 1}:{mark.column + 1}"
    elif isinstance(exc, yaml.reader.ReaderError):
        before = text[: exc.position]
        line, column = before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
        where, problem = f"{name}:{line}:{column}", exc.reason
    return f"{where}: not valid YAML: {' '.join(str(problem).split())}"
