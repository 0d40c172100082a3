"""AWS's own constraints on the inputs the program sends, checked before the plan passes.

The provider checks some inputs at preview and leaves the rest to the AWS API,
which refuses them at `pulumi up`, half-way through a deployment. This module
checks the captured inputs against:

- botocore's service models (AWS's API definitions, shipped in the `botocore`
  wheel): the length, pattern, enum and range of each API parameter that a
  resource property maps onto (`MODELLED`, one row per property);
- documented rules the models lack (`DOCUMENTED`), each with its source.

Inputs are the engine's (camelCase, as captured by `plan.engine`). Values the
plan does not know are skipped; a secret is checked but never printed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar, cast

from components.settings.fargate import FARGATE_SIZES_SOURCE, fargate_size_problem
from plan.model import Resource, Secret

SECRET_SHOWN = "[secret]"


@dataclass(frozen=True)
class Mapped:
    """A resource property that is an API parameter: `service`'s `operation`, `member`.

    Paths use `.` for nesting and `[]` for each item of a list, on both sides:
    `healthCheck.path`, `IpPermissions[].IpRanges[].Description`.
    """

    type: str
    property: str
    service: str
    operation: str
    member: str


@dataclass(frozen=True)
class ModelledDocument:
    """A resource property that holds, as JSON text, a whole API parameter: every member
    of the document is checked against the parameter's shape (unknown members, missing
    required ones, types, and each value's length, pattern, enum and range)."""

    type: str
    property: str
    service: str
    operation: str
    member: str


@dataclass(frozen=True)
class DocumentedResource:
    """A documented rule over several properties of one resource: `problem` says what is
    wrong with the inputs (None when nothing is)."""

    type: str
    properties: str
    problem: Callable[[Mapping[str, Any]], str | None]
    source: str
    shows: tuple[str, ...] = ()

    def shown(self, inputs: Mapping[str, Any]) -> str:
        """The values the line shows (`cpu "256", memory "3000"`); documents are not shown."""
        return ", ".join(f"{p} {_show(inputs.get(p))}" for p in self.shows)


@dataclass(frozen=True)
class Documented:
    """A documented rule that botocore's models do not carry."""

    type: str
    property: str
    rule: str
    check: Callable[[Any], bool]
    source: str


@dataclass(frozen=True)
class Violation:
    type: str
    name: str
    property: str
    value: str
    rule: str
    source: str

    def line(self) -> str:
        return f"{self.type} {self.name}: {self.property} {self.value} {self.rule} ({self.source})"


_SG = "aws:ec2/securityGroup:SecurityGroup"
_DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
_EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
_TG = "aws:lb/targetGroup:TargetGroup"
_LB = "aws:lb/loadBalancer:LoadBalancer"
_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
_PARAMETER = "aws:ssm/parameter:Parameter"
_TASK = "aws:ecs/taskDefinition:TaskDefinition"
_ECS_SERVICE = "aws:ecs/service:Service"
_SCALING_TARGET = "aws:appautoscaling/target:Target"
_SCALING_POLICY = "aws:appautoscaling/policy:Policy"
_FILE_SYSTEM = "aws:efs/fileSystem:FileSystem"
_ACCESS_POINT = "aws:efs/accessPoint:AccessPoint"
_NAMESPACE = "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace"
_DISCOVERY = "aws:servicediscovery/service:Service"

