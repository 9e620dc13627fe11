"""The options of `esmctl mapping create` and `update`, made from botocore's model of the Create and Update
requests with the AWS CLI's own names (`--maximum-batching-window-in-seconds`, `--destination-config JSON`, …),
plus a few shorter ones (`--source`, `--on-failure`, `--filter`, `--tag`); and the request they make
(`build_params`), checked by the model and the service's rules (`check`) before it is sent.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

import click

from esmctl.errors import UsageProblem

# Model members with options of their own below (or none: Tags has --tag and --tags).
_SPECIAL = {"UUID", "FunctionName", "EventSourceArn", "Tags"}
# Shorter names kept beside the AWS CLI's.
_ALIASES = {"MaximumBatchingWindowInSeconds": ["--maximum-batching-window"],
            "MaximumRecordAgeInSeconds": ["--maximum-record-age"],
            "TumblingWindowInSeconds": ["--tumbling-window"],
            "Topics": ["--topic"], "Queues": ["--queue"]}


def _kebab(member: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])|(?<=[A-Z])([A-Z][a-z])", r"-\1\2", member).lower()


def _first_sentence(html: str | None) -> str:
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html or "")).strip()
    return text.split(". ")[0].rstrip(".") + "." if text else ""


class ModelInt(click.ParamType):
    """An integer checked against the range in botocore's Lambda model."""

    name = "integer"

    def __init__(self, member: str) -> None:
        self.member = member

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            n = value
        else:
            try:
                n = int(value)
            except (TypeError, ValueError):
                self.fail(f"{value!r} is not a whole number", param, ctx)
        from esmctl.schema import int_bounds

        lo, hi = int_bounds(self.member)
        if (lo is not None and n < lo) or (hi is not None and n > hi):
            self.fail(f"{n} is out of range for {self.member} (allowed: {lo}–{hi})", param, ctx)
        return n


class Upper(click.Choice):
    """One of the model's enum values, shown as AWS writes them, accepted in any case."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        for choice in self.choices:
            if isinstance(value, str) and value.lower() == str(choice).lower():
                return choice
        return super().convert(value, param, ctx)


def file_text(value: str, param: click.Parameter | None, ctx: click.Context | None) -> str:
    """A value as the AWS CLI takes one: `file://PATH` is the file's text."""
    if not value.startswith("file://"):
        return value
    path = os.path.expanduser(value.removeprefix("file://"))
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}", ctx, param) \
            from None


class Json(click.ParamType):
    """A structure or list as JSON, as the AWS CLI takes it (or `file://PATH`, a file of it)."""

    name = "json"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        text = file_text(value, param, ctx)
        try:
            return json.loads(text)
        except ValueError as exc:
            where = f" in {value.removeprefix('file://')}" if value.startswith("file://") else ""
            self.fail(f"not valid JSON{where}: {exc}", param, ctx)


def tag(value: str) -> tuple[str, str]:
    """--tag KEY=VALUE."""
    if "=" not in value:
        raise click.BadParameter(f"{value!r}: expected KEY=VALUE")
    k, v = value.split("=", 1)
    return k, v


def model_options(operation: str) -> list[click.Option]:
    """An option for each member of the request, named as the AWS CLI names it."""
    from esmctl.servicemodel import input_shape

    out = []
    for member, shape in input_shape(operation).members.items():
        if member in _SPECIAL:
            continue
        flag = "--" + _kebab(member)
        names = [flag, *_ALIASES.get(member, [])]
        text = _first_sentence(shape.documentation)
        kw: dict[str, Any] = {"default": None, "help": text}
        t = shape.type_name
        if t == "boolean":
            names = [f"{flag}/--no-{flag[2:]}"]
            if member == "Enabled":
                names = ["--enabled/--disabled", "--enable/--no-enabled"]
            kw["help"] = text
        elif t in ("integer", "long"):
            kw["type"] = ModelInt(member)
        elif t == "string" and shape.enum:
            kw["type"] = Upper(list(shape.enum))
        elif t == "list" and shape.member.type_name == "string":
            kw.update(multiple=True, default=(), metavar="VALUE")
            if shape.member.enum:
                kw["type"] = Upper(list(shape.member.enum))
        elif t in ("structure", "map", "list"):
            kw.update(type=Json(), metavar="JSON")
        elif t == "timestamp":
            kw["metavar"] = "TIME"
            kw["help"] = text + " ISO 8601 (any offset), or epoch seconds."
        out.append(click.Option(names, **{**kw, "expose_value": True}, callback=_remember(member)))
    return out


