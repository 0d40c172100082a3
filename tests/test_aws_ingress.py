"""Ingress under the mock engine: static IPs, security groups, the ALB, listeners, routes.

The stacks asserted on are built here (`built`, tests/factories.py) with each
environment's defaults: dev without static IPs, staging and prod behind the NLB. Only
the tests named for the committed stacks read those files, on purpose (every group of
the whole program).
"""

from __future__ import annotations

import ipaddress
import json
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from components.aws import access_logs
from components.edge.origin import ORIGIN_HEADER
from plan import engine, fakes
from plan.model import Plan, Resource, Secret
from plan.resource_types import (
    CERTIFICATE_VALIDATION,
    EIP,
    LISTENER,
    LOAD_BALANCER,
    SECURITY_GROUP,
    SUBNET,
    TARGET_GROUP,
)
from tests.factories import cloud_stack

INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"


@pytest.fixture(scope="module")
def dev_plan(built: Callable[..., Plan]) -> Plan:
    return built("dev")


@pytest.fixture(scope="module")
def prod_plan(built: Callable[..., Plan]) -> Plan:
    """A prod stack over three zones: the NLB gets three static IPs."""
    return built("prod", network={"cidr": "10.90.0.0/16", "azCount": 3})


def load_balancer(plan: Plan, kind: str) -> Resource:
    (lb,) = [r for r in plan.of_type(LOAD_BALANCER) if r.inputs["loadBalancerType"] == kind]
    return lb


def ingress_children(plan: Plan, type_: str) -> list[Resource]:
    """The Ingress's own resources of `type_` (the service stacks add target groups too)."""
    (ingress,) = plan.of_type("ticketing:aws:Ingress")
    return [r for r in plan.children(ingress.urn) if r.type == type_]


def group_id(plan: Plan, name: str) -> str:
    return next(r.id for r in plan.of_type(SECURITY_GROUP) if r.name == name)


def rules_of(plan: Plan, type_: str, group: str) -> list[Resource]:
    return [r for r in plan.of_type(type_) if r.inputs["securityGroupId"] == group]


def test_static_ips_put_one_elastic_ip_per_zone_on_the_nlb(prod_plan: Plan) -> None:
    nlb = load_balancer(prod_plan, "network")
    ingress_eips = {r.outputs["allocationId"] for r in prod_plan.of_type(EIP)}
    public_subnets = {
        r.id for r in prod_plan.of_type(SUBNET) if r.inputs["tags"]["tier"] == "public"
    }
    mappings = nlb.inputs["subnetMappings"]
    assert len(mappings) == 3
    assert {m["subnetId"] for m in mappings} == public_subnets
    assert {m["allocationId"] for m in mappings} <= ingress_eips
    assert nlb.inputs["internal"] is False
    assert nlb.inputs["enableCrossZoneLoadBalancing"] is True


def test_static_ips_are_exported(prod_plan: Plan) -> None:
    nlb = load_balancer(prod_plan, "network")
    eips = {r.outputs["allocationId"]: r.outputs["publicIp"] for r in prod_plan.of_type(EIP)}
    assert prod_plan.outputs["staticIps"] == [
        eips[m["allocationId"]] for m in nlb.inputs["subnetMappings"]
    ]


def test_nlb_forwards_each_port_to_an_alb_target_group_on_the_same_port(prod_plan: Plan) -> None:
    alb = load_balancer(prod_plan, "application")
    nlb = load_balancer(prod_plan, "network")
    groups = {r.outputs["arn"]: r for r in prod_plan.of_type(TARGET_GROUP)}
    alb_ports = {
        r.inputs["port"]
        for r in prod_plan.of_type(LISTENER)
        if r.inputs["loadBalancerArn"] == alb.outputs["arn"]
    }
    nlb_listeners = [
        r for r in prod_plan.of_type(LISTENER) if r.inputs["loadBalancerArn"] == nlb.outputs["arn"]
    ]
    assert {r.inputs["port"] for r in nlb_listeners} == alb_ports == {443.0, 80.0}
    for listener in nlb_listeners:
        assert listener.inputs["protocol"] == "TCP"
        group = groups[listener.inputs["defaultActions"][0]["targetGroupArn"]]
        assert group.inputs["targetType"] == "alb"
        assert group.inputs["protocol"] == "TCP"
        assert group.inputs["port"] == listener.inputs["port"]


