"""Read spec files into desired mappings, reporting every problem with its FILE:LINE:COL and field.

yamldoc reads the YAML (safe semantics only, duplicate keys and recursive aliases refused,
${NAME} placeholders filled); entries checks what the documents say: the keys are the
CreateEventSourceMapping parameter names, checked against botocore's model (schema.py) and the
service's rules across fields. Nothing here touches AWS.
"""

from __future__ import annotations

from dataclasses import dataclass

from esmctl import collector, entries, placeholders
from esmctl.errors import Place, SpecError, UsageProblem


@dataclass
class Spec:
    paths: list[str]
    region: str | None  # the spec's `region:`, else the region of its ARNs
    mappings: list[entries.Desired]
    region_where: Place | None = None  # where it says so


def load(path: str, variables: dict[str, str] | None = None, text: str | None = None) -> Spec:
    """Read and check one spec; raise SpecError listing every problem."""
    return load_files([path], variables, texts={path: text} if text is not None else None)


def load_files(paths: list[str] | tuple[str, ...], variables: dict[str, str] | None = None,
               texts: dict[str, str] | None = None, targets: bool = False) -> Spec:
    """Read several spec files (`-` is standard input) as one spec; raise SpecError with every
    problem of every file. `targets`: the run is over the spec's `targets:` (targets.py reads them);
    otherwise a spec with targets is a problem, as they would be left out."""
    paths = distinct(paths)
    with collector.paused():
        checked = entries.check(paths, texts, variables, targets)
    if checked.problems:
        raise SpecError(checked.problems)
    return Spec(paths=list(paths), region=checked.region, mappings=checked.mappings, region_where=checked.region_where)


def distinct(paths: list[str] | tuple[str, ...]) -> list[str]:
    """The files, each once: a file named twice (`base.yaml specs/*.yaml` whose glob finds base.yaml too, or
    `./m.yaml m.yaml`) is read once, not taken for a second copy of each of its mappings."""
    import os

    out: list[str] = []
    seen: set[tuple[int, int] | str] = set()
    for path in paths:
        try:
            st = os.stat(path) if path != "-" else None
            ident: tuple[int, int] | str = (st.st_dev, st.st_ino) if st else "-"
        except OSError:  # said when it is read
            ident = path
        if ident not in seen:
            seen.add(ident)
            out.append(path)
    return out


def parse_vars(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """--var NAME=VALUE pairs: one without `=`, or whose NAME no ${NAME} could be, is a usage error."""
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageProblem(f"--var {pair!r}: expected NAME=VALUE")
        if not placeholders.VARIABLE_NAME.fullmatch(name):
            raise UsageProblem(f"--var {pair!r}: {name!r} is not a variable name: letters, digits and _ (not "
                               "first), as in ${NAME}")
        out[name] = value
    return out
