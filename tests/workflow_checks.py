"""Properties of the GitHub workflows, as functions that list what breaks them.

Each returns [] for a workflow that has the property and one line per breach
otherwise, so a test asserts both: the committed workflow passes, and the same
workflow with the property removed does not.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, cast

import yaml

from plan.engine import PROJECT_DIR

WORKFLOWS = PROJECT_DIR / ".github" / "workflows"
CREDENTIALS_ACTION = "aws-actions/configure-aws-credentials@"

Workflow = dict[str, Any]


def load(path: Path) -> Workflow:
    # PyYAML reads the bare key `on` as True (YAML 1.1); GitHub reads it as "on".
    document = cast(Workflow, yaml.safe_load(path.read_text(encoding="utf-8")))
    if True in document:
        document["on"] = document.pop(True)  # pyright: ignore[reportArgumentType]
    return document


def all_workflows() -> dict[str, Workflow]:
    return {p.name: load(p) for p in sorted(WORKFLOWS.glob("*.yml"))}


def jobs(workflow: Workflow) -> dict[str, dict[str, Any]]:
    return cast(dict[str, dict[str, Any]], workflow.get("jobs") or {})


def steps(job: Mapping[str, Any]) -> list[dict[str, Any]]:
    return cast(list[dict[str, Any]], job.get("steps") or [])


def assumed_roles(job: Mapping[str, Any]) -> list[str]:
    """The `role-to-assume` of every configure-aws-credentials step of `job`."""
    return [
        str(s.get("with", {}).get("role-to-assume", ""))
        for s in steps(job)
        if str(s.get("uses", "")).startswith(CREDENTIALS_ACTION)
    ]


def runs(job: Mapping[str, Any]) -> str:
    return "\n".join(str(s.get("run", "")) for s in steps(job))


def triggers(workflow: Workflow) -> dict[str, Any]:
    on = workflow.get("on")
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return {str(t): None for t in cast(list[Any], on)}
    return cast(dict[str, Any], on or {})


def id_token_breaches(workflow: Workflow) -> list[str]:
    """`id-token: write` exactly on the jobs that assume an AWS role, never workflow-wide."""
    found: list[str] = []
    top = workflow.get("permissions")
    if top == "write-all" or (isinstance(top, dict) and "id-token" in top):
        found.append("the workflow grants id-token to every job")
    if top is None:
        found.append("the workflow leaves the token's permissions at the repository default")
    for name, job in jobs(workflow).items():
        permissions = job.get("permissions")
        granted = isinstance(permissions, dict) and permissions.get("id-token") == "write"
        needed = bool(assumed_roles(job))
        if granted and not needed:
            found.append(f"job {name}: id-token: write without assuming a role")
        if needed and not granted:
            found.append(f"job {name}: assumes a role without id-token: write")
    return found


def deploy_role_breaches(workflow: Workflow) -> list[str]:
    """A deploy role is assumed only by a job that runs on a push to main, in an environment."""
    found: list[str] = []
    on = triggers(workflow)
    for name, job in jobs(workflow).items():
        if not any(role.endswith("-deploy") for role in assumed_roles(job)):
            continue
        push = on.get("push") if isinstance(on.get("push"), dict) else None
        if set(on) != {"push"} or push is None or push.get("branches") != ["main"]:
            found.append(f"job {name}: a deploy role in a workflow not run only on push to main")
        condition = str(job.get("if", ""))
        if "github.ref == 'refs/heads/main'" not in condition or "'push'" not in condition:
            found.append(f"job {name}: a deploy role without its if: on push to main")
        if not job.get("environment"):
            found.append(f"job {name}: a deploy role outside a GitHub environment")
    return found


def deploy_concurrency_breaches(workflow: Workflow) -> list[str]:
    """Every job that runs `pulumi up` holds its stack's group and is never cancelled."""
    found: list[str] = []
    for name, job in jobs(workflow).items():
        if "pulumi up" not in runs(job):
            continue
        concurrency = job.get("concurrency")
        if not isinstance(concurrency, dict):
            found.append(f"job {name}: pulumi up without a concurrency group of its own")
            continue
        group = str(cast(dict[str, Any], concurrency).get("group", ""))
        stack = str(job.get("env", {}).get("STACK", ""))
        if not stack or stack not in group:
            found.append(f"job {name}: concurrency group {group!r} does not name its stack")
        if concurrency.get("cancel-in-progress") is not False:
            found.append(f"job {name}: a deploy that a newer run may cancel halfway")
    return found


_STATIC_KEYS = re.compile(r"secrets\.AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY)|aws-access-key-id")


def static_key_mentions(text: str) -> list[str]:
    """Lines that hand a workflow a long-lived AWS key."""
    return [line.strip() for line in text.splitlines() if _STATIC_KEYS.search(line)]


def workflow_texts() -> Iterator[tuple[str, str]]:
    for path in sorted((PROJECT_DIR / ".github").rglob("*")):
        if path.is_file():
            yield str(path.relative_to(PROJECT_DIR)), path.read_text(encoding="utf-8")


_CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")
_CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))


def cron_breaches(expression: str) -> list[str]:
    """POSIX cron as GitHub's schedule takes it: five numeric fields within their ranges."""
    fields = expression.split()
    if len(fields) != 5:
        return [f"{expression!r}: {len(fields)} fields, cron has 5"]
    found: list[str] = []
    for field, (low, high) in zip(fields, _CRON_RANGES, strict=True):
        if not _CRON_FIELD.match(field):
            found.append(f"{expression!r}: {field!r} is not a cron field")
            continue
        numbers = [int(n) for n in re.findall(r"\d+", field.split("/")[0])]
        if any(not low <= n <= high for n in numbers):
            found.append(f"{expression!r}: {field!r} outside {low}-{high}")
    return found


def unlocked_installs(workflow: Workflow, locks: set[str]) -> list[str]:
    """Every `pip install` of a run step installs one of `locks` with its hashes checked."""
    found: list[str] = []
    for name, job in jobs(workflow).items():
        for line in runs(job).splitlines():
            if "pip install" not in line:
                continue
            files = set(re.findall(r"(?:^|\s)-r\s+(\S+)", line))
            if "--require-hashes" not in line or not files or not files <= locks:
                found.append(f"job {name}: `{line.strip()}` is not a hash-checked lock install")
    return found


def graphviz_breaches(workflow: Workflow) -> list[str]:
    """A job that runs `make test` installs Graphviz first, so no SVG comparison is skipped."""
    found: list[str] = []
    for name, job in jobs(workflow).items():
        commands = [str(s.get("run", "")) for s in steps(job)]
        if "make test" not in commands:
            continue
        before = commands[: commands.index("make test")]
        if not any(re.search(r"apt-get install\b.*\bgraphviz\b", c) for c in before):
            found.append(f"job {name}: runs make test without installing Graphviz first")
    return found
