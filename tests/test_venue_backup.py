"""The backup container's script, run by a real POSIX shell on real files: copies on
schedule, keeps the newest, restores equal. (On a real dockerd with busybox: see
tests/test_venue_docker.py.)"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from components.venue import backup

pytestmark = pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX shell")


def make_store(root: Path) -> dict[str, bytes]:
    files = {"tickets.db": os.urandom(4096), "journal/0001.log": b"scan 42\n"}
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return files


def test_copies_on_schedule_and_keeps_the_newest(tmp_path: Path) -> None:
    store, backups = tmp_path / "store", tmp_path / "backups"
    store.mkdir()
    backups.mkdir()
    files = make_store(store)
    script = backup.backup_script(1, keep=2, store=str(store), backups=str(backups))
    job = subprocess.Popen(["sh", "-c", script], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while len(list(backups.glob("store-*.tar.gz"))) < 2:
            assert time.monotonic() < deadline, "no second copy"
            time.sleep(0.3)
        time.sleep(2.5)  # two more rounds at least: the oldest copies must go
    finally:
        job.terminate()
        job.wait()
    copies = sorted(p.name for p in backups.glob("store-*.tar.gz"))
    assert len(copies) == 2
    assert not list(backups.glob(".*partial"))
    latest = backups / backup.LATEST
    assert latest.is_symlink() and latest.readlink().name == copies[-1]
    restored = tmp_path / "restored"
    restored.mkdir()
    with tarfile.open(latest) as archive:
        archive.extractall(restored, filter="data")
    assert {n: (restored / n).read_bytes() for n in files} == files
    # Only the owner can read a copy of the store.
    assert oct((backups / copies[-1]).stat().st_mode & 0o777) == "0o600"


def test_healthcheck_needs_a_copy_younger_than_two_intervals() -> None:
    assert backup.healthcheck(6 * 3600) == [
        "CMD-SHELL",
        "test -n \"$(find /backups -maxdepth 1 -name 'store-*.tar.gz' -mmin -720)\"",
    ]


def test_healthcheck_fails_without_a_recent_copy(tmp_path: Path) -> None:
    command = backup.healthcheck(60, backups=str(tmp_path))[1]
    assert subprocess.run(["sh", "-c", command]).returncode != 0
    (tmp_path / "store-20261203T000000Z.tar.gz").write_bytes(b"")
    assert subprocess.run(["sh", "-c", command]).returncode == 0
