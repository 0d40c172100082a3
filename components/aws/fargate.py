"""`FargateCluster` and `FargateService`: a domain service on ECS Fargate, by config only.

`services.<name>.host: ecs` moves a service off the app hosts: its API becomes an
ECS service on Fargate in the private subnets, registered in the same ALB target
group (now `ip` targets), behind the same routing rule, origin lock, health check
path, log group and alarms. Its Redis and RabbitMQ follow it as ECS services of
their own, each found through a Cloud Map DNS name and each behind a security group
that admits only that service's API tasks. The task definitions themselves are
rendered by `components.aws.task_definitions`.

Why these choices:

- Cloud Map DNS rather than Service Connect: security groups already decide who
  reaches a store, and DNS A records (TTL 10 s) follow a replaced task without an
  Envoy proxy in every task.
- RabbitMQ keeps its data on EFS: a task's ephemeral storage, and the EBS volumes
  ECS manages for a service ("one volume created for each task", botocore's ECS
  model, `ServiceManagedEBSVolumeConfiguration`, which has no termination policy),
  end with the task; an EFS access point outlives every task. A single broker task
  (deployments stop the old task before starting a new one) is its only writer,
  with TLS and IAM authorisation on the mount.
- Desired count is where a new service starts; Application Auto Scaling owns it
  afterwards (`ignore_changes`), between the configured minimum and maximum.
- Rolling deploys keep every task until its replacement is healthy, and the
  deployment circuit breaker (and the service's 5xx alarm) roll a failed deploy back.
- A new image tag changes the API's task definition (its container definitions force a
  replacement, a new revision: `ForceNew` in terraform-provider-aws's
  internal/service/ecs/task_definition.go, which pulumi-aws wraps) and the service that
  points at it, nothing else. Old revisions stay
  registered (`skip_destroy`), so a rollback always has its revision to return to.
- Least privilege: per task definition an execution role that reads exactly the
  SSM parameters its containers' `secrets` name and writes only to the service's
  log group (plus ECR pulls for an ECR image), and a task role only where the
  containers call AWS (the broker mounting its EFS access point; the API's holds
  no permission because the API calls no AWS API).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import pulumi
import pulumi_aws as aws

from components.aws import placement
from components.aws.database import POSTGRES_PORT
from components.aws.secrets_key import decrypt_statements
from components.aws.service_stack import alarm_name
from components.aws.task_definitions import (
    RABBITMQ_DATA_VOLUME,
    FargateServiceSpec,
    Task,
    TaskSize,
    container_name,
    render_containers,
    task_port,
)
from components.outputs import ComponentOutputs
from components.settings import CloudSettings, EcsSettings
from seed import naming
from seed.catalog import Backing, DomainService

ECS_TASKS_PRINCIPAL: Final = "ecs-tasks.amazonaws.com"
HEALTH_CHECK_GRACE_SECONDS: Final = 60
DNS_TTL_SECONDS: Final = 10
SCALE_OUT_COOLDOWN_SECONDS: Final = 60
SCALE_IN_COOLDOWN_SECONDS: Final = 300
UTILISATION_ALARM_PERCENT: Final = 85.0
# `<account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag|@digest]`
_ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/"
    r"(?P<repository>[^:@]+)"
)


def cluster_name(environment: str) -> str:
    return f"{naming.PROJECT}-{environment}"


def ecs_service_name(service: str, task: Task) -> str:
    """The ECS service of one task definition: `ticketing-api`, `payments-redis`."""
    return f"{service}-{task}"


# --- the cluster ------------------------------------------------------------------------


@dataclass(frozen=True)
class FargateClusterArgs:
    """The stack's ECS cluster and Cloud Map namespace.

    Attributes:
        environment: names the cluster (`ticketing-<env>`) and the namespace.
        vpc_id: the VPC whose private DNS the namespace's records live in.
    """

    environment: str
    vpc_id: pulumi.Input[str]

    @classmethod
    def of(cls, settings: CloudSettings, *, vpc_id: pulumi.Input[str]) -> FargateClusterArgs:
        return cls(settings.environment, vpc_id)


@dataclass(frozen=True)
class FargateClusterOutputs(ComponentOutputs):
    """The cluster's ARN and name, and the namespace its services register in."""

    arn: pulumi.Output[str]
    cluster_name: str
    namespace_id: pulumi.Output[str]


