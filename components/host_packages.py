"""What an app host installs, and the shell that installs it. No Pulumi.

User data installs `PACKAGES` at first boot (`components.user_data`); the
apply document installs whichever of them is missing before each run
(`install_missing`), so a first boot whose install failed heals at the next
association run instead of needing a new VM.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class HostPackage:
    """One package an app host needs.

    Args:
        name: the Ubuntu 24.04 (noble) archive package, or the snap if `snap`.
        present: a shell command that succeeds once the package is installed.
        snap: a classic snap rather than an archive package.
        service: the systemd unit the package brings, enabled and started after install.
    """

    name: str
    present: str
    snap: bool = False
    service: str | None = None


# The Docker engine and the Compose v2 plugin (asking the plugin needs the engine).
DOCKER = (
    HostPackage("docker.io", "command -v docker", service="docker.service"),
    HostPackage("docker-compose-v2", "docker compose version"),
)
# What the apply document runs: psql for the database bootstrap, and the AWS CLI,
# which noble ships only as the AWS-published snap.
APPLY_TOOLS = (
    HostPackage("postgresql-client", "command -v psql"),
    HostPackage("aws-cli", "command -v aws", snap=True),
)
PACKAGES = DOCKER + APPLY_TOOLS

# Wait for apt-daily or unattended-upgrades instead of failing on their lock.
APT = "apt-get -o DPkg::Lock::Timeout=300"
APT_INSTALL = f"DEBIAN_FRONTEND=noninteractive {APT} install -y"


def install_missing(packages: Sequence[HostPackage] = PACKAGES) -> list[str]:
    """Bash lines (under `set -e`) that install whichever of `packages` is missing.

    Every package is probed first, so apt and snap run only for what is absent;
    a failed install stops the script.
    """
    archive = [p for p in packages if not p.snap]
    lines = ["MISSING=()"]
    lines += [f"{p.present} >/dev/null 2>&1 || MISSING+=({p.name})" for p in archive]
    lines += [
        'if [ "${#MISSING[@]}" -gt 0 ]; then',
        f"  {APT} update",
        f'  {APT_INSTALL} "${{MISSING[@]}}"',
        *[f"  systemctl enable --now {p.service}" for p in archive if p.service],
        "fi",
    ]
    for snap in (p for p in packages if p.snap):
        lines += [
            f"if ! {snap.present} >/dev/null 2>&1; then",
            # A first boot's snapd refuses installs until it has seeded its own snaps.
            "  snap wait system seed.loaded",
            f"  snap install {snap.name} --classic",
            "fi",
        ]
    return lines
