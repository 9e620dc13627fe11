"""A no-op `esmctl diff --targets` over 12 targets × 300 mappings ÷ the slowest of the same targets run one by one.

4 accounts × 3 regions of the sandbox, each with 300 SQS mappings (5 functions × 60 queues) in sync with
the spec; every target is reached by AssumeRole, and the layer adds `--latency` (100 ms) to every call. Each
round runs the fleet command and each target alone (`--targets` with one target), taking turns.
Goal (issue 21): fleet ÷ slowest single target ≤ 1.25 (the targets run in parallel; issue 17: ≤ 1.5 at 500).
`--serve` sets the accounts up, prints the environment, the spec and the targets files, and waits (for profiling by
hand).
Usage: python benchmarks/fleet_diff.py [--runs 3] [--latency 0.1] [--mappings 300] [--serve] [--check]
"""

from __future__ import annotations

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import _common as bench  # noqa: E402

from esmctl.sandbox import server  # noqa: E402

ACCOUNTS = ("111111111111", "222222222222", "333333333333", "444444444444")
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
FUNCTIONS = 5


def main() -> None:
    ap = bench.parser(__doc__, runs=3)
    ap.add_argument("--latency", type=float, default=0.1, help="seconds added to every call")
    ap.add_argument("--mappings", type=int, default=300, help=f"per target, a multiple of {FUNCTIONS}")
    ap.add_argument("--serve", action="store_true", help="set up, print how to reach it, and wait")
    args = ap.parse_args()
    queues = args.mappings // FUNCTIONS
    box = server.start(0)
    try:
        for account in ACCOUNTS:
            server.create_role(box.moto_url, account, "esmctl-deployer")
            for region in REGIONS:
                fns, arns = bench.account_sources(box.moto_url, account, region, FUNCTIONS, queues)
                lam = server.account_client(box.moto_url, "lambda", region, account)
                for arn in arns:
                    for fn in fns:
                        lam.create_event_source_mapping(FunctionName=fn, EventSourceArn=arn, BatchSize=5)
            print(f"  account {account}: {len(REGIONS)} regions × {args.mappings} mappings", flush=True)
        spec = bench.write_spec([{"FunctionName": f"bench-fn-{f:03d}",
                            "EventSourceArn": f"arn:aws:sqs:${{REGION}}:${{ACCOUNT}}:bench-q-{q:03d}", "BatchSize": 5}
                           for q in range(queues) for f in range(FUNCTIONS)], region="${REGION}")
        everyone = [{"account": a, "regions": list(REGIONS), "role": "esmctl-deployer"} for a in ACCOUNTS]
        fleet = bench.write_targets(everyone)
        alone = {f"{a}/{r}": bench.write_targets([{"account": a, "regions": [r], "role": "esmctl-deployer"}])
                 for a in ACCOUNTS for r in REGIONS}
        environ = bench.env(box.url)
        box.proxy.latency = args.latency
        if args.serve:
            print(" ".join(f"{k}={v}" for k, v in environ.items() if k.startswith(("AWS_", "ESMCTL_"))), spec, fleet,
                  alone["444444444444/ap-southeast-2"], flush=True)
            while True:
                time.sleep(3600)
        fleet_runs: list[bench.Run] = []
        single: dict[str, list[bench.Run]] = {t: [] for t in alone}
        for _ in range(args.runs):
            fleet_runs.append(bench.Run([bench.ESMCTL, "diff", spec, "--targets", fleet], environ, box))
            for target, path in alone.items():
                single[target].append(bench.Run([bench.ESMCTL, "diff", spec, "--targets", path], environ, box))
            slowest = max(rs[-1].seconds for rs in single.values())
            print(f"  round {len(fleet_runs)}: fleet {fleet_runs[-1].seconds:.2f} s, slowest single target "
                  f"{slowest:.2f} s", flush=True)
    finally:
        box.stop()
    assert all(r.proc.returncode == 0 for r in fleet_runs), fleet_runs[-1].proc.stdout[-2000:]  # in sync
    # The slowest single target of each round, then the median over the rounds.
    slowest_per_round = [max(rs[i].seconds for rs in single.values()) for i in range(args.runs)]
    slowest = statistics.median(slowest_per_round)
    fleet_median = statistics.median(r.seconds for r in fleet_runs)
    medians = sorted((statistics.median(r.seconds for r in rs), t) for t, rs in single.items())
    print(f"{len(alone)} targets × {args.mappings} mappings, {args.latency * 1000:.0f} ms per call")
    print(f"fleet diff:           {bench.spread(fleet_runs)}; calls per run: {bench.calls(fleet_runs)}")
    print(f"one target alone:     fastest median {medians[0][0]:.2f} s ({medians[0][1]}), slowest median "
          f"{medians[-1][0]:.2f} s ({medians[-1][1]}); calls per run: {bench.calls(single[medians[-1][1]])}")
    print(f"slowest single target per round: {', '.join(f'{s:.2f} s' for s in slowest_per_round)}")
    ratio = fleet_median / slowest
    verdict = bench.Verdict()
    verdict(ratio <= 1.25, f"fleet ÷ slowest single target = {fleet_median:.2f} s ÷ {slowest:.2f} s = {ratio:.2f}",
            "≤ 1.25")
    verdict.exit(args.check)


if __name__ == "__main__":
    main()
