"""The README tells the truth: its config reference lists every key the settings accept, with
their defaults, and its seed-row table names where each row of the seed page is implemented."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from components.settings import (
    PROFILES,
    SECRET_KEYS,
    BootstrapSettings,
    CloudSettings,
    VenueStackSettings,
)

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
# Keys that stand for a set of keys in the README's rows.
GENERIC = {
    ".rateLimits.identity.": ".rateLimits.<service>.",
    ".rateLimits.payments.": ".rateLimits.<service>.",
}


def fields(model: type[BaseModel], prefix: str = "") -> dict[str, FieldInfo]:
    """Every leaf key of `model` (camelCase, dotted; dict entries as `<name>`) -> its field."""
    found: dict[str, FieldInfo] = {}
    for name, field in model.model_fields.items():
        key = prefix + (field.alias or name)
        annotation: Any = field.annotation
        if get_origin(annotation) is dict:
            value = get_args(annotation)[1]
            if isinstance(value, type) and issubclass(value, BaseModel):
                found.update(fields(value, f"{key}.<name>."))
            else:
                found[key] = field
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found.update(fields(annotation, f"{key}."))
        else:
            found[key] = field
    return found


def keys(model: type[BaseModel]) -> list[str]:
    found: list[str] = []
    for key in fields(model):
        for specific, placeholder in GENERIC.items():
            key = key.replace(specific, placeholder)
        found.append(key)
    return found


def reference_rows() -> dict[str, list[str]]:
    """The config reference tables: each documented key -> the cells of its row.

    A row's first cell names one key (`a.b`) or several (`a.b` / `.c` / `d`); `.c`
    is a sibling of the first key.
    """
    section = README.split("## Config reference", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        names = re.findall(r"`([^`]+)`", cells[0])
        parent = names[0].rpartition(".")[0]
        for name in names:
            rows[f"{parent}{name}" if name.startswith(".") else name] = cells
    return rows


ROWS = reference_rows()


def test_readme_starts_with_the_two_commands() -> None:
    first_block = README.split("```sh", 1)[1].split("```", 1)[0]
    assert [line.split()[:2] for line in first_block.strip().splitlines()] == [
        ["make", "plan"],
        ["make", "test"],
    ]


def test_every_cloud_config_key_is_documented() -> None:
    assert [key for key in keys(CloudSettings) if key not in ROWS] == []


def test_every_venue_config_key_is_documented() -> None:
    venue_keys = [*keys(VenueStackSettings), *sorted(SECRET_KEYS)]
    assert "venue.dockerHost" in venue_keys
    assert [key for key in venue_keys if key not in ROWS] == []


def test_every_bootstrap_config_key_is_documented() -> None:
    bootstrap_keys = keys(BootstrapSettings)
    assert "ciIdentity.repository" in bootstrap_keys
    assert [key for key in bootstrap_keys if key not in ROWS] == []


def test_no_row_documents_a_key_the_settings_do_not_take() -> None:
    known = {*keys(CloudSettings), *keys(VenueStackSettings), *keys(BootstrapSettings)}
    known |= SECRET_KEYS
    assert sorted(set(ROWS) - known) == []


def shown(value: Any) -> str:
    """A default as the README writes it: `true`, `30`, `[]`, `[DE, NL]`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(shown(v) for v in value) + "]"
    return str(value)


def profile_value(environment: str, key: str) -> Any:
    node: Any = PROFILES[environment]
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def names(cell: str, value: str) -> bool:
    """`value` appears in `cell` as a whole word: `5` is not in `50`."""
    return re.search(rf"(?<![\w.]){re.escape(value)}(?![\w.])", cell) is not None


def test_default_column_gives_each_environments_default() -> None:
    """A key's Default cell names its default in every environment that uses it."""
    missing: list[str] = []
    for key, field in fields(CloudSettings).items():
        if key not in ROWS or field.is_required() or field.default is None:
            continue  # rate limits depend on the zone plan; required keys have no default
        per_env = {env: profile_value(env, key) for env in PROFILES}
        expected = {shown(v) for v in per_env.values() if v is not None}
        if any(v is None for v in per_env.values()):
            expected.add(shown(field.default))
        cell = ROWS[key][2]
        missing += [f"{key}: {value}" for value in sorted(expected) if not names(cell, value)]
    assert missing == []


def test_default_column_check_reads_profile_defaults() -> None:
    # The check above would pass on an empty PROFILES; make sure it sees the prod storage.
    assert profile_value("prod", "database.allocatedStorageGb") == 50
    assert names(ROWS["database.allocatedStorageGb"][2], "50")
    assert not names("`500`", "50")


SEED_PAGE = (Path(__file__).resolve().parent.parent / "docs" / "seed-deployment.md").read_text()
ROOT = Path(__file__).resolve().parent.parent


def _seed_rows() -> set[str]:
    """Every row of the seed page: each table's first cell, each deployment-model item."""
    rows: set[str] = set()
    for line in SEED_PAGE.splitlines():
        if line.startswith("|") and not set(line) <= set("|- "):
            first = line.strip("|").split("|")[0].strip()
            link = re.fullmatch(r"\[\]\(\./components/([\w-]+)\)", first)
            rows.add(link.group(1) if link else first)
        elif bold := re.match(r"- \*\*(.+?)\*\*", line):
            rows.add(bold.group(1))
    headers = {"Service", "Component", "Client", "API"}
    return rows - headers


def _seed_row_table() -> list[tuple[str, str, str]]:
    section = README.split("<!-- seed-rows:start", 1)[1].split("<!-- seed-rows:end", 1)[0]
    table: list[tuple[str, str, str]] = []
    for line in section.splitlines()[3:]:
        row, implemented_by, file = (c.strip() for c in line.strip("|").split("|"))
        table.append((row, implemented_by, file))
    return table


def test_the_seed_row_table_has_exactly_the_seed_pages_rows() -> None:
    assert _seed_rows() >= {"VPC", "bastion", "ticketing", "Single VM"}  # the parser reads it
    assert {row for row, _, _ in _seed_row_table()} == _seed_rows()


@pytest.mark.parametrize("row", _seed_row_table(), ids=lambda r: r[0])
def test_each_seed_row_names_a_definition_in_its_file(row: tuple[str, str, str]) -> None:
    _, implemented_by, file = row
    name = re.match(r"`(\w+)`", implemented_by)
    path = re.fullmatch(r"`([\w/.]+\.py)`", file)
    assert name and path, row
    module = ast.parse((ROOT / path.group(1)).read_text())
    defined = {
        node.name for node in module.body if isinstance(node, ast.ClassDef | ast.FunctionDef)
    }
    assert name.group(1) in defined, f"{name.group(1)} is not defined in {path.group(1)}"
