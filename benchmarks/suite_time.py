"""The test suite's time as `bash .ci/run` runs it — `python -m pytest` with the project's addopts (xdist, one
worker more than the cores), in the virtualenv of this interpreter — alone, and beside a CPU-bound job (a
`python -c 'while True: pass'` this script starts and kills), taking turns `--runs` times.

Goals (issue 21): ≤ 60 s alone on the 2-core machine, and the same verdict beside the CPU-bound job: both green,
the same tests passed. The machine's load average before each run and the CPU time the suite used are printed
too: on a shared machine the wall times are only as good as the quiet they were taken in.
Usage: .venv/bin/python benchmarks/suite_time.py [--runs 1] [--check]
"""

from __future__ import annotations

import os
import re
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(__file__))
import _common as bench  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOG = "while True: pass"


@dataclass
class SuiteRun:
    seconds: float
    cpu: float  # user + system seconds of the suite's processes
    load: float  # the 1-minute load average just before it started
    code: int
    summary: str
    tail: str

    @property
    def passed(self) -> int:
        found = re.search(r"(\d+) passed", self.summary)
        return int(found.group(1)) if found else 0

    @property
    def green(self) -> bool:
        return self.code == 0 and self.passed > 0


def run_suite() -> SuiteRun:
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider"], cwd=ROOT,
                          env={**os.environ, "TZ": "UTC"}, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    out = proc.stdout.strip()
    summary = out.splitlines()[-1] if out else proc.stderr.strip()[-300:]
    return SuiteRun(seconds, cpu, load, proc.returncode, summary, (proc.stdout + proc.stderr)[-3000:])


def beside_a_cpu_bound_job() -> SuiteRun:
    hog = subprocess.Popen([sys.executable, "-c", HOG])
    try:
        return run_suite()
    finally:
        hog.kill()
        hog.wait()


def describe(runs: list[SuiteRun]) -> str:
    secs = [r.seconds for r in runs]
    return (f"median {statistics.median(secs):.1f} s ({min(secs):.1f}–{max(secs):.1f} s, {len(runs)} run(s)); "
            f"CPU {statistics.median(r.cpu for r in runs):.0f} s; load before "
            f"{', '.join(f'{r.load:.1f}' for r in runs)}; last: {runs[-1].summary}")


def main() -> None:
    args = bench.parser(__doc__, runs=1).parse_args()
    alone: list[SuiteRun] = []
    beside: list[SuiteRun] = []
    for _ in range(args.runs):  # taking turns, so a busy spell of a shared machine hits both
        alone.append(run_suite())
        beside.append(beside_a_cpu_bound_job())
    print(f"{os.cpu_count()} cores; python -m pytest (wall, start-up included)")
    print(f"  alone:                   {describe(alone)}")
    print(f"  beside a CPU-bound job:  {describe(beside)}")
    for name, runs in (("alone", alone), ("beside a CPU-bound job", beside)):
        for r in runs:
            if not r.green:
                print(f"--- a failed run {name} (exit {r.code}):\n{r.tail}")
    verdict = bench.Verdict()
    median = statistics.median(r.seconds for r in alone)
    verdict(median <= 60, f"suite alone {median:.1f} s", "≤ 60 s on the 2-core machine")
    verdict(all(r.green for r in alone), f"alone: {sum(r.green for r in alone)} of {len(alone)} run(s) green",
            "every run green")
    verdict(all(r.green for r in beside),
            f"beside a CPU-bound job: {sum(r.green for r in beside)} of {len(beside)} run(s) green "
            f"({statistics.median(r.seconds for r in beside):.1f} s)", "the same verdict as alone: green")
    verdict(len({r.passed for r in alone + beside}) == 1,
            f"tests passed: {sorted({r.passed for r in alone + beside})}", "the same tests pass in every run")
    verdict.exit(args.check)


if __name__ == "__main__":
    main()
