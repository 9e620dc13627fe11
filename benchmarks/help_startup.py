"""Start-up: `esmctl --help` ÷ `aws --version` (the AWS CLI v1), interleaved, median of N runs. Goal: ≤ 0.2.

Both run against the sandbox's address so the layer can show that neither makes an AWS call.
Usage: python benchmarks/help_startup.py [--runs 15] [--check]
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _common import AWS, ESMCTL, Verdict, calls, env, interleaved, median, parser, spread  # noqa: E402

from esmctl.sandbox import server  # noqa: E402


def main() -> None:
    args = parser(__doc__, runs=15).parse_args()
    box = server.start(0)
    try:
        runs = interleaved({"esmctl --help": [ESMCTL, "--help"], "aws --version": AWS + ["--version"]},
                           env(box.url), args.runs, box)
    finally:
        box.stop()
    for name, rs in runs.items():
        print(f"{name:<14} {spread(rs, 'ms')}; calls: {calls(rs)}")
    ratio = median(runs["esmctl --help"]) / median(runs["aws --version"])
    verdict = Verdict()
    verdict(ratio <= 0.2, f"esmctl --help ÷ aws --version = {ratio:.3f}", "≤ 0.2")
    verdict.exit(args.check)


if __name__ == "__main__":
    main()
