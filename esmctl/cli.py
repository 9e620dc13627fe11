"""The root command: global options, the command groups, and the one place outcomes become exit codes.

Commands return an Outcome (or nothing, for ok) and raise esmctl's errors; `EsmctlGroup.main`
alone turns them into the exit code: 0 ok, 1 error, 2 changes found, 3 unhealthy, 130 interrupted
(Ctrl-C), 141 the output's reader gone, 252 usage.
Every failure leaves through `EsmctlGroup.invoke` as one plain line, with the traceback only under
--verbose. botocore and rich are imported by commands when they run, never here, and a command's
module only when that command runs, so `esmctl --help` stays fast.
"""

from __future__ import annotations

import importlib
import io
import os
import stat
import sys
import traceback
from collections.abc import Callable
from typing import Any

import click

from esmctl import __version__
from esmctl.context import OUTPUT_FORMATS, Settings, check_endpoint_url, check_query_output, check_region, compile_query
from esmctl.errors import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_READER_GONE,
    EXIT_USAGE,
    EsmctlError,
    Interrupted,
    SpecError,
    UsageProblem,
)

# The one table from what ended a command to its exit code (most specific first). Outcomes (ok, changes,
# unhealthy) are returned by commands and are their own codes.
EXIT_CODES: tuple[tuple[type[BaseException], int], ...] = (
    (Interrupted, EXIT_INTERRUPTED),
    (UsageProblem, EXIT_USAGE),
    (click.UsageError, EXIT_USAGE),
    (click.Abort, EXIT_ERROR),
    (click.ClickException, EXIT_ERROR),
    (EsmctlError, EXIT_ERROR),
)


def exit_code_for(exc: BaseException) -> int:
    return next((code for kind, code in EXIT_CODES if isinstance(exc, kind)), EXIT_ERROR)


def show_error(exc: BaseException) -> None:
    """An error as the user sees it: one line (a spec's problems one line each, then how many)."""
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):  # `esmctl`, `esmctl mapping`: the help, no error line
        click.echo(exc.format_message(), err=True)
    elif isinstance(exc, click.UsageError):
        # One line, as every other error (click's own is a Usage:/Try/Error: block of four).
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        click.echo(f"esmctl: error: {exc.format_message()}{hint}", err=True)
    elif isinstance(exc, click.Abort):
        click.echo("Aborted!", err=True)
    elif isinstance(exc, SpecError):
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        n = len(exc.problems)
        click.echo(f"esmctl: error: {n} problem{'s' if n != 1 else ''} found in {exc.where}", err=True)
    elif isinstance(exc, Interrupted):
        click.echo(f"esmctl: {exc.format_message()}", err=True)
    elif isinstance(exc, click.ClickException):
        exc.show()
    else:
        click.echo(f"esmctl: error: {exc.format_message()}", err=True)


def _explain(exc: BaseException) -> str:
    if "botocore" in sys.modules:
        from esmctl.aws.errors import BOTOCORE_ERRORS, describe_error

        if isinstance(exc, BOTOCORE_ERRORS):
            return describe_error(exc)
    return f"unexpected {type(exc).__name__}: {exc} (run with --verbose for the traceback)"


# Every command: where it is defined, and the first paragraph of its help, from which `esmctl --help`
# lists it without importing it (tests/test_mapping.py keeps these in step with the commands).
COMMANDS: dict[str, tuple[str, str]] = {
    "mapping": ("esmctl.commands.mapping:group",
                "Create, read, change and delete event source mappings one at a time."),
    "list": ("esmctl.commands.mapping:list_cmd", "List mappings (one paginated listing)."),
    "validate": ("esmctl.commands.spec:validate",
                 "Check spec files offline: no credentials, no network. Exit 0 if valid, 1 if not."),
    "plan": ("esmctl.commands.spec:plan_cmd", "Show what `apply` would change, Terraform style (+ create, ~ update, "
             "~ move, -/+ replace, <~> hand-off, - delete); --out saves it for `apply PLAN`."),
    "diff": ("esmctl.commands.spec:diff_cmd",
             "Like plan; exit 0 in sync, 2 with changes, 1 on error (a CI drift gate)."),
    "apply": ("esmctl.commands.spec:apply_cmd",
              "Make the live mappings match the spec, or carry out a plan saved by `plan --out` exactly."),
    "show": ("esmctl.commands.spec:show_cmd", "Print a plan saved by `plan --out`: text, JSON, or Markdown for a "
             "pull-request comment."),
    "export": ("esmctl.commands.spec:export",
               "Print the live mappings as a spec (only non-default fields) that `diff` finds in sync."),
    "consumer": ("esmctl.commands.consumer:group", "Kinesis enhanced fan-out consumers: register, list (with the "
                 "mappings that use them), deregister."),
    "status": ("esmctl.commands.health:status_cmd", "Are the mappings keeping up? State, LastProcessingResult and "
               "each source's lag, with a verdict."),
    "doctor": ("esmctl.commands.health:doctor_cmd", "Check mappings for what the Lambda guide warns about: "
               "concurrency, stalled shards, permissions, region, SQS visibility timeout. Exit 3 on any "
               "error-severity finding."),
    "pause": ("esmctl.commands.pause:pause_cmd", "Stop mappings for an incident: disable them, marked paused, until "
              "`esmctl resume` (apply leaves them so)."),
    "resume": ("esmctl.commands.pause:resume_cmd",
               "Start again exactly the mappings `esmctl pause` stopped, and remove their pause mark."),
    "sandbox": ("esmctl.commands.sandbox:sandbox", "Run a local emulator of Lambda, Kinesis, DynamoDB, SQS and "
                "CloudWatch (moto) until Ctrl-C."),
    "filter": ("esmctl.commands.filter:group", "Try a mapping's filters on records before they ship: which records "
               "Lambda keeps, which it drops and why."),
    "schema": ("esmctl.commands.tools:schema_cmd",
               "Print the spec format as a JSON Schema (draft 2020-12), made from botocore's model."),
    "completion": ("esmctl.commands.tools:completion_cmd", "Print the shell completion script."),
}


