"""How the planner scales: `plan.diff` over 1,000 … 5,000 in-sync Kinesis stream mappings, and a no-op `esmctl diff`.

Pure part (no I/O): N desired and N live mappings built as esmctl builds them (compare.desired_mapping from
a spec entry, compare.live_mapping from what AWS reports, defaults included), each mapping on its own
stream, ten streams per function (N/10 functions), BatchSize varied; only `plan.diff(desired, live)` is
timed, the sizes taking turns. Goal: t(5000) ÷ t(1000) ≤ 6 — a linear planner, with room for noise
(a quadratic one gives about 25).
Whole command: a no-op `esmctl diff` of 5,000 such mappings against the sandbox (moto + the AWS-like
layer, pages of 100), beside the floor of any botocore-based tool (import botocore, fetch the 50 pages).
Usage: python benchmarks/diff_stream_5000.py [--quick] [--runs 3] [--sizes 1000,2000,...] [--no-cli] [--check]
--quick: one run of each size and no sandbox (seconds instead of minutes).
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import _common as bench  # noqa: E402

from esmctl.mapping import compare, identity  # noqa: E402
from esmctl.plan import planner as plan  # noqa: E402

REGION, ACCOUNT = bench.REGION, "123456789012"
PER_FUNCTION = 10  # streams per function
GOAL = 6.0
FLOOR = ("import botocore.session; client = botocore.session.Session().create_client('lambda'); "
         "[page for page in client.get_paginator('list_event_source_mappings').paginate()]")


def function_name(i: int) -> str:
    return f"bench-fn-{i // PER_FUNCTION:03d}"  # bench.make_sources' names


def stream_arn(i: int) -> str:
    return f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/bench-s-{i:03d}"


def spec_entry(i: int) -> dict:
    return {"FunctionName": function_name(i), "EventSourceArn": stream_arn(i), "StartingPosition": "LATEST",
            "BatchSize": 100 * (1 + i % 5)}


def reported(i: int, function_arn: str) -> dict:
    """The mapping as ListEventSourceMappings reports it (AWS's defaults filled in)."""
    uuid = f"00000000-0000-4000-8000-{i:012d}"
    return {"UUID": uuid, "FunctionArn": function_arn, "EventSourceArn": stream_arn(i),
            "EventSourceMappingArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:event-source-mapping:{uuid}",
            "StartingPosition": "LATEST", "BatchSize": 100 * (1 + i % 5), "MaximumBatchingWindowInSeconds": 0,
            "ParallelizationFactor": 1, "MaximumRetryAttempts": -1, "MaximumRecordAgeInSeconds": -1,
            "BisectBatchOnFunctionError": False, "TumblingWindowInSeconds": 0,
            "DestinationConfig": {"OnFailure": {}}, "FunctionResponseTypes": [], "State": "Enabled",
            "StateTransitionReason": "USER_INITIATED", "LastProcessingResult": "No records processed"}


def population(n: int) -> tuple[list[compare.Mapping], list[compare.Mapping]]:
    desired, live = [], []
    for i in range(n):
        function = identity.function_ref(function_name(i), REGION, ACCOUNT)
        desired.append(compare.desired_mapping(spec_entry(i), function, where=f"spec.yaml:{3 + 5 * i}:3"))
        live.append(compare.live_mapping(reported(i, function.qualified_arn)))
    return desired, live


def time_diff(desired: list[compare.Mapping], live: list[compare.Mapping]) -> float:
    gc.collect()
    t0 = time.perf_counter()
    result = plan.diff(desired, live)
    seconds = time.perf_counter() - t0
    assert result.empty and result.in_sync == len(desired) and not result.unmanaged, "not in sync"
    return seconds


def pure(sizes: list[int], runs: int) -> dict[int, list[float]]:
    populations = {n: population(n) for n in sizes}
    times: dict[int, list[float]] = {n: [] for n in sizes}
    for _ in range(runs):  # the sizes take turns, so a slow spell of the machine hits them all
        for n in sizes:
            times[n].append(time_diff(*populations[n]))
    return times


def whole_command(n: int, runs: int) -> dict[str, list[bench.Run]]:
    from esmctl.sandbox import server

    box = server.start(0)
    try:
        t0 = time.perf_counter()
        functions = -(-n // PER_FUNCTION)
        fns, streams = bench.make_sources(box.moto_url, functions, 0, n)
        assert fns[0] == function_name(0) and streams[0] == stream_arn(0)
        (lam,) = bench.clients(box.moto_url, "lambda")
        for i in range(n):
            lam.create_event_source_mapping(**spec_entry(i))
        spec = bench.write_spec([spec_entry(i) for i in range(n)])
        print(f"sandbox: {functions} functions, {n} streams, {n} mappings made in {time.perf_counter() - t0:.0f} s")
        return bench.interleaved({"esmctl diff": [bench.ESMCTL, "diff", spec],
                                  "botocore floor (listing only)": [sys.executable, "-c", FLOOR]},
                                 bench.env(box.url), runs, box)
    finally:
        box.stop()


def main() -> None:
    ap = bench.parser(__doc__, runs=3)
    ap.add_argument("--quick", action="store_true", help="one run of each size, no sandbox")
    ap.add_argument("--sizes", default="1000,2000,3000,4000,5000", help="mappings per plan (comma-separated)")
    ap.add_argument("--no-cli", action="store_true", help="leave out the whole `esmctl diff` against the sandbox")
    args = ap.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    runs = 1 if args.quick else args.runs
    times = pure(sizes, runs)
    base = statistics.median(times[sizes[0]])
    print(f"plan.diff over N in-sync Kinesis mappings (own stream each, {PER_FUNCTION} per function), "
          f"{runs} run(s) of each")
    print(f"{'N':>6}  {'median':>9}  {'min–max':>17}  {'per mapping':>11}  {'÷ t(' + str(sizes[0]) + ')':>10}")
    for n in sizes:
        m = statistics.median(times[n])
        print(f"{n:>6}  {m:>7.3f} s  {min(times[n]):>6.3f}–{max(times[n]):.3f} s  {m / n * 1e6:>8.0f} µs  "
              f"{m / base:>9.2f}×")
    verdict = bench.Verdict()
    if 1000 in times and 5000 in times:
        ratio = statistics.median(times[5000]) / statistics.median(times[1000])
        if runs > 1:  # the fastest runs are the least touched by a busy machine
            print(f"t(5000) ÷ t(1000) of the fastest runs: {min(times[5000]) / min(times[1000]):.2f}")
        verdict(ratio <= GOAL, f"t(5000) ÷ t(1000) = {ratio:.2f} (medians)", f"≤ {GOAL:g}")
    if not (args.quick or args.no_cli):
        n = max(sizes)
        cli = whole_command(n, runs)
        assert all(r.proc.returncode == 0 for r in cli["esmctl diff"]), cli["esmctl diff"][-1].proc.stdout[-2000:]
        print(f"no-op `esmctl diff` of {n} stream mappings against the sandbox (pages of 100):")
        for name, rs in cli.items():
            print(f"  {name:<30} {bench.spread(rs)}; calls per run: {bench.calls(rs)}")
        above = bench.median(cli["esmctl diff"]) - bench.median(cli["botocore floor (listing only)"])
        print(f"  esmctl diff above the floor: {above:.2f} s (the planner alone: "
              f"{statistics.median(times[n]):.2f} s of it)")
    verdict.exit(args.check)


if __name__ == "__main__":
    main()
