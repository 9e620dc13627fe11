"""`esmctl apply` of N creates when every AWS call takes 50 ms: default concurrency vs --concurrency 1.

Runs the sandbox in-process with the AWS-like layer adding latency to every request.
Usage: python benchmarks/apply_concurrency.py [--creates 120] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import yaml

sys.path.insert(0, os.path.dirname(__file__))
from _common import ESMCTL, env, make_sources, timed  # noqa: E402

from esmctl.sandbox import server  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--creates", type=int, default=120)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--rate-limit", type=float, default=None, help="Lambda requests/s before 429 (AWS: 15)")
    args = ap.parse_args()
    box = server.start(0)
    try:
        results = {}
        for concurrency in (1, 4):
            box.reset()
            fns, queues = make_sources(box.moto_url, 4, args.creates // 4)
            spec = os.path.join(tempfile.mkdtemp(), "spec.yaml")
            with open(spec, "w") as fh:
                yaml.safe_dump({"version": 1, "mappings": [
                    {"FunctionName": fn, "EventSourceArn": q} for q in queues for fn in fns]}, fh)
            box.proxy.latency = args.latency
            box.proxy.rate_limit = args.rate_limit
            cmd = [ESMCTL, "apply", spec] + (["--concurrency", "1"] if concurrency == 1 else [])
            elapsed, last = timed(cmd, env(box.url), 1)
            assert last.returncode == 0, last.stdout[-2000:] + last.stderr[-2000:]
            results[concurrency] = (elapsed, dict(box.proxy.calls), sum(box.proxy.throttled.values()))
            box.proxy.latency = 0
            box.proxy.rate_limit = None
        n = (args.creates // 4) * 4
        for c, (t, calls, throttled) in results.items():
            label = "--concurrency 1" if c == 1 else "default (4)"
            print(f"apply {n} creates, {args.latency * 1000:.0f} ms per call, {label}: {t:.2f}s "
                  f"(throttled: {throttled}) calls: {calls}")
        print(f"speed-up: {results[1][0] / results[4][0]:.2f}x")
    finally:
        box.stop()


if __name__ == "__main__":
    main()
