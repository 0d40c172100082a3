"""The app host's CloudWatch agent: a configuration of only the agent's documented keys, an
install of AWS's signed package only, a configuration re-applied (and the agent restarted)
only when it changed, alarms on exactly what it publishes, a policy for that alone, and
its metrics priced.

The apply script's agent lines run for real here under bash with `set -euo pipefail`, as
the apply script runs them: python3 downloads from a local bucket (file:// URLs), the real
gpgv verifies packages signed with real gpg keys of the test's own; only `dpkg` (which
would install into this machine) and the agent's control script are stand-ins. The
rehearsal (tests/test_host_rehearsal.py) runs the same lines inside the dev plan's whole
apply script.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from components.aws.observability import DISK_USED_PERCENT, MEMORY_USED_PERCENT
from components.host import app_user_data, cloudwatch_agent
from plan.cost import estimate, load_prices
from plan.model import Plan, reveal
from plan.resource_types import METRIC_ALARM
from tests.app_tier_helpers import app_hosts

# The configuration-file keys the CloudWatch User Guide documents ("Manually create or
# edit the CloudWatch agent configuration file": the agent and metrics sections, and the
# disk and mem sections of metrics_collected), with the JSON type each takes. Only the
# sections this configuration uses; a key outside them, or of another type, is an error.
DOCUMENTED_KEYS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "agent": {
        "metrics_collection_interval": int,
        "region": str,
        "credentials": dict,
        "debug": bool,
        "aws_sdk_log_level": str,
        "logfile": str,
        "omit_hostname": bool,
        "run_as_user": str,
        "user_agent": str,
        "usage_data": bool,
    },
    "metrics": {
        "namespace": str,
        "append_dimensions": dict,
        "aggregation_dimensions": list,
        "endpoint_override": str,
        "metrics_collected": dict,
        "force_flush_interval": int,
        "credentials": dict,
    },
    "disk": {
        "resources": list,
        "measurement": list,
        "ignore_file_system_types": list,
        "drop_device": bool,
        "metrics_collection_interval": int,
        "append_dimensions": dict,
    },
    "mem": {"measurement": list, "metrics_collection_interval": int, "append_dimensions": dict},
}
# append_dimensions takes these fixed pairs only (the same page).
APPEND_DIMENSIONS = {
    "ImageId": "${aws:ImageId}",
    "InstanceId": "${aws:InstanceId}",
    "InstanceType": "${aws:InstanceType}",
    "AutoScalingGroupName": "${aws:AutoScalingGroupName}",
}
# The measurements of the User Guide's "Metrics collected by the CloudWatch agent on Linux
# and macOS instances" (disk_*, mem_* without their prefix).
MEASUREMENTS = {
    "disk": {"free", "inodes_free", "inodes_total", "inodes_used", "total", "used", "used_percent"},
    "mem": {
        "active",
        "available",
        "available_percent",
        "buffered",
        "cached",
        "free",
        "inactive",
        "total",
        "used",
        "used_percent",
    },
}


def config_errors(config: Any) -> list[str]:
    """Where `config` strays from the documented keys, types and values (the agent's own
    schema is not vendored here: this is the check of record for the keys we use)."""
    errors: list[str] = []

    def section(path: str, value: Any, name: str) -> None:
        if not isinstance(value, dict):
            errors.append(f"{path}: expected an object")
            return
        for key, item in value.items():
            allowed = DOCUMENTED_KEYS[name].get(key)
            if allowed is None:
                errors.append(f"{path}.{key}: not a documented key")
            elif not isinstance(item, allowed) or (allowed is int and isinstance(item, bool)):
                errors.append(f"{path}.{key}: expected {allowed}, got {item!r}")

    if not isinstance(config, dict) or set(config) - {"agent", "metrics", "logs", "traces"}:
        return [f"top level: only agent, metrics, logs, traces, got {config!r}"]
    section("agent", config.get("agent", {}), "agent")
    interval = config.get("agent", {}).get("metrics_collection_interval", 60)
    if isinstance(interval, int) and interval < 1:
        errors.append("agent.metrics_collection_interval: at least 1 second")
    metrics = config.get("metrics", {})
    section("metrics", metrics, "metrics")
    for key, value in metrics.get("append_dimensions", {}).items():
        if APPEND_DIMENSIONS.get(key) != value:
            errors.append(f"metrics.append_dimensions.{key}: not a documented pair ({value!r})")
    for name, collected in metrics.get("metrics_collected", {}).items():
        if name not in MEASUREMENTS:
            errors.append(f"metrics.metrics_collected.{name}: not checked here")
            continue
        section(f"metrics.metrics_collected.{name}", collected, name)
        errors += _values_errors(name, collected)
    return errors


GPG = shutil.which("gpg")
GPGV = shutil.which("gpgv")


def _values_errors(name: str, collected: dict[str, Any]) -> list[str]:
    """Undocumented measurements of section `name`; resources that are not mount points."""
    path = f"metrics.metrics_collected.{name}"
    return [
        f"{path}.measurement: {m!r}"
        for m in collected.get("measurement", [])
        if m not in MEASUREMENTS[name]
    ] + [
        f"{path}.resources: {r!r}"
        for r in collected.get("resources", [])
        if not isinstance(r, str) or not (r == "*" or r.startswith("/"))
    ]


# --- the configuration ------------------------------------------------------------------------


def test_the_configuration_uses_only_the_agents_documented_keys() -> None:
    assert config_errors(cloudwatch_agent.agent_config()) == []
    assert json.loads(cloudwatch_agent.render_config()) == cloudwatch_agent.agent_config()


def test_the_check_catches_a_broken_configuration() -> None:
    config = cloudwatch_agent.agent_config()
    config["metrics"]["metrics_collected"]["disk"]["drop_device"] = "yes"
    config["agent"]["metrics_collection_interval"] = "often"
    config["metrics"]["namspace"] = "misspelt"  # the metrics section admits no other key
    config["metrics"]["append_dimensions"]["Host"] = "${aws:Hostname}"
    config["metrics"]["metrics_collected"]["mem"]["measurement"] = ["used_pct"]
    assert len(config_errors(config)) == 5, config_errors(config)


def test_it_publishes_the_root_and_docker_disks_and_memory() -> None:
    config = cloudwatch_agent.agent_config()
    assert cloudwatch_agent.HOST_DISKS == ("/", app_user_data.DOCKER_DATA_ROOT)
    assert cloudwatch_agent.published_metrics(config) == (
        "disk_used_percent /",
        "disk_used_percent /var/lib/docker",
        "mem_used_percent",
    )
    metrics = config["metrics"]
    assert metrics["namespace"] == cloudwatch_agent.NAMESPACE == "Ticketing/Hosts"
    # The instance id is appended; the device name (nvme1n1 or xvdf) is dropped.
    assert metrics["append_dimensions"] == {"InstanceId": "${aws:InstanceId}"}
    assert metrics["metrics_collected"]["disk"]["drop_device"] is True


@pytest.mark.parametrize("disks", [(), ("/", "/"), ("var/lib/docker",)])
def test_no_disk_a_repeated_or_a_relative_one_is_refused(disks: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="distinct absolute mount points"):
        cloudwatch_agent.agent_config(disks)


def test_the_data_volume_is_ext4_as_the_alarms_expect() -> None:
    mount = app_user_data.mount_data_volume(("/dev/xvdf",))
    assert f"mkfs.ext4 -q -L {app_user_data.DATA_LABEL}" in mount
    assert cloudwatch_agent.FILE_SYSTEM == "ext4"


# --- what the plan deploys ---------------------------------------------------------------------


def test_every_deploy_applies_the_agent_and_user_data_does_not(dev_plan: Plan) -> None:
    """The apply document (run by every deploy and on its schedule) carries the agent's
    install and configuration; the first-boot user data knows nothing of it."""
    [document] = dev_plan.of_type("aws:ssm/document:Document")
    [step] = json.loads(reveal(document.inputs["content"]))["mainSteps"]
    script = "\n".join(step["inputs"]["runCommand"])
    assert cloudwatch_agent.config_in_script(script.splitlines()) == cloudwatch_agent.agent_config()
    assert "\n".join(cloudwatch_agent.apply_lines()) in script
    # Before the host's documents are read and written: a failed install changes nothing.
    assert script.index(cloudwatch_agent.CTL) < script.index("trap roll_back EXIT")
    [vm] = app_hosts(dev_plan)
    assert "cloudwatch" not in reveal(vm.inputs["userData"]).lower()


def agent_alarms(plan: Plan) -> dict[str, dict[str, Any]]:
    return {
        a.name: dict(a.inputs)
        for a in plan.of_type(METRIC_ALARM)
        if a.inputs.get("namespace") == cloudwatch_agent.NAMESPACE
    }


def test_alarms_name_exactly_the_dimensions_the_agent_publishes(dev_plan: Plan) -> None:
    [vm] = app_hosts(dev_plan)
    [topic] = dev_plan.of_type("aws:sns/topic:Topic")
    alarms = agent_alarms(dev_plan)
    assert set(alarms) == {
        "app-observability-shared-host-disk-root",
        "app-observability-shared-host-disk-docker",
        "app-observability-shared-host-memory",
    }
    # The agent's disk dimensions are device, fstype, path and mode, less the device it is
    # told to drop and the mode it always drops, plus the appended instance id; memory's
    # are the instance id alone.
    root = alarms["app-observability-shared-host-disk-root"]
    assert root["metricName"] == "disk_used_percent"
    assert root["dimensions"] == {"InstanceId": vm.id, "path": "/", "fstype": "ext4"}
    docker = alarms["app-observability-shared-host-disk-docker"]
    assert docker["dimensions"] == {
        "InstanceId": vm.id,
        "path": "/var/lib/docker",
        "fstype": "ext4",
    }
    memory = alarms["app-observability-shared-host-memory"]
    assert memory["metricName"] == "mem_used_percent"
    assert memory["dimensions"] == {"InstanceId": vm.id}
    assert (root["threshold"], memory["threshold"]) == (DISK_USED_PERCENT, MEMORY_USED_PERCENT)
    # A host whose agent stops reporting is a host nobody watches: no data breaches.
    assert {a["treatMissingData"] for a in alarms.values()} == {"breaching"}
    assert all(a["alarmActions"] == [topic.outputs["arn"]] for a in alarms.values())
    assert all(a["okActions"] == [topic.outputs["arn"]] for a in alarms.values())


def test_the_host_may_publish_in_the_agents_namespace_only(dev_plan: Plan) -> None:
    policy = json.loads(reveal(dev_plan.named("shared-host-access").inputs["policy"]))
    [statement] = [s for s in policy["Statement"] if s["Sid"] == "PublishHostMetrics"]
    assert statement["Action"] == "cloudwatch:PutMetricData"
    assert statement["Condition"] == {"StringEquals": {"cloudwatch:namespace": "Ticketing/Hosts"}}
    # Nothing else of CloudWatchAgentServerPolicy: no EC2 tag or volume reads, no logs
    # beyond the host's own groups.
    actions = [
        a
        for s in policy["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    ]
    assert not [a for a in actions if a.startswith("ec2:")]
    assert "logs:CreateLogGroup" not in actions


def test_the_agents_metrics_are_priced(dev_plan: Plan) -> None:
    prices = load_prices()
    [line] = [i for i in estimate(dev_plan, prices).items if "CloudWatch agent" in i.description]
    assert line.quantity == 3  # one host: two disks and memory
    assert line.unit_price == prices.items.cloudwatch_custom_metric_month.price == 0.30


def test_an_apply_script_without_the_agent_has_no_configuration() -> None:
    assert cloudwatch_agent.config_in_script(["set -e", "echo hi"]) is None


# --- the apply script's agent lines, run ------------------------------------------------------


def fake_ctl(state: Path) -> str:
    """A stand-in for the agent's control script: records each call in `state`/calls.log,
    answers `-a status` as the real one does (running while `state`/running exists), and on
    `fetch-config` copies the file it is given to `state`/applied.json and starts, unless
    `state`/refuse exists (a configuration the agent refuses)."""
    return f"""#!/bin/sh
