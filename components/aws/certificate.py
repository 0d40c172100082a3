"""`EdgeCertificate`: the ACM certificate the ALB serves, validated through Cloudflare DNS."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_cloudflare as cloudflare

from components.outputs import ComponentOutputs, exported
from components.settings import CloudSettings

# Cloudflare stores names without the root dot ACM appends.
_ROOT_DOT = "."


def validation_field(options: Sequence[Mapping[str, str]], domain: str, field: str) -> str:
    """`field` of the validation option for `domain`, matched by name (ACM's order is not
    the request's order)."""
    for option in options:
        if option["domain_name"] == domain:
            return option[field].rstrip(_ROOT_DOT)
    known = ", ".join(o["domain_name"] for o in options)
    raise ValueError(f"ACM returned no validation option for {domain} (got {known})")


@dataclass(frozen=True)
class EdgeCertificateArgs:
    """The names the certificate covers and the zone that proves them.

    Attributes:
        hosts: hostname key (`api`, `app`, `admin`) -> FQDN; the first is the
            certificate's domain name, the rest its alternative names.
        zone_id: the stack's existing Cloudflare zone.
    """

    hosts: Mapping[str, str]
    zone_id: str

    @classmethod
    def of(cls, settings: CloudSettings) -> EdgeCertificateArgs:
        return cls(hosts=settings.public_hosts, zone_id=settings.cloudflare.zone_id)


@dataclass(frozen=True)
class EdgeCertificateOutputs(ComponentOutputs):
    """`certificate_arn`: the VALIDATED certificate's ARN, so a listener on it waits for
    validation."""

    certificate_arn: pulumi.Output[str] = field(
        metadata=exported(
            "The ACM certificate of the stack's public hostnames, validated through DNS "
            "records in the Cloudflare zone; the ALB's HTTPS listener serves it.",
            people="check its validation and renewal: `aws acm describe-certificate "
            "--certificate-arn <certificateArn>`",
        )
    )
    validation_record_names: list[pulumi.Output[str]]


class EdgeCertificate(pulumi.ComponentResource):
    """An ACM certificate for every public hostname, DNS-validated in the stack's zone.

    One unproxied Cloudflare CNAME per hostname answers ACM's challenge. The
    records are created from config (the hostnames are known up front); only
    their name and content come from the certificate's validation options, so
    nothing is created inside an `apply`.

    Args:
        name: prefix for every child's name.
        args: the hostnames and the zone (`EdgeCertificateArgs.of`).
        opts: must carry both the AWS and the Cloudflare provider (`providers=[...]`).
    """

    outputs: EdgeCertificateOutputs

    def __init__(
        self, name: str, args: EdgeCertificateArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("ticketing:aws:EdgeCertificate", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        domains = list(args.hosts.values())

        certificate = aws.acm.Certificate(
            f"{name}-certificate",
            domain_name=domains[0],
            subject_alternative_names=domains[1:],
            validation_method="DNS",
            key_algorithm="EC_prime256v1",
            opts=child,
        )
        options = certificate.domain_validation_options.apply(
            lambda found: [
                {
                    "domain_name": o.domain_name or "",
                    "resource_record_name": o.resource_record_name or "",
                    "resource_record_value": o.resource_record_value or "",
                }
                for o in found
            ]
        )

        records: list[cloudflare.DnsRecord] = []
        for key, domain in args.hosts.items():
            records.append(
                cloudflare.DnsRecord(
                    f"{name}-validation-{key}",
                    zone_id=args.zone_id,
                    name=options.apply(
                        lambda o, d=domain: validation_field(o, d, "resource_record_name")
                    ),
                    type="CNAME",
                    content=options.apply(
                        lambda o, d=domain: validation_field(o, d, "resource_record_value")
                    ),
                    ttl=60,
                    proxied=False,  # ACM must see its own CNAME, not Cloudflare's edge
                    comment=f"ACM validation for {domain}",
                    opts=child,
                )
            )

        validation = aws.acm.CertificateValidation(
            f"{name}-validation",
            certificate_arn=certificate.arn,
            validation_record_fqdns=[r.name for r in records],
            opts=child,
        )

        self.outputs = EdgeCertificateOutputs(
            certificate_arn=validation.certificate_arn,
            validation_record_names=[r.name for r in records],
        )
        self.stack_outputs = self.outputs.stack_outputs()
        self.register_outputs(self.outputs.registered())
