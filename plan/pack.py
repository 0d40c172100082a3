"""`python -m plan.pack [DIR]` (`make pack`): the policy pack as `pulumi policy publish` takes it.

`pulumi policy publish` uploads the pack's folder and nothing else, and the
organisation's previews then run it from that upload. In the repository the
pack imports the seed data (`seed/`) from beside `policies/`; the published
pack carries its own copy, so it imports exactly what it imports here:

    DIR/PulumiPolicy.yaml, __main__.py, requirements.txt   manifest, entry point, the lock
    DIR/policies/                                          the rules (policies.pack, .rules)
    DIR/seed/                                              the seed data the rules read

Then `pulumi policy publish DIR` (or `--policy-pack DIR` for a local run). The
pack's `requirements.txt` is its lock (every version pinned, every file's hash),
so the organisation's previews install exactly what was tested; its input
`requirements.in` stays behind.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
PACK = REPOSITORY / "policies"
SEED = REPOSITORY / "seed"
DEFAULT_OUTPUT = REPOSITORY / "build" / "policy-pack"
# What the CLI reads at the pack's root; everything else of policies/ is the package.
ROOT_FILES = ("PulumiPolicy.yaml", "__main__.py", "requirements.txt", ".gitignore")
_LEFT_OUT = shutil.ignore_patterns("__pycache__", "*.pyc", "venv", "requirements.in")


def build(output: Path = DEFAULT_OUTPUT) -> Path:
    """Write the self-contained pack to `output` (replacing it) and return it."""
    if output.exists():
        shutil.rmtree(output)
    shutil.copytree(PACK, output / "policies", ignore=_LEFT_OUT)
    for name in ROOT_FILES:
        (output / "policies" / name).rename(output / name)
    shutil.copytree(SEED, output / "seed", ignore=_LEFT_OUT)
    return output


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    output = build(Path(args[0]) if args else DEFAULT_OUTPUT)
    print(f"policy pack: {output} (pulumi policy publish {output})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
