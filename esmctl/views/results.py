"""The results of carrying out a plan: a document per change, and the rows of the results table."""

from __future__ import annotations

from typing import Any

from esmctl.views.plan import change_document, plan_document
from esmctl.views.tables import Column, ident, prose


def apply_document(plan: Any, results: list[Any], *, applied: bool, interrupted: bool = False) -> dict[str, Any]:
    """`apply -o json`: always the same shape, whether anything changed or not (or Ctrl-C stopped it)."""
    return {"plan": plan_document(plan), "applied": applied, "interrupted": interrupted,
            "results": result_documents(results)}


def result_documents(results: list[Any]) -> list[dict[str, Any]]:
    return [{"action": r.change.action.value, "function": r.change.key.function,
             "source": r.source or change_document(r.change)["source"], "uuid": r.uuid, "ok": r.ok,
             "status": r.status.value, "message": r.message, "exists": r.exists,
             "stepsDone": [s.describe() for s in r.done], "skipped": r.skipped}
            for r in results]


_RESULT_LABELS = {"done": "ok", "interrupted": "INTERRUPTED", "not-started": "NOT STARTED"}


def result_label(r: Any) -> str:
    """`ok`, `FAILED` (a skipped prune too), `INTERRUPTED` or `NOT STARTED`: how a result begins."""
    return _RESULT_LABELS.get(r.status.value, "FAILED")


# A result names its mapping (a failed create has no UUID yet) and says what happened; the UUID of
# the mapping is the one column that may go (plan and list show it).
RESULT_COLUMNS: list[Column] = [
    ident("ACTION", "Action", keep=True), ident("MAPPING", "Mapping", keep=True), ident("UUID", priority=90),
    prose("RESULT", "Result", keep=True, min_width=20),
]


def result_rows(results: list[Any]) -> list[dict[str, Any]]:
    """results.Results as table rows; a done change's result does not repeat the UUID beside it."""
    def said(r: Any) -> str:
        message = r.message.replace(f" {r.uuid}", "") if r.uuid and r.status.value == "done" else r.message
        return f"{result_label(r)}: {message}"

    return [{"Action": r.change.action.value, "Mapping": r.change.title(), "UUID": r.uuid or "", "Result": said(r)}
            for r in results]


