"""The reconcile pipeline, on one screen: a spec in; the plan, then the changes that carry it out.

    spec.load(files)                         desired entries, each with its FILE:LINE:COL; nothing is asked of
                                             AWS before the spec is checked
    aws.list_mappings_soon()                 every live mapping: one paginated listing, in a thread of its own
      └─ resolve(aws, spec)                  meanwhile: function ARNs (one STS call), consumer ARNs (one call per
                                             stream)
    read_live(aws, page, wanted)             each page as it comes; + filters by GetEventSourceMapping where KMS
                                             hides them
    plan.diff(desired, live, reads)          pure: identity, defaults, update / replace / hand-off
      ├─ settle(aws, live, missing)          mappings in Creating/Updating it depends on, read once settled
      └─ read_more(aws, live, missing)       tags and positions, only where the plan needs them
         plan.diff(...) again                the plan, complete
    execute.Executor(aws).execute(plan)        the steps, in parallel; results say what exists now
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from esmctl import arns, collector, metrics
from esmctl.aws.calls import Aws, Listing
from esmctl.aws.errors import AwsError, explain
from esmctl.errors import EsmctlError, Problem, SpecError
from esmctl.mapping import compare, identity, values
from esmctl.plan.planner import diff
from esmctl.plan.types import Missing, Plan, Reads
from esmctl.spec import Spec

if TYPE_CHECKING:
    from esmctl.results import Result


@dataclass(frozen=True)
class Options:
    prune: bool = False
    margin: float = 60.0  # seconds before the old position a hand-off starts at
    window: timedelta = timedelta(minutes=15)  # how far back to look for the old position
    settle_timeout: float = 180  # how long to wait for a mapping in Creating or Updating the plan depends on

    def within(self, timeout: float) -> Options:
        """These options, waiting no longer than `timeout` (an apply's, which is for its plan's waits too)."""
        from dataclasses import replace

        return replace(self, settle_timeout=min(self.settle_timeout, timeout))


@dataclass
class Reconciliation:
    desired: list[compare.Mapping]
    live: list[compare.Mapping]
    plan: Plan
    reads: Reads  # what was read beyond the listing (tags, positions)
    spec: Spec


def plan(aws: Aws, spec: Spec, options: Options = Options()) -> Reconciliation:
    """What it takes to make AWS match the spec. Reads only; writes nothing."""
    aws.region  # noqa: B018 - a missing profile or region is said once, before any call
    listing = aws.list_mappings_soon()  # the slow part, in its own thread; its first page names the account
    try:
        with collector.paused():  # the listing's pages and the comparison: many objects, no cycles
            return _plan(aws, spec, options, listing)
    finally:
        listing.abandon()  # ended by then, unless the plan failed first


def _plan(aws: Aws, spec: Spec, options: Options, listing: Listing) -> Reconciliation:
    try:
        with explain("resolving functions and consumers"):
            desired = resolve(aws, spec)
    except AwsError:
        if not listing.failed():
            raise
        desired = []  # the listing's error is the one to say, at the end of its pages
    live: list[compare.Mapping] = []
    wanted = {d.key for d in desired}  # once, not once a page
    pages = listing.pages()  # each read as it comes, while the next is asked for
    while True:
        with explain("listing mappings"):
            page = next(pages, None)  # when it failed, its error is the one to say
        if page is None:
            break
        with explain("reading mappings"):
            live += read_live(aws, page, wanted)
    reads = Reads(window=options.window)
    result = diff(desired, live, prune=options.prune, reads=reads, margin=options.margin)
    if result.problems:  # said before anything more is asked of AWS
        raise SpecError(result.problems)
    with NewSources(aws, desired, live) as sources:  # read beside the plan's own reads (tags, functions)
        for _ in range(4):  # each round reads only what the last one asked for
            if result.problems:
                raise SpecError(result.problems)
            if not result.missing:
                rec = Reconciliation(desired, live, result, reads, spec)
                missing_resources(aws, rec, sources)
                return rec
            if result.missing.settled:
                live = settle(aws, live, result.missing.settled, desired, options.settle_timeout)
            with explain("reading tags and positions"):
                reads = read_more(aws, live, result.missing, reads)
            result = diff(desired, live, prune=options.prune, reads=reads, margin=options.margin)
    raise EsmctlError(f"the plan still misses reads after 4 rounds ({result.missing}): mappings keep changing; "
                      "plan again")


class NewSources:
    """Whether the sources of plain creates exist (`Aws.source_exists`), asked once the listing has ended and the
    plan has no problems: these reads, in the sources' own services, run while the plan reads what it needs of
    Lambda (a create's function, tags) instead of after it. Asked early: a mapping whose data (stream, table,
    queue) no live mapping reads, so its create depends on nothing the plan reads later (a hand-off, a replace, a
    move held by a paused old end do). `missing_resources` asks the others (`ask`), when the plan has them as creates.

    4 threads (other services' quotas: Kinesis's 20 a second). A plan that fails meanwhile asks no more, and ends
    once the reads under way have: not daemons, as the listing's thread is not, for a read may be refreshing the
    credentials (a credential_process, which can prompt) that the process must not abandon halfway."""

    def __init__(self, aws: Aws, desired: list[compare.Mapping], live: list[compare.Mapping]) -> None:
        read = {_data(m) for m in live}
        self._aws = aws
        self._pool: ThreadPoolExecutor | None = None
        self._asked: dict[str, Future[bool | None]] = {}
        self.ask(d.source_arn for d in desired if d.consumer is None and d.source_arn and _data(d) not in read)

    def ask(self, sources: Iterable[str]) -> None:
        """Ask about these sources too (those not asked yet)."""
        for arn in sources:
            if arn not in self._asked:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="esmctl-sources")
                self._asked[arn] = self._pool.submit(self._aws.source_exists, arn)

    def exists(self, source_arn: str) -> bool | None:
        self.ask([source_arn])
        return self._asked[source_arn].result()

    def __enter__(self) -> NewSources:
        return self

    def __exit__(self, *_: object) -> None:
        if self._pool is not None:  # what has not begun is not asked; what has, ends before the process does
            self._pool.shutdown(wait=False, cancel_futures=True)


def _data(m: compare.Mapping) -> str:
    """What a mapping reads: its stream (consumers included), table (every stream of it) or queue."""
    slot = identity.slot(m.key, m.kind)
    return slot[1] if slot is not None else m.key.source


def missing_resources(aws: Aws, rec: Reconciliation, sources: NewSources) -> None:
    """A mapping to create for a function (or alias) or a source that does not exist would fail in apply, after
    the other changes were made: plan, diff and apply say so (SpecError, exit 1) with where the spec names it,
    before anything is written. One GetFunction per function to create a mapping for (GetFunction has a quota of
    its own, apart from the mappings' calls), none where the plan read the function already (the Reads' function
    tags, None for a function that does not exist); one read of each new source (a Kinesis or DynamoDB stream, an
    SQS queue of the account) in its own service, none for a source a live mapping reads. The functions and
    sources of existing mappings are not asked."""
    from esmctl.plan.types import Action

    known = rec.reads.function_tags
    wanted: dict[str, list[compare.Mapping]] = {}
    new: dict[str, list[compare.Mapping]] = {}
    read_by_live = {m.source_arn for m in rec.live}
    for c in rec.plan.changes:
        if c.after is not None and c.action in (Action.CREATE, Action.REPLACE, Action.HANDOFF, Action.MOVE):
            wanted.setdefault(c.after.key.function, []).append(c.after)
            if c.after.consumer is None and c.after.source_arn and c.after.source_arn not in read_by_live:
                new.setdefault(c.after.source_arn, []).append(c.after)
    sources.ask(new)  # those not asked already, beside the functions' lookups
    found = dict(known)  # an unqualified function whose tags the plan read is known
    unknown = [f for f in wanted if f not in found]
    if unknown:
        with ThreadPoolExecutor(max_workers=16) as getters:  # GetFunction's 100/s, as read_more's
            found.update(zip(unknown, getters.map(lambda f: _looked_up(aws, f), unknown), strict=True))
    problems: list[tuple[compare.Mapping, str, str]] = []  # (mapping, field, message)
    for function, mappings in wanted.items():
        if found[function] is None:
            problems += [(m, "FunctionName", f"{identity.short_arn(function)} does not exist in {aws.region}: create "
                          "the function (or alias) first, or correct the name") for m in mappings]
    for source, mappings in new.items():
        if sources.exists(source) is False:
            problems += [(m, "EventSourceArn", _not_there(source, aws.region)) for m in mappings]
    if problems:
        order = {id(m): i for i, m in enumerate(rec.desired)}  # as the spec lists them
        problems.sort(key=lambda p: order.get(id(p[0]), len(order)))
        raise SpecError([Problem(m.place_of(name), name, message) for m, name, message in problems])


def _not_there(source: str, region: str) -> str:
    arn = arns.parse(source)
    if arn is not None and arn.is_consumer:  # its ARN ends in the time it was registered: short_arn leaves it out
        stream = arn.stream
        return (f"{identity.short_arn(str(stream))}/consumer/{arn.resource.split('/consumer/', 1)[1]} is not a "
                f"registered consumer in {region} (or is being deregistered): register it first, or correct the ARN "
                f"(`esmctl consumer list --stream {stream.resource.split('/', 1)[-1]}` shows each consumer's)")
    return f"{identity.short_arn(source)} does not exist in {region}: create it first, or correct the ARN"


def _looked_up(aws: Aws, function: str) -> dict | None:
    with explain(f"looking up function {function}"):
        return aws.get_function(function)


def settle(aws: Aws, live: list[compare.Mapping], uuids: frozenset[str], desired: list[compare.Mapping],
           timeout: float) -> list[compare.Mapping]:
    """`live` with the mappings in Creating or Updating whose enabled-ness the plan needs read again once they
    settle (one poll a round for all). Whether such a mapping runs is not known before: never guessed."""
    settled, late = aws.watcher.settle(uuids, timeout=timeout)
    if late:
        what = ", ".join(f"{u} ({(m or {}).get('State', 'gone')})" for u, m in sorted(late.items()))
        raise EsmctlError(f"still changing after {timeout:g}s: {what}; whether they run decides the plan, and is not "
                          "known until they settle: plan again then")
    fresh = read_live(aws, [m for m in settled.values() if m is not None], {d.key for d in desired})
    by_uuid = {m.uuid: m for m in fresh}
    return [by_uuid.get(m.uuid, m) for m in live if m.uuid not in settled or m.uuid in by_uuid]


def apply(aws: Aws, planned: Plan, **executor: Any) -> list[Result]:
    """Carry the plan out (see execute.Executor for the options)."""
    from esmctl.execute import Executor  # not for diff and plan

    return Executor(aws, **executor).execute(planned)


# -- the boxes -------------------------------------------------------------------------------------
def resolve(aws: Aws, spec: Spec) -> list[compare.Mapping]:
    """The spec's mappings with their identities: function ARNs and the ARNs of named consumers."""
    consumers: dict[str, list[dict]] = {}
    functions: dict[str, identity.FunctionRef] = {}  # a spec names few functions, many times
    desired: list[compare.Mapping] = []
    problems: list[Problem] = []
    for entry in spec.mappings:
        function = functions.get(entry.function)
        if function is None:
            function = functions[entry.function] = aws.function_ref(entry.function)
        moved_from = None
        if entry.moved_from:
            moved_from = functions.get(entry.moved_from)
            if moved_from is None:
                moved_from = functions[entry.moved_from] = aws.function_ref(entry.moved_from)
        consumer = None
        if entry.consumer:
            if entry.source not in consumers:
                consumers[entry.source] = aws.list_consumers(entry.source)
            found = [c for c in consumers[entry.source]
                     if c["ConsumerName"] == entry.consumer and c.get("ConsumerStatus") != "DELETING"]
            consumer = identity.Consumer(entry.source, entry.consumer, found[0]["ConsumerARN"] if found else None)
        if function.account and function.account != aws.account:  # an ARN (or account:function:name) names it
            problems.append(Problem(entry.where, "FunctionName", f"is in account {function.account}, but these "
                                    f"credentials act in {aws.account}: a mapping is made in its function's "
                                    "account, with that account's credentials"))
        source = arns.parse(entry.source)
        source_region = source.region if source is not None else ""
        if source_region and function.region and source_region != function.region:
            problems.append(Problem(entry.where, "EventSourceArn", f"is in {source_region} but the function is in "
                                    f"{function.region}: they must be in the same region"))
        desired.append(compare.desired_mapping(entry.params, function, where=entry.where, consumer=consumer,
                                             moved_from=moved_from, spot=entry.spot))
    seen: dict[identity.Key, compare.Mapping] = {}
    for d in desired:
        if d.key in seen:
            problems.append(Problem(d.where, "mapping", f"the same mapping as at {seen[d.key].where} ({d.title()}): "
                                    "Lambda allows one mapping per function and source"))
        seen.setdefault(d.key, d)
    if problems:
        raise SpecError(problems)
    return desired


