"""`ServiceBackingStack`: everything one domain service owns, exactly as the catalog says."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.aws import placement
from components.aws.database import Database
from components.aws.routing import Router, host_target_group
from components.host import rabbitmq
from components.host.compose import (
    AMQP_PORT,
    RDS_CA_TARGET,
    REDIS_PORT,
    REDIS_USER,
    ServiceSpec,
)
from components.outputs import ComponentOutputs
from components.settings import CloudSettings
from seed import naming
from seed.catalog import Backing, DomainService

PASSWORD_LENGTH = 32
# Target alarms: 5xx answers per 5 minutes, p95 seconds.
TARGET_5XX_PER_5_MINUTES = 10
P95_LATENCY_SECONDS = 1.0


def alarm_name(environment: str, service: str, alarm: str) -> str:
    """A service's alarm by its short name (`target-5xx`, `unhealthy-hosts`, `p95-latency`)."""
    return f"{naming.PROJECT}-{environment}-{service}-{alarm}"


@dataclass(frozen=True)
class ServiceBackingStackConfig:
    """One domain service's backing stack, from the stack's settings alone (no other
    component's output).

    Attributes:
        service: the catalog entry.
        environment: dev, staging or prod (parameter paths, alarm names).
        spec: its containers as the app host's compose document runs them (image, host
            port, log group, memory, health check path).
        on_ecs: it runs on Fargate: the ALB targets each task's address on its port.
        path_prefix: the API path its listener rule routes (`/api/payments`).
        api_host: the API hostname its listener rule matches.
        priority: its listener rule's priority (catalog).
        log_retention_days: its log group's retention.
        redis_host: where it finds its Redis, or None where it uses none.
        rabbitmq_host: where it finds its RabbitMQ, or None where it uses none.
    """

    service: DomainService
    environment: str
    spec: ServiceSpec
    on_ecs: bool
    path_prefix: str
    api_host: str
    priority: int
    log_retention_days: int
    redis_host: str | None
    rabbitmq_host: str | None

    @classmethod
    def of(cls, settings: CloudSettings, service: DomainService) -> ServiceBackingStackConfig:
        """`service` as `settings` place and configure it (image, overrides, placement)."""
        name = service.name
        config = settings.services[name]
        spec = ServiceSpec(
            service=service,
            image=config.image,
            host_port=placement.service_host_port(name),
            replica_host_port=placement.replica_host_port(settings, name),
            log_group=placement.log_group_name(settings.environment, name),
            memory_mb=config.memory_mb,
            redis_max_memory_mb=config.redis_max_memory_mb,
            health_check_path=config.health_check_path or service.health_check_path,
        )
        return cls(
            service=service,
            environment=settings.environment,
            spec=spec,
            on_ecs=placement.on_ecs(settings, name),
            path_prefix=config.path_prefix or service.path_prefix,
            api_host=settings.api_host,
            priority=placement.service_priority(name),
            log_retention_days=settings.observability.log_retention_days,
            redis_host=(
                placement.redis_host(settings, name) if service.uses(Backing.REDIS) else None
            ),
            rabbitmq_host=(
                placement.rabbitmq_host(settings, name) if service.uses(Backing.RABBITMQ) else None
            ),
        )


@dataclass(frozen=True)
class ServiceBackingStackArgs:
    """What one domain service's backing stack needs.

    Attributes:
        config: the service as the settings describe it (`ServiceBackingStackConfig.of`).
        database: the RDS instance holding its database.
        router: the ALB (`components.aws.ingress.Ingress`).
        vpc_id: the VPC of the target group.
        alarm_topic_arn: where the alarms notify.
        secrets_key_arn: the key its SecureStrings are encrypted with (`SecretsKey`).
    """

    config: ServiceBackingStackConfig
    database: Database
    router: Router
    vpc_id: pulumi.Input[str]
    alarm_topic_arn: pulumi.Input[str]
    secrets_key_arn: pulumi.Input[str]

    @classmethod
    def of(
        cls,
        config: ServiceBackingStackConfig,
        *,
        database: Database,
        router: Router,
        vpc_id: pulumi.Input[str],
        alarm_topic_arn: pulumi.Input[str],
        secrets_key_arn: pulumi.Input[str],
    ) -> ServiceBackingStackArgs:
        """`config`'s service wired to its RDS instance, the ALB, the alarm topic and the key."""
        return cls(
            config=config,
            database=database,
            router=router,
            vpc_id=vpc_id,
            alarm_topic_arn=alarm_topic_arn,
            secrets_key_arn=secrets_key_arn,
        )


@dataclass(frozen=True)
class ServiceBackingStackOutputs(ComponentOutputs):
    """What the service's host, its Fargate service and the stack outputs read.

    `parameter_names`: credential key -> SSM parameter name; `revision`: every
    parameter's version, rising with each value change (the host re-applies when it
    moves); `routed_target_group_arn`: the target group once a listener forwards to it
    (ECS registers a service only then); `database_identifier`: the RDS instance
    holding its database.
    """

    database_name: pulumi.Output[str]
    role_name: pulumi.Output[str]
    parameter_names: pulumi.Output[dict[str, str]]
    target_group_arn: pulumi.Output[str]
    log_group_arn: pulumi.Output[str]
    revision: pulumi.Output[str]
    routed_target_group_arn: pulumi.Output[str]
    target_group_arn_suffix: pulumi.Output[str]
    database_identifier: pulumi.Output[str]


