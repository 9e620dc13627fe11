"""`esmctl validate | plan | diff | apply | export`: reconcile YAML specs with the live mappings.

The commands are thin: reading and planning is `reconcile.plan`, carrying out is `reconcile.apply`,
printing is `output` (over esmctl/views). They return an Outcome; `cli` turns it into the exit code.
"""

from __future__ import annotations

import os
import time
from typing import Any

import click

from esmctl.commands import output, shared
from esmctl.commands.shared import (
    Seconds,
    common_options,
    complete_function,
    ctrl_c,
    files_argument,
    interrupted_summary,
    load_spec,
    margin_option,
    pass_settings,
    prune_option,
    source_arns,
    var_option,
)
from esmctl.context import Settings
from esmctl.errors import EsmctlError, Interrupted, Outcome
from esmctl.views.document import queried
from esmctl.views.plan import plan_document
from esmctl.views.results import apply_document, result_label


def reconciliation(settings: Settings, files: tuple[str, ...], variables: tuple[str, ...], *, prune: bool = False,
                   margin: float = 60, timeout: float | None = None):  # -> reconcile.Reconciliation
    """`timeout`: apply's, which bounds the plan's wait for mappings in Creating or Updating too."""
    from esmctl import reconcile

    loaded = load_spec(settings, files, variables)  # checked before anything is asked of AWS
    shared.say_warnings([loaded])
    options = reconcile.Options(prune=prune, margin=margin)
    return reconcile.plan(settings.aws, loaded, options if timeout is None else options.within(timeout))


def _plan_file(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """--out FILE: a file; `-` (standard output, where the plan is shown, and standard input for `apply -`, a spec)
    is a usage error."""
    if value == "-":
        raise click.BadParameter("a saved plan goes to a file (`-` is not one: `apply -` reads a spec from standard "
                                 "input): give a path, e.g. --out plan.esmctl")
    return value


@click.command("validate")
@files_argument
@var_option
@click.option("--each", is_flag=True, help="Check each file as a spec of its own (pre-commit passes every staged file "
                                           "at once), not all the files as one spec.")
@shared.targets_option
@common_options
@pass_settings
def validate(settings: Settings, files: tuple[str, ...], variables: tuple[str, ...], each: bool) -> None:
    """Check spec files offline: no credentials, no network. Exit 0 if valid, 1 if not."""
    from esmctl import spec
    from esmctl.errors import Problem, SpecError

    files = tuple(spec.distinct(files))  # a file named twice is one file
    problems: list[Problem] = []
    places: list[str] = []  # what had them: the spec, the targets file, the spec's targets
    warnings: list[str] = []  # the filters' (esmctl.filters.checks): said, but the spec stays valid
    count = targets = 0
    for group in ([(f,) for f in files] if each else [files]):
        try:  # as plan loads it: a --region that is not the spec's is refused here too
            named = shared.spec_naming_targets(group)
            if named or settings.fleet.targets:  # the spec as each target fills it
                from esmctl.commands import fleet_runs

                found, mappings, said = fleet_runs.validate(group, variables, named or settings.fleet.targets,
                                                            bool(named))
                count, targets, warnings = count + mappings, targets + found, warnings + said
            else:
                loaded = load_spec(settings, group, variables).mappings
                count += len(loaded)
                warnings += [w for m in loaded for w in m.warnings]
        except EsmctlError as exc:
            problems += exc.problems if isinstance(exc, SpecError) else [Problem(None, "", exc.format_message())]
            places.append(getattr(exc, "where", "the spec"))
    warnings = list(dict.fromkeys(warnings))  # once each: mappings sharing a pattern (a YAML anchor), or the targets
    for line in warnings:
        click.echo(line, err=True)
    if problems:
        if settings.output in ("json", "yaml"):  # a spec with problems has no count of mappings
            output.dump(settings, {"valid": False, "files": list(files), "mappings": None,
                                   "problems": [str(p) for p in problems], "warnings": warnings})
        where = " and ".join(dict.fromkeys(places))
        if where != "the spec":
            from esmctl.errors import TargetsError

            raise TargetsError(problems, where)
        raise SpecError(problems)
    if settings.output in ("json", "yaml"):
        output.dump(settings, {"valid": True, "files": list(files), "mappings": count, "problems": [],
                               "warnings": warnings})
    else:
        names = ", ".join("<stdin>" if f == "-" else f for f in files)  # as the problems name them
        where = f" over {targets} target{'s' if targets != 1 else ''}" if targets else ""
        click.echo(f"{names}: valid ({count} mapping{'s' if count != 1 else ''}{where})", err=True)


@click.command("plan")
@files_argument
@prune_option
@var_option
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes, 0 when none, 1 on error.")
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), default=None, metavar="FILE",
              callback=_plan_file,
              help="Also save the plan here: `apply FILE` carries out exactly this plan, or refuses what moved since.")
