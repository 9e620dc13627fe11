"""A no-op `esmctl diff` over 1,000 mappings: API calls and time, against `aws lambda
list-event-source-mappings` listing the same mappings.

Runs the sandbox (moto + the AWS-like layer, pages of 100) in-process on 127.0.0.1.
Usage: python benchmarks/diff_1000.py [--mappings 1000] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import yaml

sys.path.insert(0, os.path.dirname(__file__))
from _common import ESMCTL, clients, env, make_sources, timed  # noqa: E402

from esmctl.sandbox import server  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mappings", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    functions = 10
    box = server.start(0)
    try:
        fns, queues = make_sources(box.moto_url, functions, args.mappings // functions)
        (lam,) = clients(box.moto_url, "lambda")
        mappings = []
        for q in queues:
            for fn in fns:
                lam.create_event_source_mapping(FunctionName=fn, EventSourceArn=q, BatchSize=5)
                mappings.append({"FunctionName": fn, "EventSourceArn": q, "BatchSize": 5})
        spec = os.path.join(tempfile.mkdtemp(), "spec.yaml")
        with open(spec, "w") as fh:
            yaml.safe_dump({"version": 1, "mappings": mappings}, fh)
        environ = env(box.url)

        box.proxy.reset()
        t_diff, last = timed([ESMCTL, "diff", spec], environ, args.runs)
        assert last.returncode == 0, last.stdout + last.stderr
        diff_calls = {k: v // args.runs for k, v in box.proxy.calls.items()}

        box.proxy.reset()
        t_aws, last = timed([sys.executable, "-m", "awscli", "lambda", "list-event-source-mappings",
                             "--output", "json"], environ, args.runs)
        assert last.returncode == 0, last.stderr
        aws_calls = {k: v // args.runs for k, v in box.proxy.calls.items()}

        print(f"{len(mappings)} mappings, {functions} functions; median of {args.runs} runs")
        print(f"esmctl diff (no changes): {t_diff:.2f}s  calls per run: {diff_calls}")
        print(f"aws lambda list-event-source-mappings: {t_aws:.2f}s  calls per run: {aws_calls}")
        print(f"ratio esmctl/aws: {t_diff / t_aws:.2f}")
    finally:
        box.stop()


if __name__ == "__main__":
    main()
