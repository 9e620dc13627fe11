"""Which Lambda operation a REST call is, from botocore's model: each operation's HTTP method and request URI
(`/2015-03-31/functions/{FunctionName}/invocations`), so that the layer counts, fails, pauses and throttles every
Lambda call by its name (CreateFunction, Invoke, GetFunction…), as it does the mappings' calls."""

from __future__ import annotations

import re
import urllib.parse
from functools import cache

# A Lambda REST path starts with its API version's date; the other services the sandbox serves do not.
LAMBDA_PATH = re.compile(r"/\d{4}-\d{2}-\d{2}/")


@cache
def _routes() -> list[tuple[str, re.Pattern[str], dict[str, list[str]], str]]:
    """(method, path pattern, the query the URI fixes, operation), those with more fixed text first."""
    from esmctl import servicemodel

    model = servicemodel.service_model("lambda")
    out = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri, _, query = http["requestUri"].partition("?")
        pattern = "".join(
            ("(.+)" if part.endswith("+}") else "([^/]+)") if part.startswith("{") else re.escape(part)
            for part in re.split(r"(\{[^}]+\})", uri.rstrip("/")))
        fixed = len(re.sub(r"\{[^}]+\}", "", uri)) + len(query)
        out.append((fixed, http["method"], re.compile(pattern + "/?"), urllib.parse.parse_qs(query), name))
    return [(method, pattern, query, name) for _, method, pattern, query, name in
            sorted(out, key=lambda r: -r[0])]


def lambda_operation(method: str, path: str) -> str | None:
    """The Lambda operation a call is (None: not a Lambda REST path, or none the model has)."""
    if not LAMBDA_PATH.match(path):
        return None
    route, _, query = path.partition("?")
    given = urllib.parse.parse_qs(query)
    for m, pattern, fixed, name in _routes():
        if m == method and pattern.fullmatch(route) and all(given.get(k) == v for k, v in fixed.items()):
            return name
    return None
