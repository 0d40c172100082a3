"""AWS rules on engine-shaped inputs: one compliant and one violating case each, plus unknowns."""

from __future__ import annotations

import json
from typing import Any

import pytest

from policies.rules import aws
from tests.policy_helpers import (
    UNKNOWN,
    Provider,
    StackResource,
    aws_provider,
    run_resource_rule,
    run_stack_rule,
)

PROD = {"ticketing:environment": "prod"}
DEV = {"ticketing:environment": "dev"}

RDS: dict[str, Any] = {
    "engine": "postgres",
    "engineVersion": "16.4",
    "instanceClass": "db.t4g.micro",
    "allocatedStorage": 20,
    "publiclyAccessible": False,
    "storageEncrypted": True,
    "backupRetentionPeriod": 14,
    "deletionProtection": True,
    "skipFinalSnapshot": False,
    "finalSnapshotIdentifier": "ticketing-final",
    "multiAz": True,
    "deleteAutomatedBackups": False,
    "parameterGroupName": "ticketing-postgres16",
    "manageMasterUserPassword": True,
}

EC2: dict[str, Any] = {
    "ami": "ami-0a1b2c3d4e5f60718",
    "instanceType": "t3.medium",
    "subnetId": "subnet-1",
    "metadataOptions": {
        "httpTokens": "required",
        "httpEndpoint": "enabled",
        "httpPutResponseHopLimit": 1.0,
    },
    "rootBlockDevice": {"encrypted": True, "volumeSize": 30, "volumeType": "gp3"},
    "associatePublicIpAddress": False,
    "iamInstanceProfile": "app-host-profile",
}


def rds(**changes: Any) -> dict[str, Any]:
    return {**RDS, **changes}


def ec2(**changes: Any) -> dict[str, Any]:
    return {**EC2, **changes}


# --- RDS -------------------------------------------------------------------------------------


def test_rds_not_public() -> None:
    assert run_resource_rule("rds-not-public", aws.RDS_INSTANCE, rds()).clean
    bad = run_resource_rule("rds-not-public", aws.RDS_INSTANCE, rds(publiclyAccessible=True))
    assert bad.mentions("publiclyAccessible is true")


def test_rds_not_public_unknown_is_not_applicable() -> None:
    outcome = run_resource_rule("rds-not-public", aws.RDS_INSTANCE, rds(publiclyAccessible=UNKNOWN))
    assert outcome.violations == []
    assert outcome.not_applicable is not None
    assert "publiclyAccessible" in outcome.not_applicable


def test_rds_storage_encrypted() -> None:
    assert run_resource_rule("rds-storage-encrypted", aws.RDS_INSTANCE, rds()).clean
    unset = {k: v for k, v in RDS.items() if k != "storageEncrypted"}
    assert run_resource_rule("rds-storage-encrypted", aws.RDS_INSTANCE, unset).mentions(
        "storageEncrypted is not true"
    )


def test_rds_backup_retention_outside_dev() -> None:
    rule = "rds-backup-retention"
    assert run_resource_rule(rule, aws.RDS_INSTANCE, rds(), stack_config=PROD).clean
    short = run_resource_rule(
        rule, aws.RDS_INSTANCE, rds(backupRetentionPeriod=3), stack_config=PROD
    )
    assert short.messages == [
        "backupRetentionPeriod is 3 days; prod (stack config ticketing:environment) "
        "needs at least 7."
    ]


def test_rds_backup_retention_relaxes_in_dev_and_follows_config() -> None:
    rule = "rds-backup-retention"
    dev = run_resource_rule(rule, aws.RDS_INSTANCE, rds(backupRetentionPeriod=1), stack_config=DEV)
    assert dev.clean
    stricter = run_resource_rule(
        rule, aws.RDS_INSTANCE, rds(), stack_config=PROD, config={"minimumDays": 30}
    )
    assert stricter.mentions("needs at least 30")


def test_rds_backup_retention_unset_and_unknown() -> None:
    rule = "rds-backup-retention"
    unset = {k: v for k, v in RDS.items() if k != "backupRetentionPeriod"}
    assert run_resource_rule(rule, aws.RDS_INSTANCE, unset, stack_config=PROD).mentions("not set")
    unknown = run_resource_rule(
        rule, aws.RDS_INSTANCE, rds(backupRetentionPeriod=UNKNOWN), stack_config=PROD
    )
    assert unknown.violations == [] and unknown.not_applicable


def test_rds_deletion_protection_outside_dev() -> None:
    rule = "rds-deletion-protection"
    assert run_resource_rule(rule, aws.RDS_INSTANCE, rds(), stack_config=PROD).clean
    bad = run_resource_rule(
        rule,
        aws.RDS_INSTANCE,
        rds(deletionProtection=False, skipFinalSnapshot=True),
        stack_config=PROD,
    )
    assert len(bad.violations) == 2
    assert bad.mentions("deletionProtection is not true")
    assert bad.mentions("skipFinalSnapshot is true")


