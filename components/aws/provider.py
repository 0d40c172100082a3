"""The stack's explicit AWS provider: nothing falls back to ambient config."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.settings import BootstrapSettings, CloudSettings

MANAGED_BY = "pulumi:ticketing"


def default_tags(settings: CloudSettings | BootstrapSettings) -> dict[str, str]:
    """Tags every AWS resource carries through the provider's `default_tags`."""
    return {
        "environment": settings.environment,
        "stack": pulumi.get_stack(),
        "managed-by": MANAGED_BY,
    }


def aws_provider(settings: CloudSettings | BootstrapSettings) -> aws.Provider:
    """The AWS provider for the stack's region, tagging everything it creates."""
    return aws.Provider(
        "aws",
        region=settings.region,
        default_tags=aws.ProviderDefaultTagsArgs(tags=default_tags(settings)),
    )


def availability_zones(provider: aws.Provider) -> list[str]:
    """The region's available zones, in AWS's order (the network takes the first few)."""
    zones = aws.get_availability_zones(
        state="available", opts=pulumi.InvokeOptions(provider=provider)
    )
    return list(zones.names)
