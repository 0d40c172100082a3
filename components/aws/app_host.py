"""`AppHostFirewall` and `AppHost`: the Docker Compose VMs, configured through SSM only."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws import placement
from components.aws.database import Database
from components.aws.instance_identity import session_manager_identity
from components.aws.placement import HostLayout
from components.aws.service_stack import ServiceBackingStack
from components.aws.venue_sync import VenueSyncCredentials
from components.aws.web_client import WebClientSite
from components.host import apply_document as host_apply
from components.host import compose
from components.host.app_user_data import render_user_data
from components.host.apply_document import ApplySpec, DatabaseTarget
from components.outputs import ComponentOutputs
from components.settings import CloudSettings
from components.venue.sync import METRIC_NAMESPACE
from seed import naming
from seed.catalog import SERVICES, DomainService

UBUNTU_AMI_PARAMETER = (
    "/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id"
)
STANDARD_PARAMETER_BYTES = 4096
# The data volume's attachment name; the host finds it by volume id (Nitro) or as xvdf.
DATA_DEVICE_NAME = "/dev/sdf"
# How long `pulumi up` waits for a deploy's run: a first boot installs Docker and the
# tools before it applies; later runs pull images and wait for health checks.
APPLY_WAIT_SECONDS = 1800
APPLY_SCHEDULE = "rate(30 minutes)"  # also repairs drift (a stopped container, a lost env file)
# IMDSv2 answers only processes one hop away: the host itself. The awslogs log driver runs
# inside dockerd, a host process, so it gets the role's credentials; a container on a bridge
# network is one hop further and gets none, so it can never read the host role's SSM paths
# or master secrets. (Docker's awslogs docs: the daemon needs the credentials; EC2 User
# Guide, "Instance metadata access": a container counts as an extra hop.)
IMDS_HOP_LIMIT = 1


@dataclass(frozen=True)
class AppHostFirewallArgs:
    """What the app hosts' security group admits.

    Attributes:
        vpc_id: the VPC.
        alb_security_group_id: the ALB's group, the only source admitted.
        ports: (owner, host port) of every service and web client that publishes one.
    """

    vpc_id: pulumi.Input[str]
    alb_security_group_id: pulumi.Input[str]
    ports: tuple[tuple[str, int], ...]

    @classmethod
    def of(
        cls, vpc_id: pulumi.Input[str], alb_security_group_id: pulumi.Input[str]
    ) -> AppHostFirewallArgs:
        """Every catalog service's and web client's host port (`placement.host_ports`),
        admitted from this ALB group."""
        ports = tuple(sorted(placement.host_ports().items(), key=lambda item: item[1]))
        return cls(vpc_id, alb_security_group_id, ports)


@dataclass(frozen=True)
class AppHostFirewallOutputs(ComponentOutputs):
    """`security_group_id`: the group every app host (and its databases' rules) uses."""

    security_group_id: pulumi.Output[str]


class AppHostFirewall(pulumi.ComponentResource):
    """The security group every app host shares, and the ALB's way to it.

    Ingress only from the ALB's group on each container's host port; egress
    only to HTTPS (SSM, CloudWatch, registries through NAT) and HTTP (Ubuntu's
    signed package mirrors). Each database adds its own 5432 egress rule.
    No port 22: shell access is SSM Session Manager.
    """

    outputs: AppHostFirewallOutputs

    def __init__(
        self, name: str, args: AppHostFirewallArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ticketing:aws:AppHostFirewall", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description="App hosts: container host ports from the ALB only, no SSH",
            tags={"Name": f"{name}-sg"},
            opts=child,
        )
        for owner, port in args.ports:
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-from-alb-{owner}",
                security_group_id=group.id,
                referenced_security_group_id=args.alb_security_group_id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                description=f"{owner} from the ALB",
                opts=child,
            )
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-alb-to-{owner}",
                security_group_id=args.alb_security_group_id,
                referenced_security_group_id=group.id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                description=f"ALB to {owner} on the app hosts",
                opts=child,
            )
        for port, why in (
            (443, "HTTPS: SSM, CloudWatch, Secrets Manager, image registries (via NAT)"),
            (80, "HTTP: Ubuntu package mirrors (packages are signature-checked)"),
        ):
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-egress-{port}",
                security_group_id=group.id,
                cidr_ipv4="0.0.0.0/0",
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                description=why,
                opts=child,
            )
        self.outputs = AppHostFirewallOutputs(security_group_id=group.id)
        self.register_outputs(self.outputs.registered())


