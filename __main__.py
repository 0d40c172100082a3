"""The ticketing platform, one stack at a time: settings, then each boundary in
the order traffic flows, then the exports people and venue stacks read."""

import pulumi
import pulumi_aws as aws

from components import providers, settings
from components.aws_network import AwsNetwork

stack = settings.load()  # every bad value stops here, before any resource exists

if isinstance(stack, settings.CloudSettings):
    aws_provider = providers.aws_provider(stack)
    on_aws = pulumi.ResourceOptions(provider=aws_provider)
    zones = aws.get_availability_zones(
        state="available", opts=pulumi.InvokeOptions(provider=aws_provider)
    )

    network = AwsNetwork("core", stack.network, zones.names, opts=on_aws)

    pulumi.export("environment", stack.environment)
    pulumi.export("vpcId", network.vpc_id)
