"""The errors esmctl raises on purpose, each with the exit code it ends in."""

from __future__ import annotations

import click

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2  # also: changes found by `diff` / `plan --detailed-exitcode`
EXIT_UNHEALTHY = 3


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