@margin_option
@click.option("--sample", type=click.Path(allow_dash=True, dir_okay=False), metavar="FILE",
              help="Records (as `filter test --records`): how many each filter change keeps before and after.")
@click.option("--sample-from-source", type=click.IntRange(1, 10000), metavar="N",
              help="As --sample, with the newest N records of each Kinesis or DynamoDB stream (read, not consumed).")
@shared.fleet_options
@common_options
@pass_settings
def plan_cmd(settings: Settings, files: tuple[str, ...], prune: bool, variables: tuple[str, ...],
             detailed_exitcode: bool, out: str | None, handoff_margin: float, sample: str | None,
             sample_from_source: int | None) -> Outcome:
    """Show what `apply` would change, Terraform style (+ create, ~ update, ~ move, -/+ replace, <~> hand-off,
    - delete); --out saves it for `apply PLAN`."""

    if shared.fleet_mode(settings, files):
        from esmctl.commands import fleet_runs

        if out is not None or sample or sample_from_source:
            raise click.UsageError(f"{'--out saves' if out else '--sample tries'} the plan of one account and region: "
                                   "not with targets")
        return fleet_runs.plan(settings, "plan", files, variables, prune=prune, margin=handoff_margin,
                               exit_on_changes=detailed_exitcode)

    if sample and sample_from_source:
        raise click.UsageError("--sample FILE or --sample-from-source N, not both")
    if sample:
        from esmctl.filters import samples

        # before AWS is asked anything: a bad file ends the run here
        records = samples.read_records(sample, option="--sample")
    rec = reconciliation(settings, files, variables, prune=prune, margin=handoff_margin)
    if out is not None:  # first: a closed stdout (`| head`) must not lose the file
        from esmctl.plan import codec as planfile

        aws = settings.aws
        planfile.save(out, rec.plan, rec.live, account=aws.account, region=aws.region, spec=rec.spec,
                      tags=rec.reads.tags)
        click.echo(f"esmctl: saved the plan to {out}: `esmctl apply {out}` carries out exactly this plan", err=True)
    output.plan(settings, rec.plan)
    if sample or sample_from_source:  # esmctl.filters.impact: the filter changes against records, on stderr
        from esmctl.filters import impact

        found = impact.lines(rec.plan, records) if sample else \
            impact.lines_from_sources(settings.aws, rec.plan, sample_from_source)
        for line in found:
            click.echo(line, err=True)
    return Outcome.CHANGES if detailed_exitcode and not rec.plan.empty else Outcome.OK


@click.command("diff")
@files_argument
@prune_option
@var_option
@margin_option
@shared.fleet_options
@common_options
@pass_settings
def diff_cmd(settings: Settings, files: tuple[str, ...], prune: bool, variables: tuple[str, ...],
             handoff_margin: float) -> Outcome:
    """Like plan; exit 0 in sync, 2 with changes, 1 on error (a CI drift gate)."""

    if shared.fleet_mode(settings, files):
        from esmctl.commands import fleet_runs

        return fleet_runs.plan(settings, "diff", files, variables, prune=prune, margin=handoff_margin,
                               exit_on_changes=True)

    planned = reconciliation(settings, files, variables, prune=prune, margin=handoff_margin).plan
    output.plan(settings, planned)
    return Outcome.OK if planned.empty else Outcome.CHANGES


