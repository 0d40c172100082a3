"""Entry point the Pulumi CLI runs (`pulumi preview --policy-pack policies`).

The CLI starts this with the pack's own virtualenv and `policies/` as the working
directory, so the repository root (where `seed.catalog` lives) is put on
`sys.path` before the rules are imported. Constructing `PolicyPack` starts the
analyzer's gRPC server and blocks, so it happens here and nowhere else.
"""

import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
if str(REPOSITORY) not in sys.path:
    sys.path.insert(0, str(REPOSITORY))

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

from policies.pack import DESCRIPTION, PACK_NAME, POLICIES  # noqa: E402

if __name__ == "__main__":
    PolicyPack(
        name=PACK_NAME,
        description=DESCRIPTION,
        policies=list(POLICIES),
        enforcement_level=EnforcementLevel.ADVISORY,  # each rule sets its own level
    )
