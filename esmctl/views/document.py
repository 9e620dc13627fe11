"""Documents as JSON and YAML have them: values made plain, narrowed by --query."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from esmctl.context import Settings


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

