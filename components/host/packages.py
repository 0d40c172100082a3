"""What an app host installs, and the shell that installs it. No Pulumi.

User data installs `DOCKER` once, at first boot, retrying while the private
subnet's route through the NAT settles (`retrying_apt_install`). The apply
document installs whichever of `PACKAGES` is missing before each run
(`install_missing`), so a first boot whose install failed heals at the next
association run instead of needing a new VM.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from components.host import shell


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
# What the apply document runs: psql, and the AWS CLI (noble ships it only as a snap).
APPLY_TOOLS = (
    HostPackage("postgresql-client", "command -v psql"),
    HostPackage("aws-cli", "command -v aws", snap=True),
)
PACKAGES = DOCKER + APPLY_TOOLS

# Wait for apt-daily or unattended-upgrades instead of failing on their lock.
APT = "apt-get -o DPkg::Lock::Timeout=300"
APT_INSTALL = f"DEBIAN_FRONTEND=noninteractive {APT} install -y"
# At least 10 minutes: outlasts the NAT instance's own 5-minute retry of its install.
BOOT_INSTALL_ATTEMPTS = 30
BOOT_INSTALL_PAUSE_SECONDS = 20


def retrying_apt_install(packages: Sequence[HostPackage] = DOCKER) -> str:
    """POSIX shell that installs `packages` from the archive, retrying; exits 1 if it never can
    (`scripts/retrying_apt_install.sh`)."""
    if any(p.snap for p in packages):
        raise ValueError("retrying_apt_install installs archive packages only")
    return shell.render(
        "retrying_apt_install.sh",
        APT=APT,
        APT_INSTALL=APT_INSTALL,
        PACKAGES=" ".join(p.name for p in packages),
        ATTEMPTS=BOOT_INSTALL_ATTEMPTS,
        PAUSE_SECONDS=BOOT_INSTALL_PAUSE_SECONDS,
    )


def install_missing(packages: Sequence[HostPackage] = PACKAGES) -> list[str]:
    """Bash lines (under `set -e`) that install whichever of `packages` is missing.

    Every package is probed first, so apt and snap run only for what is absent;
    a failed install stops the script (`scripts/install_missing.sh`).
    """
    archive = [p for p in packages if not p.snap]
    return shell.render_lines(
        "install_missing.sh",
        PROBES=[f"{p.present} >/dev/null 2>&1 || MISSING+=({p.name})" for p in archive],
        APT=APT,
        APT_INSTALL=APT_INSTALL,
        ENABLE_SERVICES=[f"systemctl enable --now {p.service}" for p in archive if p.service],
        SNAPS=[
            line
            for p in packages
            if p.snap
            for line in shell.render_lines("install_snap.sh", PRESENT=p.present, SNAP=p.name)
        ],
    )
