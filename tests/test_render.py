"""Terminal output, in memory: without colour (--no-color, NO_COLOR) there are no escape sequences at all."""

from __future__ import annotations

import io
import sys

import pytest

from esmctl import render
from esmctl.context import Settings, color_enabled
from tests.reported import QUEUE, STREAM, reported


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def terminal(monkeypatch):
    """stdout as a terminal of a given width (rich reads COLUMNS): `out = terminal(80)`, then print."""

    def at(width: int) -> Terminal:
        out = Terminal()
        monkeypatch.setattr(sys, "stdout", out)
        monkeypatch.setenv("COLUMNS", str(width))
        monkeypatch.setenv("TERM", "xterm-256color")
        monkeypatch.delenv("NO_COLOR", raising=False)
        return out

    return at


# -- colour ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("no_color, color_flag, coloured", [
    (None, True, True), ("", True, True), ("1", True, False), ("please", True, False), ("0", True, False),
    (None, False, False)])
def test_no_color_means_no_escapes_at_all(terminal, monkeypatch, no_color, color_flag, coloured):
    out = terminal(100)
    if no_color is not None:
        monkeypatch.setenv("NO_COLOR", no_color)
    settings = Settings(color=color_flag)
    assert color_enabled(settings) is coloured
    render.mappings(settings, [reported({"EventSourceArn": STREAM, "StartingPosition": "LATEST"}),
                               reported({"EventSourceArn": QUEUE})])  # a bold header
    render.stdout_console(settings).print("[bold]Plan:[/] [green]+ create[/]")
    assert ("\x1b[" in out.getvalue()) is coloured, repr(out.getvalue()[:200])


@pytest.mark.parametrize("value", ["1", "please", "false"])
def test_any_no_color_value_is_accepted(esmctl, monkeypatch, value):
    """click no longer reads NO_COLOR as a boolean: NO_COLOR=please is not a usage error."""
    monkeypatch.setenv("NO_COLOR", value)
    r = esmctl("mapping", "create", "--function", "f")  # a usage error of its own, after the root options
    assert "--no-color" not in r.stderr and "Missing option '--source'" in r.stderr
