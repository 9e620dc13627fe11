"""The settings every command shares, and the options that may follow any subcommand.

Kept free of botocore and rich so that `esmctl --help` stays fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from esmctl.aws import Aws

OUTPUT_FORMATS = ("table", "json", "yaml", "markdown")


@dataclass
class Settings:
    profile: str | None = None
    region: str | None = None
    region_from_flag: bool = False  # --region on the command line (not the environment)
    endpoint_url: str | None = None
    output: str = "table"
    color: bool = True
    verbose: bool = False
    _aws: Aws | None = field(default=None, repr=False)

    @property
    def aws(self) -> Aws:
        if self._aws is None:
            from esmctl.aws import Aws

            self._aws = Aws(self.profile, self.region, self.endpoint_url)
        return self._aws


pass_settings = click.make_pass_decorator(Settings, ensure=True)


def _set_output(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.ensure_object(Settings).output = value


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


def _set_aws(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is None:
        return
    if param.name == "endpoint_url":
        check_endpoint_url(ctx, param, value)
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
    f = click.option("--no-color", is_flag=True, expose_value=False, callback=_set_no_color,
                     help="No colour (also NO_COLOR).")(f)
    f = click.option("-v", "--verbose", is_flag=True, expose_value=False, callback=_set_verbose,
                     help="Show tracebacks and AWS call counts.")(f)
    return f


def confirm(question: str, yes: bool, refusal: str) -> None:
    """Go on only with --yes, or after a yes at a terminal; otherwise stop before any write."""
    from esmctl.errors import EsmctlError

    if yes:
        return
    if not sys.stdin.isatty():
        raise EsmctlError(f"{refusal}: pass --yes (stdin is not a terminal, so esmctl cannot ask)")
    if not click.confirm(question, default=False, err=True):
        raise EsmctlError("aborted: nothing was changed")


def color_enabled(settings: Settings) -> bool:
    """No colour with --no-color, or NO_COLOR set to anything but the empty string (no-color.org)."""
    return settings.color and not os.environ.get("NO_COLOR")
