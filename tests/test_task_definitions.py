"""The container definitions of a service on Fargate: pure rendering, the host's parity, sizes."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from components.aws import task_definitions as td
from components.host import compose, rabbitmq
from components.settings.fargate import FARGATE_TASK_SIZES, smallest_fargate_size
from seed import catalog, naming

TICKETING = catalog.service("ticketing")
IDENTITY = catalog.service("identity")


def spec(service: catalog.DomainService = TICKETING, **changes: object) -> td.FargateServiceSpec:
    fields: dict[str, object] = {
        "service": service,
        "environment": "dev",
        "region": "eu-west-1",
        "image": f"ghcr.io/example-tickets/{service.name}-api:1.0.0",
        "log_group": f"/ticketing/dev/{service.name}",
        "api_size": td.TaskSize(512, 1024),
        "health_check_path": service.health_check_path,
        "redis_image": "redis:7.4.1-alpine",
        "rabbitmq_image": "rabbitmq:3.13.7-alpine",
        "venues": ("arena",) if service.name == naming.VENUE_SYNC_SERVICE else (),
    }
    fields.update(changes)
    return td.FargateServiceSpec(**fields)  # type: ignore[arg-type]


def host_spec(service: catalog.DomainService) -> compose.HostSpec:
    return compose.HostSpec(
        name="shared",
        region="eu-west-1",
        services=(
            compose.ServiceSpec(
                service=service,
                image=f"ghcr.io/example-tickets/{service.name}-api:1.0.0",
                host_port=8081,
                log_group=f"/ticketing/dev/{service.name}",
            ),
        ),
        web_clients=(),
        redis_image="redis:7.4.1-alpine",
        rabbitmq_image="rabbitmq:3.13.7-alpine",
    )


def test_tasks_follow_the_catalog() -> None:
    assert spec(TICKETING).tasks == ("api", "redis", "rabbitmq")
    assert spec(IDENTITY).tasks == ("api", "redis")
    assert spec(catalog.service("notifications")).tasks == ("api", "rabbitmq")
    with pytest.raises(ValueError, match="identity has no rabbitmq task"):
        td.render_containers(spec(IDENTITY), "rabbitmq")


def test_api_secrets_are_the_host_env_files_variables_from_the_same_parameters() -> None:
    secrets = spec().secrets("api")
    assert secrets == {
        "DATABASE_URL": "/ticketing/dev/services/ticketing/database-url",
        "REDIS_URL": "/ticketing/dev/services/ticketing/redis-url",
        "AMQP_URL": "/ticketing/dev/services/ticketing/amqp-url",
        "VENUE_SYNC_CREDENTIAL_ARENA": naming.ssm_venue_credential("dev", "arena"),
    }
    assert spec().secrets("redis") == {
        "REDIS_PASSWORD": "/ticketing/dev/services/ticketing/redis-password"
    }
    assert spec().secrets("rabbitmq") == {
        "RABBITMQ_DEFINITIONS": "/ticketing/dev/services/ticketing/rabbitmq-definitions"
    }
    assert "VENUE_SYNC_CREDENTIAL_ARENA" not in spec(IDENTITY).secrets("api")


def test_api_container_is_read_only_unprivileged_and_probed_like_on_the_host() -> None:
    [container] = td.render_containers(spec(), "api")
    assert container["readonlyRootFilesystem"] is True
    assert container["linuxParameters"]["tmpfs"] == [
        {"containerPath": "/tmp", "size": 64, "mountOptions": ["rw", "noexec", "nosuid"]}
    ]
    on_host = compose.render_compose(host_spec(TICKETING))["services"]["ticketing"]
    assert on_host["tmpfs"] == ["/tmp"] and on_host["read_only"] is True
    assert container["user"] == td.API_USER and not container["user"].startswith("0")
    assert container["linuxParameters"]["capabilities"] == {"drop": ["ALL"]}
    assert container["portMappings"] == [{"containerPort": 8080, "protocol": "tcp"}]
    on_host = compose.render_compose(host_spec(TICKETING))["services"]["ticketing"]
    assert container["healthCheck"]["command"] == on_host["healthcheck"]["test"]
    assert container["environment"] == []


def test_redis_runs_the_hosts_command_with_the_password_from_its_secret() -> None:
    [container] = td.render_containers(spec(), "redis")
    on_host = compose.render_compose(host_spec(TICKETING))["services"]["ticketing-redis"]
    # Compose reads `$$` as a literal `$`; ECS passes the command as it is.
    assert container["command"] == [part.replace("$$", "$") for part in on_host["command"]]
    assert container["healthCheck"]["command"] == [
        part.replace("$$", "$") for part in on_host["healthcheck"]["test"]
    ]
    assert container["user"] == on_host["user"] == "redis"
    assert container["readonlyRootFilesystem"] is True


def test_rabbitmq_has_a_fixed_node_name_and_its_data_on_the_volume() -> None:
    [container] = td.render_containers(spec(), "rabbitmq")
    assert {"name": "RABBITMQ_NODENAME", "value": td.RABBITMQ_NODENAME} in container["environment"]
    assert container["mountPoints"][0]["sourceVolume"] == td.RABBITMQ_DATA_VOLUME
    assert container["readonlyRootFilesystem"] is False
    assert container["dockerLabels"][naming.WRITABLE_ROOT_LABEL]
    assert container["user"] == "100:101"
    debian = spec(rabbitmq_image="rabbitmq:3.13.7-management")
    assert debian.rabbitmq_ids == (999, 999)


FAKE_SERVER = """#!/bin/sh
printf '%s' "${RABBITMQ_DEFINITIONS-unset}" > "$OUT/env-after-start"
"""


def test_rabbitmq_boot_script_writes_definitions_and_config_then_starts(tmp_path: Path) -> None:
    """The boot script, run by a real `sh`, with the broker replaced by a recorder."""
    etc = tmp_path / "etc"
    (etc / "conf.d").mkdir(parents=True)
    binary = tmp_path / "bin" / "rabbitmq-server"
    binary.parent.mkdir()
    binary.write_text(FAKE_SERVER)
    binary.chmod(0o755)
    script = td.rabbitmq_boot_script().replace("/etc/rabbitmq", str(etc))
    definitions = json.dumps(rabbitmq.render_definitions("ticketing", "pw", "ticketing", b"salt"))
    env = {
        "PATH": f"{binary.parent}:/usr/bin:/bin",
        "RABBITMQ_DEFINITIONS": definitions,
        "OUT": str(tmp_path),
    }
    sh = shutil.which("sh") or "sh"
    result = subprocess.run([sh, "-c", script], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    written = etc / "definitions.json"
    assert written.read_text() == definitions
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    config = (etc / "conf.d" / "20-definitions.conf").read_text()
    # The host's boot config, pointing at the file just written (both moved under tmp_path).
    assert config == rabbitmq.BOOT_CONFIG.replace("/etc/rabbitmq", str(etc))
    assert f"definitions.local.path = {written}" in config
    # The broker starts without the secret in its environment.
    assert (tmp_path / "env-after-start").read_text() == "unset"


def test_logs_go_to_the_services_group_with_a_stream_prefix() -> None:
    for task in spec().tasks:
        [container] = td.render_containers(spec(), task)
        options = container["logConfiguration"]["options"]
        assert container["logConfiguration"]["logDriver"] == "awslogs"
        assert options["awslogs-group"] == "/ticketing/dev/ticketing"
        assert options["awslogs-stream-prefix"] == td.LOG_STREAM_PREFIX


def test_backing_tasks_are_the_smallest_fargate_size_that_fits() -> None:
    assert spec().size("redis") == td.TaskSize(256, 512)  # 64 MiB maxmemory + 64 headroom
    assert spec(redis_max_memory_mb=1024).size("redis") == td.TaskSize(256, 2048)
    assert spec(redis_max_memory_mb=4096).size("redis") == td.TaskSize(1024, 5120)
    assert spec().size("rabbitmq") == td.TaskSize(256, 1024)
    assert spec().size("api") == td.TaskSize(512, 1024)


def test_fargate_sizes_are_the_documented_table() -> None:
    assert FARGATE_TASK_SIZES[256] == (512, 1024, 2048)
    assert FARGATE_TASK_SIZES[512] == (1024, 2048, 3072, 4096)
    assert FARGATE_TASK_SIZES[4096][-1] == 30 * 1024
    assert FARGATE_TASK_SIZES[8192][:2] == (16 * 1024, 20 * 1024)
    assert FARGATE_TASK_SIZES[16384][-1] == 120 * 1024
    assert smallest_fargate_size(513) == (256, 1024)
    with pytest.raises(ValueError):
        td.TaskSize(256, 4096)


def test_families_and_names() -> None:
    assert spec().family("api") == "ticketing-dev-ticketing-api"
    assert td.container_name(TICKETING, "redis") == naming.redis_container("ticketing")
    assert td.container_name(TICKETING, "api") == "ticketing"
