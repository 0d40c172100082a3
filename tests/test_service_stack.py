"""ServiceBackingStack: exactly the seed's backing services per service, secrets kept secret."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from plan.model import Plan, Secret, has_secret, reveal
from plan.resource_types import LOG_GROUP, METRIC_ALARM, SSM_PARAMETER, TARGET_GROUP
from seed import catalog, naming
from tests.app_tier_helpers import compose_document, parameter, services_with, under

# The seed's backing-services table (PostgreSQL is RDS, the rest are containers).
SEED = {
    "ticketing": {"PostgreSQL", "Redis", "RabbitMQ"},
    "payments": {"PostgreSQL", "Redis", "RabbitMQ"},
    "identity": {"PostgreSQL", "Redis"},
    "notifications": {"PostgreSQL", "RabbitMQ"},
}
KEYS = {
    "PostgreSQL": {naming.DATABASE_URL, naming.DATABASE_PASSWORD, naming.DATABASE_NAME},
    "Redis": {naming.REDIS_URL, naming.REDIS_PASSWORD},
    "RabbitMQ": {naming.AMQP_URL, naming.RABBITMQ_PASSWORD, naming.RABBITMQ_DEFINITIONS},
}
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"


def service_parameters(plan: Plan, service: str) -> dict[str, dict[str, object]]:
    prefix = naming.ssm_service_path(plan.stack, service) + "/"
    return {
        str(r.inputs["name"]).removeprefix(prefix): dict(r.inputs)
        for r in under(plan, service, SSM_PARAMETER)
    }


def test_each_service_has_exactly_its_seed_parameters(dev_plan: Plan) -> None:
    for service, backing in SEED.items():
        expected = set().union(*(KEYS[b] for b in backing))
        assert set(service_parameters(dev_plan, service)) == expected, service


def test_catalog_matches_the_seed_table() -> None:
    assert {s.name: {str(b) for b in s.backing} for s in catalog.SERVICES} == SEED


def test_credentials_are_secure_strings_with_secret_values(dev_plan: Plan) -> None:
    for service in SEED:
        for key, inputs in service_parameters(dev_plan, service).items():
            if key == naming.DATABASE_NAME:
                assert inputs["type"] == "String" and inputs["insecureValue"] == f"{service}_db"
            else:
                assert inputs["type"] == "SecureString", key
                assert isinstance(inputs["value"], Secret), key


def test_passwords_are_random_and_url_safe(dev_plan: Plan) -> None:
    passwords = dev_plan.of_type("random:index/randomPassword:RandomPassword")
    ours = [p for p in passwords if p.name.endswith("-password") and "origin" not in p.name]
    assert len(ours) == sum(len(b - {"PostgreSQL"}) + 1 for b in SEED.values())
    assert all(p.inputs["special"] is False and p.inputs["length"] >= 32 for p in ours)
    assert all(isinstance(p.outputs["result"], Secret) for p in ours)


def test_database_url_verifies_the_server_and_names_the_services_own_database(
    dev_plan: Plan,
) -> None:
    url = parameter(dev_plan, "/ticketing/dev/services/payments/database-url").inputs["value"]
    assert isinstance(url, Secret)
    assert url.value.startswith("postgresql://payments_app:")
    assert url.value.endswith(
        ".rds.amazonaws.com:5432/payments_db"
        "?sslmode=verify-full&sslrootcert=/etc/ticketing/rds-ca-bundle.pem"
    )


def test_a_service_on_ecs_requires_tls_without_a_bundle_it_cannot_see(ecs_plan: Plan) -> None:
    url = parameter(ecs_plan, "/ticketing/dev/services/payments/database-url").inputs["value"]
    assert url.value.endswith("/payments_db?sslmode=require")
    hosted = parameter(ecs_plan, "/ticketing/dev/services/identity/database-url").inputs["value"]
    assert hosted.value.endswith(
        "?sslmode=verify-full&sslrootcert=/etc/ticketing/rds-ca-bundle.pem"
    )


def test_redis_and_amqp_urls_point_at_the_services_own_containers(dev_plan: Plan) -> None:
    redis = parameter(dev_plan, "/ticketing/dev/services/identity/redis-url").inputs["value"]
    amqp = parameter(dev_plan, "/ticketing/dev/services/ticketing/amqp-url").inputs["value"]
    assert redis.value.startswith("redis://default:")
    assert redis.value.endswith("@identity-redis:6379/0")
    assert amqp.value.startswith("amqp://ticketing:")
    assert amqp.value.endswith("@ticketing-rabbitmq:5672/ticketing")


def test_compose_runs_exactly_the_seeds_backing_containers(dev_plan: Plan) -> None:
    containers = set(compose_document(dev_plan)["services"])
    for service, backing in SEED.items():
        assert (naming.redis_container(service) in containers) == ("Redis" in backing)
        assert (naming.rabbitmq_container(service) in containers) == ("RabbitMQ" in backing)


def test_health_check_path_and_route_come_from_config(capture: Callable[..., Plan]) -> None:
    plan = capture("dev", services_with("payments", healthCheckPath="/ready", pathPrefix="/pay"))
    [group] = under(plan, "payments", TARGET_GROUP)
    assert group.inputs["healthCheck"]["path"] == "/ready"
    assert (group.inputs["targetType"], group.inputs["port"]) == ("instance", 8082.0)
    [rule] = under(plan, "payments", LISTENER_RULE)
    assert rule.inputs["priority"] == 110.0
    conditions = {k: v for c in reveal(rule.inputs["conditions"]) for k, v in c.items()}
    assert conditions["pathPattern"]["values"] == ["/pay", "/pay/*"]
    assert conditions["hostHeader"]["values"] == ["api.example-tickets-dev.com"]
    # The container's own health check probes the same path as the ALB.
    services = compose_document(plan)["services"]
    payments, identity = catalog.service("payments"), catalog.service("identity")
    probed = {n: services[n]["healthcheck"]["test"][-1] for n in ("payments", "identity")}
    assert probed["payments"] == f"http://127.0.0.1:{payments.port}/ready"
    assert probed["identity"] == f"http://127.0.0.1:{identity.port}{identity.health_check_path}"


def test_catalog_health_check_path_is_the_default(dev_plan: Plan) -> None:
    [group] = under(dev_plan, "identity", TARGET_GROUP)
    assert group.inputs["healthCheck"]["path"] == catalog.service("identity").health_check_path


def test_alarms_watch_5xx_unhealthy_hosts_and_p95(dev_plan: Plan) -> None:
    alarms = under(dev_plan, "notifications", METRIC_ALARM)
    by_metric = {a.inputs["metricName"]: a.inputs for a in alarms}
    assert set(by_metric) == {
        "HTTPCode_Target_5XX_Count",
        "UnHealthyHostCount",
        "TargetResponseTime",
    }
    assert by_metric["TargetResponseTime"]["extendedStatistic"] == "p95"
    assert all(set(a["dimensions"]) == {"LoadBalancer", "TargetGroup"} for a in by_metric.values())
    assert all(a["alarmActions"] for a in by_metric.values())


def test_logs_go_to_the_services_own_group_with_env_retention(dev_plan: Plan) -> None:
    [group] = under(dev_plan, "ticketing", LOG_GROUP)
    assert (group.inputs["name"], group.inputs["retentionInDays"]) == (
        "/ticketing/dev/ticketing",
        14.0,
    )
    logging = compose_document(dev_plan)["services"]["ticketing"]["logging"]
    assert logging["driver"] == "awslogs"
    assert logging["options"]["awslogs-group"] == "/ticketing/dev/ticketing"


def test_outputs_name_parameters_and_never_hold_a_secret(dev_plan: Plan) -> None:
    services = dev_plan.outputs["services"]
    assert not has_secret(services)
    payments = services["payments"]
    assert (payments["databaseName"], payments["roleName"]) == ("payments_db", "payments_app")
    assert payments["ssmParameters"][naming.DATABASE_URL] == (
        "/ticketing/dev/services/payments/database-url"
    )
    assert set(services) == set(SEED)


@pytest.mark.real_engine
def test_redis_cli_takes_the_rendered_url_and_refuses_an_empty_user(
    dev_plan: Plan, tmp_path: Path
) -> None:
    """Debian's redis-server 7 with the password the plan generated (`--requirepass`, as the
    compose document starts it) and redis-cli given the URL the plan stores, with its host
    pointed at this server: PONG. The `redis://:<password>@` form is refused (redis-cli
    sends AUTH with an empty user name)."""
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if not (server and cli):
        pytest.skip("redis-server and redis-cli are not installed (.ci/run installs them)")
    url = parameter(dev_plan, "/ticketing/dev/services/identity/redis-url").inputs["value"].value
    password = (
        parameter(dev_plan, "/ticketing/dev/services/identity/redis-password").inputs["value"].value
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--requirepass",
            password,
            "--save",
            "",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        local = url.replace("@identity-redis:6379/", f"@127.0.0.1:{port}/")

        def ping(target: str) -> str:
            for _ in range(50):
                result = subprocess.run(
                    [cli, "-u", target, "ping"], capture_output=True, text=True, check=False
                )
                if "Connection refused" not in result.stdout + result.stderr:
                    # stderr also carries redis-cli's warning about a password on its command line
                    return result.stdout.strip()
                time.sleep(0.1)
            return "no server"

        assert ping(local) == "PONG"
        empty_user = local.replace("redis://default:", "redis://:")
        refused = ping(empty_user)
        assert refused.startswith("AUTH failed") or "NOAUTH" in refused, refused
    finally:
        process.terminate()
        process.wait(timeout=10)
