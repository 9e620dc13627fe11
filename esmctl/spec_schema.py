"""The spec format as a JSON Schema (draft 2020-12), made from botocore's model at run time.

Editors (through the yaml-language-server modeline) complete and check specs with it: the mapping keys
are CreateEventSourceMapping's members with their types, enums, ranges, patterns and documentation,
plus esmctl's own keys (`version`, `region`, `defaults`, `Consumer`, `MovedFrom`, filter patterns written as YAML).
`validate` remains the authority (it also knows the rules across fields); the two agree on keys, types,
enums and ranges.
"""

from __future__ import annotations

import re
from typing import Any

from esmctl import servicemodel

DIALECT = "https://json-schema.org/draft/2020-12/schema"
# ${NAME}, filled from --var or the environment: accepted wherever a value is.
PLACEHOLDER = {"type": "string", "pattern": r"\$\{[A-Za-z_][A-Za-z0-9_]*\}",
               "description": "A ${NAME} placeholder, filled from --var NAME=VALUE or the environment."}


def spec_schema() -> dict[str, Any]:
    shape = servicemodel.input_shape()
    mapping = _structure(shape, "mapping")
    consumer = _shape(servicemodel.kinesis_member("RegisterStreamConsumer", "ConsumerName"))  # name rules: Kinesis's
    consumer["description"] = ("esmctl: read the Kinesis stream through this enhanced fan-out consumer (registered "
                               "by apply when missing).")
    mapping["properties"]["Consumer"] = consumer
    mapping["properties"]["MovedFrom"] = {
        "type": "string", "minLength": 1,
        "description": "esmctl: the function (name, name:alias, name:version or ARN) this mapping moves from; "
                       "apply moves the live mapping in place (UpdateEventSourceMapping FunctionName), keeping "
                       "its stream position."}
    mapping["properties"]["FunctionName"]["description"] += " A name, name:alias, or ARN."
    mapping["anyOf"] = [{"required": ["EventSourceArn"]}, {"required": ["SelfManagedEventSource"]}]
    mapping["required"] = ["FunctionName"]
    filters = mapping["properties"]["FilterCriteria"]["properties"]["Filters"]["items"]
    filters["properties"]["Pattern"] = {
        "anyOf": [{"type": "string", "maxLength": 4096}, {"type": "object"}, PLACEHOLDER],
        "description": "A filter pattern: the JSON text the API takes, or the same written as YAML."}
    # null unsets a parameter (one that `defaults` gives every mapping)
    for name, prop in mapping["properties"].items():
        if name != "FunctionName":
            mapping["properties"][name] = {"anyOf": [prop, {"type": "null"}],
                                           **({"description": prop["description"]} if "description" in prop else {})}
    defaults = {**mapping, "required": [], "description": "Parameters every mapping gets unless it sets its own "
                "(each where it is valid for the mapping's kind of source); null on a mapping unsets one."}
    defaults.pop("anyOf")
    defaults["properties"] = {k: v for k, v in mapping["properties"].items()
                              if k not in ("FunctionName", "EventSourceArn", "MovedFrom")}
    return {
        "$schema": DIALECT,
        "title": "esmctl spec: AWS Lambda event source mappings",
        "type": "object",
        "additionalProperties": False,
        "required": ["version", "mappings"],
        "properties": {
            "version": {"const": 1, "description": "The spec format's version."},
            "region": {"type": "string", "description": "The AWS region (default: the region of the spec's ARNs)."},
            "defaults": defaults,
            "mappings": {"type": "array", "items": {"$ref": "#/$defs/mapping"},
                         "description": "The event source mappings you want."},
        },
        "$defs": {"mapping": mapping},
    }


def _structure(shape: Any, title: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "additionalProperties": False,
                           "properties": {name: _shape(sub) for name, sub in shape.members.items()}}
    if shape.required_members:
        out["required"] = list(shape.required_members)
    if title:
        out["title"] = title
    text = _text(shape.documentation)
    if text:
        out["description"] = text
    return out


def _shape(shape: Any) -> dict[str, Any]:
    t, meta = shape.type_name, shape.metadata
    if t == "structure":
        out = _structure(shape)
    elif t == "list":
        out = {"type": "array", "items": _shape(shape.member)}
        _bounds(out, meta, "minItems", "maxItems")
    elif t == "map":
        out = {"type": "object", "additionalProperties": _shape(shape.value)}
        _bounds(out, meta, "minProperties", "maxProperties")
    elif t in ("integer", "long"):
        out = {"type": "integer"}
        _bounds(out, meta, "minimum", "maximum")
    elif t == "boolean":
        out = {"type": "boolean"}
    elif t == "timestamp":
        out = {"anyOf": [{"type": "string"}, {"type": "number"}],
               "description": "ISO 8601 with any offset, a YAML date, or epoch seconds."}
    else:
        out = {"type": "string"}
        if shape.enum:
            out["enum"] = list(shape.enum)
        _bounds(out, meta, "minLength", "maxLength")
        pattern = _portable(meta.get("pattern"))
        if pattern:
            out["pattern"] = f"^(?:{pattern})$"
    text = _text(shape.documentation)
    if text and "description" not in out:
        out["description"] = text
    if t in ("integer", "long", "boolean", "string", "timestamp"):
        return {"anyOf": [out, PLACEHOLDER], **({"description": out.get("description")} if text else {})}
    return out


def _bounds(out: dict[str, Any], meta: dict[str, Any], low: str, high: str) -> None:
    if meta.get("min") is not None:
        out[low] = meta["min"]
    if meta.get("max") is not None:
        out[high] = meta["max"]


def _portable(pattern: str | None) -> str | None:
    """botocore's patterns are Java regexes: keep those that editors (ECMA 262) and Python read alike."""
    if not pattern or re.search(r"\\p\{|\(\?[<!=]|\\[AZz]", pattern):
        return None
    try:
        re.compile(pattern)
    except re.error:
        return None
    return pattern


def _text(html: str | None) -> str:
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html or "")).strip()
    return text[:400] + ("…" if len(text) > 400 else "")