def _remember(member: str):
    """Keep the API member name of each given option, for build_params."""

    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
        if value is not None and value != ():
            ctx.meta.setdefault("esmctl.members", {})[member] = value
        return value

    return callback


def convenience_options() -> list[click.Option]:
    """Shorter ways to say common things, beside the AWS CLI's names."""
    return [
        click.Option(["--on-failure"], metavar="ARN",
                     help="OnFailure destination (streams and Kafka): an SQS queue, SNS topic or S3 bucket ARN, or "
                          "kafka://TOPIC (Kafka, the same cluster). '' removes it."),
        click.Option(["--filter", "filters"], multiple=True, metavar="PATTERN",
                     callback=lambda ctx, param, value: tuple(file_text(v, param, ctx) for v in value),
                     help="A filter pattern (JSON, or file://PATH); repeat for more. Replaces the filters."),
        click.Option(["--report-batch-item-failures/--no-report-batch-item-failures"], default=None,
                     help="FunctionResponseTypes ReportBatchItemFailures, or none."),
        click.Option(["--maximum-concurrency"], type=int, help="ScalingConfig MaximumConcurrency (SQS, 2–1000)."),
        click.Option(["--cli-input-yaml", "input_file"], type=click.Path(dir_okay=False, allow_dash=True),
                     help="More parameters from a YAML (or JSON) file, with the API's names; options win."),
    ]


def build_params(ctx: click.Context, opts: dict[str, Any], operation: str) -> tuple[dict[str, Any], str | None]:
    """The request's parameters from the options and --cli-input-yaml (an option wins over the file),
    and the UUID the file names, if any. Conflicting options are usage errors."""
    from esmctl.mapping import values

    params: dict[str, Any] = {}
    file_uuid = None
    input_file = opts.get("input_file")
    members = dict(ctx.meta.get("esmctl.members", {}))
    if input_file is not None:
        doc = _input_document(input_file)
        loaded = dict(doc.data or {})
        file_uuid = loaded.pop("UUID", None)
        params.update(loaded)
        ctx.meta["esmctl.input"] = doc  # where each of the file's parameters was written, for check()
    for member, value in members.items():
        params[member] = list(value) if isinstance(value, tuple) else value

    def exclusive(member: str, *flags: str) -> None:
        """Options that set the same member: at most one of them."""
        dests = {"--filter": "filters"}
        given = [f for f in flags if opts.get(dests.get(f, f[2:].replace("-", "_"))) not in (None, (), False)]
        given += [f"--{_kebab(member)}"] * (member in members)
        if len(given) > 1:
            raise click.UsageError(f"{' and '.join(given)} set the same thing: give one")

    exclusive("DestinationConfig", "--on-failure")
    if opts.get("on_failure") is not None:
        dest = opts["on_failure"]
        params["DestinationConfig"] = {"OnFailure": {"Destination": dest}}
    exclusive("FilterCriteria", "--filter", "--clear-filters")
    if opts.get("filters"):
        params["FilterCriteria"] = {"Filters": [{"Pattern": p} for p in opts["filters"]]}
    elif opts.get("clear_filters"):
        params["FilterCriteria"] = {}
    exclusive("FunctionResponseTypes", "--report-batch-item-failures")
    rbif = opts.get("report_batch_item_failures")
    if rbif is not None:
        params["FunctionResponseTypes"] = ["ReportBatchItemFailures"] if rbif else []
    exclusive("ScalingConfig", "--maximum-concurrency")
    if opts.get("maximum_concurrency") is not None:
        params["ScalingConfig"] = {"MaximumConcurrency": opts["maximum_concurrency"]}
    if opts.get("tags"):
        params["Tags"] = {**params.get("Tags", {}), **dict(opts["tags"])}
    if "StartingPositionTimestamp" in params:
        try:
            params["StartingPositionTimestamp"] = values.instant(params["StartingPositionTimestamp"])
        except ValueError as exc:
            raise click.UsageError(f"--starting-position-timestamp: {exc}") from exc
    return params, file_uuid


