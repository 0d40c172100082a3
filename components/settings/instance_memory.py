"""The installed memory of the EC2 instance types a stack may run, and what a host keeps back.

AWS publishes each type's memory in the Amazon EC2 Instance Types guide
(`SOURCE`) and returns it from `DescribeInstanceTypes` as `MemoryInfo.SizeInMiB`;
botocore's service models carry no per-type data. The table holds the types the
price table (`plan/prices/<region>.yaml`) prices, no more: a type missing here is
refused by the settings with the page to copy it from. The suite checks every row
against the DescribeInstanceTypes answer that `moto` ships, recorded from AWS.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

SOURCE: Final = "https://docs.aws.amazon.com/ec2/latest/instancetypes/gp.html"

MEMORY_MIB: Final[Mapping[str, int]] = {
    "t3.nano": 512,
    "t3.micro": 1024,
    "t3.small": 2048,
    "t3.medium": 4096,
    "t3.large": 8192,
    "t3.xlarge": 16384,
    "t3a.micro": 1024,
    "t3a.small": 2048,
    "t3a.medium": 4096,
    "t3a.large": 8192,
    "t4g.nano": 512,
    "t4g.micro": 1024,
    "t4g.small": 2048,
    "t4g.medium": 4096,
    "t4g.large": 8192,
    "m5.large": 8192,
    "m5.xlarge": 16384,
    "m6i.large": 8192,
    "m6i.xlarge": 16384,
    "m6g.large": 8192,
}

# What an app host's containers may not take of its installed memory: the part the
# kernel never hands out (an m4.large's 8192 MiB shows as 7985 MiB to the OS, per ECS's
# "Container instance memory management"), Ubuntu's own services (systemd, journald,
# snapd, multipathd), the SSM agent, dockerd and containerd, one containerd shim per
# container (13 on a shared host), and each apply run (AWS CLI, docker compose, psql).
# ECS leaves this to ECS_RESERVED_MEMORY "for critical system processes"; 768 MiB is our
# estimate of their sum with headroom, so a full set of containers never starves them.
HOST_RESERVE_MIB: Final = 768

# The NAT instance's floor. Amazon Linux 2023 runs dnf at first boot (iptables-services)
# and the SSM agent alongside; on 512 MiB both are OOM-killed (amazonlinux/amazon-linux-2023
# issue 404 on .nano types; aws/amazon-ssm-agent issue 615).
NAT_MINIMUM_MIB: Final = 1024


def memory_mib(instance_type: str) -> int | None:
    """The installed memory of `instance_type` in MiB, or None if the table lacks it."""
    return MEMORY_MIB.get(instance_type)


def unknown_type(instance_type: str) -> str:
    """The error text for a type the table lacks."""
    return (
        f"the memory of {instance_type} is not in components/settings/instance_memory.py; "
        f"add it from {SOURCE}"
    )
