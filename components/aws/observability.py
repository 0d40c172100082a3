"""`AlarmTopic` and `Observability`: where alarms go, what they watch, the dashboard."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.aws.database import Database
from components.aws.kms import account_administers, customer_key
from components.host import cloudwatch_agent
from components.outputs import ComponentOutputs
from components.settings import CloudSettings, rds_classes
from seed import naming

CPU_PERCENT = 80.0
FREE_STORAGE_FRACTION = 0.1
FREEABLE_MEMORY_FRACTION = 0.1
CONNECTIONS_FRACTION = 0.8
# An app host's disks (root, Docker's data) and memory, as its CloudWatch agent reports them.
DISK_USED_PERCENT = 85.0
MEMORY_USED_PERCENT = 90.0
ALB_5XX_PER_5_MINUTES = 10
CLOUDWATCH_PRINCIPAL = "cloudwatch.amazonaws.com"
EVENTS_PRINCIPAL = "events.amazonaws.com"
# What SSM sends EventBridge when one instance's run of an association ends (AWS Systems
# Manager User Guide, "Amazon EventBridge event examples for Systems Manager").
ASSOCIATION_EVENT = "EC2 State Manager Instance Association State Change"
FAILED_RUN_STATUSES = ("Failed", "TimedOut")


def is_burstable(instance_type: str) -> bool:
    """A T-family (burstable) EC2 type or RDS class: t3.medium, t4g.micro, db.t4g.small."""
    return instance_type.removeprefix("db.").startswith("t")


@dataclass(frozen=True)
class AlarmTopicArgs:
    """Whose alarms the topic carries and who reads them.

    Attributes:
        environment: dev, staging or prod (the key's alias and description).
        emails: who is subscribed (`observability.alarmEmails`; each confirms by email once).
    """

    environment: str
    emails: tuple[str, ...]

    @classmethod
    def of(cls, settings: CloudSettings) -> AlarmTopicArgs:
        return cls(settings.environment, tuple(settings.observability.alarm_emails))


@dataclass(frozen=True)
class AlarmTopicOutputs(ComponentOutputs):
    """`arn`: the topic every alarm notifies; `key_arn`: the key it is encrypted with."""

    arn: pulumi.Output[str]
    key_arn: pulumi.Output[str]


class AlarmTopic(pulumi.ComponentResource):
    """The encrypted SNS topic every alarm notifies, with the configured email subscriptions.

    The topic is encrypted with a customer-managed KMS key of its own: the
    AWS-managed `alias/aws/sns` key's policy cannot admit CloudWatch, so
    alarms could not publish to a topic encrypted with it. The key policy
    lets CloudWatch and EventBridge encrypt for the topic, and the topic
    policy lets this account's alarms and this environment's EventBridge
    rules (a failed deploy) publish.

    Args:
        name: prefix for every child's name.
        args: the environment and the subscribed addresses (`AlarmTopicArgs.of`).
        opts: must carry the stack's AWS provider.
    """

    outputs: AlarmTopicOutputs

    def __init__(
        self, name: str, args: AlarmTopicArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ticketing:aws:AlarmTopic", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix = f"{naming.PROJECT}-{args.environment}"
        # Output-form invoke: a plain invoke would stall the program until it resolves.
        account = aws.get_caller_identity_output(
            opts=pulumi.InvokeOutputOptions(parent=self)
        ).account_id
        key = customer_key(
            name,
            alias=f"{prefix}-alarms",
            description=f"{prefix} alarm topic: lets CloudWatch publish encrypted alarms",
            policy=account.apply(alarm_key_policy),
            opts=child,
        )
        topic = aws.sns.Topic(f"{name}-topic", kms_master_key_id=key.arn, opts=child)
        aws.sns.TopicPolicy(
            f"{name}-topic-policy",
            arn=topic.arn,
            policy=pulumi.Output.all(topic.arn, account).apply(
                lambda v: alarm_topic_policy(str(v[0]), str(v[1]), prefix)
            ),
            opts=child,
        )
        for index, email in enumerate(args.emails):
            aws.sns.TopicSubscription(
                f"{name}-email-{index}",
                topic=topic.arn,
                protocol="email",
                endpoint=email,
                opts=child,
            )
        self.outputs = AlarmTopicOutputs(arn=topic.arn, key_arn=key.arn)
        self.register_outputs(self.outputs.registered())


def alarm_key_policy(account: str) -> str:
    """The alarm key's policy: the account administers it, CloudWatch encrypts with it."""
    statements: list[dict[str, Any]] = [
        account_administers(account),
        {
            "Sid": "CloudWatchEncryptsAlarms",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDWATCH_PRINCIPAL},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
        },
        {
            "Sid": "EventBridgeEncryptsEvents",
            "Effect": "Allow",
            "Principal": {"Service": EVENTS_PRINCIPAL},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
        },
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


def alarm_topic_policy(topic_arn: str, account: str, prefix: str) -> str:
    """The topic's policy: CloudWatch may publish to it for this account's alarms only, and
    EventBridge for this account's rules named for this environment (`<prefix>-*`)."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "CloudWatchPublishesAlarms",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDWATCH_PRINCIPAL},
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": {"StringEquals": {"aws:SourceAccount": account}},
        },
        {
            "Sid": "EventBridgePublishesEvents",
            "Effect": "Allow",
            "Principal": {"Service": EVENTS_PRINCIPAL},
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": {
                "ArnLike": {"aws:SourceArn": f"arn:aws:events:*:{account}:rule/{prefix}-*"}
            },
        },
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


def deploy_failure_pattern(instance_ids: Sequence[str]) -> str:
    """The EventBridge pattern for a failed run of any association on these instances."""
    pattern = {
        "source": ["aws.ssm"],
        "detail-type": [ASSOCIATION_EVENT],
        "detail": {"instance-id": sorted(instance_ids), "status": list(FAILED_RUN_STATUSES)},
    }
    return json.dumps(pattern, sort_keys=True)


@dataclass(frozen=True)
class WatchedDatabase:
    """What the alarms read of one RDS instance: its id, and the class and storage its
    thresholds are fractions of."""

    identifier: pulumi.Output[str]
    instance_class: str
    allocated_storage_gb: int


@dataclass(frozen=True)
class ObservabilityArgs:
    """What the alarms and the dashboard watch, and where the alarms go.

    Attributes:
        environment: dev, staging or prod (alarm and dashboard names).
        region: the AWS region (auto-recover ARN, dashboard widgets).
        topic_arn: `AlarmTopicOutputs.arn`.
        alb_arn_suffix: the ALB's CloudWatch dimension.
        databases: every RDS instance by placement name (`shared` or a service name).
        hosts: host name -> EC2 instance id.
        host_instance_type: the app hosts' EC2 type (a burstable one is watched for
            surplus CPU credits).
        nat_instance_id: the NAT instance (`AwsNetworkOutputs.nat_instance_id`), or None.
        dashboard: whether the stack has its dashboard (`observability.dashboard`).
    """

    environment: str
    region: str
    topic_arn: pulumi.Input[str]
    alb_arn_suffix: pulumi.Input[str]
    databases: Mapping[str, WatchedDatabase]
    hosts: Mapping[str, pulumi.Input[str]]
    host_instance_type: str
    nat_instance_id: pulumi.Input[str] | None
    dashboard: bool = True

    @classmethod
    def of(
        cls,
        environment: str,
        region: str,
        host_instance_type: str,
        *,
        topic_arn: pulumi.Input[str],
        alb_arn_suffix: pulumi.Input[str],
        databases: Mapping[str, Database],
        hosts: Mapping[str, pulumi.Input[str]],
        nat_instance_id: pulumi.Input[str] | None = None,
        dashboard: bool = True,
    ) -> ObservabilityArgs:
        """The app tier's RDS instances (`databases`) and app hosts (`hosts`: name ->
        instance id), the ALB and the NAT instance, alarmed on `topic_arn`."""
        return cls(
            environment=environment,
            region=region,
            topic_arn=topic_arn,
            alb_arn_suffix=alb_arn_suffix,
            databases={
                db: WatchedDatabase(
                    d.outputs.identifier,
                    d.settings.instance_class,
                    d.settings.allocated_storage_gb,
                )
                for db, d in databases.items()
            },
            hosts=dict(hosts),
            host_instance_type=host_instance_type,
            nat_instance_id=nat_instance_id,
            dashboard=dashboard,
        )


@dataclass(frozen=True)
class ObservabilityOutputs(ComponentOutputs):
    """`dashboard_name`: the stack's CloudWatch dashboard, None where it has none."""

    dashboard_name: pulumi.Output[str] | None