class FargateCluster(pulumi.ComponentResource):
    """The ECS cluster every ECS-placed service runs in, and its Cloud Map namespace.

    Created only when some service is placed on ECS. Container Insights stays off:
    the alarms read the free `AWS/ECS` service metrics.

    Args:
        name: prefix for every child's name.
        args: the environment and the VPC.
        opts: must carry the stack's AWS provider.
    """

    outputs: FargateClusterOutputs

    def __init__(
        self, name: str, args: FargateClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ticketing:aws:FargateCluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        cluster = aws.ecs.Cluster(
            f"{name}-cluster",
            name=cluster_name(args.environment),
            settings=[aws.ecs.ClusterSettingArgs(name="containerInsights", value="disabled")],
            opts=child,
        )
        namespace = aws.servicediscovery.PrivateDnsNamespace(
            f"{name}-namespace",
            name=naming.service_discovery_namespace(args.environment),
            description="Where each service on ECS finds its own Redis and RabbitMQ",
            vpc=args.vpc_id,
            opts=child,
        )
        self.outputs = FargateClusterOutputs(
            arn=cluster.arn,
            cluster_name=cluster_name(args.environment),
            namespace_id=namespace.id,
        )
        self.register_outputs(self.outputs.registered())


# --- one service ------------------------------------------------------------------------


@dataclass(frozen=True)
class FargateServiceConfig:
    """One domain service on Fargate, from the stack's settings alone (no other
    component's output).

    Attributes:
        spec: the task definitions' data (`components.aws.task_definitions`).
        scaling: counts and autoscaling targets (`services.<name>.ecs`).
        region: the stack's region (ARNs of the parameters and log group).
        protect: keep the broker's file system from deletion (outside dev).
    """

    spec: FargateServiceSpec
    scaling: EcsSettings
    region: str
    protect: bool

    @classmethod
    def of(cls, settings: CloudSettings, service: DomainService) -> FargateServiceConfig:
        """`service` as the stack's settings configure it on ECS."""
        config = settings.services[service.name]
        spec = FargateServiceSpec(
            service=service,
            environment=settings.environment,
            region=settings.region,
            image=config.image,
            log_group=placement.log_group_name(settings.environment, service.name),
            api_size=TaskSize(config.ecs.cpu, config.ecs.memory_mb),
            health_check_path=config.health_check_path or service.health_check_path,
            redis_image=settings.backing_images.redis,
            rabbitmq_image=settings.backing_images.rabbitmq,
            redis_max_memory_mb=config.redis_max_memory_mb,
            venues=tuple(settings.venues) if service.name == naming.VENUE_SYNC_SERVICE else (),
        )
        return cls(
            spec=spec, scaling=config.ecs, region=settings.region, protect=not settings.is_dev
        )


@dataclass(frozen=True)
class FargateServiceArgs:
    """One domain service on Fargate and what it is wired to.

    Attributes:
        config: the service as the settings describe it (`FargateServiceConfig.of`).
        cluster: the stack's `FargateCluster`'s outputs (its ARN, name and namespace).
        vpc_id: the VPC.
        subnet_ids: the private subnets the tasks (and the EFS mount targets) use.
        alb_security_group_id: the ALB's group, the only source the API admits.
        alb_arn_suffix: the ALB, for requests-per-target scaling.
        target_group_arn: the service's target group once a listener forwards to it.
        target_group_arn_suffix: the same target group, for requests-per-target scaling.
        database_security_group_id: the group of the RDS instance holding its database.
        alarm_topic_arn: where the tasks' alarms notify.
        secrets_revision: the versions of every parameter the tasks read; a change rolls
            the tasks so they pick up the new values.
        secrets_key_arn: the key those parameters are encrypted with (`SecretsKey`); each
            execution role may decrypt exactly its task's parameters with it.
        wait_for: resources the API must not start before (the database bootstrap).
    """

    config: FargateServiceConfig
    cluster: FargateClusterOutputs
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    alb_security_group_id: pulumi.Input[str]
    alb_arn_suffix: pulumi.Input[str]
    target_group_arn: pulumi.Input[str]
    target_group_arn_suffix: pulumi.Input[str]
    database_security_group_id: pulumi.Input[str] | None
    alarm_topic_arn: pulumi.Input[str]
    secrets_revision: pulumi.Input[str]
    secrets_key_arn: pulumi.Input[str]
    wait_for: Sequence[pulumi.Resource] = ()

    @classmethod
    def of(
        cls,
        config: FargateServiceConfig,
        *,
        cluster: FargateClusterOutputs,
        vpc_id: pulumi.Input[str],
        subnet_ids: Sequence[pulumi.Input[str]],
        alb_security_group_id: pulumi.Input[str],
        alb_arn_suffix: pulumi.Input[str],
        target_group_arn: pulumi.Input[str],
        target_group_arn_suffix: pulumi.Input[str],
        database_security_group_id: pulumi.Input[str] | None,
        alarm_topic_arn: pulumi.Input[str],
        secrets_revision: pulumi.Input[str],
        secrets_key_arn: pulumi.Input[str],
        wait_for: Sequence[pulumi.Resource] = (),
    ) -> FargateServiceArgs:
        """`config`'s service wired to the cluster, the ALB, its target group, its
        database's group, the alarm topic and the key."""
        return cls(
            config=config,
            cluster=cluster,
            vpc_id=vpc_id,
            subnet_ids=subnet_ids,
            alb_security_group_id=alb_security_group_id,
            alb_arn_suffix=alb_arn_suffix,
            target_group_arn=target_group_arn,
            target_group_arn_suffix=target_group_arn_suffix,
            database_security_group_id=database_security_group_id,
            alarm_topic_arn=alarm_topic_arn,
            secrets_revision=secrets_revision,
            secrets_key_arn=secrets_key_arn,
            wait_for=wait_for,
        )


@dataclass(frozen=True)
class FargateServiceOutputs(ComponentOutputs):
    """The API's ECS service and the security group its tasks run in."""

    api_service_name: pulumi.Output[str]
    task_security_group_id: pulumi.Output[str]


class FargateService(pulumi.ComponentResource):
    """A domain service's API, Redis and RabbitMQ as ECS services on Fargate.

    Parented to the service's `ServiceBackingStack`, so the plan shows it under the
    service. See the module docstring for the shape and why.

    Args:
        name: prefix for every child's name (`<service>-ecs`).
        args: the spec, the scaling and the wiring.
        opts: must carry the stack's AWS provider.
    """

    outputs: FargateServiceOutputs

    def __init__(
        self, name: str, args: FargateServiceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ticketing:aws:FargateService", name, None, opts)
        self._name = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        spec = args.config.spec
        invoke = pulumi.InvokeOutputOptions(parent=self)
        self._account = aws.get_caller_identity_output(opts=invoke).account_id

        groups: dict[Task, aws.ec2.SecurityGroup] = {t: self._security_group(t) for t in spec.tasks}
        self._api_network(groups, args)
        efs = self._broker_storage(groups["rabbitmq"]) if "rabbitmq" in spec.tasks else None
        services: dict[Task, aws.ecs.Service] = {}
        for task in spec.tasks:
            services[task] = self._ecs_service(task, groups[task], efs)
        self._autoscaling(services["api"])
        for task, service in services.items():
            self._alarms(task, service)

        self.outputs = FargateServiceOutputs(
            api_service_name=services["api"].name,
            task_security_group_id=groups["api"].id,
        )
        self.register_outputs(self.outputs.registered())

    # --- network ----------------------------------------------------------------------

    def _security_group(self, task: Task) -> aws.ec2.SecurityGroup:
        service = self._args.config.spec.name
        who = {
            "api": f"{service} API tasks: HTTP from the ALB only",
            "redis": f"{service} Redis task: Redis from {service} API tasks only",
            "rabbitmq": f"{service} RabbitMQ task: AMQP from {service} API tasks only",
        }[task]
        group = aws.ec2.SecurityGroup(
            f"{self._name}-{task}-sg",
            vpc_id=self._args.vpc_id,
            description=who,
            tags={"Name": f"{self._name}-{task}", "service": service},
            opts=self._child,
        )
        # Every task pulls its image, fetches its secrets and ships its logs over HTTPS.
        self._egress(
            f"{task}-https",
            group,
            443,
            "HTTPS: image registry, SSM, CloudWatch Logs (via NAT)",
            cidr="0.0.0.0/0",
        )
        return group

    def _egress(
        self,
        name: str,
        group: aws.ec2.SecurityGroup,
        port: int,
        description: str,
        *,
        cidr: str | None = None,
        to: pulumi.Input[str] | None = None,
    ) -> None:
        aws.vpc.SecurityGroupEgressRule(
            f"{self._name}-{name}",
            security_group_id=group.id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            cidr_ipv4=cidr,
            referenced_security_group_id=to,
            description=description,
            opts=self._child,
        )

    def _ingress(
        self,
        name: str,
        group_id: pulumi.Input[str],
        port: int,
        source: pulumi.Input[str],
        description: str,
    ) -> None:
        aws.vpc.SecurityGroupIngressRule(
            f"{self._name}-{name}",
            security_group_id=group_id,
            referenced_security_group_id=source,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            description=description,
            opts=self._child,
        )

    def _api_network(
        self, groups: Mapping[Task, aws.ec2.SecurityGroup], args: FargateServiceArgs
    ) -> None:
        """The ALB reaches the API; the API reaches its database, Redis and RabbitMQ."""
        service = args.config.spec.service
        api = groups["api"]
        self._ingress(
            "api-from-alb", api.id, service.port, args.alb_security_group_id, "HTTP from the ALB"
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{self._name}-alb-to-api",
            security_group_id=args.alb_security_group_id,
            referenced_security_group_id=api.id,
            ip_protocol="tcp",
            from_port=service.port,
            to_port=service.port,
            description=f"ALB to {service.name} API tasks",
            opts=self._child,
        )
        if args.database_security_group_id is not None and service.uses(Backing.POSTGRESQL):
            self._egress(
                "api-to-db",
                api,
                POSTGRES_PORT,
                f"PostgreSQL: {service.name} database",
                to=args.database_security_group_id,
            )
            self._ingress(
                "db-from-api",
                args.database_security_group_id,
                POSTGRES_PORT,
                api.id,
                f"PostgreSQL from {service.name} API tasks",
            )
        stores: tuple[Task, ...] = ("redis", "rabbitmq")
        for task in stores:
            if task not in groups:
                continue
            port = task_port(service, task)
            kind = "Redis" if task == "redis" else "AMQP"
            self._egress(
                f"api-to-{task}", api, port, f"{kind}: {service.name} {task}", to=groups[task].id
            )
            self._ingress(
                f"{task}-from-api",
                groups[task].id,
                port,
                api.id,
                f"{kind} from {service.name} API tasks",
            )

    # --- the broker's storage ---------------------------------------------------------

    def _broker_storage(self, broker: aws.ec2.SecurityGroup) -> _BrokerStorage:
        """An encrypted EFS file system, a mount target per private subnet, an access point."""
        args, spec = self._args, self._args.config.spec
        name = f"{self._name}-rabbitmq-data"
        group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description=f"{spec.name} RabbitMQ data: NFS from its broker task only",
            tags={"Name": name, "service": spec.name},
            opts=self._child,
        )
        self._ingress("efs-from-rabbitmq", group.id, 2049, broker.id, "NFS from the broker task")
        self._egress("rabbitmq-to-efs", broker, 2049, "NFS: the broker data", to=group.id)
        file_system = aws.efs.FileSystem(
            name,
            creation_token=f"{naming.PROJECT}-{spec.environment}-{spec.name}-rabbitmq",
            encrypted=True,
            performance_mode="generalPurpose",
            throughput_mode="elastic",
            tags={"Name": name, "service": spec.name},
            opts=pulumi.ResourceOptions(parent=self, protect=args.config.protect),
        )
        mounts = [
            aws.efs.MountTarget(
                f"{name}-{index}",
                file_system_id=file_system.id,
                subnet_id=subnet,
                security_groups=[group.id],
                opts=self._child,
            )
            for index, subnet in enumerate(args.subnet_ids)
        ]
        uid, gid = spec.rabbitmq_ids
        access_point = aws.efs.AccessPoint(
            f"{name}-ap",
            file_system_id=file_system.id,
            posix_user=aws.efs.AccessPointPosixUserArgs(uid=uid, gid=gid),
            root_directory=aws.efs.AccessPointRootDirectoryArgs(
                path="/rabbitmq",
                creation_info=aws.efs.AccessPointRootDirectoryCreationInfoArgs(
                    owner_uid=uid, owner_gid=gid, permissions="0700"
                ),
            ),
            tags={"Name": name, "service": spec.name},
            opts=self._child,
        )
        aws.efs.FileSystemPolicy(
            f"{name}-policy",
            file_system_id=file_system.id,
            policy=pulumi.Output.all(file_system.arn).apply(lambda a: _tls_only(str(a[0]))),
            opts=self._child,
        )
        return _BrokerStorage(file_system, access_point, mounts)

    # --- tasks and services -----------------------------------------------------------

    def _ecs_service(
        self, task: Task, group: aws.ec2.SecurityGroup, efs: _BrokerStorage | None
    ) -> aws.ecs.Service:
        args, spec = self._args, self._args.config.spec
        name = f"{self._name}-{task}"
        execution = self._role(f"{task}-execution", f"{spec.name} {task}: ECS task execution")
        reads = self._parameter_arns(list(spec.secrets(task).values()))
        access = aws.iam.RolePolicy(
            f"{name}-execution-access",
            role=execution.id,
            policy=pulumi.Output.all(self._account, reads, args.secrets_key_arn).apply(
                lambda v: execution_policy(
                    list(v[1]),
                    log_group_arn(args.config.region, str(v[0]), spec.log_group),
                    ecr_repository_arn(spec.image if task == "api" else ""),
                    decrypts=decrypt_statements(str(v[2]), args.config.region, parameter_arns=v[1]),
                )
            ),
            opts=self._child,
        )
        task_role: aws.iam.Role | None = None
        waits: list[pulumi.Resource] = [access]
        if task == "api":
            # The API calls no AWS API: its role exists to hold what it one day does.
            task_role = self._role("api-task", f"{spec.name} API: what the service calls")
        elif task == "rabbitmq" and efs is not None:
            task_role = self._role("rabbitmq-task", f"{spec.name} RabbitMQ: mounts its data")
            waits.append(
                aws.iam.RolePolicy(
                    f"{name}-task-access",
                    role=task_role.id,
                    policy=pulumi.Output.all(efs.file_system.arn, efs.access_point.arn).apply(
                        lambda v: efs_client_policy(str(v[0]), str(v[1]))
                    ),
                    opts=self._child,
                )
            )
            waits.extend(efs.mount_targets)
        volumes: list[aws.ecs.TaskDefinitionVolumeArgs] = []
        if task == "rabbitmq" and efs is not None:
            volumes.append(
                aws.ecs.TaskDefinitionVolumeArgs(
                    name=RABBITMQ_DATA_VOLUME,
                    efs_volume_configuration=aws.ecs.TaskDefinitionVolumeEfsVolumeConfigurationArgs(
                        file_system_id=efs.file_system.id,
                        transit_encryption="ENABLED",
                        authorization_config=aws.ecs.TaskDefinitionVolumeEfsVolumeConfigurationAuthorizationConfigArgs(
                            access_point_id=efs.access_point.id, iam="ENABLED"
                        ),
                    ),
                )
            )
        size = spec.size(task)
        definition = aws.ecs.TaskDefinition(
            name,
            family=spec.family(task),
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            cpu=str(size.cpu),
            memory=str(size.memory_mb),
            runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
                operating_system_family="LINUX", cpu_architecture="X86_64"
            ),
            execution_role_arn=execution.arn,
            task_role_arn=task_role.arn if task_role else None,
            container_definitions=json.dumps(render_containers(spec, task), sort_keys=True),
            volumes=volumes,
            # A rollback returns to the previous revision: keep it registered.
            skip_destroy=True,
            opts=self._child,
        )
        registries: list[aws.ecs.ServiceServiceRegistriesArgs] = []
        if task != "api":
            discovery = aws.servicediscovery.Service(
                f"{name}-discovery",
                name=container_name(spec.service, task),
                description=f"{spec.name}'s {task}, reachable by {spec.name}'s API tasks only",
                dns_config=aws.servicediscovery.ServiceDnsConfigArgs(
                    namespace_id=args.cluster.namespace_id,
                    routing_policy="MULTIVALUE",
                    dns_records=[
                        aws.servicediscovery.ServiceDnsConfigDnsRecordArgs(
                            ttl=DNS_TTL_SECONDS, type="A"
                        )
                    ],
                ),
                health_check_custom_config=aws.servicediscovery.ServiceHealthCheckCustomConfigArgs(),
                opts=self._child,
            )
            registries.append(aws.ecs.ServiceServiceRegistriesArgs(registry_arn=discovery.arn))
        else:
            waits.extend(args.wait_for)
        # The broker has one writer at a time: stop the old task before the new one starts.
        single_writer = task == "rabbitmq"
        return aws.ecs.Service(
            name,
            name=ecs_service_name(spec.name, task),
            cluster=args.cluster.arn,
            task_definition=definition.arn,
            launch_type="FARGATE",
            desired_count=args.config.scaling.desired_count if task == "api" else 1,
            deployment_minimum_healthy_percent=0 if single_writer else 100,
            deployment_maximum_percent=100 if single_writer else 200,
            deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(
                enable=True, rollback=True
            ),
            alarms=aws.ecs.ServiceAlarmsArgs(
                alarm_names=[alarm_name(spec.environment, spec.name, "target-5xx")],
                enable=True,
                rollback=True,
            )
            if task == "api"
            else None,
            health_check_grace_period_seconds=HEALTH_CHECK_GRACE_SECONDS if task == "api" else None,
            load_balancers=[
                aws.ecs.ServiceLoadBalancerArgs(
                    target_group_arn=args.target_group_arn,
                    container_name=container_name(spec.service, task),
                    container_port=spec.service.port,
                )
            ]
            if task == "api"
            else [],
            network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
                subnets=list(args.subnet_ids), security_groups=[group.id], assign_public_ip=False
            ),
            service_registries=registries[0] if registries else None,
            propagate_tags="SERVICE",
            enable_ecs_managed_tags=True,
            enable_execute_command=False,
            # A parameter's new version (a rotated secret) rolls the tasks onto it.
            force_new_deployment=True,
            triggers={"secrets": args.secrets_revision},
            tags={"service": spec.name},
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=waits,
                # Application Auto Scaling moves the count after the first deploy.
                ignore_changes=["desiredCount"] if task == "api" else None,
            ),
        )

    def _role(self, suffix: str, description: str) -> aws.iam.Role:
        region = self._args.config.region
        return aws.iam.Role(
            f"{self._name}-{suffix}",
            description=description,
            assume_role_policy=self._account.apply(lambda a: ecs_tasks_trust_policy(region, a)),
            opts=self._child,
        )

    def _parameter_arns(self, names: Sequence[str]) -> pulumi.Output[list[str]]:
        region = self._args.config.region
        listed = sorted(names)
        return self._account.apply(lambda a: [parameter_arn(region, a, n) for n in listed])

    # --- scaling and alarms -----------------------------------------------------------

    def _autoscaling(self, api: aws.ecs.Service) -> None:
        args, spec = self._args, self._args.config.spec
        scaling = args.config.scaling
        target = aws.appautoscaling.Target(
            f"{self._name}-api-scaling",
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.concat("service/", args.cluster.cluster_name, "/", api.name),
            min_capacity=scaling.min_count,
            max_capacity=scaling.max_count,
            opts=self._child,
        )
        for suffix, metric, value, label in (
            ("cpu", "ECSServiceAverageCPUUtilization", scaling.cpu_target_percent, None),
            (
                "requests",
                "ALBRequestCountPerTarget",
                scaling.requests_per_target,
                pulumi.Output.concat(args.alb_arn_suffix, "/", args.target_group_arn_suffix),
            ),
        ):
            aws.appautoscaling.Policy(
                f"{self._name}-api-{suffix}",
                name=f"{naming.PROJECT}-{spec.environment}-{spec.name}-api-{suffix}",
                policy_type="TargetTrackingScaling",
                service_namespace=target.service_namespace,
                scalable_dimension=target.scalable_dimension,
                resource_id=target.resource_id,
                target_tracking_scaling_policy_configuration=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                    target_value=float(value),
                    predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                        predefined_metric_type=metric, resource_label=label
                    ),
                    scale_out_cooldown=SCALE_OUT_COOLDOWN_SECONDS,
                    scale_in_cooldown=SCALE_IN_COOLDOWN_SECONDS,
                ),
                opts=self._child,
            )

    def _alarms(self, task: Task, service: aws.ecs.Service) -> None:
        args, spec = self._args, self._args.config.spec
        for metric, what in (("CPUUtilization", "cpu"), ("MemoryUtilization", "memory")):
            suffix = f"{task}-{what}"
            aws.cloudwatch.MetricAlarm(
                f"{self._name}-{suffix}",
                name=alarm_name(spec.environment, spec.name, suffix),
                alarm_description=f"{spec.name} {task} tasks average {what} above "
                f"{UTILISATION_ALARM_PERCENT:g}% for 5 minutes",
                namespace="AWS/ECS",
                metric_name=metric,
                dimensions={"ClusterName": args.cluster.cluster_name, "ServiceName": service.name},
                statistic="Average",
                period=60,
                evaluation_periods=5,
                threshold=UTILISATION_ALARM_PERCENT,
                comparison_operator="GreaterThanThreshold",
                treat_missing_data="notBreaching",
                alarm_actions=[args.alarm_topic_arn],
                ok_actions=[args.alarm_topic_arn],
                opts=self._child,
            )


