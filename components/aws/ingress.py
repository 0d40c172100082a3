"""`Ingress`: static IPs, load balancers and TLS in front of the app hosts, open only to Cloudflare.

Traffic: Cloudflare -> NLB on one Elastic IP per zone (TCP 443/80) -> internal
ALB (TLS on the validated ACM certificate) -> a routing rule added with
`Ingress.add_route` -> a service's or web client's target group. With
`ingress.staticIps` off (dev) there is no NLB: the ALB is internet-facing and
the edge points at its DNS name.

Listener rule priorities (unique per listener, lower wins) are declared per
service and web client in the catalog (`seed/catalog.py`: web clients' host
rules 10, 20; the API's paths 100, 110, ...), so a new service takes a priority
of its own and no existing rule is renumbered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.aws.access_logs import AccessLogBucket, AccessLogBucketArgs
from components.aws.network import AwsNetwork
from components.edge.origin import ORIGIN_HEADER, Origin
from components.edge.origin_pull import OriginPullPki, OriginPullPkiArgs
from components.outputs import ComponentOutputs, exported
from components.settings import CloudSettings

HTTPS_PORT = 443
HTTP_PORT = 80
LISTENER_PORTS = (HTTPS_PORT, HTTP_PORT)
# A security group holds 60 inbound rules per address family.
# Cloudflare keeps an idle connection to the origin open for up to 900 s ("Proxy Idle
# Timeout", https://developers.cloudflare.com/fundamentals/reference/connection-limits/);
# the ALB (default 60 s) and the NLB's TCP flows (default 350 s) must outlast it, or
# Cloudflare reuses a connection the origin just closed and answers 520.
ORIGIN_IDLE_TIMEOUT_SECONDS = 960
MAX_RULES_PER_FAMILY = 60
# An ALB rule evaluates at most 5 condition values; the host takes 1 and the lock 2 (both
# rotation slots' secrets).
MAX_PATH_PATTERNS = 2


def _rule_suffix(cidr: str) -> str:
    return cidr.replace(".", "-").replace(":", "-").replace("/", "-")


@dataclass(frozen=True)
class IngressArgs:
    """What the way in is built from.

    Attributes:
        hosts: the stack's public hostnames (`settings.public_hosts`), the only ones routed.
        vpc_id: the VPC.
        zones: the network's zones, one Elastic IP each with static IPs.
        public_subnet_ids: hold the NLB (or the ALB without it).
        private_subnet_ids: hold the internal ALB behind the NLB.
        certificate_arn: the VALIDATED certificate's ARN
            (`aws.acm.CertificateValidation.certificate_arn`), so the listener
            waits for validation.
        edge_cidrs: Cloudflare's published IPv4 ranges, the only public sources admitted.
        static_ips: an NLB on Elastic IPs in front of an internal ALB (`ingress.staticIps`).
        protect: deletion protection on the load balancers (outside dev).
        tls_policy: the HTTPS listener's security policy (`ingress.tlsPolicy`).
        secret_generations: the origin secret's rotation slots a and b -> generation.
        secret_sent: the slot the edge sends (`ingress.originSecret.send`).
        origin_pull: the origin-pull PKI when `ingress.originMtls` is `verify`, else None.
        access_logs: the ALB's access-log bucket when `ingress.accessLogDays` > 0, else None.
    """

    hosts: Mapping[str, str]
    vpc_id: pulumi.Input[str]
    zones: tuple[str, ...]
    public_subnet_ids: Sequence[pulumi.Input[str]]
    private_subnet_ids: Sequence[pulumi.Input[str]]
    certificate_arn: pulumi.Input[str]
    edge_cidrs: tuple[str, ...]
    static_ips: bool
    protect: bool
    tls_policy: str
    secret_generations: tuple[tuple[str, int], ...]
    secret_sent: str
    origin_pull: OriginPullPkiArgs | None
    access_logs: AccessLogBucketArgs | None

    @classmethod
    def of(
        cls,
        settings: CloudSettings,
        network: AwsNetwork,
        certificate_arn: pulumi.Input[str],
        edge_cidrs: Sequence[str],
    ) -> IngressArgs:
        """`network`: the VPC; `edge_cidrs`: Cloudflare's IPv4 ranges (`edge_ranges()`)."""
        if not edge_cidrs:
            raise ValueError("Cloudflare published no IPv4 ranges; refusing an unreachable origin")
        if len(edge_cidrs) * len(LISTENER_PORTS) > MAX_RULES_PER_FAMILY:
            raise ValueError(
                f"{len(edge_cidrs)} Cloudflare ranges x {len(LISTENER_PORTS)} ports exceed "
                f"the {MAX_RULES_PER_FAMILY} inbound rules a security group holds"
            )
        ingress = settings.ingress
        rotation = ingress.origin_secret
        return cls(
            hosts=dict(settings.public_hosts),
            vpc_id=network.outputs.vpc_id,
            zones=tuple(network.zones),
            public_subnet_ids=network.outputs.public_subnet_ids,
            private_subnet_ids=network.outputs.private_subnet_ids,
            certificate_arn=certificate_arn,
            edge_cidrs=tuple(edge_cidrs),
            static_ips=ingress.static_ips,
            protect=not settings.is_dev,
            tls_policy=ingress.tls_policy,
            secret_generations=(("a", rotation.generation_a), ("b", rotation.generation_b)),
            secret_sent=rotation.send,
            origin_pull=OriginPullPkiArgs.of(settings) if ingress.origin_mtls == "verify" else None,
            access_logs=AccessLogBucketArgs.of(settings) if ingress.access_log_days else None,
        )


