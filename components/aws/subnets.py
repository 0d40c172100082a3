"""Subnet layout of the VPC: pure arithmetic, no Pulumi.

The VPC is cut into quarters. Private subnets (app hosts, RDS) take one quarter
per availability zone, up to three. The last quarter is cut into sixteenths for
the public subnets (the NAT gateways or NAT instance, the NLB's Elastic IPs),
which need few addresses. A /16 gives /18 private and /20 public subnets; a /24, /26 and /28.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

MAX_ZONES = 3


@dataclass(frozen=True)
class SubnetLayout:
    """Per-zone CIDR blocks, index i belonging to the i-th availability zone."""

    vpc: str
    public: tuple[str, ...]
    private: tuple[str, ...]


def layout_subnets(vpc_cidr: str, zones: int) -> SubnetLayout:
    """Lay out one public and one private subnet per zone inside `vpc_cidr`."""
    if not 1 <= zones <= MAX_ZONES:
        raise ValueError(f"zones must be 1 to {MAX_ZONES}, got {zones}")
    vpc = ipaddress.IPv4Network(vpc_cidr, strict=True)
    if vpc.prefixlen > 24:
        raise ValueError(f"VPC {vpc} is too small; use /24 or larger")
    quarters = list(vpc.subnets(prefixlen_diff=2))
    public_pool = list(quarters[3].subnets(prefixlen_diff=2))
    return SubnetLayout(
        vpc=str(vpc),
        public=tuple(str(n) for n in public_pool[:zones]),
        private=tuple(str(n) for n in quarters[:zones]),
    )
