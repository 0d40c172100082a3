"""Architecture rules over a whole stack, built from the catalog as the program lays it out."""

from __future__ import annotations

import base64
import gzip
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from policies.rules import architecture
from seed import naming
from seed.catalog import SERVICES, WEB_CLIENTS, Backing, DomainService, service
from tests.policy_helpers import UNKNOWN, StackResource, aws_provider, run_stack_rule

ENV = "prod"
SSM = architecture.SSM_PARAMETER


def credential(svc: DomainService, key: str) -> str:
    password = f"{svc.name}-{key}-Zq81x"
    values = {
        naming.DATABASE_URL: (
            f"postgresql://{svc.role}:{password}@shared.rds.internal:5432/{svc.database}"
            "?sslmode=verify-full&sslrootcert=/etc/ticketing/rds-ca-bundle.pem"
        ),
        naming.REDIS_URL: f"redis://:{password}@{naming.redis_container(svc.name)}:6379/0",
        naming.AMQP_URL: f"amqp://{svc.name}:{password}@{naming.rabbitmq_container(svc.name)}:5672/",
        naming.RABBITMQ_DEFINITIONS: '{"users": [], "vhosts": []}',
        architecture.DATABASE_NAME: svc.database,
    }
    return values.get(key, password)


def parameter(svc: str, key: str, value: Any, type_: str = "SecureString") -> StackResource:
    return StackResource(
        SSM,
        f"{svc}-{key}",
        {"name": naming.ssm_service_parameter(ENV, svc, key), "type": type_, "value": value},
    )


def service_parameters(
    value: Callable[[DomainService, str], Any] = credential,
) -> list[StackResource]:
    resources: list[StackResource] = []
    for svc in SERVICES:
        for key in sorted(architecture.expected_keys(svc)):
            type_ = "String" if key == architecture.DATABASE_NAME else "SecureString"
            resources.append(parameter(svc.name, key, value(svc, key), type_))
    return resources


def compose_services() -> dict[str, Any]:
    services: dict[str, Any] = {}
    for svc in SERVICES:
        backing = naming.backing_network(svc.name)
        services[svc.name] = {
            "container_name": svc.name,
            "image": f"ghcr.io/example-tickets/{svc.name}-api:1.0.0",
            "networks": [backing, naming.INGRESS_NETWORK],
        }
        if svc.uses(Backing.REDIS):
            name = naming.redis_container(svc.name)
            services[name] = {
                "container_name": name,
                "image": "redis:7.4.1-alpine",
                "networks": [backing],
            }
        if svc.uses(Backing.RABBITMQ):
            name = naming.rabbitmq_container(svc.name)
            services[name] = {
                "container_name": name,
                "image": "rabbitmq:3.13.7-alpine",
                "networks": {backing: None},
            }
    for client in WEB_CLIENTS:
        services[client.name] = {
            "image": f"ghcr.io/example-tickets/{client.name}:1.0.0",
            "networks": [naming.INGRESS_NETWORK],
        }
    return services


def compose(services: dict[str, Any] | None = None, value: Any = None) -> StackResource:
    document = yaml.safe_dump({"name": "ticketing", "services": services or compose_services()})
    return StackResource(
        SSM,
        "app-compose",
        {
            "name": f"{naming.ssm_host_path(ENV, 'app')}/compose",
            "type": "String",
            "value": document if value is None else value,
        },
    )


def cloud_stack(**replace: StackResource | None) -> list[StackResource]:
    """A compliant stack; `replace` swaps (or drops, with None) resources by name."""
    resources = [*service_parameters(), compose()]
    swapped = [replace.get(r.name, r) if r.name in replace else r for r in resources]
    return [r for r in swapped if r is not None]


def without(services: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in services.items() if k not in names}


# --- the catalog's table -------------------------------------------------------------------------


def test_catalog_stack_complies() -> None:
    assert run_stack_rule("service-backing-catalog", cloud_stack()).clean
    assert run_stack_rule("service-backing-isolation", cloud_stack()).clean


def test_venue_stack_is_out_of_scope() -> None:
    venue = [StackResource("docker:index/container:Container", "bastion", {"name": "bastion"})]
    outcome = run_stack_rule("service-backing-catalog", venue)
    assert outcome.not_applicable == "no domain services in this stack"


def test_missing_credentials_are_reported() -> None:
    stack = cloud_stack(**{f"ticketing-{naming.REDIS_PASSWORD}": None})
    outcome = run_stack_rule("service-backing-catalog", stack)
    assert outcome.messages == ["ticketing lacks its own redis-password parameters."]


def test_backing_service_the_seed_does_not_list() -> None:
    identity = service("identity")
    assert not identity.uses(Backing.RABBITMQ)
    extra = parameter("identity", naming.AMQP_URL, "amqp://identity:x@identity-rabbitmq:5672/")
    outcome = run_stack_rule("service-backing-catalog", [*cloud_stack(), extra])
    assert outcome.violations == [
        (
            "identity has a amqp-url parameter, but the seed gives it no such backing service.",
            f"urn:pulumi:test::ticketing::{SSM}::identity-{naming.AMQP_URL}",
        )
    ]