MODELLED: tuple[Mapped, ...] = (
    Mapped("aws:acm/certificate:Certificate", "domainName", "acm", "RequestCertificate", "DomainName"),
    Mapped("aws:acm/certificate:Certificate", "subjectAlternativeNames[]", "acm", "RequestCertificate", "SubjectAlternativeNames[]"),
    Mapped("aws:acm/certificate:Certificate", "validationMethod", "acm", "RequestCertificate", "ValidationMethod"),
    Mapped("aws:acm/certificate:Certificate", "keyAlgorithm", "acm", "RequestCertificate", "KeyAlgorithm"),
    Mapped("aws:backup/vault:Vault", "name", "backup", "CreateBackupVault", "BackupVaultName"),
    Mapped("aws:backup/plan:Plan", "rules[].ruleName", "backup", "CreateBackupPlan", "BackupPlan.Rules[].RuleName"),
    Mapped("aws:backup/plan:Plan", "rules[].targetVaultName", "backup", "CreateBackupPlan", "BackupPlan.Rules[].TargetBackupVaultName"),
    Mapped("aws:backup/selection:Selection", "name", "backup", "CreateBackupSelection", "BackupSelection.SelectionName"),
    Mapped("aws:cloudwatch/dashboard:Dashboard", "dashboardName", "cloudwatch", "PutDashboard", "DashboardName"),
    Mapped("aws:cloudwatch/eventRule:EventRule", "name", "events", "PutRule", "Name"),
    Mapped("aws:cloudwatch/eventRule:EventRule", "description", "events", "PutRule", "Description"),
    Mapped("aws:cloudwatch/eventRule:EventRule", "eventPattern", "events", "PutRule", "EventPattern"),
    Mapped("aws:cloudwatch/logGroup:LogGroup", "name", "logs", "CreateLogGroup", "logGroupName"),
    Mapped(_ALARM, "name", "cloudwatch", "PutMetricAlarm", "AlarmName"),
    Mapped(_ALARM, "alarmDescription", "cloudwatch", "PutMetricAlarm", "AlarmDescription"),
    Mapped(_ALARM, "comparisonOperator", "cloudwatch", "PutMetricAlarm", "ComparisonOperator"),
    Mapped(_ALARM, "statistic", "cloudwatch", "PutMetricAlarm", "Statistic"),
    Mapped(_ALARM, "extendedStatistic", "cloudwatch", "PutMetricAlarm", "ExtendedStatistic"),
    Mapped(_ALARM, "treatMissingData", "cloudwatch", "PutMetricAlarm", "TreatMissingData"),
    Mapped(_ALARM, "metricName", "cloudwatch", "PutMetricAlarm", "MetricName"),
    Mapped(_ALARM, "namespace", "cloudwatch", "PutMetricAlarm", "Namespace"),
    Mapped(_ALARM, "period", "cloudwatch", "PutMetricAlarm", "Period"),
    Mapped(_ALARM, "evaluationPeriods", "cloudwatch", "PutMetricAlarm", "EvaluationPeriods"),
    Mapped(_ALARM, "datapointsToAlarm", "cloudwatch", "PutMetricAlarm", "DatapointsToAlarm"),
    Mapped("aws:ec2/eip:Eip", "domain", "ec2", "AllocateAddress", "Domain"),
    Mapped("aws:ec2/flowLog:FlowLog", "trafficType", "ec2", "CreateFlowLogs", "TrafficType"),
    Mapped("aws:ec2/flowLog:FlowLog", "logDestinationType", "ec2", "CreateFlowLogs", "LogDestinationType"),
    Mapped("aws:ec2/flowLog:FlowLog", "maxAggregationInterval", "ec2", "CreateFlowLogs", "MaxAggregationInterval"),
    Mapped("aws:ec2/instance:Instance", "instanceType", "ec2", "RunInstances", "InstanceType"),
    Mapped("aws:ec2/instance:Instance", "metadataOptions.httpTokens", "ec2", "RunInstances", "MetadataOptions.HttpTokens"),
    Mapped("aws:ec2/instance:Instance", "metadataOptions.httpEndpoint", "ec2", "RunInstances", "MetadataOptions.HttpEndpoint"),
    Mapped("aws:ec2/instance:Instance", "rootBlockDevice.volumeType", "ec2", "RunInstances", "BlockDeviceMappings[].Ebs.VolumeType"),
    Mapped("aws:ec2/natGateway:NatGateway", "connectivityType", "ec2", "CreateNatGateway", "ConnectivityType"),
    Mapped("aws:ec2/vpcEndpoint:VpcEndpoint", "vpcEndpointType", "ec2", "CreateVpcEndpoint", "VpcEndpointType"),
    Mapped(_SG, "name", "ec2", "CreateSecurityGroup", "GroupName"),
    Mapped("aws:iam/role:Role", "name", "iam", "CreateRole", "RoleName"),
    Mapped("aws:iam/role:Role", "description", "iam", "CreateRole", "Description"),
    Mapped("aws:iam/role:Role", "assumeRolePolicy", "iam", "CreateRole", "AssumeRolePolicyDocument"),
    Mapped("aws:iam/rolePolicy:RolePolicy", "name", "iam", "PutRolePolicy", "PolicyName"),
    Mapped("aws:iam/rolePolicy:RolePolicy", "policy", "iam", "PutRolePolicy", "PolicyDocument"),
    Mapped("aws:iam/instanceProfile:InstanceProfile", "name", "iam", "CreateInstanceProfile", "InstanceProfileName"),
    Mapped("aws:kms/alias:Alias", "name", "kms", "CreateAlias", "AliasName"),
    Mapped("aws:kms/key:Key", "description", "kms", "CreateKey", "Description"),
    Mapped("aws:kms/key:Key", "policy", "kms", "CreateKey", "Policy"),
    Mapped("aws:kms/key:Key", "deletionWindowInDays", "kms", "ScheduleKeyDeletion", "PendingWindowInDays"),
    Mapped("aws:lb/listener:Listener", "port", "elbv2", "CreateListener", "Port"),
    Mapped("aws:lb/listener:Listener", "protocol", "elbv2", "CreateListener", "Protocol"),
    Mapped("aws:lb/listenerRule:ListenerRule", "priority", "elbv2", "CreateRule", "Priority"),
    Mapped(_LB, "loadBalancerType", "elbv2", "CreateLoadBalancer", "Type"),
    Mapped(_LB, "ipAddressType", "elbv2", "CreateLoadBalancer", "IpAddressType"),
    Mapped(_TG, "port", "elbv2", "CreateTargetGroup", "Port"),
    Mapped(_TG, "protocol", "elbv2", "CreateTargetGroup", "Protocol"),
    Mapped(_TG, "targetType", "elbv2", "CreateTargetGroup", "TargetType"),
    Mapped(_TG, "healthCheck.path", "elbv2", "CreateTargetGroup", "HealthCheckPath"),
    Mapped(_TG, "healthCheck.protocol", "elbv2", "CreateTargetGroup", "HealthCheckProtocol"),
    Mapped(_TG, "healthCheck.interval", "elbv2", "CreateTargetGroup", "HealthCheckIntervalSeconds"),
    Mapped(_TG, "healthCheck.timeout", "elbv2", "CreateTargetGroup", "HealthCheckTimeoutSeconds"),
    Mapped(_TG, "healthCheck.healthyThreshold", "elbv2", "CreateTargetGroup", "HealthyThresholdCount"),
    Mapped(_TG, "healthCheck.unhealthyThreshold", "elbv2", "CreateTargetGroup", "UnhealthyThresholdCount"),
    Mapped("aws:lb/targetGroupAttachment:TargetGroupAttachment", "port", "elbv2", "RegisterTargets", "Targets[].Port"),
    Mapped("aws:rds/instance:Instance", "identifier", "rds", "CreateDBInstance", "DBInstanceIdentifier"),
    Mapped("aws:rds/instance:Instance", "allocatedStorage", "rds", "CreateDBInstance", "AllocatedStorage"),
    Mapped("aws:rds/instance:Instance", "backupRetentionPeriod", "rds", "CreateDBInstance", "BackupRetentionPeriod"),
    Mapped("aws:sns/topic:Topic", "name", "sns", "CreateTopic", "Name"),
    Mapped("aws:ssm/association:Association", "associationName", "ssm", "CreateAssociation", "AssociationName"),
    Mapped("aws:ssm/association:Association", "scheduleExpression", "ssm", "CreateAssociation", "ScheduleExpression"),
    Mapped("aws:ssm/association:Association", "maxConcurrency", "ssm", "CreateAssociation", "MaxConcurrency"),
    Mapped("aws:ssm/association:Association", "maxErrors", "ssm", "CreateAssociation", "MaxErrors"),
    Mapped("aws:ssm/association:Association", "complianceSeverity", "ssm", "CreateAssociation", "ComplianceSeverity"),
    Mapped("aws:ssm/document:Document", "name", "ssm", "CreateDocument", "Name"),
    Mapped("aws:ssm/document:Document", "content", "ssm", "CreateDocument", "Content"),
    Mapped("aws:ssm/document:Document", "documentType", "ssm", "CreateDocument", "DocumentType"),
    Mapped("aws:ssm/document:Document", "documentFormat", "ssm", "CreateDocument", "DocumentFormat"),
    Mapped(_PARAMETER, "name", "ssm", "PutParameter", "Name"),
    Mapped(_PARAMETER, "description", "ssm", "PutParameter", "Description"),
    Mapped(_PARAMETER, "type", "ssm", "PutParameter", "Type"),
    Mapped(_PARAMETER, "tier", "ssm", "PutParameter", "Tier"),
    Mapped(_INGRESS, "ipProtocol", "ec2", "AuthorizeSecurityGroupIngress", "IpPermissions[].IpProtocol"),
    Mapped(_INGRESS, "description", "ec2", "AuthorizeSecurityGroupIngress", "IpPermissions[].IpRanges[].Description"),
    Mapped(_EGRESS, "ipProtocol", "ec2", "AuthorizeSecurityGroupEgress", "IpPermissions[].IpProtocol"),
    Mapped(_EGRESS, "description", "ec2", "AuthorizeSecurityGroupEgress", "IpPermissions[].IpRanges[].Description"),
    # ECS on Fargate, its autoscaling, its broker's EFS and its Cloud Map names.
    Mapped("aws:ecs/cluster:Cluster", "name", "ecs", "CreateCluster", "clusterName"),
    Mapped(_TASK, "family", "ecs", "RegisterTaskDefinition", "family"),
    Mapped(_TASK, "networkMode", "ecs", "RegisterTaskDefinition", "networkMode"),
    Mapped(_TASK, "requiresCompatibilities[]", "ecs", "RegisterTaskDefinition", "requiresCompatibilities[]"),
    Mapped(_TASK, "cpu", "ecs", "RegisterTaskDefinition", "cpu"),
    Mapped(_TASK, "memory", "ecs", "RegisterTaskDefinition", "memory"),
    Mapped(_TASK, "runtimePlatform.cpuArchitecture", "ecs", "RegisterTaskDefinition", "runtimePlatform.cpuArchitecture"),
    Mapped(_TASK, "runtimePlatform.operatingSystemFamily", "ecs", "RegisterTaskDefinition", "runtimePlatform.operatingSystemFamily"),
    Mapped(_TASK, "volumes[].name", "ecs", "RegisterTaskDefinition", "volumes[].name"),
    Mapped(_TASK, "volumes[].efsVolumeConfiguration.transitEncryption", "ecs", "RegisterTaskDefinition", "volumes[].efsVolumeConfiguration.transitEncryption"),
    Mapped(_TASK, "volumes[].efsVolumeConfiguration.authorizationConfig.iam", "ecs", "RegisterTaskDefinition", "volumes[].efsVolumeConfiguration.authorizationConfig.iam"),
    Mapped(_ECS_SERVICE, "name", "ecs", "CreateService", "serviceName"),
    Mapped(_ECS_SERVICE, "launchType", "ecs", "CreateService", "launchType"),
    Mapped(_ECS_SERVICE, "desiredCount", "ecs", "CreateService", "desiredCount"),
    Mapped(_ECS_SERVICE, "platformVersion", "ecs", "CreateService", "platformVersion"),
    Mapped(_ECS_SERVICE, "propagateTags", "ecs", "CreateService", "propagateTags"),
    Mapped(_ECS_SERVICE, "schedulingStrategy", "ecs", "CreateService", "schedulingStrategy"),
    Mapped(_ECS_SERVICE, "availabilityZoneRebalancing", "ecs", "CreateService", "availabilityZoneRebalancing"),
    Mapped(_ECS_SERVICE, "healthCheckGracePeriodSeconds", "ecs", "CreateService", "healthCheckGracePeriodSeconds"),
    Mapped(_ECS_SERVICE, "deploymentMinimumHealthyPercent", "ecs", "CreateService", "deploymentConfiguration.minimumHealthyPercent"),
    Mapped(_ECS_SERVICE, "deploymentMaximumPercent", "ecs", "CreateService", "deploymentConfiguration.maximumPercent"),
    Mapped(_ECS_SERVICE, "alarms.alarmNames[]", "ecs", "CreateService", "deploymentConfiguration.alarms.alarmNames[]"),
    Mapped(_ECS_SERVICE, "loadBalancers[].containerName", "ecs", "CreateService", "loadBalancers[].containerName"),
    Mapped(_ECS_SERVICE, "loadBalancers[].containerPort", "ecs", "CreateService", "loadBalancers[].containerPort"),
    Mapped(_SCALING_TARGET, "serviceNamespace", "application-autoscaling", "RegisterScalableTarget", "ServiceNamespace"),
    Mapped(_SCALING_TARGET, "scalableDimension", "application-autoscaling", "RegisterScalableTarget", "ScalableDimension"),
    Mapped(_SCALING_TARGET, "resourceId", "application-autoscaling", "RegisterScalableTarget", "ResourceId"),
    Mapped(_SCALING_TARGET, "minCapacity", "application-autoscaling", "RegisterScalableTarget", "MinCapacity"),
    Mapped(_SCALING_TARGET, "maxCapacity", "application-autoscaling", "RegisterScalableTarget", "MaxCapacity"),
    Mapped(_SCALING_POLICY, "name", "application-autoscaling", "PutScalingPolicy", "PolicyName"),
    Mapped(_SCALING_POLICY, "policyType", "application-autoscaling", "PutScalingPolicy", "PolicyType"),
    Mapped(_SCALING_POLICY, "serviceNamespace", "application-autoscaling", "PutScalingPolicy", "ServiceNamespace"),
    Mapped(_SCALING_POLICY, "scalableDimension", "application-autoscaling", "PutScalingPolicy", "ScalableDimension"),
    Mapped(_SCALING_POLICY, "resourceId", "application-autoscaling", "PutScalingPolicy", "ResourceId"),
    Mapped(_SCALING_POLICY, "targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.predefinedMetricType", "application-autoscaling", "PutScalingPolicy", "TargetTrackingScalingPolicyConfiguration.PredefinedMetricSpecification.PredefinedMetricType"),
    Mapped(_SCALING_POLICY, "targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.resourceLabel", "application-autoscaling", "PutScalingPolicy", "TargetTrackingScalingPolicyConfiguration.PredefinedMetricSpecification.ResourceLabel"),
    Mapped(_SCALING_POLICY, "targetTrackingScalingPolicyConfiguration.scaleInCooldown", "application-autoscaling", "PutScalingPolicy", "TargetTrackingScalingPolicyConfiguration.ScaleInCooldown"),
    Mapped(_SCALING_POLICY, "targetTrackingScalingPolicyConfiguration.scaleOutCooldown", "application-autoscaling", "PutScalingPolicy", "TargetTrackingScalingPolicyConfiguration.ScaleOutCooldown"),
    Mapped(_FILE_SYSTEM, "creationToken", "efs", "CreateFileSystem", "CreationToken"),
    Mapped(_FILE_SYSTEM, "performanceMode", "efs", "CreateFileSystem", "PerformanceMode"),
    Mapped(_FILE_SYSTEM, "throughputMode", "efs", "CreateFileSystem", "ThroughputMode"),
    Mapped(_ACCESS_POINT, "posixUser.uid", "efs", "CreateAccessPoint", "PosixUser.Uid"),
    Mapped(_ACCESS_POINT, "posixUser.gid", "efs", "CreateAccessPoint", "PosixUser.Gid"),
    Mapped(_ACCESS_POINT, "rootDirectory.path", "efs", "CreateAccessPoint", "RootDirectory.Path"),
    Mapped(_ACCESS_POINT, "rootDirectory.creationInfo.ownerUid", "efs", "CreateAccessPoint", "RootDirectory.CreationInfo.OwnerUid"),
    Mapped(_ACCESS_POINT, "rootDirectory.creationInfo.ownerGid", "efs", "CreateAccessPoint", "RootDirectory.CreationInfo.OwnerGid"),
    Mapped(_ACCESS_POINT, "rootDirectory.creationInfo.permissions", "efs", "CreateAccessPoint", "RootDirectory.CreationInfo.Permissions"),
    Mapped(_NAMESPACE, "name", "servicediscovery", "CreatePrivateDnsNamespace", "Name"),
    Mapped(_NAMESPACE, "description", "servicediscovery", "CreatePrivateDnsNamespace", "Description"),
    Mapped(_DISCOVERY, "name", "servicediscovery", "CreateService", "Name"),
    Mapped(_DISCOVERY, "description", "servicediscovery", "CreateService", "Description"),
    Mapped(_DISCOVERY, "dnsConfig.routingPolicy", "servicediscovery", "CreateService", "DnsConfig.RoutingPolicy"),
    Mapped(_DISCOVERY, "dnsConfig.dnsRecords[].type", "servicediscovery", "CreateService", "DnsConfig.DnsRecords[].Type"),
    Mapped(_DISCOVERY, "dnsConfig.dnsRecords[].ttl", "servicediscovery", "CreateService", "DnsConfig.DnsRecords[].TTL"),
)  # fmt: skip

