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
from components.aws.instance_identity import InstanceIdentity, session_manager_identity
from components.aws.placement import HostLayout
from components.aws.secrets_key import decrypt_statements
from components.aws.service_stack import ServiceBackingStack
from components.aws.venue_sync import VenueSyncCredentials
from components.aws.web_client import WebClientSite
from components.host import apply_document as host_apply
from components.host import cloudwatch_agent, compose
from components.host.app_user_data import render_user_data
from components.host.apply_document import ApplySpec, DatabaseTarget, RollingOwner
from components.outputs import ComponentOutputs
from components.settings import CloudSettings
from components.settings.cloud import RegistrySettings
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
        cls,
        vpc_id: pulumi.Input[str],
        alb_security_group_id: pulumi.Input[str],
        replicas: int = 1,
    ) -> AppHostFirewallArgs:
        """Every catalog service's and web client's host port (`placement.host_ports`), each
        replica's (`appHost.replicas`), admitted from this ALB group."""
        ports = tuple(sorted(placement.host_ports(replicas).items(), key=lambda item: item[1]))
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
    placed: Mapping[str, Sequence[DomainService]],
    elsewhere: Sequence[DomainService] = (),
    venues: Sequence[str] = (),
    moves: Sequence[DomainService] = (),
    registry: bool = False,
    rolling: Sequence[RollingOwner] = (),
) -> ApplySpec:
    """What the host applies: its services, their databases, and the venues' credentials.

    `placed`: RDS instance -> the services whose database it holds, its residents
    (`placement.databases`). Per instance, the services whose database the host
    bootstraps: its own, and on the shared host those of the ECS services
    (`elsewhere`: `placement.bootstrapped_elsewhere`); `venues` only if the host
    runs `naming.VENUE_SYNC_SERVICE`, whose env file gets them; `moves`: the
    services whose database it copies to their own instance (`placement.moves`);
    `rolling`: its services and web clients with two replicas.
    """
    targets: list[DatabaseTarget] = []
    for target, residents in placed.items():
        here = tuple(s for s in (*layout.services, *elsewhere) if s in residents)
        if here:
            ordered = tuple(sorted(here, key=_catalog_order))
            targets.append(DatabaseTarget(target, ordered, tuple(residents)))
    syncs = any(s.name == naming.VENUE_SYNC_SERVICE for s in layout.services)
    return ApplySpec(
        layout.services,
        tuple(targets),
        tuple(venues) if syncs else (),
        tuple(elsewhere),
        tuple(moves),
        registry,
        tuple(rolling),
    )


def _catalog_order(service: DomainService) -> int:
    return SERVICES.index(service)


@dataclass(frozen=True)
class AppHostConfig:
    """What one app host is, from the stack's settings alone (no other component's output).

    Attributes:
        layout: which services and web clients it runs (`placement.hosts`).
        environment: dev, staging or prod (SSM paths, tags, the association's name).
        region: the AWS region (its containers' logs, parameter ARNs, the session command).
        instance_type: the VM's EC2 type (`appHost.instanceType`).
        root_volume_gb: the root volume's size.
        data_volume_gb: Docker's data volume's size (RabbitMQ's queues).
        docker_pool: the address pool of Docker's networks (`network.dockerPool`).
        redis_image: the pinned Redis image every service's Redis runs.
        rabbitmq_image: the pinned RabbitMQ image every service's RabbitMQ runs.
        protect: outside dev: termination protection, and the data volume protected and
            retained.
        placed: RDS instance -> the services whose database it holds (`placement.databases`).
        bootstrapped: the ECS services whose databases it bootstraps
            (`placement.bootstrapped_elsewhere`).
        moves: its services whose database it copies from the shared instance to their
            own (`placement.moves`).
        move_source: the instance those copies come from (`placement.serving`).
        registry: the private registry it logs in to before pulling (`appHost.registry`).
    """

    layout: HostLayout
    environment: str
    region: str
    instance_type: str
    root_volume_gb: int
    data_volume_gb: int
    docker_pool: str
    redis_image: str
    rabbitmq_image: str
    protect: bool
    placed: Mapping[str, tuple[DomainService, ...]]
    bootstrapped: tuple[DomainService, ...]
    moves: tuple[DomainService, ...]
    move_source: str = placement.SHARED
    registry: RegistrySettings | None = None

    @classmethod
    def of(cls, settings: CloudSettings, layout: HostLayout) -> AppHostConfig:
        """`layout`'s host in the stack's `appHost`, `network` and `backingImages` settings."""
        return cls(
            layout=layout,
            environment=settings.environment,
            region=settings.region,
            instance_type=settings.app_host.instance_type,
            root_volume_gb=settings.app_host.root_volume_gb,
            data_volume_gb=settings.app_host.data_volume_gb,
            docker_pool=settings.network.docker_pool,
            redis_image=settings.backing_images.redis,
            rabbitmq_image=settings.backing_images.rabbitmq,
            protect=not settings.is_dev,
            placed=placement.databases(settings),
            bootstrapped=placement.bootstrapped_elsewhere(settings, layout),
            moves=placement.moves(settings, layout),
            move_source=placement.serving(settings),
            registry=settings.app_host.registry,
        )


