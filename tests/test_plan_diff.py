"""The pull-request comment: two recorded plans of one stack, from the base and the head."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from plan import diff, engine
from plan.__main__ import main

ROOT = engine.PROJECT_DIR


def record(stack: str, tmp: Path, old: str = "", new: str = "") -> Any:
    """`make plan --json` of `stack` in a copy of the project whose stack file has `old`
    replaced by `new`."""
    project = tmp / "project"
    project.mkdir(parents=True)
    for name in ("Pulumi.yaml", "__main__.py", f"Pulumi.{stack}.yaml"):
        shutil.copy(ROOT / name, project / name)
    stack_file = project / f"Pulumi.{stack}.yaml"
    text = stack_file.read_text()
    assert old in text
    stack_file.write_text(text.replace(old, new))
    out = tmp / "plan.json"
    main([stack, "--project-dir", str(project), "--json", str(out)])
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def dev_base(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return record("dev", tmp_path_factory.mktemp("base"))


def test_no_change_is_an_empty_diff(dev_base: Any) -> None:
    result = diff.diff(dev_base, dev_base)
    assert result.changes == []
    assert result.cost_before == result.cost_after > 0
    assert "0 to create, 0 to update, 0 to delete" in diff.render_markdown(result)


def test_an_image_tag_updates_only_the_hosts_desired_state(dev_base: Any, tmp_path: Path) -> None:
    head = record("dev", tmp_path, "payments-api:2.3.0", "payments-api:2.4.0")
    result = diff.diff(dev_base, head)
    assert result.count("create") == result.count("delete") == 0
    changed = {(c.component, c.type, c.name): c.inputs for c in result.changes}
    assert ("app", "aws:ssm/parameter:Parameter", "shared-host-compose") in changed
    assert {component for component, _, _ in changed} == {"app"}
    assert "| app | update | `shared-host-compose` |" in diff.render_markdown(result)


def test_a_new_venue_is_created_under_the_venue_sync_and_health_components(
    dev_base: Any, tmp_path: Path
) -> None:
    head = record(
        "dev", tmp_path, "ticketing:venues: [arena]", "ticketing:venues: [arena, stadium]"
    )
    result = diff.diff(dev_base, head)
    created = {(c.component, c.name) for c in result.changes if c.kind == "create"}
    assert created == {
        ("venue-sync", "venue-sync-stadium"),
        ("venue-sync", "venue-sync-stadium-ssm"),
        ("app", "app-venue-health-stadium-heartbeat"),
        ("app", "app-venue-health-stadium-certificate"),
    }
    assert diff.diff(head, dev_base).count("delete") == 4


def test_a_new_mandatory_violation_is_marked_and_annotated(tmp_path: Path) -> None:
    base = record("staging", tmp_path / "base")
    head = record(
        "staging",
        tmp_path / "head",
        "ticketing:environment: staging\n",
        "ticketing:environment: staging\n  ticketing:database:\n    deletionProtection: false\n",
    )
    result = diff.diff(base, head)
    assert not result.passed
    [verdict] = [v for v in result.verdicts if v.rule == "rds-deletion-protection"]
    assert verdict.mandatory and verdict.new and verdict.name == "db-instance"
    comment = diff.render_markdown(result)
    assert "- policy: **failed**" in comment
    assert "| mandatory (new) | `rds-deletion-protection` | `db-instance` |" in comment
    assert any(
        line.startswith("::error title=staging: rds-deletion-protection::db-instance: ")
        for line in diff.workflow_annotations(result)
    )


def test_the_cost_difference_is_the_two_totals(dev_base: Any) -> None:
    richer = {**dev_base, "cost": {**dev_base["cost"], "total": dev_base["cost"]["total"] + 12.5}}
    result = diff.diff(dev_base, richer)
    assert result.cost_after - result.cost_before == pytest.approx(12.5)
    assert "(+12.50)" in diff.render_markdown(result)


def test_cli_writes_the_comment(dev_base: Any, tmp_path: Path) -> None:
    (tmp_path / "base.json").write_text(json.dumps(dev_base))
    out = tmp_path / "comment.md"
    code = diff.main(
        [str(tmp_path / "base.json"), str(tmp_path / "base.json"), "--markdown", str(out)]
    )
    assert code == 0
    assert out.read_text().startswith("### `dev`: 0 to create")