def _input_document(path: str) -> Any:
    """--cli-input-yaml's file, read as a spec is read (safe YAML, no repeated key, within the reader's limits),
    its ${NAME} text, as the AWS CLI has it; a problem is said at its FILE:LINE:COL."""
    import dataclasses

    from esmctl import yamldoc

    try:
        doc = yamldoc.load(path, yamldoc.read_text(path), fill=False)
    except yamldoc.YamlError as exc:
        raise UsageProblem("\n".join(str(dataclasses.replace(p, field="--cli-input-yaml"))
                                     if p.field == yamldoc.DOCUMENT else str(p) for p in exc.problems)) from exc
    if not isinstance(doc.data, dict) and doc.data is not None:
        raise UsageProblem(f"{doc.at(())}: --cli-input-yaml: expected a mapping of API parameters")
    return doc


def _placed(field: str, params: dict[str, Any]) -> str:
    """A problem's field, after FILE:LINE:COL where --cli-input-yaml wrote it (an option given for it wins)."""
    ctx = click.get_current_context(silent=True)
    doc = ctx.meta.get("esmctl.input") if ctx is not None else None
    path = tuple(int(step) if step.isdigit() else step for step in re.findall(r"[^.\[\]]+", field or ""))
    if doc is None or not path or not isinstance(doc.data, dict) or path[0] not in doc.data \
            or path[0] in ctx.meta.get("esmctl.members", {}) or params.get(path[0]) is not doc.data[path[0]]:
        return field or "parameters"
    return f"{doc.at(path)}: {field}"


def check(params: dict[str, Any], operation: str, kind: str | None = None,
          context: dict[str, Any] | None = None) -> None:
    """The model's checks, then the service's rules for the mapping's kind of source (with `context`,
    the live mapping's values, for the rules across fields): every problem, as one usage error."""
    from esmctl import rules, schema, servicemodel

    whole = {**(context or {}), **params}
    facts = rules.facts_of(whole, kind)  # of the change and the live mapping it lands on: a superset of the change's
    problems = schema.check_shape(params, servicemodel.input_shape(operation), "", facts)
    given = set(params) | ({"MaximumBatchingWindowInSeconds"} if "BatchSize" in params else set())
    problems += [(f, m) for f, m in rules.cross_field_problems(whole, facts)
                 if context is None or re.split(r"[.\[]", f)[0] in given]
    if facts.kind and "FilterCriteria" in params:  # the patterns, as a spec's are (its kind of source known)
        from esmctl.filters import checks

        for api, problem in checks.criteria_problems(params["FilterCriteria"], facts.kind):
            name = checks.problem_field(api, problem)
            if problem.error:
                problems.append((name, problem.message))
            else:
                click.echo(f"esmctl: warning: {name}: {problem.message}", err=True)
    if problems:
        raise UsageProblem("; ".join(f"{_placed(field, params)}: {msg}" for field, msg in problems))


class ModelCommand(click.Command):
    """A command whose options come from botocore's model, added when the command is built."""

    def __init__(self, *args: Any, operation: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params[:0] = model_options(operation) + convenience_options()
