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

from esmctl import placeholders, servicemodel

DIALECT = "https://json-schema.org/draft/2020-12/schema"
# ${NAME}, filled from --var or the environment: accepted wherever a value is.
PLACEHOLDER = {"type": "string", "pattern": r"(^|[^$])\$\{" + placeholders.NAME + r"\}",  # $${ is a literal ${
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
            "targets": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/target"},
                        "description": "The accounts and regions plan, diff, apply, status and doctor run over (each "
                                       "a targets file entry); without it, the one of the credentials."},
        },
        "$defs": {"mapping": mapping, "target": _target(True)},
    }


# The targets file (`--targets`): accounts × regions and how to reach them. The patterns are targets.py's.
_TARGET_TEXT = {
    "account": "The 12-digit AWS account ID (quoted, so that YAML keeps its leading zeros).",
    "name": "A name for the target (default: the account): targets are NAME/REGION in the output; targets of one "
            "account and region need different names.",
    "regions": "The regions of this account the command runs in, each a target.",
    "role": "A role to assume in the account (its name, or its ARN): botocore's AssumeRole with the caller's "
            "credentials (a profile, web identity in CI, keys), refreshed before they expire.",
    "profile": "A profile of the AWS config files to use instead (botocore's own handling: role_arn, "
               "source_profile, web_identity_token_file, SSO…).",
    "external_id": "The sts:ExternalId the role's trust policy asks for (with role).",
    "session_name": "The RoleSessionName of the assumed role (default: esmctl), as CloudTrail shows it.",
    "variables": "Values for the spec's ${NAME} placeholders in this target (over --var); ACCOUNT and REGION are "
                 "set by esmctl.",
}


def _target(entry: bool) -> dict[str, Any]:
    """One entry of `targets:` (entry) or the `defaults:` every entry gets."""
    from esmctl.targets import AUTOMATIC, PATTERNS

    def text(key: str, *patterns: str) -> dict[str, Any]:
        pattern = "^(?:" + "|".join(PATTERNS[p] for p in patterns or (key,)) + ")$"
        return {"anyOf": [{"type": "string", "pattern": pattern}, PLACEHOLDER], "description": _TARGET_TEXT[key]}

    props: dict[str, Any] = {
        "regions": {"type": "array", "minItems": 1, "uniqueItems": True, "description": _TARGET_TEXT["regions"],
                    "items": text("regions", "region")},
        "role": text("role", "role_arn", "role_name"),
        "profile": {"type": "string", "minLength": 1, "description": _TARGET_TEXT["profile"]},
        "external_id": text("external_id"),
        "session_name": text("session_name"),
        "variables": {"type": "object", "description": _TARGET_TEXT["variables"],
                      "propertyNames": {"pattern": f"^{PATTERNS['variable']}$", "not": {"enum": list(AUTOMATIC)}},
                      "additionalProperties": {"type": ["string", "number", "boolean"]}},
    }
    if entry:
        props = {"account": {"anyOf": [{"type": "string", "pattern": f"^{PATTERNS['account']}$"}, PLACEHOLDER,
                                       {"type": "integer", "minimum": 100000000000, "maximum": 999999999999}],
                             "description": _TARGET_TEXT["account"]},
                 "name": text("name"), **props}
    out: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": props,
                           "not": {"required": ["role", "profile"]}}
    if entry:
        out["required"] = ["account"]
        out["title"] = "target"
    return out


def targets_schema() -> dict[str, Any]:
    """The targets file as a JSON Schema: `esmctl schema --targets`."""
    return {
        "$schema": DIALECT,
        "title": "esmctl targets file: the accounts and regions of --targets",
        "type": "object",
        "additionalProperties": False,
        "required": ["version", "targets"],
        "properties": {
            "version": {"const": 1, "description": "The targets file format's version."},
            "defaults": {**_target(False), "description": "What every target gets unless it sets its own (a "
                                                          "target's profile replaces a default role, and the "
                                                          "reverse; variables are merged)."},
            "targets": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/target"},
                        "description": "Accounts, each in one or more regions."},
        },
        "$defs": {"target": _target(True)},
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