def read_live(aws: Aws, listing: list[dict], wanted: Set[identity.Key]) -> list[compare.Mapping]:
    """Live mappings in canonical form. The listing hides KMS-encrypted filters: those of mappings the
    spec lists (`wanted`: their keys) are read with GetEventSourceMapping (plain to a caller with kms:Decrypt)."""
    live = []
    for raw in listing:
        mapping = compare.live_mapping(raw)
        if compare.filters_hidden(raw) and mapping.key in wanted:
            mapping = compare.live_mapping(raw, decrypted_filters(aws, raw["UUID"]))
        live.append(mapping)
    return live


def decrypted_filters(aws: Aws, uuid: str) -> Any:
    """A mapping's filters as GetEventSourceMapping shows them, or why they cannot be read."""
    got = aws.get_mapping(uuid) or {}
    if got.get("FilterCriteria") is not None:
        return got["FilterCriteria"]
    if not got.get("FilterCriteriaError"):
        return {}  # read with kms:Decrypt, and there are none
    error = got["FilterCriteriaError"]
    why = f"{error.get('ErrorCode', 'no FilterCriteria')}: {error.get('Message', '')}".strip(": ")
    return values.unreadable(f"encrypted with {got.get('KMSKeyArn', 'a KMS key')}; {why}; kms:Decrypt on that "
                            "key lets esmctl read them")


