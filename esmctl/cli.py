"""The root command: global options, the command groups, and the one place outcomes become exit codes.

Commands return an Outcome (or nothing, for ok) and raise esmctl's errors; `EsmctlGroup.main`
alone turns them into the exit code: 0 ok, 1 error, 2 changes found, 3 unhealthy, 252 usage.
Every failure leaves through `EsmctlGroup.invoke` as one plain line, with the traceback only under
--verbose. botocore and rich are imported by commands when they run, never here, so
`esmctl --help` stays fast.
"""

from __future__ import annotations

import sys
import traceback

import click

from esmctl import __version__
from esmctl.context import OUTPUT_FORMATS, Settings
from esmctl.errors import EXIT_ERROR, EXIT_USAGE, EsmctlError


def _explain(exc: BaseException) -> str:
    if "botocore" in sys.modules:
        from esmctl.aws import BOTOCORE_ERRORS, describe_error

        if isinstance(exc, BOTOCORE_ERRORS):
            return describe_error(exc)
    return f"unexpected {type(exc).__name__}: {exc} (run with --verbose for the traceback)"


class EsmctlGroup(click.Group):
    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):  # noqa: ANN001,ANN201
        """click's main, with the exit code decided here: usage errors get their own code (252)."""
        try:
            outcome = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            code = int(outcome) if isinstance(outcome, int) else 0
        except click.UsageError as exc:
            exc.show()
            code = EXIT_USAGE
        except click.ClickException as exc:
            exc.show()
            code = exc.exit_code
        except click.Abort:
            click.echo("Aborted!", err=True)
            code = EXIT_ERROR
        if standalone_mode:
            sys.exit(code)
        return code

    def invoke(self, ctx: click.Context):  # noqa: ANN201 - click's signature
        settings = ctx.ensure_object(Settings)
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort):
            raise
        except click.ClickException:
            if settings.verbose:
                traceback.print_exc()
            raise
        except KeyboardInterrupt:
            raise EsmctlError("interrupted") from None
        except Exception as exc:  # the last line of defence: one line, never a dump
            if settings.verbose:
                traceback.print_exc()
            raise EsmctlError(_explain(exc), EXIT_ERROR) from exc
        finally:
            if settings.verbose and settings._aws is not None and settings._aws.calls:
                counts = ", ".join(f"{k}={v}" for k, v in sorted(settings._aws.calls.items()))
                click.echo(f"AWS calls: {counts}; throttled and retried: {settings._aws.throttled}", err=True)


@click.group(cls=EsmctlGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--profile", envvar="AWS_PROFILE", help="AWS profile (also AWS_PROFILE).")
@click.option("--region", envvar=["AWS_REGION", "AWS_DEFAULT_REGION"], help="AWS region (also AWS_REGION).")
@click.option("--endpoint-url", help="Send AWS calls here (also AWS_ENDPOINT_URL), e.g. the sandbox.")
@click.option("-o", "--output", type=click.Choice(OUTPUT_FORMATS), default="table", show_default=True,
              help="Output format; also accepted after the subcommand.")
# NO_COLOR is read by context.color_enabled, not bound here: click would read it as a boolean and
# refuse NO_COLOR=please, which the convention (no-color.org) says means no colour.
@click.option("--no-color", is_flag=True, help="No colour (also NO_COLOR set to anything).")
@click.option("-v", "--verbose", is_flag=True, help="Tracebacks on errors, AWS call counts at the end.")
@click.version_option(__version__, "--version", prog_name="esmctl")
@click.pass_context
def cli(ctx: click.Context, profile: str | None, region: str | None, endpoint_url: str | None,
        output: str, no_color: bool, verbose: bool) -> None:
    """Manage AWS Lambda event source mappings: Kinesis, DynamoDB, SQS and more.

    \b
    Thin commands:   esmctl mapping create|get|update|delete|enable|disable, esmctl list
    Declarative:     esmctl validate | plan | diff | apply | export  (YAML specs)
    Consumers:       esmctl consumer register|list|describe|deregister  (Kinesis fan-out)
    Health:          esmctl status, esmctl doctor
    Try it locally:  esmctl sandbox --seed
    Editors, shells: esmctl schema, esmctl completion bash|zsh|fish

    Exit codes: 0 ok, 1 error, 2 changes found (diff, plan --detailed-exitcode), 3 unhealthy,
    252 usage error.
    """
    settings = ctx.ensure_object(Settings)
    settings.profile, settings.region, settings.endpoint_url = profile, region, endpoint_url
    settings.region_from_flag = ctx.get_parameter_source("region") == click.core.ParameterSource.COMMANDLINE
    settings.output = output
    settings.color = settings.color and not no_color
    settings.verbose = settings.verbose or verbose


def _register() -> None:
    from esmctl.commands import consumer, health, mapping, sandbox, spec, tools

    cli.add_command(mapping.group)
    cli.add_command(mapping.list_cmd)
    for command in spec.COMMANDS + consumer.COMMANDS + health.COMMANDS + tools.COMMANDS:
        cli.add_command(command)
    cli.add_command(sandbox.sandbox)


_register()


def main() -> None:
    cli(prog_name="esmctl")