SAVED_RERUN = "plan again (`plan --out`) and apply the new plan"  # a saved plan is carried out once


@click.command("apply")
@files_argument
@click.option("--prune", is_flag=True, help="Also delete live mappings of the spec's functions that the spec "
                                            "does not list.")
@var_option
@click.option("--allow-replace", is_flag=True,
              help="Allow delete+create for changes Lambda cannot make in place (a stream mapping's position is "
                   "not carried over).")
@click.option("-y", "--yes", is_flag=True, help="Don't ask (at a terminal apply asks before any change; elsewhere "
                                                 "it needs --yes to delete, replace or hand off).")
@click.option("--dry-run", is_flag=True, help="Show the plan; change nothing.")
@click.option("--no-wait", is_flag=True, help="Don't wait for new and updated mappings to settle.")
@click.option("--timeout", type=Seconds(), default=600, show_default=True,
              help="Seconds for the whole apply, every wait included.")
@click.option("--concurrency", type=click.IntRange(1, 32), default=4, show_default=True,
              help="Changes in flight at once (Lambda allows 15 requests/s per account and region).")
@click.option("--partial", is_flag=True,
              help="With a saved plan: carry out the changes that still hold, though others moved since.")
@margin_option
@shared.fleet_options
@common_options
@pass_settings
def apply_cmd(settings: Settings, files: tuple[str, ...], prune: bool, variables: tuple[str, ...],
              allow_replace: bool, yes: bool, dry_run: bool, no_wait: bool, timeout: float, concurrency: int,
              partial: bool, handoff_margin: float) -> None:
    """Make the live mappings match the spec, or carry out a plan saved by `plan --out` exactly.
    Plans everything before the first write."""
    from esmctl import reconcile
    from esmctl.execute import Interrupt
    from esmctl.plan import codec as planfile

    if shared.fleet_mode(settings, files):
        from esmctl.commands import fleet_runs

        if partial:
            raise click.UsageError("--partial is for a saved plan of one account and region: not with targets")
        if any(planfile.is_saved_plan(f) for f in files):
            raise click.UsageError("a saved plan is of one account and region: `esmctl apply PLAN`, not with targets")
        interrupt = Interrupt()
        return fleet_runs.apply(settings, files, variables, prune=prune, margin=handoff_margin,
                                allow_replace=allow_replace, yes=yes, dry_run=dry_run, wait=not no_wait,
                                timeout=timeout, concurrency=concurrency, interrupt=interrupt,
                                guard=lambda: ctrl_c(settings, interrupt))

    started = time.monotonic()  # --timeout is for the whole apply: the plan's waits too
    machine = settings.output in ("json", "yaml")
    refused: list[Any] = []
    if len(files) > 1 and any(planfile.is_saved_plan(f) for f in files):
        raise click.UsageError("a saved plan is applied on its own: `esmctl apply PLAN`, no spec files beside it")
    saved = len(files) == 1 and planfile.is_saved_plan(files[0])
    if saved:
        from click.core import ParameterSource

        given = click.get_current_context().get_parameter_source("handoff_margin") is not ParameterSource.DEFAULT
        if prune or variables or given:
            raise click.UsageError("a saved plan is carried out as it was planned: --prune, --var and "
                                   "--handoff-margin belong to `plan --out`")
        planned, refused = _saved_plan(settings, files[0])
        if refused and not partial:
            if machine:
                output.dump(settings, {**apply_document(planned, [], applied=False),
                                       "refused": _refused_documents(refused)})
            else:
                output.plan(settings, planned)
            what = "; ".join(f"{r.change.action} {r.change.title()}: {r.why}" for r in refused)
            raise EsmctlError(f"{len(refused)} of {len(planned.changes)} planned change(s) no longer hold, so "
                              f"nothing was applied (--partial applies the others; or plan again): {what}")
        planned = planned.without({id(r.change) for r in refused})
    else:
        if partial:
            raise click.UsageError("--partial is for a saved plan (`plan --out FILE`, then `apply FILE`)")
        planned = reconciliation(settings, files, variables, prune=prune, margin=handoff_margin, timeout=timeout).plan
    if not machine:
        if planned.changes or not refused:  # not "No changes" when the rest was refused
            output.plan(settings, planned, replace_allowed=allow_replace)
        for r in refused:
            click.echo(f"esmctl: refused (moved since the plan): {r.change.action} {r.change.title()}: {r.why}",
                       err=True)
    if planned.empty or dry_run:
        if machine:
            output.dump(settings, {**apply_document(planned, [], applied=False),
                                   **({"refused": _refused_documents(refused)} if refused else {})})
        if refused:
            raise EsmctlError(f"{len(refused)} planned change(s) refused: they moved since the plan")
        return
    try:
        blocked = [c for c in planned.changes if c.needs_allow_replace and not allow_replace]
        if blocked:
            what = "; ".join(f"{c.title()}: {c.reason}" for c in blocked)
            raise EsmctlError(f"refusing to replace without --allow-replace (a new stream mapping does not keep "
                              f"the old one's position): {what}")
        destructive = sum(c.destructive for c in planned.changes)
        asked = time.monotonic()
        agreed = output.consent_to_apply(yes, destructive)
        started += time.monotonic() - asked  # the time a person took to answer is not the apply's
        if not agreed and destructive:
            raise EsmctlError(f"refusing to delete, replace or hand off {destructive} mapping(s) without "
                              "confirmation: pass --yes (stdin is not a terminal, so esmctl cannot ask)")
    except EsmctlError:
        if machine:  # the one documented shape, nothing applied; the reason on stderr, exit 1
            output.dump(settings, apply_document(planned, [], applied=False))
        raise

    interrupt = Interrupt()
    with ctrl_c(settings, interrupt), \
            output.progress(settings, f"applying {len(planned.changes)} change(s)", len(planned.changes)) as advance:
        def step(r: Any) -> None:
            # Without a progress bar a done change is said once, in the results table; what went wrong is
            # said as it happens too.
            if output.animated(settings) or r.status != "done":
                advance(f"{result_label(r)}: {r.change.action} {r.change.title()}: {r.message}")

        results = reconcile.apply(settings.aws, planned, concurrency=concurrency, wait=not no_wait,
                                  timeout=timeout, started=started, on_step=step, interrupt=interrupt,
                                  **({"rerun": SAVED_RERUN} if saved else {}))
    if machine:
        output.dump(settings, {**apply_document(planned, results, applied=True, interrupted=bool(interrupt)),
                               **({"refused": _refused_documents(refused)} if refused else {})})
    else:
        output.results(settings, results)
    if interrupt:
        raise Interrupted(interrupted_summary(results, SAVED_RERUN if saved else "re-run apply"))
    failed = [r for r in results if not r.ok]
    if failed or refused:
        also = f"; {len(refused)} refused as moved since the plan" if refused else ""
        raise EsmctlError(f"{len(failed)} of {len(results)} change(s) failed{also}")