# Documents a property carries whole, as JSON text.
MODELLED_DOCUMENTS: tuple[ModelledDocument, ...] = (
    ModelledDocument(_TASK, "containerDefinitions", "ecs", "RegisterTaskDefinition", "containerDefinitions"),
)  # fmt: skip

# EC2 group and rule descriptions: "a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*".
_EC2_DESCRIPTION = re.compile(r"[a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*]*")
_EC2_SG_DOCS = "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html"
_EC2_RULE_DOCS = "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_IpRange.html"
# Target group and load balancer names: at most 32 alphanumerics and hyphens, no hyphen at
# either end (a load balancer's may not start with "internal-" either).
_ELB_NAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,32}(?<!-)")
_TG_DOCS = "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html"
_LB_DOCS = "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html"
# RDS instance identifiers: 1-63 letters, digits or hyphens, a letter first, no "--", no hyphen last.
_RDS_IDENTIFIER = re.compile(r"[A-Za-z](?!.*--)[A-Za-z0-9-]{0,62}(?<!-)")
_RDS_DOCS = "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html"
_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
     2922, 3288, 3653}
)  # fmt: skip
_RETENTION_DOCS = "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html"
_PARAMETER_DOCS = (
    "https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html"
)


def _ec2_description(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= 255 and bool(_EC2_DESCRIPTION.fullmatch(value))


def _standard_parameter(value: Any) -> bool:
    return not isinstance(value, str) or len(value.encode()) <= 4096


_EC2_RULE = "may hold only a-zA-Z0-9, spaces and ._-:/()#,@[]+=&;{}!$* (at most 255)"

DOCUMENTED: tuple[Documented, ...] = (
    Documented(_SG, "description", _EC2_RULE, _ec2_description, _EC2_SG_DOCS),
    Documented(_DEFAULT_SG, "ingress[].description", _EC2_RULE, _ec2_description, _EC2_RULE_DOCS),
    Documented(_DEFAULT_SG, "egress[].description", _EC2_RULE, _ec2_description, _EC2_RULE_DOCS),
    Documented(_INGRESS, "description", _EC2_RULE, _ec2_description, _EC2_RULE_DOCS),
    Documented(_EGRESS, "description", _EC2_RULE, _ec2_description, _EC2_RULE_DOCS),
    Documented(
        _TG,
        "name",
        "must be 1-32 alphanumerics or hyphens, no hyphen first or last",
        lambda v: bool(_ELB_NAME.fullmatch(str(v))),
        _TG_DOCS,
    ),
    Documented(
        _LB,
        "name",
        "must be 1-32 alphanumerics or hyphens, no hyphen first or last, not internal-...",
        lambda v: bool(_ELB_NAME.fullmatch(str(v))) and not str(v).startswith("internal-"),
        _LB_DOCS,
    ),
    Documented(
        "aws:rds/instance:Instance",
        "identifier",
        "must be 1-63 letters, digits or hyphens, a letter first, no -- and no hyphen last",
        lambda v: bool(_RDS_IDENTIFIER.fullmatch(str(v))),
        _RDS_DOCS,
    ),
    Documented(
        "aws:cloudwatch/logGroup:LogGroup",
        "retentionInDays",
        f"must be one of {', '.join(str(d) for d in sorted(_RETENTION_DAYS))}",
        lambda v: int(v) in _RETENTION_DAYS,
        _RETENTION_DOCS,
    ),
    Documented(
        _PARAMETER,
        "value",
        "exceeds a Standard parameter's 4 KB",
        _standard_parameter,
        _PARAMETER_DOCS,
    ),
    Documented(
        _PARAMETER,
        "insecureValue",
        "exceeds a Standard parameter's 4 KB",
        _standard_parameter,
        _PARAMETER_DOCS,
    ),
)


# ECS names (clusters, services, task families, containers): "Up to 255 letters (uppercase
# and lowercase), numbers, underscores, and hyphens are allowed" (botocore's ECS model, the
# documentation of clusterName, serviceName, family and ContainerDefinition.name).
_ECS_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")
_ECS_NAME_RULE = "may hold only letters, digits, hyphens and underscores (1 to 255)"
_ECS_DOCS = "botocore ecs documentation"
# Seconds a container health check takes, from botocore's ECS HealthCheck documentation.
_HEALTH_RANGES = {
    "interval": (5, 300),
    "timeout": (2, 60),
    "retries": (1, 10),
    "startPeriod": (0, 300),
}
# tmpfs mount options ECS accepts (botocore's ECS model, Tmpfs.mountOptions documentation).
_TMPFS_OPTIONS = frozenset(
    {"defaults", "ro", "rw", "suid", "nosuid", "dev", "nodev", "exec", "noexec", "sync", "async",
     "dirsync", "remount", "mand", "nomand", "atime", "noatime", "diratime", "nodiratime", "bind",
     "rbind", "unbindable", "runbindable", "private", "rprivate", "shared", "rshared", "slave",
     "rslave", "relatime", "norelatime", "strictatime", "nostrictatime", "mode", "uid", "gid",
     "nr_inodes", "nr_blocks", "mpol"}
)  # fmt: skip


def _ecs_name(value: Any) -> bool:
    return bool(_ECS_NAME.fullmatch(str(value)))


def _in_range(low: int, high: int) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int | float) and low <= v <= high


