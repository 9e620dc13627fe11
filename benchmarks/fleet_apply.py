"""`esmctl apply --targets` of N creates per target: each account and region stays under Lambda's 15 requests/s.

5 targets in 4 account-regions of the sandbox: two targets (blue and green, different functions) share
one account and region, which AWS counts as one 15 requests/s, and so must esmctl's pacer. The layer
answers 429 beyond 15 requests/s per account and region (a bucket of 15, as AWS) and adds `--latency`
(20 ms) to every call; every Lambda call's account, region and time is recorded at the layer.
Goals: fewer than 10 throttled replies; in every account and region, over any stretch of time, at most 15
calls per second of it plus esmctl's burst of 5 (AWS's own bucket holds 15).
Usage: python benchmarks/fleet_apply.py [--creates 150] [--runs 3] [--latency 0.02] [--check]
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import defaultdict

sys.path.insert(0, os.path.dirname(__file__))
import _common as bench  # noqa: E402

from esmctl.aws.pacing import LAMBDA_BURST  # noqa: E402
from esmctl.sandbox import server  # noqa: E402

A, B = "111111111111", "222222222222"
FUNCTIONS = 5
TARGETS = [  # (account, name, regions, PREFIX)
    (A, "blue", ["us-east-1", "eu-west-1"], "blue"),
    (A, "green", ["us-east-1"], "green"),
    (B, None, ["us-east-1", "eu-west-1"], "blue"),
]
RATE = 15.0


def record_calls(box) -> dict[tuple[str, str], list[float]]:
    """Every Lambda control-plane call the layer lets through or throttles: (account, region) -> times."""
    seen: dict[tuple[str, str], list[float]] = defaultdict(list)
    lock, take = threading.Lock(), box.proxy._take_token

    def counted(scope: tuple[str, str]) -> bool:
        with lock:
            seen[scope].append(time.monotonic())
        return take(scope)

    box.proxy._take_token = counted
    return seen


def excess(times: list[float], rate: float) -> float:
    """The most calls beyond `rate` per second over any stretch between two calls: a pacer at `rate` with a
    burst of b never exceeds b."""
    times, most = sorted(times), 0.0
    for i, start in enumerate(times):
        for j in range(i, len(times)):
            most = max(most, (j - i + 1) - rate * (times[j] - start))
    return most


def busiest_second(times: list[float]) -> int:
    times, most, j = sorted(times), 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - 1.0:
            j += 1
        most = max(most, i - j + 1)
    return most


def main() -> None:
    ap = bench.parser(__doc__, runs=3)
    ap.add_argument("--creates", type=int, default=150, help=f"per target, a multiple of {FUNCTIONS}")
    ap.add_argument("--latency", type=float, default=0.02, help="seconds added to every call")
    args = ap.parse_args()
    queues = args.creates // FUNCTIONS
    spec = bench.write_spec([{"FunctionName": f"${{PREFIX}}-fn-{f:03d}",
                              "EventSourceArn": f"arn:aws:sqs:${{REGION}}:${{ACCOUNT}}:${{PREFIX}}-q-{q:03d}"}
                             for q in range(queues) for f in range(FUNCTIONS)], region="${REGION}")
    targets = bench.write_targets([{"account": a, **({"name": n} if n else {}), "regions": rs, "role": "deployer",
                                    "variables": {"PREFIX": p}} for a, n, rs, p in TARGETS])
    creates: dict[tuple[str, str], int] = defaultdict(int)
    for a, _, rs, _ in TARGETS:
        for r in rs:
            creates[(a, r)] += args.creates
    floor = max(creates.values()) / RATE
    box = server.start(0)
    results, rates = [], []
    try:
        for _ in range(args.runs):
            box.reset()
            for a in (A, B):
                server.create_role(box.moto_url, a, "deployer")
            for a, _, rs, p in TARGETS:
                for r in rs:
                    bench.account_sources(box.moto_url, a, r, FUNCTIONS, queues, prefix=p)
            box.proxy.latency, box.proxy.rate_limit = args.latency, RATE
            seen = record_calls(box)
            results.append(bench.Run([bench.ESMCTL, "apply", spec, "--targets", targets], bench.env(box.url), box))
            box.proxy.latency, box.proxy.rate_limit = 0, None
            del box.proxy._take_token  # back to the class's own
            for (a, r), n in creates.items():
                lam = server.account_client(box.moto_url, "lambda", r, a)
                made = sum(len(pg["EventSourceMappings"]) for pg in lam.get_paginator("list_event_source_mappings")
                           .paginate())
                assert made == n, f"{made} mappings in {a}/{r} after the apply, not {n}"
            rate = {scope: (len(ts), excess(ts, RATE), busiest_second(ts)) for scope, ts in seen.items()}
            rates.append(rate)
            print(f"  run {len(results)}: {results[-1].seconds:.2f} s, throttled {results[-1].throttled}; "
                  + "; ".join(f"{a}/{r}: {n} calls, at most {over:.1f} beyond 15/s, {most} in the busiest second"
                              for (a, r), (n, over, most) in sorted(rate.items())), flush=True)
    finally:
        box.stop()
    print(f"apply of {args.creates} creates in each of 5 targets ({sum(creates.values())} in all; "
          f"{max(creates.values())} in the busiest account and region), {args.latency * 1000:.0f} ms per call, "
          f"{RATE:g} requests/s per account and region enforced: {bench.spread(results)}; floor {floor:.2f} s")
    print(f"calls per run: {bench.calls(results)}; throttled replies per run: {[r.throttled for r in results]}")
    verdict = bench.Verdict()
    throttled = max(r.throttled for r in results)
    over = max(x for rate in rates for _, x, _ in rate.values())
    busiest = max(most for rate in rates for _, _, most in rate.values())
    verdict(throttled < 10, f"at most {throttled} throttled replies in a run", "fewer than 10")
    verdict(over <= LAMBDA_BURST + 0.5, f"at most {over:.2f} calls beyond {RATE:g}/s over any stretch, in any account "
                                        f"and region (busiest second: {busiest} calls)",
            f"≤ {LAMBDA_BURST}, esmctl's burst (+0.5 for the timing at the layer)")
    print(f"time ÷ floor of the busiest account and region = {bench.median(results) / floor:.3f}")
    verdict.exit(args.check)


if __name__ == "__main__":
    main()