@dataclass(frozen=True)
class HostDatabase:
    """What the apply document reads of one RDS instance the host bootstraps."""

    address: pulumi.Output[str]
    port: pulumi.Output[int]
    master_secret_arn: pulumi.Output[str]


@dataclass(frozen=True)
class HostTarget:
    """One target the host is in a target group as: a replica's container on its host port
    (`owner`: the container's name)."""

    owner: str
    target_group_arn: pulumi.Input[str]
    port: int


@dataclass(frozen=True)
class AppHostArgs:
    """What one app host runs and what it is wired to.

    Attributes:
        config: the host as the settings describe it (`AppHostConfig.of`).
        spec: what its apply document sets up (`apply_spec`).
        compose: what its compose document runs.
        subnet_id: the private subnet it runs in.
        zone: that subnet's availability zone (the data volume's).
        egress: that subnet's way to the internet (`AwsNetwork.private_egress`); the VM
            is created only after these resources exist, because first boot installs
            packages.
        security_group_id: `AppHostFirewall`'s group.
        targets: the target groups of its services and web clients.
        log_group_arns: the log groups its containers write.
        databases: the RDS instances it bootstraps, by `spec.databases` name, and the shared
            one its moving databases are copied from (`spec.moves`).
        revisions: the versions of the secrets it applies (its services', the
            bootstrapped services', and the venues' credentials where its env files
            carry them); a new one re-applies.
        waits_for: what its first apply must find in place besides its own resources
            (the venues' credentials, where it carries them).
        secret_names: the names of every SecureString its env files carry: its services'
            parameters and, where it carries them, the venues' credentials.
        secrets_key_arn: the key its SecureStrings and master secrets are encrypted with
            (`SecretsKey`); it may decrypt only its own with it.
    """

    config: AppHostConfig
    spec: ApplySpec
    compose: compose.HostSpec
    subnet_id: pulumi.Input[str]
    zone: str
    egress: tuple[pulumi.Resource, ...]
    security_group_id: pulumi.Input[str]
    targets: tuple[HostTarget, ...]
    log_group_arns: tuple[pulumi.Input[str], ...]
    databases: Mapping[str, HostDatabase]
    revisions: tuple[pulumi.Input[str], ...]
    waits_for: tuple[pulumi.Resource, ...]
    secret_names: pulumi.Output[list[str]]
    secrets_key_arn: pulumi.Input[str]

    @classmethod
    def of(
        cls,
        config: AppHostConfig,
        *,
        subnet_id: pulumi.Input[str],
        zone: str,
        egress: Sequence[pulumi.Resource],
        security_group_id: pulumi.Input[str],
        stacks: Mapping[str, ServiceBackingStack],
        sites: Mapping[str, WebClientSite],
        databases: Mapping[str, Database],
        secrets_key_arn: pulumi.Input[str],
        venue_sync: VenueSyncCredentials | None = None,
    ) -> AppHostArgs:
        """`config`'s host wired to its services' backing stacks and web clients' sites
        (`stacks`, `sites`: every one by name), every RDS instance by placement name and
        the venues' sync credentials."""
        layout = config.layout
        services = [stacks[s.name] for s in layout.services]
        web_clients = [sites[c.name] for c in layout.web_clients]
        venues = venue_sync.venues if venue_sync else ()
        placed = {target: config.placed.get(target, ()) for target in databases}
        specs = [s.compose_spec for s in services] + [w.compose_spec for w in web_clients]
        rolling = [RollingOwner(o.name, o.replicas) for o in specs if len(o.replicas) == 2]
        spec = apply_spec(
            layout,
            placed,
            config.bootstrapped,
            venues,
            config.moves,
            config.registry is not None,
            rolling,
        )
        used = [t.name for t in spec.databases]
        if spec.moves and config.move_source not in used:  # where the moving databases are
            used.append(config.move_source)
        # Only the host whose env files carry the venue credentials waits for them.
        venue_inputs = [venue_sync] if venue_sync and spec.venues else []
        host_spec = compose.HostSpec(
            name=layout.name,
            region=config.region,
            services=tuple(s.compose_spec for s in services),
            web_clients=tuple(w.compose_spec for w in web_clients),
            redis_image=config.redis_image,
            rabbitmq_image=config.rabbitmq_image,
        )
        groups = [(s.compose_spec, s.outputs.target_group_arn) for s in services] + [
            (w.compose_spec, w.outputs.target_group_arn) for w in web_clients
        ]
        targets = [
            HostTarget(container, arn, port)
            for owner, arn in groups
            for container, port in owner.replicas
        ]
        bootstrapped = [stacks[s.name] for s in config.bootstrapped]
        return cls(
            config=config,
            spec=spec,
            compose=host_spec,
            subnet_id=subnet_id,
            zone=zone,
            egress=tuple(egress),
            security_group_id=security_group_id,
            targets=tuple(targets),
            log_group_arns=tuple(
                [s.outputs.log_group_arn for s in services]
                + [w.outputs.log_group_arn for w in web_clients]
            ),
            databases={
                target: HostDatabase(
                    databases[target].outputs.address,
                    databases[target].outputs.port,
                    databases[target].outputs.master_secret_arn,
                )
                for target in used
            },
            revisions=tuple(
                [s.outputs.revision for s in (*services, *bootstrapped)]
                + [v.outputs.revision for v in venue_inputs]
            ),
            waits_for=tuple(venue_inputs),
            secret_names=pulumi.Output.all(*[s.outputs.parameter_names for s in services]).apply(
                lambda names: (
                    [str(n) for keys in names for n in keys.values()]
                    + [v.parameter_names[venue] for v in venue_inputs for venue in spec.venues]
                )
            ),
            secrets_key_arn=secrets_key_arn,
        )


