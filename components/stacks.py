"""What each kind of stack deploys: its boundaries, in the order `__main__.py` exports
their stack outputs.

- `cloud`: the seed's deployment diagram, in the order traffic flows: the AWS network,
  the edge certificate, the ingress it serves, the Cloudflare edge that points at the
  ingress, then the secrets key, the venue sync credentials and the app tier.
- `bootstrap`: the pipeline's OIDC provider and the roles its workflows assume.
- `venue`: the Bastion on one venue's Docker host, synced with its cloud stack.
"""

from __future__ import annotations

from typing import Any, Protocol

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
from components.venue import preflight
from components.venue.host import VenueHost, VenueHostArgs
from components.venue.sync import read_venue_sync


class Boundary(Protocol):
    """A top-level component: what it exports as stack outputs, by name."""

    @property
    def stack_outputs(self) -> dict[str, Any]: ...


def cloud(stack: settings.CloudSettings) -> list[Boundary]:
    """An environment's cloud stack: Cloudflare edge, AWS core and the app tier."""
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
    return [network, tls, ingress, edge, app, venues]


def bootstrap(stack: settings.BootstrapSettings) -> list[Boundary]:
    """The bootstrap stack: the CI identity, the one thing a pipeline cannot create itself."""
    on_aws = pulumi.ResourceOptions(provider=aws_provider(stack))
    return [CiIdentity("ci", CiIdentityArgs.of(stack), opts=on_aws)]


def venue(stack: settings.VenueStackSettings) -> list[Boundary]:
    """A venue stack, once its Docker host answers: the Bastion, with its cloud's sync."""
    preflight.require_reachable(stack.venue.docker_host)
    sync = read_venue_sync(stack.venue)
    return [VenueHost(f"venue-{stack.venue.id}", VenueHostArgs.of(stack, sync))]