class EsmctlGroup(click.Group):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:  # --help and --version print here, before invoke
            return super().parse_args(ctx, args)
        except BrokenPipeError:
            raise click.exceptions.Exit(_reader_gone()) from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in COMMANDS:
            module, attr = COMMANDS[name][0].split(":")
            self.add_command(getattr(importlib.import_module(module), attr), name)
        return self.commands.get(name)

    def resolve_command(self, ctx: click.Context, args: list[str]):  # noqa: ANN201 - click's signature
        if args and args[0] not in COMMANDS:  # a typo: click's "did you mean" looks among the loaded commands
            for name in COMMANDS:
                self.get_command(ctx, name)
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's list of commands, made from COMMANDS: listing them imports none."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        stand_in = {name: click.Command(name, help=text) for name, (_, text) in COMMANDS.items()}
        rows = [(name, self.commands.get(name, stand_in.get(name)).get_short_help_str(limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):  # noqa: ANN001,ANN201
        """click's main, with the exit code decided here: usage errors get their own code (252)."""
        try:
            outcome = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            code = int(outcome) if isinstance(outcome, int) else 0
        except (EsmctlError, click.ClickException, click.Abort) as exc:
            show_error(exc)
            code = exit_code_for(exc)
        try:
            if sys.stdout is not None:  # (None: a caller of main's own, with stdout closed)
                sys.stdout.flush()  # what is left of the output, before the interpreter's own flush at exit
        except BrokenPipeError:
            code = _reader_gone()
        if standalone_mode:
            sys.exit(code)
        return code

    def invoke(self, ctx: click.Context):  # noqa: ANN201 - click's signature
        settings = ctx.ensure_object(Settings)
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort):
            raise
        except (click.ClickException, EsmctlError):
            if settings.verbose:
                traceback.print_exc()
            raise
        except KeyboardInterrupt:
            raise Interrupted() from None
        except BrokenPipeError:
            raise click.exceptions.Exit(_reader_gone()) from None
        except Exception as exc:  # the last line of defence: one line, never a dump
            if settings.verbose:
                traceback.print_exc()
            raise EsmctlError(_explain(exc)) from exc
        finally:
            if settings.verbose and settings._aws is not None and settings._aws.calls:
                counts = ", ".join(f"{k}={v}" for k, v in sorted(settings._aws.calls.items()))
                try:
                    click.echo(f"AWS calls: {counts}; throttled and retried: {settings._aws.throttled}", err=True)
                except BrokenPipeError:  # stderr's reader is gone: the command's own outcome stands
                    pass


class _WholeWrites(io.RawIOBase):
    """Standard output on a pipe, every write whole or an error. Python's buffered writer counts a write the
    reader cut short (it left part-way through one large write: `esmctl schema | head -1`) as short, not as an
    error, and its callers drop the rest without a word; here the rest is written again, and the pipe's error
    (BrokenPipeError, exit 141) comes as it would for any later write."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        whole = len(view)
        while view:
            view = view[os.write(self._fd, view):]
        return whole


def _whole_writes_on_a_pipe() -> None:
    out = sys.stdout
    try:
        if out is None or out is not sys.__stdout__ or not stat.S_ISFIFO(os.fstat(out.fileno()).st_mode):
            return  # a terminal or a file takes every write whole; a test's runner has its own stdout
    except (AttributeError, OSError, ValueError):
        return
    out.flush()
    sys.stdout = io.TextIOWrapper(io.BufferedWriter(_WholeWrites(out.fileno())), encoding=out.encoding,
                                  errors=out.errors, line_buffering=out.line_buffering,
                                  write_through=getattr(out, "write_through", False))


def _reader_gone() -> int:
    """The output's reader went away (`esmctl … | head`): no message, as a tool that SIGPIPE ends says none, and
    what is left of the output goes nowhere (else Python complains again as it flushes at exit)."""
    import os

    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):  # no file behind stdout (closed, or a test's runner)
        pass
    return EXIT_READER_GONE


def option_check(check: Callable[[Any], Any]) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A plain check of an option's value (context.py's) as a click callback: its ValueError a usage error
    that names the option. Here, for the root options, as `esmctl --help` imports no command module."""
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is None:
            return None
        try:
            return check(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param=param) from exc

    return callback


def _region_given(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--region on the command line checked at once, as after the subcommand; AWS_REGION when AWS is first asked
    (aws.session.Clients.region), so that a command that asks AWS nothing is not refused for it."""
    if value is not None and ctx.get_parameter_source(param.name) is click.core.ParameterSource.COMMANDLINE:
        return option_check(check_region)(ctx, param, value)
    return value


@click.group(cls=EsmctlGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
# AWS_PROFILE is botocore's to read, not bound here: named as --profile, it would win over AWS_ACCESS_KEY_ID and
# AWS_SECRET_ACCESS_KEY, which the AWS CLI and the SDKs take before it.
@click.option("--profile", help="AWS profile (also AWS_PROFILE).")
@click.option("--region", envvar=["AWS_REGION", "AWS_DEFAULT_REGION"], callback=_region_given,
              help="AWS region (also AWS_REGION).")
@click.option("--endpoint-url", callback=option_check(check_endpoint_url),
              help="Send AWS calls here (also AWS_ENDPOINT_URL), e.g. the sandbox.")
@click.option("-o", "--output", type=click.Choice(OUTPUT_FORMATS), default="table", show_default=True,
              help="Output format; also accepted after the subcommand.")
@click.option("--query", callback=option_check(compile_query), metavar="JMESPATH",
              help="A JMESPath expression applied to the JSON or YAML document, as the AWS CLI's --query (implies "
                   "-o json unless -o yaml).")
# NO_COLOR is read by context.color_enabled, not bound here: click would read it as a boolean and
# refuse NO_COLOR=please, which the convention (no-color.org) says means no colour.
@click.option("--no-color", is_flag=True, help="No colour (also NO_COLOR set to anything).")
@click.option("-v", "--verbose", is_flag=True, help="Tracebacks on errors, AWS call counts at the end.")
@click.version_option(__version__, "--version", prog_name="esmctl")
@click.pass_context
def cli(ctx: click.Context, profile: str | None, region: str | None, endpoint_url: str | None,
        output: str, query, no_color: bool, verbose: bool) -> None:  # noqa: ANN001 - a compiled JMESPath
    """Manage AWS Lambda event source mappings: Kinesis, DynamoDB, SQS and more.

    \b
    Thin commands:   esmctl mapping create|get|update|delete|enable|disable, esmctl list
    Declarative:     esmctl validate | plan | diff | apply | export  (YAML specs)
    Consumers:       esmctl consumer register|list|describe|deregister  (Kinesis fan-out)
    Health:          esmctl status, esmctl doctor
    Incidents:       esmctl pause, esmctl resume  (stop mappings, start them again)
    Try it locally:  esmctl sandbox --seed
    Editors, shells: esmctl schema, esmctl completion bash|zsh|fish

    Exit codes: 0 ok, 1 error, 2 changes found (diff, plan --detailed-exitcode), 3 unhealthy,
    130 interrupted (Ctrl-C), 141 the output's reader gone, 252 usage error.
    """
    settings = ctx.ensure_object(Settings)
    settings.profile, settings.region, settings.endpoint_url = profile, region, endpoint_url
    settings.region_from_flag = ctx.get_parameter_source("region") == click.core.ParameterSource.COMMANDLINE
    settings.output = output
    settings.output_given = ctx.get_parameter_source("output") == click.core.ParameterSource.COMMANDLINE
    if query is not None:
        settings.query = query
        settings.output = output if settings.output_given else "json"
        try:
            check_query_output(settings)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
    settings.color = settings.color and not no_color
    settings.verbose = settings.verbose or verbose


def main() -> None:
    if sys.stdout is None:  # started with stdout closed (>&-): the output would be lost, and the exit code say 0
        if sys.stderr is not None:
            sys.stderr.write("esmctl: error: standard output is closed: nowhere to write the output (redirect it to "
                             "a file, or to /dev/null); nothing was done\n")
        sys.exit(EXIT_ERROR)
    if sys.stderr is None:  # started with stderr closed (2>&-): the output still goes to stdout; messages nowhere
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process
    if sys.stdin is None:  # started with stdin closed (<&-): `-` reads nothing, as from /dev/null
        sys.stdin = open(os.devnull)  # noqa: SIM115 - for the life of the process
    _whole_writes_on_a_pipe()
    cli(prog_name="esmctl")
