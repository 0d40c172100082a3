"""`ServiceBackingStack`: everything one domain service owns, exactly as the catalog says."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.aws import placement
from components.aws.database import Database
from components.aws.routing import Router, host_target_group
from components.host import rabbitmq
from components.host.compose import AMQP_PORT, REDIS_PORT, REDIS_USER, ServiceSpec
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


class ServiceBackingStack(pulumi.ComponentResource):
    """One domain service: its database and login role, credentials, routing, logs and alarms.

    Only what the catalog gives the service exists: a database and role on its
    (shared or dedicated) RDS instance; a Redis password and URL where it uses
    Redis; a RabbitMQ user, vhost and definitions where it uses RabbitMQ. Every
    credential is a `pulumi_random` secret stored as an SSM SecureString under
    `naming.ssm_service_path`; the app host turns them into env files. Its
    containers (described by `compose_spec`) log to its own log group, and the
    ALB routes `path_prefix` on the API hostname to its target group.

    Args:
        service: the catalog entry.
        settings: the stack's settings (image, placement and overrides per service).
        database: the RDS instance holding the service's database.
        router: the ALB (`components.aws_ingress.Ingress`).
        vpc_id: the VPC of the target group.
        alarm_topic_arn: where the alarms notify.
        opts: must carry the stack's AWS provider.
    """

    database_name: pulumi.Output[str]
    role_name: pulumi.Output[str]
    parameter_names: pulumi.Output[dict[str, str]]
    revision: pulumi.Output[str]
    target_group_arn: pulumi.Output[str]
    routed_target_group_arn: pulumi.Output[str]
    target_group_arn_suffix: pulumi.Output[str]
    log_group_arn: pulumi.Output[str]
    database_identifier: pulumi.Output[str]
    compose_spec: ServiceSpec

    def __init__(
        self,
        service: DomainService,
        *,
        settings: CloudSettings,
        database: Database,
        router: Router,
        vpc_id: pulumi.Input[str],
        alarm_topic_arn: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        name = service.name
        super().__init__("ticketing:service:ServiceBackingStack", name, None, opts)
        self._name = name
        self._service = service
        self._env = settings.environment
        self._settings = settings
        self._child = pulumi.ResourceOptions(parent=self)
        config = settings.services[name]
        self._parameters: dict[str, aws.ssm.Parameter] = {}

        if service.uses(Backing.POSTGRESQL):
            self._database(database)
        if service.uses(Backing.REDIS):
            self._redis()
        if service.uses(Backing.RABBITMQ):
            self._rabbitmq()

        log_group_name = placement.log_group_name(self._env, name)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=log_group_name,
            retention_in_days=settings.observability.log_retention_days,
            opts=self._child,
        )
        health_path = config.health_check_path or service.health_check_path
        # On ECS the ALB targets each task's own address on the container port.
        on_ecs = placement.on_ecs(settings, name)
        target_group = host_target_group(
            f"{name}-tg",
            vpc_id=vpc_id,
            port=service.port if on_ecs else placement.service_host_port(name),
            health_check_path=health_path,
            target_type="ip" if on_ecs else "instance",
            opts=self._child,
        )
        prefix = config.path_prefix or service.path_prefix
        route = router.add_route(
            f"{name}-route",
            host=settings.api_host,
            path_patterns=[prefix, f"{prefix}/*"],
            target_group_arn=target_group.arn,
            priority=placement.service_priority(name),
            opts=self._child,
        )
        self._alarms(router.outputs.alb_arn_suffix, target_group.arn_suffix, alarm_topic_arn)

        self.compose_spec = ServiceSpec(
            service=service,
            image=config.image,
            host_port=placement.service_host_port(name),
            log_group=log_group_name,
            memory_mb=config.memory_mb,
            redis_max_memory_mb=config.redis_max_memory_mb,
            health_check_path=health_path,
        )
        self.database_name = pulumi.Output.from_input(service.database)
        self.role_name = pulumi.Output.from_input(service.role)
        self.database_identifier = database.identifier
        self.parameter_names = pulumi.Output.all(
            **{key: p.name for key, p in self._parameters.items()}
        ).apply(lambda names: {str(k): str(v) for k, v in names.items()})
        # Versions rise with every value change: the app host re-applies when one moves.
        self.revision = pulumi.Output.all(
            *[
                pulumi.Output.concat(key, "=", p.version.apply(str))
                for key, p in self._parameters.items()
            ]
        ).apply(lambda parts: ",".join(sorted(str(p) for p in parts)))
        self.target_group_arn = target_group.arn
        # ECS registers a service only in a target group a listener already forwards to.
        self.routed_target_group_arn = pulumi.Output.all(target_group.arn, route.arn).apply(
            lambda arns: str(arns[0])
        )
        self.target_group_arn_suffix = target_group.arn_suffix
        self.log_group_arn = log_group.arn
        self.register_outputs(
            {
                "databaseName": self.database_name,
                "roleName": self.role_name,
                "parameterNames": self.parameter_names,
                "targetGroupArn": self.target_group_arn,
                "logGroupArn": self.log_group_arn,
            }
        )

    # --- credentials ------------------------------------------------------------------

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
            name=naming.ssm_service_parameter(self._env, self._name, key),
            type="SecureString",
            value=pulumi.Output.secret(value),
            description=f"{self._name}: {key.replace('-', ' ')}",
            opts=self._child,
        )

    def _database(self, database: Database) -> None:
        service = self._service
        password = self._password("db")
        url = pulumi.Output.format(
            "postgresql://{0}:{1}@{2}:{3}/{4}?sslmode=require",
            service.role,
            password,
            database.address,
            database.port,
            service.database,
        )
        self._secure(naming.DATABASE_PASSWORD, password)
        self._secure(naming.DATABASE_URL, url)
        self._parameters[naming.DATABASE_NAME] = aws.ssm.Parameter(
            f"{self._name}-{naming.DATABASE_NAME}",
            name=naming.ssm_service_parameter(self._env, self._name, naming.DATABASE_NAME),
            type="String",
            insecure_value=service.database,
            description=f"{self._name}: its PostgreSQL database",
            opts=self._child,
        )

    def _redis(self) -> None:
        password = self._password("redis")
        host = placement.redis_host(self._settings, self._name)
        # Redis 6+ names the password-only user `default`; `redis://:<password>@` leaves the
        # user empty, which redis-cli sends as AUTH "" <password> and Redis refuses.
        url = pulumi.Output.format(
            "redis://{0}:{1}@{2}:{3}/0", REDIS_USER, password, host, REDIS_PORT
        )
        self._secure(naming.REDIS_PASSWORD, password)
        self._secure(naming.REDIS_URL, url)

    def _rabbitmq(self) -> None:
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
        host = placement.rabbitmq_host(self._settings, name)
        url = pulumi.Output.format("amqp://{0}:{1}@{2}:{3}/{0}", name, password, host, AMQP_PORT)
        self._secure(naming.RABBITMQ_PASSWORD, password)
        self._secure(naming.RABBITMQ_DEFINITIONS, definitions)
        self._secure(naming.AMQP_URL, url)

    # --- alarms -----------------------------------------------------------------------

    def _alarms(
        self,
        alb_arn_suffix: pulumi.Output[str],
        target_group_arn_suffix: pulumi.Output[str],
        topic_arn: pulumi.Input[str],
    ) -> None:
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
                name=alarm_name(self._env, self._name, suffix),
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
