"""`esmctl status` and `esmctl doctor`: are the mappings keeping up, and are they set up to?"""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from esmctl.commands import output
from esmctl.commands.shared import (
    common_options,
    complete_function,
    fleet_mode,
    fleet_options,
    pass_settings,
    source_arns,
    var_option,
)
from esmctl.context import Settings
from esmctl.errors import EsmctlError, Interrupted, Outcome
from esmctl.views.mappings import change_title_of, mapping_title
from esmctl.views.tables import ident, prose, terminal_table


class Duration(click.ParamType):
    name = "duration"

    def __init__(self, minimum: float = 0, why: str = "") -> None:
        self.minimum, self.why = minimum, why  # seconds

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        from datetime import timedelta

        if isinstance(value, timedelta):
            return value
        from esmctl.status import parse_duration

        try:
            parsed = parse_duration(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        if parsed.total_seconds() < self.minimum:
            self.fail(f"{value!r} is too short: at least {self.minimum:g}s{self.why}", param, ctx)
        return parsed


class MaxLag(click.ParamType):
    """A lag limit with its unit: a duration (`5m`, `300s`) for the sources whose lag is an age, a
    number of records (`50000records`, `50000r`) for Kafka's OffsetLag. A bare number is refused: it
    could be either, and the wrong guess makes the limit check nothing."""

    name = "lag"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        import re

        from esmctl.status import parse_duration

        text = str(value).strip().lower()
        records = re.fullmatch(r"(\d+)\s*(r|records?)", text)
        if records:
            return ("records", int(records.group(1)))
        if re.fullmatch(r"\d+(\.\d+)?\s*(ms|s|m|h|d)", text):
            return ("age", parse_duration(text))
        if re.fullmatch(r"\d+(\.\d+)?", text):
            self.fail(f"{value!r} needs a unit: {text}s or {text}m for an age (streams, queues), {text}records "
                      "for Kafka's OffsetLag", param, ctx)
        self.fail(f"{value!r}: give a duration with its unit (90s, 5m, 1h) or a number of records (50000records)",
                  param, ctx)




def scope(settings: Settings, files: tuple[str, ...], functions: tuple[str, ...], sources: tuple[str, ...],
          variables: tuple[str, ...], loaded: Any = None) -> list[tuple[Any, dict | None, bool]]:
    """What `status` and `doctor` are about, as (Health, live mapping or None, expect enabled).

    With FILES, the spec's mappings (narrowed to --function/--source when given), a missing one with
    no live mapping. Without, the live mappings of the functions and sources asked for; a function
    or source asked for that has none is a row of its own that is unhealthy, and a function that
    does not exist is an error (exit 1): a health gate must not pass on a misspelt name. `loaded`: the spec
    of FILES read and checked already (a target's, over targets), else they are read here.
    """
    from esmctl import status
    from esmctl.aws.errors import explain
    from esmctl.listing import matches_function, reads_one_of, select

    if files:
        rows = _spec_rows(settings, files, variables, loaded)
        if functions:
            wanted = [settings.aws.function_ref(f) for f in functions]
            rows = [r for r in rows if matches_function(r[0].function_arn, wanted)]
        if sources:
            rows = [r for r in rows if reads_one_of(r[0].source_arn, sources)]
        return rows
    live = select(settings, functions or None, sources)
    rows = [(status.from_live(m), m, True) for m in live]
    for name in functions:
        if not any(matches_function(m["FunctionArn"], [settings.aws.function_ref(name)]) for m in live):
            with explain(f"looking up function {name}"):
                found = settings.aws.get_function(name)
            if found is None:
                raise EsmctlError(f"function {name} not found (in {settings.aws.region})")
            why = status.NO_MAPPINGS_ON_THE_SOURCES if sources else status.NO_MAPPINGS_OF_FUNCTION
            rows.append((status.Health(None, found["Configuration"]["FunctionArn"], None, "", problems=[why]), None,
                         True))
    for source in sources:
        if not any(reads_one_of(m.get("EventSourceArn"), [source]) for m in live):
            why = status.NOT_READ_BY_THE_FUNCTIONS if functions else status.NO_MAPPINGS_OF_SOURCE
            rows.append((status.Health(None, "", source, "", problems=[why]), None, True))
    return rows


def _spec_rows(settings: Settings, files: tuple[str, ...], variables: tuple[str, ...],
               loaded: Any = None) -> list[tuple[Any, dict | None, bool]]:
    """(Health, live mapping or None, expect enabled) for each mapping of the spec."""
    from esmctl import reconcile, status
    from esmctl.aws.errors import explain
    from esmctl.commands.shared import load_spec
    from esmctl.mapping import compare

    if loaded is None:
        loaded = load_spec(settings, files, variables)
    with explain("resolving functions and consumers"):
        desired = reconcile.resolve(settings.aws, loaded)
    with explain("listing mappings"):
        listing = settings.aws.list_mappings()
    by_key = {compare.live_mapping(m).key: m for m in listing if m.get("State") != "Deleting"}
    rows = []
    for d in desired:
        m = by_key.get(d.key)
        h = status.from_live(m) if m else status.Health(None, d.key.function, d.source_arn or d.key.source, "")
        rows.append((h, m, d.enabled))
    return rows


def gather_health(settings: Settings, files: tuple[str, ...], functions: tuple[str, ...], sources: tuple[str, ...],
                  variables: tuple[str, ...], window, limits, progress: bool = True,
                  require_data: bool = False, loaded: Any = None) -> list[Any]:
    """The assessed status.Health of what `scope` finds, in the order status lists them (status.ordered)."""
    from contextlib import nullcontext

    from esmctl import status
    from esmctl.aws.errors import explain

    rows = scope(settings, files, functions, sources, variables, loaded)
    spinner = output.spinner(settings, "reading lag and mapping metrics from CloudWatch") if progress \
        else nullcontext()  # under --watch the live table is the progress
    with spinner, explain("reading metrics from CloudWatch"):
        status.collect_metrics(settings.aws, [(h, m) for h, m, _ in rows], window)
    with explain("reading the tags of Disabled mappings (paused by esmctl pause?)"):
        status.read_pauses(settings.aws, rows)
    return status.ordered([status.assess(h, expect_enabled=enabled, limits=limits, require_data=require_data)
                           for h, _, enabled in rows])


# FUNCTION and SOURCE say which mapping a row is (broken over lines when long), the VERDICT is what the
# exit code is about, LAST RESULT and LAG why: those are never left out. The rest goes, least telling
# first, as the terminal narrows.
STATUS_COLUMNS = [
    ident("FUNCTION", "Function", keep=True, breakable=True, min_width=10),
    ident("SOURCE", "Source", keep=True, breakable=True, min_width=14),
    ident("STATE", "State", priority=60), prose("REASON", "Reason", priority=10),
    prose("LAST RESULT", "LastResult", keep=True), prose("LAG", "Lag", keep=True),
    prose("METRICS", "Metrics", priority=20), prose("VERDICT", "Verdict", keep=True, min_width=20),
]


def status_rows(healths: list[Any], trend: bool = False, limits: Any = None) -> list[dict[str, str]]:
    """Assessed status.Health values as rows of STATUS_COLUMNS; with trend, each lag's sparkline, a full bar
    being the --max-lag limit (status.Limits), else the largest lag of the rows."""
    from esmctl.mapping.identity import short_arn
    from esmctl.status import Limits, format_lag, sparkline, sparkline_scales

    scales = sparkline_scales(healths, limits or Limits()) if trend else {}
    rows = []
    for h in healths:
        metrics = ", ".join(f"{k.removesuffix('EventCount')}={v:g}" for k, v in h.metrics.items())
        lag = format_lag(h.lag)
        line = sparkline(h.lag, scales.get(h.lag.unit)) if trend and h.lag is not None else ""
        if line:
            lag += f" {line}"
        rows.append({"Function": short_arn(h.function_arn) or "-", "Source": short_arn(h.source) or "-",
                     "State": h.state,
                     "Reason": h.reason or "", "LastResult": h.last_result or "", "Lag": lag, "Metrics": metrics,
                     "Verdict": _verdict(h)})
    return rows


def _verdict(h: Any) -> str:
    from esmctl import status

    verdict = h.verdict
    if verdict == status.UNHEALTHY:
        return "UNHEALTHY: " + "; ".join(h.problems)
    if verdict == status.PAUSED:
        return f"paused since {h.paused.since}" + (f" ({h.paused.reason})" if h.paused.reason else "")
    if verdict == status.LAGGING:
        return f"lagging: {h.lagging}"
    if verdict == status.NO_DATA:
        return "no data: no lag in the window to judge (--require-data makes it unhealthy)"
    return "ok"


def _status_renderable(healths: list[Any], width: int, limits: Any = None):  # -> a rich renderable, redrawn by --watch
    from esmctl import status

    title = status.summary(healths) if healths else "no mappings"
    title += f" — {time.strftime('%H:%M:%S')}, Ctrl-C to stop"
    return terminal_table(status_rows(healths, trend=True, limits=limits), STATUS_COLUMNS, width, title=title)


def _print_status(settings: Settings, healths: list[Any], trend: bool = False, limits: Any = None,
                  summary: bool = True) -> None:
    from esmctl import status

    if settings.output in ("json", "yaml"):
        output.dump(settings, [h.document() for h in healths])
    elif not healths:
        click.echo("No mappings found.", err=True)
    else:
        output.table(settings, status_rows(healths, trend and sys.stdout.isatty(), limits), STATUS_COLUMNS)
        if summary:  # --watch says it on stderr with the time
            click.echo(status.summary(healths) + ".")


@click.command("status")
@click.argument("files", nargs=-1, type=click.Path(allow_dash=True))
@click.option("--function", "functions", multiple=True, metavar="NAME|ARN",
              shell_complete=complete_function, help="Only these functions; repeatable.")
@click.option("--source", "sources", multiple=True, metavar="ARN", callback=source_arns,
              help="Only these sources; repeatable.")
@click.option("--window", type=Duration(60, " (CloudWatch's datapoints are a minute each)"), default="15m",
              show_default=True,
              help="Lag is the Maximum over this window (90s, 15m, 1h); over 15m, a terminal shows its trend.")
@click.option("--max-lag", "max_lag", multiple=True, type=MaxLag(), metavar="LAG",
              help="Unhealthy when lag is over this: a duration (5m, 300s) for streams and queues, a number of "
                   "records (50000records, 50000r) for Kafka; a unit is required. Repeatable.")
@click.option("--max-iterator-age", type=Duration(), hidden=True, help="Same as --max-lag with a duration.")
@click.option("--require-data", is_flag=True,
              help="Unhealthy when a source has no lag data in the window (a gate that must not pass on silence).")
@click.option("--watch", is_flag=True, help="Refresh in place until Ctrl-C.")
@click.option("--interval", type=Duration(2, " (each refresh lists the mappings and reads CloudWatch)"), default="10s",
              show_default=True, help="Refresh interval with --watch (2s or more); with -o json, a line each.")
@var_option
@fleet_options
@common_options
@pass_settings
def status_cmd(settings: Settings, files: tuple[str, ...], functions: tuple[str, ...], sources: tuple[str, ...], window,
               max_lag, max_iterator_age, require_data: bool, watch: bool, interval,
               variables: tuple[str, ...]) -> Outcome:
    """Are the mappings keeping up? State, LastProcessingResult and each source's lag, with a verdict.

    Lag is IteratorAge for Kinesis and DynamoDB (per function), the age of the oldest message (and the
    messages waiting) for SQS, OffsetLag in records for Kafka — the Maximum over --window.
    Exit 0 when all are healthy, 3 when any is not, 1 on error. Healthy: State Enabled (or Disabled
    where the spec says Enabled: false), LastProcessingResult not "PROBLEM…", no dropped events, lag
    under --max-lag. A mapping `esmctl pause` disabled is "paused", not unhealthy, until `esmctl resume`.
    What is wrong comes first (UNHEALTHY, lagging — over half of --max-lag, or a minute behind without
    it —, no data where --max-lag asks, paused, ok), then by function and source, and a summary line.
    With FILES, the spec's mappings (missing ones are unhealthy: not created).
    A --function or --source with no mappings is unhealthy; a --function that does not exist is an error.
    """
    from esmctl import status
    from esmctl.status import Limits

    ages = [v for k, v in max_lag if k == "age"] + ([max_iterator_age] if max_iterator_age else [])
    records = [v for k, v in max_lag if k == "records"]
    limits = Limits(age=min(ages) if ages else None, records=min(records) if records else None)
    trend = window.total_seconds() > 15 * 60

    def once() -> list[Any]:
        return gather_health(settings, files, functions, sources, variables, window, limits, progress=not watch,
                             require_data=require_data)

    def code(healths: list[Any]) -> Outcome:
        return Outcome.UNHEALTHY if any(not h.healthy for h in healths) else Outcome.OK

    if fleet_mode(settings, files):
        if watch:
            raise click.UsageError("--watch shows one account and region: it does not go with --targets")
        from esmctl.commands import fleet_runs

        return fleet_runs.health(settings, files, variables, fleet_runs.HealthCheck(
            "status", lambda own, loaded: gather_health(own, files, functions, sources, (), window, limits,
                                                        progress=False, require_data=require_data, loaded=loaded),
            healthy=lambda healths: code(healths) == Outcome.OK, key="mappings", document=lambda h: h.document(),
            rows=status_rows, columns=STATUS_COLUMNS, empty="No mappings found.", detail=status.summary))
    if not watch:
        healths = once()
        _print_status(settings, healths, trend, limits)
        return code(healths)
    healths: list[Any] | None = None  # None until the first refresh ends
    try:
        if sys.stdout.isatty() and output.animated(settings) and settings.output == "table":
            from rich.live import Live

            with Live(console=output.stdout_console(settings), auto_refresh=False) as live:
                while True:
                    healths = once()
                    # the width read at each refresh, so that a resized terminal gets a table that fits
                    live.update(_status_renderable(healths, live.console.width, limits), refresh=True)
                    time.sleep(interval.total_seconds())
        else:
            while True:  # CI: plain output, one block per refresh; JSON Lines with -o json
                healths = once()
                if settings.output == "json":
                    from esmctl.views.document import json_text, queried

                    click.echo(json_text(queried(settings, [h.document() for h in healths]), separators=(",", ":")))
                else:
                    _print_status(settings, healths, limits=limits, summary=False)
                click.echo(f"# {time.strftime('%H:%M:%S')}: {status.summary(healths)}", err=True)
                sys.stdout.flush()
                time.sleep(interval.total_seconds())
    except KeyboardInterrupt:
        if healths is None:  # no refresh ended: no verdict to exit with (0 would say healthy, unmeasured)
            raise Interrupted("interrupted before the first refresh ended: no verdict") from None
    return code(healths)


@click.command("doctor")
@click.argument("files", nargs=-1, type=click.Path(allow_dash=True))
@click.option("--function", "functions", multiple=True, metavar="NAME|ARN",
              shell_complete=complete_function, help="Check this function's mappings (with FILES: only its); "
                                                      "repeatable.")
@click.option("--source", "sources", multiple=True, metavar="ARN", callback=source_arns,
              help="Only these sources; repeatable.")
@var_option
@fleet_options
@common_options
@pass_settings
def doctor_cmd(settings: Settings, files: tuple[str, ...], functions: tuple[str, ...], sources: tuple[str, ...],
               variables: tuple[str, ...]) -> Outcome:
    """Check mappings for what the Lambda guide warns about: concurrency, stalled shards,
    permissions, region, SQS visibility timeout, an OnFailure destination that does not exist, two
    qualifiers of one function on one source. Exit 3 on any error-severity finding.

    The mappings are those `status` would show for the same arguments (without any, every mapping in
    the region): a spec's mapping that does not exist, or a function or source with no mappings, is an
    error finding (exit 3); a function that does not exist is an error (exit 1).
    """
    from esmctl.doctor import ERROR

    def healthy(findings: list[Any]) -> bool:
        return not any(f.severity == ERROR for f in findings)

    if fleet_mode(settings, files):
        from esmctl.commands import fleet_runs

        return fleet_runs.health(settings, files, variables, fleet_runs.HealthCheck(
            "doctor", lambda own, loaded: doctor_findings(own, files, functions, sources, (), spinner=False,
                                                          loaded=loaded)[0],
            healthy=healthy, key="findings", document=lambda f: f.document(), rows=doctor_rows,
            columns=DOCTOR_COLUMNS, empty="No findings.",
            detail=lambda found: f"{len(found)} finding(s), {sum(f.severity == ERROR for f in found)} error(s)"))
    findings, checked = doctor_findings(settings, files, functions, sources, variables)
    if settings.output in ("json", "yaml"):
        output.dump(settings, [f.document() for f in findings])
    elif not findings:
        click.echo(f"No findings for {checked} mapping(s).", err=True)
    else:
        output.table(settings, doctor_rows(findings), DOCTOR_COLUMNS)
    return Outcome.OK if healthy(findings) else Outcome.UNHEALTHY


def doctor_findings(settings: Settings, files: tuple[str, ...], functions: tuple[str, ...], sources: tuple[str, ...],
                    variables: tuple[str, ...], spinner: bool = True, loaded: Any = None) -> tuple[list[Any], int]:
    """doctor's findings for the mappings `status` would show (the missing ones first), and how many live
    mappings were checked."""
    from contextlib import nullcontext

    from esmctl.doctor import check_missing, diagnose
    from esmctl.status import NOT_CREATED

    rows = scope(settings, files, functions, sources, variables, loaded)
    live = [m for _, m, _ in rows if m is not None]
    with output.spinner(settings, f"checking {len(live)} mapping(s)") if spinner else nullcontext():
        findings = diagnose(settings.aws, live)
    fix = f"create it: esmctl apply {' '.join(files)}" if files else \
        "create one (esmctl mapping create), or check the name"
    missing = [f for h, m, _ in rows if m is None
               for f in check_missing(h.function_arn, h.source_arn, h.problems[0] if h.problems else NOT_CREATED, fix)]
    return missing + findings, len(live)


# A finding cannot be acted on without its mapping (broken over lines when long), what was found and the
# fix: those stay; the check's name goes first.
DOCTOR_COLUMNS = [
    ident("SEVERITY", "Severity", keep=True), ident("MAPPING", "Mapping", keep=True, breakable=True, min_width=16),
    ident("CHECK", "Check", priority=50), prose("FINDING", "Finding", keep=True, min_width=20),
    prose("FIX", "Fix", keep=True, min_width=20),
]


def doctor_rows(findings: list[Any]) -> list[dict[str, str]]:
    """doctor.Findings as rows of DOCTOR_COLUMNS."""

    return [{"Severity": f.severity.upper(), "Check": f.check,
             "Mapping": change_title_of(f.mapping) if f.mapping.get("UUID") else
             mapping_title(f.mapping.get("FunctionArn"), f.mapping.get("EventSourceArn")),
             "Finding": f.finding, "Fix": f.fix} for f in findings]


COMMANDS = [status_cmd, doctor_cmd]