def _saved_plan(settings: Settings, path: str) -> tuple[Any, list[Any]]:
    """A saved plan, checked against what is live now: (the plan, the changes that no longer hold)."""
    from esmctl import reconcile
    from esmctl.aws.errors import explain
    from esmctl.mapping import compare
    from esmctl.plan import codec as planfile

    saved = planfile.load(path, refusal="nothing applied")
    if not settings.region_from_flag and settings._aws is None:
        settings.region = saved.region  # the plan's region, as a spec's `region:`
    aws = settings.aws
    planfile.check_target(saved, path, aws.account, aws.region)
    with explain("listing mappings"):
        listing = aws.list_mappings()
    with explain("reading mappings"):
        # KMS-encrypted filters as the plan read them (decrypted), not the listing's hidden ones
        read = planfile.read_uuids(saved)
        live = [compare.live_mapping(raw, reconcile.decrypted_filters(aws, raw["UUID"]))
                if compare.filters_hidden(raw) and raw["UUID"] in read else compare.live_mapping(raw)
                for raw in listing]
    with explain("reading tags"):
        refused = planfile.verify(saved, live, aws.mapping_tags)
    with explain("reading the new mappings' sources"):
        said = {id(r.change) for r in refused}
        refused += [r for r in planfile.gone_sources(saved, aws.source_exists) if id(r.change) not in said]
    return saved.plan, refused


