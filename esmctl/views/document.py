"""Documents as JSON and YAML have them: values made plain, narrowed by --query."""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import cache
from typing import Any

from esmctl.context import Settings

# Written as escapes in JSON, text as it is: NEL and the line and paragraph separators, which YAML (and so a spec
# read back from `export -o json`) takes for line breaks, and lone surrogates, which no encoding can write.
_ESCAPED = re.compile("[\u0085\u2028\u2029\ud800-\udfff]")


def json_text(data: Any, **kw: Any) -> str:
    """JSON as the AWS CLI v2 prints it: text as it is (`café`, not `caf\\u00e9`), but for _ESCAPED."""
    return _ESCAPED.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(data, ensure_ascii=False, **kw))


def yaml_text(data: Any, **kw: Any) -> str:
    """A YAML document, text as it is; a single value without the `...` that ends a bare scalar's document (what
    `$(esmctl … -o yaml --query …)` would keep)."""
    import yaml

    text = yaml.dump(data, Dumper=_dumper(), sort_keys=False, default_flow_style=False, allow_unicode=True, **kw)
    return text[:-len("...\n")] if text.endswith("\n...\n") else text


@cache
def _dumper() -> type:
    """PyYAML's safe dumper, but a text holding NEL or a line or paragraph separator is written double-quoted, where
    they are escapes: plain or single-quoted, PyYAML writes them as they are, and a reader takes them for line
    breaks (an exported filter would read back changed)."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper: Any, value: str) -> Any:
        style = '"' if any(c in value for c in "\x85\u2028\u2029") else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    return Dumper


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def queried(settings: Settings, data: Any) -> Any:
    """The document as JSON has it, narrowed by --query when given."""
    data = jsonable(data)
    if settings.query is None:
        return data
    import jmespath.exceptions

    from esmctl.errors import UsageProblem

    try:
        return settings.query.search(data)
    except jmespath.exceptions.JMESPathError as exc:  # a type or arity error, found on the document
        raise UsageProblem(f"--query {settings.query.expression!r}: {exc}: the command ran, but its output does not "
                           "fit the query (see it with -o json)") from None

