"""`VenueTls`: the venue's own CA and the Bastion's LAN server certificate.

Handhelds trust the venue CA once (enrollment) and then verify the Bastion on
the LAN by its IP address or hostname, with no public DNS and no internet
involved. They also pin the CA's public key (the SPKI pin Android's Network
Security Config and OkHttp take), so the CA must outlive every server
certificate: it is protected, and replacing it is a rotation of two deploys
(`CaSettings`): the next CA is enrolled beside the current one, then the
server certificate switches to it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
import pulumi_tls as tls
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from components.outputs import ComponentOutputs

if TYPE_CHECKING:
    from components.venue.host import VenueHostArgs

CA_VALIDITY_HOURS = 10 * 365 * 24
SERVER_VALIDITY_HOURS = 2 * 365 * 24
# The provider renews the server certificate on a deploy within this window.
EARLY_RENEWAL_HOURS = 60 * 24
# A protected CA is never renewed by the provider: the plan warns this long before it
# expires, time enough for the two-deploy rotation and every handheld's re-enrollment.
CA_ROTATION_WARNING_HOURS = 365 * 24


def sha256_fingerprint(pem: str) -> str:
    """SHA-256 over the certificate's DER bytes, as `AB:CD:...` (what `openssl x509
    -fingerprint -sha256` and Android's certificate details show)."""
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem.strip())).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def spki_sha256(pem: str) -> str:
    """Base64 SHA-256 of the certificate's SubjectPublicKeyInfo: the pin value of Android's
    Network Security Config (`<pin digest="SHA-256">`) and OkHttp (`sha256/<pin>`)."""
    cert = x509.load_pem_x509_certificate(pem.encode())
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def parse_time(value: str) -> dt.datetime:
    """An RFC 3339 time as the TLS provider writes it (`2036-12-01T00:00:00Z`)."""
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def expiry_warning(what: str, not_after: str, now: dt.datetime, window_hours: int) -> str | None:
    """One line when `what` expires within `window_hours` of `now`, else None."""
    left = parse_time(not_after) - now
    if left > dt.timedelta(hours=window_hours):
        return None
    days = max(0, left.days)
    return f"{what} expires on {not_after} ({days} days left, within {window_hours // 24} days)"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class VenueTlsArgs:
    """Whose certificates these are and where the Bastion answers.

    Attributes:
        venue_id: the venue, named in the certificates' subjects.
        lan_address: the IPv4 address handhelds connect to (an IP SAN).
        hostname: the Bastion's LAN hostname (a DNS SAN).
        ca_generations: the CA generations that exist, oldest first; the first signs the
            server certificate, every one of them is enrolled (two during a rotation).
    """

    venue_id: str
    lan_address: str
    hostname: str
    ca_generations: tuple[int, ...] = (1,)

    @classmethod
    def of(cls, host: VenueHostArgs) -> VenueTlsArgs:
        return cls(host.venue_id, host.lan_address, host.hostname, host.ca_generations)


@dataclass(frozen=True)
class VenueTlsOutputs(ComponentOutputs):
    """The CA handhelds enroll with and the Bastion's server certificate (its key secret).

    `ca_*` are the signing (current) CA's; `enrolled_ca_cert_pems` are every CA that
    exists, the next one too during a rotation."""

    ca_cert_pem: pulumi.Output[str]
    ca_fingerprint_sha256: pulumi.Output[str]
    ca_not_after: pulumi.Output[str]
    enrolled_ca_cert_pems: pulumi.Output[list[str]]
    server_cert_pem: pulumi.Output[str]
    server_key_pem: pulumi.Output[str]
    server_not_after: pulumi.Output[str]
    server_fingerprint_sha256: pulumi.Output[str]


@dataclass(frozen=True)
class VenueCa:
    """One generation of the venue CA."""

    generation: int
    cert_pem: pulumi.Output[str]
    not_after: pulumi.Output[str]


class VenueTls(pulumi.ComponentResource):
    """Per-venue CAs (ECDSA P-256, protected) and a server certificate the current one signs.

    Args:
        name: prefix for every child's name (generation 1's CA is `<name>-ca`, a later
            one `<name>-ca-<n>`).
        args: subjects, SANs and CA generations (`VenueTlsArgs.of`).
        opts: resource options (parent).
    """

    outputs: VenueTlsOutputs

    def __init__(
        self, name: str, args: VenueTlsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ticketing:venue:VenueTls", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # Replacing a CA breaks every enrolled handheld: only a rotation may remove one.
        kept = pulumi.ResourceOptions(parent=self, protect=True)
        organization = "Ticketing venue " + args.venue_id

        cas: list[VenueCa] = []
        keys: list[tls.PrivateKey] = []
        for generation in args.ca_generations:
            prefix = f"{name}-ca" if generation == 1 else f"{name}-ca-{generation}"
            suffix = "" if generation == 1 else f" {generation}"
            ca_key = tls.PrivateKey(
                f"{prefix}-key", algorithm="ECDSA", ecdsa_curve="P256", opts=kept
            )
            ca = tls.SelfSignedCert(
                prefix,
                private_key_pem=ca_key.private_key_pem,
                is_ca_certificate=True,
                allowed_uses=["cert_signing", "crl_signing", "digital_signature"],
                subject=tls.SelfSignedCertSubjectArgs(
                    common_name=f"{args.venue_id} venue CA{suffix}", organization=organization
                ),
                validity_period_hours=CA_VALIDITY_HOURS,
                opts=kept,
            )
            keys.append(ca_key)
            cas.append(VenueCa(generation, ca.cert_pem, ca.validity_end_time))
        signing, signing_key = cas[0], keys[0]

        server_key = tls.PrivateKey(
            f"{name}-server-key", algorithm="ECDSA", ecdsa_curve="P256", opts=child
        )
        request = tls.CertRequest(
            f"{name}-server-csr",
            private_key_pem=server_key.private_key_pem,
            subject=tls.CertRequestSubjectArgs(
                common_name=args.hostname, organization=organization
            ),
            ip_addresses=[args.lan_address, "127.0.0.1"],
            dns_names=[args.hostname, "localhost"],  # localhost: the container's own healthcheck
            opts=child,
        )
        server = tls.LocallySignedCert(
            f"{name}-server",
            cert_request_pem=request.cert_request_pem,
            ca_cert_pem=signing.cert_pem,
            ca_private_key_pem=signing_key.private_key_pem,
            allowed_uses=["digital_signature", "key_encipherment", "server_auth"],
            validity_period_hours=SERVER_VALIDITY_HOURS,
            early_renewal_hours=EARLY_RENEWAL_HOURS,
            opts=child,
        )

        self.outputs = VenueTlsOutputs(
            ca_cert_pem=signing.cert_pem,
            ca_fingerprint_sha256=signing.cert_pem.apply(sha256_fingerprint),
            ca_not_after=signing.not_after,
            enrolled_ca_cert_pems=pulumi.Output.all(*[ca.cert_pem for ca in cas]).apply(
                lambda pems: [str(p) for p in pems]
            ),
            server_cert_pem=server.cert_pem,
            server_key_pem=pulumi.Output.secret(server_key.private_key_pem),
            server_not_after=server.validity_end_time,
            server_fingerprint_sha256=server.cert_pem.apply(sha256_fingerprint),
        )
        self._warn_before_expiry(name, cas)
        self.register_outputs(self.outputs.registered())

    def _warn_before_expiry(self, name: str, cas: list[VenueCa]) -> None:
        """`pulumi preview` (and the offline plan) warn about a certificate close to expiry."""
        checks: list[tuple[str, pulumi.Output[str], int, str]] = [
            (
                f"the server certificate {name}-server",
                self.outputs.server_not_after,
                EARLY_RENEWAL_HOURS,
                "this deploy renews it",
            ),
            *(
                (
                    f"the venue CA generation {ca.generation}",
                    ca.not_after,
                    CA_ROTATION_WARNING_HOURS,
                    "rotate it: ticketing:venue.ca.next, re-enroll the handhelds, then "
                    "ticketing:venue.ca.current (docs/runbooks.md)",
                )
                for ca in cas
            ),
        ]
        for what, not_after, window, action in checks:

            def warn(value: str, what: str = what, window: int = window, action: str = action):
                line = expiry_warning(what, value, now(), window) if value else None
                if line:
                    pulumi.log.warn(f"{line}: {action}", self)

            not_after.apply(warn)