def test_rds_deletion_protection_not_applicable_in_dev() -> None:
    outcome = run_resource_rule(
        "rds-deletion-protection",
        aws.RDS_INSTANCE,
        rds(deletionProtection=False),
        stack_config=DEV,
    )
    assert outcome.violations == []
    assert outcome.not_applicable is not None and "dev" in outcome.not_applicable


@pytest.mark.parametrize(
    ("stack", "provider", "config", "expected_violations"),
    [
        # No stack config: the AWS provider's environment tag decides.
        ("test", aws_provider("dev"), None, 0),
        ("test", aws_provider("prod"), None, 1),
        # No provider tag either: the stack name decides.
        ("dev", None, None, 0),
        ("venue-dev-arena", None, None, 0),
        ("staging", None, None, 1),
        # Nothing names the environment: strict.
        ("scratch", None, None, 1),
        # The rule's own config overrides everything.
        ("prod", aws_provider("prod"), {"environment": "dev"}, 0),
    ],
)
def test_environment_resolution(
    stack: str, provider: Provider | None, config: dict[str, Any] | None, expected_violations: int
) -> None:
    outcome = run_resource_rule(
        "rds-deletion-protection",
        aws.RDS_INSTANCE,
        rds(deletionProtection=False),
        stack=stack,
        provider=provider,
        config=config,
    )
    assert len(outcome.violations) == expected_violations


def test_environment_accepts_provider_tags_as_an_object() -> None:
    provider = Provider(
        "pulumi:providers:aws", {"defaultTags": {"tags": {"environment": "dev"}}}, "aws"
    )
    outcome = run_resource_rule(
        "rds-multi-az", aws.RDS_INSTANCE, rds(multiAz=False), provider=provider
    )
    assert outcome.violations == [] and outcome.not_applicable


def test_rds_multi_az() -> None:
    assert run_resource_rule("rds-multi-az", aws.RDS_INSTANCE, rds(), stack_config=PROD).clean
    bad = run_resource_rule("rds-multi-az", aws.RDS_INSTANCE, rds(multiAz=False), stack_config=PROD)
    assert bad.mentions("multiAz is not true")
    dev = run_resource_rule("rds-multi-az", aws.RDS_INSTANCE, rds(multiAz=False), stack_config=DEV)
    assert dev.violations == []


def test_rds_keep_automated_backups() -> None:
    rule = "rds-keep-automated-backups"
    assert run_resource_rule(rule, aws.RDS_INSTANCE, rds(), stack_config=PROD).clean
    deletes = rds(deleteAutomatedBackups=True)
    assert run_resource_rule(rule, aws.RDS_INSTANCE, deletes, stack_config=PROD).mentions(
        "deleteAutomatedBackups is true in environment prod"
    )
    unset = {k: v for k, v in RDS.items() if k != "deleteAutomatedBackups"}
    assert run_resource_rule(rule, aws.RDS_INSTANCE, unset, stack_config=PROD).mentions(
        "not set (the provider's default is true)"
    )
    dev = run_resource_rule(rule, aws.RDS_INSTANCE, deletes, stack_config=DEV)
    assert dev.violations == [] and dev.not_applicable
    unknown = rds(deleteAutomatedBackups=UNKNOWN)
    outcome = run_resource_rule(rule, aws.RDS_INSTANCE, unknown, stack_config=PROD)
    assert outcome.violations == [] and outcome.not_applicable


def test_rds_enhanced_monitoring() -> None:
    rule = "rds-enhanced-monitoring"
    role = "arn:aws:iam::123456789012:role/db-monitoring"
    good = rds(monitoringInterval=60, monitoringRoleArn=role)
    assert run_resource_rule(rule, aws.RDS_INSTANCE, good, stack_config=PROD).clean
    off = run_resource_rule(rule, aws.RDS_INSTANCE, rds(monitoringInterval=0), stack_config=PROD)
    assert off.mentions("monitoringInterval is 0 in environment prod")
    assert run_resource_rule(rule, aws.RDS_INSTANCE, rds(), stack_config=PROD).mentions(
        "monitoringInterval is not set"
    )
    roleless = rds(monitoringInterval=60)
    assert run_resource_rule(rule, aws.RDS_INSTANCE, roleless, stack_config=PROD).mentions(
        "without monitoringRoleArn"
    )
    dev = run_resource_rule(rule, aws.RDS_INSTANCE, rds(monitoringInterval=0), stack_config=DEV)
    assert dev.violations == [] and dev.not_applicable


