"""The offline evaluator: the pack run on a plan exactly as the analyzer would run it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi.runtime
import pytest
from pulumi_policy import (
    EnforcementLevel,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError
from rich.console import Console

from plan import policy
from plan.model import Plan, Resource, Secret
from plan.resource_types import RDS_INSTANCE
from policies.pack import POLICIES
from tests.policy_helpers import UNKNOWN

STACK = "test"
PROJECT = "ticketing"
ROOT = f"urn:pulumi:{STACK}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{STACK}"
AWS_PROVIDER_URN = f"urn:pulumi:{STACK}::{PROJECT}::pulumi:providers:aws::aws"
EC2_TYPE = "aws:ec2/instance:Instance"

GOOD_EC2: dict[str, Any] = {
    "instanceType": "t3.medium",
    "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1},
    "rootBlockDevice": {"encrypted": True},
    "associatePublicIpAddress": False,
    "iamInstanceProfile": "app-host",
}


def resource(
    type_: str,
    name: str,
    inputs: dict[str, Any] | None = None,
    outputs: dict[str, Any] | None = None,
    **options: Any,
) -> Resource:
    inputs = inputs or {}
    return Resource(
        urn=f"urn:pulumi:{STACK}::{PROJECT}::{type_}::{name}",
        type=type_,
        name=name,
        custom=not type_.startswith("ticketing:"),
        parent=options.pop("parent", ROOT),
        provider=options.pop("provider", None),
        inputs=inputs,
        outputs=inputs if outputs is None else outputs,
        **options,
    )


def make_plan(*resources: Resource, outputs: dict[str, Any] | None = None) -> Plan:
    return Plan(project=PROJECT, stack=STACK, resources=list(resources), outputs=outputs or {})


def bad_instance() -> Resource:
    return resource(
        EC2_TYPE,
        "app-host",
        {**GOOD_EC2, "metadataOptions": {"httpTokens": "optional", "httpPutResponseHopLimit": 1}},
    )


# --- engine-shaped props -------------------------------------------------------------------------


def test_engine_properties_are_what_the_analyzer_hands_over() -> None:
    props = policy.engine_properties(
        {
            "port": 443,
            "tags": {"Name": "x"},
            "password": Secret("hunter2"),
            "nested": [{"size": 20}],
            "arn": UNKNOWN,
            "__defaults": ["port"],
        }
    )
    assert props["port"] == 443.0 and isinstance(props["port"], float)
    assert props["nested"][0]["size"] == 20.0
    assert props["password"] == "hunter2"  # secrets are unwrapped for policies
    assert "__defaults" not in props  # SkipInternalKeys
    with pytest.raises(UnknownValueError):
        _ = props["arn"]


def test_wire_properties_mark_secrets_like_the_engine() -> None:
    wire = policy.wire_properties({"value": Secret("s")})
    assert wire["value"] == {
        "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
        "value": "s",
    }


# --- evaluation and the report -------------------------------------------------------------------


def test_violation_names_rule_resource_message_and_remediation() -> None:
    report = policy.evaluate(make_plan(bad_instance()), stack_config={})
    [violation] = report.of_rule("ec2-imdsv2")
    assert violation.enforcement == EnforcementLevel.MANDATORY
    assert violation.urn == f"urn:pulumi:{STACK}::{PROJECT}::{EC2_TYPE}::app-host"
    assert (violation.resource_type, violation.resource_name) == (EC2_TYPE, "app-host")
    assert "httpTokens is optional" in violation.message
    assert "http_tokens" in violation.remediation
    assert report.mandatory_violations == [violation]
    assert not report.passed
    assert (report.rules_run, report.checks_run) == (len(POLICIES), len(policy.PLAN_CHECKS))


def test_compliant_plan_passes() -> None:
    report = policy.evaluate(make_plan(resource(EC2_TYPE, "app-host", GOOD_EC2)), stack_config={})
    assert report.violations == []
    assert report.passed


def test_enforcement_overrides() -> None:
    plan = make_plan(bad_instance())
    advisory = policy.evaluate(plan, {"ec2-imdsv2": "advisory"}, stack_config={})
    assert [v.enforcement for v in advisory.of_rule("ec2-imdsv2")] == [EnforcementLevel.ADVISORY]
    assert advisory.passed

    disabled = policy.evaluate(
        plan, {"ec2-imdsv2": {"enforcementLevel": "disabled"}}, stack_config={}
    )
    assert disabled.of_rule("ec2-imdsv2") == []
    assert disabled.rules_run == advisory.rules_run - 1

    everything = policy.evaluate(plan, {"all": "advisory"}, stack_config={})
    assert everything.violations and everything.mandatory_violations == []

    only_one = policy.evaluate(
        plan, {"all": "disabled", "ec2-imdsv2": "mandatory"}, stack_config={}
    )
    assert (only_one.rules_run, only_one.checks_run) == (1, 0)
    assert [v.rule for v in only_one.violations] == ["ec2-imdsv2"]

    remediate = policy.evaluate(plan, {"ec2-imdsv2": "remediate"}, stack_config={})
    assert remediate.of_rule("ec2-imdsv2")[0].mandatory


def test_advisory_rules_never_fail_the_plan() -> None:
    log_group = resource("aws:cloudwatch/logGroup:LogGroup", "logs", {"retentionInDays": 3})
    report = policy.evaluate(make_plan(log_group), stack_config={})
    [violation] = report.violations
    assert violation.rule == "cloudwatch-log-retention"
    assert violation.enforcement == EnforcementLevel.ADVISORY
    assert report.passed


def test_config_properties_and_schema_defaults() -> None:
    log_group = resource("aws:cloudwatch/logGroup:LogGroup", "logs", {"retentionInDays": 30})
    assert policy.evaluate(make_plan(log_group), stack_config={}).violations == []
    stricter = policy.evaluate(
        make_plan(log_group), {"cloudwatch-log-retention": {"minimumDays": 90}}, stack_config={}
    )
    assert "keep at least 90" in stricter.violations[0].message


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"no-such-rule": "advisory"}, "no such rule in ticketing-guardrails: no-such-rule"),
        ({"ec2-imdsv2": "sometimes"}, "'sometimes' is not an enforcement level"),
        ({"cloudwatch-log-retention": {"minimumDays": "many"}}, "cloudwatch-log-retention:"),
        ({"rds-multi-az": {"environment": "qa"}}, "rds-multi-az:"),
        ({"ec2-imdsv2": 3}, "must be an enforcement level or an object"),
    ],
)
def test_bad_config_is_refused(config: dict[str, Any], expected: str) -> None:
    with pytest.raises(policy.PolicyConfigError, match=expected):
        policy.evaluate(make_plan(), config, stack_config={})


# --- what reaches the rules ----------------------------------------------------------------------


def test_stack_config_sets_the_environment_and_does_not_leak() -> None:
    db = resource(RDS_INSTANCE, "db", {"deletionProtection": False, "multiAz": False})
    plan = make_plan(db)
    before = pulumi.runtime.get_config("ticketing:environment")  # whatever an earlier capture set
    dev = policy.evaluate(plan, stack_config={"ticketing:environment": "dev"})
    assert dev.of_rule("rds-deletion-protection") == []
    assert dev.of_rule("stateful-resources-protected") == []
    prod = policy.evaluate(plan, stack_config={"ticketing:environment": "prod"})
    assert prod.of_rule("rds-deletion-protection")
    assert [v.urn for v in prod.of_rule("stateful-resources-protected")] == [db.urn]
    assert pulumi.runtime.get_config("ticketing:environment") == before


def test_committed_stack_file_is_the_default_stack_config(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: ticketing\nruntime: python\n")
    (tmp_path / f"Pulumi.{STACK}.yaml").write_text("config:\n  ticketing:environment: dev\n")
    db = resource(RDS_INSTANCE, "db", {"deletionProtection": False})
    report = policy.evaluate(make_plan(db), project_dir=tmp_path)
    assert report.of_rule("rds-deletion-protection") == []
    assert any(n.rule == "rds-deletion-protection" for n in report.not_applicable)
    (tmp_path / f"Pulumi.{STACK}.yaml").write_text("config:\n  ticketing:environment: prod\n")
    assert policy.evaluate(make_plan(db), project_dir=tmp_path).of_rule("rds-deletion-protection")


def test_explicit_provider_props_reach_resource_rules() -> None:
    tags = json.dumps({"tags": {"environment": "dev", "stack": STACK, "managed-by": "pulumi"}})
    provider = resource("pulumi:providers:aws", "aws", {"region": "eu-west-1", "defaultTags": tags})
    assert provider.urn == AWS_PROVIDER_URN
    db = resource(RDS_INSTANCE, "db", {"deletionProtection": False}, provider=AWS_PROVIDER_URN)
    report = policy.evaluate(make_plan(provider, db), stack_config={})
    assert report.of_rule("rds-deletion-protection") == []
    assert report.of_rule("aws-provider-default-tags") == []


def test_default_provider_gets_the_stack_config_as_props() -> None:
    tags = json.dumps({"tags": {"environment": "dev"}})
    db = resource(RDS_INSTANCE, "db", {"deletionProtection": False})
    report = policy.evaluate(make_plan(db), stack_config={"aws:defaultTags": tags})
    assert report.of_rule("rds-deletion-protection") == []


def test_each_rule_gets_each_resources_own_props_and_provider() -> None:
    """As the analyzer's Analyze: a fresh argument bag per rule and resource, so what one
    rule does to its bag never reaches another rule or resource."""
    seen: list[tuple[str, str, dict[str, Any], str | None]] = []

    def record(rule: str) -> Any:
        def inspect(args: ResourceValidationArgs, report: Any) -> None:
            if args.resource_type != EC2_TYPE:
                return
            provider = args.provider.name if args.provider else None
            seen.append((rule, args.name, dict(args.props), provider))
            props: Any = args.props
            props["instanceType"] = "t3.nano"  # a careless rule: the analyzer's proxy allows it
            args.provider = None

        return inspect

    provider = resource("pulumi:providers:aws", "aws", {"region": "eu-west-1"})
    first = resource(EC2_TYPE, "first", {"instanceType": "t3.micro"}, provider=provider.urn)
    second = resource(EC2_TYPE, "second", {"instanceType": "t3.large"})
    rules = [ResourceValidationPolicy(n, "records what it reads", record(n)) for n in ("a", "b")]
    policy.evaluate(make_plan(provider, first, second), stack_config={}, rules=rules)
    assert seen == [
        ("a", "first", {"instanceType": "t3.micro"}, "aws"),
        ("a", "second", {"instanceType": "t3.large"}, "default"),
        ("b", "first", {"instanceType": "t3.micro"}, "aws"),
        ("b", "second", {"instanceType": "t3.large"}, "default"),
    ]


def test_stack_rules_get_their_own_resources() -> None:
    """As AnalyzeStack: each stack rule gets resources built for it alone."""
    seen: list[tuple[str, dict[str, Any]]] = []

    def record(rule: str) -> Any:
        def inspect(args: StackValidationArgs, report: Any) -> None:
            for r in args.resources:
                if r.name == "vpc":
                    seen.append((rule, dict(r.props)))
                    props: Any = r.props
                    props["cidrBlock"] = "10.9.0.0/16"
                    r.provider = None

        return inspect

    vpc = resource("aws:ec2/vpc:Vpc", "vpc", {"cidrBlock": "10.0.0.0/16"})
    rules = [StackValidationPolicy(n, "records what it reads", record(n)) for n in ("a", "b")]
    policy.evaluate(make_plan(vpc), stack_config={}, rules=rules)
    assert seen == [("a", {"cidrBlock": "10.0.0.0/16"}), ("b", {"cidrBlock": "10.0.0.0/16"})]


def test_stack_rules_see_outputs_options_and_dependencies() -> None:
    seen: dict[str, Any] = {}

    def inspect(args: StackValidationArgs, report: Any) -> None:
        by_name = {r.name: r for r in args.resources}
        root, log = by_name[f"{PROJECT}-{STACK}"], by_name["flow-log"]
        seen["root"] = (root.resource_type, dict(root.props))
        seen["log"] = ([d.name for d in log.dependencies], log.parent is root, log.opts.protect)
        seen["by_input"] = {k: [d.name for d in v] for k, v in log.property_dependencies.items()}
        seen["read"] = by_name["existing-zone"].props["id"]

    vpc = resource("aws:ec2/vpc:Vpc", "vpc", {"cidrBlock": "10.0.0.0/16"})
    role = resource("aws:iam/role:Role", "role", {"name": "flow-logs"})
    log = resource(
        "aws:ec2/flowLog:FlowLog",
        "flow-log",
        {"vpcId": "vpc-1"},
        depends_on=(role.urn,),  # explicit; the VPC is referenced through vpcId
        dependencies=(vpc.urn, role.urn),
        property_dependencies={"vpcId": (vpc.urn,)},
        protect=True,
    )
    read = resource("cloudflare:index/zone:Zone", "existing-zone", {}, {"id": "z1"}, read=True)
    probe = StackValidationPolicy("probe", "looks at the stack", inspect)
    policy.evaluate(
        make_plan(
            vpc, role, log, read, outputs={"apiUrl": "https://api", "dbPassword": Secret("pw")}
        ),
        stack_config={},
        rules=[probe],
    )
    assert seen["root"] == ("pulumi:pulumi:Stack", {"apiUrl": "https://api", "dbPassword": "pw"})
    # All of the engine's dependencies, the input references as well as depends_on.
    assert seen["log"] == (["vpc", "role"], True, True)
    assert seen["by_input"] == {"vpcId": ["vpc"]}
    assert seen["read"] == "z1"


def test_stack_rules_see_a_depends_on_component_as_its_children() -> None:
    seen: dict[str, list[str]] = {}

    def inspect(args: StackValidationArgs, report: Any) -> None:
        [waiting] = [r for r in args.resources if r.name == "waiting"]
        seen["waiting"] = [d.name for d in waiting.dependencies]

    box = resource("ticketing:aws:Box", "box")
    inner = resource("aws:iam/role:Role", "box-role", {"name": "r"}, parent=box.urn)
    waiting = resource(
        "aws:ssm/association:Association",
        "waiting",
        {"name": "doc"},
        depends_on=(box.urn,),  # as written
        dependencies=(inner.urn,),  # as the SDK sends it to the engine
    )
    rule = StackValidationPolicy("probe", "looks at the stack", inspect)
    policy.evaluate(make_plan(box, inner, waiting), stack_config={}, rules=[rule])
    assert seen["waiting"] == ["box-role"]


def test_reads_are_not_analyzed_as_resources() -> None:
    analyzed: list[str] = []

    def inspect(args: ResourceValidationArgs, report: Any) -> None:
        analyzed.append(args.name)

    read = resource("cloudflare:index/zone:Zone", "existing-zone", {}, read=True)
    probe = ResourceValidationPolicy("probe", "records names", inspect)
    policy.evaluate(make_plan(bad_instance(), read), stack_config={}, rules=[probe])
    assert analyzed == [f"{PROJECT}-{STACK}", "app-host"]


def test_unknown_escaping_a_rule_is_the_analyzers_advisory_diagnostic() -> None:
    def careless(args: ResourceValidationArgs, report: Any) -> None:
        if args.resource_type == EC2_TYPE:
            _ = args.props["subnetId"]  # reading an unknown value raises

    rule = ResourceValidationPolicy("careless", "reads without care", careless)
    instance = resource(EC2_TYPE, "app-host", {**GOOD_EC2, "subnetId": UNKNOWN})
    [violation] = policy.evaluate(make_plan(instance), stack_config={}, rules=[rule]).violations
    assert violation.enforcement == EnforcementLevel.ADVISORY
    assert violation.message.startswith("can't run policy 'careless'")
    assert "subnetId" in violation.message


def test_a_crashing_rule_fails_loudly() -> None:
    def broken(args: ResourceValidationArgs, report: Any) -> None:
        raise ZeroDivisionError

    rule = ResourceValidationPolicy("broken", "always raises", broken)
    with pytest.raises(policy.PolicyCrashError, match="rule broken crashed"):
        policy.evaluate(make_plan(), stack_config={}, rules=[rule])


def test_every_pack_rule_survives_an_all_unknown_preview() -> None:
    """A preview where every input is unknown: no rule may crash or fail the plan."""
    types = [
        "aws:rds/instance:Instance",
        "aws:rds/parameterGroup:ParameterGroup",
        "aws:ec2/instance:Instance",
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        "aws:ec2/securityGroupRule:SecurityGroupRule",
        "aws:lb/loadBalancer:LoadBalancer",
        "aws:alb/loadBalancer:LoadBalancer",
        "aws:lb/listener:Listener",
        "aws:alb/listener:Listener",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:ssm/parameter:Parameter",
        "aws:sns/topic:Topic",
        "aws:ec2/vpc:Vpc",
        "aws:ec2/flowLog:FlowLog",
        "pulumi:providers:aws",
        "cloudflare:index/dnsRecord:DnsRecord",
        "cloudflare:index/record:Record",
        "cloudflare:index/zoneSetting:ZoneSetting",
        "cloudflare:index/ruleset:Ruleset",
        "docker:index/container:Container",
        "docker:index/remoteImage:RemoteImage",
        "docker:index/volume:Volume",
    ]
    keys = [
        "publiclyAccessible", "storageEncrypted", "backupRetentionPeriod", "deletionProtection",
        "skipFinalSnapshot", "multiAz", "parameterGroupName", "family", "parameters",
        "metadataOptions", "rootBlockDevice", "ebsBlockDevices", "associatePublicIpAddress",
        "iamInstanceProfile", "ingress", "egress", "description", "cidrIpv4", "cidrIpv6",
        "ipProtocol", "fromPort", "toPort", "cidrBlocks", "ipv6CidrBlocks", "type",
        "loadBalancerType", "dropInvalidHeaderFields", "protocol", "sslPolicy", "defaultActions",
        "retentionInDays", "name", "value", "insecureValue", "kmsMasterKeyId", "id", "vpcId",
        "trafficType", "defaultTags", "content", "proxied", "zoneId", "settingId", "phase",
        "rules", "image", "restart", "healthcheck", "ports", "privileged", "networkMode",
        "capabilities",
    ]  # fmt: skip
    resources = [resource(t, f"r{i}", dict.fromkeys(keys, UNKNOWN)) for i, t in enumerate(types)]
    report = policy.evaluate(make_plan(*resources), stack_config={"ticketing:environment": "prod"})
    assert [v for v in report.violations if v.message.startswith("can't run")] == []
    assert report.not_applicable


# --- the credential-output plan check ------------------------------------------------------------


def credential_violations(plan: Plan) -> list[str]:
    report = policy.evaluate(plan, stack_config={})
    return [v.message for v in report.of_rule("stack-credential-outputs-secret")]


def test_secret_credential_outputs_pass() -> None:
    outputs = {
        "dbPassword": Secret("pw-123456"),
        "venues": Secret({"arena": {"syncCredential": "abc12345"}}),
        "masterUserSecretArn": "arn:aws:secretsmanager:eu-west-1:1:secret:x",
        # Where a credential lives is not the credential.
        "services": {"payments": {"ssmParameters": {"database-password": "/t/prod/p/pw"}}},
        "syncCredential": "/ticketing/prod/services/ticketing/venues/arena/sync-credential",
        "apiUrl": "https://api.example-tickets.com",
    }
    assert credential_violations(make_plan(outputs=outputs)) == []


def test_plain_credential_outputs_fail() -> None:
    password = resource(
        "random:index/randomPassword:RandomPassword", "sync", {"length": 32},
        {"result": Secret("Qx81-random-result")},
    )  # fmt: skip
    outputs = {
        "dbPassword": "pw-123456",
        "venues": {"arena": {"syncCredential": "abc12345"}},
        "brokerUrl": "amqp://ticketing:hunter22@ticketing-rabbitmq:5672/",
        "syncKey": "Qx81-random-result",
    }
    assert credential_violations(make_plan(password, outputs=outputs)) == [
        "stack output brokerUrl is not secret, but it embeds a password in a URL.",
        "stack output dbPassword is not secret, but its name says it is a credential.",
        "stack output syncKey is not secret, but it is the value of sync.result.",
        "stack output venues.arena.syncCredential is not secret, but its name says it is a "
        "credential.",
    ]


def test_credential_output_check_is_configured_like_a_rule() -> None:
    plan = make_plan(outputs={"dbPassword": "pw-123456"})
    report = policy.evaluate(plan, {"stack-credential-outputs-secret": "advisory"}, stack_config={})
    [violation] = report.violations
    assert violation.enforcement == EnforcementLevel.ADVISORY
    assert violation.urn == ROOT and violation.resource_type == "pulumi:pulumi:Stack"


# --- printing ------------------------------------------------------------------------------------


def test_print_report_shows_rule_resource_message_and_remediation() -> None:
    console = Console(record=True, width=300)
    policy.print_report(policy.evaluate(make_plan(bad_instance()), stack_config={}), console)
    text = console.export_text()
    for expected in ("mandatory", "ec2-imdsv2", "app-host", EC2_TYPE, "httpTokens is optional",
                     "http_tokens", "failed", "1 mandatory"):  # fmt: skip
        assert expected in text


def test_report_document_is_json_ready() -> None:
    report = policy.evaluate(make_plan(bad_instance()), stack_config={})
    document = json.loads(json.dumps(policy.document(report)))
    assert document["passed"] is False
    assert {"rule": "ec2-imdsv2", "enforcementLevel": "mandatory"}.items() <= document[
        "violations"
    ][0].items()