def _refused_documents(refused: list[Any]) -> list[dict[str, Any]]:
    return [{"action": r.change.action.value, "mapping": r.change.title(), "uuid": r.change.uuid, "why": r.why}
            for r in refused]


@click.command("show")
@click.argument("path", metavar="PLAN", type=click.Path(dir_okay=False))
@common_options(aws=False)
@pass_settings
def show_cmd(settings: Settings, path: str) -> None:
    """Print a plan saved by `plan --out`: text, JSON, or Markdown for a pull-request comment."""
    from esmctl.plan import codec as planfile

    if os.path.isfile(path) and not planfile.is_saved_plan(path):  # a pipe is read once, by load
        raise EsmctlError(f"{path}: not a plan saved by `plan --out` (for a spec, `esmctl plan {path}` shows its plan)")
    saved = planfile.load(path)
    about = {"account": saved.account, "region": saved.region, "created": saved.created,
             "esmctl": saved.esmctl_version, "spec": saved.spec}
    if settings.output in ("json", "yaml"):
        output.dump(settings, {**about, "plan": plan_document(saved.plan)})
        return
    files = ", ".join(saved.spec.get("files") or []) or "(stdin)"
    head = (f"Plan for account {saved.account} in {saved.region}, made {saved.created} by esmctl "
            f"{saved.esmctl_version} from {files} (spec sha256 {saved.spec.get('sha256', '')[:12]})")
    click.echo(f"**{head}**\n" if settings.output == "markdown" else head)
    output.plan(settings, saved.plan)


@click.command("export")
@click.option("--function", "functions", multiple=True, metavar="NAME|ARN",
              shell_complete=complete_function, help="Only these functions; repeatable.")
@click.option("--source", "sources", multiple=True, metavar="ARN", callback=source_arns,
              help="Only these sources; repeatable.")
@click.option("--with-tags", is_flag=True, help="Include tags (one ListTags call per mapping).")
@common_options
@pass_settings
def export(settings: Settings, functions: tuple[str, ...], sources: tuple[str, ...], with_tags: bool) -> None:
    """Print the live mappings as a spec (only non-default fields) that `diff` finds in sync."""

    from esmctl.aws.errors import explain
    from esmctl.export import to_spec
    from esmctl.listing import require_functions, select
    from esmctl.mapping import compare, marks
    from esmctl.reconcile import decrypted_filters

    items = select(settings, functions, sources)
    if not sources:  # with sources, a function may just not read them
        require_functions(settings.aws, functions, items)
    if not items:
        wanted = ", ".join(functions + sources) or "this region"
        click.echo(f"esmctl: warning: no mappings found for {wanted}", err=True)
    aws = settings.aws
    tags = {}
    filters = {}
    with explain("reading mappings"):
        for m in items:
            if compare.filters_hidden(m):
                filters[m["UUID"]] = decrypted_filters(aws, m["UUID"])
            if with_tags or m.get("State") in ("Disabled", "Disabling"):  # a Disabled one may be paused
                tags[m["UUID"]] = aws.mapping_tags(m["EventSourceMappingArn"])
    paused = {u: t for u, t in tags.items() if marks.PAUSED_TAG in t}
    with explain("finding the account"):
        doc, warnings = to_spec(items, aws.region, aws.account, tags if with_tags else None, filters, paused)
    for warning in warnings:
        click.echo(warning, err=True)
    if settings.query is not None:  # as on every JSON and YAML document
        doc = queried(settings, doc)
    from esmctl.views.document import json_text, yaml_text

    if settings.output == "json":
        click.echo(json_text(doc, indent=2))
    else:
        click.echo(yaml_text(doc, width=120), nl=False)


COMMANDS = [validate, plan_cmd, diff_cmd, apply_cmd, export, show_cmd]
