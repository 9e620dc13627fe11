"""A plan as a reader sees it (Terraform's way: a symbol per change, only the changed fields, old → new) and as
a document (`-o json|yaml`, docs/plan-format.md). Returns lines and documents; commands/output.py prints them."""

from __future__ import annotations

from typing import Any

from esmctl.views.document import json_text, jsonable

_PLAN_STYLE = {"create": "green", "update": "yellow", "move": "yellow", "replace": "red", "delete": "red",
               "handoff": "magenta"}


def _value(v: Any) -> str:
    if v is None:
        return "(unset)"
    if isinstance(v, (dict, list)):
        return json_text(jsonable(v), separators=(", ", ": "), sort_keys=True)
    return json_text(v) if isinstance(v, (str, bool)) else str(v)




def change_document(c: Any) -> dict[str, Any]:
    after = c.after
    source = (after.source_arn if after else None) or (c.before[0].source_arn if c.before else None)
    entry: dict[str, Any] = {
        "action": c.action.value, "function": c.key.function, "source": source or c.key.source, "uuid": c.uuid,
        "fields": {f.name: {"before": jsonable(f.before), "after": jsonable(f.after)} for f in shown_fields(c)},
    }
    if c.key.part:
        entry["topic" if (after or c.before[0]).kind in ("msk", "kafka") else "queue"] = c.key.part
    if after is not None and after.consumer is not None:
        entry["consumer"] = {"stream": after.consumer.stream_arn, "name": after.consumer.name,
                             "arn": after.consumer.arn}
    if len(c.before) > 1 or (c.action.destructive and c.action.value != "delete" and c.before):
        entry["replaces"] = [m.uuid for m in c.before]
    if c.reason:
        entry["reason"] = c.reason.text
    if after is not None and after.where:
        entry["where"] = str(after.where)
    if c.start_at:
        entry["startingPositionTimestamp"] = jsonable(c.start_at)
    entry["steps"] = [s.describe() for s in c.steps]
    return entry


def shown_fields(c: Any) -> list[Any]:
    """A change's fields as a plan shows them. A create sends the spec's Tags with the mapping, so they
    are shown as `Tags.KEY` entries, the way an update shows its tag changes."""
    fields = list(c.fields)
    if c.action.value == "create" and c.after is not None and c.after.tags:
        from esmctl.mapping.compare import FieldChange

        named = {f.name for f in fields}
        fields += [FieldChange(f"Tags.{k}", None, v) for k, v in sorted(c.after.tags.items())
                   if f"Tags.{k}" not in named]
    return fields


def plan_document(plan: Any) -> dict[str, Any]:
    """The machine-readable plan (`-o json|yaml`); its shape is documented in docs/plan-format.md."""
    from esmctl.plan.types import PLAN_ACTIONS

    return {
        "version": 1,
        "changes": [change_document(c) for c in plan.changes],
        "unmanaged": [{"uuid": m.uuid, "function": m.key.function, "source": m.source_arn or m.key.source,
                       "short": m.title()} for m in plan.unmanaged],
        "notes": [{"mapping": n.key.describe(), "function": n.key.function, "note": n.text} for n in plan.notes],
        "paused": [{"uuid": p.mapping.uuid, "function": p.mapping.key.function,
                    "source": p.mapping.source_arn or p.mapping.key.source, "short": p.mapping.title(),
                    "since": p.pause.since, "reason": p.pause.reason} for p in plan.paused],
        "summary": {**{a.value: plan.count(a) for a in PLAN_ACTIONS}, "old_ends_deleted": plan.old_ends,
                    "in_sync": plan.in_sync, "waiting": len(plan.waiting)},
    }


def plan_lines(plan: Any) -> list[tuple[str, str]]:
    """The plan as (style, text) lines, Terraform's way: a symbol per change, only the changed
    fields, old → new. The summary line is not among them (see plan_summary)."""
    out: list[tuple[str, str]] = []
    for c in plan.changes:
        head = f"{c.action.symbol} {c.action.value} {c.title()}"
        if c.uuid:
            head += f" ({c.uuid})"
        out.append((_PLAN_STYLE[c.action.value], head))
        if c.reason:
            out.append(("dim", f"    # {c.reason.text}"))
        for f in shown_fields(c):
            if c.action.value == "create":
                out.append(("", f"      {f.name}: {_value(f.after)}"))
            elif f.after is None and f.name == "EventSourceArn":
                out.append(("", f"      {f.name}: {_value(f.before)} → (deleted)"))
            else:
                out += [("", f"      {name}: {before} → {after}") for name, before, after in leaf_changes(f)]
    for n in plan.notes:
        out.append(("yellow", f"! {n.key.describe()}: {n.text}"))
    if plan.unmanaged:
        out.append(("dim", "Unmanaged: live mappings of the spec's functions that the spec does not list "
                           "(apply --prune would delete them):"))
        for m in plan.unmanaged:
            out.append(("dim", f"    {m.uuid}  {m.title()}"))
    return out


