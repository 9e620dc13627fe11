"""The settings every command shares: where AWS is, how output is shown, how a fleet runs.

Kept free of click, botocore and rich: the options that fill it are commands/shared.py's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from esmctl.aws.calls import Aws

OUTPUT_FORMATS = ("table", "json", "yaml", "markdown")


@dataclass
class FleetOptions:
    """--targets and the StackSets-like preferences of a run over many accounts and regions."""

    targets: str | None = None  # the targets file, or the spec file whose `targets:` names them
    in_spec: bool = False  # the targets are a spec's `targets:`
    max_concurrency: int | None = None  # targets at once (None: one per account and region, up to 16)
    failure_tolerance: int | None = None  # stop starting targets once more than this many failed (None: never)
    region_order: tuple[str, ...] = ()  # regions one after the other, in this order


@dataclass
class Settings:
    profile: str | None = None
    region: str | None = None
    region_from_flag: bool = False  # --region on the command line (not the environment)
    endpoint_url: str | None = None
    output: str = "table"
    output_given: bool = False  # -o given (else --query prints JSON, as the AWS CLI does)
    query: Any = None  # --query, a compiled JMESPath expression, applied to every JSON and YAML document
    color: bool = True
    verbose: bool = False
    fleet: FleetOptions = field(default_factory=FleetOptions)
    _aws: Aws | None = field(default=None, repr=False)

    @property
    def aws(self) -> Aws:
        if self._aws is None:
            from esmctl.aws.calls import Aws

            self._aws = Aws(self.profile, self.region, self.endpoint_url)
        return self._aws


def color_enabled(settings: Settings) -> bool:
    """No colour with --no-color, or NO_COLOR set to anything but the empty string (no-color.org)."""
    return settings.color and not os.environ.get("NO_COLOR")


# -- the options' values, checked (commands/shared.py and cli.py make them usage errors) ---------------------
def compile_query(value: str) -> Any:
    """--query: a JMESPath expression (jmespath comes with botocore), compiled once. ValueError says why not."""
    import jmespath
    import jmespath.exceptions
    import jmespath.functions

    try:
        compiled = jmespath.compile(value)
    except jmespath.exceptions.JMESPathError as exc:
        if isinstance(exc, jmespath.exceptions.IncompleteExpressionError):
            why = "it ends too soon"
        else:
            why = getattr(exc, "message", None) or getattr(exc, "msg", "")
            if getattr(exc, "lex_position", None) is not None:
                why += f" at character {exc.lex_position + 1}"
        raise ValueError(f"{value!r} is not a JMESPath expression: {why}") from exc
    unknown = sorted(_functions(compiled.parsed) - set(jmespath.functions.Functions.FUNCTION_TABLE))
    if unknown:  # else found only once the command has run (and written), as it prints
        raise ValueError(f"{value!r}: JMESPath has no function {', '.join(f'{n}()' for n in unknown)}")
    return compiled


def _functions(node: Any) -> set[str]:
    """The names of the functions a parsed JMESPath expression calls."""
    if not isinstance(node, dict):
        return set()
    found = {node["value"]} if node.get("type") == "function_expression" else set()
    for child in node.get("children", ()):
        found |= _functions(child)
    return found


def check_query_output(settings: Settings) -> None:
    """--query picks from a document: it goes with -o json or -o yaml, not with a table (ValueError)."""
    if settings.query is not None and settings.output not in ("json", "yaml"):
        raise ValueError(f"--query applies to -o json or -o yaml, not to -o {settings.output}")


def check_endpoint_url(value: str) -> str:
    """--endpoint-url: an http(s) URL with a host, refused (ValueError) before anything is sent."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
        host, _port = parts.hostname, parts.port  # .port raises on a port out of range
    except ValueError:
        host = None
    if not host or parts.scheme not in ("http", "https"):
        raise ValueError(f"{value!r} is not an endpoint URL: give http(s)://HOST[:PORT], e.g. http://127.0.0.1:4566")
    return value


def check_region(value: str) -> str:
    """--region: a region botocore's endpoint data lists (a typo would otherwise list nothing, and exit 0)."""
    from esmctl import regions

    why = regions.problem(value)
    if why:
        raise ValueError(why)
    return value
