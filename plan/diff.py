"""`python -m plan.diff BASE.json HEAD.json`: what a pull request changes in one stack.

Both files are `make plan --json` documents of the same stack, from the base
branch and from the pull request. The comment it writes says, per top-level
component, which resources would be created, updated or deleted (and which
inputs change), the policy verdicts of the head with the violations the pull
request introduces, and the monthly cost difference. `--annotations` also
prints each violation as a GitHub workflow command, so it shows on the diff
even when the preview itself fails.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Kind = Literal["create", "update", "delete"]
STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass(frozen=True)
class Change:
    kind: Kind
    urn: str
    type: str
    name: str
    component: str
    inputs: tuple[str, ...] = ()  # the inputs (and options) that differ, for an update


@dataclass(frozen=True)
class Verdict:
    rule: str
    mandatory: bool
    name: str
    message: str
    new: bool  # not reported on the base


@dataclass
class PlanDiff:
    stack: str
    changes: list[Change] = field(default_factory=list[Change])
    verdicts: list[Verdict] = field(default_factory=list[Verdict])
    passed: bool = True
    cost_before: float = 0.0
    cost_after: float = 0.0

    def count(self, kind: Kind) -> int:
        return sum(1 for c in self.changes if c.kind == kind)


def diff(base: Mapping[str, Any], head: Mapping[str, Any]) -> PlanDiff:
    """The changes from `base` to `head` (two plan documents of one stack)."""
    before = _by_urn(base)
    after = _by_urn(head)
    result = PlanDiff(stack=str(head.get("stack", "")))
    for urn in sorted(after.keys() - before.keys()):
        result.changes.append(_change("create", after[urn], after))
    for urn in sorted(before.keys() - after.keys()):
        result.changes.append(_change("delete", before[urn], before))
    for urn in sorted(before.keys() & after.keys()):
        differing = _differing(before[urn], after[urn])
        if differing:
            result.changes.append(_change("update", after[urn], after, differing))
    seen = {(v["rule"], v["urn"]) for v in _violations(base)}
    result.verdicts = [
        Verdict(
            rule=v["rule"],
            mandatory=v["enforcementLevel"] == "mandatory",
            name=v["name"],
            message=v["message"],
            new=(v["rule"], v["urn"]) not in seen,
        )
        for v in _violations(head)
    ]
    result.passed = bool(head.get("policy", {}).get("passed", True))
    result.cost_before = float(base.get("cost", {}).get("total", 0.0))
    result.cost_after = float(head.get("cost", {}).get("total", 0.0))
    return result


def render_markdown(plan_diff: PlanDiff) -> str:
    """The pull-request comment for one stack."""
    d = plan_diff
    mandatory = sum(1 for v in d.verdicts if v.mandatory)
    advisory = len(d.verdicts) - mandatory
    delta = d.cost_after - d.cost_before
    lines = [
        f"### `{d.stack}`: {d.count('create')} to create, {d.count('update')} to update, "
        f"{d.count('delete')} to delete",
        "",
        f"- policy: {'passed' if d.passed else '**failed**'} "
        f"({mandatory} mandatory, {advisory} advisory violations)",
        f"- cost: ${d.cost_before:,.2f} -> ${d.cost_after:,.2f} a month ({delta:+,.2f})",
    ]
    if d.changes:
        lines += [
            "",
            "| component | change | resource | type | inputs |",
            "| --- | --- | --- | --- | --- |",
        ]
        order = {"delete": 0, "update": 1, "create": 2}
        for c in sorted(d.changes, key=lambda c: (c.component, order[c.kind], c.name)):
            inputs = ", ".join(f"`{i}`" for i in c.inputs)
            lines.append(f"| {c.component} | {c.kind} | `{c.name}` | `{c.type}` | {inputs} |")
    if d.verdicts:
        lines += ["", "| level | rule | resource | message |", "| --- | --- | --- | --- |"]
        for v in sorted(d.verdicts, key=lambda v: (not v.mandatory, v.rule, v.name)):
            level = "mandatory" if v.mandatory else "advisory"
            mark = " (new)" if v.new else ""
            message = v.message.replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {level}{mark} | `{v.rule}` | `{v.name}` | {message} |")
    return "\n".join(lines) + "\n"


def workflow_annotations(plan_diff: PlanDiff) -> list[str]:
    """Each violation as a GitHub workflow command (`::error` / `::warning`)."""
    out: list[str] = []
    for v in plan_diff.verdicts:
        command = "error" if v.mandatory else "warning"
        title = f"{plan_diff.stack}: {v.rule}"
        out.append(f"::{command} title={_escape(title)}::{_escape(f'{v.name}: {v.message}')}")
    return out


def _escape(text: str) -> str:
    # GitHub's workflow-command escaping for data.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _by_urn(document: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {str(r["urn"]): r for r in document.get("resources", []) if r.get("type") != STACK_TYPE}


def _violations(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(document.get("policy", {}).get("violations", []))


def _differing(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[str, ...]:
    keys: set[str] = set()
    for section in ("inputs", "options"):
        old, new = before.get(section) or {}, after.get(section) or {}
        prefix = "" if section == "inputs" else "options."
        keys |= {f"{prefix}{k}" for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
    return tuple(sorted(keys))


def _change(
    kind: Kind,
    resource: Mapping[str, Any],
    resources: Mapping[str, Mapping[str, Any]],
    inputs: Sequence[str] = (),
) -> Change:
    return Change(
        kind=kind,
        urn=str(resource["urn"]),
        type=str(resource["type"]),
        name=str(resource["name"]),
        component=_top_component(resource, resources),
        inputs=tuple(inputs),
    )


def _top_component(resource: Mapping[str, Any], resources: Mapping[str, Mapping[str, Any]]) -> str:
    """The name of the top-level component the resource sits under (itself if top-level)."""
    current = resource
    while True:
        parent = resources.get(str(current.get("parent") or ""))
        if parent is None or parent.get("type") == STACK_TYPE:
            return str(current["name"])
        current = parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m plan.diff", description=__doc__)
    parser.add_argument("base", type=Path, help="make plan --json document of the base branch")
    parser.add_argument("head", type=Path, help="make plan --json document of the pull request")
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="write the comment here")
    parser.add_argument(
        "--annotations", action="store_true", help="print violations as workflow commands"
    )
    args = parser.parse_args(argv)
    try:
        base = json.loads(args.base.read_text())
        head = json.loads(args.head.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = diff(base, head)
    comment = render_markdown(result)
    if args.markdown:
        args.markdown.write_text(comment)
    else:
        sys.stdout.write(comment)
    if args.annotations:
        for line in workflow_annotations(result):
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