@dataclass(frozen=True)
class _BrokerStorage:
    file_system: aws.efs.FileSystem
    access_point: aws.efs.AccessPoint
    mount_targets: list[aws.efs.MountTarget]


# --- policy documents (pure) ------------------------------------------------------------


def parameter_arn(region: str, account: str, name: str) -> str:
    """An SSM parameter's ARN; a hierarchical name already starts with `/`."""
    return f"arn:aws:ssm:{region}:{account}:parameter{name}"


def log_group_arn(region: str, account: str, group: str) -> str:
    """The streams of one log group: what CreateLogStream and PutLogEvents act on."""
    return f"arn:aws:logs:{region}:{account}:log-group:{group}:*"


def ecr_repository_arn(image: str) -> str | None:
    """The ECR repository an image is pulled from, or None for another registry."""
    match = _ECR_IMAGE.match(image)
    if match is None:
        return None
    return f"arn:aws:ecr:{match['region']}:{match['account']}:repository/{match['repository']}"


def ecs_tasks_trust_policy(region: str, account: str) -> str:
    """ECS tasks of this account and region may assume the role, nobody else (the
    confused-deputy conditions of the ECS Developer Guide, "Task IAM role")."""
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": ECS_TASKS_PRINCIPAL},
        "Action": "sts:AssumeRole",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": account},
            "ArnLike": {"aws:SourceArn": f"arn:aws:ecs:{region}:{account}:*"},
        },
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, sort_keys=True)