def _parameter_group(*parameters: dict[str, Any]) -> dict[str, Any]:
    return {"family": "postgres16", "parameters": list(parameters)}


def test_rds_force_ssl_parameter_group() -> None:
    rule = "rds-force-ssl"
    good = _parameter_group(
        {"name": "log_connections", "value": "1"}, {"name": "rds.force_ssl", "value": "1"}
    )
    assert run_resource_rule(rule, aws.RDS_PARAMETER_GROUP, good).clean
    missing = run_resource_rule(rule, aws.RDS_PARAMETER_GROUP, _parameter_group())
    assert missing.mentions("does not set rds.force_ssl = 1")
    off = run_resource_rule(
        rule, aws.RDS_PARAMETER_GROUP, _parameter_group({"name": "rds.force_ssl", "value": "0"})
    )
    assert off.mentions("rds.force_ssl is '0'")


def test_rds_force_ssl_instance_needs_its_own_group() -> None:
    rule = "rds-force-ssl"
    assert run_resource_rule(rule, aws.RDS_INSTANCE, rds()).clean
    default = run_resource_rule(
        rule, aws.RDS_INSTANCE, rds(parameterGroupName="default.postgres16")
    )
    assert default.mentions("default parameter group")
    unset = {k: v for k, v in RDS.items() if k != "parameterGroupName"}
    assert run_resource_rule(rule, aws.RDS_INSTANCE, unset).mentions("default parameter group")


def test_rds_force_ssl_unknown_group_name_is_the_created_group() -> None:
    outcome = run_resource_rule("rds-force-ssl", aws.RDS_INSTANCE, rds(parameterGroupName=UNKNOWN))
    assert outcome.clean


# --- EC2 -------------------------------------------------------------------------------------


def test_ec2_imdsv2() -> None:
    assert run_resource_rule("ec2-imdsv2", aws.EC2_INSTANCE, ec2()).clean
    optional = ec2(metadataOptions={"httpTokens": "optional"})
    assert run_resource_rule("ec2-imdsv2", aws.EC2_INSTANCE, optional).mentions(
        "httpTokens is optional"
    )
    unset = {k: v for k, v in EC2.items() if k != "metadataOptions"}
    assert run_resource_rule("ec2-imdsv2", aws.EC2_INSTANCE, unset).mentions("not set")


def test_ec2_imdsv2_unknown() -> None:
    outcome = run_resource_rule(
        "ec2-imdsv2", aws.EC2_INSTANCE, ec2(metadataOptions={"httpTokens": UNKNOWN})
    )
    assert outcome.violations == [] and outcome.not_applicable


def test_ec2_imds_hop_limit() -> None:
    rule = "ec2-imds-hop-limit"
    assert run_resource_rule(rule, aws.EC2_INSTANCE, ec2()).clean
    two = ec2(metadataOptions={"httpTokens": "required", "httpPutResponseHopLimit": 2.0})
    assert run_resource_rule(rule, aws.EC2_INSTANCE, two).mentions(
        "httpPutResponseHopLimit is 2: any container"
    )
    unset = ec2(metadataOptions={"httpTokens": "required"})
    assert run_resource_rule(rule, aws.EC2_INSTANCE, unset).mentions("ImdsSupport v2.0")
    disabled = ec2(metadataOptions={"httpEndpoint": "disabled", "httpPutResponseHopLimit": 5.0})
    assert run_resource_rule(rule, aws.EC2_INSTANCE, disabled).clean
    relaxed = run_resource_rule(rule, aws.EC2_INSTANCE, two, config={"maximumHops": 2})
    assert relaxed.clean


def test_ec2_imds_hop_limit_unknown() -> None:
    outcome = run_resource_rule(
        "ec2-imds-hop-limit",
        aws.EC2_INSTANCE,
        ec2(metadataOptions={"httpTokens": "required", "httpPutResponseHopLimit": UNKNOWN}),
    )
    assert outcome.violations == [] and outcome.not_applicable


def test_ec2_encrypted_volumes() -> None:
    rule = "ec2-encrypted-volumes"
    assert run_resource_rule(rule, aws.EC2_INSTANCE, ec2()).clean
    root = run_resource_rule(rule, aws.EC2_INSTANCE, ec2(rootBlockDevice={"volumeSize": 30}))
    assert root.mentions("rootBlockDevice.encrypted")
    extra = ec2(ebsBlockDevices=[{"deviceName": "/dev/sdf", "encrypted": False}])
    assert run_resource_rule(rule, aws.EC2_INSTANCE, extra).mentions("ebsBlockDevices[0]")