def apply_spec(
    layout: HostLayout,
    settings: CloudSettings,
    databases: Mapping[str, Database],
    venues: Sequence[str] = (),
) -> ApplySpec:
    """What the host applies: its services, their databases, and the venues' credentials.

    Per RDS instance, the services whose database it bootstraps: its own, and on the
    shared host those of the ECS services (`placement.bootstrapped_elsewhere`);
    `venues` only if the host runs `naming.VENUE_SYNC_SERVICE`, whose env file gets them.
    """
    elsewhere = placement.bootstrapped_elsewhere(settings, layout)
    targets: list[DatabaseTarget] = []
    for target in databases:
        residents = placement.databases(settings).get(target, ())
        here = tuple(s for s in (*layout.services, *elsewhere) if s in residents)
        if here:
            ordered = tuple(sorted(here, key=_catalog_order))
            targets.append(DatabaseTarget(target, ordered, residents))
    syncs = any(s.name == naming.VENUE_SYNC_SERVICE for s in layout.services)
    return ApplySpec(
        layout.services,
        tuple(targets),
        tuple(venues) if syncs else (),
        elsewhere,
        placement.moves(settings, layout),
    )


def _catalog_order(service: DomainService) -> int:
    return SERVICES.index(service)


class AppHost(pulumi.ComponentResource):
    """One EC2 VM running Docker Compose; deploys reach it only through SSM.

    Ubuntu 24.04 from Canonical's public SSM parameter (later AMIs are
    ignored: a new AMI would replace the VM), a private subnet, no public IP,
    IMDSv2 with hop limit 1 (see `IMDS_HOP_LIMIT`), an encrypted gp3 root
    volume, detailed monitoring, no key pair. Docker's data root (the named
    volumes: RabbitMQ's queues) is an encrypted EBS volume of its own, attached
    once the VM runs and mounted by user data before Docker is installed, so a
    replaced VM finds the queues where its predecessor left them. The VM is
    created after its subnet's route and NAT exist; a NAT may still take a few
    minutes to forward, so user data, which only installs Docker and Compose
    and a systemd unit, retries the install for longer than that. The compose
    document and bootstrap SQL are SSM parameters under `naming.ssm_host_path`;
    an SSM document and association install whatever the host lacks (psql and
    the AWS CLI, or Docker after a failed first boot), write the env files,
    bootstrap the databases and run `docker compose up`. An image tag change
    therefore changes SSM resources only, never the instance.

    Args:
        layout: which services and web clients the host runs.
        settings: the stack's settings.
        subnet_id: the private subnet it runs in.
        zone: that subnet's availability zone (the data volume's).
        egress: that subnet's way to the internet (`AwsNetwork.private_egress`); the VM
            is created only after these resources exist, because first boot installs
            packages.
        security_group_id: `AppHostFirewall.security_group_id`.
        services: the backing stacks of `layout.services`.
        web_clients: the sites of `layout.web_clients`.
        databases: every RDS instance by placement name (`shared` or a service name).
        venue_sync: the venues' sync credentials; the host running the ticketing
            service puts them in its env file.
        bootstrapped: the backing stacks of `placement.bootstrapped_elsewhere(layout)`,
            the ECS services whose databases this host bootstraps.
        opts: must carry the stack's AWS provider.
    """

    instance_id: pulumi.Output[str]
    private_ip: pulumi.Output[str]
    data_volume_arn: pulumi.Output[str]
    session_command: pulumi.Output[str]
    compose_parameter_name: str

    def __init__(
        self,
        layout: HostLayout,
        *,
        settings: CloudSettings,
        subnet_id: pulumi.Input[str],
        zone: str,
        egress: Sequence[pulumi.Resource],
        security_group_id: pulumi.Input[str],
        services: Sequence[ServiceBackingStack],
        web_clients: Sequence[WebClientSite],
        databases: Mapping[str, Database],
        venue_sync: VenueSyncCredentials | None = None,
        bootstrapped: Sequence[ServiceBackingStack] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        name = f"{layout.name}-host"
        super().__init__("ticketing:aws:AppHost", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        env = settings.environment
        host_path = naming.ssm_host_path(env, layout.name)
        spec = apply_spec(layout, settings, databases, venue_sync.venues if venue_sync else ())
        # Only the host whose env files carry the venue credentials waits for them.
        venue_inputs = [venue_sync] if venue_sync and spec.venues else []
        used = {t.name: databases[t.name] for t in spec.databases}
        if spec.moves:  # the shared instance its moving databases come from
            used.setdefault(placement.SHARED, databases[placement.SHARED])

        # --- documents in SSM (plain: the compose file and SQL hold no secret) -----------
        host_spec = compose.HostSpec(
            name=layout.name,
            region=settings.region,
            services=tuple(s.compose_spec for s in services),
            web_clients=tuple(w.compose_spec for w in web_clients),
            redis_image=settings.backing_images.redis,
            rabbitmq_image=settings.backing_images.rabbitmq,
        )
        documents = {
            host_apply.COMPOSE_PARAMETER: host_apply.pack_parameter(
                compose.to_yaml(compose.render_compose(host_spec))
            ),
            **{t.parameter: host_apply.pack_parameter(t.bootstrap_sql) for t in spec.databases},
        }
        self.compose_parameter_name = f"{host_path}/{host_apply.COMPOSE_PARAMETER}"
        host_parameters = [
            aws.ssm.Parameter(
                f"{name}-{leaf.replace('/', '-')}",
                name=f"{host_path}/{leaf}",
                type="String",
                insecure_value=value,
                tier="Standard" if len(value) <= STANDARD_PARAMETER_BYTES else "Advanced",
                description=f"{layout.name} host: {leaf} (gzip, base64)",
                opts=child,
            )
            for leaf, value in documents.items()
        ]

        # --- identity: the SSM agent, its own logs, parameters and master secrets only -
        identity = session_manager_identity(
            name, f"App host {layout.name} ({env})", child, runs_associations=True
        )
        role = identity.role
        # Output-form invokes: a plain invoke would stall the program until it resolves.
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        paths = [host_path] + [naming.ssm_service_path(env, s.name) for s in layout.services]
        # The database password of each service it bootstraps but does not run, nothing more.
        passwords = [
            naming.ssm_service_parameter(env, s.name, naming.DATABASE_PASSWORD)
            for s in spec.bootstrap_only
        ]
        log_arns = [s.outputs.log_group_arn for s in services] + [
            w.outputs.log_group_arn for w in web_clients
        ]
        policy = pulumi.Output.all(
            account=account,
            logs=pulumi.Output.all(*log_arns),
            secrets=pulumi.Output.all(*[d.outputs.master_secret_arn for d in used.values()]),
        ).apply(
            lambda v: _host_policy(
                [f"arn:aws:ssm:{settings.region}:{v['account']}:parameter{p}" for p in paths],
                list(v["logs"]),
                list(v["secrets"]),
                venue_metrics=bool(spec.venues),
                parameters=[
                    f"arn:aws:ssm:{settings.region}:{v['account']}:parameter{p}" for p in passwords
                ],
            )
        )
        access = aws.iam.RolePolicy(f"{name}-access", role=role.id, policy=policy, opts=child)

        # --- the VM and its data volume ------------------------------------------------
        # Outside dev the volume is protected and kept should the stack let go of it: it
        # holds the queues. The instance waits for it at first boot (user data).
        data = aws.ebs.Volume(
            f"{name}-data",
            availability_zone=zone,
            size=settings.app_host.data_volume_gb,
            type="gp3",
            encrypted=True,
            tags={"Name": f"{naming.PROJECT}-{env}-{layout.name}-data"},
            opts=pulumi.ResourceOptions(
                parent=self, protect=not settings.is_dev, retain_on_delete=not settings.is_dev
            ),
        )
        ami = aws.ssm.get_parameter_output(name=UBUNTU_AMI_PARAMETER, opts=invoke).insecure_value
        instance = aws.ec2.Instance(
            f"{name}-vm",
            ami=ami,
            instance_type=settings.app_host.instance_type,
            subnet_id=subnet_id,
            vpc_security_group_ids=[security_group_id],
            iam_instance_profile=identity.profile.name,
            associate_public_ip_address=False,
            monitoring=True,
            metadata_options=aws.ec2.InstanceMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                http_put_response_hop_limit=IMDS_HOP_LIMIT,
            ),
            root_block_device=aws.ec2.InstanceRootBlockDeviceArgs(
                volume_type="gp3",
                volume_size=settings.app_host.root_volume_gb,
                encrypted=True,
                delete_on_termination=True,
            ),
            user_data=data.id.apply(
                lambda volume_id: render_user_data(settings.network.docker_pool, volume_id)
            ),
            disable_api_termination=not settings.is_dev,
            tags={"Name": f"{naming.PROJECT}-{env}-{layout.name}"},
            # cloud-init installs Docker once, at first boot: the route out must exist by then.
            # User data only runs at first boot, and changing it would stop and start the VM:
            # a running host takes new bootstrap steps from the apply document instead.
            opts=pulumi.ResourceOptions(
                parent=self, ignore_changes=["ami", "user_data"], depends_on=list(egress)
            ),
        )
        aws.ec2.VolumeAttachment(
            f"{name}-data",
            device_name=DATA_DEVICE_NAME,
            volume_id=data.id,
            instance_id=instance.id,
            # Docker stops with the instance before the volume goes: no torn writes.
            stop_instance_before_detaching=True,
            opts=child,
        )
        self.data_volume_arn = data.arn
        for owner, target_group_arn, port in [
            *[
                (s.compose_spec.name, s.outputs.target_group_arn, s.compose_spec.host_port)
                for s in services
            ],
            *[
                (w.compose_spec.name, w.outputs.target_group_arn, w.compose_spec.host_port)
                for w in web_clients
            ],
        ]:
            aws.lb.TargetGroupAttachment(
                f"{name}-{owner}",
                target_group_arn=target_group_arn,
                target_id=instance.id,
                port=port,
                opts=child,
            )

        # --- applying the desired state -------------------------------------------------
        content = json.dumps(host_apply.render_apply_document(spec), sort_keys=True)
        document = aws.ssm.Document(
            f"{name}-apply",
            document_type="Command",
            document_format="JSON",
            content=content,
            opts=child,
        )
        parameters: dict[str, pulumi.Input[str]] = {
            "Environment": env,
            "HostName": layout.name,
            "Region": settings.region,
        }
        for target in spec.databases:
            database = used[target.name]
            parameters[target.document_parameter("DatabaseHost")] = database.outputs.address
            parameters[target.document_parameter("DatabasePort")] = database.outputs.port.apply(str)
            parameters[target.document_parameter("MasterSecretArn")] = (
                database.outputs.master_secret_arn
            )
        for service in spec.moves:
            shared = used[placement.SHARED]
            parameters[host_apply.move_parameter(service, "Host")] = shared.outputs.address
            parameters[host_apply.move_parameter(service, "Port")] = shared.outputs.port.apply(str)
            parameters[host_apply.move_parameter(service, "MasterSecretArn")] = (
                shared.outputs.master_secret_arn
            )
        # SSM runs an association when it is created and whenever it is updated; its
        # schedule alone never notices new parameter values. So the name carries a digest
        # of everything the host applies (documents, script, each secret's version), and a
        # new name replaces the association: the provider waits for a run to succeed only
        # when it creates one (`wait_for_success_timeout_seconds`; an update returns at
        # once), so each deploy is a create that `pulumi up` waits for and that fails it
        # when the apply fails on the host. The old association goes first, so two never
        # apply to the host at once.
        revisions = [s.outputs.revision for s in (*services, *bootstrapped)] + [
            v.outputs.revision for v in venue_inputs
        ]
        digest = pulumi.Output.all(*revisions).apply(
            lambda revisions: _digest([content, *documents.values(), *map(str, revisions)])
        )
        aws.ssm.Association(
            f"{name}-apply",
            name=document.name,
            association_name=digest.apply(lambda d: f"{naming.PROJECT}-{env}-{layout.name}-{d}"),
            document_version="$LATEST",
            targets=[aws.ssm.AssociationTargetArgs(key="InstanceIds", values=[instance.id])],
            parameters=parameters,
            schedule_expression=APPLY_SCHEDULE,
            compliance_severity="HIGH",
            max_concurrency="1",
            max_errors="0",
            wait_for_success_timeout_seconds=APPLY_WAIT_SECONDS,
            # Its first run must find the documents and the role's permissions in place.
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[instance, *host_parameters, access, identity.agent, *venue_inputs],
                replace_on_changes=["associationName"],
                delete_before_replace=True,
            ),
        )

        self.instance_id = instance.id
        self.private_ip = instance.private_ip
        self.session_command = pulumi.Output.concat(
            "aws ssm start-session --region ", settings.region, " --target ", instance.id
        )
        self.register_outputs(
            {
                "instanceId": self.instance_id,
                "privateIp": self.private_ip,
                "sessionCommand": self.session_command,
            }
        )


