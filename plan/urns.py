"""The resource identities (URNs) of every committed stack, kept under review.

A URN is how the engine knows a resource: a parent or name that changes gives
a new URN, and the engine replaces the resource (a new RDS instance, new
static IPs). `tests/snapshots/<stack>.urns` holds each committed stack's URNs,
and `tests/test_urns.py` fails on any that appears or disappears.

`python -m plan.urns` (`make urns`) rewrites the snapshots from the program:
run it only when a change of identity is intended, and review the diff.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from plan.model import Plan

SNAPSHOTS = Path(__file__).resolve().parent.parent / "tests" / "snapshots"


def snapshot_path(stack: str) -> Path:
    return SNAPSHOTS / f"{stack}.urns"


def urns_of(plan: Plan) -> list[str]:
    """Every URN the stack registers, sorted, one per resource (reads included)."""
    return sorted(r.urn for r in plan.resources)


def render(urns: Iterable[str]) -> str:
    return "".join(f"{urn}\n" for urn in urns)


def read_snapshot(stack: str) -> list[str]:
    return [line for line in snapshot_path(stack).read_text().splitlines() if line]


def changes(expected: Iterable[str], actual: Iterable[str]) -> list[str]:
    """One line per URN that appeared or disappeared, for a failing review."""
    before, after = set(expected), set(actual)
    return [
        *(f"new URN (the engine would create it): {u}" for u in sorted(after - before)),
        *(f"gone URN (the engine would delete it): {u}" for u in sorted(before - after)),
    ]


def main() -> int:
    from plan import engine, stack_config

    plans: dict[str, Plan] = {}

    def plan_of(stack: str) -> Plan:
        if stack not in plans:
            plans[stack] = engine.capture(stack, plan_of=plan_of)
        return plans[stack]

    SNAPSHOTS.mkdir(parents=True, exist_ok=True)
    for stack in stack_config.stacks(engine.PROJECT_DIR):
        urns = urns_of(plan_of(stack))
        snapshot_path(stack).write_text(render(urns))
        print(f"{snapshot_path(stack).relative_to(engine.PROJECT_DIR)}: {len(urns)} URNs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