def test_the_alb_is_the_nlb_target_once_its_listener_exists(prod_plan: Plan) -> None:
    alb = load_balancer(prod_plan, "application")
    attachments = ingress_children(prod_plan, "aws:lb/targetGroupAttachment:TargetGroupAttachment")
    alb_listeners = {
        r.inputs["port"]: r.urn
        for r in prod_plan.of_type(LISTENER)
        if r.inputs["loadBalancerArn"] == alb.outputs["arn"]
    }
    assert len(attachments) == 2
    for attachment in attachments:
        assert attachment.inputs["targetId"] == alb.outputs["arn"]
        assert alb_listeners[attachment.inputs["port"]] in attachment.depends_on


def test_nlb_group_admits_exactly_cloudflare_ranges_on_the_listener_ports(prod_plan: Plan) -> None:
    rules = rules_of(prod_plan, INGRESS_RULE, group_id(prod_plan, "ingress-nlb"))
    admitted = [(r.inputs["cidrIpv4"], r.inputs["fromPort"], r.inputs["toPort"]) for r in rules]
    expected = [(c, float(p), float(p)) for c in fakes.CLOUDFLARE_IPV4 for p in (443, 80)]
    assert sorted(admitted) == sorted(expected)
    assert all(r.inputs["ipProtocol"] == "tcp" for r in rules)


def test_behind_the_nlb_the_alb_admits_only_the_nlb_group(prod_plan: Plan) -> None:
    rules = rules_of(prod_plan, INGRESS_RULE, group_id(prod_plan, "ingress-alb"))
    nlb_group = group_id(prod_plan, "ingress-nlb")
    assert sorted(r.inputs["fromPort"] for r in rules) == [80.0, 443.0]
    assert all(r.inputs["referencedSecurityGroupId"] == nlb_group for r in rules)
    assert all("cidrIpv4" not in r.inputs and "cidrIpv6" not in r.inputs for r in rules)


def test_nlb_egress_goes_only_to_the_alb_group(prod_plan: Plan) -> None:
    rules = rules_of(prod_plan, EGRESS_RULE, group_id(prod_plan, "ingress-nlb"))
    alb_group = group_id(prod_plan, "ingress-alb")
    assert sorted(r.inputs["fromPort"] for r in rules) == [80.0, 443.0]
    assert all(r.inputs["referencedSecurityGroupId"] == alb_group for r in rules)


def test_without_static_ips_the_alb_admits_cloudflare_ranges(dev_plan: Plan) -> None:
    rules = rules_of(dev_plan, INGRESS_RULE, group_id(dev_plan, "ingress-alb"))
    admitted = sorted((r.inputs["cidrIpv4"], r.inputs["fromPort"]) for r in rules)
    assert admitted == sorted((c, float(p)) for c in fakes.CLOUDFLARE_IPV4 for p in (443, 80))


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_no_group_of_a_committed_stack_admits_the_whole_internet(
    plan_of: Callable[[str], Plan], stack: str
) -> None:
    plan = plan_of(stack)
    sources = [
        r.inputs.get("cidrIpv4") or r.inputs.get("cidrIpv6") for r in plan.of_type(INGRESS_RULE)
    ]
    for rule in plan.of_type("aws:ec2/securityGroupRule:SecurityGroupRule"):
        if rule.inputs.get("type") == "ingress":
            sources += rule.inputs.get("cidrBlocks", []) + rule.inputs.get("ipv6CidrBlocks", [])
    inline = [
        *plan.of_type(SECURITY_GROUP),
        *plan.of_type("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"),
    ]
    for group in inline:
        for rule in group.inputs.get("ingress", []):
            sources += rule.get("cidrBlocks", []) + rule.get("ipv6CidrBlocks", [])
    assert sources, "expected some ingress to check"
    for cidr in filter(None, sources):
        assert ipaddress.ip_network(cidr).prefixlen > 0, cidr


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_group_and_rule_of_a_committed_stack_has_a_description(
    plan_of: Callable[[str], Plan], stack: str
) -> None:
    plan = plan_of(stack)
    described = (
        plan.of_type(SECURITY_GROUP) + plan.of_type(INGRESS_RULE) + plan.of_type(EGRESS_RULE)
    )
    assert described
    assert all(r.inputs.get("description", "").strip() for r in described)


