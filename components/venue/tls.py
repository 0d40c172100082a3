"""`VenueTls`: the venue's own CA and the Bastion's LAN server certificate.

Handhelds trust the venue CA once (enrollment) and then verify the Bastion on
the LAN by its IP address, with no public DNS and no internet involved.
"""

from __future__ import annotations

import hashlib
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
import pulumi_tls as tls

from components.outputs import ComponentOutputs

if TYPE_CHECKING:
    from components.venue.host import VenueHostArgs

CA_VALIDITY_HOURS = 10 * 365 * 24
SERVER_VALIDITY_HOURS = 2 * 365 * 24
# Renewed on a deploy within this window, long before handhelds would see an expired cert.
EARLY_RENEWAL_HOURS = 60 * 24


def sha256_fingerprint(pem: str) -> str:
    """SHA-256 over the certificate's DER bytes, as `AB:CD:...` (what `openssl x509
    -fingerprint -sha256` and Android's certificate details show)."""
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem.strip())).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


@dataclass(frozen=True)
class VenueTlsArgs:
    """Whose certificates these are and where the Bastion answers.

    Attributes:
        venue_id: the venue, named in the certificates' subjects.
        lan_address: the IPv4 address handhelds connect to (the server cert's IP SAN).
    """

    venue_id: str
    lan_address: str

    @classmethod
    def of(cls, host: VenueHostArgs) -> VenueTlsArgs:
        return cls(host.venue_id, host.lan_address)


@dataclass(frozen=True)
class VenueTlsOutputs(ComponentOutputs):
    """The CA handhelds enroll with and the Bastion's server certificate (its key secret)."""

    ca_cert_pem: pulumi.Output[str]
    ca_fingerprint_sha256: pulumi.Output[str]
    server_cert_pem: pulumi.Output[str]
    server_key_pem: pulumi.Output[str]


class VenueTls(pulumi.ComponentResource):
    """A per-venue CA (ECDSA P-256) and a server certificate it signs for the LAN address.

    Args:
        name: prefix for every child's name.
        args: the venue and its LAN address (`VenueTlsArgs.of`).
        opts: resource options (parent).
    """

    outputs: VenueTlsOutputs

    def __init__(
        self, name: str, args: VenueTlsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ticketing:venue:VenueTls", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        venue_id, lan_address = args.venue_id, args.lan_address
        organization = "Ticketing venue " + venue_id

        ca_key = tls.PrivateKey(f"{name}-ca-key", algorithm="ECDSA", ecdsa_curve="P256", opts=child)
        ca = tls.SelfSignedCert(
            f"{name}-ca",
            private_key_pem=ca_key.private_key_pem,
            is_ca_certificate=True,
            allowed_uses=["cert_signing", "crl_signing", "digital_signature"],
            subject=tls.SelfSignedCertSubjectArgs(
                common_name=f"{venue_id} venue CA", organization=organization
            ),
            validity_period_hours=CA_VALIDITY_HOURS,
            early_renewal_hours=EARLY_RENEWAL_HOURS,
            opts=child,
        )
        server_key = tls.PrivateKey(
            f"{name}-server-key", algorithm="ECDSA", ecdsa_curve="P256", opts=child
        )
        request = tls.CertRequest(
            f"{name}-server-csr",
            private_key_pem=server_key.private_key_pem,
            subject=tls.CertRequestSubjectArgs(
                common_name=f"bastion.{venue_id}", organization=organization
            ),
            ip_addresses=[lan_address, "127.0.0.1"],
            dns_names=["localhost"],  # the container's own healthcheck
            opts=child,
        )
        server = tls.LocallySignedCert(
            f"{name}-server",
            cert_request_pem=request.cert_request_pem,
            ca_cert_pem=ca.cert_pem,
            ca_private_key_pem=ca_key.private_key_pem,
            allowed_uses=["digital_signature", "key_encipherment", "server_auth"],
            validity_period_hours=SERVER_VALIDITY_HOURS,
            early_renewal_hours=EARLY_RENEWAL_HOURS,
            opts=child,
        )

        self.outputs = VenueTlsOutputs(
            ca_cert_pem=ca.cert_pem,
            ca_fingerprint_sha256=ca.cert_pem.apply(sha256_fingerprint),
            server_cert_pem=server.cert_pem,
            server_key_pem=pulumi.Output.secret(server_key.private_key_pem),
        )
        self.register_outputs(self.outputs.registered())
