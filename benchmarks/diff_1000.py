"""A no-op `esmctl diff` over 1,000 mappings ÷ `aws lambda list-event-source-mappings` over the same.

The sandbox (moto + the AWS-like layer, pages of 100) runs in-process on 127.0.0.1; the commands take
turns. Goals: ratio of medians ≤ 0.8; diff's calls ≤ its pages + 2. A third command shows the floor of
any botocore-based tool here: import botocore, make a Lambda client, fetch the pages, nothing else.
Usage: python benchmarks/diff_1000.py [--mappings 1000] [--runs 5] [--check]
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import _common as bench  # noqa: E402

from esmctl.sandbox import server  # noqa: E402

FLOOR = ("import botocore.session; client = botocore.session.Session().create_client('lambda'); "
         "[page for page in client.get_paginator('list_event_source_mappings').paginate()]")


def main() -> None:
    ap = bench.parser(__doc__, runs=5)
    ap.add_argument("--mappings", type=int, default=1000)
    args = ap.parse_args()
    functions = 10
    box = server.start(0)
    try:
        fns, queues = bench.make_sources(box.moto_url, functions, args.mappings // functions)
        (lam,) = bench.clients(box.moto_url, "lambda")
        mappings = []
        for q in queues:
            for fn in fns:
                lam.create_event_source_mapping(FunctionName=fn, EventSourceArn=q, BatchSize=5)
                mappings.append({"FunctionName": fn, "EventSourceArn": q, "BatchSize": 5})
        spec = bench.write_spec(mappings)
        aws_list = bench.AWS + ["lambda", "list-event-source-mappings", "--output", "json"]
        runs = bench.interleaved({"esmctl diff": [bench.ESMCTL, "diff", spec],
                                  "aws lambda list-event-source-mappings": aws_list,
                                  "botocore floor (listing only)": [sys.executable, "-c", FLOOR]},
                                 bench.env(box.url), args.runs, box)
    finally:
        box.stop()
    diff, aws, floor = runs.values()
    assert all(r.proc.returncode == 0 for r in diff), diff[-1].proc.stdout  # no changes
    print(f"{len(mappings)} mappings, {functions} functions, pages of 100")
    for name, rs in runs.items():
        print(f"{name:<38} {bench.spread(rs)}; calls per run: {bench.calls(rs)}")
    ratio = bench.median(diff) / bench.median(aws)
    most = max(sum(r.calls.values()) for r in diff)
    print(f"botocore floor ÷ aws = {bench.median(floor) / bench.median(aws):.2f}: the least any botocore-based "
          "tool can take for these pages")
    verdict = bench.Verdict()
    verdict(ratio <= 0.8, f"diff ÷ aws = {ratio:.2f}", "≤ 0.8")
    limit = bench.pages(len(mappings))
    verdict(most <= limit + 2, f"diff made {most} calls", f"≤ {limit} pages + 2")
    verdict.exit(args.check)


if __name__ == "__main__":
    main()