class Observability(pulumi.ComponentResource):
    """Alarms on the ALB, every RDS instance and every app host, and one dashboard.

    EC2 system status check failures trigger AWS's auto-recover action (the
    instance moves to healthy hardware, keeping its id, IP and volumes). Each
    app host's disks and memory are watched through its CloudWatch agent, which
    every apply installs and configures (`components.host.cloudwatch_agent`). A
    failed run of an app host's association (a deploy, or the scheduled
    re-apply) reaches the topic through an EventBridge rule: SSM publishes no
    metric for it. The
    NAT instance (dev's egress) is watched too, and recovers beyond hardware
    faults: a failed instance status check (a hung kernel, an exhausted
    memory, a broken network stack) reboots it.

    Args:
        name: prefix for every child's name.
        args: what is watched and the alarm topic (`ObservabilityArgs.of`).
        opts: must carry the stack's AWS provider.
    """

    outputs: ObservabilityOutputs

    def __init__(
        self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ticketing:aws:Observability", name, None, opts)
        self._child = pulumi.ResourceOptions(parent=self)
        self._name = name
        self._prefix = f"{naming.PROJECT}-{args.environment}"
        self._topic = args.topic_arn

        self._alb_alarms(args.alb_arn_suffix)
        for db, database in args.databases.items():
            self._database_alarms(db, database)
        for host, instance_id in args.hosts.items():
            self._host_alarms(args, host, instance_id)
        if args.hosts:
            self._deploy_failures(args.hosts)
        if args.nat_instance_id is not None:
            self._nat_alarms(args.region, args.nat_instance_id)
        dashboard = self._dashboard(args) if args.dashboard else None
        self.outputs = ObservabilityOutputs(dashboard_name=dashboard)
        self.register_outputs(self.outputs.registered())

    def _alb_alarms(self, alb_arn_suffix: pulumi.Input[str]) -> None:
        """The ALB's own 5xx answers: no healthy target, or a target timing out."""
        self._alarm(
            "alb-5xx",
            "The ALB itself answers 5xx (no healthy target, timeouts)",
            "AWS/ApplicationELB",
            "HTTPCode_ELB_5XX_Count",
            {"LoadBalancer": alb_arn_suffix},
            ALB_5XX_PER_5_MINUTES,
            statistic="Sum",
            period=300,
            # CloudWatch publishes no count for a period without errors: that is a calm one.
            missing_data="notBreaching",
        )

    def _database_alarms(self, db: str, database: WatchedDatabase) -> None:
        """CPU, free storage, freeable memory and connections of one RDS instance."""
        dims = {"DBInstanceIdentifier": database.identifier}
        instance_class = database.instance_class
        self._alarm(
            f"{db}-rds-cpu",
            f"RDS {db} CPU",
            "AWS/RDS",
            "CPUUtilization",
            dims,
            CPU_PERCENT,
            periods=3,
        )
        self._alarm(
            f"{db}-rds-free-storage",
            f"RDS {db} free storage below {FREE_STORAGE_FRACTION:.0%} of allocated",
            "AWS/RDS",
            "FreeStorageSpace",
            dims,
            database.allocated_storage_gb * 1024**3 * FREE_STORAGE_FRACTION,
            comparison="LessThanThreshold",
        )
        self._alarm(
            f"{db}-rds-freeable-memory",
            f"RDS {db} freeable memory below {FREEABLE_MEMORY_FRACTION:.0%} of the class's",
            "AWS/RDS",
            "FreeableMemory",
            dims,
            rds_classes.memory_gib(instance_class) * 1024**3 * FREEABLE_MEMORY_FRACTION,
            period=300,
            periods=3,
            comparison="LessThanThreshold",
        )
        self._alarm(
            f"{db}-rds-connections",
            f"RDS {db} connections above {CONNECTIONS_FRACTION:.0%} of max_connections"
            f" ({rds_classes.max_connections(instance_class)})",
            "AWS/RDS",
            "DatabaseConnections",
            dims,
            int(rds_classes.max_connections(instance_class) * CONNECTIONS_FRACTION),
            statistic="Maximum",
            periods=3,
        )

    def _host_alarms(
        self, args: ObservabilityArgs, host: str, instance_id: pulumi.Input[str]
    ) -> None:
        """Status checks (a failed system check recovers the VM), CPU, disk and memory use
        (`_agent_alarms`), and on a burstable type the surplus credits it runs on."""
        dims = {"InstanceId": instance_id}
        self._alarm(
            f"{host}-host-system-check",
            f"App host {host} failed the system status check: recovering it",
            "AWS/EC2",
            "StatusCheckFailed_System",
            dims,
            0,
            statistic="Maximum",
            periods=2,
            extra_actions=[f"arn:aws:automate:{args.region}:ec2:recover"],
        )
        self._alarm(
            f"{host}-host-instance-check",
            f"App host {host} failed the instance status check",
            "AWS/EC2",
            "StatusCheckFailed_Instance",
            dims,
            0,
            statistic="Maximum",
            periods=3,
        )
        self._alarm(
            f"{host}-host-cpu",
            f"App host {host} CPU",
            "AWS/EC2",
            "CPUUtilization",
            dims,
            CPU_PERCENT,
            periods=3,
        )
        self._agent_alarms(host, instance_id)
        if is_burstable(args.host_instance_type):
            # T3 and T3a launch in unlimited mode: past its earned credits the host runs
            # on surplus ones, billed unless idle time pays them back. EC2 publishes the
            # balance every 5 minutes; no datapoint is a calm period.
            self._alarm(
                f"{host}-host-cpu-surplus",
                f"App host {host} ({args.host_instance_type}) runs on surplus CPU credits: "
                "sustained load above its baseline, billed beyond the hourly price",
                "AWS/EC2",
                "CPUSurplusCreditBalance",
                dims,
                0,
                statistic="Maximum",
                period=300,
                periods=3,
                missing_data="notBreaching",
            )

    def _agent_alarms(self, host: str, instance_id: pulumi.Input[str]) -> None:
        """Disk use of the root and Docker's data volume, and memory use, as the host's
        CloudWatch agent reports them (`components.host.cloudwatch_agent`). No datapoint
        breaches: a host whose agent stopped reporting is a host nobody watches."""
        for path in cloudwatch_agent.HOST_DISKS:
            self._alarm(
                f"{host}-host-disk-{disk_label(path)}",
                f"App host {host}: {path} more than {DISK_USED_PERCENT:.0f}% full",
                cloudwatch_agent.NAMESPACE,
                cloudwatch_agent.DISK_USED_METRIC,
                cloudwatch_agent.disk_dimensions(instance_id, path),
                DISK_USED_PERCENT,
                statistic="Maximum",
                period=300,
                missing_data="breaching",
            )
        self._alarm(
            f"{host}-host-memory",
            f"App host {host}: memory more than {MEMORY_USED_PERCENT:.0f}% used",
            cloudwatch_agent.NAMESPACE,
            cloudwatch_agent.MEMORY_USED_METRIC,
            cloudwatch_agent.memory_dimensions(instance_id),
            MEMORY_USED_PERCENT,
            period=300,
            periods=2,
            missing_data="breaching",
        )

    def _dashboard(self, args: ObservabilityArgs) -> pulumi.Output[str]:
        """The stack's dashboard (`dashboard_body`); its name."""
        region = args.region
        body = pulumi.Output.all(
            alb=args.alb_arn_suffix,
            dbs=pulumi.Output.all(*[d.identifier for d in args.databases.values()]),
            hosts=pulumi.Output.all(*args.hosts.values()),
        ).apply(lambda v: dashboard_body(region, v["alb"], list(v["dbs"]), list(v["hosts"])))
        dashboard = aws.cloudwatch.Dashboard(
            f"{self._name}-dashboard",
            dashboard_name=self._prefix,
            dashboard_body=body,
            opts=self._child,
        )
        return dashboard.dashboard_name

    def _deploy_failures(self, hosts: Mapping[str, pulumi.Input[str]]) -> None:
        """Every failed or timed-out run of an association on an app host notifies the topic."""
        rule = aws.cloudwatch.EventRule(
            f"{self._name}-deploy-failed",
            name=f"{self._prefix}-deploy-failed",
            description="An app host's apply (a deploy or the scheduled re-apply) failed",
            event_pattern=pulumi.Output.all(*hosts.values()).apply(
                lambda ids: deploy_failure_pattern([str(i) for i in ids])
            ),
            opts=self._child,
        )
        aws.cloudwatch.EventTarget(
            f"{self._name}-deploy-failed",
            rule=rule.name,
            arn=self._topic,
            opts=self._child,
        )

    def _nat_alarms(self, region: str, instance_id: pulumi.Input[str]) -> None:
        """A failed system check moves the NAT to healthy hardware; a failed instance check
        (the guest itself: kernel, memory, network configuration) reboots it. Both notify:
        while either fails, the private subnets have no egress."""
        dims = {"InstanceId": instance_id}
        self._alarm(
            "nat-system-check",
            "NAT instance failed the system status check: recovering it (private egress down)",
            "AWS/EC2",
            "StatusCheckFailed_System",
            dims,
            0,
            statistic="Maximum",
            periods=2,
            extra_actions=[f"arn:aws:automate:{region}:ec2:recover"],
        )
        self._alarm(
            "nat-instance-check",
            "NAT instance failed the instance status check: rebooting it (private egress down)",
            "AWS/EC2",
            "StatusCheckFailed_Instance",
            dims,
            0,
            statistic="Maximum",
            periods=3,
            extra_actions=[f"arn:aws:automate:{region}:ec2:reboot"],
        )

    def _alarm(
        self,
        suffix: str,
        description: str,
        namespace: str,
        metric: str,
        dimensions: Mapping[str, pulumi.Input[str]],
        threshold: float,
        *,
        statistic: str = "Average",
        period: int = 60,
        periods: int = 1,
        comparison: str = "GreaterThanThreshold",
        extra_actions: Sequence[str] = (),
        missing_data: str = "missing",
    ) -> None:
        aws.cloudwatch.MetricAlarm(
            f"{self._name}-{suffix}",
            name=f"{self._prefix}-{suffix}",
            alarm_description=description,
            namespace=namespace,
            metric_name=metric,
            dimensions=dict(dimensions),
            statistic=statistic,
            period=period,
            evaluation_periods=periods,
            threshold=threshold,
            comparison_operator=comparison,
            treat_missing_data=missing_data,
            alarm_actions=[self._topic, *extra_actions],
            ok_actions=[self._topic],
            opts=self._child,
        )


def disk_label(path: str) -> str:
    """An alarm-name word for a mount point: `/` -> root, `/var/lib/docker` -> docker."""
    return path.rstrip("/").rsplit("/", 1)[-1] or "root"


def dashboard_body(region: str, alb: str, databases: list[str], hosts: list[str]) -> str:
    """The dashboard JSON: ALB traffic and errors, RDS and host health."""

    def widget(title: str, metrics: list[list[Any]], stat: str = "Average") -> dict[str, Any]:
        return {
            "type": "metric",
            "width": 12,
            "height": 6,
            "properties": {
                "title": title,
                "region": region,
                "stat": stat,
                "period": 60,
                "view": "timeSeries",
                "metrics": metrics,
            },
        }

    elb, rds, ec2 = "AWS/ApplicationELB", "AWS/RDS", "AWS/EC2"
    widgets = [
        widget("ALB requests", [[elb, "RequestCount", "LoadBalancer", alb]], "Sum"),
        widget(
            "ALB 5xx",
            [
                [elb, "HTTPCode_ELB_5XX_Count", "LoadBalancer", alb],
                [elb, "HTTPCode_Target_5XX_Count", "LoadBalancer", alb],
            ],
            "Sum",
        ),
        widget("ALB p95 latency", [[elb, "TargetResponseTime", "LoadBalancer", alb]], "p95"),
        widget("RDS CPU", [[rds, "CPUUtilization", "DBInstanceIdentifier", d] for d in databases]),
        widget(
            "RDS free storage",
            [[rds, "FreeStorageSpace", "DBInstanceIdentifier", d] for d in databases],
            "Minimum",
        ),
        widget(
            "RDS connections",
            [[rds, "DatabaseConnections", "DBInstanceIdentifier", d] for d in databases],
            "Maximum",
        ),
        widget("App host CPU", [[ec2, "CPUUtilization", "InstanceId", h] for h in hosts]),
        widget(
            "App host status checks",
            [[ec2, "StatusCheckFailed", "InstanceId", h] for h in hosts],
            "Maximum",
        ),
    ]
    return json.dumps({"widgets": widgets}, sort_keys=True)
