"""The offline store's backup on the venue host: what the backup container runs, and the
one command that restores a copy. Pure functions of names and numbers; no Pulumi.

The backup container mounts the store read-only and the backups volume read-write,
copies the store into `store-<UTC time>.tar.gz` at start and then every interval
(written under a temporary name, then renamed: a copy is whole or absent), points
`latest.tar.gz` at the newest and keeps the newest `keep` copies. Its healthcheck
fails when no copy is younger than two intervals. The script needs only a POSIX
shell with `tar -z`, `find -mmin`, `date -u`, `ln -sfn` and `sort` (busybox has them).
"""

from __future__ import annotations

import shlex

STORE_MOUNT = "/store"
BACKUPS_MOUNT = "/backups"
LATEST = "latest.tar.gz"
# store-20261203T060000Z.tar.gz: sorts by time.
COPY_PATTERN = r"^store-[0-9]{8}T[0-9]{6}Z\.tar\.gz$"


def backup_script(
    every_seconds: int, keep: int, store: str = STORE_MOUNT, backups: str = BACKUPS_MOUNT
) -> str:
    """The backup container's shell program: a copy now, then one every `every_seconds`."""
    return f"""set -u
umask 077
store={shlex.quote(store)}
backups={shlex.quote(backups)}
keep={int(keep)}
copy() {{
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  name="store-$stamp.tar.gz"
  tar -czf "$backups/.$name.partial" -C "$store" . || return 1
  mv "$backups/.$name.partial" "$backups/$name" || return 1
  ln -sfn "$name" "$backups/{LATEST}"
  ls -1 "$backups" | grep -E '{COPY_PATTERN}' | sort -r | tail -n +$((keep + 1)) |
    while read -r old; do rm -f "$backups/$old"; done
  echo "backup: $name"
}}
while :; do
  copy || echo "backup: copy failed" >&2
  sleep {int(every_seconds)}
done
"""


def healthcheck(every_seconds: int, backups: str = BACKUPS_MOUNT) -> list[str]:
    """Healthy while a copy younger than two intervals exists."""
    minutes = max(1, (2 * every_seconds + 59) // 60)
    recent = f"find {backups} -maxdepth 1 -name 'store-*.tar.gz' -mmin -{minutes}"
    return ["CMD-SHELL", f'test -n "$({recent})"']


def restore_command(
    *, bastion: str, backup_job: str, store_volume: str, backups_volume: str, image: str
) -> str:
    """One shell line for the venue host: stop the Bastion and the backup job, replace the
    store's content with the newest copy (a lost store volume is created anew), start them
    again (when they are gone with the volume, `pulumi up` recreates them on it)."""
    inner = (
        f"find {STORE_MOUNT} -mindepth 1 -maxdepth 1 -exec rm -rf {{}} + && "
        f"tar -xzf {BACKUPS_MOUNT}/{LATEST} -C {STORE_MOUNT}"
    )
    run = [
        "docker", "run", "--rm", "--network", "none",
        "-v", f"{store_volume}:{STORE_MOUNT}",
        "-v", f"{backups_volume}:{BACKUPS_MOUNT}:ro",
        image, "sh", "-c", inner,
    ]  # fmt: skip
    containers = f"{shlex.quote(bastion)} {shlex.quote(backup_job)}"
    return (
        f"docker stop {containers} 2>/dev/null; {shlex.join(run)} && "
        f"{{ docker start {containers} 2>/dev/null || echo 'restored; pulumi up recreates the "
        "containers'; }"
    )
