"""The app host's user data: a valid #cloud-config that only bootstraps Docker, no deploy state."""

from __future__ import annotations

import configparser
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from components.host import app_user_data as user_data
from components.host import packages as host_packages
from components.settings import BackingImages

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "cloud-config-v1.json").read_text())
POOL = "172.28.0.0/16"
VOLUME = "vol-0123456789abcdef0"


@pytest.fixture(scope="module")
def text() -> str:
    return user_data.render_user_data(POOL, VOLUME)


@pytest.fixture(scope="module")
def config(text: str) -> dict[str, Any]:
    return yaml.safe_load(text)


def written(config: dict[str, Any], path: str) -> str:
    [entry] = [f for f in config["write_files"] if f["path"] == path]
    return entry["content"]


def cloud_init_errors(document: Any) -> list[str]:
    validator = jsonschema.Draft4Validator(SCHEMA)
    return [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(document)]


def module_keys() -> dict[str, dict[str, Any]]:
    """Every top-level key some cloud-init module's schema defines, with its schema."""
    keys: dict[str, dict[str, Any]] = {}
    for definition in SCHEMA["$defs"].values():
        keys.update(definition.get("properties", {}))
    return keys


def unit_file(config: dict[str, Any]) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(written(config, f"/etc/systemd/system/{user_data.COMPOSE_UNIT}"))
    return parser


# --- a cloud-config cloud-init accepts -------------------------------------------------


def test_starts_with_the_cloud_config_header_and_parses_as_yaml(text: str) -> None:
    assert text.startswith("#cloud-config\n")
    assert isinstance(yaml.safe_load(text), dict)


def test_validates_against_cloud_inits_schema(config: dict[str, Any]) -> None:
    assert cloud_init_errors(config) == []


def test_schema_check_catches_a_broken_document(config: dict[str, Any]) -> None:
    broken = {**config, "write_files": [{"content": "no path"}], "package_update": "yes"}
    errors = cloud_init_errors(broken)
    assert any("'path' is a required property" in e for e in errors)
    assert any("package_update" in e for e in errors)


def test_uses_only_keys_cloud_init_knows_and_none_deprecated(config: dict[str, Any]) -> None:
    known = module_keys()
    for key in config:
        assert key in known, key
        assert not known[key].get("deprecated"), key


def test_is_deterministic() -> None:
    assert user_data.render_user_data(POOL, VOLUME) == user_data.render_user_data(POOL, VOLUME)


# --- what it installs and configures ---------------------------------------------------


def test_installs_docker_and_compose_only_with_a_retrying_install(config: dict[str, Any]) -> None:
    assert set(config) == {"write_files", "runcmd"}  # no packages, snap or apt module
    [_mount, install] = [c for c in config["runcmd"] if isinstance(c, str)]
    assert install == host_packages.retrying_apt_install(host_packages.DOCKER)
    assert "install -y docker.io docker-compose-v2;" in install


def test_leaves_the_apply_documents_tools_to_the_apply_document(text: str) -> None:
    for word in ("postgresql-client", "psql", "aws-cli", "snap"):
        assert word not in text, word


def cloud_init_runcmd(config: dict[str, Any]) -> str:
    """The runcmd script as cloud-init writes it (`util.shellify`): lists quoted, strings as is."""
    lines = ["#!/bin/sh"]
    for command in config["runcmd"]:
        if isinstance(command, list):
            lines.append(" ".join("'" + str(a).replace("'", "'\\''") + "'" for a in command))
        else:
            lines.append(command)
    return "\n".join(lines) + "\n"


FAKE_APT = """#!/bin/sh
echo "apt-get $*" >>"$FAKE_LOG"
case "$*" in *" install "*)
  n=0; [ -f "$FAKE_COUNT" ] && read -r n <"$FAKE_COUNT"
  n=$((n + 1)); echo "$n" >"$FAKE_COUNT"
  [ "$n" -gt "$FAKE_FAILURES" ] ;;
esac
"""
FAKE_TOOL = '#!/bin/sh\necho "${0##*/} $*" >>"$FAKE_LOG"\n'


def test_the_data_volume_is_docker_s_data_root_before_docker_is_installed(
    config: dict[str, Any],
) -> None:
    # Its own test mounts a real block device (tests/test_data_volume.py).
    mount = config["runcmd"][0]
    assert mount == user_data.mount_data_volume(user_data.data_volume_devices(VOLUME))
    assert "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0" in mount
    assert f'mount "$device" {user_data.DOCKER_DATA_ROOT}' in mount