def _container_rows() -> tuple[Documented, ...]:
    rows = [
        Documented(_TASK, "containerDefinitions[].name", _ECS_NAME_RULE, _ecs_name, _ECS_DOCS),
        Documented(
            _TASK,
            "containerDefinitions[].linuxParameters.tmpfs[].mountOptions[]",
            f"must be one of {', '.join(sorted(_TMPFS_OPTIONS))}",
            lambda v: str(v).split("=", 1)[0] in _TMPFS_OPTIONS,
            _ECS_DOCS + " (Tmpfs.mountOptions)",
        ),
    ]
    for member, (low, high) in _HEALTH_RANGES.items():
        rows.append(
            Documented(
                _TASK,
                f"containerDefinitions[].healthCheck.{member}",
                f"must be from {low} to {high}",
                _in_range(low, high),
                _ECS_DOCS + f" (HealthCheck.{member})",
            )
        )
    return tuple(rows)


DOCUMENTED_ECS: tuple[Documented, ...] = (
    Documented("aws:ecs/cluster:Cluster", "name", _ECS_NAME_RULE, _ecs_name, _ECS_DOCS),
    Documented(_ECS_SERVICE, "name", _ECS_NAME_RULE, _ecs_name, _ECS_DOCS),
    Documented(_TASK, "family", _ECS_NAME_RULE, _ecs_name, _ECS_DOCS),
    *_container_rows(),
)


