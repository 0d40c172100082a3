"""The offline plan's TLS provider: real keys, requests and certificates, made locally.

What `pulumi_tls` would compute, built with `cryptography` from the same inputs:
certificates carry the requested subject, SANs, key usages and validity, and a
locally signed one is signed by its CA's key. Deterministic, so two plans of the
same program agree: every key is P-256 derived from the resource's name (whatever
`algorithm` says; RSA key generation cannot be seeded), signatures are RFC 6979
deterministic ECDSA, and certificates are issued at `issued_at()` (today, 00:00 UTC).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
from collections.abc import Mapping
from typing import Any, cast

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pulumi.runtime import rpc

# The order of the P-256 group: a private scalar is in [1, n-1].
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def issued_at() -> dt.datetime:
    """When the offline plan's certificates are issued: today at midnight UTC."""
    now = dt.datetime.now(dt.UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def _plain(value: Any) -> Any:
    return rpc.unwrap_rpc_secret(value) if rpc.is_rpc_secret(value) else value


def _key(name: str) -> ec.EllipticCurvePrivateKey:
    scalar = int(hashlib.sha256(f"tls-key/{name}".encode()).hexdigest(), 16)
    return ec.derive_private_key(scalar % (_P256_ORDER - 1) + 1, ec.SECP256R1())


def _load_key(pem: Any) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(str(_plain(pem)).encode(), password=None)
    return cast(ec.EllipticCurvePrivateKey, key)


def private_key(name: str) -> dict[str, Any]:
    key = _key(name)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    pkcs8 = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {"privateKeyPem": pem, "privateKeyPemPkcs8": pkcs8, "publicKeyPem": public.decode()}


def _subject(subject: Any) -> x509.Name:
    fields = cast(Mapping[str, Any], _plain(subject) or {})
    names = [
        (NameOID.ORGANIZATION_NAME, fields.get("organization")),
        (NameOID.COMMON_NAME, fields.get("commonName")),
    ]
    return x509.Name([x509.NameAttribute(oid, str(v)) for oid, v in names if v])


def _sans(inputs: Mapping[str, Any]) -> list[x509.GeneralName]:
    ips = [x509.IPAddress(ipaddress.ip_address(str(a))) for a in inputs.get("ipAddresses") or []]
    dns = [x509.DNSName(str(d)) for d in inputs.get("dnsNames") or []]
    return [*dns, *ips]


def cert_request(inputs: Mapping[str, Any]) -> dict[str, Any]:
    builder = x509.CertificateSigningRequestBuilder().subject_name(_subject(inputs.get("subject")))
    sans = _sans(inputs)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    request = builder.sign(
        _load_key(inputs["privateKeyPem"]), hashes.SHA256(), ecdsa_deterministic=True
    )
    return {"certRequestPem": request.public_bytes(serialization.Encoding.PEM).decode()}


def _usages(uses: list[str]) -> list[x509.ExtensionType]:
    flags = {
        "digital_signature": "digital_signature",
        "content_commitment": "content_commitment",
        "key_encipherment": "key_encipherment",
        "data_encipherment": "data_encipherment",
        "key_agreement": "key_agreement",
        "cert_signing": "key_cert_sign",
        "crl_signing": "crl_sign",
    }
    given = {flags[u]: True for u in uses if u in flags}
    usage = x509.KeyUsage(
        **{
            f: given.get(f, False)
            for f in (
                "digital_signature",
                "content_commitment",
                "key_encipherment",
                "data_encipherment",
                "key_agreement",
                "key_cert_sign",
                "crl_sign",
            )
        },
        encipher_only=False,
        decipher_only=False,
    )
    extended = [
        oid
        for use, oid in (
            ("server_auth", ExtendedKeyUsageOID.SERVER_AUTH),
            ("client_auth", ExtendedKeyUsageOID.CLIENT_AUTH),
        )
        if use in uses
    ]
    return [usage, *([x509.ExtendedKeyUsage(extended)] if extended else [])]


def _certificate(
    name: str,
    inputs: Mapping[str, Any],
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    sans: list[x509.GeneralName],
) -> dict[str, Any]:
    start = issued_at()
    end = start + dt.timedelta(hours=float(inputs.get("validityPeriodHours") or 0))
    serial = int(hashlib.sha256(f"tls-serial/{name}".encode()).hexdigest()[:30], 16)
    is_ca = inputs.get("isCaCertificate") is True
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    for extension in _usages([str(u) for u in inputs.get("allowedUses") or []]):
        builder = builder.add_extension(extension, critical=isinstance(extension, x509.KeyUsage))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(issuer_key, hashes.SHA256(), ecdsa_deterministic=True)
    return {
        "certPem": cert.public_bytes(serialization.Encoding.PEM).decode(),
        "validityStartTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "validityEndTime": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "readyForRenewal": False,
    }


def self_signed(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    key = _load_key(inputs["privateKeyPem"])
    subject = _subject(inputs.get("subject"))
    return _certificate(name, inputs, subject, key.public_key(), subject, key, _sans(inputs))


def locally_signed(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    request = x509.load_pem_x509_csr(str(_plain(inputs["certRequestPem"])).encode())
    ca = x509.load_pem_x509_certificate(str(_plain(inputs["caCertPem"])).encode())
    try:
        sans = list(request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        sans = []
    public_key = cast(ec.EllipticCurvePublicKey, request.public_key())
    ca_key = _load_key(inputs["caPrivateKeyPem"])
    return _certificate(name, inputs, request.subject, public_key, ca.subject, ca_key, sans)
