"""The app host's cloud-init user data: bootstrap Docker only. No Pulumi.

Deploys never replace the VM, so user data carries nothing that changes with a
deploy: no image tag, no secret, no compose document. It mounts the host's data
volume as Docker's data root (`mount_data_volume`), installs Docker and Compose
from Ubuntu 24.04's own archive (retrying while the NAT route settles),
configures the Docker daemon and a systemd unit that brings the compose project
up at boot once the apply document has written it. Everything else, the tools
the apply document itself runs included, arrives through SSM.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import yaml

from components.host import packages as host_packages
from components.host import shell
from components.host.compose import COMPOSE_FILE, ENV_DIR, HOST_ROOT

COMPOSE_UNIT = "ticketing-compose.service"
NETWORK_SIZE = 24
DOCKER_DATA_ROOT = "/var/lib/docker"
DATA_LABEL = "ticketing-data"
# The volume is attached once the instance runs: wait for it longer than EC2 takes.
DATA_VOLUME_WAIT_SECONDS = 600
# Where the host sees the volume attached as /dev/sdf: Nitro instances expose EBS as NVMe
# and name it by volume id (without the hyphen) under /dev/disk/by-id; Xen ones as xvdf.
XEN_DEVICE = "/dev/xvdf"


def data_volume_devices(volume_id: str) -> tuple[str, ...]:
    """The device paths the data volume `volume_id` (vol-0123...) may appear under."""
    return (
        f"/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_{volume_id.replace('-', '')}",
        XEN_DEVICE,
    )


def mount_data_volume(
    devices: tuple[str, ...],
    mount_point: str = DOCKER_DATA_ROOT,
    fstab: str = "/etc/fstab",
    wait_seconds: int = DATA_VOLUME_WAIT_SECONDS,
) -> str:
    """POSIX shell that waits for the data volume, formats it if blank, and mounts it at
    `mount_point` now and at every boot (`scripts/mount_data_volume.sh`)."""
    return shell.render(
        "mount_data_volume.sh",
        DEVICES=" ".join(devices),
        WAIT_SECONDS=wait_seconds,
        LABEL=DATA_LABEL,
        MOUNT_POINT=mount_point,
        FSTAB=fstab,
    )


def docker_daemon_config(docker_pool: str) -> dict[str, Any]:
    """/etc/docker/daemon.json: Compose networks from `docker_pool`, bounded local logs."""
    pool = ipaddress.IPv4Network(docker_pool, strict=True)
    if pool.prefixlen > NETWORK_SIZE:
        raise ValueError(f"docker pool {pool} is smaller than one /{NETWORK_SIZE} network")
    return {
        "default-address-pools": [{"base": str(pool), "size": NETWORK_SIZE}],
        "log-driver": "json-file",
        "log-opts": {"max-size": "10m", "max-file": "3"},
        # Containers keep running while the daemon restarts for a package upgrade.
        "live-restore": True,
    }


def compose_unit(compose_file: str = COMPOSE_FILE) -> str:
    """The systemd unit that runs the compose project at boot (skipped until it exists)."""
    compose = f"/usr/bin/docker compose -f {compose_file}"
    return "\n".join(
        [
            "[Unit]",
            "Description=Ticketing platform containers (Docker Compose)",
            "Requires=docker.service",
            "After=docker.service network-online.target",
            "Wants=network-online.target",
            f"ConditionPathExists={compose_file}",
            "",
            "[Service]",
            "Type=oneshot",
            "RemainAfterExit=yes",
            f"ExecStart={compose} up -d --remove-orphans",
            f"ExecStop={compose} down",
            # Image pulls on first start can take minutes.
            "TimeoutStartSec=900",
            "",
            "[Install]",
            "WantedBy=multi-user.target",
            "",
        ]
    )


def render_user_data(
    docker_pool: str, data_volume_id: str, compose_file: str = COMPOSE_FILE
) -> str:
    """The `#cloud-config` document for an app host.

    Args:
        docker_pool: the CIDR Docker carves Compose networks from (`network.dockerPool`);
            it must not overlap the VPC, or containers could not reach RDS.
        data_volume_id: the host's data volume, mounted as Docker's data root.
        compose_file: where the apply document writes the compose document.
    """
    config: dict[str, Any] = {
        "write_files": [
            {
                "path": "/etc/docker/daemon.json",
                "owner": "root:root",
                "permissions": "0644",
                "content": json.dumps(docker_daemon_config(docker_pool), indent=2) + "\n",
            },
            {
                "path": f"/etc/systemd/system/{COMPOSE_UNIT}",
                "owner": "root:root",
                "permissions": "0644",
                "content": compose_unit(compose_file),
            },
        ],
        # The data root first, or Docker would start on the root volume. Install last but
        # one: should it never succeed, the apply document heals the rest.
        "runcmd": [
            mount_data_volume(data_volume_devices(data_volume_id)),
            ["install", "-d", "-m", "0755", HOST_ROOT],
            ["install", "-d", "-m", "0700", ENV_DIR],
            ["systemctl", "daemon-reload"],
            ["systemctl", "enable", COMPOSE_UNIT],
            host_packages.retrying_apt_install(host_packages.DOCKER),
            *[
                ["systemctl", "enable", "--now", p.service]
                for p in host_packages.DOCKER
                if p.service
            ],
        ],
    }
    body = yaml.dump(
        config, Dumper=_Dumper, sort_keys=False, default_flow_style=None, width=1_000_000
    )
    return "#cloud-config\n" + body


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the files written) as literal blocks, so the document reads as is."""


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return yaml.ScalarNode("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _string)