def _fargate_size(inputs: Mapping[str, Any]) -> str | None:
    if "FARGATE" not in (inputs.get("requiresCompatibilities") or []):
        return None
    try:
        cpu, memory = int(str(inputs.get("cpu"))), int(str(inputs.get("memory")))
    except ValueError:
        return "a Fargate task needs its cpu and memory as whole numbers"
    return fargate_size_problem(cpu, memory)


def _fargate_log_prefix(inputs: Mapping[str, Any]) -> str | None:
    """awslogs-stream-prefix: "Required: Yes, when using Fargate" (botocore's ECS model,
    LogConfiguration.options documentation)."""
    if "FARGATE" not in (inputs.get("requiresCompatibilities") or []):
        return None
    for container in _decoded(inputs.get("containerDefinitions")) or []:
        logs: Any = container.get("logConfiguration") if isinstance(container, Mapping) else None
        if isinstance(logs, Mapping) and logs.get("logDriver") == "awslogs":
            options: Any = logs.get("options") or {}
            if not options.get("awslogs-stream-prefix"):
                return f"container {container.get('name')} logs to awslogs without a stream prefix"
    return None


DOCUMENTED_RESOURCES: tuple[DocumentedResource, ...] = (
    DocumentedResource(
        _TASK, "cpu, memory", _fargate_size, FARGATE_SIZES_SOURCE, ("cpu", "memory")
    ),
    DocumentedResource(
        _TASK, "containerDefinitions", _fargate_log_prefix, _ECS_DOCS + " (LogConfiguration)"
    ),
)


