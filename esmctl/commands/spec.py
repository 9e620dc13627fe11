"""`esmctl validate | plan | diff | apply | export`: reconcile a YAML spec with the live mappings."""

from __future__ import annotations

import sys
from typing import Any

import click

from esmctl.context import Settings, common_options, confirm, pass_settings
from esmctl.errors import EXIT_ERROR, EXIT_USAGE, EsmctlError

var_option = click.option("--var", "variables", multiple=True, metavar="NAME=VALUE",
                          help="Value for a ${NAME} placeholder; repeatable (then the environment).")
prune_option = click.option("--prune", is_flag=True,
                            help="Delete live mappings of the spec's functions that the spec does not list.")
spec_argument = click.argument("file", type=click.Path(dir_okay=False, allow_dash=False))


def load_spec(settings: Settings, file: str, variables: tuple[str, ...]):
    from esmctl import spec

    loaded = spec.load(file, spec.parse_vars(variables))
    if loaded.region and loaded.region != settings.region:
        # The spec's region wins over the environment's default; a --region that disagrees is a mistake.
        if settings.region_from_flag:
            raise EsmctlError(f"{file}: the spec is for region {loaded.region}, but --region is {settings.region}")
        if settings._aws is not None:
            raise EsmctlError(f"{file}: the spec is for region {loaded.region}, but this run uses {settings.region}")
        settings.region = loaded.region
    return loaded


def targets_and_live(settings: Settings, file: str, variables: tuple[str, ...]) -> tuple[list, list[dict]]:
    """The spec's mappings with their identities resolved, and one listing of the live mappings."""
    from concurrent.futures import ThreadPoolExecutor

    from esmctl.aws import explain
    from esmctl.consumers import resolve_targets

    loaded = load_spec(settings, file, variables)
    aws = settings.aws
    with ThreadPoolExecutor(max_workers=1) as pool:
        # The listing is the slow part: the account lookup overlaps with it.
        listing = pool.submit(aws.list_mappings)
        with explain("finding the AWS account"):
            aws.account  # noqa: B018 - one STS call, made while the listing runs
        with explain("listing mappings"):
            live = listing.result()
    with explain("resolving functions and consumers"):
        targets = resolve_targets(aws, loaded.mappings)
    return targets, live


def build_plan(settings: Settings, file: str, variables: tuple[str, ...], prune: bool, handoff_margin: float = 60):
    """Spec + one listing of the live mappings (+ tags only where the spec sets Tags) -> Plan."""
    from esmctl import plan as planner
    from esmctl.aws import explain
    from esmctl.consumers import plan_handoffs

    targets, live = targets_and_live(settings, file, variables)
    by_key = {(m["FunctionArn"], m.get("EventSourceArn", "")): m for m in live}
    live_tags: dict[str, dict[str, str]] = {}
    for t in targets:
        current = by_key.get(t.key)
        if current is not None and "Tags" in t.params:
            with explain(f"reading the tags of mapping {current['UUID']}"):
                live_tags[current["UUID"]] = settings.aws.mapping_tags(current["EventSourceMappingArn"])
    result = planner.diff(targets, live, prune=prune, live_tags=live_tags)
    with explain("reading IteratorAge for hand-offs"):
        plan_handoffs(settings.aws, result, targets, live, handoff_margin)
    return result


@click.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@var_option
@common_options
@pass_settings
def validate(settings: Settings, files: tuple[str, ...], variables: tuple[str, ...]) -> None:
    """Check spec files offline: no credentials, no network. Exit 0 if valid, 1 if not."""
    from esmctl import spec
    from esmctl.errors import SpecError

    problems: list[str] = []
    count = 0
    for file in files:
        try:
            count += len(spec.load(file, spec.parse_vars(variables)).mappings)
        except SpecError as exc:
            problems.extend(exc.problems)
    if problems:
        raise SpecError(problems)
    click.echo(f"{', '.join(files)}: valid ({count} mapping{'s' if count != 1 else ''})", err=True)


@click.command("plan")
@spec_argument
@prune_option
@var_option
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes, 0 when none, 1 on error.")
@click.option("--handoff-margin", type=float, default=60, show_default=True,
              help="Seconds before the old mapping's position to start a hand-off at.")
@common_options
@pass_settings
def plan_cmd(settings: Settings, file: str, prune: bool, variables: tuple[str, ...], detailed_exitcode: bool,
             handoff_margin: float) -> None:
    """Show what `apply` would change, Terraform style (+ create, ~ update, -/+ replace, - delete)."""
    from esmctl import render

    result = build_plan(settings, file, variables, prune, handoff_margin)
    render.plan(settings, result)
    if detailed_exitcode and not result.empty:
        sys.exit(EXIT_USAGE)