def read_more(aws: Aws, live: list[compare.Mapping], missing: Missing, reads: Reads) -> Reads:
    """`reads` and the tags and hand-off positions a plan missed: ListTags per mapping (only those), GetFunction
    per function of a create whose spec does not manage tags (what an interrupted replace recorded there),
    IteratorAge for the functions of hand-offs in one GetMetricData call per 500."""
    mapping_arns = {m.uuid: m.arn for m in live}
    uuids = sorted(missing.tags)
    functions = sorted(missing.function_tags)
    # ListTags takes turns of the 15 requests/s the writes need: a few at a time. GetFunction has 100/s of its own
    # (the pacer keeps to it): as many at once as keep that busy, so that an apply of many functions' first
    # mappings does not wait for its reads one function at a time.
    with ThreadPoolExecutor(max_workers=4) as pool, ThreadPoolExecutor(max_workers=16) as getters:
        got = getters.map(lambda f: _function_tags(aws, f), functions)
        tags = dict(zip(uuids, pool.map(lambda u: aws.mapping_tags(mapping_arns[u]), uuids), strict=True))
        function_tags = dict(zip(functions, got, strict=True))
    positions = metrics.newest_iterator_ages(aws, sorted(missing.positions), reads.window) \
        if missing.positions else {}
    return Reads(tags={**reads.tags, **tags}, function_tags={**reads.function_tags, **function_tags},
                 positions={**reads.positions, **positions}, window=reads.window, now=reads.now)


def _function_tags(aws: Aws, function_arn: str) -> dict[str, str] | None:
    # None: no such function (plan says so; the create would, with AWS's own words)
    return aws.function_tags(function_arn)