def check(resources: Sequence[Resource]) -> list[Violation]:
    """Every violation of AWS's constraints among `resources`' inputs, in resource order."""
    modelled = _rows_by_type(MODELLED)
    documents = _rows_by_type(MODELLED_DOCUMENTS)
    documented = _rows_by_type((*DOCUMENTED, *DOCUMENTED_ECS))
    combined = _rows_by_type(DOCUMENTED_RESOURCES)
    found: list[Violation] = []
    for resource in resources:
        if not resource.custom or resource.read:
            continue
        for row in modelled.get(resource.type, ()):
            for value, secret in _values(resource.inputs, row.property):
                rule = _model_rule(row, value)
                if rule:
                    found.append(_violation(resource, row.property, value, secret, *rule))
        for row in documents.get(resource.type, ()):
            for value, secret in _values(resource.inputs, row.property):
                for where, shown, rule in _document_problems(row, value):
                    prop = f"{row.property}{where}"
                    source = f"botocore {row.service} {row.operation} {row.member}"
                    found.append(_violation(resource, prop, shown, secret, rule, source))
        for row in documented.get(resource.type, ()):
            for value, secret in _values(resource.inputs, row.property):
                if not row.check(value):
                    found.append(
                        _violation(resource, row.property, value, secret, row.rule, row.source)
                    )
        for row in combined.get(resource.type, ()):
            problem = row.problem(_revealed(resource.inputs))
            if problem:
                shown = row.shown(resource.inputs)
                found.append(
                    Violation(
                        resource.type, resource.name, row.properties, shown, problem, row.source
                    )
                )
    return found


