"""Which live mappings a command is about: one paginated listing, filtered by functions and sources."""

from __future__ import annotations

from typing import TYPE_CHECKING

from esmctl.context import Settings

if TYPE_CHECKING:
    from esmctl.aws.calls import Aws


def select(settings: Settings, functions: tuple[str, ...] | list[str] | None,
           sources: tuple[str, ...] | list[str]) -> list[dict]:
    """Live mappings of some functions (any spelling; any qualifier unless one is given) and/or sources.

    One paginated listing; functions are matched here, not by the server-side filter, which
    some emulators match as an exact string against the spelling used at creation.
    """
    aws = settings.aws
    aws.region  # noqa: B018 - a missing profile or region is said once, before the listing
    return select_from(aws, functions, sources)


def select_from(aws: Aws, functions: tuple[str, ...] | list[str] | None, sources: tuple[str, ...] | list[str]) \
        -> list[dict]:
    """`select` in one account and region: the work of a command that may run over several."""
    from esmctl.aws.errors import explain

    with explain("listing mappings"):
        if len(sources) == 1 and not _a_stream(sources[0]):
            items = aws.list_mappings(source=sources[0])
        else:  # a stream's mappings include those of its consumers, deregistered ones too: every mapping is looked at
            items = aws.list_mappings()
            if sources:
                items = [m for m in items if reads_one_of(m.get("EventSourceArn"), sources)]
        if functions:
            wanted = [aws.function_ref(f) for f in functions]
            items = [m for m in items if matches_function(m["FunctionArn"], wanted)]
    return items


def reads_one_of(source_arn: str | None, sources: tuple[str, ...] | list[str]) -> bool:
    """Does a mapping whose EventSourceArn is `source_arn` read one of `sources`? A Kinesis stream given as a source
    is read by its mappings and by those of its consumers (enhanced fan-out): `pause --source STREAM` stops every
    function reading the stream, not only those that poll it themselves."""
    from esmctl import arns

    if not source_arn:
        return False
    if source_arn in sources:
        return True
    arn = arns.parse(source_arn)
    return arn is not None and arn.is_consumer and str(arn.stream) in sources


def _a_stream(source: str) -> bool:
    from esmctl import arns

    arn = arns.parse(source)
    return arn is not None and arn.service == "kinesis" and not arn.is_consumer


def matches_function(function_arn: str, wanted: list) -> bool:  # wanted: identity.FunctionRef
    """Is the function (ARN, maybe qualified) one of these (any qualifier, unless one is given)?"""
    from esmctl.mapping import identity

    live = identity.function_ref(function_arn, "", "")
    return any(_same_function(live, w) for w in wanted)


def _same_function(live, want) -> bool:  # both identity.FunctionRef
    if live.name != want.name:
        return False
    if want.qualifier and live.qualifier != want.qualifier:
        return False
    return (live.region, live.account) == (want.region, want.account)


def require_functions(aws: Aws, functions: tuple[str, ...] | list[str] | None, items: list[dict]) -> None:
    """A function asked for that has no mapping among `items` must exist: a misspelt name is an error (exit 1),
    as in `status` and `doctor`, not an empty answer. One GetFunction per such function, none per mapping."""
    from esmctl.aws.errors import explain
    from esmctl.errors import EsmctlError

    for name in functions or ():
        if any(matches_function(m["FunctionArn"], [aws.function_ref(name)]) for m in items):
            continue
        with explain(f"looking up function {name}"):
            found = aws.get_function(name)
        if found is None:
            raise EsmctlError(f"function {name} not found (in {aws.region})")
