"""The rules botocore's Lambda model states only in its HTML documentation, read out of it: what writes the
checked-in table esmctl/servicemodel_rules.py.

    python -m esmctl.servicemodel_docs      # rewrites esmctl/servicemodel_rules.py from the installed botocore

esmctl itself never reads the documentation: at run time it reads the table. tests/test_servicemodel_rules.py
reads the installed botocore's documentation again and fails, saying to run the line above, when the table no
longer says the same. What the documentation says is recorded as it says it; esmctl's own words where the model
says nothing usable (servicemodel._SCOPE_OVERRIDES, _ACCESS_TYPE_KINDS) are applied when the table is read.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from esmctl import kinds, servicemodel

TABLE = Path(__file__).with_name("servicemodel_rules.py")

# Kinds of source as the model's documentation names them in the "(Kinesis, DynamoDB Streams, Amazon
# MSK, and self-managed Apache Kafka)" that opens a member's documentation.
_SCOPE_WORDS = (("self-managed", kinds.KAFKA), ("Kinesis", kinds.KINESIS), ("DynamoDB", kinds.DYNAMODB),
                ("SQS", kinds.SQS), ("MSK", kinds.MSK), ("MQ", kinds.MQ), ("DocumentDB", kinds.DOCDB))


def read() -> dict[str, Any]:
    """The rules as the installed botocore's documentation states them (what the table holds)."""
    return {"KINDS": _kinds(), "IMMUTABLE": _immutable(), "ACCESS_TYPES": _access_types()}


def checked_in() -> dict[str, Any]:
    """The rules as the checked-in table holds them."""
    from esmctl import servicemodel_rules

    return {name: getattr(servicemodel_rules, name) for name in ("KINDS", "IMMUTABLE", "ACCESS_TYPES")}


def _members(operation: str) -> dict[str, Any]:
    return dict(servicemodel.service_model().operation_model(operation).input_shape.members)


def _kinds() -> dict[str, tuple[str, ...]]:
    """CreateEventSourceMapping member -> the kinds of source its documentation opens with (members whose
    documentation names none are left out: every kind)."""
    out = {}
    for member, shape in _members("CreateEventSourceMapping").items():
        scope = re.match(r"\s*\(([^)]*)\)", _text(shape.documentation))
        found = sorted({kind for word, kind in _SCOPE_WORDS if word in scope.group(1)}) if scope else []
        if found:
            out[member] = tuple(found)
    return out


def _immutable() -> dict[str, tuple[str, ...]]:
    """Nested members of UpdateEventSourceMapping's structures whose documentation says they cannot be updated."""
    out = {}
    for name, shape in _members("UpdateEventSourceMapping").items():
        if shape.type_name != "structure":
            continue
        fixed = sorted(member for member, sub in shape.members.items()
                       if re.search(r"cannot (be )?(update|change)", _text(sub.documentation)))
        if fixed:
            out[name] = tuple(fixed)
    return out


def _access_types() -> dict[str, dict[str, Any]]:
    """The rules of each SourceAccessConfiguration Type, read from the model's documentation of the Type member:
    `<code>IAM_AUTH</code> – (Self-managed Apache Kafka) ... Omit the URI field for this type.`"""
    shape = servicemodel.service_model().shape_for("SourceAccessConfiguration").members["Type"]
    names = set(shape.enum)
    found: dict[str, dict] = {}
    for item in re.findall(r"<li>(.*?)</li>", shape.documentation or "", re.S):
        m = re.match(r"\s*(?:<p>)?\s*<code>([A-Z0-9_]+)</code>\s*[–-]+\s*\(([^)]*)\)(.*)", item, re.S)
        if not m or m.group(1) not in names:
            continue
        name, scope, text = m.group(1), m.group(2), " ".join(_text(m.group(3)).split())
        rule = found.setdefault(name, {"kinds": set(), "uri": True, "requires": set(), "excludes": set(),
                                       "create_only": False})
        rule["kinds"] |= {kind for word, kind in _SCOPE_WORDS if word.lower() in scope.lower()}
        if re.search(r"omit the URI", text, re.I):
            rule["uri"] = False
        needs = re.search(r"requires (.*?)(?: and does not|\.|$)", text)
        if needs:
            rule["requires"] |= set(re.findall(r"[A-Z][A-Z0-9_]+", needs.group(1))) & names
        others = re.search(r"does not support the other ([A-Z][A-Z0-9_]*) types", text)
        if others:
            rule["excludes"] |= {t for t in names if t.startswith(others.group(1) + "_")} - rule["requires"] - {name}
        if re.search(r"cannot be specified in an UpdateEventSourceMapping", text):
            rule["create_only"] = True
    return {name: {key: tuple(sorted(v)) if isinstance(v, set) else v for key, v in rule.items()}
            for name, rule in sorted(found.items())}


def _text(html: str | None) -> str:
    return re.sub(r"<[^>]+>", "", html or "")


def source(rules: dict[str, Any]) -> str:
    """The text of servicemodel_rules.py for `rules`."""
    import botocore

    lines = [
        f'"""Generated by `python -m esmctl.servicemodel_docs` from botocore {botocore.__version__}\'s Lambda model:',
        "do not edit.",
        "",
        "What the model states only in its HTML documentation (esmctl/servicemodel_docs.py reads it out), frozen",
        "here so that no command parses documentation. tests/test_servicemodel_rules.py fails when the installed",
        "botocore says otherwise: then run the line above and review the change.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import Any",
        "",
        "# CreateEventSourceMapping member -> the kinds of source its documentation opens with",
        "KINDS: dict[str, tuple[str, ...]] = {",
        *[_entry(4, member, found) for member, found in sorted(rules["KINDS"].items())],
        "}",
        "",
        "# UpdateEventSourceMapping structure -> its members the documentation says cannot be updated",
        "IMMUTABLE: dict[str, tuple[str, ...]] = {",
        *[_entry(4, name, fixed) for name, fixed in sorted(rules["IMMUTABLE"].items())],
        "}",
        "",
        "# SourceAccessConfiguration Type -> what the documentation of the Type member says of it",
        "ACCESS_TYPES: dict[str, dict[str, Any]] = {",
    ]
    for name, rule in rules["ACCESS_TYPES"].items():
        lines.append(f"    {_literal(name)}: {{")
        lines += [_entry(8, key, value) for key, value in rule.items()]
        lines.append("    },")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _entry(indent: int, key: str, value: Any) -> str:
    """`key: value,` on one line, or a tuple's items one a line where that line would be too long."""
    line = f"{' ' * indent}{_literal(key)}: {_literal(value)},"
    if len(line) <= 120 or not isinstance(value, tuple):
        return line
    items = "".join(f"{' ' * (indent + 4)}{_literal(item)},\n" for item in value)
    return f"{' ' * indent}{_literal(key)}: (\n{items}{' ' * indent}),"


def _literal(value: Any) -> str:
    """A Python literal, strings in double quotes (as ruff's formatter writes them)."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, tuple):
        return "(" + ", ".join(map(_literal, value)) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


def main() -> None:
    """Write the table (quietly, as a generator: `git diff` shows what changed)."""
    TABLE.write_text(source(read()), encoding="utf-8")


if __name__ == "__main__":
    main()
