"""The pull-request workflow: valid for GitHub, and previewing every cloud stack with the pack."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from components.delivery.github_oidc import role_arn
from plan.engine import PROJECT_DIR
from plan.stack_config import stacks

WORKFLOW = PROJECT_DIR / ".github" / "workflows" / "pull-request.yml"
SCHEMA = Path(__file__).parent / "schemas" / "github-workflow.json"


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    # PyYAML reads the bare key `on` as True (YAML 1.1); GitHub reads it as "on".
    document = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    document["on"] = document.pop(True)
    return document


def cloud_stacks() -> list[str]:
    def role(stack: str) -> str:
        config = yaml.safe_load((PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text())["config"]
        return config.get("ticketing:role", "cloud")

    return [s for s in stacks(PROJECT_DIR) if role(s) == "cloud"]


def preview_step(workflow: dict[str, Any]) -> dict[str, Any]:
    [step] = [
        s for s in workflow["jobs"]["preview"]["steps"] if "pulumi/actions@" in s.get("uses", "")
    ]
    return step


def test_workflow_is_valid_against_githubs_schema(workflow: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validate(workflow, schema)


def test_a_workflow_missing_its_trigger_is_refused(workflow: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    broken = {k: v for k, v in workflow.items() if k != "on"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_runs_on_pull_requests_and_tests_before_previewing(workflow: dict[str, Any]) -> None:
    assert "pull_request" in workflow["on"]
    steps = [s.get("run", "") for s in workflow["jobs"]["test"]["steps"]]
    assert "make test" in steps
    assert workflow["jobs"]["preview"]["needs"] == "test"


def test_every_cloud_stack_is_previewed_with_the_policy_pack(workflow: dict[str, Any]) -> None:
    assert sorted(workflow["jobs"]["preview"]["strategy"]["matrix"]["stack"]) == cloud_stacks()
    step = preview_step(workflow)
    assert step["uses"] == "pulumi/actions@v7"
    inputs = step["with"]
    assert inputs["command"] == "preview"
    assert inputs["stack-name"] == "${{ matrix.stack }}"
    assert inputs["policyPacks"] == "policies"
    assert inputs["comment-on-pr"] is True
    assert inputs["github-token"] == "${{ secrets.GITHUB_TOKEN }}"
    assert workflow["jobs"]["preview"]["permissions"]["pull-requests"] == "write"


def test_both_virtualenvs_exist_before_the_preview(workflow: dict[str, Any]) -> None:
    steps = workflow["jobs"]["preview"]["steps"]
    before = steps[: steps.index(preview_step(workflow))]
    runs = "\n".join(s.get("run", "") for s in before)
    # The folders Pulumi.yaml and policies/PulumiPolicy.yaml name as their virtualenvs.
    assert "python -m venv venv" in runs and "-r requirements.txt" in runs
    assert "python -m venv policies/venv" in runs and "-r policies/requirements.txt" in runs
    project = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())
    pack = yaml.safe_load((PROJECT_DIR / "policies" / "PulumiPolicy.yaml").read_text())
    assert project["runtime"]["options"]["virtualenv"] == "venv"
    assert pack["runtime"]["options"]["virtualenv"] == "venv"


def test_credentials_come_from_secrets_and_a_role_only(workflow: dict[str, Any]) -> None:
    env = workflow["jobs"]["preview"]["env"]
    assert env and all(v.startswith("${{ secrets.") for v in env.values())
    assert "AWS_ACCESS_KEY_ID" not in env and "AWS_SECRET_ACCESS_KEY" not in env
    assert env["CLOUDFLARE_API_TOKEN"] == "${{ secrets.CLOUDFLARE_API_TOKEN_PREVIEW }}"
    assert preview_step(workflow)["with"]["cloud-url"] == "${{ vars.PULUMI_BACKEND_URL }}"


def test_the_preview_assumes_its_stacks_read_only_role_first(workflow: dict[str, Any]) -> None:
    steps = workflow["jobs"]["preview"]["steps"]
    [assume] = [s for s in steps if "configure-aws-credentials@" in s.get("uses", "")]
    assert steps.index(assume) < steps.index(preview_step(workflow))
    role = assume["with"]["role-to-assume"]
    assert role == role_arn("${{ vars.AWS_ACCOUNT_ID }}", "${{ matrix.stack }}", "preview")
    assert workflow["jobs"]["preview"]["permissions"]["id-token"] == "write"
    assert "id-token" not in workflow["permissions"]


def test_every_cloud_stack_gets_a_plan_diff_comment_without_credentials(
    workflow: dict[str, Any],
) -> None:
    job = workflow["jobs"]["plan-diff"]
    assert sorted(job["strategy"]["matrix"]["stack"]) == sorted(cloud_stacks())
    assert job["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert "env" not in job  # no secret reaches the offline plan
    steps = job["steps"]
    assert steps[0]["with"]["fetch-depth"] == 0  # the base commit is needed
    [run] = [s for s in steps if "pr_plan_comment.sh" in s.get("run", "")]
    assert "github.event.pull_request.base.sha" in run["run"]
    [post] = [s for s in steps if s.get("uses", "").startswith("actions/github-script@")]
    assert post["if"] == "always()"  # posted when the plan fails too
    assert "head.rc" in steps[-1]["run"]  # and the job fails after posting


def test_the_comment_script_compares_base_and_head(tmp_path: Path) -> None:
    """scripts/pr_plan_comment.sh on a clone with one commit that changes an image tag."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(PROJECT_DIR), str(clone)], check=True)
    (clone / "venv").symlink_to(PROJECT_DIR / "venv")
    stack_file = clone / "Pulumi.dev.yaml"
    stack_file.write_text(
        stack_file.read_text().replace("payments-api:2.3.0", "payments-api:2.4.0")
    )
    git = ["git", "-C", str(clone), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "commit", "-qam", "payments 2.4.0"], check=True)
    base = subprocess.run(
        [*git, "rev-parse", "HEAD~1"], check=True, capture_output=True, text=True
    ).stdout.strip()
    out = tmp_path / "out"
    result = subprocess.run(
        ["bash", "scripts/pr_plan_comment.sh", "dev", base, str(out)],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    comment = (out / "comment.md").read_text()
    assert comment.startswith("<!-- plan-diff:dev -->\n### `dev`: 0 to create, ")
    assert "| app | update | `shared-host-compose` |" in comment
    assert (out / "head.rc").read_text().strip() == "0"
