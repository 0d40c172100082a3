"""Authenticated Origin Pulls with the stack's own client certificate.

Cloudflare presents this certificate on every connection to the origin (zone-level
Authenticated Origin Pulls, on every plan per Cloudflare's plan data); the ALB's
HTTPS listener verifies it against a trust store holding only this stack's CA
(mutual TLS, `verify` mode). Nobody else holds a certificate that CA signed, so a
request that did not come through this zone never completes the TLS handshake.
The origin-lock header stays as a second factor.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_tls as tls

from components.outputs import ComponentOutputs
from components.settings import CloudSettings

CA_VALIDITY_HOURS = 10 * 365 * 24
CLIENT_VALIDITY_HOURS = 365 * 24
EARLY_RENEWAL_HOURS = 30 * 24  # a new client certificate a month before it expires


@dataclass(frozen=True)
class OriginPullPkiArgs:
    """What the origin-pull certificates need: the environment, in their subjects."""

    environment: str

    @classmethod
    def of(cls, settings: CloudSettings) -> OriginPullPkiArgs:
        return cls(settings.environment)


@dataclass(frozen=True)
class OriginPullPkiOutputs(ComponentOutputs):
    """`ca_cert_pem`: the CA the ALB trust store holds; `client_cert_pem` and
    `client_key_pem` (a secret): what the zone uploads."""

    ca_cert_pem: pulumi.Output[str]
    client_cert_pem: pulumi.Output[str]
    client_key_pem: pulumi.Output[str]


class OriginPullPki(pulumi.ComponentResource):
    """The origin-pull CA and the client certificate Cloudflare presents."""

    outputs: OriginPullPkiOutputs

    def __init__(
        self, name: str, args: OriginPullPkiArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ticketing:cloudflare:OriginPullPki", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        environment = args.environment
        organization = f"Ticketing {environment} edge"
        ca_key = tls.PrivateKey(f"{name}-ca-key", algorithm="RSA", rsa_bits=2048, opts=child)
        ca = tls.SelfSignedCert(
            f"{name}-ca",
            private_key_pem=ca_key.private_key_pem,
            is_ca_certificate=True,
            allowed_uses=["cert_signing", "crl_signing", "digital_signature"],
            subject=tls.SelfSignedCertSubjectArgs(
                common_name=f"{environment} origin-pull CA", organization=organization
            ),
            validity_period_hours=CA_VALIDITY_HOURS,
            opts=child,
        )
        client_key = tls.PrivateKey(
            f"{name}-client-key", algorithm="RSA", rsa_bits=2048, opts=child
        )
        request = tls.CertRequest(
            f"{name}-client-csr",
            private_key_pem=client_key.private_key_pem,
            subject=tls.CertRequestSubjectArgs(
                common_name=f"{environment} Cloudflare origin pull", organization=organization
            ),
            opts=child,
        )
        client = tls.LocallySignedCert(
            f"{name}-client",
            cert_request_pem=request.cert_request_pem,
            ca_cert_pem=ca.cert_pem,
            ca_private_key_pem=ca_key.private_key_pem,
            allowed_uses=["digital_signature", "key_encipherment", "client_auth"],
            validity_period_hours=CLIENT_VALIDITY_HOURS,
            early_renewal_hours=EARLY_RENEWAL_HOURS,
            opts=child,
        )
        self.outputs = OriginPullPkiOutputs(
            ca_cert_pem=ca.cert_pem,
            client_cert_pem=client.cert_pem,
            client_key_pem=pulumi.Output.secret(client_key.private_key_pem),
        )
        self.register_outputs(self.outputs.registered())
