"""`make help` (a bare `make`) lists every target with its `##` line, so the Makefile is its
own reference: a target without one fails here, as does a `##` line naming no target."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAKEFILE = (ROOT / "Makefile").read_text()
DOC = re.compile(r"^## ([a-z][a-z-]*): (.+)$")
TARGET = re.compile(r"^([a-z][a-z-]*):")


def phony() -> list[str]:
    line = next(line for line in MAKEFILE.splitlines() if line.startswith(".PHONY:"))
    return line.removeprefix(".PHONY:").split()


def documented(makefile: str = MAKEFILE) -> dict[str, str]:
    """Target -> its `##` description, from each `## name: text` line and the rule after it
    (plain `#` comments may stand between them)."""
    found: dict[str, str] = {}
    pending: tuple[str, str] | None = None
    for line in makefile.splitlines():
        if doc := DOC.match(line):
            assert pending is None, f"two `##` lines in a row: {pending[0]} and {doc[1]}"
            pending = (doc[1], doc[2])
        elif line.startswith("#"):
            continue
        elif pending is not None:
            target = TARGET.match(line)
            assert target and target[1] == pending[0], (
                f"`## {pending[0]}:` stands above {line!r}, not above the `{pending[0]}:` rule"
            )
            found[pending[0]] = pending[1]
            pending = None
    assert pending is None, f"`## {pending[0]}:` ends the Makefile with no rule after it"
    return found


def test_every_phony_target_has_a_description() -> None:
    missing = [t for t in phony() if t not in documented()]
    assert not missing, f"give these targets a `## <target>: <what it does>` line: {missing}"


def test_every_description_is_a_phony_target() -> None:
    assert set(documented()) <= set(phony())


def test_the_check_sees_a_misplaced_description() -> None:
    with pytest.raises(AssertionError, match="not above the `a:` rule"):
        documented("## a: x\n# why\nb:\n")
    assert documented("## a: x\n# why\na: b\n") == {"a": "x"}


@pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is not installed")
@pytest.mark.parametrize("goal", [[], ["help"]], ids=["bare make", "make help"])
def test_make_help_lists_every_target_with_its_description(goal: list[str]) -> None:
    run = subprocess.run(
        ["make", "--no-print-directory", *goal], cwd=ROOT, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    listed = {}
    for line in run.stdout.splitlines():
        words = line.split(maxsplit=2)
        assert words[0] == "make", line
        listed[words[1]] = words[2]
    assert listed == documented()
    assert list(listed) == phony(), "`make help` lists the targets in .PHONY's order"