def leaf_changes(f: Any) -> list[tuple[str, str, str]]:
    """A changed field as (dotted name, before, after) of each value that changed inside it: a structure
    (DestinationConfig, ScalingConfig…) by its leaves, `DestinationConfig.OnFailure.Destination: orders-dlq →
    jobs-dlq`, not two whole JSON documents. Lists are compared whole, but for one structure that differs among
    otherwise the same, which is shown alone (one filter pattern of several: `FilterCriteria.Filters, one of 3:
    {"Pattern": …} → {"Pattern": …}`; without an index, as the lists are sets in canonical order, not the spec's);
    two ARNs that differ only in their resource show only that."""
    def walk(name: str, before: Any, after: Any) -> list[tuple[str, str, str]]:
        if isinstance(before, list) and isinstance(after, list) and len(before) == len(after) > 1:
            # the lists of structures a mapping has are sets: one item gone and one come is one item changed
            gone = [b for b in before if b not in after]
            came = [a for a in after if a not in before]
            if len(gone) == len(came) == 1 and isinstance(gone[0], dict) and isinstance(came[0], dict):
                return [(f"{name}, one of {len(before)}", _value(gone[0]), _value(came[0]))]
        structures = all(isinstance(v, dict) or v is None for v in (before, after))
        if structures and (isinstance(before, dict) or isinstance(after, dict)):
            b, a = before or {}, after or {}
            leaves = [leaf for k in sorted(set(b) | set(a), key=str) if b.get(k) != a.get(k)
                      for leaf in walk(f"{name}.{k}", b.get(k), a.get(k))]
            return leaves or [(name, _value(before), _value(after))]
        if isinstance(before, dict) or isinstance(after, dict):  # a structure against a value: both whole
            return [(name, _value(before), _value(after))]
        return [(name, *_arn_pair(before, after))]

    return walk(f.name, f.before, f.after)


def _arn_pair(before: Any, after: Any) -> tuple[str, str]:
    from esmctl import arns

    b, a = arns.parse(before), arns.parse(after)
    if b is not None and a is not None and b.with_resource("") == a.with_resource("") \
            and ":" not in b.resource + a.resource:
        return b.resource, a.resource
    return _value(before), _value(after)


def plan_summary(plan: Any, replace_allowed: bool = False) -> str:
    """The plan's last line: what it does, counted (`replace_allowed`: an apply given --allow-replace, which needs
    no reminder of it)."""
    paused = f"{len(plan.paused)} paused by esmctl pause (esmctl resume enables them)" if plan.paused else ""
    if plan.waiting:  # the live mappings do not match the spec: say so, even when nothing is to be done now
        paused = "; ".join(filter(None, [paused, f"{len(plan.waiting)} change{'s' if len(plan.waiting) != 1 else ''}"
                                         " waiting for esmctl resume (see the notes)"]))
    if plan.empty and plan.waiting:
        return f"No changes to make now; {paused}."
    if plan.empty:
        return "No changes. The live mappings match the spec" + (f"; {paused}." if paused else ".")
    from esmctl.plan.types import Action

    line = "Plan: {} to create, {} to update, {} to replace, {} to delete".format(
        *(plan.count(a) for a in (Action.CREATE, Action.UPDATE, Action.REPLACE, Action.DELETE)))
    if plan.count(Action.MOVE):
        line += f", {plan.count(Action.MOVE)} to move"
    if plan.count(Action.HANDOFF):
        line += f", {plan.count(Action.HANDOFF)} to hand off"
    if plan.old_ends:  # in no count above: a reviewer of the line must see them
        line += f" ({plan.old_ends} old mapping{'s' if plan.old_ends != 1 else ''} of moves deleted once the new " \
                "ones run)"
    if plan.count(Action.REPLACE) and not replace_allowed:
        line += " (replacing needs --allow-replace)"
    return line + (f"; {paused}." if paused else ".")



def wrapped(text: str, width: int) -> str:
    """A reason or a note as lines of `width`, broken between words (a word longer than that, an ARN, stays
    whole), the lines after the first under the text after its `# ` or `! `."""
    import textwrap

    head = "    # " if text.startswith("    # ") else "! "
    return "\n".join(textwrap.wrap(text, width=width, subsequent_indent=" " * len(head), break_long_words=False,
                                    break_on_hyphens=False))
