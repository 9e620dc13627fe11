"""A no-op `esmctl diff` over N Kinesis mappings ÷ `aws lambda list-event-source-mappings` over the same (issue 21).

50 functions × N/50 Kinesis streams (1,000: 20 streams; 5,000: 100), each function mapped to every stream, the
spec in sync; the sandbox (moto + the AWS-like layer, pages of 100) runs in-process on 127.0.0.1. The commands take
turns; a third shows the floor of any botocore-based tool here (import botocore, one Lambda client, the pages).
Goals: diff ÷ aws ≤ 0.8 at 1,000 and ≤ 0.7 at 5,000 (ratios of medians).
`--before DIR`: also runs the esmctl of another checkout (`git worktree add DIR COMMIT`, or `git archive COMMIT |
tar -x -C DIR`) in the same turns, through PYTHONPATH, for before/after ratios from one run.
`--serve` sets the population up, prints the environment and the spec, and waits (for profiling by hand).
Usage: python benchmarks/diff_streams.py [--mappings 1000] [--runs 5] [--before DIR] [--serve] [--check]
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import _common as bench  # noqa: E402

from esmctl.sandbox import server  # noqa: E402

FUNCTIONS = 50
FLOOR = ("import botocore.session; client = botocore.session.Session().create_client('lambda'); "
         "[page for page in client.get_paginator('list_event_source_mappings').paginate()]")


def populate(box, n: int) -> str:
    """N in-sync Kinesis mappings and their spec (its path)."""
    fns, streams = bench.make_sources(box.moto_url, FUNCTIONS, 0, streams=n // FUNCTIONS)
    (lam,) = bench.clients(box.moto_url, "lambda")
    mappings = []
    for i, stream in enumerate(streams):
        for fn in fns:
            params = {"FunctionName": fn, "EventSourceArn": stream, "StartingPosition": "LATEST",
                      "BatchSize": 100 * (1 + i % 5)}
            lam.create_event_source_mapping(**params)
            mappings.append(params)
    return bench.write_spec(mappings)


def main() -> None:
    ap = bench.parser(__doc__, runs=5)
    ap.add_argument("--mappings", type=int, default=1000, help=f"a multiple of {FUNCTIONS}")
    ap.add_argument("--serve", action="store_true", help="set up, print how to reach it, and wait")
    ap.add_argument("--before", metavar="DIR", help="a checkout whose esmctl also runs, for before/after")
    args = ap.parse_args()
    goal = 0.8 if args.mappings <= 1000 else 0.7
    box = server.start(0)
    try:
        spec = populate(box, args.mappings)
        environ = bench.env(box.url)
        if args.serve:
            print(" ".join(f"{k}={v}" for k, v in environ.items() if k.startswith(("AWS_", "ESMCTL_"))), spec,
                  flush=True)
            while True:
                time.sleep(3600)
        aws_list = bench.AWS + ["lambda", "list-event-source-mappings", "--output", "json"]
        commands = {"esmctl diff": [bench.ESMCTL, "diff", spec],
                    "aws lambda list-event-source-mappings": aws_list,
                    "botocore floor (listing only)": [sys.executable, "-c", FLOOR]}
        if args.before:
            bench.compile_tree(os.path.join(args.before, "esmctl"))
            commands["esmctl diff, --before"] = ["env", f"PYTHONPATH={os.path.abspath(args.before)}", bench.ESMCTL,
                                                 "diff", spec]
        runs = bench.interleaved(commands, environ, args.runs, box)
    finally:
        box.stop()
    diff, aws, floor = runs["esmctl diff"], runs["aws lambda list-event-source-mappings"], \
        runs["botocore floor (listing only)"]
    assert all(r.proc.returncode == 0 for r in diff), diff[-1].proc.stdout  # no changes
    print(f"{args.mappings} Kinesis mappings, {FUNCTIONS} functions × {args.mappings // FUNCTIONS} streams, "
          "pages of 100")
    for name, rs in runs.items():
        print(f"{name:<38} {bench.spread(rs)}; calls per run: {bench.calls(rs)}")
    pairs = sorted(d.seconds / a.seconds for d, a in zip(diff, aws, strict=True))
    ratio = bench.median(diff) / bench.median(aws)
    print(f"diff ÷ aws run by run: {', '.join(f'{p:.2f}' for p in pairs)}")
    print(f"botocore floor ÷ aws = {bench.median(floor) / bench.median(aws):.2f}")
    if args.before:
        before = runs["esmctl diff, --before"]
        print(f"before: diff ÷ aws = {bench.median(before) / bench.median(aws):.2f}; after ÷ before = "
              f"{bench.median(diff) / bench.median(before):.2f}")
    verdict = bench.Verdict()
    verdict(ratio <= goal, f"diff ÷ aws = {ratio:.2f} (ratio of medians)", f"≤ {goal}")
    most = max(sum(r.calls.values()) for r in diff)
    limit = bench.pages(args.mappings)
    verdict(most <= limit + 2, f"diff made {most} calls", f"≤ {limit} pages + 2")
    verdict.exit(args.check)


if __name__ == "__main__":
    main()