def test_database_name_must_be_the_services_own() -> None:
    wrong = parameter("payments", architecture.DATABASE_NAME, "ticketing_db", "String")
    stack = cloud_stack(**{f"payments-{architecture.DATABASE_NAME}": wrong})
    assert run_stack_rule("service-backing-catalog", stack).mentions(
        "payments's database-name is 'ticketing_db', not its own payments_db"
    )


def test_parameters_for_unknown_services() -> None:
    stray = parameter("billing", naming.DATABASE_URL, "postgresql://x")
    assert run_stack_rule("service-backing-catalog", [*cloud_stack(), stray]).mentions(
        "'billing', which is not a service in the catalog"
    )


def test_compose_must_match_the_seed() -> None:
    services = without(compose_services(), "notifications-rabbitmq")
    services["identity-rabbitmq"] = {
        "image": "rabbitmq:3.13.7-alpine",
        "networks": ["identity-backing"],
    }
    outcome = run_stack_rule(
        "service-backing-catalog", cloud_stack(**{"app-compose": compose(services)})
    )
    assert sorted(outcome.messages) == [
        "compose lacks notifications-rabbitmq, but the seed says notifications has RabbitMQ.",
        "compose runs identity-rabbitmq, but the seed says identity has no RabbitMQ.",
    ]


def test_compose_must_run_every_service() -> None:
    services = without(compose_services(), "payments")
    outcome = run_stack_rule(
        "service-backing-catalog", cloud_stack(**{"app-compose": compose(services)})
    )
    assert outcome.messages == ["no compose container runs the payments service."]


def test_compose_stored_gzipped_and_base64_encoded() -> None:
    document = yaml.safe_dump({"services": without(compose_services(), "payments-redis")})
    packed = base64.b64encode(gzip.compress(document.encode())).decode()
    stack = cloud_stack(**{"app-compose": compose(value=packed)})
    assert run_stack_rule("service-backing-catalog", stack).messages == [
        "compose lacks payments-redis, but the seed says payments has Redis."
    ]
    assert architecture.compose_text(packed) == document


def test_compose_in_insecure_value_while_value_is_computed() -> None:
    # A String parameter written with insecure_value: the provider computes `value`.
    stored = compose()
    outputs = {**stored.outputs, "value": UNKNOWN, "insecureValue": stored.outputs["value"]}
    moved = StackResource(SSM, "app-compose", outputs)
    assert run_stack_rule("service-backing-catalog", cloud_stack(**{"app-compose": moved})).clean
    services = without(compose_services(), "identity-redis")
    broken = {**outputs, "insecureValue": compose(services).outputs["value"]}
    outcome = run_stack_rule(
        "service-backing-catalog",
        cloud_stack(**{"app-compose": StackResource(SSM, "app-compose", broken)}),
    )
    assert outcome.mentions("compose lacks identity-redis")


def test_compose_document_is_required_and_readable() -> None:
    missing = run_stack_rule("service-backing-catalog", cloud_stack(**{"app-compose": None}))
    assert missing.mentions("no compose document")
    broken = run_stack_rule(
        "service-backing-catalog", cloud_stack(**{"app-compose": compose(value="services: [")})
    )
    assert broken.mentions("the compose document is unreadable")
    not_gzip = base64.b64encode(b"\x1f\x8b truncated").decode()
    corrupt = run_stack_rule(
        "service-backing-catalog", cloud_stack(**{"app-compose": compose(value=not_gzip)})
    )
    assert corrupt.mentions("unreadable: not a valid gzip document")


def test_unknown_compose_and_values_do_not_crash() -> None:
    stack = [*service_parameters(lambda _svc, _key: UNKNOWN), compose(value=UNKNOWN)]
    assert run_stack_rule("service-backing-catalog", stack).clean
    assert run_stack_rule("service-backing-isolation", stack).clean


# --- nothing shared -------------------------------------------------------------------------------


def test_shared_database_is_reported() -> None:
    shared = parameter("payments", architecture.DATABASE_NAME, "ticketing_db", "String")
    stack = cloud_stack(**{f"payments-{architecture.DATABASE_NAME}": shared})
    assert run_stack_rule("service-backing-isolation", stack).mentions(
        "ticketing and payments share the database ticketing_db"
    )


def test_database_url_must_point_at_its_own_database_and_role() -> None:
    ticketing = service("ticketing")
    url = f"postgresql://{ticketing.role}:pw@db:5432/{ticketing.database}"
    stack = cloud_stack(
        **{f"payments-{naming.DATABASE_URL}": parameter("payments", naming.DATABASE_URL, url)}
    )
    outcome = run_stack_rule("service-backing-isolation", stack)
    assert outcome.mentions("payments's database-url points at database 'ticketing_db'")
    assert outcome.mentions("logs in as 'ticketing_app', not its own role payments_app")


