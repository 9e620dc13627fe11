"""Sample records from files, as `filter test --records/--payloads` and `plan --sample` read them."""

from __future__ import annotations

import json
import sys
from typing import Any

from esmctl.errors import EsmctlError
from esmctl.filters import envelopes


def _read(path: str) -> str:
    name = "<stdin>" if path == "-" else path
    try:
        if path == "-":
            raw = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as fh:
                raw = fh.read()
    except OSError as exc:
        raise EsmctlError(f"{name}: cannot read: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise EsmctlError(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def read_records(path: str, kind: str | None = None, option: str = "--records") -> list[dict]:
    """Records as the function receives them: one JSON document (an event, an array, one record) or JSON
    lines (each an event or a record), of the kind of source `kind` or the one each record's shape tells; a
    payload not encoded as its source encodes it is said as a problem of the file (`option`: the one it came by)."""
    text = _read(path)
    try:  # json's own parser: rules.loads keeps each number's text, for payloads, at twice the time
        documents = [json.loads(text)]
    except json.JSONDecodeError as whole:
        documents = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                documents.append(json.loads(line))
            except json.JSONDecodeError as exc:
                # its first line no record: one document (an event written over lines), said as a whole
                bad, at = (whole, whole.lineno) if not documents else (exc, number)
                raise EsmctlError(f"{path}:{at}:{bad.colno}: not JSON ({bad.msg}); {option} takes a Lambda event, "
                                  "a JSON array of records or one record per line") from None
    records = []
    for document in documents:
        try:
            found = envelopes.records_of(document)
        except ValueError as exc:
            raise EsmctlError(f"{path}: {exc}") from None
        bad = next((i for i, r in enumerate(found) if not isinstance(r, dict)), None)
        if bad is not None:
            raise EsmctlError(f"{path}: record {len(records) + bad} is not a JSON object")
        records += found
    for i, record in enumerate(records):
        env = envelopes.ENVELOPES.get(kind or envelopes.guess_kind(record) or "")
        problem = envelopes.encoding_problem(env, record) if env is not None else None
        if problem:
            name = record_name(record)
            raise EsmctlError(f"{path}: record {i}{f' ({name})' if name else ''}: {problem}")
    return records


def read_payloads(path: str, env: Any, source: str) -> list[dict]:
    out = []
    for number, line in enumerate(_read(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(envelopes.wrap(env, line, len(out), source))
        except ValueError as exc:
            raise EsmctlError(f"{path}:{number}: {exc}") from None
    return out


def record_name(record: dict) -> str:
    """A short name for a record: what its source calls it."""
    inner = record.get("kinesis") if isinstance(record.get("kinesis"), dict) else None
    if inner is not None:
        return f"{inner.get('partitionKey', '')}/{str(inner.get('sequenceNumber', ''))[-8:]}"
    if isinstance(record.get("dynamodb"), dict):
        keys = record["dynamodb"].get("Keys") or {}
        shown = ",".join(f"{k}={next(iter(v.values()), '') if isinstance(v, dict) and v else v}"
                         for k, v in keys.items())
        return f"{record.get('eventName', '')} {shown}".strip()
    for key in ("messageId", "messageID"):
        if key in record:
            return str(record[key])
    if "topic" in record:
        return f"{record['topic']}-{record.get('partition', '')}@{record.get('offset', '')}"
    return ""
