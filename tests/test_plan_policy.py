"""The offline plan enforces the policy pack exactly where `pulumi preview` would."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from plan import engine, policy
from plan.__main__ import main
from plan.model import Plan
from tests.conftest import committed_stacks


@pytest.mark.parametrize("stack", committed_stacks())
def test_committed_stack_has_no_mandatory_violation(
    plan_of: Callable[[str], Plan], stack: str
) -> None:
    verdicts = policy.evaluate(plan_of(stack))
    assert verdicts.rules_run > 30
    assert [(v.rule, v.resource_name, v.message) for v in verdicts.mandatory_violations] == []


def test_breaking_a_mandatory_rule_exits_1_naming_rule_and_resource(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("Pulumi.yaml", "__main__.py", "Pulumi.dev.yaml"):
        shutil.copy(engine.PROJECT_DIR / name, tmp_path / name)
    stack_file = tmp_path / "Pulumi.dev.yaml"
    weak_tls = "  ticketing:ingress:\n    tlsPolicy: ELBSecurityPolicy-2016-08\n"
    stack_file.write_text(stack_file.read_text() + weak_tls)
    code = main(["dev", "--project-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1
    assert "lb-https-tls-policy" in out
    assert "ingress-https" in out