def test_redis_url_must_point_at_its_own_container() -> None:
    url = "redis://:pw@ticketing-redis:6379/0"
    stack = cloud_stack(
        **{f"payments-{naming.REDIS_URL}": parameter("payments", naming.REDIS_URL, url)}
    )
    assert run_stack_rule("service-backing-isolation", stack).mentions(
        "payments's redis-url points at host 'ticketing-redis', not its own payments-redis"
    )


def test_shared_credentials_are_reported_without_the_secret() -> None:
    def same_password(svc: DomainService, key: str) -> Any:
        return "one-password-for-all" if key == naming.DATABASE_PASSWORD else credential(svc, key)

    outcome = run_stack_rule(
        "service-backing-isolation", [*service_parameters(same_password), compose()]
    )
    names = " and ".join(s.name for s in SERVICES)
    assert outcome.messages == [f"{names} share the same database-password value."]
    assert not outcome.mentions("one-password-for-all")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"ticketing-redis": {"networks": ["ticketing-backing", "payments-backing"]}},
            [
                "ticketing-redis joins payments-backing, ticketing-backing; it must be on "
                "ticketing-backing only.",
                "ticketing-redis joins payments-backing, which belongs to payments.",
            ],
        ),
        (
            {"payments": {"networks": ["payments-backing", "ticketing-backing", "ingress"]}},
            ["payments joins ticketing-backing, which belongs to ticketing."],
        ),
        (
            {"identity-redis": {"networks": None}},
            ["identity-redis joins default; it must be on identity-backing only."],
        ),
    ],
)
def test_compose_networks_isolate_backing_services(
    change: dict[str, dict[str, Any]], expected: list[str]
) -> None:
    services = compose_services()
    for name, spec in change.items():
        services[name] = {k: v for k, v in {**services[name], **spec}.items() if v is not None}
    outcome = run_stack_rule(
        "service-backing-isolation", cloud_stack(**{"app-compose": compose(services)})
    )
    assert outcome.messages == expected
    assert {urn for _, urn in outcome.violations} == {
        f"urn:pulumi:test::ticketing::{SSM}::app-compose"
    }


# --- stateful resources ---------------------------------------------------------------------------


def rds(protect: bool) -> StackResource:
    return StackResource(architecture.RDS_INSTANCE, "shared-db", {"engine": "postgres"}, protect)


def volume(protect: bool) -> StackResource:
    return StackResource(
        architecture.DOCKER_VOLUME, "bastion-data", {"name": "bastion-data"}, protect
    )


def test_stateful_resources_protected_outside_dev() -> None:
    rule = "stateful-resources-protected"
    prod = {"ticketing:environment": "prod"}
    assert run_stack_rule(rule, [rds(True), volume(True)], stack_config=prod).clean
    outcome = run_stack_rule(rule, [rds(False), volume(False)], stack_config=prod)
    assert outcome.violations == [
        (
            "RDS instance shared-db is not protected in environment prod "
            "(stack config ticketing:environment).",
            f"urn:pulumi:test::ticketing::{architecture.RDS_INSTANCE}::shared-db",
        ),
        (
            "volume bastion-data is not protected in environment prod "
            "(stack config ticketing:environment).",
            f"urn:pulumi:test::ticketing::{architecture.DOCKER_VOLUME}::bastion-data",
        ),
    ]


def test_a_volume_of_generated_files_needs_no_protection() -> None:
    rule = "stateful-resources-protected"
    prod = {"ticketing:environment": "prod"}

    def tls_files(value: str) -> StackResource:
        labels = [{"label": naming.GENERATED_VOLUME_LABEL, "value": value}]
        return StackResource(
            architecture.DOCKER_VOLUME, "tls-files", {"name": "tls-files", "labels": labels}
        )

    assert run_stack_rule(rule, [tls_files(naming.GENERATED_VOLUME_VALUE)], stack_config=prod).clean
    assert run_stack_rule(rule, [tls_files("data")], stack_config=prod).mentions(
        "volume tls-files is not protected"
    )


def test_stateful_resources_may_go_in_dev() -> None:
    outcome = run_stack_rule(
        "stateful-resources-protected", [rds(False)], stack_config={"ticketing:environment": "dev"}
    )
    assert outcome.violations == [] and outcome.not_applicable


def test_stateful_environment_from_venue_stack_name_and_provider_tag() -> None:
    rule = "stateful-resources-protected"
    venue = run_stack_rule(rule, [volume(False)], stack="venue-prod-arena")
    assert venue.mentions("prod (stack name)")
    assert run_stack_rule(rule, [volume(False)], stack="venue-dev-arena").not_applicable
    provider = aws_provider("dev")
    tagged = StackResource(provider.type, "aws", provider.inputs)
    assert run_stack_rule(rule, [tagged, rds(False)], stack="scratch").not_applicable
