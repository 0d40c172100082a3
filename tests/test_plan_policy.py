"""The offline plan enforces the policy pack exactly where `pulumi preview` would."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from plan import engine, policy
from plan.__main__ import main
from plan.model import Plan
from policies.pack import POLICIES
from tests.conftest import committed_stacks

RULES = len(POLICIES)  # every rule of the pack runs on every plan


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
    for name in ("Pulumi.yaml", "__main__.py", "Pulumi.staging.yaml"):
        shutil.copy(engine.PROJECT_DIR / name, tmp_path / name)
    stack_file = tmp_path / "Pulumi.staging.yaml"
    # Settings insist on deletion protection in prod only; outside dev the pack does.
    unprotected = "  ticketing:database:\n    deletionProtection: false\n"
    stack_file.write_text(stack_file.read_text() + unprotected)
    code = main(["staging", "--project-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1
    assert "rds-deletion-protection" in out
    assert "db-instance" in out


IMDSV1_HOST = """
import pulumi_aws as aws

aws.ec2.Instance(
    "host",
    ami="ami-123",
    instance_type="t3.micro",
    iam_instance_profile="host",
    metadata_options={"http_tokens": "optional", "http_put_response_hop_limit": 1},
    root_block_device={"encrypted": True},
)
"""


@pytest.fixture
def imdsv1_project(tmp_path: Path) -> Path:
    """A one-instance project that breaks exactly one mandatory rule, ec2-imdsv2."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: probe\nruntime: python\n")
    (project / "Pulumi.test.yaml").write_text("config: {}\n")
    (project / "__main__.py").write_text(IMDSV1_HOST)
    return project


def plan_with_config(
    project: Path, capsys: pytest.CaptureFixture[str], document: str | None
) -> tuple[int, str, str]:
    argv = ["test", "--project-dir", str(project)]
    if document is not None:
        config = project.parent / "policy-config.json"
        config.write_text(document)
        argv += ["--policy-pack-config", str(config)]
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_policy_pack_config_changes_a_rules_level(
    imdsv1_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = plan_with_config(imdsv1_project, capsys, None)
    assert code == 1
    assert f"failed: {RULES} rules + 1 plan check, 1 mandatory and 0 advisory violations" in out
    code, out, err = plan_with_config(imdsv1_project, capsys, '{"ec2-imdsv2": "advisory"}')
    assert (code, err) == (0, "")
    assert f"passed: {RULES} rules + 1 plan check, 0 mandatory and 1 advisory violations" in out
    code, out, _ = plan_with_config(imdsv1_project, capsys, '{"all": "advisory"}')
    assert code == 0
    assert f"passed: {RULES} rules + 1 plan check, 0 mandatory and 1 advisory violations" in out


def test_policy_pack_config_can_disable_a_rule(
    imdsv1_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = '{"ec2-imdsv2": {"enforcementLevel": "disabled"}}'
    code, out, _ = plan_with_config(imdsv1_project, capsys, document)
    assert code == 0
    assert f"passed: {RULES - 1} rules + 1 plan check, 0 mandatory and 0 advisory violations" in out


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ('{"no-such-rule": "advisory"}', "no such rule in ticketing-guardrails: no-such-rule"),
        ('{"ec2-imdsv2": "loud"}', "ec2-imdsv2: 'loud' is not an enforcement level"),
        ('{"ec2-imdsv2": ', "not valid JSON: Expecting value (line 1, column 16)"),
        ('["ec2-imdsv2"]', "expected an object of rule names, got list"),
    ],
)
def test_bad_policy_pack_config_is_one_line_and_exit_2(
    imdsv1_project: Path, capsys: pytest.CaptureFixture[str], document: str, problem: str
) -> None:
    code, out, err = plan_with_config(imdsv1_project, capsys, document)
    config = imdsv1_project.parent / "policy-config.json"
    assert (code, out) == (2, "")
    [line] = err.strip().splitlines()
    assert line.startswith(f"error: --policy-pack-config {config}: {problem}")


def test_missing_policy_pack_config_is_one_line_and_exit_2(
    imdsv1_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = imdsv1_project / "absent.json"
    code = main(
        ["test", "--project-dir", str(imdsv1_project), "--policy-pack-config", str(missing)]
    )
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.strip().splitlines() == [f"error: --policy-pack-config {missing}: no such file"]
