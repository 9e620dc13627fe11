"""`esmctl status -o json` over 1,000 mappings: the calls it makes (and its time).

500 SQS mappings and 500 Kinesis ones with MetricsConfig EventCount (10 functions), so status asks
CloudWatch for IteratorAge (one query per function) and six per-mapping metrics of each Kinesis mapping.
Goal: calls ≤ 10 pages + ⌈metric queries / 500⌉ + 2.
Usage: python benchmarks/status_1000.py [--mappings 1000] [--runs 5] [--check]
"""

from __future__ import annotations

import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _common import ESMCTL, Verdict, calls, clients, env, interleaved, make_sources, pages, parser, spread  # noqa: E402

from esmctl.sandbox import server  # noqa: E402

FUNCTIONS = 10
# The per-mapping metrics of a Kinesis mapping with MetricsConfig EventCount (lambda-esm-facts.md).
KINESIS_METRICS = ["PolledEventCount", "InvokedEventCount", "FilteredOutEventCount", "FailedInvokeEventCount",
                   "DroppedEventCount", "OnFailureDestinationDeliveredEventCount"]


def main() -> None:
    ap = parser(__doc__, runs=5)
    ap.add_argument("--mappings", type=int, default=1000)
    args = ap.parse_args()
    per_kind = args.mappings // FUNCTIONS // 2
    box = server.start(0)
    try:
        fns, sources = make_sources(box.moto_url, FUNCTIONS, queues=per_kind, streams=per_kind)
        (lam,) = clients(box.moto_url, "lambda")
        for source in sources:
            stream = ":kinesis:" in source
            extra = {"StartingPosition": "TRIM_HORIZON", "MetricsConfig": {"Metrics": ["EventCount"]}} if stream else {}
            for fn in fns:
                lam.create_event_source_mapping(FunctionName=fn, EventSourceArn=source, **extra)
        total = len(sources) * len(fns)
        queries = len(fns) + per_kind * len(fns) * len(KINESIS_METRICS)  # IteratorAge per function + per mapping
        runs = interleaved({"esmctl status -o json": [ESMCTL, "status", "-o", "json"]}, env(box.url), args.runs,
                           box)["esmctl status -o json"]
    finally:
        box.stop()
    assert all(r.proc.returncode == 0 for r in runs), runs[-1].proc.stderr
    shown = json.loads(runs[-1].proc.stdout)
    assert len(shown) == total and sum("Metrics" in h for h in shown) == total // 2, "status did not show them all"
    goal = pages(total) + math.ceil(queries / 500) + 2
    most = max(sum(r.calls.values()) for r in runs)
    print(f"{total} mappings ({total // 2} SQS, {total // 2} Kinesis with EventCount), {FUNCTIONS} functions; "
          f"{queries} metric queries")
    print(f"esmctl status -o json: {spread(runs)}; calls per run: {calls(runs)}")
    verdict = Verdict()
    verdict(most <= goal, f"status made {most} calls", f"≤ {pages(total)} pages + ⌈{queries}/500⌉ + 2 = {goal}")
    verdict.exit(args.check)


if __name__ == "__main__":
    main()
