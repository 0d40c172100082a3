"""Time the offline plan of `dev` against the floor of importing the SDKs.

    make bench            # 5 runs each: both medians, their ratio, the plan's peak memory

Target: the plan within 1.5x the bare import of pulumi, pulumi_aws,
pulumi_cloudflare and pulumi_docker (the import dominates; the program should not).
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
FLOOR = [sys.executable, "-c", "import pulumi, pulumi_aws, pulumi_cloudflare, pulumi_docker"]
PLAN = [sys.executable, "-m", "plan", "dev"]


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    timed(FLOOR)  # warm the file cache so the first sample is not an outlier
    floor = [timed(FLOOR) for _ in range(RUNS)]
    plan = [timed(PLAN) for _ in range(RUNS)]
    floor_median, plan_median = statistics.median(floor), statistics.median(plan)
    print(f"import floor: median {floor_median:.2f}s  runs {' '.join(f'{t:.2f}' for t in floor)}")
    print(f"plan dev:     median {plan_median:.2f}s  runs {' '.join(f'{t:.2f}' for t in plan)}")
    print(f"ratio plan/floor: {plan_median / floor_median:.2f} (target <= 1.5)")
    # ru_maxrss of children is the largest any of them reached (KiB on Linux).
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory of one run: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
