"""Time the offline plan of `dev` against the floor of importing the SDKs, and each
committed stack's plan with and without the AWS constraint check.

    make bench            # 5 runs each: the medians, the plan's ratios, its peak memory,
                          # then per stack: the plan, and what the constraint check adds

Target: the plan within 1.5x the bare import of pulumi, pulumi_aws,
pulumi_cloudflare and pulumi_docker (the import dominates; the program should not).
The plan's CLI turns off the cyclic garbage collector and leaves with `os._exit`;
the second floor imports the SDKs the same way, so the plan's ratio to it shows
what the plan adds beyond importing the SDKs.
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5
SDKS = "import pulumi, pulumi_aws, pulumi_cloudflare, pulumi_docker"
FLOOR = [sys.executable, "-c", SDKS]
FLOOR_AS_CLI = [sys.executable, "-c", f"import gc; gc.disable(); {SDKS}; import os; os._exit(0)"]
PLAN = [sys.executable, "-m", "plan", "dev"]
STACKS = ("dev", "staging", "prod", "venue-dev-arena", "bootstrap")
# One process per stack, as `make plan` runs: capture the plan, then time the constraint
# check cold (its first call loads botocore's service models), as the CLI runs it.
CHECK_TIMING = """
import sys, time
from plan import constraints, engine
plan = engine.capture(sys.argv[1])
start = time.perf_counter()
constraints.check(plan.resources)
print(time.perf_counter() - start)
"""


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def line(label: str, times: list[float]) -> str:
    runs = " ".join(f"{t:.2f}" for t in times)
    return f"{label:<38} median {statistics.median(times):.2f}s  runs {runs}"


def main() -> None:
    timed(FLOOR)  # warm the file cache so the first sample is not an outlier
    floor = [timed(FLOOR) for _ in range(RUNS)]
    floor_as_cli = [timed(FLOOR_AS_CLI) for _ in range(RUNS)]
    plan = [timed(PLAN) for _ in range(RUNS)]
    plan_median = statistics.median(plan)
    print(line("import floor:", floor))
    print(line("import floor, GC off and os._exit:", floor_as_cli))
    print(line("plan dev:", plan))
    print(f"ratio plan/floor: {plan_median / statistics.median(floor):.2f} (target <= 1.5)")
    print(
        "ratio plan/floor with GC off and os._exit: "
        f"{plan_median / statistics.median(floor_as_cli):.2f}"
    )
    # ru_maxrss of children is the largest any of them reached (KiB on Linux): a plan run.
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory of one run: {peak:.0f} MiB")
    print()
    print(f"{'stack':<18}{'plan':>8}{'constraint check':>18}{'plan without it':>17}")
    for stack in STACKS:
        whole = statistics.median(timed([sys.executable, "-m", "plan", stack]) for _ in range(3))
        check = statistics.median(_check_seconds(stack) for _ in range(3))
        print(f"{stack:<18}{whole:>7.2f}s{check:>17.2f}s{whole - check:>16.2f}s")


def _check_seconds(stack: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", CHECK_TIMING, stack],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(out.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
