"""The CloudWatch agent on an app host: what it publishes, and how every apply keeps it so.
No Pulumi.

EC2 publishes no disk or memory metric of its own; the agent reads them on the
host and publishes, once a minute, into `NAMESPACE`:

- `DISK_USED_METRIC` for each of `HOST_DISKS` (the root volume and Docker's data
  volume), dimensions `InstanceId`, `path` and `fstype`;
- `MEMORY_USED_METRIC`, dimension `InstanceId`.

Those dimension sets are exactly what the alarms name (`disk_dimensions`,
`memory_dimensions`): `append_dimensions` adds the instance id (read from the
instance metadata, no EC2 API call) and, as the agent documents, the host name is
no longer a dimension once `append_dimensions` is set;
`drop_device` drops the device name, which differs between Nitro (nvme1n1) and Xen
(xvdf) hosts; the agent always drops the disk's `mode` (its translator's
`tagexclude`, github.com/aws/amazon-cloudwatch-agent
`translator/translate/metrics/metrics_collect/disk`).

The apply document installs and configures it on every run (`apply_lines`,
`scripts/apply_cloudwatch_agent.sh`), so every deploy converges running hosts, not
only new ones: the package is installed once, when the agent's control script is
missing: AWS's .deb for the host's architecture from the region's agent bucket
(the agent is in neither Ubuntu's archive nor a snap), only if its detached
signature verifies against AWS's published key, checked by its full fingerprint
(CloudWatch User Guide, "Verifying the signature of the CloudWatch agent
package"). The configuration is written and the agent restarted with it only
when it differs from the one last applied, or when the agent is not running.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from components.host import shell
from components.host.app_user_data import DOCKER_DATA_ROOT
from components.host.compose import HOST_ROOT

NAMESPACE = "Ticketing/Hosts"
DISK_USED_METRIC = "disk_used_percent"
MEMORY_USED_METRIC = "mem_used_percent"
COLLECTION_SECONDS = 60
# What the agent reports the use of: the root volume and Docker's data volume.
HOST_DISKS = ("/", DOCKER_DATA_ROOT)
# Both are ext4: Ubuntu's cloud image root, and the data volume (`mkfs.ext4` in
# scripts/mount_data_volume.sh).
FILE_SYSTEM = "ext4"
# Ours, outside the agent's own directories: the agent copies it into its
# amazon-cloudwatch-agent.d on `fetch-config`. The last configuration applied.
CONFIG_FILE = f"{HOST_ROOT}/cloudwatch-agent.json"
CTL = "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl"
# AWS's key "Amazon CloudWatch Agent" (3B789C72), as the User Guide prints its fingerprint.
SIGNING_KEY_FINGERPRINT = "937616F3450B7D806CBD9725D58167303B789C72"
# The region's agent bucket; `{{ Region }}` is the apply document's parameter.
BUCKET_URL = "https://amazoncloudwatch-agent-{{ Region }}.s3.{{ Region }}.amazonaws.com"
# AWS's key, where the User Guide's verification steps download it from.
KEY_URL = "https://amazoncloudwatch-agent.s3.amazonaws.com/assets/amazon-cloudwatch-agent.gpg"
# The shell variable holding the configuration in the apply script (`config_in_script`;
# the template names it as is).
CONFIG_VARIABLE, HEREDOC = "AGENT_CONFIG", "AGENT_JSON"


def agent_config(disks: Sequence[str] = HOST_DISKS) -> dict[str, Any]:
    """The agent's configuration: `disks`' used percentage and memory's, every minute."""
    if not disks or len(set(disks)) != len(disks) or not all(d.startswith("/") for d in disks):
        raise ValueError(f"the agent watches distinct absolute mount points, got {list(disks)}")
    return {
        "agent": {"metrics_collection_interval": COLLECTION_SECONDS},
        "metrics": {
            "namespace": NAMESPACE,
            "append_dimensions": {"InstanceId": "${aws:InstanceId}"},
            "metrics_collected": {
                "disk": {
                    "measurement": ["used_percent"],
                    "resources": list(disks),
                    "drop_device": True,
                },
                "mem": {"measurement": ["used_percent"]},
            },
        },
    }


def render_config(disks: Sequence[str] = HOST_DISKS) -> str:
    """`agent_config` as the JSON file the host writes (keys sorted: stable)."""
    return json.dumps(agent_config(disks), indent=2, sort_keys=True) + "\n"


def published_metrics(config: Mapping[str, Any]) -> tuple[str, ...]:
    """The custom metrics (one per name and dimension set) an agent with `config`
    publishes: each measurement of each disk path, and each of memory's."""
    collected = config.get("metrics", {}).get("metrics_collected", {})
    disk = collected.get("disk", {})
    memory = collected.get("mem", {})
    return tuple(
        [
            f"disk_{m} {path}"
            for m in disk.get("measurement", [])
            for path in disk.get("resources", [])
        ]
        + [f"mem_{m}" for m in memory.get("measurement", [])]
    )


def disk_dimensions(instance_id: Any, path: str) -> Mapping[str, Any]:
    """The dimensions the agent publishes `DISK_USED_METRIC` of `path` under."""
    return {"InstanceId": instance_id, "path": path, "fstype": FILE_SYSTEM}


def memory_dimensions(instance_id: Any) -> Mapping[str, Any]:
    """The dimensions the agent publishes `MEMORY_USED_METRIC` under."""
    return {"InstanceId": instance_id}


def apply_lines(
    *,
    base_url: str = BUCKET_URL,
    key_url: str = KEY_URL,
    fingerprint: str = SIGNING_KEY_FINGERPRINT,
    ctl: str = CTL,
    config_file: str = CONFIG_FILE,
    disks: Sequence[str] = HOST_DISKS,
) -> list[str]:
    """Bash lines (under `set -euo pipefail`) that install the agent where it is missing and
    apply `agent_config(disks)` where it changed (`scripts/apply_cloudwatch_agent.sh`).
    The keywords exist for tests: a local bucket, a key of their own, a stand-in `ctl`."""
    return shell.render_lines(
        "apply_cloudwatch_agent.sh",
        CTL=ctl,
        BUCKET_URL=base_url,
        KEY_URL=key_url,
        FINGERPRINT=fingerprint,
        CONFIG=render_config(disks).splitlines(),
        CONFIG_FILE=config_file,
    )


def config_in_script(lines: Sequence[str]) -> dict[str, Any] | None:
    """The agent configuration an apply script (`apply_lines` within it) applies, or None:
    the here-document `AGENT_CONFIG` is read from."""
    stripped = [line.strip() for line in lines]
    start = f"IFS= read -r -d '' {CONFIG_VARIABLE} <<'{HEREDOC}' || true"
    if start not in stripped:
        return None
    first = stripped.index(start) + 1
    return json.loads("\n".join(stripped[first : stripped.index(HEREDOC, first)]))
