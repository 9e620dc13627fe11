"""Start-up time: `esmctl --help` against `aws --version` (median of N runs)."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _common import ESMCTL, timed  # noqa: E402


def main(runs: int = 15) -> None:
    t_help, _ = timed([ESMCTL, "--help"], dict(os.environ), runs)
    t_aws, _ = timed([sys.executable, "-m", "awscli", "--version"], dict(os.environ), runs)
    print(f"esmctl --help: {t_help * 1000:.0f} ms; aws --version: {t_aws * 1000:.0f} ms (median of {runs})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
