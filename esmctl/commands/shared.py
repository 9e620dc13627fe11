"""What the commands share: the global and fleet options, reading specs, completion, and running writes under
Ctrl-C.

Commands import from here, never from one another.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

from esmctl.cli import option_check
from esmctl.context import (
    OUTPUT_FORMATS,
    Settings,
    check_endpoint_url,
    check_query_output,
    check_region,
    compile_query,
)
from esmctl.errors import EXIT_INTERRUPTED, EsmctlError

CACHE_SECONDS = 10  # how long completion trusts its listing


# -- the global options, accepted after the subcommand too -------------------------------------------
pass_settings = click.make_pass_decorator(Settings, ensure=True)


def source_arns(_ctx: click.Context, _param: click.Parameter, value: tuple[str, ...],
                placeholders: bool = False) -> tuple[str, ...]:
    """--source ARN: an ARN, else a usage error (a typo would select nothing and read as "no mappings")."""
    from esmctl import arns

    for given in value:
        if placeholders and "${" in given:
            continue  # pause/resume: filled for each target with --targets (fleet_runs); refused without (pause.py)
        if given.startswith(("kafka://", "kafka:")):
            raise click.BadParameter(f"{given!r}: a self-managed Kafka mapping has no source ARN to select it by: "
                                     "select it with --function")
        if arns.parse(given) is None:
            raise click.BadParameter(f"{given!r} is not an ARN (a stream, consumer, queue, table stream, cluster or "
                                     "broker: arn:aws:kinesis:us-east-1:123456789012:stream/orders, …)")
    return value


def usage_checked(settings: Settings) -> None:
    """--query with a table (context.check_query_output) as a usage error."""
    try:
        check_query_output(settings)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc


def _set_output(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        settings = ctx.ensure_object(Settings)
        settings.output, settings.output_given = value, True
        usage_checked(settings)


def _set_query(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is None:
        return
    settings = ctx.ensure_object(Settings)
    settings.query = option_check(compile_query)(ctx, param, value)
    if not settings.output_given:
        settings.output = "json"
    usage_checked(settings)


def _set_no_color(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(Settings).color = False


def _set_verbose(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(Settings).verbose = True


def _set_aws(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is None:
        return
    if param.name == "endpoint_url":
        option_check(check_endpoint_url)(ctx, param, value)
    if param.name == "region":
        option_check(check_region)(ctx, param, value)
    settings = ctx.ensure_object(Settings)
    if settings._aws is not None:
        raise click.UsageError(f"--{param.name.replace('_', '-')} came too late: AWS was already contacted")
    setattr(settings, param.name, value)
    if param.name == "region":
        settings.region_from_flag = True


def common_options(f: Callable[..., Any] | None = None, *, aws: bool = True) -> Any:
    """The global options, accepted after the subcommand too, as the AWS CLI does
    (`esmctl list --region eu-west-1 -o json`). `aws=False`: a command that calls no AWS API (the
    sandbox, which has a --region of its own; `show`) takes only -o, --query, --no-color and -v."""
    if f is None:
        return lambda g: common_options(g, aws=aws)
    for name, text in (("--profile", "AWS profile."), ("--region", "AWS region."),
                       ("--endpoint-url", "Send AWS calls here, e.g. the sandbox.")) if aws else ():
        f = click.option(name, default=None, expose_value=False, callback=_set_aws, is_eager=True, help=text)(f)
    f = click.option("-o", "--output", type=click.Choice(OUTPUT_FORMATS), default=None, expose_value=False,
                     callback=_set_output, is_eager=True, help="Output format.")(f)
    f = click.option("--query", default=None, metavar="JMESPATH", expose_value=False, callback=_set_query,
                     is_eager=True, help="Print only this part of the JSON or YAML document (as the AWS CLI).")(f)
    f = click.option("--no-color", is_flag=True, expose_value=False, callback=_set_no_color,
                     help="No colour (also NO_COLOR).")(f)
    f = click.option("-v", "--verbose", is_flag=True, expose_value=False, callback=_set_verbose,
                     help="Show tracebacks and AWS call counts.")(f)
    return f


def _set_fleet(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    if value is None or value == ():
        return
    fleet = ctx.ensure_object(Settings).fleet
    if param.name == "region_order":
        value = tuple(r.strip() for r in value.split(",") if r.strip())
        if not value:
            raise click.BadParameter("give regions separated by commas, e.g. us-east-1,eu-west-1", ctx=ctx, param=param)
        for region in value:
            option_check(check_region)(ctx, param, region)
    setattr(fleet, param.name, value)


def targets_option(f: Callable[..., Any]) -> Any:
    return click.option("--targets", type=click.Path(dir_okay=False, allow_dash=True), default=None, metavar="FILE",
                        expose_value=False, callback=_set_fleet,
                        help="Run over the accounts and regions of this targets file (or a spec's `targets:`), "
                             "in parallel.")(f)


def fleet_options(f: Callable[..., Any]) -> Any:
    """--targets FILE and how to run its targets (StackSets' operation preferences): shared by plan, diff,
    apply, status and doctor. Without --targets (or a spec's `targets:`) a command works on one account and
    region, as before."""
    f = click.option("--region-order", default=None, metavar="R1,R2,...", expose_value=False, callback=_set_fleet,
                     help="With --targets: one region after the other, in this order (all targets of the first "
                          "before the next); regions not named follow.")(f)
    f = click.option("--failure-tolerance", type=click.IntRange(0), default=None, metavar="N", expose_value=False,
                     callback=_set_fleet, help="With --targets: start no more targets once more than N have "
                                               "failed (default: every target runs).")(f)
    f = click.option("--max-concurrency", type=click.IntRange(1, 64), default=None, metavar="N", expose_value=False,
                     callback=_set_fleet, help="With --targets: targets at once (default: one per account and "
                                               "region, up to 16).")(f)
    return targets_option(f)


_TARGETS_KEY = re.compile(r"^targets[ \t]*:", re.MULTILINE)


def fleet_mode(settings: Settings, files: Sequence[str] = ()) -> bool:
    """Whether the command runs over targets: --targets FILE, or a spec file with a top-level `targets:` (a
    spec on standard input cannot name them). The fleet's options without targets are a usage error."""
    fleet = settings.fleet
    named = spec_naming_targets(files)
    if named and fleet.targets and not fleet.in_spec:
        raise click.UsageError(f"{named} has targets of its own: drop --targets {fleet.targets} (or its targets:)")
    if named:
        fleet.targets, fleet.in_spec = named, True
    if fleet.targets:
        return True
    given = [name for name, value in (("--max-concurrency", fleet.max_concurrency),
                                      ("--failure-tolerance", fleet.failure_tolerance),
                                      ("--region-order", fleet.region_order)) if value]
    if fleet.failure_tolerance == 0 and "--failure-tolerance" not in given:
        given.append("--failure-tolerance")
    if given:
        raise click.UsageError(f"{', '.join(given)} needs --targets FILE")
    return False


def spec_naming_targets(files: Sequence[str]) -> str | None:
    """The spec file with a top-level `targets:` (a look at its text; it is read properly later), if any."""
    from esmctl import spec

    named = [path for path in spec.distinct(files) if path != "-" and _names_targets(path)]  # each file once
    if len(named) > 1:
        raise click.UsageError(f"{' and '.join(named)} both have targets: only one file of a spec may name them")
    return named[0] if named else None


def _names_targets(path: str) -> bool:
    """A cheap look for a top-level `targets:` key (the spec is read properly later)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return bool(_TARGETS_KEY.search(fh.read()))
    except OSError:
        return False  # said by the spec's loading, with the others


# -- options of the spec commands -------------------------------------------------------------------
def _check_vars(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    """--var NAME=VALUE: a pair spec.parse_vars refuses is a usage error (252), not a problem of the spec."""
    if not value:
        return value
    from esmctl import spec
    from esmctl.errors import UsageProblem

    try:
        spec.parse_vars(value)
    except UsageProblem as exc:
        raise click.BadParameter(str(exc).removeprefix("--var "), ctx=ctx, param=param) from None
    return value


var_option = click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", callback=_check_vars,
                          help="Value for a ${NAME} placeholder; repeatable (then the environment).")
prune_option = click.option("--prune", is_flag=True,
                            help="Also plan deleting live mappings of the spec's functions that the spec does not "
                                 "list (apply carries it out).")
files_argument = click.argument("files", nargs=-1, required=True, type=click.Path(allow_dash=True))


class Seconds(click.ParamType):
    """A number of seconds: finite and not negative."""

    name = "seconds"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not math.isfinite(seconds) or seconds < 0:
            self.fail(f"{value!r}: give a finite number of seconds, 0 or more", param, ctx)
        return seconds


margin_option = click.option(
    "--handoff-margin", type=Seconds(), default=60, show_default=True,
    help="A hand-off starts the new mapping this many seconds before the old one's position.")


def load_spec(settings: Settings, files: tuple[str, ...], variables: tuple[str, ...]):  # -> spec.Spec
    from esmctl import spec

    loaded = spec.load_files(files, spec.parse_vars(variables))
    if loaded.region and loaded.region != settings.region:
        # The spec's region (its `region:`, else its ARNs') wins over the environment's default;
        # a --region that disagrees is a mistake.
        where = loaded.region_where or ", ".join(files)
        if settings.region_from_flag:
            raise EsmctlError(f"{where}: region: the spec is for region {loaded.region}, but --region is "
                              f"{settings.region}")
        if settings._aws is not None:
            raise EsmctlError(f"{where}: region: the spec is for region {loaded.region}, but this run uses "
                              f"{settings.region}")
        settings.region = loaded.region
    return loaded


def say_warnings(specs: Iterable[Any]) -> None:
    """The specs' warnings (the filters' checks: a pattern that can never match, say), on stderr before the plan,
    as validate says them and Terraform's plan says its warnings: once each, however many targets share them."""
    for line in dict.fromkeys(w for loaded in specs for m in loaded.mappings for w in m.warnings):
        click.echo(line, err=True)


def say(text: str) -> None:
    """A line on stderr from a signal handler: through sys.stderr (a progress bar at a terminal has it
    print above the bar), or straight to the file when Ctrl-C came in the middle of another write."""
    try:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
    except (RuntimeError, OSError, ValueError, AttributeError):
        try:
            os.write(2, (text + "\n").encode())
        except OSError:  # stderr gone (its reader ended, or closed): the results on stdout still say what happened
            pass


@contextmanager
def ctrl_c(settings: Settings, interrupt: Any) -> Iterator[None]:
    """While an apply writes: the first Ctrl-C stops new changes and steps and lets the calls in flight
    return, so that the results can say what exists; the second ends esmctl at once."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():  # only the main thread gets signals
        yield
        return
    from esmctl.commands import output

    def on_sigint(signum: int, _frame: Any) -> None:
        # SIGTERM (CI cancelling a job, `timeout`, Kubernetes) as Ctrl-C: the results still say what exists, and the
        # exit code is an interruption's (130), as the JSON documents' exitCode says
        if not interrupt:
            interrupt.set()
            say("esmctl: interrupted: finishing the calls in flight (Ctrl-C again to abort at once)"
                if signum == signal.SIGINT else
                "esmctl: terminated: finishing the calls in flight (a second signal aborts at once)")
            return
        say("esmctl: aborted: the calls in flight were abandoned; `esmctl plan` shows what exists now")
        try:
            sys.stdout.flush()
        except (RuntimeError, OSError, ValueError):
            pass
        if output.animated(settings):
            os.write(2, b"\x1b[?25h")  # the progress bar hid the cursor
        os._exit(EXIT_INTERRUPTED)

    previous = signal.signal(signal.SIGINT, on_sigint), signal.signal(signal.SIGTERM, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])


def interrupted_summary(results: list[Any], rerun: str = "re-run apply") -> str:
    """`interrupted: 3 of 10 change(s) done, 2 interrupted, 5 not started; re-run apply to finish`."""
    from collections import Counter

    count = Counter(r.status.value for r in results)
    parts = [f"{count['done']} of {len(results)} change(s) done"]
    parts += [f"{count[s]} {s.replace('-', ' ')}" for s in ("interrupted", "not-started", "failed", "skipped")
              if count[s]]
    return f"interrupted: {', '.join(parts)}; {rerun} to finish"


# -- dynamic completion ------------------------------------------------------------------------------
def _listing(ctx: click.Context) -> list[dict]:
    """The region's mappings for completion: one listing, cached for a few seconds; nothing on error."""
    # While completing, click parses without running the root command: its options are in its params; those given
    # after the subcommand (`mapping get --region X`) in the Settings their callbacks filled, which come first.
    root, after = ctx.find_root().params, ctx.find_object(Settings) or Settings()
    settings = Settings(**{name: getattr(after, name) or root.get(name) for name in ("profile", "region",
                                                                                     "endpoint_url")})
    key = f"{settings.profile or os.environ.get('AWS_PROFILE')}|{settings.region or os.environ.get('AWS_REGION')}|" \
          f"{settings.endpoint_url or os.environ.get('AWS_ENDPOINT_URL')}"
    cache_dir = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "esmctl")
    path = os.path.join(cache_dir, "completion.json")
    try:
        with open(path, encoding="utf-8") as fh:
            cached = json.load(fh)
        if cached.get("key") == key and time.time() - cached.get("at", 0) < CACHE_SECONDS:
            return cached["mappings"]
    except (OSError, ValueError):
        pass
    try:
        mappings = [{"UUID": m["UUID"], "FunctionArn": m.get("FunctionArn", ""),
                     "EventSourceArn": m.get("EventSourceArn", "")} for m in settings.aws.list_mappings()]
    except Exception:  # noqa: BLE001 - completion must never print an error into the shell
        return []
    try:
        os.makedirs(cache_dir, exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            json.dump({"key": key, "at": time.time(), "mappings": mappings}, fh)
    except OSError:
        pass
    return mappings


def complete_uuid(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list:
    from click.shell_completion import CompletionItem

    from esmctl.mapping.identity import short_arn

    return [CompletionItem(m["UUID"], help=f"{short_arn(m['FunctionArn'])} <- {short_arn(m['EventSourceArn'])}")
            for m in _listing(ctx) if m["UUID"].startswith(incomplete)]


def complete_function(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list:
    from esmctl.mapping.identity import short_arn

    names = sorted({short_arn(m["FunctionArn"]) for m in _listing(ctx)})
    return [n for n in names if n.startswith(incomplete)]


