"""The NAT instance's user data: IP forwarding and masquerading for the VPC. No Pulumi.

Amazon Linux 2023 runs the script once, at first boot. What it sets up survives
reboots on its own: the sysctl drop-in is applied by systemd-sysctl at every boot,
and `iptables.service` (package `iptables-services`, AWS's documented way to
build a NAT AMI on AL2023) restores `/etc/sysconfig/iptables` at every boot. The
rules file is written whole, so the package's default ruleset (which rejects
forwarded traffic) never applies.

The primary interface's name (`ens5` on Nitro instances) is read from the
default route at boot rather than assumed.
"""

from __future__ import annotations

import ipaddress

from components.host import shell

SYSCTL_FILE = "/etc/sysctl.d/90-ticketing-nat.conf"
RULES_FILE = "/etc/sysconfig/iptables"
PACKAGE = "iptables-services"
# The Elastic IP is associated only after the instance is running, so the package
# repositories may be unreachable for the first seconds: retry for up to 5 minutes.
INSTALL_ATTEMPTS = 30
INSTALL_PAUSE_SECONDS = 10


def sysctl_conf() -> str:
    """The drop-in that turns on IPv4 forwarding at every boot."""
    return "# Forward the VPC's traffic (NAT instance)\nnet.ipv4.ip_forward = 1\n"


def iptables_rules(vpc_cidr: str, interface: str) -> str:
    """`/etc/sysconfig/iptables` (iptables-save format) for a NAT of `vpc_cidr`.

    Only traffic from the VPC is masqueraded and forwarded, out of and back through
    the one `interface`; everything else that would be forwarded is dropped. The
    instance's own traffic is left to its security group.
    """
    cidr = str(ipaddress.IPv4Network(vpc_cidr, strict=True))
    return "\n".join(
        [
            "*nat",
            ":PREROUTING ACCEPT [0:0]",
            ":INPUT ACCEPT [0:0]",
            ":OUTPUT ACCEPT [0:0]",
            ":POSTROUTING ACCEPT [0:0]",
            f"-A POSTROUTING -s {cidr} -o {interface} -j MASQUERADE",
            "COMMIT",
            "*filter",
            ":INPUT ACCEPT [0:0]",
            ":FORWARD DROP [0:0]",
            ":OUTPUT ACCEPT [0:0]",
            "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
            f"-A FORWARD -s {cidr} -i {interface} -o {interface} -j ACCEPT",
            "COMMIT",
            "",
        ]
    )


def render_nat_user_data(vpc_cidr: str) -> str:
    """The shell script (`scripts/nat_user_data.sh`) that makes an Amazon Linux 2023
    instance the NAT of `vpc_cidr`.

    Args:
        vpc_cidr: the VPC's CIDR block: the only source that is masqueraded.
    """
    return shell.render(
        "nat_user_data.sh",
        VPC_CIDR=str(ipaddress.IPv4Network(vpc_cidr, strict=True)),
        SYSCTL_FILE=SYSCTL_FILE,
        SYSCTL_CONF=sysctl_conf().splitlines(),
        PACKAGE=PACKAGE,
        INSTALL_ATTEMPTS=INSTALL_ATTEMPTS,
        INSTALL_PAUSE_SECONDS=INSTALL_PAUSE_SECONDS,
        RULES_FILE=RULES_FILE,
        # The script's unquoted here-document expands the interface it read at boot.
        RULES=iptables_rules(vpc_cidr, "${iface}").splitlines(),
    )
