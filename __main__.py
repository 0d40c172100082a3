"""The ticketing platform, one stack at a time: its settings, then the boundaries its
kind deploys (`components/stacks.py`; a cloud stack's in the order traffic flows),
then the exports people and venue stacks read."""

import pulumi

from components import settings, stacks
from components.outputs import PROGRAM

stack = settings.load()  # every bad value stops here, before any resource exists

if isinstance(stack, settings.CloudSettings):
    boundaries = stacks.cloud(stack)  # Cloudflare edge -> AWS core -> app tier
elif isinstance(stack, settings.BootstrapSettings):
    boundaries = stacks.bootstrap(stack)  # the pipeline's OIDC provider and roles
else:
    boundaries = stacks.venue(stack)  # the Bastion on the venue's Docker host

# Every stack output is described beside it (components/outputs.py, docs/stack-outputs.md).
for name, value in PROGRAM.values({"environment": stack.environment}).items():
    pulumi.export(name, value)
for boundary in boundaries:
    for name, value in boundary.stack_outputs.items():
        pulumi.export(name, value)
