"""Which AWS regions exist, as botocore's endpoint data lists them: checked offline, before any call.

A region that does not exist is not refused by AWS in any useful way: its endpoint's name does not resolve,
or a proxy answers with an HTML page, or (with --endpoint-url) an emulator answers for it with nothing. So a
typo (`us-east-7`) would list no mappings and pass a health gate. botocore ships the list of every
partition's regions (partitions.json; endpoints.json in older releases); a region newer than the installed
botocore is refused too, with the way out.
"""

from __future__ import annotations

import difflib
from functools import cache


@cache
def known() -> frozenset[str]:
    """Every region of every partition in the installed botocore's data (the `*-global` pseudo-regions left out)."""
    import botocore.exceptions
    import botocore.loaders

    loader = botocore.loaders.create_loader()
    try:
        partitions = loader.load_data("partitions")["partitions"]
    except botocore.exceptions.DataNotFoundError:
        partitions = loader.load_data("endpoints")["partitions"]
    return frozenset(name for p in partitions for name in p.get("regions", {}) if not name.endswith("-global"))


def problem(region: str) -> str:
    """Why `region` is not a region ("" when it is one): with the closest known name, if one is close."""
    names = known()
    if region in names:
        return ""
    import botocore

    close = closest(region, names)
    if close:
        return f"{region!r} is not an AWS region (did you mean {close}?)"
    return (f"{region!r} is not an AWS region: botocore {botocore.__version__} lists no such region "
            "(if it is new: pip install -U botocore)")


def closest(name: str, names: frozenset[str] | set[str]) -> str | None:
    """The known name a typo most likely meant: fewest edits, a swap of two letters counting as one (`us-esat-1`
    is us-east-1, not us-west-1), then difflib's likeness; None when nothing is within two edits."""
    ranked = sorted((_edits(name, other), -difflib.SequenceMatcher(None, name, other).ratio(), other)
                    for other in names)
    return ranked[0][2] if ranked and ranked[0][0] <= 2 else None


def _edits(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]
