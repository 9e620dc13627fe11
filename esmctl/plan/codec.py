"""Saved plans: `plan --out FILE` writes a plan that `apply FILE` carries out exactly, and `show FILE` prints.

The file holds the plan's changes with their steps (what apply sends), and for each change a fingerprint
of every live mapping it read — UUID, State, LastModified, the canonical configuration and its hash, the
tags where the plan read them — and of each identity it creates (that none existed). Before it writes,
`apply FILE` lists the mappings once and refuses every change whose fingerprint no longer holds, naming
the mapping and the field that moved: then nothing is written, unless `--partial` lets the changes that
still hold go ahead. A plan from another account, region or esmctl version is refused whole.

The only module that turns a plan into JSON and back (the typed steps by their `op` names, format version 1
as before): the saved plan is a plan.types.Plan again when loaded; execute.Executor runs it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from esmctl import __version__
from esmctl.errors import EsmctlError, Place
from esmctl.mapping import compare, identity, marks, states, values
from esmctl.plan.types import (
    ALLOWED_STEPS,
    STEP_KINDS,
    Action,
    Change,
    Create,
    Note,
    Paused,
    Plan,
    Reason,
    Step,
    Update,
)

FORMAT = "esmctl-plan"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Fingerprint:
    """What a plan read of one live mapping."""

    uuid: str
    state: str
    last_modified: str
    config: dict[str, Any]  # canonical, as plain JSON data
    sha256: str
    tags_sha256: str | None = None  # where the plan read the mapping's tags

    def document(self) -> dict[str, Any]:
        out = {"uuid": self.uuid, "state": self.state, "lastModified": self.last_modified,
               "configSha256": self.sha256, "config": self.config}
        if self.tags_sha256 is not None:
            out["tagsSha256"] = self.tags_sha256
        return out


@dataclass
class SavedPlan:
    plan: Plan
    account: str
    region: str
    esmctl_version: str
    created: str
    spec: dict[str, Any]  # {"files": [...], "sha256": ...}
    reads: list[list[Fingerprint]] = field(default_factory=list)  # per change
    absent: list[list[identity.Key]] = field(default_factory=list)  # per change: identities it creates


@dataclass(frozen=True)
class Refusal:
    change: Change
    why: str


# -- writing -----------------------------------------------------------------------------------------
def spec_sha256(spec: Any) -> str:
    """The spec as esmctl read it (placeholders filled): the same for the same desired mappings."""
    entries = [{"params": e.params, "consumer": e.consumer, "movedFrom": getattr(e, "moved_from", None)}
               for e in spec.mappings]
    return _sha256(entries)


def fingerprint(m: compare.Mapping, tags: dict[str, str] | None = None) -> Fingerprint:
    config = _plain(m.config)
    modified = m.params.get("LastModified")
    return Fingerprint(m.uuid or "", m.state, _plain(modified) if modified is not None else "", config,
                       _sha256(config), _sha256(tags) if tags is not None else None)


def save(path: str, planned: Plan, live: list[compare.Mapping], *, account: str, region: str, spec: Any,
         tags: dict[str, dict[str, str]] | None = None) -> dict[str, Any]:
    """Write the plan and what it read; return the document written."""
    by_uuid = {m.uuid: m for m in live}
    changes = []
    for c in planned.changes:
        touched = dict.fromkeys([m.uuid for m in c.before] + [s.uuid for s in c.steps if s.uuid])
        reads = [fingerprint(by_uuid[u], (tags or {}).get(u)) for u in touched if u in by_uuid]
        # the identities it makes: a create's, a move's (the mapping takes the new function's identity)
        absent = [c.key] if c.action is Action.MOVE or any(isinstance(s, Create) for s in c.steps) else []
        changes.append({**_change(c), "reads": [f.document() for f in reads],
                        "absent": [_key(k) for k in absent]})
    doc = {
        "format": FORMAT, "formatVersion": FORMAT_VERSION, "esmctl": __version__,
        "created": values.iso(datetime.now(timezone.utc)), "account": account, "region": region,
        "spec": {"files": list(spec.paths), "sha256": spec_sha256(spec)},
        "changes": changes,
        "unmanaged": [_plain(m.params) for m in planned.unmanaged],
        "notes": [{"key": _key(n.key), "text": n.text} for n in planned.notes],
        "inSync": planned.in_sync,
        "waiting": [_key(k) for k in planned.waiting],
        "paused": [{"mapping": _plain(p.mapping.params), "since": p.pause.since, "reason": p.pause.reason}
                   for p in planned.paused],
    }
    doc["sha256"] = _sha256(doc)  # of everything above: an edited file is refused, not carried out
    text = json.dumps(doc, indent=1, sort_keys=False) + "\n"
    try:
        with open(path, "w", encoding="utf-8") as out:
            out.write(text)
    except OSError as exc:
        raise EsmctlError(f"{path}: cannot write the plan: {exc.strerror or exc}") from exc
    return doc


# -- reading -----------------------------------------------------------------------------------------
def is_saved_plan(path: str) -> bool:
    """Is `path` a file `plan --out` wrote? (A spec may be JSON too: it has no top-level `format` key.)"""
    if path == "-":
        return False
    try:
        with open(path, encoding="utf-8") as f:
            head = f.read(256)
    except (OSError, UnicodeDecodeError):
        return False
    head = "".join(head.split())
    if not head.startswith("{"):
        return False
    # `plan --out` writes `"format": "esmctl-plan"` first, at the top level: a plan cut short (a full disk, a partial
    # upload) is still one, to be refused as a damaged plan, not read as a spec. Else the top level says (a plan whose
    # keys a tool reordered; a JSON spec may have a "format" key deeper down, a tag's or a filter's), read whole
    # within the spec reader's limits.
    if head.startswith(_PLAN_HEAD) or _PLAN_HEAD.startswith(head):
        return True
    from esmctl.yamldoc import MAX_BYTES

    try:
        if f'"{FORMAT}"' not in head and os.path.getsize(path) > MAX_BYTES:
            return False  # the spec reader refuses it, as a spec
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(doc, dict) and doc.get("format") == FORMAT


_PLAN_HEAD = f'{{"format":"{FORMAT}"'  # how a plan file starts, whitespace aside


def load(path: str, refusal: str = "refused") -> SavedPlan:
    """Read a saved plan; a damaged or edited one is refused (`refusal`: what that means to the command)."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as exc:
        raise EsmctlError(f"{path}: cannot read the plan: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise EsmctlError(f"{path}: a damaged plan file (cut short?): not JSON ({exc}): {refusal}; plan again") \
            from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise EsmctlError(f"{path}: not a saved plan (no \"format\": \"{FORMAT}\")")
    if doc.get("formatVersion") != FORMAT_VERSION:
        raise EsmctlError(f"{path}: a saved plan of format version {doc.get('formatVersion')!r}; this esmctl reads "
                          f"version {FORMAT_VERSION}: plan again")
    if _sha256({k: v for k, v in doc.items() if k != "sha256"}) != doc.get("sha256"):
        raise EsmctlError(f"{path}: the plan was changed after `plan --out` wrote it (its sha256 does not match): "
                          f"{refusal}; plan again")
    try:
        changes, reads, absent = [], [], []
        for c in doc["changes"]:
            changes.append(_change_from(c))
            reads.append([Fingerprint(r["uuid"], r["state"], r["lastModified"], r["config"], r["configSha256"],
                                      r.get("tagsSha256")) for r in c["reads"]])
            absent.append([_key_from(k) for k in c["absent"]])
        for change, fingerprints in zip(changes, reads, strict=True):
            _check_steps(change, {fp.uuid for fp in fingerprints})
        plan = Plan(tuple(changes), tuple(compare.live_mapping(_decoded(m)) for m in doc["unmanaged"]),
                    tuple(Note(_key_from(n["key"]), n["text"]) for n in doc["notes"]), doc["inSync"],
                    waiting=tuple(_key_from(k) for k in doc.get("waiting", [])),
                    paused=tuple(Paused(compare.live_mapping(_decoded(p["mapping"])),
                                        marks.Pause(p["since"], p["reason"])) for p in doc.get("paused", [])))
        return SavedPlan(plan, doc["account"], doc["region"], doc["esmctl"], doc["created"], doc["spec"],
                         reads, absent)
    except (KeyError, TypeError, ValueError) as exc:
        raise EsmctlError(f"{path}: a saved plan that cannot be read (edited by hand?): {exc!r}") from exc


def _check_steps(change: Change, read: set[str]) -> None:
    """A saved plan whose steps no planner would write (edited by hand) is not carried out."""
    allowed = ALLOWED_STEPS.get(change.action)
    for step in change.steps:
        if allowed is not None and type(step) not in allowed:
            raise ValueError(f"a {change.action} with a {step.op} step")
        if step.uuid is not None and step.uuid not in read:
            raise ValueError(f"a step on {step.uuid}, which the plan did not read")


def check_target(saved: SavedPlan, path: str, account: str, region: str) -> None:
    """A plan is for one account, region and esmctl version."""
    if saved.esmctl_version != __version__:
        raise EsmctlError(f"{path}: planned by esmctl {saved.esmctl_version}, this is {__version__}: plan again")
    if saved.account != account or saved.region != region:
        raise EsmctlError(f"{path}: planned for account {saved.account} in {saved.region}, but these credentials "
                          f"are for account {account} in {region}: nothing applied")


def read_uuids(saved: SavedPlan) -> set[str]:
    """The mappings the plan read (whose fingerprints apply checks)."""
    return {fp.uuid for reads in saved.reads for fp in reads}


def verify(saved: SavedPlan, live: list[compare.Mapping], tags_of: Any) -> list[Refusal]:
    """The changes whose fingerprints no longer hold, with what moved. `live`: one fresh listing, with the
    filters KMS hides read as the plan read them (reconcile.read_live); `tags_of(arn)`: reads a mapping's
    tags (only where the plan read them)."""
    now = {m.uuid: m for m in live}
    by_key: dict[identity.Key, list[compare.Mapping]] = {}
    for m in now.values():
        if m.state != "Deleting":
            by_key.setdefault(m.key, []).append(m)
    refusals = []
    for change, reads, absent in zip(saved.plan.changes, saved.reads, saved.absent, strict=True):
        moved = []
        planned_on = {m.uuid: m.key.function for m in change.before}
        for fp in reads:
            m = now.get(fp.uuid)
            if fp.state == "Deleting" and (m is None or m.state == "Deleting"):
                continue  # the plan waits for it to be gone: gone, or going, is as planned
            if m is None:
                moved.append(f"{fp.uuid} is gone")
                continue
            if planned_on.get(fp.uuid, m.key.function) != m.key.function and not _as_planned(change, m):
                moved.append(f"{fp.uuid} FunctionName: {identity.short_arn(planned_on[fp.uuid])} → "
                             f"{identity.short_arn(m.key.function)}")
            current = fingerprint(m)
            # A mapping that was Creating or Updating when planned has only finished what was under way then;
            # the configuration (its Enabled included) says whether anything else moved.
            settled = fp.state in states.TRANSITIONAL_STATES and current.state in states.SETTLED_STATES
            if current.state != fp.state and not settled:
                moved.append(f"{fp.uuid} State: {fp.state} → {current.state}")
            # Whether a mapping in Creating or Updating runs was not known when planned ({"$unreadable": …});
            # that it has settled since is the state's to say, not a change of Enabled.
            fields = sorted(k for k in set(fp.config) | set(current.config)
                            if fp.config.get(k) != current.config.get(k)
                            and not (settled and k == "Enabled" and _unknown(fp.config.get(k))))
            if fields and _as_planned(change, m):
                moved.append(f"{fp.uuid} is already as planned ({', '.join(fields)}): applied already?")
            elif fields:
                moved.append(f"{fp.uuid} {', '.join(fields)} changed")
            elif current.last_modified != fp.last_modified and not settled:
                moved.append(f"{fp.uuid} LastModified: {fp.last_modified} → {current.last_modified}")
            if fp.tags_sha256 is not None and _sha256(tags_of(m.arn)) != fp.tags_sha256:
                moved.append(f"{fp.uuid} Tags changed")
        mine = {fp.uuid for fp in reads}
        for key in absent:
            others = [m for m in by_key.get(key, []) if m.uuid not in mine]
            if others:  # (a move's own mapping keeps its UUID: one in the way is never this plan's result)
                done = " and is as planned: applied already?" if change.action is not Action.MOVE and all(
                    _as_planned(change, m) for m in others) else ""
                moved.append(f"a mapping of this identity exists now ({', '.join(m.uuid for m in others)}){done}")
        if moved:
            refusals.append(Refusal(change, "; ".join(moved)))
    return refusals


def gone_sources(saved: SavedPlan, exists: Any) -> list[Refusal]:
    """The creates whose source is surely gone since the plan (`exists(arn)`: True, False, or None when it cannot
    be told): a Kinesis consumer registered again has another ARN, and the plan's would make nothing."""
    from concurrent.futures import ThreadPoolExecutor

    creates = [(c, s.params["EventSourceArn"]) for c in saved.plan.changes for s in c.steps
               if isinstance(s, Create) and s.params.get("EventSourceArn")]
    arns = list(dict.fromkeys(arn for _, arn in creates))
    with ThreadPoolExecutor(max_workers=4) as pool:
        known = dict(zip(arns, pool.map(exists, arns), strict=True))
    return [Refusal(c, f"its source {identity.short_arn(arn)} does not exist now"
                       + (" (a consumer registered again has another ARN)" if "/consumer/" in arn else ""))
            for c, arn in creates if known[arn] is False]


def _unknown(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"$unreadable"}


def _as_planned(change: Change, m: compare.Mapping) -> bool:
    return change.after is not None and m.key == change.key and not compare.compare(change.after, m).changes




# -- (de)serialising the plan's objects ------------------------------------------------------------
def _sha256(value: Any) -> str:
    return hashlib.sha256(json.dumps(_plain(value), sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return values.iso(value if value.tzinfo else value.replace(tzinfo=timezone.utc))
    if values.is_unreadable(value):
        return {"$unreadable": value.why}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value



def _decoded(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$unreadable"}:
            return values.unreadable(value["$unreadable"])
        return {k: _decoded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decoded(v) for v in value]
    return value


def _key(key: identity.Key) -> dict[str, str]:
    return {"function": key.function, "source": key.source, "part": key.part}


def _key_from(doc: dict[str, str]) -> identity.Key:
    return identity.Key(doc["function"], doc["source"], doc.get("part", ""))


def _desired(d: compare.Mapping) -> dict[str, Any]:
    out: dict[str, Any] = {"function": d.key.function, "params": _plain(d.params), "where": str(d.where or "")}
    if d.tags is not None:
        out["tags"] = d.tags
    if d.consumer is not None:
        out["consumer"] = {"stream": d.consumer.stream_arn, "name": d.consumer.name, "arn": d.consumer.arn}
    if d.moved_from:
        out["movedFrom"] = d.moved_from
    return out


def _desired_from(doc: dict[str, Any]) -> compare.Mapping:
    params = dict(doc["params"])
    if doc.get("tags") is not None:
        params["Tags"] = doc["tags"]
    c = doc.get("consumer")
    consumer = identity.Consumer(c["stream"], c["name"], c.get("arn")) if c else None
    moved = identity.function_ref(doc["movedFrom"], "", "") if doc.get("movedFrom") else None
    function = identity.function_ref(doc["function"], "", "")
    return compare.desired_mapping(params, function, where=_place(doc.get("where")), consumer=consumer,
                                   moved_from=moved)


def _place(text: Any) -> Place | None:
    """A place as the plan file writes it (FILE:LINE:COL), back as a value."""
    if not text:
        return None
    rest, _, column = str(text).rpartition(":")
    file, _, line = rest.rpartition(":")
    if file and line.isdigit() and column.isdigit():
        return Place(file, int(line), int(column))
    return Place(str(text))


def _change(c: Change) -> dict[str, Any]:
    return {
        "action": c.action.value, "key": _key(c.key), "reason": c.reason.text, "reasonCode": c.reason.code,
        "startAt": _plain(c.start_at) if c.start_at else None,
        "before": [_plain(m.params) for m in c.before],
        "after": _desired(c.after) if c.after is not None else None,
        "fields": [{"name": f.name, "before": _plain(f.before), "after": _plain(f.after)} for f in c.fields],
        "steps": [step_document(s) for s in c.steps],
    }


def step_document(step: Step) -> dict[str, Any]:
    """A step as JSON: {"op", "uuid", "params", "final"}, its own values under params."""
    return {"op": step.op, "uuid": step.uuid, "params": _plain(step.fields()), "final": step.final}


def step_from(doc: dict[str, Any]) -> Step:
    kind = STEP_KINDS.get(doc["op"])
    if kind is None:
        raise ValueError(f"an unknown step {doc['op']!r}")
    params = dict(doc.get("params") or {})
    if kind is Create and params.get("StartingPositionTimestamp") is not None:
        params["StartingPositionTimestamp"] = values.instant(params["StartingPositionTimestamp"])
    if "keys" in params and kind not in (Create, Update):
        params["keys"] = tuple(params["keys"])
    return kind.from_fields(doc.get("uuid"), bool(doc.get("final")), params)


def _change_from(doc: dict[str, Any]) -> Change:
    return Change(Action(doc["action"]), _key_from(doc["key"]),
                  tuple(compare.live_mapping(_decoded(m)) for m in doc["before"]),
                  _desired_from(doc["after"]) if doc.get("after") else None,
                  tuple(compare.FieldChange(f["name"], f["before"], f["after"]) for f in doc["fields"]),
                  tuple(step_from(s) for s in doc["steps"]),
                  Reason(doc.get("reasonCode", ""), doc.get("reason", "")),
                  values.instant(doc["startAt"]) if doc.get("startAt") else None)
