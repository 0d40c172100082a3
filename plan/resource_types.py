"""The resource type tokens the offline plan reads, as the engine spells them.

The notes, the Docker details, the diagram, the docs, the cost estimate and the
policy evaluator all match captured resources on these; each token is spelled here
once. (`plan.fakes`, the fake cloud, keeps its own table of what each type returns.)
"""

from __future__ import annotations

from typing import Final

# Pulumi itself.
STACK: Final = "pulumi:pulumi:Stack"
STACK_REFERENCE: Final = "pulumi:pulumi:StackReference"
AWS_PROVIDER: Final = "pulumi:providers:aws"
DOCKER_PROVIDER: Final = "pulumi:providers:docker"

# AWS: network.
VPC: Final = "aws:ec2/vpc:Vpc"
SUBNET: Final = "aws:ec2/subnet:Subnet"
SECURITY_GROUP: Final = "aws:ec2/securityGroup:SecurityGroup"
FLOW_LOG: Final = "aws:ec2/flowLog:FlowLog"
NAT_GATEWAY: Final = "aws:ec2/natGateway:NatGateway"
EIP: Final = "aws:ec2/eip:Eip"
VPC_ENDPOINT: Final = "aws:ec2/vpcEndpoint:VpcEndpoint"

# AWS: ingress.
LOAD_BALANCER: Final = "aws:lb/loadBalancer:LoadBalancer"
BUCKET_LIFECYCLE: Final = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
LISTENER: Final = "aws:lb/listener:Listener"
TARGET_GROUP: Final = "aws:lb/targetGroup:TargetGroup"
CERTIFICATE: Final = "aws:acm/certificate:Certificate"
CERTIFICATE_VALIDATION: Final = "aws:acm/certificateValidation:CertificateValidation"

# AWS: hosts and databases.
EC2_INSTANCE: Final = "aws:ec2/instance:Instance"
EBS_VOLUME: Final = "aws:ebs/volume:Volume"
RDS_INSTANCE: Final = "aws:rds/instance:Instance"
RDS_PARAMETER_GROUP: Final = "aws:rds/parameterGroup:ParameterGroup"
BACKUP_VAULT: Final = "aws:backup/vault:Vault"
BACKUP_PLAN: Final = "aws:backup/plan:Plan"
BACKUP_SELECTION: Final = "aws:backup/selection:Selection"

# AWS: observability and secrets.
METRIC_ALARM: Final = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD: Final = "aws:cloudwatch/dashboard:Dashboard"
LOG_GROUP: Final = "aws:cloudwatch/logGroup:LogGroup"
SNS_TOPIC: Final = "aws:sns/topic:Topic"
KMS_KEY: Final = "aws:kms/key:Key"
SECRETS_MANAGER_SECRET: Final = "aws:secretsmanager/secret:Secret"
SSM_PARAMETER: Final = "aws:ssm/parameter:Parameter"
SSM_DOCUMENT: Final = "aws:ssm/document:Document"

# AWS: the CI identity (the bootstrap stack).
OIDC_PROVIDER: Final = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
IAM_ROLE: Final = "aws:iam/role:Role"
IAM_ROLE_POLICY: Final = "aws:iam/rolePolicy:RolePolicy"
IAM_ROLE_POLICY_ATTACHMENT: Final = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"

# Cloudflare.
DNS_RECORD: Final = "cloudflare:index/dnsRecord:DnsRecord"
RULESET: Final = "cloudflare:index/ruleset:Ruleset"

# Docker, on a venue's host.
DOCKER_IMAGE: Final = "docker:index/remoteImage:RemoteImage"
DOCKER_NETWORK: Final = "docker:index/network:Network"
DOCKER_VOLUME: Final = "docker:index/volume:Volume"
DOCKER_CONTAINER: Final = "docker:index/container:Container"