def test_behind_the_nlb_the_alb_is_internal_in_private_subnets(prod_plan: Plan) -> None:
    alb = load_balancer(prod_plan, "application")
    private = {r.id for r in prod_plan.of_type(SUBNET) if r.inputs["tags"]["tier"] == "private"}
    assert alb.inputs["internal"] is True
    assert set(alb.inputs["subnets"]) == private


def test_without_static_ips_the_alb_faces_the_internet_from_public_subnets(dev_plan: Plan) -> None:
    alb = load_balancer(dev_plan, "application")
    public = {r.id for r in dev_plan.of_type(SUBNET) if r.inputs["tags"]["tier"] == "public"}
    assert alb.inputs["internal"] is False
    assert set(alb.inputs["subnets"]) == public
    assert [
        r for r in dev_plan.of_type(LOAD_BALANCER) if r.inputs["loadBalancerType"] == "network"
    ] == []
    assert dev_plan.outputs["staticIps"] == []


def test_alb_drops_invalid_headers(dev_plan: Plan, prod_plan: Plan) -> None:
    for plan in (dev_plan, prod_plan):
        assert load_balancer(plan, "application").inputs["dropInvalidHeaderFields"] is True


def test_deletion_protection_outside_dev_only(dev_plan: Plan, prod_plan: Plan) -> None:
    dev_lbs = ingress_children(dev_plan, LOAD_BALANCER)
    prod_lbs = ingress_children(prod_plan, LOAD_BALANCER)
    assert [r.inputs["enableDeletionProtection"] for r in dev_lbs] == [False]
    assert [r.inputs["enableDeletionProtection"] for r in prod_lbs] == [True, True]


