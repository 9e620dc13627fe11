"""`esmctl filter test`: a mapping's filters against records, before they ship, with Lambda's verdict on each.

Patterns come from --pattern, from a spec's mapping or from a live mapping; records from a file (as the
function receives them, or one payload per line) or from the newest records of a stream. Nothing is
written anywhere: a stream read consumes nothing, and a queue is never read.
"""

from __future__ import annotations

import json
from typing import Any

import click

from esmctl.commands import output
from esmctl.commands.shared import common_options, pass_settings
from esmctl.context import Settings
from esmctl.errors import EsmctlError
from esmctl.views.tables import ident, prose

SHOWN = 50  # table rows; -o json lists every record


@click.group("filter")
def group() -> None:
    """Try a mapping's filters on records before they ship: which records Lambda keeps, which it drops and why."""


@group.command("test")
@click.argument("spec", required=False, type=click.Path(allow_dash=True))
@click.option("--function", "function", metavar="NAME", help="With SPEC: the mapping of this function.")
@click.option("--source", "source", metavar="ARN", help="With SPEC: the mapping of this source (when the function "
              "has several).")
@click.option("--pattern", "patterns", multiple=True, metavar="JSON",
              help="A filter pattern, as the API's Pattern; repeatable (filters are ORed).")
@click.option("--uuid", metavar="UUID", help="The filters of this live mapping (GetEventSourceMapping: decrypted when "
              "they are KMS-encrypted and you may use the key).")
@click.option("--records", "records_file", type=click.Path(allow_dash=True, dir_okay=False), metavar="FILE",
              help="Records as the function receives them: a Lambda event (Records), a JSON array, or JSON lines.")
@click.option("--payloads", "payloads_file", type=click.Path(allow_dash=True, dir_okay=False), metavar="FILE",
              help="One payload per line, each wrapped in the envelope of --source-kind (for DynamoDB: the "
                   "record's `dynamodb` object).")
@click.option("--from-stream", "stream", metavar="ARN",
              help="The newest records of a Kinesis stream or DynamoDB stream (read, never consumed).")
@click.option("--limit", type=click.IntRange(1, 100000), default=100, show_default=True,
              help="With --from-stream: how many records.")
@click.option("--source-kind", type=click.Choice(["kinesis", "dynamodb", "sqs", "kafka", "mq"]),
              help="The kind of source the records come from (else told by the mapping or the records).")
@click.option("--show", type=click.IntRange(0), default=SHOWN, show_default=True,
              help="Table rows at most (-o json lists every record).")
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", help="With SPEC: fill ${NAME}.")
@common_options
@pass_settings
def test_cmd(settings: Settings, spec: str | None, function: str | None, source: str | None,
             patterns: tuple[str, ...], uuid: str | None, records_file: str | None, payloads_file: str | None,
             stream: str | None, limit: int, source_kind: str | None, show: int, variables: tuple[str, ...]) -> None:
    """Run filters over records as Lambda would: which filter keeps each record, or, for a dropped one, the
    first key that did not match. Exit 0, 1 on bad input.

    \b
    Filters (one of):   --pattern JSON ...   |   SPEC --function F [--source ARN]   |   --uuid UUID
    Records (one of):   --records FILE   |   --payloads FILE --source-kind KIND   |   --from-stream ARN [--limit N]
    """
    from esmctl import collector

    with collector.paused():  # the records: hundreds of thousands of containers, and no cycles
        _test(settings, spec, function, source, patterns, uuid, records_file, payloads_file, stream, limit,
              source_kind, show, variables)