def test_ec2_no_public_ip() -> None:
    assert run_resource_rule("ec2-no-public-ip", aws.EC2_INSTANCE, ec2()).clean
    public = ec2(associatePublicIpAddress=True)
    assert run_resource_rule("ec2-no-public-ip", aws.EC2_INSTANCE, public).mentions(
        "associatePublicIpAddress is true"
    )
    unknown = ec2(associatePublicIpAddress=UNKNOWN)
    assert run_resource_rule("ec2-no-public-ip", aws.EC2_INSTANCE, unknown).violations == []


def test_ec2_instance_profile() -> None:
    assert run_resource_rule("ec2-instance-profile", aws.EC2_INSTANCE, ec2()).clean
    none = {k: v for k, v in EC2.items() if k != "iamInstanceProfile"}
    assert run_resource_rule("ec2-instance-profile", aws.EC2_INSTANCE, none).mentions(
        "iamInstanceProfile is not set"
    )
    # The profile's name is an output of the profile resource: unknown in preview, but set.
    unknown = ec2(iamInstanceProfile=UNKNOWN)
    assert run_resource_rule("ec2-instance-profile", aws.EC2_INSTANCE, unknown).clean


# --- security groups ----------------------------------------------------------------------------


def group(*ingress: dict[str, Any], **props: Any) -> dict[str, Any]:
    return {"vpcId": "vpc-1", "description": "edge ingress", "ingress": list(ingress), **props}


def https_from(*cidrs: str, **extra: Any) -> dict[str, Any]:
    return {
        "protocol": "tcp",
        "fromPort": 443,
        "toPort": 443,
        "cidrBlocks": [c for c in cidrs if ":" not in c],
        "ipv6CidrBlocks": [c for c in cidrs if ":" in c],
        "description": "https",
        **extra,
    }


def test_sg_edge_ingress_from_cloudflare_ranges_passes() -> None:
    edge = group(https_from("173.245.48.0/20", "2606:4700::/32", "10.40.0.0/16"))
    assert run_resource_rule("sg-no-public-ingress", aws.SECURITY_GROUP, edge).clean


@pytest.mark.parametrize(
    ("type_", "inputs", "expected"),
    [
        (aws.SECURITY_GROUP, group(https_from("0.0.0.0/0")), "0.0.0.0/0 is the whole internet"),
        (aws.SECURITY_GROUP, group(https_from("8.8.8.0/24")), "outside Cloudflare"),
        (
            aws.INGRESS_RULE,
            {
                "securityGroupId": "sg-1",
                "ipProtocol": "tcp",
                "fromPort": 443,
                "toPort": 443,
                "cidrIpv6": "::/0",
            },
            "::/0 is the whole internet",
        ),
        (
            aws.LEGACY_RULE,
            {
                "type": "ingress",
                "securityGroupId": "sg-1",
                "protocol": "tcp",
                "fromPort": 80,
                "toPort": 80,
                "cidrBlocks": ["0.0.0.0/0"],
            },
            "0.0.0.0/0 is the whole internet",
        ),
    ],
)
def test_sg_public_ingress_is_refused_in_every_shape(
    type_: str, inputs: dict[str, Any], expected: str
) -> None:
    assert run_resource_rule("sg-no-public-ingress", type_, inputs).mentions(expected)


def test_default_security_group_rules_are_checked() -> None:
    emptied = {"vpcId": "vpc-1", "ingress": [], "egress": []}
    assert run_resource_rule("sg-no-public-ingress", aws.DEFAULT_SECURITY_GROUP, emptied).clean
    opened = {"vpcId": "vpc-1", "ingress": [https_from("0.0.0.0/0", fromPort=0, toPort=65535)]}
    assert run_resource_rule("sg-no-public-ingress", aws.DEFAULT_SECURITY_GROUP, opened).violations
    assert run_resource_rule("sg-no-admin-ports", aws.DEFAULT_SECURITY_GROUP, opened).mentions(
        "22 and 3389"
    )


def test_sg_open_egress_is_not_ingress() -> None:
    egress = {
        "type": "egress",
        "securityGroupId": "sg-1",
        "protocol": "-1",
        "fromPort": 0,
        "toPort": 0,
        "cidrBlocks": ["0.0.0.0/0"],
        "description": "all out",
    }
    assert run_resource_rule("sg-no-public-ingress", aws.LEGACY_RULE, egress).clean


CLOUDFLARE_V4, CLOUDFLARE_V6 = "173.245.48.0/20", "2606:4700::/32"


def edge_rule(protocol: str, from_port: float, to_port: float, cidr: str) -> dict[str, Any]:
    """A standalone ingress rule as the edge ingress declares one per range and port."""
    family = "cidrIpv6" if ":" in cidr else "cidrIpv4"
    return {
        "securityGroupId": "sg-1",
        "ipProtocol": protocol,
        "fromPort": from_port,
        "toPort": to_port,
        family: cidr,
        "description": "from Cloudflare",
    }