def _revealed(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v.value if isinstance(v, Secret) else v for k, v in inputs.items()}


def _decoded(value: Any) -> Any:
    """A JSON document given as text (as container definitions are), else the value."""
    if isinstance(value, Secret):
        value = value.value
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _document_problems(row: ModelledDocument, value: Any) -> Iterator[tuple[str, Any, str]]:
    """(where in the document, the value there, what is wrong) for one JSON document."""
    document = _decoded(value)
    if isinstance(document, str):
        yield "", SECRET_SHOWN if len(document) > 80 else document, "is not a JSON document"
        return
    shape: Any = _operation_input(row.service, row.operation).members[row.member]
    yield from _shape_problems(shape, document, "")


def _shape_problems(shape: Any, value: Any, where: str) -> Iterator[tuple[str, Any, str]]:
    """What in `value` its botocore `shape` refuses, as (where, value, rule) triples."""
    check = _SHAPE_CHECKS.get(shape.type_name)
    if check is not None:
        yield from check(shape, value, where)


def _structure_problems(shape: Any, value: Any, where: str) -> Iterator[tuple[str, Any, str]]:
    if not isinstance(value, Mapping):
        yield where, value, f"must be an object ({shape.name})"
        return
    members = cast(Mapping[str, Any], value)
    for key, item in members.items():
        if key not in shape.members:
            known = ", ".join(shape.members)
            yield f"{where}.{key}", item, f"is not a member of {shape.name} ({known})"
        else:
            yield from _shape_problems(shape.members[key], item, f"{where}.{key}")
    for required in shape.required_members:
        if required not in members:
            yield f"{where}.{required}", None, f"is required by {shape.name}"


def _list_problems(shape: Any, value: Any, where: str) -> Iterator[tuple[str, Any, str]]:
    if not isinstance(value, list):
        yield where, value, "must be a list"
        return
    for index, item in enumerate(cast(list[Any], value)):
        yield from _shape_problems(shape.member, item, f"{where}[{index}]")


def _map_problems(shape: Any, value: Any, where: str) -> Iterator[tuple[str, Any, str]]:
    if not isinstance(value, Mapping):
        yield where, value, "must be an object"
        return
    for key, item in cast(Mapping[str, Any], value).items():
        yield from _shape_problems(shape.key, key, f"{where}.{key}")
        yield from _shape_problems(shape.value, item, f"{where}.{key}")


