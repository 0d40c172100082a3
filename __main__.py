"""The ticketing platform, one stack at a time: settings, then each boundary in
the order traffic flows, then the exports people and venue stacks read."""

import pulumi
import pulumi_aws as aws

from components import providers, settings
from components.aws_app_tier import AppTier
from components.aws_certificate import EdgeCertificate
from components.aws_ingress import Ingress
from components.aws_network import AwsNetwork
from components.cloudflare_edge import CloudflareEdge, edge_ranges
from components.venue import VenueHost, VenueHostArgs
from components.venue_sync import VenueSyncArgs, VenueSyncCredentials, read_venue_sync

stack = settings.load()  # every bad value stops here, before any resource exists

if isinstance(stack, settings.CloudSettings):
    aws_provider = providers.aws_provider(stack)
    cloudflare_provider = providers.cloudflare_provider()
    on_aws = pulumi.ResourceOptions(provider=aws_provider)
    on_cloudflare = pulumi.ResourceOptions(provider=cloudflare_provider)
    on_both = pulumi.ResourceOptions(providers=[aws_provider, cloudflare_provider])
    zones = aws.get_availability_zones(
        state="available", opts=pulumi.InvokeOptions(provider=aws_provider)
    )

    network = AwsNetwork("core", stack.network, zones.names, opts=on_aws)
    # Built in dependency order: the edge points at the ingress, which serves the certificate.
    tls = EdgeCertificate("tls", stack.public_hosts, stack.cloudflare.zone_id, opts=on_both)
    cloudflare_ranges = edge_ranges(cloudflare_provider)
    ingress = Ingress("ingress", stack, network, tls.arn, cloudflare_ranges, opts=on_aws)
    edge = CloudflareEdge("edge", stack, ingress.origin, opts=on_cloudflare)
    # Behind the ALB: RDS, one backing stack per service, the app host(s), alarms.
    app = AppTier("app", stack, network, ingress, opts=on_aws)

    pulumi.export("environment", stack.environment)
    pulumi.export("vpcId", network.vpc_id)
    pulumi.export("zoneId", edge.zone_id)
    pulumi.export("publicHostnames", edge.hostnames)
    pulumi.export("managedWaf", edge.managed_waf)
    pulumi.export("staticIps", ingress.static_ips)
    pulumi.export("albDnsName", ingress.alb_dns_name)
    pulumi.export("certificateArn", tls.arn)
    pulumi.export("services", app.services)  # names only, never a secret value
    pulumi.export("rdsEndpoint", app.rds_endpoint)
    pulumi.export("appHostInstanceIds", app.app_host_instance_ids)
    pulumi.export("ssmSessionCommand", app.ssm_session_command)
    venue_sync = VenueSyncCredentials("venue-sync", VenueSyncArgs.of(stack), opts=on_aws)
    pulumi.export("venueSync", venue_sync.entries)  # secret; each venue stack reads its entry

else:  # a venue stack: the Bastion on the venue's Docker host, synced with its cloud stack
    sync = read_venue_sync(stack.venue)
    venue = VenueHost(f"venue-{stack.venue.id}", VenueHostArgs.of(stack.venue, sync))
    pulumi.export("enrollment", venue.enrollment)