def _test(settings: Settings, spec: str | None, function: str | None, source: str | None,
          patterns: tuple[str, ...], uuid: str | None, records_file: str | None, payloads_file: str | None,
          stream: str | None, limit: int, source_kind: str | None, show: int, variables: tuple[str, ...]) -> None:
    from esmctl.filters import envelopes, samples
    from esmctl.filters.checks import criteria_problems
    from esmctl.filters.engine import FilterSet, PatternError

    given = [name for name, value in (("--pattern", patterns), ("SPEC", spec), ("--uuid", uuid)) if value]
    if len(given) != 1:
        raise click.UsageError("give the filters one way: --pattern JSON, SPEC --function F, or --uuid UUID"
                               + (f" (not {' and '.join(given)})" if given else ""))
    if (function or source) and not spec:
        raise click.UsageError("--function and --source choose a mapping of SPEC")
    inputs = [name for name, value in (("--records", records_file), ("--payloads", payloads_file),
                                       ("--from-stream", stream)) if value]
    if len(inputs) != 1:
        raise click.UsageError("give the records one way: --records FILE, --payloads FILE or --from-stream ARN"
                               + (f" (not {' and '.join(inputs)})" if inputs else ""))

    kind = envelopes.SOURCE_KINDS.get(source_kind or "")
    if spec:
        texts, mapping_kind = _from_spec(spec, function, source, variables)
    elif uuid:
        texts, mapping_kind = _from_mapping(settings, uuid)
    else:
        texts, mapping_kind = list(patterns), ""
    if kind and mapping_kind and _family(kind) != _family(mapping_kind):
        raise click.UsageError(f"--source-kind {source_kind}, but the mapping's source is {mapping_kind}")
    kind = kind or mapping_kind

    records: list[dict]
    if stream:
        from esmctl.filters.streams import Unreadable, newest_records

        try:
            stream_kind, records = newest_records(settings.aws, stream, limit)
        except Unreadable as exc:
            raise click.UsageError(str(exc)) from None
        if kind and _family(kind) != stream_kind:
            raise click.UsageError(f"--from-stream {stream} is a {stream_kind} stream, but the filters are for {kind}")
        kind = kind or stream_kind
    elif payloads_file:
        if not kind:
            raise click.UsageError("--payloads needs --source-kind (kinesis, dynamodb, sqs, kafka or mq) to wrap them")
        records = samples.read_payloads(payloads_file, envelopes.envelope(kind), stream or source or "")
    else:
        records = samples.read_records(records_file or "-", kind)
        if kind:  # records of another kind of source would all be "dropped" for lack of its keys: said instead
            other = next((k for k in map(envelopes.guess_kind, records) if k and k != _family(kind)), None)
            if other:
                raise click.UsageError(f"{records_file or '-'} holds {other} records, but the filters are for "
                                       f"{_family(kind)}: give records of the mapping's kind of source")
        kind = kind or next((k for k in map(envelopes.guess_kind, records) if k), "")
        if not kind:
            raise click.UsageError(f"{records_file}: cannot tell the kind of source of these records: give "
                                   "--source-kind")

    if kind in envelopes.UNFILTERABLE:
        raise EsmctlError("Lambda doesn't support event filtering for DocumentDB")
    criteria = {"Filters": [{"Pattern": t} for t in texts]}
    if not spec and not uuid:  # --pattern: what the API's model refuses (a spec's were checked with the spec)
        from esmctl import rules, schema, servicemodel

        shape = servicemodel.input_shape().members["FilterCriteria"].members["Filters"].member.members["Pattern"]
        lines = [f"{_where(('Filters', i, 'Pattern'), ())}: {message}" for i, text in enumerate(texts)
                 for _, message in schema.check_shape(text, shape, "", rules.Facts(kind=kind))]
        if lines:
            raise EsmctlError("the filters have problems Lambda refuses:\n  " + "\n  ".join(lines))
    problems = criteria_problems(criteria, kind)
    refused = [f"{_where(api, problem.path)}: {problem.message}" for api, problem in problems
               if problem.error and not spec and not uuid]  # a spec's were refused with the spec; a live mapping's
    if refused:                                                 # Lambda took
        raise EsmctlError("the filters have problems Lambda refuses:\n  " + "\n  ".join(refused))
    for api, problem in problems:
        if not problem.error and not spec:  # a spec's mapping said its own warnings, with their places
            click.echo(f"warning: {_where(api, problem.path)}: {problem.message}", err=True)
    try:
        filters = FilterSet(texts, kind)
    except PatternError as exc:
        lines = [f"{_where(('Filters', i, 'Pattern'), p.path)}: {p.message}" for i, p in exc.problems]
        raise EsmctlError("the filters have problems Lambda refuses:\n  " + "\n  ".join(lines)) from None
    verdicts = list(filters.run(records))
    _report(settings, records, verdicts, show, len(texts))


def _family(kind: str) -> str:
    from esmctl.kinds import KAFKA, MSK

    return KAFKA if kind == MSK else kind


def _where(api: tuple, path: tuple) -> str:
    from esmctl.filters import rules

    if len(api) >= 2:
        return f"filter {api[1]}" + (f": {rules.label(path)}" if path else "")
    return "filters"