@click.command("diff")
@spec_argument
@prune_option
@var_option
@common_options
@pass_settings
def diff_cmd(settings: Settings, file: str, prune: bool, variables: tuple[str, ...]) -> None:
    """Like plan; exit 0 in sync, 2 with changes, 1 on error (for CI drift checks)."""
    from esmctl import render

    result = build_plan(settings, file, variables, prune)
    render.plan(settings, result)
    if not result.empty:
        sys.exit(EXIT_USAGE)


@click.command("apply")
@spec_argument
@prune_option
@var_option
@click.option("--allow-replace", is_flag=True,
              help="Allow delete+create for changes Lambda cannot make in place (drops the stream position).")
@click.option("-y", "--yes", is_flag=True, help="Don't ask before deleting, replacing or handing off.")
@click.option("--dry-run", is_flag=True, help="Show the plan; change nothing.")
@click.option("--no-wait", is_flag=True, help="Don't wait for mappings to leave Creating/Updating.")
@click.option("--timeout", type=float, default=600, show_default=True, help="Seconds to wait in all.")
@click.option("--concurrency", type=click.IntRange(1, 32), default=4, show_default=True,
              help="Changes in flight at once (Lambda allows 15 requests/s per account and region).")
@click.option("--handoff-margin", type=float, default=60, show_default=True,
              help="Seconds before the old mapping's position to start a hand-off at.")
@common_options
@pass_settings
def apply_cmd(settings: Settings, file: str, prune: bool, variables: tuple[str, ...], allow_replace: bool, yes: bool,
              dry_run: bool, no_wait: bool, timeout: float, concurrency: int, handoff_margin: float) -> None:
    """Make the live mappings match the spec. Plans everything before the first write."""
    from esmctl import render
    from esmctl.apply import Executor
    from esmctl.plan import REPLACE

    result = build_plan(settings, file, variables, prune, handoff_margin)
    if settings.output not in ("json", "yaml") or dry_run:
        render.plan(settings, result)
    if result.empty or dry_run:
        return
    blocked = [c for c in result.changes if c.action == REPLACE and not allow_replace]
    if blocked:
        what = "; ".join(f"{render.change_title(c)}: {c.reason}" for c in blocked)
        raise EsmctlError(f"refusing to replace without --allow-replace (a replaced stream mapping loses its "
                          f"position: LATEST skips records, TRIM_HORIZON replays the stream): {what}")
    destructive = [c for c in result.changes if c.destructive]
    if destructive:
        confirm(f"{len(destructive)} change(s) delete or replace mappings. Go on?", yes,
                f"refusing to delete or replace {len(destructive)} mapping(s) without confirmation")

    steps = len(result.changes) + result.count(REPLACE)  # a replace is a delete, then a create
    with render.progress(settings, f"applying {len(result.changes)} change(s)", steps) as advance:
        def step(r: Any) -> None:
            status = "ok" if r.ok else "FAILED"
            advance(f"{status}: {r.change.action} {render.change_title(r.change)}: {r.message}")

        executor = Executor(settings.aws, concurrency=concurrency, wait=not no_wait, timeout=timeout,
                            on_step=step)
        outcome = executor.execute(result)
    if settings.output in ("json", "yaml"):
        render.dump(settings, {"plan": render.plan_document(result), "results": render.result_documents(outcome)})
    else:
        render.results(settings, outcome)
    failed = [r for r in outcome if not r.ok]
    if failed:
        raise EsmctlError(f"{len(failed)} of {len(outcome)} change(s) failed", EXIT_ERROR)


@click.command("export")
@click.option("--function", "functions", multiple=True, metavar="NAME|ARN", help="Only these functions; repeatable.")
@click.option("--source", "sources", multiple=True, metavar="ARN", help="Only these sources; repeatable.")
@click.option("--with-tags", is_flag=True, help="Include tags (one ListTags call per mapping).")
@common_options
@pass_settings
def export(settings: Settings, functions: tuple[str, ...], sources: tuple[str, ...], with_tags: bool) -> None:
    """Print the live mappings as a spec (only non-default fields) that `diff` finds in sync."""
    import yaml

    from esmctl.aws import explain
    from esmctl.commands.mapping import select
    from esmctl.export import to_spec

    items = select(settings, functions, sources)
    aws = settings.aws
    tags = {}
    if with_tags:
        for m in items:
            with explain(f"reading the tags of mapping {m['UUID']}"):
                tags[m["UUID"]] = aws.mapping_tags(m["EventSourceMappingArn"])
    with explain("finding the account"):
        doc = to_spec(items, aws.region, aws.account, tags if with_tags else None)
    if settings.output == "json":
        import json

        click.echo(json.dumps(doc, indent=2))
    else:
        click.echo(yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, width=120), nl=False)


COMMANDS = [validate, plan_cmd, diff_cmd, apply_cmd, export]
