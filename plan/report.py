"""How a captured plan reads to a person (rich) and to a machine (JSON)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, cast

from rich.console import Console
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from plan import adoption, iam_details
from plan.docker_details import details
from plan.model import SECRET, Plan, Resource, Secret
from plan.notes import notes
from plan.resource_types import STACK

BOUNDARIES = {
    "cloudflare": "Cloudflare edge",
    "aws": "AWS core",
    "docker": "On-premise (Docker)",
    "random": "Generated secrets",
    "tls": "Generated certificates",
    "pulumi": "Stack references",
}


def boundary(resource: Resource) -> str:
    """The provider boundary a resource belongs to, by its package."""
    return BOUNDARIES.get(resource.package, resource.package)


def render_tree(plan: Plan) -> Tree:
    """Components, then their children, with type and name; providers first. Docker
    resources carry their settings on dim lines below (`plan.docker_details`), the CI
    identity's roles their trust and permissions (`plan.iam_details`)."""
    root_urn = f"urn:pulumi:{plan.stack}::{plan.project}::{STACK}::{plan.project}-{plan.stack}"
    tree = Tree(f"[bold]{plan.project}[/] stack [bold cyan]{plan.stack}[/]")

    def add(node: Tree, parent: str) -> None:
        children = [r for r in plan.resources if (r.parent or root_urn) == parent]
        children.sort(key=lambda r: (not r.is_provider, not r.is_component, r.type, r.name))
        for child in children:
            if child.is_component:
                label = f"[bold magenta]{child.name}[/] [dim]{child.type}[/]"
            elif child.is_provider:
                label = f"[yellow]provider[/] {child.name} [dim]{child.type}[/]"
            else:
                label = f"{child.name} [dim]{child.type}[/]"
                if child.protect:
                    label += " [red](protected)[/]"
                if child.read:
                    label += " [blue](read)[/]"
            text = Text.from_markup(label)
            for line in [*details(child, plan), *iam_details.details(child, plan)]:
                text.append(f"\n{line}", style="dim")
            add(node.add(text), child.urn)

    add(tree, root_urn)
    return tree


def provider_counts(plan: Plan) -> Counter[str]:
    return Counter(boundary(r) for r in plan.resources if r.custom and not r.is_provider)


def render_counts(plan: Plan) -> Table:
    table = Table(title="Resources per provider boundary", show_lines=False)
    table.add_column("Boundary")
    table.add_column("Resources", justify="right")
    counts = provider_counts(plan)
    for name, count in sorted(counts.items()):
        table.add_row(name, str(count))
    table.add_row("[bold]total[/]", f"[bold]{sum(counts.values())}[/]")
    return table


SHOWN_CHARS = 100  # longer values (certificates) are cut in the table; --json has them whole


def show(value: Any) -> str:
    """An output for people: secrets masked, an object one key a line, long values cut."""
    if isinstance(value, Secret):
        return SECRET
    if isinstance(value, dict) and value:
        items = sorted(cast(dict[str, Any], value).items())
        return "\n".join(_entry(key, item) for key, item in items)
    if isinstance(value, dict | list):
        text = json.dumps(to_json(value), sort_keys=True)
    else:
        text = str(value).replace("\n", "\\n")
    return text if len(text) <= SHOWN_CHARS else f"{text[:SHOWN_CHARS]}… ({len(text)} chars)"


def _entry(key: str, value: Any) -> str:
    if isinstance(value, dict) and value:
        return f"{key}:\n  " + show(value).replace("\n", "\n  ")
    return f"{key}: {show(value)}"


def render_outputs(plan: Plan) -> Table:
    table = Table(title="Stack outputs")
    table.add_column("Output")
    table.add_column("Value", overflow="fold")
    for name in sorted(plan.outputs):
        table.add_row(name, Text(show(plan.outputs[name])))
    return table


def to_json(value: Any) -> Any:
    """JSON-ready form; secrets stay masked so a plan document never leaks one."""
    if isinstance(value, Secret):
        return SECRET
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]  # pyright: ignore[reportUnknownVariableType]
    return value


def document(plan: Plan, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The plan as a JSON document: every resource with its options and dependencies, and the
    outputs."""
    return {
        "project": plan.project,
        "stack": plan.stack,
        "resources": [
            {
                "urn": r.urn,
                "type": r.type,
                "name": r.name,
                "parent": r.parent,
                "provider": r.provider,
                "custom": r.custom,
                "inputs": to_json(dict(r.inputs)),
                # As the engine records them; options.dependsOn is the option as written.
                "dependencies": list(r.dependencies),
                "propertyDependencies": {
                    k: list(v) for k, v in r.property_dependencies.items() if v
                },
                "options": {
                    "protect": r.protect,
                    "retainOnDelete": r.retain_on_delete,
                    "deleteBeforeReplace": r.delete_before_replace,
                    "replaceOnChanges": list(r.replace_on_changes),
                    "ignoreChanges": list(r.ignore_changes),
                    "dependsOn": list(r.depends_on),
                    "additionalSecretOutputs": list(r.additional_secret_outputs),
                },
            }
            # The engine registers in whatever order Outputs resolve: by URN, to diff plans.
            for r in sorted(plan.resources, key=lambda r: r.urn)
        ],
        "outputs": to_json(plan.outputs),
        **(extra or {}),
    }


def print_plan(plan: Plan, console: Console) -> None:
    """The tree, the counts, the outputs, then the notes (`plan.notes`) on the stack's choices."""
    console.print(render_tree(plan))
    console.print(render_counts(plan))
    console.print(render_outputs(plan))
    for note in notes(plan):
        console.print(note, highlight=False, soft_wrap=True, markup=False)
    commands = adoption.import_commands(plan)
    if commands:
        console.print(
            "adopt a zone that already has rules or records (README, Deploying for real):",
            highlight=False,
            markup=False,
        )
        for command in commands:
            console.print(f"  {command}", highlight=False, soft_wrap=True, markup=False)
