"""Mappings as the listing's table rows and as messages name them (`orders-fn <- kinesis:orders`)."""

from __future__ import annotations

from typing import Any

from esmctl.views.tables import Column, ident, prose

# Which mapping it is (the function and the stream or queue it reads: a long one is broken over lines), and
# STATE and LAST RESULT, which say whether it works, stay at any width. The UUID, the handle the other
# commands take, is whole or left out (said under the table; -o json has it): on an 80-column terminal it
# makes way for the source. How the mapping is configured goes first.
MAPPING_COLUMNS: list[Column] = [
    ident("UUID", priority=70), ident("FUNCTION", "Function", keep=True, breakable=True, min_width=12),
    ident("SOURCE", "Source", keep=True, breakable=True, min_width=16),
    ident("STATE", "State", keep=True), ident("BATCH", "BatchSize", priority=20),
    ident("START", "StartingPosition", priority=30), prose("LAST RESULT", "LastProcessingResult", keep=True),
]


def mapping_row(m: dict[str, Any]) -> dict[str, Any]:
    from esmctl.mapping.identity import short_arn, source_name

    return {**m, "Function": short_arn(m.get("FunctionArn")), "Source": short_arn(source_name(m))}



def mapping_rows(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A listing's rows by function then source (the API's order is by UUID, which says nothing to a reader)."""
    return sorted((mapping_row(m) for m in items), key=lambda r: (r["Function"] or "", r["Source"] or "",
                                                                 r.get("UUID") or ""))


def mapping_title(function_arn: str | None, source_arn: str | None) -> str:
    """`orders-fn <- kinesis:orders`: how a mapping is named in messages."""
    from esmctl.mapping.identity import short_arn

    return f"{short_arn(function_arn)} <- {short_arn(source_arn)}"


def change_title_of(m: dict[str, Any]) -> str:
    """The title of a live mapping as the API reports it."""
    from esmctl.mapping import compare

    return compare.live_mapping(m).title()

