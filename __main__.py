"""The ticketing platform, one stack at a time: settings, then each boundary in
the order traffic flows, then the exports people and venue stacks read."""

import pulumi

from components import settings
from components.aws.app_tier import AppTier, AppTierArgs
from components.aws.certificate import EdgeCertificate, EdgeCertificateArgs
from components.aws.ingress import Ingress, IngressArgs
from components.aws.network import AwsNetwork, AwsNetworkArgs
from components.aws.provider import availability_zones, aws_provider
from components.aws.secrets_key import SecretsKey, SecretsKeyArgs
from components.aws.venue_sync import VenueSyncCredentials, VenueSyncCredentialsArgs
from components.delivery.ci_identity import CiIdentity, CiIdentityArgs
from components.edge.cloudflare_edge import CloudflareEdge, CloudflareEdgeArgs, edge_ranges
from components.edge.provider import cloudflare_provider
from components.outputs import PROGRAM
from components.venue import preflight
from components.venue.host import VenueHost, VenueHostArgs
from components.venue.sync import read_venue_sync

stack = settings.load()  # every bad value stops here, before any resource exists

if isinstance(stack, settings.CloudSettings):
    aws, cloudflare = aws_provider(stack), cloudflare_provider()
    on_aws = pulumi.ResourceOptions(provider=aws)
    on_cloudflare = pulumi.ResourceOptions(provider=cloudflare)
    on_both = pulumi.ResourceOptions(providers=[aws, cloudflare])

    network = AwsNetwork("core", AwsNetworkArgs.of(stack, availability_zones(aws)), opts=on_aws)
    # Built in dependency order: the edge points at the ingress, which serves the certificate.
    tls = EdgeCertificate("tls", EdgeCertificateArgs.of(stack), opts=on_both)
    ingress = Ingress(
        "ingress",
        IngressArgs.of(stack, network, tls.outputs.certificate_arn, edge_ranges()),
        opts=on_aws,
    )
    edge = CloudflareEdge("edge", CloudflareEdgeArgs.of(stack, ingress.origin), opts=on_cloudflare)
    # After the roles it refuses, before the SecureStrings and master secrets it encrypts.
    key = SecretsKey("secrets", SecretsKeyArgs.of(stack, network.outputs), opts=on_aws)
    venues = VenueSyncCredentials(
        "venue-sync", VenueSyncCredentialsArgs.of(stack, key.outputs.arn), opts=on_aws
    )
    app = AppTier("app", AppTierArgs.of(stack, network, ingress, venues, key), opts=on_aws)
    boundaries = [network, tls, ingress, edge, app, venues]
elif isinstance(stack, settings.BootstrapSettings):  # the pipeline's OIDC provider and roles
    ci = CiIdentity(
        "ci", CiIdentityArgs.of(stack), opts=pulumi.ResourceOptions(provider=aws_provider(stack))
    )
    boundaries = [ci]
else:  # a venue stack: the Bastion on the venue's Docker host, synced with its cloud stack
    preflight.require_reachable(stack.venue.docker_host)
    sync = read_venue_sync(stack.venue)
    boundaries = [VenueHost(f"venue-{stack.venue.id}", VenueHostArgs.of(stack, sync))]

# Every stack output is described beside it (components/outputs.py, docs/stack-outputs.md).
for name, value in PROGRAM.values({"environment": stack.environment}).items():
    pulumi.export(name, value)
for boundary in boundaries:
    for name, value in boundary.stack_outputs.items():
        pulumi.export(name, value)
