"""The load balancers' access-log bucket: encrypted, private, TLS-only, expiring.

Elastic Load Balancing writes an ALB's access logs every five minutes to S3 as the
ELB account of the region (regions opened before August 2022) or the log-delivery
service principal (regions opened since), under `<prefix>/AWSLogs/<account>/`:
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html.
The bucket must use SSE-S3: ALB access logs cannot be delivered to a bucket whose default
encryption is SSE-KMS with a customer managed key (same page, "Step 1").

An NLB logs only its TLS listeners
(https://docs.aws.amazon.com/elasticloadbalancing/latest/network/load-balancer-access-logs.html);
this stack's NLB forwards TCP to the ALB, so the ALB's log is the one that sees each
request and the VPC flow logs cover the NLB.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final

import pulumi
import pulumi_aws as aws

from components.outputs import ComponentOutputs
from components.settings import CloudSettings

# The ELB account that writes access logs in each region opened before August 2022
# (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html,
# "Regions available before August 2022"). Newer regions grant the service principal.
ELB_LOG_ACCOUNTS: Final[dict[str, str]] = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "ca-central-1": "985666609251",
    "eu-central-1": "054676820928",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-west-3": "009996457667",
    "eu-north-1": "897822967062",
    "eu-south-1": "635631232127",
    "ap-northeast-1": "582318560864",
    "ap-northeast-2": "600734575887",
    "ap-northeast-3": "383597477331",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ap-southeast-3": "589379963580",
    "ap-south-1": "718504428378",
    "ap-east-1": "754344448648",
    "sa-east-1": "507241528517",
    "me-south-1": "076674570225",
    "af-south-1": "098369216593",
}
LOG_DELIVERY_SERVICE: Final = "logdelivery.elasticloadbalancing.amazonaws.com"
ALB_PREFIX: Final = "alb"


def log_writer(region: str) -> dict[str, str]:
    """The principal Elastic Load Balancing writes `region`'s access logs as."""
    account = ELB_LOG_ACCOUNTS.get(region)
    if account is not None:
        return {"AWS": f"arn:aws:iam::{account}:root"}
    return {"Service": LOG_DELIVERY_SERVICE}


def bucket_policy(bucket_arn: str, account_id: str, region: str) -> str:
    """Only the region's log writer may put objects, only under this account's prefix;
    every request must use TLS."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ElbWritesAccessLogs",
                    "Effect": "Allow",
                    "Principal": log_writer(region),
                    "Action": "s3:PutObject",
                    "Resource": f"{bucket_arn}/{ALB_PREFIX}/AWSLogs/{account_id}/*",
                },
                {
                    "Sid": "TlsOnly",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, f"{bucket_arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
            ],
        },
        sort_keys=True,
    )


@dataclass(frozen=True)
class AccessLogBucketArgs:
    """Attributes:
    region: where the load balancers run (which ELB account writes the logs).
    retention_days: how long a log object is kept (`ingress.accessLogDays`).
    """

    region: str
    retention_days: int

    @classmethod
    def of(cls, settings: CloudSettings) -> AccessLogBucketArgs:
        return cls(region=settings.region, retention_days=settings.ingress.access_log_days)


@dataclass(frozen=True)
class AccessLogBucketOutputs(ComponentOutputs):
    """`bucket`: the bucket's name (an S3 bucket's id); `prefix`: where the ALB writes."""

    bucket: pulumi.Output[str]
    prefix: pulumi.Output[str]


class AccessLogBucket(pulumi.ComponentResource):
    """The S3 bucket the ALB writes its access logs to."""

    outputs: AccessLogBucketOutputs
    policy: aws.s3.BucketPolicy

    def __init__(
        self, name: str, args: AccessLogBucketArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ticketing:aws:AccessLogBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # Emptied with the stack: the logs expire after `retention_days` anyway.
        bucket = aws.s3.Bucket(name, force_destroy=True, opts=child)
        aws.s3.BucketOwnershipControls(
            name,
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        aws.s3.BucketPublicAccessBlock(
            name,
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            name,
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="AES256"
                    )
                )
            ],
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            name,
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-access-logs",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                        days=args.retention_days
                    ),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=1
                    ),
                )
            ],
            opts=child,
        )
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        self.policy = aws.s3.BucketPolicy(
            name,
            bucket=bucket.id,
            policy=pulumi.Output.all(bucket.arn, account.account_id).apply(
                lambda v: bucket_policy(str(v[0]), str(v[1]), args.region)
            ),
            opts=child,
        )
        self.outputs = AccessLogBucketOutputs(
            bucket=bucket.id, prefix=pulumi.Output.from_input(ALB_PREFIX)
        )
        self.register_outputs(self.outputs.registered())
