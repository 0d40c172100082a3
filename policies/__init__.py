"""The `ticketing-guardrails` CrossGuard policy pack.

`pulumi preview --policy-pack policies` runs `__main__.py` here; the rules live
in importable modules (`policies.rules.*`, collected in `policies.pack`) so
tests and the offline plan (`plan.policy`) evaluate exactly the same objects.
"""