@dataclass(frozen=True)
class AppHostOutputs(ComponentOutputs):
    """`instance_id` and `private_ip`: the VM; `session_command`: the shell on it through
    SSM; `data_volume_arn`: Docker's data volume (what the backups copy)."""

    instance_id: pulumi.Output[str]
    private_ip: pulumi.Output[str]
    session_command: pulumi.Output[str]
    data_volume_arn: pulumi.Output[str]


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
        name: prefix for every child's name (`<host>-host`).
        args: the host's settings, services, databases and network (`AppHostArgs.of`).
        opts: must carry the stack's AWS provider.
    """

    outputs: AppHostOutputs
    compose_parameter_name: str

    def __init__(
        self, name: str, args: AppHostArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ticketing:aws:AppHost", name, None, opts)
        host_path = naming.ssm_host_path(args.config.environment, args.config.layout.name)
        self.compose_parameter_name = f"{host_path}/{host_apply.COMPOSE_PARAMETER}"
        documents = _documents(args)
        parameters = self._parameters(name, args, host_path, documents)
        identity, access = self._identity(name, args, host_path)
        instance, data = self._vm(name, args, identity)
        attachments = self._target_groups(name, args, instance)
        self._apply(
            name,
            args,
            documents,
            instance,
            waits_for=[*parameters, access, identity.agent, *attachments, *args.waits_for],
        )
        self.outputs = AppHostOutputs(
            instance_id=instance.id,
            private_ip=instance.private_ip,
            session_command=pulumi.Output.concat(
                "aws ssm start-session --region ", args.config.region, " --target ", instance.id
            ),
            data_volume_arn=data.arn,
        )
        self.register_outputs(self.outputs.registered())

    def _parameters(
        self, name: str, args: AppHostArgs, host_path: str, documents: Mapping[str, str]
    ) -> list[aws.ssm.Parameter]:
        """The compose document and bootstrap SQL in SSM (plain: they hold no secret)."""
        host = args.config.layout.name
        return [
            aws.ssm.Parameter(
                f"{name}-{leaf.replace('/', '-')}",
                name=f"{host_path}/{leaf}",
                type="String",
                insecure_value=value,
                tier="Standard" if len(value) <= STANDARD_PARAMETER_BYTES else "Advanced",
                description=f"{host} host: {leaf} (gzip, base64)",
                opts=pulumi.ResourceOptions(parent=self),
            )
            for leaf, value in documents.items()
        ]

    def _identity(
        self, name: str, args: AppHostArgs, host_path: str
    ) -> tuple[InstanceIdentity, aws.iam.RolePolicy]:
        """The SSM agent's role, its own logs, parameters and master secrets only."""
        config = args.config
        env, region = config.environment, config.region
        child = pulumi.ResourceOptions(parent=self)
        identity = session_manager_identity(
            name, f"App host {config.layout.name} ({env})", child, runs_associations=True
        )
        # Output-form invoke: a plain invoke would stall the program until it resolves.
        account = aws.get_caller_identity_output(
            opts=pulumi.InvokeOutputOptions(parent=self)
        ).account_id
        paths = [host_path] + [naming.ssm_service_path(env, s.name) for s in args.spec.services]
        # The database password of each service it bootstraps but does not run, nothing more.
        passwords = [
            naming.ssm_service_parameter(env, s.name, naming.DATABASE_PASSWORD)
            for s in args.spec.bootstrap_only
        ]
        # The private registry's password, where the stack names one: that parameter only.
        if config.registry is not None:
            passwords.append(config.registry.password_parameter)
        # The target groups whose replicas it takes out and puts back in (`spec.rolling`).
        rolled = {r.owner for r in args.spec.rolling}
        groups = [t.target_group_arn for t in args.targets if t.owner in rolled]
        policy = pulumi.Output.all(
            account=account,
            logs=pulumi.Output.all(*args.log_group_arns),
            groups=pulumi.Output.all(*groups),
            secrets=pulumi.Output.all(*[d.master_secret_arn for d in args.databases.values()]),
            names=args.secret_names,
            key=args.secrets_key_arn,
        ).apply(
            lambda v: _host_policy(
                [f"arn:aws:ssm:{region}:{v['account']}:parameter{p}" for p in paths],
                list(v["logs"]),
                list(v["secrets"]),
                venue_metrics=bool(args.spec.venues),
                parameters=[f"arn:aws:ssm:{region}:{v['account']}:parameter{p}" for p in passwords],
                # Every SecureString it reads, by name: its services', its venues', its
                # bootstrapped services' passwords; and its databases' master secrets.
                decrypts=decrypt_statements(
                    str(v["key"]),
                    region,
                    parameter_arns=[
                        f"arn:aws:ssm:{region}:{v['account']}:parameter{p}"
                        for p in [*v["names"], *passwords]
                    ],
                    secret_arns=list(v["secrets"]),
                ),
                target_groups=[str(g) for g in v["groups"]],
            )
        )
        access = aws.iam.RolePolicy(
            f"{name}-access", role=identity.role.id, policy=policy, opts=child
        )
        return identity, access

    def _vm(
        self, name: str, args: AppHostArgs, identity: InstanceIdentity
    ) -> tuple[aws.ec2.Instance, aws.ebs.Volume]:
        """The VM and Docker's data volume, attached."""
        config = args.config
        label = f"{naming.PROJECT}-{config.environment}-{config.layout.name}"
        # Outside dev the volume is protected and kept should the stack let go of it: it
        # holds the queues. The instance waits for it at first boot (user data).
        data = aws.ebs.Volume(
            f"{name}-data",
            availability_zone=args.zone,
            size=config.data_volume_gb,
            type="gp3",
            encrypted=True,
            tags={"Name": f"{label}-data"},
            opts=pulumi.ResourceOptions(
                parent=self, protect=config.protect, retain_on_delete=config.protect
            ),
        )
        ami = aws.ssm.get_parameter_output(
            name=UBUNTU_AMI_PARAMETER, opts=pulumi.InvokeOutputOptions(parent=self)
        ).insecure_value
        instance = aws.ec2.Instance(
            f"{name}-vm",
            ami=ami,
            instance_type=config.instance_type,
            subnet_id=args.subnet_id,
            vpc_security_group_ids=[args.security_group_id],
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
                volume_size=config.root_volume_gb,
                encrypted=True,
                delete_on_termination=True,
            ),
            user_data=data.id.apply(
                lambda volume_id: render_user_data(config.docker_pool, volume_id)
            ),
            disable_api_termination=config.protect,
            tags={"Name": label},
            # cloud-init installs Docker once, at first boot: the route out must exist by then.
            # User data only runs at first boot, and changing it would stop and start the VM:
            # a running host takes new bootstrap steps from the apply document instead.
            opts=pulumi.ResourceOptions(
                parent=self, ignore_changes=["ami", "user_data"], depends_on=list(args.egress)
            ),
        )
        aws.ec2.VolumeAttachment(
            f"{name}-data",
            device_name=DATA_DEVICE_NAME,
            volume_id=data.id,
            instance_id=instance.id,
            # Docker stops with the instance before the volume goes: no torn writes.
            stop_instance_before_detaching=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return instance, data

    def _target_groups(
        self, name: str, args: AppHostArgs, instance: aws.ec2.Instance
    ) -> list[aws.lb.TargetGroupAttachment]:
        """The VM in its services' and web clients' target groups, once per replica's host
        port (the apply script takes a replica out and puts it back while replacing it)."""
        return [
            aws.lb.TargetGroupAttachment(
                f"{name}-{target.owner}",
                target_group_arn=target.target_group_arn,
                target_id=instance.id,
                port=target.port,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for target in args.targets
        ]

    def _apply(
        self,
        name: str,
        args: AppHostArgs,
        documents: Mapping[str, str],
        instance: aws.ec2.Instance,
        waits_for: Sequence[pulumi.Resource],
    ) -> None:
        """The SSM document that applies the desired state, and the association running it
        at every deploy and on `APPLY_SCHEDULE`."""
        config = args.config
        content = json.dumps(host_apply.render_apply_document(args.spec), sort_keys=True)
        document = aws.ssm.Document(
            f"{name}-apply",
            document_type="Command",
            document_format="JSON",
            content=content,
            opts=pulumi.ResourceOptions(parent=self),
        )
        parameters: dict[str, pulumi.Input[str]] = {
            "Environment": config.environment,
            "HostName": config.layout.name,
            "Region": config.region,
        }
        for target in args.spec.databases:
            database = args.databases[target.name]
            parameters[target.document_parameter("DatabaseHost")] = database.address
            parameters[target.document_parameter("DatabasePort")] = database.port.apply(str)
            parameters[target.document_parameter("MasterSecretArn")] = database.master_secret_arn
        if args.spec.rolling:
            parameters["InstanceId"] = instance.id
            arns = {t.owner: t.target_group_arn for t in args.targets}
            for rolling in args.spec.rolling:
                parameters[rolling.parameter] = arns[rolling.owner]
        if config.registry is not None:
            parameters["RegistryServer"] = config.registry.server
            parameters["RegistryUsername"] = config.registry.username
            parameters["RegistryPasswordParameter"] = config.registry.password_parameter
        for service in args.spec.moves:
            shared = args.databases[config.move_source]
            parameters[host_apply.move_parameter(service, "Host")] = shared.address
            parameters[host_apply.move_parameter(service, "Port")] = shared.port.apply(str)
            parameters[host_apply.move_parameter(service, "MasterSecretArn")] = (
                shared.master_secret_arn
            )
        # SSM runs an association when it is created and whenever it is updated; its
        # schedule alone never notices new parameter values. So the name carries a digest
        # of everything the host applies (documents, script, each secret's version), and a
        # new name replaces the association: the provider waits for a run to succeed only
        # when it creates one (`wait_for_success_timeout_seconds`; an update returns at
        # once), so each deploy is a create that `pulumi up` waits for and that fails it
        # when the apply fails on the host. The old association goes first, so two never
        # apply to the host at once.
        digest = pulumi.Output.all(*args.revisions).apply(
            lambda revisions: _digest([content, *documents.values(), *map(str, revisions)])
        )
        prefix = f"{naming.PROJECT}-{config.environment}-{config.layout.name}"
        aws.ssm.Association(
            f"{name}-apply",
            name=document.name,
            association_name=digest.apply(lambda d: f"{prefix}-{d}"),
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
                depends_on=[instance, *waits_for],
                replace_on_changes=["associationName"],
                delete_before_replace=True,
            ),
        )


def _documents(args: AppHostArgs) -> dict[str, str]:
    """SSM parameter leaf -> packed value: the compose document, then each database's
    bootstrap SQL."""
    return {
        host_apply.COMPOSE_PARAMETER: host_apply.pack_parameter(
            compose.to_yaml(compose.render_compose(args.compose))
        ),
        **{t.parameter: host_apply.pack_parameter(t.bootstrap_sql) for t in args.spec.databases},
    }


def _digest(parts: Sequence[str]) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def _host_policy(
    parameter_paths: list[str],
    log_groups: list[str],
    secrets: list[str],
    *,
    venue_metrics: bool = False,
    parameters: Sequence[str] = (),
    decrypts: Sequence[dict[str, object]] = (),
    target_groups: Sequence[str] = (),
) -> str:
    """Read its own SSM paths (and single `parameters`) and master secrets, write its own
    log groups, publish its CloudWatch agent's metrics in the agent's namespace only;
    nothing else. The host running the venue sync also publishes the venues'
    heartbeat metrics, in their namespace only.

    SecureStrings and RDS master secrets are encrypted with the environment's
    `SecretsKey`: `decrypts` (`secrets_key.decrypt_statements`) lets it decrypt exactly
    the ones it reads, by their encryption context.
    PutMetricData has no resource-level permissions ("*" is the only resource); the
    `cloudwatch:namespace` condition key narrows it (AWS's Service Authorization
    Reference for CloudWatch).

    A host with two replicas per owner deregisters and registers its own targets in its
    own `target_groups` only (RegisterTargets and DeregisterTargets take the targetgroup
    resource type), and reads target health for the waiters: DescribeTargetHealth has no
    resource-level permissions ("*"), and reveals health states only (AWS's Service
    Authorization Reference for Elastic Load Balancing V2).
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
    statements += decrypts
    # The CloudWatch agent's disk and memory use (components.host.cloudwatch_agent). It calls
    # no EC2 API: it appends the instance id from the instance metadata, and no tag or
    # volume dimension (its ec2tagger asks EC2 only for those). Nothing else of AWS's
    # CloudWatchAgentServerPolicy (logs, every namespace, ec2:DescribeTags and -Volumes).
    statements.append(
        {
            "Sid": "PublishHostMetrics",
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
            "Condition": {"StringEquals": {"cloudwatch:namespace": cloudwatch_agent.NAMESPACE}},
        }
    )
    if target_groups:
        rolls: list[dict[str, object]] = [
            {
                "Sid": "RollOwnTargets",
                "Effect": "Allow",
                "Action": [
                    "elasticloadbalancing:DeregisterTargets",
                    "elasticloadbalancing:RegisterTargets",
                ],
                "Resource": sorted(target_groups),
            },
            {
                "Sid": "WatchTargetHealth",
                "Effect": "Allow",
                "Action": "elasticloadbalancing:DescribeTargetHealth",
                "Resource": "*",
            },
        ]
        statements += rolls
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