def _digest(parts: Sequence[str]) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def _host_policy(
    parameter_paths: list[str],
    log_groups: list[str],
    secrets: list[str],
    *,
    venue_metrics: bool = False,
    parameters: Sequence[str] = (),
) -> str:
    """Read its own SSM paths (and single `parameters`) and master secrets, write its own
    log groups; nothing else. The host running the venue sync also publishes the venues'
    heartbeat metrics, in their namespace only.

    SecureStrings and RDS secrets use the AWS-managed keys, whose key policies
    already allow decryption through SSM and Secrets Manager for the account.
    PutMetricData has no resource-level permissions ("*" is the only resource); the
    `cloudwatch:namespace` condition key narrows it (AWS's Service Authorization
    Reference for CloudWatch).
    """
    statements: list[dict[str, object]] = [
        {
            "Sid": "ReadOwnParameters",
            "Effect": "Allow",
            "Action": ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"],
            "Resource": [arn for p in parameter_paths for arn in (p, f"{p}/*")] + [*parameters],
        },
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            "Resource": [arn for g in log_groups for arn in (g, f"{g}:*")],
        },
    ]
    if secrets:
        statements.append(
            {
                "Sid": "ReadDatabaseMasterSecrets",
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                "Resource": secrets,
            }
        )
    if venue_metrics:
        statements.append(
            {
                "Sid": "PublishVenueHeartbeats",
                "Effect": "Allow",
                "Action": "cloudwatch:PutMetricData",
                "Resource": "*",
                "Condition": {"StringEquals": {"cloudwatch:namespace": METRIC_NAMESPACE}},
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)