def execution_policy(
    parameters: Sequence[str],
    logs: str,
    repository: str | None,
    *,
    decrypts: Sequence[dict[str, Any]] = (),
) -> str:
    """Read (and with `decrypts`, decrypt) exactly `parameters`, write to one log group,
    pull from one ECR repository."""
    statements: list[dict[str, Any]] = []
    if parameters:
        statements.append(
            {
                "Sid": "ReadOwnSecrets",
                "Effect": "Allow",
                "Action": ["ssm:GetParameters"],
                "Resource": sorted(parameters),
            }
        )
    statements += decrypts
    statements.append(
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [logs],
        }
    )
    if repository:
        statements += [
            {
                "Sid": "RegistryToken",
                "Effect": "Allow",
                "Action": ["ecr:GetAuthorizationToken"],
                "Resource": ["*"],  # the action supports no resource-level permission
            },
            {
                "Sid": "PullOwnImage",
                "Effect": "Allow",
                "Action": [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                ],
                "Resource": [repository],
            },
        ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


def efs_client_policy(file_system_arn: str, access_point_arn: str) -> str:
    """Mount and write the broker's file system, through its access point only."""
    statement = {
        "Sid": "MountOwnData",
        "Effect": "Allow",
        "Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
        "Resource": [file_system_arn],
        "Condition": {"StringEquals": {"elasticfilesystem:AccessPointArn": access_point_arn}},
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, sort_keys=True)


def _tls_only(file_system_arn: str) -> str:
    statement = {
        "Sid": "DenyUnencryptedTransport",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "*",
        "Resource": file_system_arn,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, sort_keys=True)
