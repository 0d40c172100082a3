"""The customer-managed KMS keys of a stack: one shape for each of them.

Every key rotates yearly, waits a month before a scheduled deletion takes effect (time
to notice it), carries an alias, and has a policy whose first statement lets the
account administer it, so that it can never become unmanageable and IAM decides who
else may use it.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

KEY_DELETION_WINDOW_DAYS = 30


def account_administers(account: str) -> dict[str, Any]:
    """The key policy statement that hands the key to the account (and so to IAM)."""
    return {
        "Sid": "AccountAdministersTheKey",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }


def customer_key(
    name: str,
    *,
    alias: str,
    description: pulumi.Input[str],
    policy: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> aws.kms.Key:
    """The key `<name>-key` with `policy`, and its alias `<name>-key-alias` (`alias/<alias>`)."""
    key = aws.kms.Key(
        f"{name}-key",
        description=description,
        enable_key_rotation=True,
        deletion_window_in_days=KEY_DELETION_WINDOW_DAYS,
        policy=policy,
        opts=opts,
    )
    aws.kms.Alias(f"{name}-key-alias", name=f"alias/{alias}", target_key_id=key.arn, opts=opts)
    return key
