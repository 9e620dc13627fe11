"""The test suite's time as `bash .ci/run` runs it: `python -m pytest` (the project's addopts: xdist,
one worker more than the cores), in the virtualenv of this interpreter, `--runs` times.

Goal (issue 11): ≤ 60 s on the 2-core machine, with more tests than the 87 of the goal's day.
Usage: .venv/bin/python benchmarks/suite_time.py [--runs 5] [--check]
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import _common as bench  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main() -> None:
    args = bench.parser(__doc__, runs=5).parse_args()
    seconds, summary = [], ""
    for _ in range(args.runs):
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider"], cwd=ROOT,
                              env={**os.environ, "TZ": "UTC"}, capture_output=True, text=True)
        seconds.append(time.perf_counter() - t0)
        summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-500:]
        if proc.returncode != 0:
            sys.exit(f"the suite failed:\n{proc.stdout[-3000:]}")
    passed = int(re.search(r"(\d+) passed", summary).group(1))
    median = statistics.median(seconds)
    print(f"python -m pytest (wall, start-up included): median {median:.1f} s "
          f"({min(seconds):.1f}–{max(seconds):.1f} s, {len(seconds)} runs), {os.cpu_count()} cores; last: {summary}")
    verdict = bench.Verdict()
    verdict(median <= 60, f"suite {median:.1f} s for {passed} passed tests", "≤ 60 s with more than 87 tests")
    verdict(passed > 87, f"{passed} tests", "more than 87")
    verdict.exit(args.check)


if __name__ == "__main__":
    main()
