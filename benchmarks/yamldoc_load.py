"""`yamldoc.load` on a generated 1,000-mapping spec vs a bare `yaml.load(text, Loader=CSafeLoader)`.

Pure: no sandbox. Usage: python benchmarks/yamldoc_load.py [--mappings 1000] [--runs 15]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time

import yaml

from esmctl import yamldoc


def spec(n: int) -> str:
    """n mappings of about 12 keys each, with a nested FilterCriteria, a ${VAR} and a merge from defaults."""
    out = ["version: 1", "region: us-east-1", "x-common: &common", "  MaximumRetryAttempts: 3",
           "  BisectBatchOnFunctionError: true", "mappings:"]
    for i in range(n):
        out += [f"  - FunctionName: fn-{i % 10:03d}",
                f"    EventSourceArn: arn:aws:kinesis:us-east-1:123456789012:stream/orders-{i:04d}",
                "    <<: *common",
                "    StartingPosition: TRIM_HORIZON",
                "    BatchSize: ${BATCH}",
                "    MaximumBatchingWindowInSeconds: 5",
                "    ParallelizationFactor: 2",
                "    MaximumRecordAgeInSeconds: 3600",
                "    TumblingWindowInSeconds: 0",
                "    FunctionResponseTypes: [ReportBatchItemFailures]",
                "    Enabled: true",
                "    Tags: {team: orders, env: prod}",
                "    FilterCriteria:",
                "      Filters:",
                "        - Pattern:",
                "            data:",
                f"              type: [order, refund-{i}]",
                "              amount: [{numeric: ['>', 100]}]"]
    return "\n".join(out) + "\n"


def timed(fn) -> float:
    gc.collect()  # each run starts from the same heap: the garbage of the last is not charged to the next
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mappings", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    text = spec(args.mappings)
    doc = yamldoc.load("bench.yaml", text, {"BATCH": "100"})
    assert doc.data == yaml.load(text.replace("${BATCH}", "100"), Loader=yaml.CSafeLoader)
    print(f"{args.mappings} mappings, {len(text)} bytes")
    bare, ours = [], []
    for _ in range(args.runs):  # interleaved, so a slow spell on a shared machine hits both
        bare.append(timed(lambda: yaml.load(text, Loader=yaml.CSafeLoader)))
        ours.append(timed(lambda: yamldoc.load("bench.yaml", text, {"BATCH": "100"})))
    for what, times in (("yaml.load(CSafeLoader)", bare), ("yamldoc.load", ours)):
        print(f"{what:<22}  min {min(times) * 1000:6.1f} ms  median {statistics.median(times) * 1000:6.1f} ms")
    median = statistics.median
    print(f"ratio: {min(ours) / min(bare):.2f}x (min), {median(ours) / median(bare):.2f}x (median)")


if __name__ == "__main__":
    main()
