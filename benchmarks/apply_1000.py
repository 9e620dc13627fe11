"""`esmctl apply` of 1,000 creates ÷ the floor 1000/15 s: apply_creates.py with --creates 1000.

A run takes over a minute, so 3 runs by default (--runs 5 for more).
Usage: python benchmarks/apply_1000.py [--runs 3] [--check]
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import apply_creates  # noqa: E402

if __name__ == "__main__":
    apply_creates.main(runs=3, creates=1000, functions=10, goal=1.10)