def _boolean_problems(_shape: Any, value: Any, where: str) -> Iterator[tuple[str, Any, str]]:
    if not isinstance(value, bool):
        yield where, value, "must be true or false"


def _integer_problems(shape: Any, value: Any, where: str) -> Iterator[tuple[str, Any, str]]:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        yield where, value, "must be a whole number"
    elif rule := _shape_rule(shape, value):
        yield where, value, rule


def _string_problems(shape: Any, value: Any, where: str) -> Iterator[tuple[str, Any, str]]:
    if not isinstance(value, str):
        yield where, value, "must be a string"
    elif rule := _shape_rule(shape, value):
        yield where, value, rule


_SHAPE_CHECKS: dict[str, Callable[[Any, Any, str], Iterator[tuple[str, Any, str]]]] = {
    "structure": _structure_problems,
    "list": _list_problems,
    "map": _map_problems,
    "boolean": _boolean_problems,
    "integer": _integer_problems,
    "long": _integer_problems,
    "string": _string_problems,
}


def member_shape(row: Mapped) -> Any:
    """The botocore shape of `row`'s API parameter (KeyError: no such member)."""
    shape: Any = _operation_input(row.service, row.operation)
    for part in row.member.split("."):
        listed = part.endswith("[]")
        shape = shape.members[part.removesuffix("[]")]
        if listed:
            shape = shape.member
    return shape


@cache
def _operation_input(service: str, operation: str) -> Any:
    return _session().get_service_model(service).operation_model(operation).input_shape


@cache
def _session() -> Any:
    import botocore.session  # only when a check runs: it reads the service models lazily

    return botocore.session.get_session()


def _model_rule(row: Mapped, value: Any) -> tuple[str, str] | None:
    rule = _shape_rule(member_shape(row), value)
    return (rule, f"botocore {row.service} {row.operation} {row.member}") if rule else None


def _shape_rule(shape: Any, value: Any) -> str | None:
    """What a botocore shape's length, pattern, enum or range says is wrong with `value`."""
    meta: Mapping[str, Any] = shape.metadata
    enum = cast(list[str] | None, meta.get("enum"))
    if shape.type_name == "string":
        text = str(value)
        if enum and text not in enum:
            return f"must be one of {', '.join(enum)}"
        if "min" in meta and len(text) < meta["min"]:
            return f"must be at least {meta['min']} characters"
        if "max" in meta and len(text) > meta["max"]:
            return f"must be at most {meta['max']} characters"
        pattern = _pattern(meta.get("pattern"))
        if pattern is not None and not pattern.fullmatch(text):
            return f"must match {meta['pattern']}"
    elif shape.type_name in ("integer", "long") and isinstance(value, int | float):
        if "min" in meta and value < meta["min"]:
            return f"must be at least {meta['min']}"
        if "max" in meta and value > meta["max"]:
            return f"must be at most {meta['max']}"
    return None


@cache
def _pattern(java: str | None) -> re.Pattern[str] | None:
    """A botocore (Java) pattern as Python's; anchors are implied, as Java's `matches`."""
    if not java:
        return None
    try:
        return re.compile(java.removeprefix("^").removesuffix("$"), re.DOTALL)
    except re.error:  # a Java-only construct; the length and enum checks still apply
        return None


def _values(inputs: Mapping[str, Any], path: str) -> Iterator[tuple[Any, bool]]:
    """(value, secret) at `path` in `inputs`; None and absent values are skipped."""
    current: list[tuple[Any, bool]] = [(inputs, False)]
    for part in path.split("."):
        listed = part.endswith("[]")
        key = part.removesuffix("[]")
        following: list[tuple[Any, bool]] = []
        for node, secret in current:
            if isinstance(node, Secret):
                node, secret = node.value, True
            node = _decoded(node)
            if not isinstance(node, Mapping):
                continue
            child = cast(Mapping[str, Any], node).get(key)
            if isinstance(child, Secret):
                child, secret = child.value, True
            if listed:
                child = _decoded(child)  # a list given as JSON text (container definitions)
            if listed and isinstance(child, list):
                following += [(item, secret) for item in cast(list[Any], child)]
            elif not listed:
                following.append((child, secret))
        current = following
    for value, secret in current:
        if isinstance(value, Secret):
            value, secret = value.value, True
        if value is not None:
            yield value, secret


def _violation(
    resource: Resource, prop: str, value: Any, secret: bool, rule: str, source: str
) -> Violation:
    shown = SECRET_SHOWN if secret else _show(value)
    return Violation(resource.type, resource.name, prop, shown, rule, source)


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= 80 else text[:77] + '..."'


Row = TypeVar("Row", Mapped, Documented, ModelledDocument, DocumentedResource)


def _rows_by_type(rows: Sequence[Row]) -> dict[str, list[Row]]:
    by_type: dict[str, list[Row]] = {}
    for row in rows:
        by_type.setdefault(row.type, []).append(row)
    return by_type
