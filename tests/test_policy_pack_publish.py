"""The pack `pulumi policy publish` uploads: its folder alone, built by `make pack`, in a fresh
virtualenv made from its own lock (requirements.txt, hashes checked), served through the real
analyzer.

The publish command uploads the pack's folder and nothing else, so nothing the
rules import may come from the repository around it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import empty_pb2
from pulumi.runtime.proto import analyzer_pb2

from plan import locks, pack
from policies.pack import POLICIES
from tests.test_policy_pack_import import _analyze_imdsv1_host, served_pack


def _fresh_venv(folder: Path, requirements: Path) -> str:
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, timeout=120)
    python = str(folder / "bin" / "python")
    install = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*install, "--require-hashes", "-r", str(requirements)], check=True, timeout=600)
    return python


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The built pack, far from the repository, and the python of its own virtualenv."""
    built = pack.build(tmp_path_factory.mktemp("publish") / "ticketing-guardrails")
    python = _fresh_venv(tmp_path_factory.mktemp("venv") / "venv", built / "requirements.txt")
    return built, python


@pytest.fixture(scope="module")
def published_analyzer(
    published: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    built, python = published
    with served_pack(tmp_path_factory.mktemp("log"), python=python, pack_dir=built) as stub:
        yield stub


def test_the_repositorys_pack_folder_holds_no_copy_of_the_seed() -> None:
    assert not (pack.PACK / "seed").exists()


def test_build_lays_out_the_manifest_the_rules_and_the_seed(tmp_path: Path) -> None:
    built = pack.build(tmp_path / "pack")
    for name in pack.ROOT_FILES:
        assert (built / name).is_file(), name
    assert (built / "policies" / "rules" / "architecture.py").is_file()
    assert (built / "seed" / "catalog.py").is_file()
    assert not list(built.rglob("__pycache__"))
    # The lock, as committed, and not its input (whose ranges would install other versions).
    assert (built / "requirements.txt").read_text() == (pack.PACK / "requirements.txt").read_text()
    assert locks.read_lock(built / "requirements.txt").pins.keys() >= {"pulumi", "pulumi-policy"}
    assert not list(built.rglob("requirements.in"))


def test_the_published_pack_serves_every_rule(published_analyzer: Any) -> None:
    info = published_analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert [p.name for p in info.policies] == [p.name for p in POLICIES]


def test_the_published_pack_flags_a_resource(published_analyzer: Any) -> None:
    assert _analyze_imdsv1_host(published_analyzer) == {("ec2-imdsv2", analyzer_pb2.MANDATORY)}


def test_without_its_seed_copy_the_built_pack_cannot_start(
    published: tuple[Path, str], tmp_path: Path
) -> None:
    _, python = published
    bare = pack.build(tmp_path / "bare")
    shutil.rmtree(bare / "seed")
    result = subprocess.run(
        [python, "-I", "-c", "import runpy; runpy.run_path('.', run_name='check')"],
        cwd=bare,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "No module named 'seed'" in result.stderr
