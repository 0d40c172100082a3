"""scripts/drift_issue.sh keeps one drift issue per stack in step with the drift preview.

Run for real with bash against a stand-in `gh` that records its calls and answers
`gh issue list` with the open issue given; the `--jq` filter it passes is run by the
real jq (gh's `--jq` takes jq's language) over the JSON gh would return.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from plan.engine import PROJECT_DIR

SCRIPT = PROJECT_DIR / "scripts" / "drift_issue.sh"

FAKE_GH = """#!/usr/bin/env bash
# Records each call (and a --body-file's text) and answers `issue list`.
{ printf '%s\\n' "$*"; } >> "$GH_LOG"
for ((i = 1; i <= $#; i++)); do
  if [[ "${!i}" == --body-file ]]; then j=$((i + 1)); cat "${!j}" >> "$GH_LOG"; fi
done
if [[ "$1 $2" == "issue list" ]]; then printf '%s' "${OPEN_ISSUE:-}"; fi
"""


def run(tmp_path: Path, code: int, open_issue: str = "", preview: str = "") -> tuple[int, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    gh = bin_dir / "gh"
    gh.write_text(FAKE_GH)
    gh.chmod(0o755)
    log = tmp_path / "gh.log"
    log.write_text("")
    output = tmp_path / "preview.txt"
    output.write_text(preview)
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "GH_LOG": str(log),
        "OPEN_ISSUE": open_issue,
        "RUN_URL": "https://github.com/o/r/actions/runs/1",
    }
    result = subprocess.run(
        ["bash", str(SCRIPT), "dev", str(code), str(output)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert not result.stderr, result.stderr
    return result.returncode, log.read_text()


def test_drift_opens_the_stacks_issue_with_the_preview(tmp_path: Path) -> None:
    code, log = run(tmp_path, 255, preview="~ aws:ec2/securityGroup:SecurityGroup app update")
    assert code == 255  # the run stays red while the stack drifts
    assert "issue create --title Drift: dev --label drift --body-file" in log
    assert "~ aws:ec2/securityGroup:SecurityGroup app update" in log
    assert "https://github.com/o/r/actions/runs/1" in log
    assert "label create drift --force" in log


def test_drift_updates_the_open_issue_instead_of_opening_another(tmp_path: Path) -> None:
    code, log = run(tmp_path, 255, open_issue="42", preview="still drifting")
    assert code == 255
    assert "issue edit 42 --body-file" in log and "still drifting" in log
    assert "issue create" not in log


def test_no_drift_closes_the_open_issue(tmp_path: Path) -> None:
    code, log = run(tmp_path, 0, open_issue="42")
    assert code == 0
    assert "issue close 42 --comment No drift" in log
    assert "issue create" not in log and "issue edit" not in log


def test_no_drift_and_no_issue_changes_nothing(tmp_path: Path) -> None:
    code, log = run(tmp_path, 0)
    assert code == 0
    assert [line.split()[:2] for line in log.splitlines()] == [["issue", "list"]]


def test_a_long_preview_is_cut_to_fit_an_issue_body(tmp_path: Path) -> None:
    # GitHub refuses an issue body over 65,536 characters.
    _, log = run(tmp_path, 1, preview="x" * 70_000 + "\nResources: 1 to update\n")
    body = log.split("--body-file", 1)[1]
    assert len(body) < 65_536 and "Resources: 1 to update" in body


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")
def test_the_list_filter_picks_the_issue_of_this_stack_only() -> None:
    text = SCRIPT.read_text()
    title = "Drift: dev"
    jq_filter = text.split('--jq "', 1)[1].split('" |', 1)[0].replace("${title}", title)
    listed = [
        {"number": 7, "title": "Drift: devx"},
        {"number": 8, "title": "Drift: prod"},
        {"number": 9, "title": "Drift: dev"},
    ]
    result = subprocess.run(
        ["jq", "-r", jq_filter.replace('\\"', '"')],
        input=json.dumps(listed),
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == ["9"]
