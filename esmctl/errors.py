"""The errors esmctl raises on purpose, each with the exit code it ends in."""

from __future__ import annotations

import enum

import click

EXIT_OK = 0
EXIT_ERROR = 1  # including a partly failed apply
EXIT_CHANGES = 2  # changes found by `diff` / `plan --detailed-exitcode`, and nothing else
EXIT_UNHEALTHY = 3  # `status`, `doctor`
EXIT_INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, what a shell reports for a process Ctrl-C ended
EXIT_USAGE = 252  # a usage error (as the AWS CLI v2): a CI drift gate must tell a typo from drift


class Outcome(enum.IntEnum):
    """What a command that did its job found; `cli` turns it into the exit code."""

    OK = EXIT_OK
    CHANGES = EXIT_CHANGES
    UNHEALTHY = EXIT_UNHEALTHY


class EsmctlError(click.ClickException):
    """A failure explained in one line; shown as `esmctl: error: ...` with its exit code."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, exit_code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file=None) -> None:  # noqa: ANN001 - click's signature
        click.echo(f"esmctl: error: {self.format_message()}", err=True)


class SpecError(EsmctlError):
    """A spec with problems: every problem, one line each, `FILE:LINE:COL: field: message`."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))

    def show(self, file=None) -> None:  # noqa: ANN001
        for line in self.problems:
            click.echo(line, err=True)
        n = len(self.problems)
        click.echo(f"esmctl: error: {n} problem{'s' if n != 1 else ''} found in the spec", err=True)


class Interrupted(EsmctlError):
    """Ctrl-C, after what was under way stopped cleanly: `esmctl: interrupted...`, exit 130. Inside an
    apply, also how a wait ends when Ctrl-C comes (see apply.Interrupt)."""

    def __init__(self, message: str = "interrupted") -> None:
        super().__init__(message, EXIT_INTERRUPTED)

    def show(self, file=None) -> None:  # noqa: ANN001 - click's signature
        click.echo(f"esmctl: {self.format_message()}", err=True)
