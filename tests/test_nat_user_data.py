"""The NAT instance's user data: forwarding on for good, masquerading exactly the VPC CIDR."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from components.host import nat_user_data
from components.host.nat_user_data import iptables_rules, render_nat_user_data

CIDR = "10.42.0.0/16"
ROUTE = "default via 10.42.0.1 dev ens5 proto dhcp src 10.42.0.12 metric 512"

needs_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")


def rule_lines(rules: str, table: str) -> list[str]:
    """The lines of one table (`*nat`, `*filter`) of an iptables-save document."""
    lines = rules.splitlines()
    start = lines.index(f"*{table}")
    end = lines.index("COMMIT", start)
    return lines[start + 1 : end]


def test_masquerades_exactly_the_vpc_cidr_on_the_given_interface() -> None:
    nat = rule_lines(iptables_rules(CIDR, "ens5"), "nat")
    assert [line for line in nat if not line.startswith(":")] == [
        "-A POSTROUTING -s 10.42.0.0/16 -o ens5 -j MASQUERADE"
    ]


def test_forwards_only_the_vpcs_traffic_and_its_replies() -> None:
    filtering = rule_lines(iptables_rules(CIDR, "ens5"), "filter")
    assert ":FORWARD DROP [0:0]" in filtering
    assert [line for line in filtering if line.startswith("-A")] == [
        "-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "-A FORWARD -s 10.42.0.0/16 -i ens5 -o ens5 -j ACCEPT",
    ]


def test_a_cidr_with_host_bits_is_refused() -> None:
    with pytest.raises(ValueError):
        render_nat_user_data("10.42.0.1/16")


def test_script_persists_forwarding_and_the_rules_across_reboots() -> None:
    script = render_nat_user_data(CIDR)
    assert script.startswith("#!/bin/bash\n")
    assert "set -euo pipefail" in script
    assert "net.ipv4.ip_forward = 1" in nat_user_data.sysctl_conf()
    assert f"cat > {nat_user_data.SYSCTL_FILE} <<'EOF'" in script  # /etc/sysctl.d: every boot
    assert "dnf install -y iptables-services" in script
    assert f"cat > {nat_user_data.RULES_FILE} <<EOF" in script  # restored by iptables.service
    assert "systemctl enable iptables.service" in script
    assert script.count("MASQUERADE") == 1 and f"-s {CIDR} " in script


@needs_bash
def test_script_is_valid_bash() -> None:
    result = subprocess.run(
        ["bash", "-n"], input=render_nat_user_data(CIDR), text=True, capture_output=True
    )
    assert result.returncode == 0, result.stderr


def run_script(
    tmp_path: Path, dnf_failures: int, route: str | None = ROUTE
) -> subprocess.CompletedProcess[str]:
    """Run the rendered script with /etc under `tmp_path` and stub system commands."""
    root, bin_dir = tmp_path / "root", tmp_path / "bin"
    (root / "etc" / "sysctl.d").mkdir(parents=True)
    (root / "etc" / "sysconfig").mkdir(parents=True)
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    counter = tmp_path / "dnf.count"
    counter.write_text("0")
    stubs = {
        "ip": f'echo "{route}"' if route is not None else "exit 2",
        "sysctl": f'echo "sysctl $*" >> {log}',
        "systemctl": f'echo "systemctl $*" >> {log}',
        "sleep": f'echo "sleep $*" >> {log}',
        "dnf": (
            f'n=$(($(cat {counter}) + 1)); echo "$n" > {counter}; echo "dnf $*" >> {log}; '
            f"[ $n -gt {dnf_failures} ]"
        ),
    }
    for name, body in stubs.items():
        stub = bin_dir / name
        stub.write_text(f"#!/bin/bash\n{body}\n")
        stub.chmod(0o755)
    script = render_nat_user_data(CIDR).replace(" /etc/", f" {root}/etc/")
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    return subprocess.run(["bash", "-c", script], env=env, text=True, capture_output=True)


@needs_bash
def test_running_the_script_writes_forwarding_and_nat_for_the_primary_interface(
    tmp_path: Path,
) -> None:
    result = run_script(tmp_path, dnf_failures=2)  # the Elastic IP arrives a little late
    assert result.returncode == 0, result.stderr
    root = tmp_path / "root"
    sysctl = (root / nat_user_data.SYSCTL_FILE.lstrip("/")).read_text()
    assert "net.ipv4.ip_forward = 1" in sysctl.splitlines()
    rules = (root / nat_user_data.RULES_FILE.lstrip("/")).read_text()
    assert rules == iptables_rules(CIDR, "ens5")
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert calls.count("dnf install -y iptables-services") == 3
    assert calls.count("sleep 10") == 2
    assert "systemctl enable iptables.service" in calls
    assert calls[-1] == "systemctl restart iptables.service"


@needs_bash
def test_the_script_gives_up_when_the_package_never_installs(tmp_path: Path) -> None:
    result = run_script(tmp_path, dnf_failures=nat_user_data.INSTALL_ATTEMPTS)
    assert result.returncode == 1
    assert "could not install iptables-services" in result.stderr
    assert not (tmp_path / "root" / nat_user_data.RULES_FILE.lstrip("/")).exists()


@needs_bash
def test_without_a_default_route_the_script_says_so(tmp_path: Path) -> None:
    result = run_script(tmp_path, dnf_failures=0, route=None)
    assert result.returncode == 1
    assert "no default route to find the primary interface" in result.stderr
    assert not (tmp_path / "root" / nat_user_data.RULES_FILE.lstrip("/")).exists()