@dataclass(frozen=True)
class IngressOutputs(ComponentOutputs):
    """What the ALB offers the routes' owners (`components.aws.routing.Router`) and the
    alarms, and the addresses the edge points at."""

    alb_security_group_id: pulumi.Output[str]
    https_listener_arn: pulumi.Output[str]
    alb_arn_suffix: pulumi.Output[str]
    static_ips: list[pulumi.Output[str]] = field(
        metadata=exported(
            "The Elastic IPs of the NLB in front of the ALB, one per availability zone, which "
            "the Cloudflare records point at (`ingress.staticIps`); empty where the records "
            "point at the ALB (dev).",
            people="the origin's addresses, which stay the same when the ALB is replaced",
        )
    )
    alb_dns_name: pulumi.Output[str] = field(
        metadata=exported(
            "The ALB's DNS name: behind the NLB, or what the Cloudflare records point at when "
            "the stack has no static IPs.",
            people="find the ALB and its listeners (`aws elbv2 describe-load-balancers`); "
            "a request without the origin-lock header gets 403",
        )
    )


class Ingress(pulumi.ComponentResource):
    """The only way into the AWS core: Cloudflare's ranges -> (NLB ->) ALB -> routing rules.

    The ALB's HTTPS listener answers 403 by default; a request is forwarded
    only by a rule from `add_route`, which always requires the origin-lock
    header and one of the stack's public hostnames. Port 80 only redirects.

    Args:
        name: prefix for every child's name.
        args: hostnames, network, certificate, edge ranges and ingress settings
            (`IngressArgs.of`).
        opts: must carry the stack's AWS provider.
    """

    outputs: IngressOutputs
    stack_outputs: dict[str, pulumi.Input[object]]
    hosts: Mapping[str, str]
    origin: Origin

    def __init__(
        self, name: str, args: IngressArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ticketing:aws:Ingress", name, None, opts)
        self._priorities: dict[int, str] = {}
        self._origin_mtls = args.origin_pull is not None
        self.hosts = args.hosts
        child = pulumi.ResourceOptions(parent=self)

        sent, accepted = self._origin_secrets(name, args, child)
        # The ALB accepts both slots, so switching what the edge sends never sees a 403.
        self._accepted_secrets = accepted
        pki = (
            OriginPullPki(f"{name}-origin-pull", args.origin_pull, opts=child)
            if args.origin_pull is not None
            else None
        )
        alb_sg, nlb_sg = self._security_groups(name, args, child)
        alb = self._alb(name, args, alb_sg, child)
        https, http = self._listeners(name, args, alb, pki, child)

        static_ips: list[pulumi.Output[str]] = []
        public_dns = alb.dns_name
        if nlb_sg is not None:
            nlb = self._static_ips(
                name, args, nlb_sg, alb, {HTTPS_PORT: https, HTTP_PORT: http}, static_ips
            )
            public_dns = nlb.dns_name

        self.origin = Origin(
            static_ips=static_ips,
            dns_name=public_dns,
            header=ORIGIN_HEADER,
            secret=sent,
            client_cert_pem=pki.outputs.client_cert_pem if pki else None,
            client_key_pem=pki.outputs.client_key_pem if pki else None,
        )
        self.outputs = IngressOutputs(
            alb_security_group_id=alb_sg.id,
            https_listener_arn=https.arn,
            alb_arn_suffix=alb.arn_suffix,
            alb_dns_name=alb.dns_name,
            static_ips=static_ips,
        )
        self.stack_outputs = self.outputs.stack_outputs()
        self.register_outputs(self.outputs.registered())

    @staticmethod
    def _origin_secrets(
        name: str, args: IngressArgs, child: pulumi.ResourceOptions
    ) -> tuple[pulumi.Output[str], list[pulumi.Output[str]]]:
        """The origin-lock secret's two rotation slots: (the one the edge sends, both)."""
        slots = {
            slot: random.RandomPassword(
                f"{name}-origin-secret" + ("" if slot == "a" else f"-{slot}"),
                length=48,
                special=False,  # header-safe, and no ALB wildcard characters (* ?)
                # A new generation is a new value; generation 1 keeps the first one.
                keepers=None if generation == 1 else {"generation": str(generation)},
                opts=child,
            )
            for slot, generation in args.secret_generations
        }
        sent = pulumi.Output.secret(slots[args.secret_sent].result)
        return sent, [pulumi.Output.secret(s.result) for s in slots.values()]

    def _security_groups(
        self, name: str, args: IngressArgs, child: pulumi.ResourceOptions
    ) -> tuple[aws.ec2.SecurityGroup, aws.ec2.SecurityGroup | None]:
        """The ALB's group and, with static IPs, the NLB's: Cloudflare's ranges reach the
        public one, and behind the NLB the ALB admits only the NLB's group."""
        alb_sg = aws.ec2.SecurityGroup(
            f"{name}-alb",
            vpc_id=args.vpc_id,
            description=(
                "ALB: HTTPS/HTTP from the ingress NLB only"
                if args.static_ips
                else "ALB: HTTPS and HTTP from the published Cloudflare ranges only"
            ),
            tags={"Name": f"{name}-alb"},
            opts=child,
        )
        if not args.static_ips:
            self._admit_edge(f"{name}-alb", alb_sg, args.edge_cidrs, child)
            return alb_sg, None
        nlb_sg = aws.ec2.SecurityGroup(
            f"{name}-nlb",
            vpc_id=args.vpc_id,
            description="NLB: TCP 443 and 80 from the published Cloudflare ranges only",
            tags={"Name": f"{name}-nlb"},
            opts=child,
        )
        self._admit_edge(f"{name}-nlb", nlb_sg, args.edge_cidrs, child)
        for port in LISTENER_PORTS:
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-alb-from-nlb-{port}",
                security_group_id=alb_sg.id,
                referenced_security_group_id=nlb_sg.id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                description=f"TCP {port} from the ingress NLB",
                opts=child,
            )
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-nlb-to-alb-{port}",
                security_group_id=nlb_sg.id,
                referenced_security_group_id=alb_sg.id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                description=f"TCP {port} (traffic and health checks) to the ALB",
                opts=child,
            )
        return alb_sg, nlb_sg

    @staticmethod
    def _alb(
        name: str,
        args: IngressArgs,
        alb_sg: aws.ec2.SecurityGroup,
        child: pulumi.ResourceOptions,
    ) -> aws.lb.LoadBalancer:
        """The ALB: internal in the private subnets behind the NLB, else internet-facing;
        its access logs in their own bucket when the stack keeps them."""
        logs = (
            AccessLogBucket(f"{name}-access-logs", args.access_logs, opts=child)
            if args.access_logs is not None
            else None
        )
        return aws.lb.LoadBalancer(
            f"{name}-alb",
            load_balancer_type="application",
            internal=args.static_ips,
            subnets=args.private_subnet_ids if args.static_ips else args.public_subnet_ids,
            security_groups=[alb_sg.id],
            ip_address_type="ipv4",
            drop_invalid_header_fields=True,
            enable_deletion_protection=args.protect,
            idle_timeout=ORIGIN_IDLE_TIMEOUT_SECONDS,
            access_logs=aws.lb.LoadBalancerAccessLogsArgs(
                bucket=logs.outputs.bucket, prefix=logs.outputs.prefix, enabled=True
            )
            if logs
            else None,
            tags={"Name": f"{name}-alb"},
            # ELB checks that it may write to the bucket when access logs are enabled.
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(depends_on=[logs.policy] if logs else [])
            ),
        )

    def _listeners(
        self,
        name: str,
        args: IngressArgs,
        alb: aws.lb.LoadBalancer,
        pki: OriginPullPki | None,
        child: pulumi.ResourceOptions,
    ) -> tuple[aws.lb.Listener, aws.lb.Listener]:
        """HTTPS answering 403 unless a route matches; HTTP only redirecting to HTTPS."""
        https = aws.lb.Listener(
            f"{name}-https",
            load_balancer_arn=alb.arn,
            port=HTTPS_PORT,
            protocol="HTTPS",
            ssl_policy=args.tls_policy,
            certificate_arn=args.certificate_arn,
            mutual_authentication=self._verify_origin_pulls(name, pki, child),
            default_actions=[
                aws.lb.ListenerDefaultActionArgs(
                    type="fixed-response",
                    fixed_response=aws.lb.ListenerDefaultActionFixedResponseArgs(
                        content_type="text/plain", message_body="Forbidden", status_code="403"
                    ),
                )
            ],
            opts=child,
        )
        http = aws.lb.Listener(
            f"{name}-http",
            load_balancer_arn=alb.arn,
            port=HTTP_PORT,
            protocol="HTTP",
            default_actions=[
                aws.lb.ListenerDefaultActionArgs(
                    type="redirect",
                    redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                        protocol="HTTPS", port=str(HTTPS_PORT), status_code="HTTP_301"
                    ),
                )
            ],
            opts=child,
        )
        return https, http

    def _health_check(self, port: int) -> aws.lb.TargetGroupHealthCheckArgs:
        """Without the origin header the ALB answers 403 (HTTPS) or 301 (HTTP): it is up,
        and the check never needs the secret. With mTLS verify the NLB, holding no client
        certificate, cannot complete an HTTPS handshake: port 443's group checks the
        ALB's port 80 listener (its redirect) instead."""
        if port == HTTPS_PORT and not self._origin_mtls:
            return aws.lb.TargetGroupHealthCheckArgs(
                protocol="HTTPS", port="traffic-port", path="/", matcher="403"
            )
        return aws.lb.TargetGroupHealthCheckArgs(
            protocol="HTTP", port=str(HTTP_PORT), path="/", matcher="301"
        )

    @staticmethod
    def _verify_origin_pulls(
        name: str, pki: OriginPullPki | None, child: pulumi.ResourceOptions
    ) -> aws.lb.ListenerMutualAuthenticationArgs | None:
        """mTLS `verify` against a trust store holding only the origin-pull CA (the ALB
        reads the CA bundle from S3); None leaves the listener without client auth."""
        if pki is None:
            return None
        bucket = aws.s3.Bucket(f"{name}-trust-store", force_destroy=True, opts=child)
        aws.s3.BucketPublicAccessBlock(
            f"{name}-trust-store",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        bundle = aws.s3.BucketObjectv2(
            f"{name}-trust-store-ca",
            bucket=bucket.id,
            key="origin-pull-ca.pem",
            content=pki.outputs.ca_cert_pem,
            content_type="application/x-pem-file",
            opts=child,
        )
        store = aws.lb.TrustStore(
            f"{name}-origin-pull",
            ca_certificates_bundle_s3_bucket=bucket.id,
            ca_certificates_bundle_s3_key=bundle.key,
            opts=child,
        )
        return aws.lb.ListenerMutualAuthenticationArgs(mode="verify", trust_store_arn=store.arn)

    def _admit_edge(
        self,
        prefix: str,
        group: aws.ec2.SecurityGroup,
        edge_cidrs: Sequence[str],
        child: pulumi.ResourceOptions,
    ) -> None:
        """One inbound rule per Cloudflare range and listener port, named by the range so a
        reordered list changes nothing."""
        for cidr in edge_cidrs:
            for port in LISTENER_PORTS:
                aws.vpc.SecurityGroupIngressRule(
                    f"{prefix}-cf-{_rule_suffix(cidr)}-{port}",
                    security_group_id=group.id,
                    cidr_ipv4=cidr,
                    ip_protocol="tcp",
                    from_port=port,
                    to_port=port,
                    description=f"TCP {port} from Cloudflare {cidr}",
                    opts=child,
                )

    def _static_ips(
        self,
        name: str,
        args: IngressArgs,
        nlb_sg: aws.ec2.SecurityGroup,
        alb: aws.lb.LoadBalancer,
        alb_listeners: dict[int, aws.lb.Listener],
        static_ips: list[pulumi.Output[str]],
    ) -> aws.lb.LoadBalancer:
        """An NLB on one Elastic IP per zone whose targets are the ALB's listeners."""
        child = pulumi.ResourceOptions(parent=self)
        mappings: list[aws.lb.LoadBalancerSubnetMappingArgs] = []
        for zone, subnet_id in zip(args.zones, args.public_subnet_ids, strict=True):
            eip = aws.ec2.Eip(
                f"{name}-{zone[-1]}",
                domain="vpc",
                tags={"Name": f"{name}-{zone}"},
                opts=child,
            )
            static_ips.append(eip.public_ip)
            mappings.append(
                aws.lb.LoadBalancerSubnetMappingArgs(
                    subnet_id=subnet_id, allocation_id=eip.allocation_id
                )
            )
        nlb = aws.lb.LoadBalancer(
            f"{name}-nlb",
            load_balancer_type="network",
            internal=False,
            subnet_mappings=mappings,
            # An NLB's security groups can only be set at creation: it has one from day one.
            security_groups=[nlb_sg.id],
            ip_address_type="ipv4",
            enable_cross_zone_load_balancing=True,
            enable_deletion_protection=args.protect,
            tags={"Name": f"{name}-nlb"},
            opts=child,
        )
        for port, listener in alb_listeners.items():
            # ALB-type target groups are TCP and their port must equal an ALB listener's.
            group = aws.lb.TargetGroup(
                f"{name}-alb-{port}",
                target_type="alb",
                protocol="TCP",
                port=port,
                vpc_id=args.vpc_id,
                health_check=self._health_check(port),
                opts=child,
            )
            aws.lb.TargetGroupAttachment(
                f"{name}-alb-{port}",
                target_group_arn=group.arn,
                target_id=alb.arn,
                port=port,
                # AWS registers an ALB target only once it listens on the group's port.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[listener]),
            )
            aws.lb.Listener(
                f"{name}-nlb-{port}",
                load_balancer_arn=nlb.arn,
                port=port,
                protocol="TCP",
                tcp_idle_timeout_seconds=ORIGIN_IDLE_TIMEOUT_SECONDS,
                default_actions=[
                    aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=group.arn)
                ],
                opts=child,
            )
        return nlb

    def add_route(
        self,
        name: str,
        *,
        host: str,
        path_patterns: Sequence[str] | None,
        target_group_arn: pulumi.Input[str],
        priority: int,
        opts: pulumi.ResourceOptions | None = None,
    ) -> aws.lb.ListenerRule:
        """Forward HTTPS requests for `host` (and `path_patterns`, if given) to a target group.

        Every rule also requires the origin-lock header, so nothing added here
        can bypass the edge.

        Args:
            name: the rule's resource name.
            host: one of the stack's public FQDNs (`settings.public_hosts` values).
            path_patterns: up to 2 ALB path patterns (`/payments`, `/payments/*`);
                None routes the whole host.
            target_group_arn: where matching requests go.
            priority: unique on the listener; see `placement.web_client_priority`
                and `placement.service_priority`.
            opts: usually `parent=<the caller's component>`; defaults to this ingress.
        """
        if host not in self.hosts.values():
            raise ValueError(
                f"route {name}: {host} is not a public hostname "
                f"(expected one of {', '.join(self.hosts.values())})"
            )
        if not 1 <= priority <= 50_000:
            raise ValueError(f"route {name}: priority {priority} is outside 1-50000")
        if priority in self._priorities:
            raise ValueError(
                f"route {name}: priority {priority} is already used by {self._priorities[priority]}"
            )
        patterns = list(path_patterns or [])
        if len(patterns) > MAX_PATH_PATTERNS:
            raise ValueError(f"route {name}: at most {MAX_PATH_PATTERNS} path patterns")
        self._priorities[priority] = name

        conditions = [
            aws.lb.ListenerRuleConditionArgs(
                http_header=aws.lb.ListenerRuleConditionHttpHeaderArgs(
                    http_header_name=ORIGIN_HEADER, values=self._accepted_secrets
                )
            ),
            aws.lb.ListenerRuleConditionArgs(
                host_header=aws.lb.ListenerRuleConditionHostHeaderArgs(values=[host])
            ),
        ]
        if patterns:
            conditions.append(
                aws.lb.ListenerRuleConditionArgs(
                    path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(values=patterns)
                )
            )
        return aws.lb.ListenerRule(
            name,
            listener_arn=self.outputs.https_listener_arn,
            priority=priority,
            actions=[
                aws.lb.ListenerRuleActionArgs(type="forward", target_group_arn=target_group_arn)
            ],
            conditions=conditions,
            opts=pulumi.ResourceOptions.merge(pulumi.ResourceOptions(parent=self), opts),
        )
