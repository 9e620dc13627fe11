"""The errors esmctl raises on purpose: plain exceptions. Which exit code each ends in is decided in one
place, `cli.exit_code_for` (as the AWS CLI v2's error handler does), never where it is raised."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

EXIT_OK = 0
EXIT_ERROR = 1  # including a partly failed apply
EXIT_CHANGES = 2  # changes found by `diff` / `plan --detailed-exitcode`, and nothing else
EXIT_UNHEALTHY = 3  # `status`, `doctor`
EXIT_INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, what a shell reports for a process Ctrl-C ended
EXIT_USAGE = 252  # a usage error (as the AWS CLI v2): a CI drift gate must tell a typo from drift
EXIT_READER_GONE = 141  # the output's reader went away (`| head`): 128 + SIGPIPE, as a shell reports a tool it ended


class Outcome(enum.IntEnum):
    """What a command that did its job found; `cli` turns it into the exit code."""

    OK = EXIT_OK
    CHANGES = EXIT_CHANGES
    UNHEALTHY = EXIT_UNHEALTHY


# Many results, one exit code (a fleet's targets, say): the first of these that any of them has wins.
SEVERITY = (EXIT_INTERRUPTED, EXIT_USAGE, EXIT_ERROR, EXIT_UNHEALTHY, EXIT_CHANGES)


def worst(codes: Iterable[int]) -> int:
    """The exit code of a run made of parts: a failure anywhere, else unhealthy anywhere, else changes."""
    found = set(codes)
    return next((code for code in SEVERITY if code in found), EXIT_OK)


class EsmctlError(Exception):
    """A failure explained in one line; shown as `esmctl: error: ...`."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def format_message(self) -> str:
        return self.message


class UsageProblem(EsmctlError):
    """The command line asks for something that cannot be: a flag's value, a missing option."""


@dataclass(frozen=True)
class Place:
    """Where something was written: a file (`<stdin>`), its line and column (1-based; 0: the file as a whole)."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}" if self.line else self.file


def located(file: str, marks: Mapping[tuple, Any], key_marks: Mapping[tuple, Any], path: tuple,
            key: bool = False) -> Place:
    """Where the value at `path` of a document was written (its key, with key=True), else its nearest ancestor:
    `marks` and `key_marks` hold the 0-based marks of a YAML reader (path -> mark with .line and .column)."""
    mark = key_marks.get(path) if key else None
    while mark is None and path and path not in marks:
        path = path[:-1]
    mark = mark or marks.get(path)
    return Place(file, mark.line + 1, mark.column + 1) if mark else Place(file, 1, 1)


class Spot:
    """Where an entry of a document was written, and each of its fields, found when asked: an apply's failure
    names the field to correct at its own line, while a spec of thousands of entries places none it need not."""

    __slots__ = ("file", "marks", "key_marks", "path")

    def __init__(self, file: str, marks: Mapping[tuple, Any], key_marks: Mapping[tuple, Any], path: tuple) -> None:
        self.file, self.marks, self.key_marks, self.path = file, marks, key_marks, path

    def of(self, field: str) -> Place:
        """The place of the entry's `field` (the entry's own, where the field is not written in it)."""
        return located(self.file, self.marks, self.key_marks, self.path + (field,))


@dataclass(frozen=True)
class Problem:
    """One problem of what was given (a spec, a targets file, a plan), as data: where it was written (None: not
    in a file), the field, what is wrong, and a code for what kind of problem it is. Formatted only at the edge:
    `FILE:LINE:COL: field: message`."""

    where: Place | None
    field: str
    message: str
    code: str = ""

    def __str__(self) -> str:
        return ": ".join(str(part) for part in (self.where, self.field, self.message) if part)


def in_order(problems: Iterable[Problem]) -> list[Problem]:
    """Each problem once (aliases and merges reach a value more than once), in the order they were written: those
    of no place first, then file by file in the order the files were read (as given), line by line in each.
    sorted() keeps the problems of one place in the order they were found."""
    unique = list(dict.fromkeys(problems))
    files: dict[str, int] = {}
    for p in unique:
        if p.where is not None:
            files.setdefault(p.where.file, len(files))

    def order(p: Problem) -> tuple[int, int, int, int]:
        return (0, 0, 0, 0) if p.where is None else (1, files[p.where.file], p.where.line, p.where.column)

    return sorted(unique, key=order)


class SpecError(EsmctlError):
    """A file with problems: every problem once, in the order they were written, shown one line each,
    `FILE:LINE:COL: field: message`."""

    where = "the spec"  # what the closing line names

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = in_order(problems)
        super().__init__("\n".join(map(str, problems)))


class TargetsError(SpecError):
    """A targets file with problems, one line each."""

    def __init__(self, problems: Iterable[Problem], where: str = "the targets file") -> None:
        super().__init__(problems)
        self.where = where


class Interrupted(EsmctlError):
    """Ctrl-C, after what was under way stopped cleanly: `esmctl: interrupted...`. Inside a run of the
    executor, also how a wait ends when Ctrl-C comes (see execute.Interrupt)."""

    def __init__(self, message: str = "interrupted") -> None:
        super().__init__(message)
