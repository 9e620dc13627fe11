"""The tags esmctl itself writes: the hand-off and pause marks on a mapping, and the tag records a replace keeps
on the function."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from esmctl.mapping.identity import Key
from esmctl.mapping.values import instant, iso

# A mapping created by a hand-off starts AT_TIMESTAMP where its predecessor was; this tag says so, so
# that its StartingPosition is not taken for drift from the spec's.
HANDOFF_TAG = "esmctl:handoff-from"
RESERVED_TAG_PREFIXES = ("aws:", "esmctl:")
# `esmctl pause` marks each mapping it disables with this tag (value: when, and why); `plan` leaves a
# mapping so marked Disabled, and `esmctl resume` enables exactly those. See pause_mark.
PAUSED_TAG = "esmctl:paused"


def managed_tags(tags: dict[str, str] | None) -> dict[str, str]:
    """Tags a spec can manage: not AWS's own, not esmctl's bookkeeping."""
    return {k: v for k, v in (tags or {}).items() if not k.startswith(RESERVED_TAG_PREFIXES)}


# A same-identity replace records what it keeps from the old mapping (its tags, a Kafka mapping's consumer group) on
# the function before the delete (base64 of zlib'd JSON, in tag values of at most 256 characters): a run killed
# between the delete and the create (or whose create failed) leaves them there for the next run's create. A record
# is for that next run: one older than TAG_RECORD_TTL is dropped, never applied.
TAG_RECORD_PREFIX = "esmctl:tags:"
TAG_RECORD_TTL = timedelta(days=1)
_TAG_VALUE_MAX = 256
_TAG_RECORD_CHUNKS = 8  # a function has at most 50 tags, most of them its owners'


@dataclass(frozen=True)
class TagRecord:
    keys: tuple[str, ...]  # the function tags that hold it
    tags: dict[str, str]  # {} when it cannot be read
    at: datetime | None  # when it was recorded
    keep: dict[str, dict[str, str]] = field(default_factory=dict)  # settings the new mapping keeps: {field: members}


def record_prefix(key: Key) -> str:
    import hashlib

    digest = hashlib.sha256(f"{key.function}|{key.source}|{key.part}".encode()).hexdigest()[:16]
    return f"{TAG_RECORD_PREFIX}{digest}:"


def tag_record(key: Key, tags: dict[str, str], at: datetime,
               keep: dict[str, dict[str, str]] | None = None) -> dict[str, str] | None:
    """Function tags that hold `tags` (and `keep`, settings such as a Kafka consumer group) for a mapping of `key`;
    None when they would take too many."""
    import base64
    import zlib

    body = json.dumps({"at": iso(at), "tags": tags, **({"keep": keep} if keep else {})}, sort_keys=True,
                      separators=(",", ":")).encode()
    payload = base64.b64encode(zlib.compress(body)).decode()
    chunks = [payload[i:i + _TAG_VALUE_MAX] for i in range(0, len(payload), _TAG_VALUE_MAX)]
    if len(chunks) > _TAG_RECORD_CHUNKS:
        return None
    prefix = record_prefix(key)
    return {f"{prefix}{i}": chunk for i, chunk in enumerate(chunks)}


def tag_records(function_tags: dict[str, str]) -> dict[str, TagRecord]:
    """Every record on a function, by its prefix (see record_prefix)."""
    import base64
    import binascii
    import zlib

    parts: dict[str, list[tuple[int, str]]] = {}
    for k in function_tags:
        if k.startswith(TAG_RECORD_PREFIX):
            prefix, _, index = k.rpartition(":")
            parts.setdefault(prefix + ":", []).append((int(index) if index.isdigit() else -1, k))
    out = {}
    for prefix, found in parts.items():
        keys = tuple(k for _, k in sorted(found))
        try:
            body = json.loads(zlib.decompress(base64.b64decode("".join(function_tags[k] for k in keys))))
            tags = {str(k): str(v) for k, v in body["tags"].items()}
            keep = {str(k): {str(m): str(v) for m, v in members.items()} for k, members in body.get("keep", {}).items()}
            at = instant(body["at"])
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error, zlib.error):
            tags, keep, at = {}, {}, None  # unreadable (edited by hand?): dropped, never applied
        out[prefix] = TagRecord(keys, tags, at, keep)
    return out


# -- pause marks ----------------------------------------------------------------------------------
# The mark is one tag, so that a pause or a resume changes it in one call: `esmctl:paused` =
# "2026-11-23T12:00:00Z" or "2026-11-23T12:00:00Z the reason". Tag values allow letters, digits,
# white space and _ . : / = + - @ (botocore's TagValue pattern, schema.tag_value_refused), up to 256 characters.
PAUSE_REASON_MAX = _TAG_VALUE_MAX - len("2026-11-23T12:00:00Z ")


@dataclass(frozen=True)
class Pause:
    """What a pause mark says: when (as written, ISO 8601 UTC) and why ("" when no reason was given)."""

    since: str
    reason: str = ""

    def describe(self) -> str:
        return f"paused by esmctl pause at {self.since}" + (f" ({self.reason})" if self.reason else "")


def pause_reason_problem(reason: str, bad: list[str]) -> str:
    """Why a --reason cannot go into a tag value ("" when it can); `bad`: its characters a tag value does not allow
    (schema.tag_value_refused)."""
    if len(reason) > PAUSE_REASON_MAX:
        return f"is {len(reason)} characters long; at most {PAUSE_REASON_MAX} fit in the tag beside the time"
    if bad:
        # an apostrophe goes (ledger's -> ledgers), anything else becomes a space
        fixed = " ".join("".join("" if c in "'’`\"" else " " if c in bad else c for c in reason).split())
        listed = " ".join(bad)
        return (f"{listed} cannot be in a tag value (letters, digits, spaces and _ . : / = + - @ can): try "
                f"--reason {_shell_quoted(fixed)}")
    return ""


def _shell_quoted(text: str) -> str:
    import shlex

    return shlex.quote(text)


def pause_mark(at: datetime, reason: str = "") -> str:
    """The value of the pause tag."""
    since = at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    reason = " ".join(reason.split())
    return f"{since} {reason}" if reason else since


def read_pause(tags: dict[str, str] | None) -> Pause | None:
    """The pause mark among a mapping's tags, if any."""
    value = (tags or {}).get(PAUSED_TAG)
    if value is None:
        return None
    since, _, reason = value.strip().partition(" ")
    return Pause(since or "an unknown time", reason.strip())


def handoff_start(at: datetime, iterator_age_ms: float, margin: float) -> datetime:
    """Where a hand-off starts the new mapping: at most the datapoint's time − its IteratorAge − margin.

    IteratorAge is the age of the last record of a batch when the batch finished; its Maximum over a
    period that starts at `at` bounds how far behind every shard that delivered a batch then was.
    """
    start = at - timedelta(milliseconds=iterator_age_ms, seconds=margin)
    return start.replace(microsecond=0)