def test_https_listener_serves_the_validated_certificate(prod_plan: Plan) -> None:
    https = prod_plan.named("ingress-https")
    validation = prod_plan.of_type(CERTIFICATE_VALIDATION)[0]
    assert https.inputs["certificateArn"] == validation.outputs["certificateArn"]
    # The ARN flows from the validation, so the listener waits for it without a depends_on.
    assert validation.urn in https.property_dependencies["certificateArn"]
    assert validation.urn in https.dependencies
    assert validation.urn not in https.depends_on
    assert https.inputs["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"


def test_https_listener_answers_403_by_default(prod_plan: Plan) -> None:
    (action,) = prod_plan.named("ingress-https").inputs["defaultActions"]
    assert action["type"] == "fixed-response"
    assert action["fixedResponse"]["statusCode"] == "403"


def test_http_listener_only_redirects_to_https(prod_plan: Plan) -> None:
    (action,) = prod_plan.named("ingress-http").inputs["defaultActions"]
    assert action["type"] == "redirect"
    assert action["redirect"] == {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}


def test_exports_point_at_the_alb(dev_plan: Plan) -> None:
    alb = load_balancer(dev_plan, "application")
    assert dev_plan.outputs["albDnsName"] == alb.outputs["dnsName"]


# --- routes: the real program plus one route, as the service stacks will add them -----------

ROUTE_PROGRAM = """
import runpy
from components.aws.ingress import Ingress
program = runpy.run_path({main!r}, run_name="__main__")
stack = program["stack"]
(ingress,) = [b for b in program["boundaries"] if isinstance(b, Ingress)]
ingress.add_route(
    "test-route",
    host=stack.api_host,
    path_patterns=["/payments", "/payments/*"],
    target_group_arn="arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/t/1",
    priority=999,
)
{extra}
"""


def capture_with_route(tmp_path: Path, stack: str, extra: str = "") -> Plan:
    (tmp_path / "Pulumi.yaml").symlink_to(engine.PROJECT_DIR / "Pulumi.yaml")
    main = str(engine.PROJECT_DIR / "__main__.py")
    (tmp_path / "__main__.py").write_text(
        ROUTE_PROGRAM.format(main=main, extra=textwrap.dedent(extra))
    )
    return engine.capture(stack, project_dir=tmp_path, stack_file=cloud_stack(stack))


@pytest.fixture(scope="module")
def routed(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    return capture_with_route(tmp_path_factory.mktemp("routed"), "prod")


def test_every_route_requires_the_origin_header_and_a_public_host(routed: Plan) -> None:
    rules = routed.of_type(LISTENER_RULE)
    hosts = set(routed.outputs["publicHostnames"].values())
    assert rules
    for rule in rules:
        conditions = rule.inputs["conditions"]
        if isinstance(conditions, Secret):
            conditions = conditions.value
        headers = [c["httpHeader"] for c in conditions if "httpHeader" in c]
        assert [h["httpHeaderName"] for h in headers] == [ORIGIN_HEADER]
        (host_condition,) = [c["hostHeader"]["values"] for c in conditions if "hostHeader" in c]
        assert len(host_condition) == 1 and host_condition[0] in hosts


def test_a_route_forwards_host_and_paths_on_the_https_listener(routed: Plan) -> None:
    rule = routed.named("test-route")
    conditions = rule.inputs["conditions"]
    conditions = conditions.value if isinstance(conditions, Secret) else conditions
    paths = [c["pathPattern"]["values"] for c in conditions if "pathPattern" in c]
    assert rule.inputs["listenerArn"] == routed.named("ingress-https").outputs["arn"]
    assert rule.inputs["priority"] == 999.0
    assert paths == [["/payments", "/payments/*"]]
    assert rule.inputs["actions"][0]["type"] == "forward"


def test_edge_header_and_alb_condition_carry_the_same_secret(routed: Plan) -> None:
    lock = routed.named("edge-origin-lock").inputs["rules"]
    route = routed.named("test-route").inputs["conditions"]
    assert isinstance(lock, Secret) and isinstance(route, Secret)
    (header,) = [r["actionParameters"]["headers"][ORIGIN_HEADER] for r in lock.value]
    (condition,) = [c["httpHeader"] for c in route.value if "httpHeader" in c]
    assert header["operation"] == "set"
    secret = routed.named("ingress-origin-secret").outputs["result"]
    other = routed.named("ingress-origin-secret-b").outputs["result"]
    assert isinstance(secret, Secret) and isinstance(other, Secret)
    assert header["value"] == secret.value  # slot a is sent by default
    assert condition["values"] == [secret.value, other.value]  # both slots are accepted


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ('host="evil.example.org"', "not a public hostname"),
        ("priority=999", "already used by test-route"),
        ('path_patterns=["/a", "/b", "/c"]', "at most 2 path patterns"),
    ],
)
def test_add_route_refuses_what_would_break_the_listener(
    tmp_path: Path, change: str, message: str
) -> None:
    args = {
        "host": "stack.api_host",
        "path_patterns": "None",
        "target_group_arn": '"arn:tg"',
        "priority": "500",
    }
    key = change.split("=", 1)[0]
    args[key] = change.split("=", 1)[1]
    extra = "ingress.add_route('bad', " + ", ".join(f"{k}={v}" for k, v in args.items()) + ")"
    with pytest.raises(Exception, match=message):
        capture_with_route(tmp_path, "dev", extra)


# --- idle timeouts and access logs ---------------------------------------------------------

# Cloudflare's "Proxy Idle Timeout" to the origin (Cloudflare's connection-limits reference).
CLOUDFLARE_PROXY_IDLE_SECONDS = 900
BUCKET = "aws:s3/bucket:Bucket"


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_the_origin_keeps_idle_connections_longer_than_cloudflare(
    built: Callable[..., Plan], stack: str
) -> None:
    plan = built(stack)
    alb = load_balancer(plan, "application")
    # ALB idle timeout: 1-4000 s (ModifyLoadBalancerAttributes, idle_timeout.timeout_seconds).
    assert CLOUDFLARE_PROXY_IDLE_SECONDS < alb.inputs["idleTimeout"] <= 4000
    tcp = [r for r in plan.of_type(LISTENER) if r.inputs["protocol"] == "TCP"]
    assert len(tcp) == (0 if stack == "dev" else 2)
    for listener in tcp:
        # NLB TCP listeners: 60-6000 s (ModifyListenerAttributes, tcp.idle_timeout.seconds).
        assert CLOUDFLARE_PROXY_IDLE_SECONDS < listener.inputs["tcpIdleTimeoutSeconds"] <= 6000


def access_log_parts(plan: Plan) -> dict[str, Resource]:
    (component,) = plan.of_type("ticketing:aws:AccessLogBucket")
    return {r.type.split(":")[-1]: r for r in plan.children(component.urn)}


