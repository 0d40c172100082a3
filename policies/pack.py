"""The pack's rules in one list: what `__main__.py` serves and `plan.policy` runs offline.

Defaults (see `policies.rules.common.DEFAULT_ENFORCEMENT`): security and
architecture rules are mandatory, operations and cost rules advisory. Any rule's
level can be changed per stack with `--policy-pack-config`, e.g.
`{"rds-multi-az": {"enforcementLevel": "mandatory"}}` or `{"all": "advisory"}`.
"""

from __future__ import annotations

from typing import Final

from pulumi_policy import ResourceValidationPolicy, StackValidationPolicy

from policies.rules import architecture, aws, backup, cloudflare, docker, ecs, iam

PACK_NAME: Final = "ticketing-guardrails"
DESCRIPTION: Final = (
    "Guardrails for the ticketing platform: AWS core, Cloudflare edge, venue Docker hosts and "
    "the seed's database-per-service architecture."
)

POLICIES: Final[list[ResourceValidationPolicy | StackValidationPolicy]] = [
    *aws.POLICIES,
    *backup.POLICIES,
    *ecs.POLICIES,
    *iam.POLICIES,
    *cloudflare.POLICIES,
    *docker.POLICIES,
    *architecture.POLICIES,
]