@pytest.mark.parametrize("port", [80, 443])
@pytest.mark.parametrize("cidr", [CLOUDFLARE_V4, CLOUDFLARE_V6])
def test_sg_edge_ranges_may_reach_http_and_https(port: int, cidr: str) -> None:
    rule = edge_rule("tcp", port, port, cidr)
    assert run_resource_rule("sg-no-public-ingress", aws.INGRESS_RULE, rule).clean
    legacy = {"type": "ingress", "protocol": "6", "fromPort": port, "toPort": port}
    legacy["cidrBlocks" if ":" not in cidr else "ipv6CidrBlocks"] = [cidr]
    assert run_resource_rule("sg-no-public-ingress", aws.LEGACY_RULE, legacy).clean


@pytest.mark.parametrize(
    ("type_", "inputs", "excess"),
    [
        (aws.INGRESS_RULE, edge_rule("tcp", 5432, 5432, CLOUDFLARE_V4), "TCP port 5432"),
        (aws.INGRESS_RULE, edge_rule("tcp", 80, 443, CLOUDFLARE_V4), "TCP ports 80-443"),
        (aws.INGRESS_RULE, edge_rule("udp", 443, 443, CLOUDFLARE_V6), "UDP port 443"),
        (aws.INGRESS_RULE, edge_rule("-1", 0, 0, CLOUDFLARE_V4), "every protocol and port"),
        (aws.INGRESS_RULE, edge_rule("icmp", -1, -1, CLOUDFLARE_V4), "protocol icmp"),
        (
            aws.SECURITY_GROUP,
            group(https_from(CLOUDFLARE_V4, fromPort=22, toPort=22)),
            "TCP port 22",
        ),
    ],
)
def test_sg_edge_ranges_are_refused_beyond_the_edge_ports(
    type_: str, inputs: dict[str, Any], excess: str
) -> None:
    outcome = run_resource_rule("sg-no-public-ingress", type_, inputs)
    [message] = outcome.messages
    assert f"on {excess}; the edge may reach TCP 80 and 443 only." in message


def test_sg_edge_ports_are_configurable_and_unknown_ports_do_not_crash() -> None:
    rule = edge_rule("tcp", 8443, 8443, CLOUDFLARE_V4)
    assert run_resource_rule("sg-no-public-ingress", aws.INGRESS_RULE, rule).violations
    widened = run_resource_rule(
        "sg-no-public-ingress", aws.INGRESS_RULE, rule, config={"edgePorts": [80, 443, 8443]}
    )
    assert widened.clean
    unknown = edge_rule("tcp", 443, 443, CLOUDFLARE_V4) | {"fromPort": UNKNOWN}
    assert run_resource_rule("sg-no-public-ingress", aws.INGRESS_RULE, unknown).violations == []


def test_sg_private_sources_are_not_limited_to_the_edge_ports() -> None:
    rule = edge_rule("tcp", 5432, 5432, "10.40.0.0/16")
    assert run_resource_rule("sg-no-public-ingress", aws.INGRESS_RULE, rule).clean


def test_sg_edge_ranges_are_configurable() -> None:
    inputs = group(https_from("198.18.0.0/15", "203.0.113.0/24", "1.1.1.0/24"))
    default = run_resource_rule("sg-no-public-ingress", aws.SECURITY_GROUP, inputs)
    assert default.messages == [
        "ingress[0]: ingress from 1.1.1.0/24 is a public range outside Cloudflare's published "
        "ranges."
    ]
    widened = run_resource_rule(
        "sg-no-public-ingress",
        aws.SECURITY_GROUP,
        inputs,
        config={"edgeCidrs": [*aws.CLOUDFLARE_CIDRS, "1.1.1.0/24"]},
    )
    assert widened.clean


def test_sg_unknown_cidrs_do_not_crash() -> None:
    # Cloudflare's ranges come from an invoke; a rule that references an SG is all-unknown.
    inputs = group(
        https_from(UNKNOWN),
        {
            "protocol": "tcp",
            "fromPort": 443,
            "toPort": 443,
            "cidrBlocks": UNKNOWN,
            "securityGroups": [UNKNOWN],
        },
    )
    assert run_resource_rule("sg-no-public-ingress", aws.SECURITY_GROUP, inputs).violations == []
    rule = {
        "securityGroupId": UNKNOWN,
        "ipProtocol": "tcp",
        "fromPort": 443,
        "toPort": 443,
        "cidrIpv4": UNKNOWN,
    }
    assert run_resource_rule("sg-no-public-ingress", aws.INGRESS_RULE, rule).violations == []


