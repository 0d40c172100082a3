"""The app host's data volume, mounted for real: the user data's first step on a loop device.

The step runs as cloud-init runs it (/bin/sh, as root) against a real block device (a
loop device over a sparse file), the real `blkid`, `mkfs.ext4` and `mount`. It proves
what the host relies on: a blank volume is formatted and mounted with an fstab entry, a
volume that holds data (a replaced host's) is mounted without being formatted, and a
volume that never appears stops first boot before Docker could start on the root volume.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.host import app_user_data
from tests.engines.docker import in_ci

pytestmark = pytest.mark.real_engine

TOOLS = ("losetup", "mkfs.ext4", "blkid", "mount", "umount", "mountpoint")


def _unavailable() -> str | None:
    if os.geteuid() != 0:
        return "mounting a loop device needs root"
    missing = [t for t in TOOLS if shutil.which(t) is None]
    return f"missing {', '.join(missing)}" if missing else None


@pytest.fixture
def device(tmp_path: Path) -> Iterator[str]:
    reason = _unavailable()
    if reason:
        if in_ci():
            pytest.fail(f"the data volume test needs a loop device in CI: {reason}")
        pytest.skip(reason)
    image = tmp_path / "volume.img"
    with image.open("wb") as sparse:
        sparse.truncate(64 * 1024 * 1024)
    attached = subprocess.run(
        ["losetup", "--find", "--show", str(image)], capture_output=True, text=True, check=False
    )
    if attached.returncode != 0:
        message = f"no loop device: {attached.stderr.strip()}"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    loop = attached.stdout.strip()
    try:
        yield loop
    finally:
        subprocess.run(["umount", "-l", str(tmp_path / "docker")], capture_output=True, check=False)
        subprocess.run(["losetup", "-d", loop], capture_output=True, check=False)


def first_boot(
    tmp_path: Path, devices: tuple[str, ...], wait_seconds: int = 10
) -> subprocess.CompletedProcess[str]:
    script = app_user_data.mount_data_volume(
        devices,
        mount_point=str(tmp_path / "docker"),
        fstab=str(tmp_path / "fstab"),
        wait_seconds=wait_seconds,
    )
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=False)


def blkid(device: str, tag: str) -> str:
    return subprocess.run(
        ["blkid", "-p", "-o", "value", "-s", tag, device],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_a_blank_volume_is_formatted_and_mounted_at_every_boot(tmp_path: Path, device: str) -> None:
    # The Nitro path does not exist here; the second candidate is the loop device.
    result = first_boot(tmp_path, ("/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0", device))
    assert result.returncode == 0, result.stderr
    mount_point = tmp_path / "docker"
    assert subprocess.run(["mountpoint", "-q", str(mount_point)], check=False).returncode == 0
    assert blkid(device, "TYPE") == "ext4"
    assert blkid(device, "LABEL") == app_user_data.DATA_LABEL
    uuid = blkid(device, "UUID")
    assert (tmp_path / "fstab").read_text() == (
        f"UUID={uuid} {mount_point} ext4 defaults,nofail,x-systemd.device-timeout=300 0 2\n"
    )
    # Run again (a reboot of the same host): nothing changes, the entry is not repeated.
    again = first_boot(tmp_path, (device,))
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "fstab").read_text().count(uuid) == 1


def test_a_replaced_hosts_volume_keeps_its_data(tmp_path: Path, device: str) -> None:
    assert first_boot(tmp_path, (device,)).returncode == 0
    queue = tmp_path / "docker" / "volumes" / "ticketing_rabbitmq-data" / "_data" / "queue"
    queue.parent.mkdir(parents=True)
    queue.write_text("unacked messages\n")
    uuid = blkid(device, "UUID")
    subprocess.run(["umount", str(tmp_path / "docker")], check=True)
    (tmp_path / "fstab").unlink()  # the new instance's own root volume
    result = first_boot(tmp_path, (device,))
    assert result.returncode == 0, result.stderr
    assert blkid(device, "UUID") == uuid  # not formatted again
    assert queue.read_text() == "unacked messages\n"


def test_a_volume_that_never_appears_stops_first_boot(tmp_path: Path, device: str) -> None:
    result = first_boot(tmp_path, ("/dev/disk/by-id/absent",), wait_seconds=0)
    assert result.returncode == 1
    assert result.stderr == (
        "data volume not attached after 0 s (looked for /dev/disk/by-id/absent)\n"
    )
    assert not (tmp_path / "docker").exists()