def _from_spec(path: str, function: str | None, source: str | None,
               variables: tuple[str, ...]) -> tuple[list[str], str]:
    from esmctl import spec
    from esmctl.mapping import identity

    if not function:
        raise click.UsageError("SPEC needs --function: the function whose mapping's filters to test")
    loaded = spec.load_files([path], spec.parse_vars(variables))
    wanted = identity.function_spelling_key(function)[:2]
    found = [m for m in loaded.mappings if identity.function_spelling_key(m.function)[:2] == wanted
             and (not source or m.source == source)]
    if not found:
        raise EsmctlError(f"{path}: no mapping of {function}" + (f" on {source}" if source else ""))
    if len(found) > 1:
        raise EsmctlError(f"{path}: {function} has {len(found)} mappings ({', '.join(m.source for m in found)}): "
                          "choose one with --source ARN")
    mapping = found[0]
    for line in mapping.warnings:
        click.echo(line, err=True)
    filters = (mapping.params.get("FilterCriteria") or {}).get("Filters") or []
    return [f["Pattern"] for f in filters if isinstance(f, dict) and "Pattern" in f], mapping.kind


def _from_mapping(settings: Settings, uuid: str) -> tuple[list[str], str]:
    from esmctl.mapping import identity

    mapping = settings.aws.get_mapping(uuid)
    if mapping is None:
        raise EsmctlError(f"no mapping {uuid}")
    failed = mapping.get("FilterCriteriaError")
    if failed:  # encrypted with a KMS key this caller may not use for Decrypt
        raise EsmctlError(f"mapping {uuid}: its filters cannot be read: {failed.get('ErrorCode', '')} "
                          f"{failed.get('Message', '')}".rstrip() + " (they are encrypted with "
                          f"{mapping.get('KMSKeyArn', 'a KMS key')}: kms:Decrypt on it lets GetEventSourceMapping "
                          "show them)")
    filters = (mapping.get("FilterCriteria") or {}).get("Filters") or []
    return [f["Pattern"] for f in filters if "Pattern" in f], identity.source_type(mapping)


def _report(settings: Settings, records: list[dict], verdicts: list[Any], show: int, filters: int) -> None:
    from esmctl.filters import samples

    kept = sum(v.kept for v in verdicts)
    if settings.output == "json" and settings.query is None:
        # written line by line: 100,000 records as dicts through json's indenting encoder take seconds
        quote = json.encoder.encode_basestring  # type: ignore[attr-defined]
        lines = ",\n    ".join(
            f'{{"index": {i}, "kept": {"true" if v.kept else "false"}, "matched": [{", ".join(map(str, v.matched))}], '
            f'"reason": {quote(v.reason)}}}' for i, v in enumerate(verdicts))
        click.echo(f'{{\n  "kept": {kept},\n  "dropped": {len(verdicts) - kept},\n  "records": '
                   + (f"[\n    {lines}\n  ]\n}}" if lines else "[]\n}"))
        return
    document = {"kept": kept, "dropped": len(verdicts) - kept,
                "records": [{"index": i, "kept": v.kept, "matched": v.matched, "reason": v.reason}
                            for i, v in enumerate(verdicts)]}
    if settings.output in ("json", "yaml"):
        output.dump(settings, document)
        return
    rows = [{"#": str(i), "record": samples.record_name(r),
             "verdict": ("kept by " + ", ".join(f"#{m}" for m in v.matched)) if v.matched else
             ("kept (no filters)" if v.kept else "dropped"),
             "why": v.reason} for i, (r, v) in enumerate(zip(records, verdicts, strict=True)) if i < show]
    columns = [ident("#", keep=True), ident("record", priority=20, breakable=True),
               ident("verdict", keep=True), prose("why", min_width=30)]
    if rows:
        output.table(settings, rows, columns, empty="No records.")
    if len(verdicts) > len(rows):
        click.echo(f"... {len(verdicts) - len(rows)} more record{'s' if len(verdicts) - len(rows) != 1 else ''} "
                   "(--show N, or -o json for every one)", err=True)
    by_filter = [sum(i in v.matched for v in verdicts) for i in range(filters)]
    detail = f" (matching filter {', '.join(f'#{i}: {n}' for i, n in enumerate(by_filter))})" if filters > 1 else ""
    click.echo(f"{kept} of {len(verdicts)} record{'s' if len(verdicts) != 1 else ''} kept{detail}, "
               f"{len(verdicts) - kept} dropped", err=True)


COMMANDS = [group]
