"""`esmctl mapping create|get|update|delete|enable|disable|list` and `esmctl list`."""

from __future__ import annotations

from typing import Any

import click

from esmctl.context import Settings, common_options, confirm, pass_settings
from esmctl.errors import EXIT_USAGE, EsmctlError


class ModelInt(click.ParamType):
    """An integer checked against the range in botocore's Lambda model (loaded only when used)."""

    name = "integer"

    def __init__(self, member: str) -> None:
        self.member = member

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        try:
            n = int(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a whole number", param, ctx)
        from esmctl.schema import int_bounds

        lo, hi = int_bounds(self.member)
        if (lo is not None and n < lo) or (hi is not None and n > hi):
            self.fail(f"{n} is out of range for {self.member} (allowed: {lo}–{hi})", param, ctx)
        return n


def _tag(value: str) -> tuple[str, str]:
    if "=" not in value:
        raise click.BadParameter(f"{value!r}: expected KEY=VALUE")
    k, v = value.split("=", 1)
    return k, v


def parameter_options(create: bool):
    """The Create/UpdateEventSourceMapping parameters as typed options."""

    def deco(f):
        opts = [
            click.option("--batch-size", type=ModelInt("BatchSize"), help="Records per batch (BatchSize)."),
            click.option("--maximum-batching-window", type=ModelInt("MaximumBatchingWindowInSeconds"),
                         help="Seconds to gather records (MaximumBatchingWindowInSeconds)."),
            click.option("--parallelization-factor", type=ModelInt("ParallelizationFactor"),
                         help="Batches per shard at once (streams)."),
            click.option("--maximum-record-age", type=ModelInt("MaximumRecordAgeInSeconds"),
                         help="Discard records older than this (-1: never; streams)."),
            click.option("--maximum-retry-attempts", type=ModelInt("MaximumRetryAttempts"),
                         help="Retries of a failing batch (-1: until the record expires; streams)."),
            click.option("--bisect-batch-on-function-error/--no-bisect-batch-on-function-error", default=None,
                         help="Split a failing batch in two and retry (streams)."),
            click.option("--tumbling-window", type=ModelInt("TumblingWindowInSeconds"),
                         help="Tumbling window in seconds (streams)."),
            click.option("--on-failure", metavar="ARN",
                         help="OnFailure destination: SQS or SNS ARN (streams). '' clears it."),
            click.option("--report-batch-item-failures/--no-report-batch-item-failures", default=None,
                         help="FunctionResponseTypes ReportBatchItemFailures."),
            click.option("--filter", "filters", multiple=True, metavar="PATTERN",
                         help="A filter pattern (JSON); repeat for more."),
            click.option("--clear-filters", is_flag=True, hidden=create, help="Remove every filter."),
            click.option("--enabled/--disabled", default=None, help="Start (or keep) polling, or not."),
            click.option("--maximum-concurrency", type=int, help="ScalingConfig MaximumConcurrency (SQS, 2–1000)."),
            click.option("--cli-input-yaml", "input_file", type=click.File("r"),
                         help="More parameters from a YAML file, with the API's names; options win."),
        ]
        if create:
            opts += [
                click.option("--starting-position", type=click.Choice(["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"],
                                                                      case_sensitive=False)),
                click.option("--starting-position-timestamp", type=click.DateTime(
                    ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"]),
                    help="With AT_TIMESTAMP (UTC unless an offset is given)."),
                click.option("--tag", "tags", multiple=True, type=_tag, metavar="KEY=VALUE", help="Repeatable."),
            ]
        else:
            opts += [click.option("--function", "function", metavar="NAME|ARN", help="Point it at another function.")]
        for opt in reversed(opts):
            f = opt(f)
        return f

    return deco


def build_params(opts: dict[str, Any], create: bool) -> dict[str, Any]:
    """Options (and --cli-input-yaml) as API parameters; an option wins over the file."""
    params: dict[str, Any] = {}
    input_file = opts.get("input_file")
    if input_file is not None:
        import yaml

        try:
            loaded = yaml.safe_load(input_file) or {}
        except yaml.YAMLError as exc:
            raise EsmctlError(f"{input_file.name}: not valid YAML: {exc}".replace("\n", " "), EXIT_USAGE) from exc
        if not isinstance(loaded, dict):
            raise EsmctlError(f"{input_file.name}: expected a mapping of API parameters", EXIT_USAGE)
        params.update(loaded)
    simple = {
        "batch_size": "BatchSize", "maximum_batching_window": "MaximumBatchingWindowInSeconds",
        "parallelization_factor": "ParallelizationFactor", "maximum_record_age": "MaximumRecordAgeInSeconds",
        "maximum_retry_attempts": "MaximumRetryAttempts", "tumbling_window": "TumblingWindowInSeconds",
        "bisect_batch_on_function_error": "BisectBatchOnFunctionError", "enabled": "Enabled",
    }
    for opt, name in simple.items():
        if opts.get(opt) is not None:
            params[name] = opts[opt]
    if opts.get("starting_position"):
        params["StartingPosition"] = opts["starting_position"].upper()
    ts = opts.get("starting_position_timestamp")
    if ts is not None:
        from datetime import timezone

        params["StartingPositionTimestamp"] = ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)
    if opts.get("on_failure") is not None:
        dest = opts["on_failure"]
        params["DestinationConfig"] = {"OnFailure": {"Destination": dest} if dest else {}}
    rbif = opts.get("report_batch_item_failures")
    if rbif is not None:
        params["FunctionResponseTypes"] = ["ReportBatchItemFailures"] if rbif else []
    if opts.get("filters"):
        params["FilterCriteria"] = {"Filters": [{"Pattern": p} for p in opts["filters"]]}
    elif opts.get("clear_filters"):
        params["FilterCriteria"] = {}
    if opts.get("maximum_concurrency") is not None:
        params["ScalingConfig"] = {"MaximumConcurrency": opts["maximum_concurrency"]}
    if opts.get("tags"):
        params["Tags"] = {**params.get("Tags", {}), **dict(opts["tags"])}
    if opts.get("function"):
        params["FunctionName"] = opts["function"]
    return params


def check(params: dict[str, Any], operation: str) -> None:
    from esmctl.schema import check_params

    problems = check_params(params, operation)
    if problems:
        raise EsmctlError("; ".join(f"{field or 'parameters'}: {msg}" for field, msg in problems), EXIT_USAGE)


def wait_options(f):
    f = click.option("--timeout", type=float, default=300, show_default=True,
                     help="Seconds to wait for the mapping to settle.")(f)
    f = click.option("--no-wait", is_flag=True, help="Return at once; don't wait for a transitional state to end.")(f)
    return f


def settle(settings: Settings, uuid: str, *, no_wait: bool, timeout: float, gone: bool = False) -> dict | None:
    """Wait (with a spinner on stderr) until the mapping leaves Creating/Updating/... or is gone."""
    from esmctl import render
    from esmctl.aws import explain

    if no_wait:
        return None
    verb = "deleted" if gone else "settled"
    with render.spinner(settings, f"waiting for {uuid} to be {verb}") as update, explain(f"waiting for {uuid}"):
        def show(m: dict | None) -> None:
            update(f"waiting for {uuid}: {m.get('State') if m else 'gone'}")

        return settings.aws.wait_for_mapping(uuid, gone=gone, timeout=timeout, on_poll=show)


@click.group("mapping")
def group() -> None:
    """Create, read, change and delete event source mappings one at a time."""


@group.command("create")
@click.option("--function", "function", required=True, metavar="NAME|ARN", help="Function (name, name:alias, ARN).")
@click.option("--source", required=True, metavar="ARN", help="Event source ARN (stream, queue, ...).")
@parameter_options(create=True)
@wait_options
@common_options
@pass_settings
def create(settings: Settings, function: str, source: str, no_wait: bool, timeout: float, **opts: Any) -> None:
    """Create a mapping and wait until it is Enabled (or Disabled)."""
    from esmctl import render
    from esmctl.aws import explain

    params = {**build_params(opts, create=True), "FunctionName": function, "EventSourceArn": source}
    check(params, "CreateEventSourceMapping")
    with explain(f"creating mapping of {function} to {source}"):
        created = settings.aws.create_mapping(params)
    final = settle(settings, created["UUID"], no_wait=no_wait, timeout=timeout)
    render.mapping(settings, final or created)


@group.command("get")
@click.argument("uuid")
@common_options
@pass_settings
def get(settings: Settings, uuid: str) -> None:
    """Show one mapping."""
    from esmctl import render

    render.mapping(settings, _existing(settings, uuid))


def _existing(settings: Settings, uuid: str) -> dict:
    """The mapping, or a clear not-found."""
    from esmctl.aws import explain

    with explain(f"reading mapping {uuid}"):
        found = settings.aws.get_mapping(uuid)
    if found is None:
        raise EsmctlError(f"mapping {uuid} not found")
    return found


def _update(settings: Settings, uuid: str, params: dict[str, Any], no_wait: bool, timeout: float) -> None:
    from esmctl import render
    from esmctl.aws import NotFound, explain

    with explain(f"updating mapping {uuid}"):
        try:
            updated = settings.aws.update_mapping(uuid, params)
        except NotFound as exc:
            # Not found is about the mapping unless the update names another function.
            if "FunctionName" not in params:
                raise EsmctlError(f"mapping {uuid} not found") from exc
            raise
    final = settle(settings, uuid, no_wait=no_wait, timeout=timeout)
    render.mapping(settings, final or updated)


@group.command("update")
@click.argument("uuid")
@parameter_options(create=False)
@wait_options
@common_options
@pass_settings
def update(settings: Settings, uuid: str, no_wait: bool, timeout: float, **opts: Any) -> None:
    """Change a mapping in place (it keeps its UUID and its stream position)."""
    params = build_params(opts, create=False)
    if not params:
        raise EsmctlError("nothing to update: give at least one option (see --help)", EXIT_USAGE)
    check({"UUID": uuid, **params}, "UpdateEventSourceMapping")
    _update(settings, uuid, params, no_wait, timeout)


def _switch(name: str, enabled: bool, summary: str) -> click.Command:
    """`mapping enable` and `mapping disable`: one update of Enabled, then the wait."""

    @click.argument("uuid")
    @wait_options
    @common_options
    @pass_settings
    def command(settings: Settings, uuid: str, no_wait: bool, timeout: float) -> None:
        _update(settings, uuid, {"Enabled": enabled}, no_wait, timeout)

    return group.command(name, help=summary)(command)


enable = _switch("enable", True, "Start polling the source again.")
disable = _switch("disable", False, "Stop polling; a stream mapping keeps its position.")


@group.command("delete")
@click.argument("uuid")
@click.option("-y", "--yes", is_flag=True, help="Don't ask: a stream mapping's checkpoint is lost for good.")
@wait_options
@common_options
@pass_settings
def delete(settings: Settings, uuid: str, yes: bool, no_wait: bool, timeout: float) -> None:
    """Delete a mapping (a stream mapping's position is lost for good)."""
    from esmctl import render
    from esmctl.aws import explain

    found = _existing(settings, uuid)
    what = f"{uuid} ({render.change_title_of(found)})"
    confirm(f"Delete mapping {what}? Its stream position cannot be recovered.", yes,
            f"refusing to delete mapping {uuid} without confirmation")
    with explain(f"deleting mapping {uuid}"):
        deleted = settings.aws.delete_mapping(uuid)
    settle(settings, uuid, no_wait=no_wait, timeout=timeout, gone=True)
    if settings.output in ("json", "yaml"):
        render.dump(settings, deleted)
    else:
        render.message(settings, f"deleted mapping {what}")


def select(settings: Settings, functions: str | tuple[str, ...] | list[str] | None,
           sources: tuple[str, ...] | list[str]) -> list[dict]:
    """Live mappings of some functions (any spelling; any qualifier unless one is given) and/or sources.

    One paginated listing; functions are matched here, not by the server-side filter, which
    some emulators match as an exact string against the spelling used at creation.
    """
    from esmctl import model
    from esmctl.aws import explain

    aws = settings.aws
    if isinstance(functions, str):
        functions = [functions]
    with explain("listing mappings"):
        if len(sources) == 1:
            items = aws.list_mappings(source=sources[0])
        else:
            items = aws.list_mappings()
            if sources:
                items = [m for m in items if m.get("EventSourceArn") in set(sources)]
        if functions:
            wanted = [aws.function_ref(f) for f in functions]
            items = [m for m in items
                     if any(_same_function(model.function_ref(m["FunctionArn"], "", ""), w) for w in wanted)]
    return items


def _same_function(live, want) -> bool:  # both model.FunctionRef
    if live.name != want.name:
        return False
    if want.qualifier and live.qualifier != want.qualifier:
        return False
    region_account = lambda ref: ref.arn.split(":")[3:5]  # noqa: E731
    return region_account(live) == region_account(want)


@click.command("list")
@click.option("--function", "function", metavar="NAME|ARN", help="Only this function (name, name:alias or ARN).")
@click.option("--source", "sources", multiple=True, metavar="ARN", help="Only this event source; repeatable.")
@common_options
@pass_settings
def list_cmd(settings: Settings, function: str | None, sources: tuple[str, ...]) -> None:
    """List mappings (one paginated listing)."""
    from esmctl import render

    render.mappings(settings, select(settings, function, sources))


group.add_command(list_cmd)
