"""The settings every command shares, and the options that may follow any subcommand.

Kept free of botocore and rich so that `esmctl --help` stays fast.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

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


pass_settings = click.make_pass_decorator(Settings, ensure=True)


def _set_output(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        settings = ctx.ensure_object(Settings)
        settings.output, settings.output_given = value, True
        check_query_output(settings)


def compile_query(ctx: click.Context | None, param: click.Parameter | None, value: str | None) -> Any:
    """--query: a JMESPath expression (jmespath comes with botocore), compiled once; a bad one is a usage error."""
    if value is None:
        return None
    import jmespath
    import jmespath.exceptions

    try:
        return jmespath.compile(value)
    except jmespath.exceptions.JMESPathError as exc:
        if isinstance(exc, jmespath.exceptions.IncompleteExpressionError):
            why = "it ends too soon"
        else:
            why = getattr(exc, "message", None) or getattr(exc, "msg", "")
            if getattr(exc, "lex_position", None) is not None:
                why += f" at character {exc.lex_position + 1}"
        raise click.BadParameter(f"{value!r} is not a JMESPath expression: {why}", ctx=ctx, param=param) from exc


def _set_query(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is None:
        return
    settings = ctx.ensure_object(Settings)
    settings.query = compile_query(ctx, param, value)
    if not settings.output_given:
        settings.output = "json"
    check_query_output(settings)


def check_query_output(settings: Settings) -> None:
    """--query picks from a document: it goes with -o json or -o yaml, not with a table."""
    if settings.query is not None and settings.output not in ("json", "yaml"):
        raise click.UsageError(f"--query applies to -o json or -o yaml, not to -o {settings.output}")


def _set_no_color(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(Settings).color = False


def _set_verbose(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(Settings).verbose = True


def check_endpoint_url(ctx: click.Context | None, param: click.Parameter | None, value: str | None) -> str | None:
    """--endpoint-url: an http(s) URL with a host, refused as a usage error before anything is sent."""
    if value is None:
        return None
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
        host, _port = parts.hostname, parts.port  # .port raises on a port out of range
    except ValueError:
        host = None
    if parts.scheme not in ("http", "https") or not host:
        raise click.BadParameter(f"{value!r} is not an endpoint URL: give http(s)://HOST[:PORT], e.g. "
                                 "http://127.0.0.1:4566", ctx=ctx, param=param)
    return value


def check_region(ctx: click.Context | None, param: click.Parameter | None, value: str) -> str:
    """--region: a region botocore's endpoint data lists (a typo would otherwise list nothing, and exit 0)."""
    from esmctl import regions

    why = regions.problem(value)
    if why:
        raise click.BadParameter(why, ctx=ctx, param=param)
    return value


def _set_aws(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is None:
        return
    if param.name == "endpoint_url":
        check_endpoint_url(ctx, param, value)
    if param.name == "region":
        check_region(ctx, param, value)
    settings = ctx.ensure_object(Settings)
    if settings._aws is not None:
        raise click.UsageError(f"--{param.name.replace('_', '-')} came too late: AWS was already contacted")
    setattr(settings, param.name, value)
    if param.name == "region":
        settings.region_from_flag = True


def common_options(f: Callable[..., Any] | None = None, *, aws: bool = True) -> Any:
    """The global options, accepted after the subcommand too, as the AWS CLI does
    (`esmctl list --region eu-west-1 -o json`). `aws=False`: a command that calls no AWS API (the
    sandbox, which has a --region of its own) takes only -o, --no-color and -v."""
    if f is None:
        return lambda g: common_options(g, aws=aws)
    for name, text in (("--profile", "AWS profile."), ("--region", "AWS region."),
                       ("--endpoint-url", "Send AWS calls here, e.g. the sandbox.")) if aws else ():
        f = click.option(name, default=None, expose_value=False, callback=_set_aws, is_eager=True, help=text)(f)
    f = click.option("-o", "--output", type=click.Choice(OUTPUT_FORMATS), default=None, expose_value=False,
                     callback=_set_output, is_eager=True, help="Output format.")(f)
    if aws:
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
            check_region(ctx, param, region)
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
    named = [path for path in files if path != "-" and _names_targets(path)]
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


def confirm(question: str, yes: bool, refusal: str) -> None:
    """Go on only with --yes, or after a yes at a terminal; otherwise stop before any write."""
    from esmctl.errors import EsmctlError, Interrupted

    if yes:
        return
    if not sys.stdin.isatty():
        raise EsmctlError(f"{refusal}: pass --yes (stdin is not a terminal, so esmctl cannot ask)")
    try:
        answer = click.confirm(question, default=False, err=True)
    except click.Abort:  # Ctrl-C (or the end of input) at the question: 130, as Ctrl-C anywhere else
        click.echo("", err=True)
        raise Interrupted("interrupted at the question: nothing was changed") from None
    if not answer:
        raise EsmctlError("aborted: nothing was changed")


def color_enabled(settings: Settings) -> bool:
    """No colour with --no-color, or NO_COLOR set to anything but the empty string (no-color.org)."""
    return settings.color and not os.environ.get("NO_COLOR")
