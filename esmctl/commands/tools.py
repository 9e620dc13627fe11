"""`esmctl schema` and `esmctl completion`: plugging esmctl into editors and shells."""

from __future__ import annotations

import click

from esmctl.commands.shared import common_options, pass_settings
from esmctl.context import Settings

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_ESMCTL_COMPLETE"


@click.command("schema")
@click.option("--check", "files", multiple=True, type=click.Path(allow_dash=True), metavar="FILE",
              help="Check spec files against the schema (needs the jsonschema package); repeatable.")
@click.option("--targets", "targets_file", is_flag=True,
              help="The schema of a targets file (--targets of plan, diff, apply, status, doctor) instead.")
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True))
@common_options
@pass_settings
def schema_cmd(settings: Settings, files: tuple[str, ...], targets_file: bool, paths: tuple[str, ...]) -> None:
    """Print the spec format as a JSON Schema (draft 2020-12), made from botocore's model.

    \b
    esmctl schema > .esmctl.schema.json
    then put this first in mappings.yaml for VS Code, Neovim or JetBrains:
    # yaml-language-server: $schema=.esmctl.schema.json
    (esmctl schema --targets > .esmctl-targets.schema.json: the same for a targets file)

    With --check (or file arguments), check specs against it instead: keys, types, enums, ranges. A file with
    `targets:` and no `mappings:` is checked as a targets file.
    """
    from esmctl.spec_schema import spec_schema, targets_schema

    document = targets_schema() if targets_file else spec_schema()
    targets = files + paths
    if not targets:
        from esmctl.views.document import queried

        if settings.output == "yaml":
            from esmctl.commands.output import dump

            dump(settings, document)
        else:  # a JSON Schema is JSON, whatever table/markdown would mean
            from esmctl.views.document import json_text

            click.echo(json_text(queried(settings, document), indent=2))
        return
    try:
        import jsonschema
    except ImportError as exc:
        from esmctl.errors import EsmctlError

        raise EsmctlError("schema --check needs the jsonschema package: pip install jsonschema") from exc
    from esmctl.errors import Problem, SpecError
    from esmctl.yamldoc import YamlError, load, read_text

    validator = jsonschema.Draft202012Validator(document)
    for_targets = validator if targets_file else jsonschema.Draft202012Validator(targets_schema())
    problems: list[Problem] = []
    places: list[str] = []  # the spec, the targets file: what the problems are in
    for path in targets:
        try:  # read as `validate` reads it, within its limits (an alias bomb, nesting), each value where written;
            # placeholders left as they are (the schema accepts them)
            doc = load(path, read_text(path), environ={}, defer_missing=True)
        except YamlError as exc:  # cannot read it (a duplicate key, a tag, a bad ${…}: what no schema can say)
            problems += [p for p in exc.problems if p not in exc.missing]  # placeholders are left as they are
            places.append("the targets file" if targets_file else "the spec")
            continue
        data, at = _json_like(doc.data), doc.at
        is_targets = targets_file or (isinstance(data, dict) and "targets" in data and "mappings" not in data)
        found = sorted((for_targets if is_targets else validator).iter_errors(data),
                       key=lambda e: list(map(str, e.absolute_path)))
        for error in found:
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
            what = where or ("targets file" if is_targets else "spec")
            problems.append(Problem(at(tuple(error.absolute_path)), what, _in_words(error)))
        if found:
            places.append("the targets file" if is_targets else "the spec")
    if problems:
        where = " and ".join(dict.fromkeys(places))
        if where != "the spec":
            from esmctl.errors import TargetsError

            raise TargetsError(problems, where)
        raise SpecError(problems)
    click.echo(f"{', '.join(targets)}: valid against the schema", err=True)


def _in_words(error) -> str:  # noqa: ANN001 - a jsonschema ValidationError
    """jsonschema's message, but for a value that fits none of a field's forms ("is not valid under any of the given
    schemas") what the field is, from its description."""
    if error.validator == "anyOf" and isinstance(error.schema, dict):
        first = (error.schema.get("description") or "").split(". ")[0].rstrip(".")
        return f"{error.instance!r} is not valid here" + (f": {first}" if first and len(first) <= 120 else "")
    return error.message


def _json_like(value):  # noqa: ANN001, ANN202
    """YAML's dates and times as the text they were written as, as an editor sees them."""
    import datetime

    if isinstance(value, dict):
        return {k: _json_like(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_like(v) for v in value]
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
@common_options
def completion_cmd(shell: str) -> None:
    """Print the shell completion script.

    \b
    bash:  eval "$(esmctl completion bash)"        (in ~/.bashrc)
    zsh:   eval "$(esmctl completion zsh)"         (in ~/.zshrc)
    fish:  esmctl completion fish > ~/.config/fish/completions/esmctl.fish

    Options, commands and choices complete; so do function names (--function) and mapping UUIDs, from
    one listing of the region's mappings, kept for a few seconds.
    """
    from click.shell_completion import get_completion_class

    root = click.get_current_context().find_root().command
    completer = get_completion_class(shell)(root, {}, "esmctl", COMPLETE_VAR)
    click.echo(completer.source())


COMMANDS = [schema_cmd, completion_cmd]