def test_sg_no_admin_ports() -> None:
    rule = "sg-no-admin-ports"
    assert run_resource_rule(rule, aws.SECURITY_GROUP, group(https_from("10.0.0.0/8"))).clean
    ssh = group({"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["10.0.0.0/8"]})
    assert run_resource_rule(rule, aws.SECURITY_GROUP, ssh).mentions("admits port 22")
    everything = group({"protocol": "-1", "fromPort": 0, "toPort": 0, "securityGroups": ["sg-2"]})
    assert run_resource_rule(rule, aws.SECURITY_GROUP, everything).mentions("22 and 3389")
    rdp_range = {
        "securityGroupId": "sg-1",
        "ipProtocol": "tcp",
        "fromPort": 3000,
        "toPort": 4000,
        "referencedSecurityGroupId": "sg-2",
    }
    assert run_resource_rule(rule, aws.INGRESS_RULE, rdp_range).mentions("admits port 3389")


def test_sg_no_admin_ports_unknown_ports() -> None:
    inputs = group({"protocol": "tcp", "fromPort": UNKNOWN, "toPort": UNKNOWN})
    assert run_resource_rule("sg-no-admin-ports", aws.SECURITY_GROUP, inputs).clean


def test_sg_described() -> None:
    rule = "sg-described"
    described = group(
        https_from("10.0.0.0/8"),
        egress=[{"protocol": "-1", "fromPort": 0, "toPort": 0, "description": "out"}],
    )
    assert run_resource_rule(rule, aws.SECURITY_GROUP, described).clean
    default = group(https_from("10.0.0.0/8"), description="Managed by Pulumi")
    assert run_resource_rule(rule, aws.SECURITY_GROUP, default).mentions(
        "no description of its own"
    )
    bare_rule = group(https_from("10.0.0.0/8", description=""))
    assert run_resource_rule(rule, aws.SECURITY_GROUP, bare_rule).mentions("ingress[0]")
    egress = {"securityGroupId": "sg-1", "ipProtocol": "-1", "cidrIpv4": "0.0.0.0/0"}
    assert run_resource_rule(rule, aws.EGRESS_RULE, egress).mentions("rule has no description")


# --- load balancers -------------------------------------------------------------------------------


def test_alb_drop_invalid_headers() -> None:
    rule = "alb-drop-invalid-headers"
    alb = {"loadBalancerType": "application", "internal": True, "dropInvalidHeaderFields": True}
    assert run_resource_rule(rule, aws.LOAD_BALANCERS[0], alb).clean
    lax = {**alb, "dropInvalidHeaderFields": False}
    assert run_resource_rule(rule, aws.LOAD_BALANCERS[0], lax).mentions("dropInvalidHeaderFields")
    nlb = {"loadBalancerType": "network", "subnetMappings": [{"subnetId": UNKNOWN}]}
    assert run_resource_rule(rule, aws.LOAD_BALANCERS[0], nlb).clean


def listener(protocol: str, **props: Any) -> dict[str, Any]:
    # The ALB and certificate ARNs are outputs of other resources: unknown in preview.
    return {"loadBalancerArn": UNKNOWN, "port": 443, "protocol": protocol, **props}


def test_https_listener_tls_policy() -> None:
    rule = "lb-https-tls-policy"
    good = listener(
        "HTTPS",
        sslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06",
        certificateArn=UNKNOWN,
        defaultActions=[{"type": "forward", "targetGroupArn": UNKNOWN}],
    )
    assert run_resource_rule(rule, aws.LISTENERS[0], good).clean
    old = {**good, "sslPolicy": "ELBSecurityPolicy-2016-08"}
    assert run_resource_rule(rule, aws.LISTENERS[0], old).mentions("not a TLS 1.2+ policy")
    unset = {k: v for k, v in good.items() if k != "sslPolicy"}
    assert run_resource_rule(rule, aws.LISTENERS[0], unset).mentions("accepts TLS 1.0")
    tcp = listener("TCP", defaultActions=[{"type": "forward", "targetGroupArn": UNKNOWN}])
    assert run_resource_rule(rule, aws.LISTENERS[0], tcp).clean


def test_https_listener_allowed_policies_config() -> None:
    inputs = listener("HTTPS", sslPolicy="ELBSecurityPolicy-TLS-1-2-2017-01")
    config = {"allowedPolicies": ["ELBSecurityPolicy-TLS13-1-3-2021-06"]}
    outcome = run_resource_rule("lb-https-tls-policy", aws.LISTENERS[0], inputs, config=config)
    assert outcome.mentions("ELBSecurityPolicy-TLS-1-2-2017-01 is not a TLS 1.2+ policy")


def test_http_listener_only_redirects() -> None:
    rule = "lb-http-redirects-to-https"
    redirect = listener(
        "HTTP",
        port=80,
        defaultActions=[
            {
                "type": "redirect",
                "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"},
            }
        ],
    )
    assert run_resource_rule(rule, aws.LISTENERS[1], redirect).clean
    forward = listener(
        "HTTP", port=80, defaultActions=[{"type": "forward", "targetGroupArn": UNKNOWN}]
    )
    assert run_resource_rule(rule, aws.LISTENERS[0], forward).mentions("'forward'")
    # No protocol on an ALB listener means HTTP.
    implicit = {
        "loadBalancerArn": UNKNOWN,
        "port": 80,
        "defaultActions": [
            {
                "type": "fixed-response",
                "fixedResponse": {"contentType": "text/plain", "statusCode": "403"},
            }
        ],
    }
    assert run_resource_rule(rule, aws.LISTENERS[0], implicit).mentions("'fixed-response'")


# --- logs, parameters, topics -------------------------------------------------------------------


def test_log_group_retention() -> None:
    rule = "cloudwatch-log-retention"
    assert run_resource_rule(rule, aws.LOG_GROUP, {"retentionInDays": 30}).clean
    assert run_resource_rule(rule, aws.LOG_GROUP, {"retentionInDays": 7}).mentions(
        "retentionInDays is 7; keep at least 14"
    )
    assert run_resource_rule(rule, aws.LOG_GROUP, {"name": "/ticketing/dev/x"}).mentions(
        "never expire"
    )
    assert run_resource_rule(
        rule, aws.LOG_GROUP, {"retentionInDays": 30}, config={"minimumDays": 90}
    ).mentions("keep at least 90")


def parameter(name: str, type_: str, value: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, "value": value}


def test_ssm_credentials_are_secure_strings() -> None:
    rule = "ssm-credentials-secure-string"
    path = "/ticketing/prod/services/payments"
    secure = parameter(f"{path}/database-password", "SecureString", "s3cr3t-value")
    assert run_resource_rule(rule, aws.SSM_PARAMETER, secure).clean
    name = parameter(f"{path}/database-name", "String", "payments_db")
    assert run_resource_rule(rule, aws.SSM_PARAMETER, name).clean
    plain = parameter(f"{path}/redis-password", "String", "s3cr3t-value")
    assert run_resource_rule(rule, aws.SSM_PARAMETER, plain).mentions("ends in 'redis-password'")


def test_ssm_string_documents_must_not_embed_passwords() -> None:
    rule = "ssm-credentials-secure-string"
    compose = "/ticketing/prod/hosts/app/compose"
    leaky = "services:\n  payments:\n    environment:\n      DB: postgresql://payments_app:hunter22@db/payments_db\n"
    outcome = run_resource_rule(rule, aws.SSM_PARAMETER, parameter(compose, "String", leaky))
    assert outcome.mentions("embeds a password in a URL")
    assert not outcome.mentions("hunter22")
    templated = 'command: redis-server --requirepass "$$REDIS_PASSWORD"\nurl: amqp://u:${RABBITMQ_PASSWORD}@x\n'
    assert run_resource_rule(rule, aws.SSM_PARAMETER, parameter(compose, "String", templated)).clean


def test_ssm_unknown_value_and_type() -> None:
    rule = "ssm-credentials-secure-string"
    name = "/ticketing/prod/hosts/app/compose"
    assert run_resource_rule(rule, aws.SSM_PARAMETER, parameter(name, "String", UNKNOWN)).clean
    unknown_type = run_resource_rule(
        rule, aws.SSM_PARAMETER, parameter("/x/database-password", UNKNOWN, "v")
    )
    assert unknown_type.violations == [] and unknown_type.not_applicable


@pytest.mark.parametrize(
    ("inputs", "found"),
    [
        ({"keyId": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd"}, None),
        ({"keyId": "alias/ticketing-prod-secrets"}, None),
        ({"keyId": UNKNOWN}, None),
        ({}, "names no keyId"),
        ({"keyId": ""}, "names no keyId"),
        ({"keyId": "alias/aws/ssm"}, "AWS-managed alias/aws/ssm"),
        ({"keyId": "arn:aws:kms:eu-west-1:123456789012:alias/aws/ssm"}, "AWS-managed"),
    ],
)
def test_ssm_securestring_names_a_customer_key(inputs: dict[str, Any], found: str | None) -> None:
    rule = "ssm-securestring-customer-key"
    props = parameter("/ticketing/prod/services/payments/database-url", "SecureString", "v")
    outcome = run_resource_rule(rule, aws.SSM_PARAMETER, props | inputs)
    if found is None:
        assert outcome.clean
    else:
        assert outcome.mentions(found)
        assert outcome.mentions("/ticketing/prod/services/payments/database-url")


def test_ssm_customer_key_leaves_plain_strings_alone() -> None:
    rule = "ssm-securestring-customer-key"
    name = parameter("/ticketing/prod/services/payments/database-name", "String", "payments_db")
    assert run_resource_rule(rule, aws.SSM_PARAMETER, name).clean


def test_sns_topic_encrypted() -> None:
    rule = "sns-topic-encrypted"
    key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    assert run_resource_rule(rule, aws.SNS_TOPIC, {"kmsMasterKeyId": key}).clean
    assert run_resource_rule(rule, aws.SNS_TOPIC, {"kmsMasterKeyId": "alias/alarms"}).clean
    assert run_resource_rule(rule, aws.SNS_TOPIC, {"name": "alarms"}).mentions("kmsMasterKeyId")
    assert run_resource_rule(rule, aws.SNS_TOPIC, {"kmsMasterKeyId": UNKNOWN}).clean


@pytest.mark.parametrize(
    "key", ["alias/aws/sns", "arn:aws:kms:eu-west-1:123456789012:alias/aws/sns"]
)
def test_sns_topic_on_the_aws_managed_key_is_refused(key: str) -> None:
    outcome = run_resource_rule("sns-topic-encrypted", aws.SNS_TOPIC, {"kmsMasterKeyId": key})
    assert outcome.messages == [
        f"kmsMasterKeyId is the AWS-managed {key}: its key policy cannot admit CloudWatch, "
        "so alarms published to this topic never arrive."
    ]


# --- VPC flow logs and provider tags --------------------------------------------------------------


def test_vpc_flow_logs() -> None:
    vpc = StackResource(aws.VPC, "vpc", {"cidrBlock": "10.40.0.0/16"})
    log = StackResource(
        aws.FLOW_LOG, "vpc-flow-log", {"vpcId": UNKNOWN, "trafficType": "ALL"}, depends_on=("vpc",)
    )
    assert run_stack_rule("vpc-flow-logs", [vpc, log]).clean
    by_id = [
        StackResource(aws.VPC, "vpc", {"id": "vpc-123"}),
        StackResource(aws.FLOW_LOG, "log", {"vpcId": "vpc-123"}),
    ]
    assert run_stack_rule("vpc-flow-logs", by_id).clean
    bare = run_stack_rule("vpc-flow-logs", [vpc])
    assert bare.violations == [
        ("VPC vpc has no flow log.", "urn:pulumi:test::ticketing::aws:ec2/vpc:Vpc::vpc")
    ]
    assert run_stack_rule("vpc-flow-logs", []).not_applicable == "no VPC in this stack"


def test_aws_provider_default_tags() -> None:
    rule = "aws-provider-default-tags"
    provider = aws_provider("prod", stack="prod")
    assert run_resource_rule(rule, provider.type, provider.inputs, stack="prod").clean
    as_object = {
        "defaultTags": {
            "tags": {"environment": "prod", "stack": "prod", "managed-by": "pulumi:ticketing"}
        }
    }
    assert run_resource_rule(rule, provider.type, as_object, stack="prod").clean
    missing = {"region": "eu-west-1", "defaultTags": json.dumps({"tags": {"environment": "prod"}})}
    assert run_resource_rule(rule, provider.type, missing, stack="prod").mentions(
        "lacks stack, managed-by"
    )
    assert run_resource_rule(rule, provider.type, {"region": "eu-west-1"}).mentions(
        "sets no defaultTags"
    )


def test_aws_provider_tags_must_name_the_real_environment_and_stack() -> None:
    rule = "aws-provider-default-tags"
    wrong = aws_provider("production", stack="dev")
    outcome = run_resource_rule(rule, wrong.type, wrong.inputs, stack="prod")
    assert outcome.mentions("environment is 'production'")
    assert outcome.mentions("stack is 'dev' but the stack is 'prod'")
    unknown = run_resource_rule(rule, wrong.type, {"defaultTags": UNKNOWN})
    assert unknown.violations == [] and unknown.not_applicable


def test_rules_ignore_other_resource_types() -> None:
    assert run_resource_rule("rds-not-public", aws.EC2_INSTANCE, {"publiclyAccessible": True}).clean


def test_an_ebs_volume_must_be_encrypted() -> None:
    assert run_resource_rule("ebs-volume-encrypted", aws.EBS_VOLUME, {"encrypted": True}).clean
    for props in ({"encrypted": False}, {}):
        outcome = run_resource_rule("ebs-volume-encrypted", aws.EBS_VOLUME, props)
        assert outcome.messages == [
            "encrypted is not true: the volume and its snapshots would be readable at rest."
        ]
