"""The origin as the Cloudflare edge sees it: where to send traffic and how to get in.

The ingress builds it; the edge consumes it. Only Cloudflare knows the secret
header, and the ALB forwards nothing that lacks it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

# Set by the edge's late request transform; required by every ALB routing rule.
ORIGIN_HEADER = "X-Origin-Verify"


@dataclass(frozen=True)
class Origin:
    """What the edge needs from the ingress.

    Args:
        static_ips: the NLB's Elastic IPs, one per zone; empty when the stack
            has no static IPs and the edge points at `dns_name` instead.
        dns_name: the internet-facing load balancer's DNS name.
        header: the origin-lock header's name.
        secret: the origin-lock header's value the edge sends (a secret Output); the ALB
            accepts it and the other rotation slot's value.
        client_cert_pem / client_key_pem: the Authenticated Origin Pulls certificate the
            zone presents to the origin, whose CA the ALB's trust store holds (None: the
            origin does not verify client certificates).
    """

    static_ips: list[pulumi.Output[str]]
    dns_name: pulumi.Output[str]
    header: str
    secret: pulumi.Output[str]
    client_cert_pem: pulumi.Output[str] | None = None
    client_key_pem: pulumi.Output[str] | None = None