state={state}
echo "$*" >>"$state/calls.log"
case "$*" in
  "-a status")
    if [ -f "$state/running" ]; then s=running; else s=stopped; fi
    printf '{{\\n  "status": "%s",\\n  "starttime": "",\\n  "configstatus": "configured",\\n'\\
'  "version": "stand-in"\\n}}\\n' "$s"
    ;;
  *fetch-config*)
    [ -f "$state/refuse" ] && exit 1
    for last; do :; done
    cp "${{last#file:}}" "$state/applied.json"
    : >"$state/running"
    ;;
esac
"""


FAKE_DPKG = """#!/bin/sh
echo "dpkg $*" >>"$STATE/calls.log"
case "$1" in
  --print-architecture) echo amd64 ;;
  -i) mkdir -p "$(dirname "$CTL")" && cp "$STATE/ctl" "$CTL" && chmod 0755 "$CTL" ;;
esac
"""


def gpg(home: Path, *args: str) -> bytes:
    assert GPG
    env = {**os.environ, "GNUPGHOME": str(home)}
    return subprocess.run(
        [GPG, "--batch", "--quiet", *args], env=env, check=True, capture_output=True
    ).stdout


def make_key(home: Path) -> str:
    """A signing key of our own in `home`; its primary fingerprint."""
    home.mkdir(mode=0o700)
    gpg(home, "--passphrase", "", "--quick-gen-key", "t <t@example.invalid>", "ed25519", "sign")
    listing = gpg(home, "--with-colons", "--list-keys").decode()
    return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))


@dataclass
class Agent:
    """A host without the agent, a local bucket with a package signed by `signer`'s key,
    and the rendered agent lines pointed at them."""

    root: Path
    bucket: Path
    signer: str
    signer_home: Path
    other_home: Path

    @property
    def package(self) -> Path:
        return self.bucket / "ubuntu" / "amd64" / "latest" / "amazon-cloudwatch-agent.deb"

    @property
    def key(self) -> Path:
        return self.bucket / "key.gpg"

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def ctl(self) -> Path:
        return self.root / "opt" / "bin" / "amazon-cloudwatch-agent-ctl"

    @property
    def config_file(self) -> Path:
        return self.root / "cloudwatch-agent.json"

    def calls(self) -> list[str]:
        log = self.state / "calls.log"
        lines = log.read_text().splitlines() if log.exists() else []
        log.unlink(missing_ok=True)
        return lines

    def run(
        self, disks: tuple[str, ...] = cloudwatch_agent.HOST_DISKS
    ) -> subprocess.CompletedProcess[str]:
        lines = cloudwatch_agent.apply_lines(
            base_url=self.bucket.as_uri(),
            key_url=self.key.as_uri(),
            fingerprint=self.signer,
            ctl=str(self.ctl),
            config_file=str(self.config_file),
            disks=disks,
        )
        script = "set -euo pipefail\nshopt -s inherit_errexit\numask 077\n" + "\n".join(lines)
        bin_dir = self.root / "bin"
        return subprocess.run(
            ["bash", "-c", script],
            env={
                "PATH": f"{bin_dir}:{os.environ['PATH']}",
                "STATE": str(self.state),
                "CTL": str(self.ctl),
                "TMPDIR": str(self.root),
            },
            capture_output=True,
            text=True,
            check=False,
        )


@pytest.fixture
def agent(tmp_path: Path) -> Agent:
    if GPG is None or GPGV is None:
        pytest.skip("gpg and gpgv are not installed")
    bucket = tmp_path / "bucket"
    signer_home, other_home = tmp_path / "signer", tmp_path / "other"
    a = Agent(tmp_path, bucket, make_key(signer_home), signer_home, other_home)
    make_key(other_home)
    a.package.parent.mkdir(parents=True)
    a.package.write_bytes(b"not really a .deb, but signed")
    gpg(signer_home, "--detach-sign", "-o", f"{a.package}.sig", str(a.package))
    a.key.write_bytes(gpg(signer_home, "--armor", "--export"))
    a.state.mkdir()
    (a.state / "ctl").write_text(fake_ctl(a.state))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "dpkg").write_text(FAKE_DPKG)
    (bin_dir / "dpkg").chmod(0o755)
    (bin_dir / "python3").symlink_to(sys.executable)
    return a


def test_a_host_without_the_agent_gets_the_signed_package_configured_and_started(
    agent: Agent,
) -> None:
    result = agent.run()
    assert result.returncode == 0, result.stderr
    calls = agent.calls()
    assert calls[0] == "dpkg --print-architecture"
    assert calls[-3].startswith("dpkg -i ") and calls[-3].endswith("/agent.deb")
    assert calls[-2:] == [
        "-a status",
        f"-a fetch-config -m ec2 -s -c file:{agent.config_file}",
    ]
    assert agent.config_file.read_text() == cloudwatch_agent.render_config()
    assert agent.config_file.stat().st_mode & 0o777 == 0o644
    assert json.loads((agent.state / "applied.json").read_text()) == cloudwatch_agent.agent_config()
    # Nothing of the download is left behind.
    assert not [p for p in agent.root.iterdir() if p.name.startswith("tmp")]


def test_an_unchanged_configuration_on_a_running_agent_changes_nothing(agent: Agent) -> None:
    assert agent.run().returncode == 0
    agent.calls()
    written = agent.config_file.stat().st_mtime_ns
    result = agent.run()
    assert result.returncode == 0, result.stderr
    assert agent.calls() == ["-a status"]  # no download, no install, no restart
    assert agent.config_file.stat().st_mtime_ns == written


def test_a_changed_configuration_is_applied_and_the_agent_restarted_once(agent: Agent) -> None:
    assert agent.run().returncode == 0
    agent.calls()
    result = agent.run(disks=("/",))
    assert result.returncode == 0, result.stderr
    assert agent.calls() == ["-a status", f"-a fetch-config -m ec2 -s -c file:{agent.config_file}"]
    assert json.loads(agent.config_file.read_text()) == cloudwatch_agent.agent_config(("/",))
    assert agent.run(disks=("/",)).returncode == 0
    assert agent.calls() == ["-a status"]


def test_a_stopped_agent_is_started_again(agent: Agent) -> None:
    assert agent.run().returncode == 0
    (agent.state / "running").unlink()
    agent.calls()
    assert agent.run().returncode == 0
    assert agent.calls() == ["-a status", f"-a fetch-config -m ec2 -s -c file:{agent.config_file}"]


def test_a_refused_configuration_fails_the_run_and_is_retried_by_the_next(agent: Agent) -> None:
    (agent.state / "refuse").touch()
    result = agent.run()
    assert result.returncode == 1
    assert "the CloudWatch agent refused its configuration" in result.stderr
    assert not agent.config_file.exists()
    (agent.state / "refuse").unlink()
    agent.calls()
    assert agent.run().returncode == 0
    assert agent.calls()[-1] == f"-a fetch-config -m ec2 -s -c file:{agent.config_file}"


def test_a_binary_key_is_read_as_well(agent: Agent) -> None:
    agent.key.write_bytes(gpg(agent.signer_home, "--export"))
    result = agent.run()
    assert result.returncode == 0, result.stderr
    assert agent.ctl.exists()


def test_a_tampered_package_is_not_installed(agent: Agent) -> None:
    agent.package.write_bytes(agent.package.read_bytes() + b"!")
    result = agent.run()
    assert result.returncode == 1
    assert f"not signed by {agent.signer}: not installed" in result.stderr
    assert not [c for c in agent.calls() if c.startswith("dpkg -i")]
    assert not agent.ctl.exists() and not agent.config_file.exists()


def test_a_package_and_key_swapped_together_are_not_installed(agent: Agent) -> None:
    # Whoever can replace the package can replace the key beside it: the pin catches it.
    Path(f"{agent.package}.sig").unlink()
    gpg(agent.other_home, "--detach-sign", "-o", f"{agent.package}.sig", str(agent.package))
    agent.key.write_bytes(gpg(agent.other_home, "--armor", "--export"))
    result = agent.run()
    assert result.returncode == 1
    assert "not installed" in result.stderr
    assert not [c for c in agent.calls() if c.startswith("dpkg -i")]


def test_a_missing_package_fails_the_run_naming_it(agent: Agent) -> None:
    agent.package.unlink()
    result = agent.run()
    assert result.returncode == 1
    assert f"could not download {agent.package.as_uri()}" in result.stderr
    assert not agent.ctl.exists()


def test_the_pinned_fingerprint_and_addresses_are_aws_s_published_ones() -> None:
    # CloudWatch User Guide, "Verifying the signature of the CloudWatch agent package":
    # 9376 16F3 450B 7D80 6CBD 9725 D581 6730 3B78 9C72 (key 3B789C72), the key at
    # https://amazoncloudwatch-agent.s3.amazonaws.com/assets/amazon-cloudwatch-agent.gpg,
    # and per-region packages at amazoncloudwatch-agent-<region>.s3.<region>.amazonaws.com.
    assert (
        "9376 16F3 450B 7D80 6CBD 9725 D581 6730 3B78 9C72".replace(" ", "")
        == cloudwatch_agent.SIGNING_KEY_FINGERPRINT
    )
    script = "\n".join(cloudwatch_agent.apply_lines())
    assert (
        'agent_package="https://amazoncloudwatch-agent-{{ Region }}.s3.{{ Region }}.amazonaws.com'
        '/ubuntu/$agent_arch/latest/amazon-cloudwatch-agent.deb"' in script
    )
    assert "agent_arch=$(dpkg --print-architecture)" in script
    assert cloudwatch_agent.KEY_URL in script
