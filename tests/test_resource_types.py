"""The type tokens the plan matches on are the ones the SDKs register their resources under."""

from __future__ import annotations

import pulumi_aws as aws
import pulumi_cloudflare as cloudflare
import pulumi_docker as docker
import pytest
from pulumi.type_token import get_type_token

from plan import resource_types

SDK_CLASSES: dict[str, type] = {
    "AWS_PROVIDER": aws.Provider,
    "DOCKER_PROVIDER": docker.Provider,
    "VPC": aws.ec2.Vpc,
    "SUBNET": aws.ec2.Subnet,
    "SECURITY_GROUP": aws.ec2.SecurityGroup,
    "FLOW_LOG": aws.ec2.FlowLog,
    "NAT_GATEWAY": aws.ec2.NatGateway,
    "EIP": aws.ec2.Eip,
    "VPC_ENDPOINT": aws.ec2.VpcEndpoint,
    "LOAD_BALANCER": aws.lb.LoadBalancer,
    "BUCKET_LIFECYCLE": aws.s3.BucketLifecycleConfiguration,
    "LISTENER": aws.lb.Listener,
    "TARGET_GROUP": aws.lb.TargetGroup,
    "CERTIFICATE": aws.acm.Certificate,
    "CERTIFICATE_VALIDATION": aws.acm.CertificateValidation,
    "EC2_INSTANCE": aws.ec2.Instance,
    "EBS_VOLUME": aws.ebs.Volume,
    "RDS_INSTANCE": aws.rds.Instance,
    "RDS_PARAMETER_GROUP": aws.rds.ParameterGroup,
    "BACKUP_VAULT": aws.backup.Vault,
    "BACKUP_PLAN": aws.backup.Plan,
    "BACKUP_SELECTION": aws.backup.Selection,
    "METRIC_ALARM": aws.cloudwatch.MetricAlarm,
    "DASHBOARD": aws.cloudwatch.Dashboard,
    "LOG_GROUP": aws.cloudwatch.LogGroup,
    "SNS_TOPIC": aws.sns.Topic,
    "KMS_KEY": aws.kms.Key,
    "SECRETS_MANAGER_SECRET": aws.secretsmanager.Secret,
    "SSM_PARAMETER": aws.ssm.Parameter,
    "SSM_DOCUMENT": aws.ssm.Document,
    "OIDC_PROVIDER": aws.iam.OpenIdConnectProvider,
    "IAM_ROLE": aws.iam.Role,
    "IAM_ROLE_POLICY": aws.iam.RolePolicy,
    "IAM_ROLE_POLICY_ATTACHMENT": aws.iam.RolePolicyAttachment,
    "DNS_RECORD": cloudflare.DnsRecord,
    "RULESET": cloudflare.Ruleset,
    "DOCKER_IMAGE": docker.RemoteImage,
    "DOCKER_NETWORK": docker.Network,
    "DOCKER_VOLUME": docker.Volume,
    "DOCKER_CONTAINER": docker.Container,
}
# The engine's own types carry no SDK class token; tests/test_venue.py and
# tests/test_policy_evaluator.py read them off captured plans.
ENGINE_TYPES = {"STACK", "STACK_REFERENCE"}


def test_every_token_is_checked_against_the_sdk() -> None:
    names = {n for n, v in vars(resource_types).items() if n.isupper() and isinstance(v, str)}
    assert names == set(SDK_CLASSES) | ENGINE_TYPES


@pytest.mark.parametrize("name", sorted(SDK_CLASSES))
def test_token_is_the_sdk_classes(name: str) -> None:
    assert getattr(resource_types, name) == get_type_token(SDK_CLASSES[name])