def run_runcmd(config: dict[str, Any], tmp_path: Path, failures: int) -> tuple[int, list[str]]:
    """Run the runcmd script after its first step, the data volume's mount (which needs a
    block device), with fakes only on PATH; apt's first `failures` installs fail."""
    config = {**config, "runcmd": config["runcmd"][1:]}
    fakes = tmp_path / "bin"
    fakes.mkdir()
    (fakes / "apt-get").write_text(FAKE_APT)
    for tool in ("install", "systemctl", "sleep"):
        (fakes / tool).write_text(FAKE_TOOL)
    for fake in fakes.iterdir():
        fake.chmod(0o755)
    (tmp_path / "runcmd").write_text(cloud_init_runcmd(config))
    env = {
        "PATH": str(fakes),
        "FAKE_LOG": str(tmp_path / "calls.log"),
        "FAKE_COUNT": str(tmp_path / "count"),
        "FAKE_FAILURES": str(failures),
    }
    result = subprocess.run(
        [shutil.which("sh") or "sh", str(tmp_path / "runcmd")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode, (tmp_path / "calls.log").read_text().splitlines()


APT_UPDATE = "apt-get -o DPkg::Lock::Timeout=300 update"
APT_INSTALL = "apt-get -o DPkg::Lock::Timeout=300 install -y docker.io docker-compose-v2"


def test_runcmd_retries_the_install_while_the_route_settles(
    config: dict[str, Any], tmp_path: Path
) -> None:
    status, calls = run_runcmd(config, tmp_path, failures=2)
    assert status == 0
    assert calls == [
        "install -d -m 0755 /opt/ticketing",
        "install -d -m 0700 /opt/ticketing/env",
        "systemctl daemon-reload",
        "systemctl enable ticketing-compose.service",
        *[APT_UPDATE, APT_INSTALL, f"sleep {host_packages.BOOT_INSTALL_PAUSE_SECONDS}"] * 2,
        APT_UPDATE,
        APT_INSTALL,
        "systemctl enable --now docker.service",
    ]


def test_runcmd_gives_up_after_a_bounded_number_of_attempts(
    config: dict[str, Any], tmp_path: Path
) -> None:
    status, calls = run_runcmd(config, tmp_path, failures=1_000)
    assert status == 1
    assert calls.count(APT_INSTALL) == host_packages.BOOT_INSTALL_ATTEMPTS
    assert calls.count(f"sleep {host_packages.BOOT_INSTALL_PAUSE_SECONDS}") == (
        host_packages.BOOT_INSTALL_ATTEMPTS - 1
    )
    # The compose unit is enabled already; Docker is left to the apply document.
    assert "systemctl enable ticketing-compose.service" in calls
    assert "systemctl enable --now docker.service" not in calls


def test_docker_daemon_carves_networks_from_the_pool_and_rotates_logs(
    config: dict[str, Any],
) -> None:
    daemon = json.loads(written(config, "/etc/docker/daemon.json"))
    assert daemon["default-address-pools"] == [{"base": POOL, "size": 24}]
    assert daemon["log-driver"] == "json-file"
    assert daemon["log-opts"] == {"max-size": "10m", "max-file": "3"}


def test_pool_comes_from_the_input() -> None:
    config = yaml.safe_load(user_data.render_user_data("10.250.0.0/20", VOLUME))
    daemon = json.loads(written(config, "/etc/docker/daemon.json"))
    assert daemon["default-address-pools"][0]["base"] == "10.250.0.0/20"


@pytest.mark.parametrize("pool", ["172.28.0.0/25", "172.28.0.1/16", "not-a-cidr", "fd00::/64"])
def test_unusable_pools_are_refused(pool: str) -> None:
    with pytest.raises(ValueError):
        user_data.render_user_data(pool, VOLUME)


def test_compose_unit_brings_the_project_up_and_down(config: dict[str, Any]) -> None:
    unit = unit_file(config)
    compose = "/usr/bin/docker compose -f /opt/ticketing/compose.yaml"
    assert unit["Service"]["ExecStart"] == f"{compose} up -d --remove-orphans"
    assert unit["Service"]["ExecStop"] == f"{compose} down"
    assert unit["Service"]["Type"] == "oneshot"
    assert unit["Unit"]["Requires"] == "docker.service"
    assert unit["Unit"]["ConditionPathExists"] == "/opt/ticketing/compose.yaml"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_compose_unit_passes_systemd_analyze_verify(config: dict[str, Any], tmp_path: Path) -> None:
    # A throwaway root with the distribution's units, a docker.service and a docker binary.
    shutil.copytree("/usr/lib/systemd/system", tmp_path / "usr/lib/systemd/system", symlinks=True)
    units = tmp_path / "etc/systemd/system"
    units.mkdir(parents=True)
    (units / "docker.service").write_text("[Service]\nExecStart=/usr/bin/docker\n")
    (units / user_data.COMPOSE_UNIT).write_text(
        written(config, f"/etc/systemd/system/{user_data.COMPOSE_UNIT}")
    )
    docker = tmp_path / "usr/bin/docker"
    docker.parent.mkdir(parents=True)
    docker.write_text("#!/bin/sh\n")
    docker.chmod(0o755)
    result = subprocess.run(
        [
            *("systemd-analyze", "verify", f"--root={tmp_path}", "--man=no", "--generators=no"),
            f"/etc/systemd/system/{user_data.COMPOSE_UNIT}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    # Unknown keys and bad values are only warnings: any output is a failure.
    assert (result.returncode, result.stderr, result.stdout) == (0, "", "")


def test_enables_docker_and_the_compose_unit(config: dict[str, Any]) -> None:
    assert ["systemctl", "enable", "--now", "docker.service"] in config["runcmd"]
    assert ["systemctl", "enable", "ticketing-compose.service"] in config["runcmd"]
    assert ["install", "-d", "-m", "0700", "/opt/ticketing/env"] in config["runcmd"]


# --- what it must never carry ----------------------------------------------------------


def test_carries_no_image_reference(text: str) -> None:
    defaults = BackingImages()
    for image in (defaults.redis, defaults.rabbitmq):
        assert image.split(":")[0] not in text
    assert "image" not in text.lower()
    assert not re.search(r"docker (pull|run|create)", text)
    # Nothing shaped like repository:tag, other than the pool's CIDR and unit key=values.
    assert not re.search(r"\b[a-z0-9.-]+/[a-z0-9._/-]+:[\w.-]+\b", text)


def test_carries_no_secret_and_no_environment_state(text: str) -> None:
    lowered = text.lower()
    for word in ("password", "secret", "token", "ticketing/dev", "arn:aws"):
        assert word not in lowered, word
