"""What the commands share: options, reading specs, completion, and running writes under Ctrl-C.

Commands import from here, never from one another.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from esmctl.context import Settings
from esmctl.errors import EXIT_INTERRUPTED, EsmctlError

CACHE_SECONDS = 10  # how long completion trusts its listing

def _check_vars(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    """--var NAME=VALUE: one without `=` is a usage error (252), not a problem of the spec."""
    for pair in value:
        name, sep, _ = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{pair!r}: expected NAME=VALUE", ctx=ctx, param=param)
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
        where = ", ".join(files)
        if settings.region_from_flag:
            raise EsmctlError(f"{where}: the spec is for region {loaded.region}, but --region is {settings.region}")
        if settings._aws is not None:
            raise EsmctlError(f"{where}: the spec is for region {loaded.region}, but this run uses {settings.region}")
        settings.region = loaded.region
    return loaded


def say(text: str) -> None:
    """A line on stderr from a signal handler: through sys.stderr (a progress bar at a terminal has it
    print above the bar), or straight to the file when Ctrl-C came in the middle of another write."""
    try:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
    except (RuntimeError, OSError, ValueError):
        os.write(2, (text + "\n").encode())


@contextmanager
def ctrl_c(settings: Settings, interrupt: Any) -> Iterator[None]:
    """While an apply writes: the first Ctrl-C stops new changes and steps and lets the calls in flight
    return, so that the results can say what exists; the second ends esmctl at once."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():  # only the main thread gets signals
        yield
        return
    from esmctl import render

    def on_sigint(_signum: int, _frame: Any) -> None:
        if not interrupt:
            interrupt.set()
            say("esmctl: interrupted: finishing the calls in flight (Ctrl-C again to abort at once)")
            return
        say("esmctl: aborted: the calls in flight were abandoned; `esmctl plan` shows what exists now")
        try:
            sys.stdout.flush()
        except (RuntimeError, OSError, ValueError):
            pass
        if render.animated(settings):
            os.write(2, b"\x1b[?25h")  # the progress bar hid the cursor
        os._exit(EXIT_INTERRUPTED)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


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
    # While completing, click parses without running the root command: its options are in its params.
    root = ctx.find_root().params
    settings = Settings(profile=root.get("profile"), region=root.get("region"), endpoint_url=root.get("endpoint_url"))
    key = f"{settings.profile}|{settings.region or os.environ.get('AWS_REGION')}|" \
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

    from esmctl.model import short_arn

    return [CompletionItem(m["UUID"], help=f"{short_arn(m['FunctionArn'])} <- {short_arn(m['EventSourceArn'])}")
            for m in _listing(ctx) if m["UUID"].startswith(incomplete)]


def complete_function(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list:
    from esmctl.model import short_arn

    names = sorted({short_arn(m["FunctionArn"]) for m in _listing(ctx)})
    return [n for n in names if n.startswith(incomplete)]


