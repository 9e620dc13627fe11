"""How YAML 1.1 (PyYAML's safe loader) reads a plain scalar, against how JSON reads the same text: a spec is YAML,
but filter patterns and the API take JSON, so a value the two read differently (`NO` is false, `1e3` is text, 2.50
is 2.5 in JSON) is said where it was written (yamldoc records them as it walks a document)."""

from __future__ import annotations

import datetime
import json
import math
import re
from typing import Any

TAG = "tag:yaml.org,2002:"
INT, FLOAT, BOOL, NULL = TAG + "int", TAG + "float", TAG + "bool", TAG + "null"
JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
NUMBER_START = frozenset("-0123456789")


def plain_tag(text: str) -> str:
    """The tag PyYAML's safe loader gives `text` written as a plain scalar (YAML 1.1's resolvers)."""
    import yaml

    return yaml.resolver.Resolver().resolve(yaml.ScalarNode, text, (True, False))


def json_text(tag: str, text: str) -> str:
    """A plain number (int or float tag) as JSON writes the value YAML reads from it: 2.50 as 2.5, -0 as 0."""
    return json.dumps(float(text)) if tag == FLOAT else str(int(text))


def reads_as_json(tag: str, text: str) -> bool:
    """Whether a plain scalar PyYAML resolved to tag means the same in JSON."""
    if tag == INT or tag == FLOAT:
        return JSON_NUMBER.fullmatch(text) is not None
    if tag == BOOL:
        return text == "true" or text == "false"
    return tag == NULL and text == "null"


def number_as_text(text: str) -> str:
    """A plain scalar JSON reads as a number that YAML 1.1 reads as text (`1e3`: its floats need a dot and a
    signed exponent)."""
    value = float(text)
    if not math.isfinite(value):
        return f"{text} is read by YAML 1.1 as the text {text!r}, and as a number JSON cannot hold it: quote it"
    return f"{text} is read by YAML 1.1 as the text {text!r}, not a number: write {value!r}, or quote it"


def surprise(text: str, value: Any) -> str:
    """How YAML 1.1 reads a plain scalar that JSON would read otherwise, and what to write instead."""
    if value is None or isinstance(value, bool):
        word = {None: "null", True: "true", False: "false"}[value]
        shown = f'"{text}"' if text else "an empty value"
        return f"{shown} is read by YAML 1.1 as {word}: quote it ('{text}') or write {word}"
    if isinstance(value, datetime.date):
        return f"{text} is read as a {'date and time' if isinstance(value, datetime.datetime) else 'date'}: quote it"
    if math.isfinite(value):
        return f"{text} is read by YAML 1.1 as {value!r}: quote it or write {value!r}"
    word = "NaN" if math.isnan(value) else ("-Infinity" if value < 0 else "Infinity")
    return f"{text} is read by YAML 1.1 as {word}, which JSON cannot hold: quote it"


def key_text(key: Any) -> str:
    """The text JSON names a key YAML read as `key` by (`on` is true: "true"; `1.50` is 1.5: "1.5")."""
    if key is None or isinstance(key, (bool, int, float)):
        return json.dumps(key)
    return key.isoformat() if isinstance(key, (datetime.date, datetime.datetime)) else str(key)