@pytest.mark.parametrize(("stack", "days"), [("staging", 30), ("prod", 90)])
def test_the_alb_writes_access_logs_to_a_private_encrypted_expiring_bucket(
    built: Callable[..., Plan], stack: str, days: int
) -> None:
    plan = built(stack)
    parts = access_log_parts(plan)
    bucket = parts["Bucket"]
    alb = load_balancer(plan, "application")
    assert alb.inputs["accessLogs"] == {
        "bucket": bucket.id,
        "prefix": "alb",
        "enabled": True,
    }
    # ELB checks its write permission when logging is enabled: the ALB waits for the policy.
    assert parts["BucketPolicy"].urn in alb.depends_on
    block = parts["BucketPublicAccessBlock"].inputs
    assert all(
        block[k] is True
        for k in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    )
    (rule,) = parts["BucketServerSideEncryptionConfiguration"].inputs["rules"]
    # SSE-S3: ALB access logs cannot be delivered to a bucket encrypted with a customer key.
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
    (expiry,) = parts["BucketLifecycleConfiguration"].inputs["rules"]
    assert (expiry["status"], expiry["expiration"]["days"]) == ("Enabled", days)
    assert parts["BucketOwnershipControls"].inputs["rule"] == {
        "objectOwnership": "BucketOwnerEnforced"
    }


def test_only_the_regions_elb_account_may_write_and_only_over_tls(prod_plan: Plan) -> None:
    policy = json.loads(access_log_parts(prod_plan)["BucketPolicy"].inputs["policy"])
    write, tls = policy["Statement"]
    # eu-west-1 opened before August 2022: its ELB account writes the logs.
    assert write["Principal"] == {"AWS": "arn:aws:iam::156460612806:root"}
    assert (write["Effect"], write["Action"]) == ("Allow", "s3:PutObject")
    assert write["Resource"].endswith(f"/alb/AWSLogs/{fakes.ACCOUNT_ID}/*")
    assert (tls["Effect"], tls["Condition"]) == (
        "Deny",
        {"Bool": {"aws:SecureTransport": "false"}},
    )


def test_a_region_opened_since_august_2022_grants_the_log_delivery_service() -> None:
    assert access_logs.log_writer("eu-central-2") == {
        "Service": "logdelivery.elasticloadbalancing.amazonaws.com"
    }


def test_dev_writes_no_access_logs(dev_plan: Plan) -> None:
    assert "accessLogs" not in load_balancer(dev_plan, "application").inputs
    assert dev_plan.of_type("ticketing:aws:AccessLogBucket") == []


@pytest.mark.real_engine
def test_an_s3_api_accepts_the_bucket_as_rendered(prod_plan: Plan) -> None:
    """moto's S3 (AWS's API, emulated) takes the policy, encryption and lifecycle documents."""
    import boto3
    from moto import mock_aws

    parts = access_log_parts(prod_plan)
    (rule,) = parts["BucketLifecycleConfiguration"].inputs["rules"]
    NAME = "ticketing-prod-access-logs"  # noqa: N806
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(Bucket=NAME, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        s3.put_bucket_policy(
            Bucket=NAME,
            Policy=access_logs.bucket_policy(f"arn:aws:s3:::{NAME}", fakes.ACCOUNT_ID, "eu-west-1"),
        )
        s3.put_bucket_encryption(
            Bucket=NAME,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
        )
        s3.put_bucket_lifecycle_configuration(
            Bucket=NAME,
            LifecycleConfiguration={
                "Rules": [
                    {
                        "ID": rule["id"],
                        "Status": rule["status"],
                        "Filter": {"Prefix": rule["filter"]["prefix"]},
                        # The engine carries numbers as floats; the API takes integers.
                        "Expiration": {"Days": int(rule["expiration"]["days"])},
                        "AbortIncompleteMultipartUpload": {
                            "DaysAfterInitiation": int(
                                rule["abortIncompleteMultipartUpload"]["daysAfterInitiation"]
                            )
                        },
                    }
                ]
            },
        )
        stored = s3.get_bucket_lifecycle_configuration(Bucket=NAME)["Rules"]
        assert stored[0]["Expiration"] == {"Days": 90}
