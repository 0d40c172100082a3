"""The static shell of what runs on a host, kept in `scripts/*.sh` and filled in here. No Pulumi.

Each template is a real shell file that shellcheck lints as it stands
(tests/test_host_scripts.py); the renderers in this package supply only what
varies, by name:

- `__NAME__` inside a line is replaced by a value (the line stays one line of the
  result, even where the value spans several, as a quoted file content does);
- a line holding only `__NAME__` (indent allowed) is replaced by a block of lines,
  each indented alike, or disappears when the block is empty;
- lines starting with `##` are notes for whoever edits the template, and
  `# shellcheck` directives are for the linter: neither reaches the host.

Every placeholder must be given and every value used, so a template and its
renderer cannot drift apart unnoticed. The templates are read as package data
(`importlib.resources`), wherever the package is imported from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources

SCRIPTS = resources.files("components.host") / "scripts"
PLACEHOLDER = re.compile(r"__([A-Z][A-Z0-9_]*?)__")
_SLOT = re.compile(r"^(\s*)__([A-Z][A-Z0-9_]*?)__$")
_NOT_RENDERED = re.compile(r"^\s*(##|# shellcheck )")

Value = str | int | Sequence[str]


def names() -> list[str]:
    """Every template, by file name."""
    return sorted(p.name for p in SCRIPTS.iterdir() if p.name.endswith(".sh"))


@cache
def template(name: str) -> str:
    """The template `name` (`scripts/<name>`) as written, notes and directives included."""
    return (SCRIPTS / name).read_text(encoding="utf-8")


def placeholders(name: str) -> set[str]:
    """The names the template `name` asks for (its notes may mention others)."""
    return {key for line in _rendered(name) for key in PLACEHOLDER.findall(line)}


def render_lines(name: str, **values: Value) -> list[str]:
    """The template `name` filled in with `values`, one list item per template line."""
    wanted = placeholders(name)
    if wanted != set(values):
        missing, unused = sorted(wanted - set(values)), sorted(set(values) - wanted)
        raise ValueError(f"template {name}: missing {missing}, not in the template {unused}")
    lines: list[str] = []
    for line in _rendered(name):
        slot = _SLOT.match(line)
        if slot:
            indent, key = slot.groups()
            lines += [indent + item for item in _block(values[key])]
        else:
            lines.append(PLACEHOLDER.sub(lambda m: _inline(name, m.group(1), values), line))
    return lines


def render(name: str, **values: Value) -> str:
    """`render_lines` as a file's text: one line each, newline-terminated."""
    return "".join(line + "\n" for line in render_lines(name, **values))


def _rendered(name: str) -> list[str]:
    return [line for line in template(name).splitlines() if not _NOT_RENDERED.match(line)]


def _block(value: Value) -> Sequence[str]:
    return [str(value)] if isinstance(value, str | int) else value


def _inline(name: str, key: str, values: Mapping[str, Value]) -> str:
    value = values[key]
    if not isinstance(value, str | int):
        raise ValueError(f"template {name}: __{key}__ stands inside a line, so it takes one value")
    return str(value)
