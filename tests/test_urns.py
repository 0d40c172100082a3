"""Resource identities never move by accident: every committed stack's URNs
equal its snapshot in `tests/snapshots/`, so a refactor that renames or
re-parents a resource (which the engine would replace) fails here."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from plan import urns
from plan.model import Plan
from tests.conftest import committed_stacks

FIX = (
    "Not intended? Keep the old name and parent, or add "
    "`pulumi.ResourceOptions(aliases=[pulumi.Alias(name=..., parent=...)])` naming the old ones. "
    "Intended? Run `make urns` and review the snapshot diff."
)


@pytest.mark.parametrize("stack", committed_stacks())
def test_urns_equal_the_snapshot(stack: str, plan_of: Callable[[str], Plan]) -> None:
    assert urns.snapshot_path(stack).exists(), f"no snapshot for {stack}: run `make urns`"
    changed = urns.changes(urns.read_snapshot(stack), urns.urns_of(plan_of(stack)))
    assert not changed, "\n".join([f"{stack}: resource identities changed", *changed, FIX])


def test_snapshots_cover_exactly_the_committed_stacks() -> None:
    assert sorted(p.stem for p in urns.SNAPSHOTS.glob("*.urns")) == sorted(committed_stacks())


def test_a_renamed_resource_is_named_both_ways(plan_of: Callable[[str], Plan]) -> None:
    dev = plan_of("dev")
    database = next(r.urn for r in dev.resources if r.type == "aws:rds/instance:Instance")
    renamed = database.rsplit("::", 1)[0] + "::db-renamed"
    actual = [renamed if u == database else u for u in urns.read_snapshot("dev")]
    assert urns.changes(urns.read_snapshot("dev"), actual) == [
        f"new URN (the engine would create it): {renamed}",
        f"gone URN (the engine would delete it): {database}",
    ]
