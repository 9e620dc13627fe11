"""`esmctl validate | plan | diff | apply | export`: reconcile YAML specs with the live mappings.

The commands are thin: reading and planning is `reconcile.plan`, carrying out is `reconcile.apply`,
printing is `render`. They return an Outcome; `cli` turns it into the exit code.
"""

from __future__ import annotations

import math
from typing import Any

import click

from esmctl import context
from esmctl.commands.tools import complete_function
from esmctl.context import Settings, common_options, confirm, pass_settings
from esmctl.errors import EXIT_ERROR, EsmctlError, Outcome

var_option = click.option("--var", "variables", multiple=True, metavar="NAME=VALUE",
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


def reconciliation(settings: Settings, files: tuple[str, ...], variables: tuple[str, ...], *, prune: bool = False,
                   margin: float = 60):  # -> reconcile.Reconciliation
    from esmctl import reconcile

    loaded = load_spec(settings, files, variables)
    return reconcile.plan(settings.aws, loaded, reconcile.Options(prune=prune, margin=margin))


@click.command("validate")
@files_argument
@var_option
@click.option("--each", is_flag=True, help="Check each file as a spec of its own (pre-commit passes every staged file "
                                           "at once), not all the files as one spec.")
@context.targets_option
@common_options
@pass_settings
def validate(settings: Settings, files: tuple[str, ...], variables: tuple[str, ...], each: bool) -> None:
    """Check spec files offline: no credentials, no network. Exit 0 if valid, 1 if not."""
    from esmctl import render
    from esmctl.errors import SpecError

    problems: list[str] = []
    count = targets = 0
    for group in ([(f,) for f in files] if each else [files]):
        try:  # as plan loads it: a --region that is not the spec's is refused here too
            named = context.spec_naming_targets(group)
            if named or settings.fleet.targets:  # the spec as each target fills it
                from esmctl import fleet

                found, mappings = fleet.validate(group, variables, named or settings.fleet.targets, bool(named))
                count, targets = count + mappings, targets + found
            else:
                count += len(load_spec(settings, group, variables).mappings)
        except EsmctlError as exc:
            problems += exc.problems if isinstance(exc, SpecError) else [exc.format_message()]
    if problems:
        if settings.output in ("json", "yaml"):
            render.dump(settings, {"valid": False, "files": list(files), "mappings": 0, "problems": problems})
        raise SpecError(problems)
    if settings.output in ("json", "yaml"):
        render.dump(settings, {"valid": True, "files": list(files), "mappings": count, "problems": []})
    else:
        names = ", ".join("<stdin>" if f == "-" else f for f in files)  # as the problems name them
        where = f" over {targets} target{'s' if targets != 1 else ''}" if targets else ""
        click.echo(f"{names}: valid ({count} mapping{'s' if count != 1 else ''}{where})", err=True)


@click.command("plan")
@files_argument
@prune_option
@var_option
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes, 0 when none, 1 on error.")
@margin_option
@context.fleet_options
@common_options
@pass_settings
def plan_cmd(settings: Settings, files: tuple[str, ...], prune: bool, variables: tuple[str, ...],
             detailed_exitcode: bool, handoff_margin: float) -> Outcome:
    """Show what `apply` would change, Terraform style (+ create, ~ update, -/+ replace, <~> hand-off, - delete)."""
    from esmctl import render

    if context.fleet_mode(settings, files):
        from esmctl import fleet

        return fleet.plan(settings, "plan", files, variables, prune=prune, margin=handoff_margin,
                          exit_on_changes=detailed_exitcode)

    planned = reconciliation(settings, files, variables, prune=prune, margin=handoff_margin).plan
    render.plan(settings, planned)
    return Outcome.CHANGES if detailed_exitcode and not planned.empty else Outcome.OK


@click.command("diff")
@files_argument
@prune_option
@var_option
@margin_option
@context.fleet_options
@common_options
@pass_settings
def diff_cmd(settings: Settings, files: tuple[str, ...], prune: bool, variables: tuple[str, ...],
             handoff_margin: float) -> Outcome:
    """Like plan; exit 0 in sync, 2 with changes, 1 on error (a CI drift gate)."""
    from esmctl import render

    if context.fleet_mode(settings, files):
        from esmctl import fleet

        return fleet.plan(settings, "diff", files, variables, prune=prune, margin=handoff_margin, exit_on_changes=True)

    planned = reconciliation(settings, files, variables, prune=prune, margin=handoff_margin).plan
    render.plan(settings, planned)
    return Outcome.OK if planned.empty else Outcome.CHANGES


@click.command("apply")
@files_argument
@click.option("--prune", is_flag=True, help="Also delete live mappings of the spec's functions that the spec "
                                            "does not list.")
@var_option
@click.option("--allow-replace", is_flag=True,
              help="Allow delete+create for changes Lambda cannot make in place (a stream mapping's position is "
                   "not carried over).")
@click.option("-y", "--yes", is_flag=True, help="Don't ask before deleting, replacing or handing off.")
@click.option("--dry-run", is_flag=True, help="Show the plan; change nothing.")
@click.option("--no-wait", is_flag=True, help="Don't wait for new and updated mappings to settle.")
@click.option("--timeout", type=Seconds(), default=600, show_default=True,
              help="Seconds for the whole apply, every wait included.")
@click.option("--concurrency", type=click.IntRange(1, 32), default=4, show_default=True,
              help="Changes in flight at once (Lambda allows 15 requests/s per account and region).")
@margin_option
@context.fleet_options
@common_options
@pass_settings
def apply_cmd(settings: Settings, files: tuple[str, ...], prune: bool, variables: tuple[str, ...],
              allow_replace: bool, yes: bool, dry_run: bool, no_wait: bool, timeout: float, concurrency: int,
              handoff_margin: float) -> None:
    """Make the live mappings match the spec. Plans everything before the first write."""
    from esmctl import reconcile, render

    if context.fleet_mode(settings, files):
        from esmctl import fleet

        return fleet.apply(settings, files, variables, prune=prune, margin=handoff_margin, allow_replace=allow_replace,
                           yes=yes, dry_run=dry_run, wait=not no_wait, timeout=timeout, concurrency=concurrency)

    planned = reconciliation(settings, files, variables, prune=prune, margin=handoff_margin).plan
    machine = settings.output in ("json", "yaml")
    if not machine:
        render.plan(settings, planned)
    if planned.empty or dry_run:
        if machine:
            render.dump(settings, render.apply_document(planned, [], applied=False))
        return
    try:
        blocked = [c for c in planned.changes if c.needs_allow_replace and not allow_replace]
        if blocked:
            what = "; ".join(f"{c.title()}: {c.reason}" for c in blocked)
            raise EsmctlError(f"refusing to replace without --allow-replace (a new stream mapping does not keep "
                              f"the old one's position): {what}")
        destructive = [c for c in planned.changes if c.destructive]
        if destructive:
            confirm(f"{len(destructive)} change(s) delete, replace or hand off mappings. Go on?", yes,
                    f"refusing to delete, replace or hand off {len(destructive)} mapping(s) without confirmation")
    except EsmctlError:
        if machine:  # the one documented shape, nothing applied; the reason on stderr, exit 1
            render.dump(settings, render.apply_document(planned, [], applied=False))
        raise

    with render.progress(settings, f"applying {len(planned.changes)} change(s)", len(planned.changes)) as advance:
        def step(r: Any) -> None:
            advance(f"{'ok' if r.ok else 'FAILED'}: {r.change.action} {r.change.title()}: {r.message}")

        results = reconcile.apply(settings.aws, planned, concurrency=concurrency, wait=not no_wait,
                                  timeout=timeout, on_step=step)
    if machine:
        render.dump(settings, render.apply_document(planned, results, applied=True))
    else:
        render.results(settings, results)
    failed = [r for r in results if not r.ok]
    if failed:
        raise EsmctlError(f"{len(failed)} of {len(results)} change(s) failed", EXIT_ERROR)


@click.command("export")
@click.option("--function", "functions", multiple=True, metavar="NAME|ARN",
              shell_complete=complete_function, help="Only these functions; repeatable.")
@click.option("--source", "sources", multiple=True, metavar="ARN", help="Only these sources; repeatable.")
@click.option("--with-tags", is_flag=True, help="Include tags (one ListTags call per mapping).")
@common_options
@pass_settings
def export(settings: Settings, functions: tuple[str, ...], sources: tuple[str, ...], with_tags: bool) -> None:
    """Print the live mappings as a spec (only non-default fields) that `diff` finds in sync."""
    import yaml

    from esmctl import model, render
    from esmctl.aws import explain
    from esmctl.export import to_spec
    from esmctl.listing import select
    from esmctl.reconcile import decrypted_filters

    items = select(settings, functions, sources)
    if not items:
        wanted = ", ".join(functions + sources) or "this region"
        click.echo(f"esmctl: warning: no mappings found for {wanted}", err=True)
    aws = settings.aws
    tags = {}
    filters = {}
    with explain("reading mappings"):
        for m in items:
            if model.filters_hidden(m):
                filters[m["UUID"]] = decrypted_filters(aws, m["UUID"])
            if with_tags:
                tags[m["UUID"]] = aws.mapping_tags(m["EventSourceMappingArn"])
    with explain("finding the account"):
        doc = to_spec(items, aws.region, aws.account, tags if with_tags else None, filters)
    if settings.query is not None:  # as on every JSON and YAML document
        doc = render.queried(settings, doc)
    if settings.output == "json":
        import json

        click.echo(json.dumps(doc, indent=2))
    else:
        click.echo(yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, width=120), nl=False)


COMMANDS = [validate, plan_cmd, diff_cmd, apply_cmd, export]
