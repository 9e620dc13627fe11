"""`esmctl apply` of N creates ÷ the floor N/15 s, with the AWS-like layer enforcing Lambda's 15 requests/s
(429 beyond a burst of 15) and adding 20 ms to every call. Goals (issue 21): ≤ 1.05, fewer than 10 throttled
replies. The creates are spread over --functions functions (issue 21: 300 over 75); a create whose spec does not
manage tags reads its function's tags (tag records), so more functions mean more of those reads.

Each run starts from an empty account (the sources are made directly in moto, uncounted), after one untimed
apply of 4 creates that warms the emulator up.
Usage: python benchmarks/apply_creates.py [--creates 300] [--functions 75] [--runs 5] [--latency 0.02] [--rate 15]
       [--check]
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _common import ESMCTL, Run, Verdict, calls, clients, env, make_sources, median, parser, spread, write_spec  # noqa: E402

from esmctl.sandbox import server  # noqa: E402


def main(argv: list[str] | None = None, runs: int = 5, creates: int = 300, functions: int = 75,
         goal: float = 1.05) -> None:
    ap = parser(__doc__, runs=runs)
    ap.add_argument("--creates", type=int, default=creates, help="a multiple of --functions")
    ap.add_argument("--functions", type=int, default=functions, help="functions the creates are spread over")
    ap.add_argument("--latency", type=float, default=0.02, help="seconds added to every call")
    ap.add_argument("--rate", type=float, default=15.0, help="Lambda requests/s before 429s (AWS: 15)")
    args = ap.parse_args(argv)
    box = server.start(0)
    results: list[Run] = []
    try:
        # One untimed apply first: the emulator's first call of each kind in this process sets moto up (~0.3 s
        # for the source checks' first ListQueues), which AWS does not; every timed run then starts alike.
        box.reset()
        fns, queues = make_sources(box.moto_url, 2, 2)
        Run([ESMCTL, "apply", write_spec([{"FunctionName": fn, "EventSourceArn": q} for q in queues for fn in fns])],
            env(box.url), box)
        for _ in range(args.runs):
            box.reset()
            fns, queues = make_sources(box.moto_url, args.functions, args.creates // args.functions)
            spec = write_spec([{"FunctionName": fn, "EventSourceArn": q} for q in queues for fn in fns])
            box.proxy.latency, box.proxy.rate_limit = args.latency, args.rate
            results.append(Run([ESMCTL, "apply", spec], env(box.url), box))
            box.proxy.latency, box.proxy.rate_limit = 0, None
            (lam,) = clients(box.moto_url, "lambda")
            made = sum(len(p["EventSourceMappings"])
                       for p in lam.get_paginator("list_event_source_mappings").paginate())
            assert made == args.creates, f"{made} mappings exist after the apply, not {args.creates}"
            print(f"  run {len(results)}: {results[-1].seconds:.2f} s, throttled {results[-1].throttled}", flush=True)
    finally:
        box.stop()
    floor = args.creates / args.rate
    ratio = median(results) / floor
    throttled = max(r.throttled for r in results)
    print(f"apply of {args.creates} creates over {args.functions} functions, "
          f"{args.latency * 1000:.0f} ms per call, {args.rate:g} requests/s "
          f"enforced (burst {args.rate:g}): {spread(results)}; floor {floor:.2f} s")
    print(f"calls per run: {calls(results)}; throttled replies per run: {[r.throttled for r in results]}")
    verdict = Verdict()
    verdict(ratio <= goal, f"time ÷ floor = {ratio:.3f}", f"≤ {goal:.2f}")
    verdict(throttled < 10, f"at most {throttled} throttled replies in a run", "fewer than 10")
    verdict.exit(args.check)


if __name__ == "__main__":
    main()
