"""AWS rules: RDS, EC2, security groups, load balancers, logs, SSM, SNS, VPC, provider tags.

Every check reads the engine's camelCase input names (`publiclyAccessible`,
`metadataOptions.httpTokens`, ...) as checked against pulumi_aws 7.x's
`pulumi.getter(name=...)` declarations.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pulumi_policy import (
    PolicyResource,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
)

from policies.rules.common import (
    AWS_PROVIDER,
    ENVIRONMENT_SCHEMA,
    ENVIRONMENTS,
    Category,
    Reporter,
    at,
    config_value,
    elements,
    is_map,
    is_unknown,
    number,
    provider_default_tags,
    resource_environment,
    resource_rule,
    stack_name,
    stack_rule,
    text,
)
from seed import cloudflare_ranges, naming

RDS_INSTANCE: Final = "aws:rds/instance:Instance"
RDS_PARAMETER_GROUP: Final = "aws:rds/parameterGroup:ParameterGroup"
EC2_INSTANCE: Final = "aws:ec2/instance:Instance"
EBS_VOLUME: Final = "aws:ebs/volume:Volume"
SECURITY_GROUP: Final = "aws:ec2/securityGroup:SecurityGroup"
# The VPC's default group: same inline rules, but AWS fixes its description.
DEFAULT_SECURITY_GROUP: Final = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
INGRESS_RULE: Final = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS_RULE: Final = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
LEGACY_RULE: Final = "aws:ec2/securityGroupRule:SecurityGroupRule"
# aws.alb.* are aliases of aws.lb.* registered under their own tokens.
LOAD_BALANCERS: Final = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
LISTENERS: Final = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
LOG_GROUP: Final = "aws:cloudwatch/logGroup:LogGroup"
SSM_PARAMETER: Final = "aws:ssm/parameter:Parameter"
SNS_TOPIC: Final = "aws:sns/topic:Topic"
VPC: Final = "aws:ec2/vpc:Vpc"
FLOW_LOG: Final = "aws:ec2/flowLog:FlowLog"

# The only public sources the edge ingress may admit; override with `edgeCidrs`.
CLOUDFLARE_CIDRS: Final = (*cloudflare_ranges.IPV4, *cloudflare_ranges.IPV6)
# What the edge ingress serves Cloudflare on (its listeners); override with `edgePorts`.
EDGE_PORTS: Final = (80, 443)
ADMIN_PORTS: Final = (22, 3389)
DEFAULT_SG_DESCRIPTION: Final = "Managed by Pulumi"
# TLS 1.2+ ELB policies: TLS13-1-2*, TLS13-1-3*, TLS-1-2*, FS-1-2* (and their FIPS/PQ variants).
TLS12_POLICY: Final = re.compile(r"^ELBSecurityPolicy-(TLS13-1-[23]|TLS-1-2|FS-1-2)(-|$)")
# SSM keys (seed.naming) whose values are credentials.
CREDENTIAL_KEYS: Final = frozenset(
    {
        naming.DATABASE_URL,
        naming.REDIS_URL,
        naming.AMQP_URL,
        naming.DATABASE_PASSWORD,
        naming.REDIS_PASSWORD,
        naming.RABBITMQ_PASSWORD,
        naming.RABBITMQ_DEFINITIONS,
        naming.VENUE_SYNC_CREDENTIAL,
    }
)
CREDENTIAL_NAME: Final = re.compile(
    r"password|passwd|secret|token|credential|private-?key|api-?key", re.IGNORECASE
)
URL_PASSWORD: Final = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:([^/\s@]+)@", re.IGNORECASE)
PRIVATE_KEY: Final = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
# The AWS-managed SNS key, by alias name or alias ARN.
AWS_MANAGED_SNS_KEY: Final = re.compile(r"(^|:)alias/aws/sns$")
# The AWS-managed Parameter Store key, by alias name or alias ARN.
AWS_MANAGED_SSM_KEY: Final = re.compile(r"(^|:)alias/aws/ssm$")


def _known(args: ResourceValidationArgs, value: Any, prop: str) -> Any:
    """`value`, or the rule is not applicable to this resource while `prop` is unknown."""
    if is_unknown(value):
        args.not_applicable(f"{prop} can't be known during preview")
    return value


# --- RDS ------------------------------------------------------------------------------


def _rds_not_public(args: ResourceValidationArgs, report: Reporter) -> None:
    if _known(args, at(args.props, "publiclyAccessible"), "publiclyAccessible") is True:
        report("publiclyAccessible is true: the database would get a public endpoint.")


def _rds_encrypted(args: ResourceValidationArgs, report: Reporter) -> None:
    if _known(args, at(args.props, "storageEncrypted"), "storageEncrypted") is not True:
        report("storageEncrypted is not true: data, backups and snapshots would be unencrypted.")


def _rds_backup_retention(args: ResourceValidationArgs, report: Reporter) -> None:
    env = resource_environment(args)
    config = args.get_config()
    key, default = ("devMinimumDays", 1) if env.is_dev else ("minimumDays", 7)
    configured = number(config_value(config, key, default))
    minimum = float(default) if configured is None else configured
    days = number(_known(args, at(args.props, "backupRetentionPeriod"), "backupRetentionPeriod"))
    if days is None:
        report(f"backupRetentionPeriod is not set; {env} needs at least {minimum:g} days.")
    elif days < minimum:
        report(f"backupRetentionPeriod is {days:g} days; {env} needs at least {minimum:g}.")


def _rds_deletion_protection(args: ResourceValidationArgs, report: Reporter) -> None:
    env = resource_environment(args)
    if env.is_dev:
        args.not_applicable(f"environment {env} may delete its database")
        return
    if _known(args, at(args.props, "deletionProtection"), "deletionProtection") is not True:
        report(f"deletionProtection is not true in environment {env}.")
    if at(args.props, "skipFinalSnapshot") is True:
        report(f"skipFinalSnapshot is true in environment {env}: deleting it loses the data.")


def _rds_keep_automated_backups(args: ResourceValidationArgs, report: Reporter) -> None:
    env = resource_environment(args)
    if env.is_dev:
        args.not_applicable(f"environment {env} may delete its backups with the instance")
        return
    keep = _known(args, at(args.props, "deleteAutomatedBackups"), "deleteAutomatedBackups")
    if keep is not False:
        state = "not set (the provider's default is true)" if keep is None else "true"
        report(
            f"deleteAutomatedBackups is {state} in environment {env}: deleting the instance "
            "would delete its automated backups and every point in time they restore."
        )


def _rds_multi_az(args: ResourceValidationArgs, report: Reporter) -> None:
    env = resource_environment(args)
    if env.is_dev:
        args.not_applicable(f"environment {env} runs a single AZ")
        return
    if _known(args, at(args.props, "multiAz"), "multiAz") is not True:
        report(f"multiAz is not true in environment {env}: one AZ outage stops every service.")


def _rds_enhanced_monitoring(args: ResourceValidationArgs, report: Reporter) -> None:
    env = resource_environment(args)
    if env.is_dev:
        args.not_applicable(f"environment {env} needs no OS-level metrics")
        return
    interval = number(_known(args, at(args.props, "monitoringInterval"), "monitoringInterval"))
    if not interval:
        report(
            f"monitoringInterval is {f'{interval:g}' if interval is not None else 'not set'} in "
            f"environment {env}: no per-process CPU, memory or swap when the database slows."
        )
    elif not at(args.props, "monitoringRoleArn"):
        report("monitoringInterval is set without monitoringRoleArn: RDS refuses it.")


# Per engine family: the parameter that forces TLS and the values that turn it on.
_SSL_PARAMETERS: Final[Mapping[str, tuple[str, frozenset[str]]]] = {
    "postgres": ("rds.force_ssl", frozenset({"1"})),
    "mysql": ("require_secure_transport", frozenset({"1", "ON"})),
    "mariadb": ("require_secure_transport", frozenset({"1", "ON"})),
    "sqlserver": ("rds.force_ssl", frozenset({"1"})),
}


def _parameter_text(value: Any) -> str | None:
    as_number = number(value)
    return f"{as_number:g}" if as_number is not None else text(value)


def _rds_force_ssl(args: ResourceValidationArgs, report: Reporter) -> None:
    props = args.props
    if args.resource_type == RDS_INSTANCE:
        group = at(props, "parameterGroupName")
        if is_unknown(group):
            return  # a group created in this stack; the group itself is checked
        name = text(group)
        if not name or name.startswith("default."):
            report(
                "the instance uses the engine's default parameter group, which does not force SSL."
            )
        return
    family = text(_known(args, at(props, "family"), "family")) or ""
    engine = next((e for e in _SSL_PARAMETERS if family.startswith(e)), None)
    if engine is None:
        args.not_applicable(f"no SSL parameter known for family {family!r}")
        return
    parameter, accepted = _SSL_PARAMETERS[engine]
    for entry in elements(at(props, "parameters")):
        if text(at(entry, "name")) == parameter:
            value = at(entry, "value")
            if is_unknown(value) or (_parameter_text(value) or "").upper() in accepted:
                return
            report(f"{parameter} is {_parameter_text(value)!r}; it must be 1.")
            return
    report(f"the {family} parameter group does not set {parameter} = 1.")


# --- EC2 ------------------------------------------------------------------------------


def _ec2_imdsv2(args: ResourceValidationArgs, report: Reporter) -> None:
    options = _known(args, at(args.props, "metadataOptions"), "metadataOptions")
    tokens = _known(args, at(options, "httpTokens"), "metadataOptions.httpTokens")
    endpoint = at(options, "httpEndpoint")
    if tokens != "required" and endpoint != "disabled":
        shown = text(tokens) or "not set"
        report(f"metadataOptions.httpTokens is {shown}: IMDSv1 would answer without a token.")


def _ec2_imds_hop_limit(args: ResourceValidationArgs, report: Reporter) -> None:
    options = _known(args, at(args.props, "metadataOptions"), "metadataOptions")
    if at(options, "httpEndpoint") == "disabled":
        return
    limit = _known(
        args, at(options, "httpPutResponseHopLimit"), "metadataOptions.httpPutResponseHopLimit"
    )
    allowed = number(config_value(args.get_config(), "maximumHops", 1)) or 1.0
    hops = number(limit)
    if hops is None:
        report(
            "metadataOptions.httpPutResponseHopLimit is not set: instances from AMIs registered "
            "with ImdsSupport v2.0 (Amazon Linux 2023) default to 2, so containers reach IMDS."
        )
    elif hops > allowed:
        report(
            f"metadataOptions.httpPutResponseHopLimit is {hops:g}: any container on a bridge "
            f"network can take the instance role's credentials (at most {allowed:g})."
        )


def _ec2_encrypted_volumes(args: ResourceValidationArgs, report: Reporter) -> None:
    root = _known(args, at(args.props, "rootBlockDevice"), "rootBlockDevice")
    if _known(args, at(root, "encrypted"), "rootBlockDevice.encrypted") is not True:
        report("rootBlockDevice.encrypted is not true.")
    for i, device in enumerate(elements(at(args.props, "ebsBlockDevices"))):
        encrypted = at(device, "encrypted")
        if not is_unknown(encrypted) and encrypted is not True:
            report(f"ebsBlockDevices[{i}].encrypted is not true.")


def _ebs_volume_encrypted(args: ResourceValidationArgs, report: Reporter) -> None:
    if _known(args, at(args.props, "encrypted"), "encrypted") is not True:
        report("encrypted is not true: the volume and its snapshots would be readable at rest.")


def _ec2_no_public_ip(args: ResourceValidationArgs, report: Reporter) -> None:
    public = _known(args, at(args.props, "associatePublicIpAddress"), "associatePublicIpAddress")
    if public is True:
        report("associatePublicIpAddress is true: the instance would be reachable directly.")


def _ec2_instance_profile(args: ResourceValidationArgs, report: Reporter) -> None:
    profile = at(args.props, "iamInstanceProfile")
    if not is_unknown(profile) and not profile:
        report("iamInstanceProfile is not set: no SSM Session Manager, no scoped credentials.")


# --- security groups -------------------------------------------------------------------


@dataclass(frozen=True)
class Permission:
    """One ingress permission, whichever resource shape declared it."""

    where: str
    protocol: Any
    from_port: Any
    to_port: Any
    cidrs: tuple[Any, ...]
    description: Any


def _cidrs(*values: Any) -> tuple[Any, ...]:
    found: list[Any] = []
    for value in values:
        if is_unknown(value) or isinstance(value, str):
            found.append(value)
        else:
            found.extend(elements(value))
    return tuple(found)


def permissions(args: ResourceValidationArgs, direction: str = "ingress") -> list[Permission]:
    """The permissions a group or rule resource declares in `direction`."""
    props = args.props
    kind = args.resource_type
    if kind in (SECURITY_GROUP, DEFAULT_SECURITY_GROUP):
        return [
            Permission(
                where=f"{direction}[{i}]",
                protocol=at(rule, "protocol"),
                from_port=at(rule, "fromPort"),
                to_port=at(rule, "toPort"),
                cidrs=_cidrs(at(rule, "cidrBlocks"), at(rule, "ipv6CidrBlocks")),
                description=at(rule, "description"),
            )
            for i, rule in enumerate(elements(at(props, direction)))
            if is_map(rule)
        ]
    if kind in (INGRESS_RULE, EGRESS_RULE):
        if (kind == INGRESS_RULE) != (direction == "ingress"):
            return []
        cidrs = [c for c in (at(props, "cidrIpv4"), at(props, "cidrIpv6")) if c is not None]
        return [
            Permission(
                where="rule",
                protocol=at(props, "ipProtocol"),
                from_port=at(props, "fromPort"),
                to_port=at(props, "toPort"),
                cidrs=_cidrs(*cidrs),
                description=at(props, "description"),
            )
        ]
    if kind == LEGACY_RULE and at(props, "type") == direction:
        return [
            Permission(
                where="rule",
                protocol=at(props, "protocol"),
                from_port=at(props, "fromPort"),
                to_port=at(props, "toPort"),
                cidrs=_cidrs(at(props, "cidrBlocks"), at(props, "ipv6CidrBlocks")),
                description=at(props, "description"),
            )
        ]
    return []


Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_ALL_PROTOCOLS: Final = frozenset({"-1", "all"})
_TCP: Final = frozenset({"tcp", "6"})
_PORT_PROTOCOLS: Final = frozenset({*_TCP, "udp", "17"})


def _networks(cidrs: Sequence[Any]) -> list[Network]:
    nets: list[Network] = []
    for cidr in cidrs:
        try:
            nets.append(ipaddress.ip_network(str(cidr), strict=False))
        except ValueError:
            continue
    return nets


def _within(net: Network, allowed: Sequence[Network]) -> bool:
    if isinstance(net, ipaddress.IPv4Network):
        return any(isinstance(a, ipaddress.IPv4Network) and net.subnet_of(a) for a in allowed)
    return any(isinstance(a, ipaddress.IPv6Network) and net.subnet_of(a) for a in allowed)


def public_exposure(cidr: str, edge: Sequence[Network]) -> str | None:
    """Why ingress from `cidr` is not allowed, or None when it is."""
    try:
        net = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return None
    if net.prefixlen == 0:
        return f"{cidr} is the whole internet"
    if not net.is_global or _within(net, edge):
        return None
    return f"{cidr} is a public range outside Cloudflare's published ranges"


def edge_port_excess(perm: Permission, ports: Sequence[float]) -> str | None:
    """What `perm` admits beyond TCP on `ports`, or None (also when that can't be known)."""
    if any(is_unknown(v) for v in (perm.protocol, perm.from_port, perm.to_port)):
        return None
    protocol = (text(perm.protocol) or "").lower()
    if protocol in _ALL_PROTOCOLS:
        return "every protocol and port"
    low, high = number(perm.from_port), number(perm.to_port)
    if protocol not in _PORT_PROTOCOLS or low is None or high is None:
        return f"protocol {perm.protocol}"
    shown = f"{'TCP' if protocol in _TCP else 'UDP'} "
    shown += f"port {low:g}" if low == high else f"ports {low:g}-{high:g}"
    if protocol not in _TCP or high - low + 1 > len(ports):
        return shown
    return shown if any(p not in ports for p in range(int(low), int(high) + 1)) else None


def _sg_no_public_ingress(args: ResourceValidationArgs, report: Reporter) -> None:
    config = args.get_config()
    edge = _networks(elements(config_value(config, "edgeCidrs", CLOUDFLARE_CIDRS)))
    ports = [p for p in map(number, elements(config_value(config, "edgePorts", EDGE_PORTS))) if p]
    allowed = " and ".join(f"{p:g}" for p in ports)
    for perm in permissions(args):
        for cidr in perm.cidrs:
            if not text(cidr):
                continue
            reason = public_exposure(cidr, edge)
            if reason:
                report(f"{perm.where}: ingress from {reason}.")
                continue
            nets = _networks([cidr])
            excess = edge_port_excess(perm, ports) if nets and _within(nets[0], edge) else None
            if excess:
                report(
                    f"{perm.where}: ingress from the edge range {cidr} on {excess}; "
                    f"the edge may reach TCP {allowed} only."
                )


def covers(perm: Permission, port: int) -> bool:
    """Whether `perm` admits traffic to `port` (False when that can't be known)."""
    protocol = (text(perm.protocol) or "").lower()
    if protocol in _ALL_PROTOCOLS:
        return True
    if protocol not in _PORT_PROTOCOLS:
        return False
    low, high = number(perm.from_port), number(perm.to_port)
    return low is not None and high is not None and low <= port <= high


def _sg_no_admin_ports(args: ResourceValidationArgs, report: Reporter) -> None:
    for perm in permissions(args):
        exposed = [p for p in ADMIN_PORTS if covers(perm, p)]
        if exposed:
            ports = " and ".join(str(p) for p in exposed)
            report(f"{perm.where}: ingress admits port {ports} (protocol {perm.protocol}).")


def _missing_description(value: Any) -> bool:
    if is_unknown(value):
        return False
    description = text(value)
    return not description or not description.strip() or description == DEFAULT_SG_DESCRIPTION


def _sg_described(args: ResourceValidationArgs, report: Reporter) -> None:
    if args.resource_type == SECURITY_GROUP and _missing_description(at(args.props, "description")):
        report("the security group has no description of its own.")
    for perm in [*permissions(args, "ingress"), *permissions(args, "egress")]:
        if _missing_description(perm.description):
            report(f"{perm.where} has no description.")


# --- load balancers --------------------------------------------------------------------


def _alb_drop_invalid_headers(args: ResourceValidationArgs, report: Reporter) -> None:
    kind = _known(args, at(args.props, "loadBalancerType"), "loadBalancerType")
    if kind not in (None, "application"):
        return
    drop = _known(args, at(args.props, "dropInvalidHeaderFields"), "dropInvalidHeaderFields")
    if drop is not True:
        report("dropInvalidHeaderFields is not true: malformed headers reach the services.")


def _listener_protocol(args: ResourceValidationArgs) -> str:
    protocol = _known(args, at(args.props, "protocol"), "protocol")
    return (text(protocol) or "HTTP").upper()  # an ALB listener without one is HTTP


def _lb_tls_policy(args: ResourceValidationArgs, report: Reporter) -> None:
    if _listener_protocol(args) not in ("HTTPS", "TLS"):
        return
    policy = text(_known(args, at(args.props, "sslPolicy"), "sslPolicy"))
    allowed = [text(p) for p in elements(args.get_config().get("allowedPolicies"))]
    if policy is None:
        report("no sslPolicy: the AWS default (ELBSecurityPolicy-2016-08) accepts TLS 1.0.")
    elif (allowed and policy not in allowed) or (not allowed and not TLS12_POLICY.match(policy)):
        report(f"sslPolicy {policy} is not a TLS 1.2+ policy.")


def _lb_http_redirects(args: ResourceValidationArgs, report: Reporter) -> None:
    if _listener_protocol(args) != "HTTP":
        return
    actions = _known(args, at(args.props, "defaultActions"), "defaultActions")
    listed = elements(actions)
    if not listed:
        report("the HTTP listener has no default action; it must redirect to HTTPS.")
    for i, action in enumerate(listed):
        kind = at(action, "type")
        protocol = at(action, "redirect", "protocol")
        if is_unknown(kind) or is_unknown(protocol):
            continue
        if kind != "redirect" or (text(protocol) or "").upper() != "HTTPS":
            report(f"defaultActions[{i}] is {kind!r}, not a redirect to HTTPS.")


# --- logs, parameters, topics ---------------------------------------------------------------


def _log_retention(args: ResourceValidationArgs, report: Reporter) -> None:
    configured = number(config_value(args.get_config(), "minimumDays", 14))
    minimum = 14.0 if configured is None else configured
    days = number(_known(args, at(args.props, "retentionInDays"), "retentionInDays"))
    if not days:
        report(f"retentionInDays is not set: logs never expire (keep at least {minimum:g} days).")
    elif days < minimum:
        report(f"retentionInDays is {days:g}; keep at least {minimum:g} days.")


def credential_reasons(name: str | None, value: str | None) -> list[str]:
    """Why a parameter named `name` holding `value` carries a credential ([] if it doesn't)."""
    reasons: list[str] = []
    if name:
        key = name.rstrip("/").rsplit("/", 1)[-1]
        if key in CREDENTIAL_KEYS or CREDENTIAL_NAME.search(key):
            reasons.append(f"its name ends in {key!r}")
    if value:
        if any(not p.startswith(("$", "{{", "%(")) for p in URL_PASSWORD.findall(value)):
            reasons.append("its value embeds a password in a URL")
        if PRIVATE_KEY.search(value):
            reasons.append("its value holds a private key")
    return reasons


def _ssm_secure_string(args: ResourceValidationArgs, report: Reporter) -> None:
    kind = text(_known(args, at(args.props, "type"), "type"))
    if kind == "SecureString":
        return
    name = text(at(args.props, "name"))
    value = text(at(args.props, "value")) or text(at(args.props, "insecureValue"))
    reasons = credential_reasons(name, value)
    if reasons:
        report(
            f"parameter {name or args.name} is a {kind or 'String'} but holds a credential "
            f"({'; '.join(reasons)})."
        )


def _ssm_customer_key(args: ResourceValidationArgs, report: Reporter) -> None:
    if text(_known(args, at(args.props, "type"), "type")) != "SecureString":
        return
    key = at(args.props, "keyId")
    if is_unknown(key):
        return  # a key created in the same update: its ARN is known after it exists
    name = text(at(args.props, "name")) or args.name
    key_id = text(key)
    if not key_id:
        report(f"SecureString {name} names no keyId: it is encrypted with the AWS-managed aws/ssm.")
    elif AWS_MANAGED_SSM_KEY.search(key_id):
        report(f"SecureString {name} is encrypted with the AWS-managed {key_id}.")


def _sns_encrypted(args: ResourceValidationArgs, report: Reporter) -> None:
    key = at(args.props, "kmsMasterKeyId")
    if is_unknown(key):
        return
    name = text(key)
    if not name:
        report("kmsMasterKeyId is not set: messages are stored unencrypted.")
    elif AWS_MANAGED_SNS_KEY.search(name):
        report(
            f"kmsMasterKeyId is the AWS-managed {name}: its key policy cannot admit CloudWatch, "
            "so alarms published to this topic never arrive."
        )


# --- VPC and provider -----------------------------------------------------------------------


def _vpc_flow_logs(args: StackValidationArgs, report: Reporter) -> None:
    vpcs = [r for r in args.resources if r.resource_type == VPC]
    if not vpcs:
        args.not_applicable("no VPC in this stack")
        return
    flow_logs = [r for r in args.resources if r.resource_type == FLOW_LOG]

    def covered(vpc: PolicyResource) -> bool:
        vpc_id = text(at(vpc.props, "id"))
        return any(
            any(dep is vpc for dep in log.dependencies)
            or (vpc_id is not None and text(at(log.props, "vpcId")) == vpc_id)
            for log in flow_logs
        )

    for vpc in vpcs:
        if not covered(vpc):
            report(f"VPC {vpc.name} has no flow log.", vpc.urn)


REQUIRED_TAGS: Final = ("environment", "stack", "managed-by")


def _provider_default_tags(args: ResourceValidationArgs, report: Reporter) -> None:
    tags = _known(args, provider_default_tags(args.props), "defaultTags")
    required = [
        str(t) for t in elements(config_value(args.get_config(), "requiredTags", REQUIRED_TAGS))
    ]
    if tags is None:
        report(f"the AWS provider sets no defaultTags (needs {', '.join(required)}).")
        return
    missing = [t for t in required if not is_unknown(at(tags, t)) and not text(at(tags, t))]
    if missing:
        report(f"defaultTags lacks {', '.join(missing)}.")
    environment = at(tags, "environment")
    if text(environment) and environment not in ENVIRONMENTS:
        report(f"defaultTags environment is {environment!r}, not one of {', '.join(ENVIRONMENTS)}.")
    stack, urn_stack = text(at(tags, "stack")), stack_name(args.urn)
    if stack and urn_stack and stack != urn_stack:
        report(f"defaultTags stack is {stack!r} but the stack is {urn_stack!r}.")


# --- the rules ------------------------------------------------------------------------------

_ENVIRONMENT_CONFIG: Final = {"environment": ENVIRONMENT_SCHEMA}

POLICIES = [
    resource_rule(
        "rds-not-public",
        description="RDS instances are never publicly accessible.",
        category=Category.SECURITY,
        severity=Severity.CRITICAL,
        remediation="Set publicly_accessible=False; reach the database from inside the VPC.",
        types=[RDS_INSTANCE],
        check=_rds_not_public,
    ),
    resource_rule(
        "rds-storage-encrypted",
        description="RDS storage is encrypted at rest.",
        category=Category.SECURITY,
        severity=Severity.HIGH,
        remediation="Set storage_encrypted=True (optionally kms_key_id); this replaces the "
        "instance, so restore from an encrypted snapshot copy.",
        types=[RDS_INSTANCE],
        check=_rds_encrypted,
    ),
    resource_rule(
        "rds-backup-retention",
        description="RDS keeps automated backups for at least the configured number of days.",
        category=Category.OPERATIONS,
        severity=Severity.MEDIUM,
        remediation="Set backup_retention_period (ticketing:database.backupRetentionDays) to at "
        "least the minimum for the environment.",
        types=[RDS_INSTANCE],
        check=_rds_backup_retention,
        config={
            "minimumDays": {"type": "number", "minimum": 0, "maximum": 35, "default": 7},
            "devMinimumDays": {"type": "number", "minimum": 0, "maximum": 35, "default": 1},
            **_ENVIRONMENT_CONFIG,
        },
    ),
    resource_rule(
        "rds-deletion-protection",
        description="Outside dev, RDS has deletion protection and takes a final snapshot.",
        category=Category.ARCHITECTURE,
        severity=Severity.HIGH,
        remediation="Set deletion_protection=True and leave skip_final_snapshot False "
        "(ticketing:database.deletionProtection).",
        types=[RDS_INSTANCE],
        check=_rds_deletion_protection,
        config=_ENVIRONMENT_CONFIG,
    ),
    resource_rule(
        "rds-keep-automated-backups",
        description="Outside dev, RDS keeps its automated backups when the instance is deleted.",
        category=Category.ARCHITECTURE,
        severity=Severity.HIGH,
        remediation="Set delete_automated_backups=False; they expire after the retention "
        "period (ticketing:database.backupRetentionDays).",
        types=[RDS_INSTANCE],
        check=_rds_keep_automated_backups,
        config=_ENVIRONMENT_CONFIG,
    ),
    resource_rule(
        "rds-multi-az",
        description="Outside dev, RDS runs Multi-AZ.",
        category=Category.OPERATIONS,
        severity=Severity.MEDIUM,
        remediation="Set multi_az=True (ticketing:database.multiAz); it doubles the instance cost.",
        types=[RDS_INSTANCE],
        check=_rds_multi_az,
        config=_ENVIRONMENT_CONFIG,
    ),
    resource_rule(
        "rds-enhanced-monitoring",
        description="Outside dev, RDS publishes Enhanced Monitoring (OS metrics per process).",
        category=Category.OPERATIONS,
        severity=Severity.LOW,
        remediation="Set monitoring_interval (ticketing:database.enhancedMonitoringSeconds) and "
        "monitoring_role_arn to a role with AmazonRDSEnhancedMonitoringRole.",
        types=[RDS_INSTANCE],
        check=_rds_enhanced_monitoring,
        config=_ENVIRONMENT_CONFIG,
    ),
    resource_rule(
        "rds-force-ssl",
        description="RDS uses a parameter group of its own that forces SSL connections.",
        category=Category.SECURITY,
        severity=Severity.HIGH,
        remediation="Create an aws.rds.ParameterGroup for the engine family with "
        "rds.force_ssl=1 and pass its name as parameter_group_name.",
        types=[RDS_INSTANCE, RDS_PARAMETER_GROUP],
        check=_rds_force_ssl,
    ),
    resource_rule(
        "ec2-imdsv2",
        description="EC2 instances require IMDSv2 session tokens.",
        category=Category.SECURITY,
        severity=Severity.HIGH,
        remediation='Set metadata_options={"http_tokens": "required"}.',
        types=[EC2_INSTANCE],
        check=_ec2_imdsv2,
    ),
    resource_rule(
        "ec2-imds-hop-limit",
        description="EC2 instances answer IMDS requests one hop away only: the host, not its "
        "containers. The Docker awslogs driver runs in dockerd, a host process, so it needs no "
        "more; with 2, every container on a bridge network can take the instance role.",
        category=Category.SECURITY,
        severity=Severity.HIGH,
        remediation='Set metadata_options={"http_put_response_hop_limit": 1}; give a container '
        "that really needs AWS credentials its own, never the host role.",
        types=[EC2_INSTANCE],
        check=_ec2_imds_hop_limit,
        config={"maximumHops": {"type": "integer", "minimum": 1, "maximum": 64, "default": 1}},
    ),
    resource_rule(
        "ec2-encrypted-volumes",
        description="EC2 root and attached EBS volumes are encrypted.",
        category=Category.SECURITY,
        severity=Severity.HIGH,
        remediation='Set root_block_device={"encrypted": True} (and encrypted=True on every '
        "ebs_block_devices entry).",
        types=[EC2_INSTANCE],
        check=_ec2_encrypted_volumes,
    ),
    resource_rule(
        "ebs-volume-encrypted",
        description="Every EBS volume of its own (an app host's data volume) is encrypted.",
        category=Category.SECURITY,
        severity=Severity.HIGH,
        remediation="Set encrypted=True on the aws.ebs.Volume; an existing volume is encrypted "
        "by restoring a snapshot copy into a new, encrypted one.",
        types=[EBS_VOLUME],
        check=_ebs_volume_encrypted,
    ),
    resource_rule(
        "ec2-no-public-ip",
        description="EC2 instances get no public IP address.",
        category=Category.SECURITY,
        severity=Severity.HIGH,
        remediation="Set associate_public_ip_address=False and place the instance in a private "
        "subnet; traffic arrives through the load balancers.",
        types=[EC2_INSTANCE],
        check=_ec2_no_public_ip,
    ),
    resource_rule(
        "ec2-instance-profile",
        description="EC2 instances run with an instance profile (SSM access, scoped credentials).",
        category=Category.SECURITY,
        severity=Severity.MEDIUM,
        remediation="Attach an aws.iam.InstanceProfile whose role holds the SSM agent's "
        "inline policy (components.aws.instance_identity); shell access is Session Manager.",
        types=[EC2_INSTANCE],
        check=_ec2_instance_profile,
    ),
    resource_rule(
        "sg-no-public-ingress",
        description="No ingress from 0.0.0.0/0, ::/0 or any public range except Cloudflare's "
        "(the edge ingress), and from those only on the edge ports (TCP 80 and 443), in inline "
        "rules and in both standalone rule resources.",
        category=Category.SECURITY,
        severity=Severity.CRITICAL,
        remediation="Admit the edge only from cloudflare.get_ip_ranges() on the listener ports "
        "(TCP 80 and 443) and everything else from security groups "
        "(referenced_security_group_id); if Cloudflare published new ranges, update this "
        "rule's edgeCidrs config.",
        types=[SECURITY_GROUP, DEFAULT_SECURITY_GROUP, INGRESS_RULE, LEGACY_RULE],
        check=_sg_no_public_ingress,
        config={
            "edgeCidrs": {
                "type": "array",
                "items": {"type": "string"},
                "default": list(CLOUDFLARE_CIDRS),
                "description": "The public ranges the edge ingress may admit.",
            },
            "edgePorts": {
                "type": "array",
                "items": {"type": "integer", "minimum": 1, "maximum": 65535},
                "default": list(EDGE_PORTS),
                "description": "The TCP ports the edge ranges may reach.",
            },
        },
    ),
    resource_rule(
        "sg-no-admin-ports",
        description="No ingress on SSH (22) or RDP (3389) from anywhere, all-ports rules included.",
        category=Category.SECURITY,
        severity=Severity.CRITICAL,
        remediation="Remove the rule; use SSM Session Manager for shell access and open only the "
        "application ports (not protocol -1).",
        types=[SECURITY_GROUP, DEFAULT_SECURITY_GROUP, INGRESS_RULE, LEGACY_RULE],
        check=_sg_no_admin_ports,
    ),
    resource_rule(
        "sg-described",
        description="Every security group and every rule says what it is for.",
        category=Category.OPERATIONS,
        severity=Severity.LOW,
        remediation="Set description= on the group and on each rule.",
        types=[SECURITY_GROUP, INGRESS_RULE, EGRESS_RULE, LEGACY_RULE],
        check=_sg_described,
    ),
    resource_rule(
        "alb-drop-invalid-headers",
        description="Application load balancers drop invalid HTTP header fields.",
        category=Category.SECURITY,
        severity=Severity.MEDIUM,
        remediation="Set drop_invalid_header_fields=True on the ALB.",
        types=LOAD_BALANCERS,
        check=_alb_drop_invalid_headers,
    ),
    resource_rule(
        "lb-https-tls-policy",
        description="HTTPS and TLS listeners use a TLS 1.2+ security policy.",
        category=Category.SECURITY,
        severity=Severity.HIGH,
        remediation="Set ssl_policy to ELBSecurityPolicy-TLS13-1-2-2021-06 "
        "(ticketing:ingress.tlsPolicy) or another TLS 1.2+ policy.",
        types=LISTENERS,
        check=_lb_tls_policy,
        config={
            "allowedPolicies": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Exact policy names to allow instead of any TLS 1.2+ policy.",
            }
        },
    ),
    resource_rule(
        "lb-http-redirects-to-https",
        description="Plain HTTP listeners do nothing but redirect to HTTPS.",
        category=Category.SECURITY,
        severity=Severity.HIGH,
        remediation='Make the default action {"type": "redirect", "redirect": {"protocol": '
        '"HTTPS", "port": "443", "status_code": "HTTP_301"}}.',
        types=LISTENERS,
        check=_lb_http_redirects,
    ),
    resource_rule(
        "cloudwatch-log-retention",
        description="CloudWatch log groups keep logs at least the configured days, not forever.",
        category=Category.OPERATIONS,
        severity=Severity.LOW,
        remediation="Set retention_in_days (ticketing:observability.logRetentionDays).",
        types=[LOG_GROUP],
        check=_log_retention,
        config={"minimumDays": {"type": "number", "minimum": 1, "default": 14}},
    ),
    resource_rule(
        "ssm-credentials-secure-string",
        description="SSM parameters that hold credentials are SecureString.",
        category=Category.SECURITY,
        severity=Severity.CRITICAL,
        remediation='Create the parameter with type="SecureString"; keep String parameters '
        "(like the compose document) free of passwords by referencing the service env files.",
        types=[SSM_PARAMETER],
        check=_ssm_secure_string,
    ),
    resource_rule(
        "ssm-securestring-customer-key",
        description="Every SecureString parameter is encrypted with a customer-managed KMS key "
        "(its keyId). The AWS-managed aws/ssm key's policy lets every principal of the account "
        "decrypt through SSM, so any role allowed to read a parameter's name reads its value.",
        category=Category.SECURITY,
        severity=Severity.HIGH,
        remediation="Set key_id to the environment's secrets key "
        "(components.aws.secrets_key.SecretsKey) and let each reader decrypt its own "
        "parameters by their PARAMETER_ARN encryption context (decrypt_statements).",
        types=[SSM_PARAMETER],
        check=_ssm_customer_key,
    ),
    resource_rule(
        "sns-topic-encrypted",
        description="SNS topics encrypt messages at rest with a customer-managed KMS key. "
        "Mandatory for the AWS-managed alias/aws/sns too: this platform's topics carry "
        "CloudWatch alarms, and that key's policy cannot let CloudWatch encrypt, so every "
        "alarm notification would be silently dropped.",
        category=Category.SECURITY,
        severity=Severity.MEDIUM,
        remediation="Create an aws.kms.Key (rotation on) whose policy grants "
        "cloudwatch.amazonaws.com kms:Decrypt and kms:GenerateDataKey*, set "
        "kms_master_key_id to its ARN, and let CloudWatch sns:Publish in an "
        "aws.sns.TopicPolicy (components.aws_observability.AlarmTopic).",
        types=[SNS_TOPIC],
        check=_sns_encrypted,
    ),
    stack_rule(
        "vpc-flow-logs",
        description="Every VPC has a flow log.",
        category=Category.SECURITY,
        severity=Severity.MEDIUM,
        remediation="Add an aws.ec2.FlowLog with vpc_id=vpc.id to a CloudWatch log group "
        "(ticketing:network.flowLogRetentionDays).",
        check=_vpc_flow_logs,
    ),
    resource_rule(
        "aws-provider-default-tags",
        description="The AWS provider tags everything with environment, stack and managed-by.",
        category=Category.ARCHITECTURE,
        severity=Severity.LOW,
        remediation="Pass default_tags=aws.ProviderDefaultTagsArgs(tags=...) to aws.Provider "
        "(components.aws.provider.default_tags).",
        types=[AWS_PROVIDER],
        check=_provider_default_tags,
        config={
            "requiredTags": {
                "type": "array",
                "items": {"type": "string"},
                "default": list(REQUIRED_TAGS),
            }
        },
    ),
]