class ServiceBackingStack(pulumi.ComponentResource):
    """One domain service: its database and login role, credentials, routing, logs and alarms.

    Only what the catalog gives the service exists: a database and role on its
    (shared or dedicated) RDS instance; a Redis password and URL where it uses
    Redis; a RabbitMQ user, vhost and definitions where it uses RabbitMQ. Every
    credential is a `pulumi_random` secret stored as an SSM SecureString under
    `naming.ssm_service_path`; the app host turns them into env files. Its
    containers (`compose_spec`) log to its own log group, and the ALB routes
    `path_prefix` on the API hostname to its target group.

    Args:
        name: the service's name (the catalog's; its children's names derive from it).
        args: the service and what it is wired to (`ServiceBackingStackArgs.of`).
        opts: must carry the stack's AWS provider.
    """

    outputs: ServiceBackingStackOutputs
    compose_spec: ServiceSpec

    def __init__(
        self, name: str, args: ServiceBackingStackArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ticketing:service:ServiceBackingStack", name, None, opts)
        self._name = name
        self._args = args
        self._child = pulumi.ResourceOptions(parent=self)
        self._parameters: dict[str, aws.ssm.Parameter] = {}
        self.compose_spec = args.config.spec

        service = args.config.service
        if service.uses(Backing.POSTGRESQL):
            self._database(args.database)
        if args.config.redis_host is not None:
            self._redis(args.config.redis_host)
        if args.config.rabbitmq_host is not None:
            self._rabbitmq(args.config.rabbitmq_host)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=args.config.spec.log_group,
            retention_in_days=args.config.log_retention_days,
            opts=self._child,
        )
        target_group, route = self._routing()
        self._alarms(args.router.outputs.alb_arn_suffix, target_group.arn_suffix)

        self.outputs = ServiceBackingStackOutputs(
            database_name=pulumi.Output.from_input(service.database),
            role_name=pulumi.Output.from_input(service.role),
            parameter_names=self._parameter_names(),
            target_group_arn=target_group.arn,
            log_group_arn=log_group.arn,
            revision=self._revision(),
            # ECS registers a service only in a target group a listener already forwards to.
            routed_target_group_arn=pulumi.Output.all(target_group.arn, route.arn).apply(
                lambda arns: str(arns[0])
            ),
            target_group_arn_suffix=target_group.arn_suffix,
            database_identifier=args.database.outputs.identifier,
        )
        self.register_outputs(self.outputs.registered())

    # --- routing ----------------------------------------------------------------------

    def _routing(self) -> tuple[aws.lb.TargetGroup, aws.lb.ListenerRule]:
        """Its target group and the listener rule routing its path prefix to it."""
        args = self._args
        # On ECS the ALB targets each task's own address on the container port.
        target_group = host_target_group(
            f"{self._name}-tg",
            vpc_id=args.vpc_id,
            port=args.config.service.port if args.config.on_ecs else args.config.spec.host_port,
            health_check_path=args.config.spec.probe_path,
            target_type="ip" if args.config.on_ecs else "instance",
            opts=self._child,
        )
        route = args.router.add_route(
            f"{self._name}-route",
            host=args.config.api_host,
            path_patterns=[args.config.path_prefix, f"{args.config.path_prefix}/*"],
            target_group_arn=target_group.arn,
            priority=args.config.priority,
            opts=self._child,
        )
        return target_group, route

    # --- credentials ------------------------------------------------------------------

    def _parameter_names(self) -> pulumi.Output[dict[str, str]]:
        return pulumi.Output.all(**{key: p.name for key, p in self._parameters.items()}).apply(
            lambda names: {str(k): str(v) for k, v in names.items()}
        )

    def _revision(self) -> pulumi.Output[str]:
        # Versions rise with every value change: the app host re-applies when one moves.
        return pulumi.Output.all(
            *[
                pulumi.Output.concat(key, "=", p.version.apply(str))
                for key, p in self._parameters.items()
            ]
        ).apply(lambda parts: ",".join(sorted(str(p) for p in parts)))

    def _password(self, purpose: str) -> pulumi.Output[str]:
        # Letters and digits only, so every URL built from it stays valid unescaped.
        password = random.RandomPassword(
            f"{self._name}-{purpose}-password",
            length=PASSWORD_LENGTH,
            special=False,
            opts=self._child,
        )
        return pulumi.Output.secret(password.result)

    def _secure(self, key: str, value: pulumi.Input[str]) -> None:
        self._parameters[key] = aws.ssm.Parameter(
            f"{self._name}-{key}",
            name=naming.ssm_service_parameter(self._args.config.environment, self._name, key),
            type="SecureString",
            key_id=self._args.secrets_key_arn,
            value=pulumi.Output.secret(value),
            description=f"{self._name}: {key.replace('-', ' ')}",
            opts=self._child,
        )

    def _database(self, database: Database) -> None:
        service = self._args.config.service
        password = self._password("db")
        # On a host, libpq verifies the server against the RDS CA bundle mounted into the
        # container (compose.RDS_CA_TARGET) and checks its name; an ECS task has no such
        # file, so it only requires TLS.
        tls = (
            "sslmode=require"
            if self._args.config.on_ecs
            else f"sslmode=verify-full&sslrootcert={RDS_CA_TARGET}"
        )
        url = pulumi.Output.format(
            "postgresql://{0}:{1}@{2}:{3}/{4}?{5}",
            service.role,
            password,
            database.outputs.address,
            database.outputs.port,
            service.database,
            tls,
        )
        self._secure(naming.DATABASE_PASSWORD, password)
        self._secure(naming.DATABASE_URL, url)
        self._parameters[naming.DATABASE_NAME] = aws.ssm.Parameter(
            f"{self._name}-{naming.DATABASE_NAME}",
            name=naming.ssm_service_parameter(
                self._args.config.environment, self._name, naming.DATABASE_NAME
            ),
            type="String",
            insecure_value=service.database,
            description=f"{self._name}: its PostgreSQL database",
            opts=self._child,
        )

    def _redis(self, host: str) -> None:
        password = self._password("redis")
        # Redis 6+ names the password-only user `default`; `redis://:<password>@` leaves the
        # user empty, which redis-cli sends as AUTH "" <password> and Redis refuses.
        url = pulumi.Output.format(
            "redis://{0}:{1}@{2}:{3}/0", REDIS_USER, password, host, REDIS_PORT
        )
        self._secure(naming.REDIS_PASSWORD, password)
        self._secure(naming.REDIS_URL, url)

    def _rabbitmq(self, host: str) -> None:
        name = self._name
        password = self._password("rabbitmq")
        # RabbitMQ hashes with a salt; keeping it in state keeps the definitions stable.
        salt = random.RandomId(
            f"{name}-rabbitmq-salt", byte_length=rabbitmq.SALT_BYTES, opts=self._child
        )
        definitions = pulumi.Output.all(password, salt.hex).apply(
            lambda values: json.dumps(
                rabbitmq.render_definitions(
                    user=name, password=values[0], vhost=name, salt=bytes.fromhex(values[1])
                ),
                sort_keys=True,
            )
        )
        url = pulumi.Output.format("amqp://{0}:{1}@{2}:{3}/{0}", name, password, host, AMQP_PORT)
        self._secure(naming.RABBITMQ_PASSWORD, password)
        self._secure(naming.RABBITMQ_DEFINITIONS, definitions)
        self._secure(naming.AMQP_URL, url)

    # --- alarms -----------------------------------------------------------------------

    def _alarms(
        self,
        alb_arn_suffix: pulumi.Output[str],
        target_group_arn_suffix: pulumi.Output[str],
    ) -> None:
        topic_arn = self._args.alarm_topic_arn
        dimensions = {"LoadBalancer": alb_arn_suffix, "TargetGroup": target_group_arn_suffix}

        def alarm(
            suffix: str,
            description: str,
            metric: str,
            threshold: float,
            *,
            statistic: str | None = None,
            percentile: str | None = None,
            period: int = 60,
            periods: int = 1,
            datapoints: int | None = None,
        ) -> None:
            aws.cloudwatch.MetricAlarm(
                f"{self._name}-{suffix}",
                name=alarm_name(self._args.config.environment, self._name, suffix),
                alarm_description=description,
                namespace="AWS/ApplicationELB",
                metric_name=metric,
                dimensions=dimensions,
                statistic=statistic,
                extended_statistic=percentile,
                period=period,
                evaluation_periods=periods,
                datapoints_to_alarm=datapoints,
                threshold=threshold,
                comparison_operator="GreaterThanThreshold",
                treat_missing_data="notBreaching",
                alarm_actions=[topic_arn],
                ok_actions=[topic_arn],
                opts=self._child,
            )

        alarm(
            "target-5xx",
            f"{self._name} answers more than {TARGET_5XX_PER_5_MINUTES} 5xx in 5 minutes",
            "HTTPCode_Target_5XX_Count",
            TARGET_5XX_PER_5_MINUTES,
            statistic="Sum",
            period=300,
        )
        alarm(
            "unhealthy-hosts",
            f"{self._name} has an unhealthy target for 3 minutes",
            "UnHealthyHostCount",
            0,
            statistic="Maximum",
            periods=3,
        )
        alarm(
            "p95-latency",
            f"{self._name} p95 response time above {P95_LATENCY_SECONDS}s",
            "TargetResponseTime",
            P95_LATENCY_SECONDS,
            percentile="p95",
            periods=5,
            datapoints=3,
        )
