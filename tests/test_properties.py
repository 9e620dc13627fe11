"""Properties over random (live, spec) pairs of every kind of source.

In memory, with an emulated account that carries out each step as AWS reports it (tests/reported.py,
written apart from esmctl's model): apply, then plan again, and the plan is empty; and no plan deletes
a stream mapping without --allow-replace unless its replacement provably starts at or before its
position. End to end (fewer examples): the real CLI against the sandbox, `apply` then `diff` exits 0.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from esmctl import kinds, rules, schema, servicemodel
from esmctl.mapping import compare, identity, marks
from esmctl.plan.planner import diff  # noqa: F401
from esmctl.plan.types import Action, Plan, Position, Reads  # noqa: F401
from tests import reported
from tests.helpers import client, put_age, spec_file

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
FUNCTIONS = ("orders-fn", "audit-fn", "orders-fn:live")
SOURCES = {
    kinds.KINESIS: [reported.STREAM, reported.OTHER_STREAM],
    kinds.DYNAMODB: [reported.TABLE_STREAM, reported.TABLE_STREAM.replace("2024-01-01", "2025-01-01")],
    kinds.SQS: [reported.QUEUE, reported.QUEUE + "-2"],
    kinds.MSK: [reported.CLUSTER],
    kinds.KAFKA: [None],
    kinds.MQ: [reported.BROKER],
    kinds.DOCDB: [reported.DOCDB_CLUSTER],
}
BASIC_AUTH = [{"Type": "BASIC_AUTH", "URI": reported.SECRET}]


def _common(draw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if draw(st.booleans()):
        out["Enabled"] = draw(st.booleans())
    if draw(st.booleans()):
        pattern = draw(st.sampled_from([{"type": ["order"]}, {"amount": [{"numeric": [">", 10]}]}, {"ok": [True]},
                                        {"ok": [1]}]))
        # as a spec sends it: JSON text, spaced any way
        out["FilterCriteria"] = {"Filters": [{"Pattern": json.dumps(pattern, indent=draw(st.sampled_from([None, 2])))}]}
    if draw(st.booleans()):
        out["MetricsConfig"] = {"Metrics": ["EventCount"]}
    return out


@st.composite
def params_of(draw: Any, kind: str, sources: dict[str, list] = SOURCES) -> dict[str, Any]:
    """A valid CreateEventSourceMapping request (less FunctionName) for a source of `kind`."""
    p: dict[str, Any] = _common(draw)
    source = draw(st.sampled_from(sources[kind]))
    if source:
        p["EventSourceArn"] = source
    if kind in (kinds.KINESIS, kinds.DYNAMODB):
        p["StartingPosition"] = draw(st.sampled_from(["LATEST", "TRIM_HORIZON"]))
        for name, values in (("BatchSize", [1, 100, 500]), ("ParallelizationFactor", [1, 2, 10]),
                             ("MaximumRetryAttempts", [-1, 0, 3]), ("BisectBatchOnFunctionError", [True, False]),
                             ("MaximumRecordAgeInSeconds", [-1, 60, 3600]), ("TumblingWindowInSeconds", [0, 30])):
            if draw(st.booleans()):
                p[name] = draw(st.sampled_from(values))
        if draw(st.booleans()):
            p["DestinationConfig"] = {"OnFailure": {"Destination": reported.DLQ}}
        if draw(st.booleans()):
            p["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
    elif kind == kinds.SQS:
        if draw(st.booleans()):
            p["BatchSize"] = draw(st.sampled_from([1, 10]))
        if draw(st.booleans()):
            p["MaximumBatchingWindowInSeconds"] = draw(st.sampled_from([0, 5]))
        if draw(st.booleans()):
            p["ScalingConfig"] = {"MaximumConcurrency": draw(st.sampled_from([2, 50]))}
    elif kind in (kinds.MSK, kinds.KAFKA):
        p["Topics"] = [draw(st.sampled_from(["orders", "refunds"]))]
        p["StartingPosition"] = draw(st.sampled_from(["LATEST", "TRIM_HORIZON"]))
        if kind == kinds.KAFKA:
            p["SelfManagedEventSource"] = {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["b-2:9092", "b-1:9092"]}}
        if draw(st.booleans()):
            p["BatchSize"] = draw(st.sampled_from([10, 100]))
    elif kind == kinds.MQ:
        p["Queues"] = [draw(st.sampled_from(["jobs", "mail"]))]
        p["SourceAccessConfigurations"] = BASIC_AUTH
    elif kind == kinds.DOCDB:
        p["StartingPosition"] = "LATEST"
        p["SourceAccessConfigurations"] = BASIC_AUTH
        p["DocumentDBEventSourceConfig"] = {"DatabaseName": "orders",
                                            **({"FullDocument": "UpdateLookup"} if draw(st.booleans()) else {})}
    assume(not rules.cross_field_problems(p, rules.facts_of(p)))
    whole = {"FunctionName": "f", **p}
    assume(not list(schema.check_shape(whole, servicemodel.input_shape(), "", rules.facts_of(whole))))
    return p


@st.composite
def mapping_params(draw: Any, sources: dict[str, list] = SOURCES, functions: tuple[str, ...] = FUNCTIONS) -> dict:
    kind = draw(st.sampled_from((*kinds.KINDS, kinds.KINESIS, kinds.KINESIS)))  # moves happen on Kinesis most
    return {"FunctionName": draw(st.sampled_from(functions)), **draw(params_of(kind, sources))}


class Account:
    """Mappings as AWS reports them after each call: the in-memory stand-in for a region of an account."""

    def __init__(self) -> None:
        self.requests: dict[str, dict[str, Any]] = {}  # uuid -> what it was created/updated with
        self.reported: dict[str, dict[str, Any]] = {}
        self.tags: dict[str, dict[str, str]] = {}  # mapping or function ARN -> tags
        self.consumers: dict[tuple[str, str], str] = {}  # (stream, name) -> the current registration's ARN
        self.epochs = itertools.count(1700000000)

    def create(self, params: dict[str, Any], consumer: str | None = None) -> str:
        params = copy.deepcopy(params)
        if consumer:
            params["EventSourceArn"] = consumer
        tags = params.pop("Tags", None) or {}
        function = params["FunctionName"]
        out = reported.reported(params, function_arn=self._function_arn(function))
        self.requests[out["UUID"]] = params
        self.reported[out["UUID"]] = out
        self.tags[out["EventSourceMappingArn"]] = dict(tags)
        return out["UUID"]

    def update(self, uuid: str, params: dict[str, Any]) -> None:
        request = {**self.requests[uuid], **copy.deepcopy(params)}
        before = self.reported[uuid]
        kafka = {k: before[k] for k in ("AmazonManagedKafkaEventSourceConfig", "SelfManagedKafkaEventSourceConfig")
                 if k in before}
        for name, value in kafka.items():  # AWS keeps the generated group id
            request[name] = {**value, **(request.get(name) or {})}
        out = reported.reported(request, uuid=uuid, function_arn=self._function_arn(request["FunctionName"]))
        self.requests[uuid], self.reported[uuid] = request, out

    def delete(self, uuid: str) -> None:
        self.requests.pop(uuid)
        self.reported.pop(uuid)

    def register(self, stream: str, name: str) -> str:
        if (stream, name) not in self.consumers:  # a name is registered once (esmctl.consumers.ensure_consumer)
            self.consumers[stream, name] = f"{stream}/consumer/{name}:{next(self.epochs)}"
        return self.consumers[stream, name]

    @staticmethod
    def _function_arn(name: str) -> str:
        return identity.function_ref(name, reported.REGION, reported.ACCOUNT).qualified_arn

    def live(self) -> list[compare.Mapping]:
        return [compare.live_mapping(copy.deepcopy(m)) for m in self.reported.values()]

    def plan(self, desired: list[compare.Mapping], positions: dict[str, Position | None]) -> Plan:
        reads = Reads()
        live = self.live()
        result = diff(desired, live, reads=reads)
        for _ in range(4):
            if not result.missing:
                break
            arns = {m.uuid: m.arn for m in live}
            reads = Reads(tags={**reads.tags, **{u: dict(self.tags.get(arns[u], {})) for u in result.missing.tags}},
                          function_tags={**reads.function_tags, **{f: dict(self.tags.get(f, {}))
                                                                   for f in result.missing.function_tags}},
                          positions={**reads.positions, **{f: positions.get(f) for f in result.missing.positions}})
            result = diff(desired, live, reads=reads)
        assert not result.missing
        return result

    def apply(self, plan: Plan, stop_after: int | None = None) -> int:
        """Carry out every step (the first `stop_after` of them: a killed run); return how many ran."""
        done = 0
        for change in plan.changes:
            new = None
            consumer = change.after.consumer.arn if change.after is not None and change.after.consumer else None
            for step in change.steps:
                if stop_after is not None and done >= stop_after:
                    return done
                uuid = step.uuid or new
                if step.op == "register-consumer":
                    consumer = self.register(step.stream, step.name)
                elif step.op == "create":
                    new = self.create(step.params, consumer)
                elif step.op == "update":
                    self.update(uuid, step.params)
                elif step.op == "delete":
                    self.delete(uuid)
                elif step.op in ("tag", "record-tags"):
                    self.tags.setdefault(step.arn, {}).update(step.tags)
                elif step.op in ("untag", "forget-tags"):
                    for key in step.keys:
                        self.tags.get(step.arn, {}).pop(key, None)
                elif step.op == "wait-settled" and step.state:
                    if (self.reported.get(uuid) or {}).get("State") != step.state:
                        done += 1
                        break  # the executor fails the change here: the rest of its steps never run
                done += 1
        return done


def desired_of(account: Account, spec: list[tuple[dict[str, Any], str | None, str | None]]) -> list[compare.Mapping]:
    out = []
    for params, consumer, moved_from in spec:
        ref = identity.function_ref(params["FunctionName"], reported.REGION, reported.ACCOUNT)
        c = None
        if consumer:
            c = identity.Consumer(params["EventSourceArn"], consumer, account.consumers.get((params["EventSourceArn"],
                                                                                         consumer)))
        old = identity.function_ref(moved_from, reported.REGION, reported.ACCOUNT) if moved_from else None
        out.append(compare.desired_mapping(params, ref, where="spec.yaml:3:3", consumer=c, moved_from=old))
    keys = [d.key for d in out]
    assume(len(keys) == len(set(keys)))  # validate refuses a spec that lists one mapping twice
    return out


Entry = tuple[dict[str, Any], str | None, str | None]  # params, Consumer, MovedFrom


@st.composite
def entry(draw: Any, sources: dict[str, list] = SOURCES, functions: tuple[str, ...] = FUNCTIONS) -> Entry:
    params = draw(mapping_params(sources, functions))
    consumer = "fanout" if identity.source_type(params) == kinds.KINESIS and draw(st.booleans()) else None
    return params, consumer, None


@st.composite
def edited(draw: Any, live: Entry, sources: dict[str, list] = SOURCES, functions: tuple[str, ...] = FUNCTIONS) -> Entry:
    """What a spec may say of a live mapping: the same, other settings, another start, a consumer
    more or less, another function (moved or not), or another source of the same kind."""
    params, consumer, _ = live
    kind = identity.source_type(params)
    how = draw(st.sampled_from(["same", "settings", "start", "consumer", "function", "source"]
                               + ["consumer"] * 2 * (kind == kinds.KINESIS)))
    params, moved_from = copy.deepcopy(params), None
    if how == "settings":
        fresh = draw(params_of(kind, sources))
        keep = {k: params[k] for k in identity.IDENTITY_FIELDS if k in params}
        params = {**fresh, **keep, **({"StartingPosition": params["StartingPosition"]}
                                      if "StartingPosition" in params else {})}
    elif how == "start" and "StartingPosition" in params:
        params["StartingPosition"] = "TRIM_HORIZON" if params["StartingPosition"] == "LATEST" else "LATEST"
    elif how == "consumer" and kind == kinds.KINESIS:
        consumer = None if consumer else "fanout"
    elif how == "function":
        old = params["FunctionName"]
        params["FunctionName"] = draw(st.sampled_from([f for f in functions if f != old]))
        moved_from = old if draw(st.booleans()) else None
    elif how == "source":
        params["EventSourceArn"] = draw(st.sampled_from(sources[kind]))
    assume(not rules.cross_field_problems(params, rules.facts_of(params)))
    return params, consumer, moved_from


@st.composite
def live_and_spec(draw: Any, sources: dict[str, list] = SOURCES,
                  functions: tuple[str, ...] = FUNCTIONS) -> tuple[list[Entry], list[Entry]]:
    live = draw(st.lists(entry(sources, functions), max_size=3))
    spec = [draw(edited(e, sources, functions)) for e in live if draw(st.integers(0, 4))]  # some left out
    spec += draw(st.lists(entry(sources, functions), max_size=1))
    return live, spec


def unsafe_deletes(plan: Plan, account: Account, positions: dict[str, Position | None]) -> list[str]:
    """Stream mappings a plan deletes without --allow-replace whose replacement is not shown to start at or
    before their position. The oracle, written from the rule, not from the planner."""
    bad = []
    for change in plan.changes:
        if change.needs_allow_replace or change.action == Action.DELETE:  # Action.DELETE: only with --prune, said so
            continue
        deleted = [s.uuid for s in change.steps if s.op == "delete"]
        for uuid in deleted:
            old = account.reported.get(uuid)
            if old is None or identity.source_type(old) not in kinds.STREAM_TYPES:
                continue
            create = next((s.params for s in change.steps if s.op == "create"), None)
            position = positions.get(old["FunctionArn"])
            old_position = position.at - timedelta(milliseconds=position.iterator_age_ms) if position else None
            if create is not None:
                ok = (change.action == Action.HANDOFF and create.get("StartingPosition") == "AT_TIMESTAMP"
                      and old_position is not None and create["StartingPositionTimestamp"] <= old_position)
            else:  # finishing: the new mapping exists already
                new = next(m for m in account.reported.values() if m["UUID"] == change.steps[0].uuid)
                named = account.tags.get(new["EventSourceMappingArn"], {}).get(marks.HANDOFF_TAG, "").split(",")
                started = new.get("StartingPositionTimestamp")
                ok = identity.source_type(new) == kinds.KINESIS and (
                    new["StartingPosition"] == "TRIM_HORIZON" or uuid in named
                    or (started is not None and old_position is not None and started <= old_position
                        and not _shares_metric(account, new, old))
                    or (started is not None and old.get("StartingPositionTimestamp") is not None
                        and started <= old["StartingPositionTimestamp"]))
            if not ok:
                bad.append(f"{change.action} deletes {uuid} ({change.reason.text})")
    return bad


def _shares_metric(account: Account, new: dict, old: dict) -> bool:
    return new["State"] == "Enabled"  # same function: the new one's batches count in the old one's IteratorAge


POSITIONS = st.sampled_from([{}, {reported.FN: Position(NOW, 30_000)},
                             {reported.FN: Position(NOW, 30_000),
                              identity.function_ref("audit-fn", reported.REGION, reported.ACCOUNT).arn:
                                  Position(NOW - timedelta(minutes=3), 0)}])


@settings(max_examples=int(os.environ.get("ESMCTL_PROPERTY_EXAMPLES", 400)), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(pair=live_and_spec(), positions=POSITIONS, kill=st.none() | st.integers(0, 6))
def test_apply_then_plan_is_empty_and_no_position_is_lost_without_consent(pair, positions, kill):
    live, spec = pair
    account = Account()
    for params, consumer, _ in live:
        arn = account.register(params["EventSourceArn"], consumer) if consumer else None
        if any(m["FunctionArn"] == Account._function_arn(params["FunctionName"])
               and compare.live_mapping(m).key == compare.live_mapping(
                   reported.reported({**params, **({"EventSourceArn": arn} if arn else {})},
                                     function_arn=Account._function_arn(params["FunctionName"]))).key
               for m in account.reported.values()):
            continue  # AWS refuses a second mapping of one identity
        account.create(params, arn)
    desired = desired_of(account, spec)
    first = account.plan(desired, positions)
    for change in first.changes:
        event(f"{change.action}{' (needs --allow-replace)' if change.needs_allow_replace else ''}")
    assert unsafe_deletes(first, account, positions) == []
    if kill is not None:  # killed after `kill` steps: the next run starts from whatever that left
        account.apply(first, stop_after=kill)
        desired = desired_of(account, spec)
        again = account.plan(desired, positions)
        for change in again.changes:
            event(f"after a kill: {change.action}{' (needs --allow-replace)' if change.needs_allow_replace else ''}")
        assert unsafe_deletes(again, account, positions) == []
        first = again
    account.apply(first)  # with --allow-replace
    desired = desired_of(account, spec)
    after = account.plan(desired, positions)
    assert after.empty, [(c.action, c.title(), c.reason, c.fields) for c in after.changes]


# -- end to end: the real CLI against the sandbox ---------------------------------------------------
def sandbox_sources(world: dict[str, str]) -> dict[str, list]:
    return {**SOURCES, kinds.KINESIS: [world["orders"], world["clicks"]],
            kinds.DYNAMODB: [world["orders-table-stream"]], kinds.SQS: [world["jobs"], world["orders-dlq"]]}


def _write_spec(tmp: Any, spec: list[Entry]) -> str:
    mappings = []
    for params, consumer, moved_from in spec:
        entry = dict(params)
        if consumer:
            entry["Consumer"] = consumer
        if moved_from:
            entry["MovedFrom"] = moved_from
        mappings.append(entry)
    return spec_file(tmp, mappings)


@pytest.mark.slow
@settings(max_examples=int(os.environ.get("ESMCTL_E2E_PROPERTY_EXAMPLES", 10)), deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_apply_then_diff_exits_0_end_to_end(box, esmctl, seeded, tmp_path_factory, data):
    names, snapshot = seeded  # the world of conftest.py, in reported.REGION, restored for each example
    box.restore(snapshot)
    world = dict(names)
    sources = sandbox_sources(world)
    live, spec = data.draw(live_and_spec(sources, ("orders-fn", "audit-fn")))
    desired_of(Account(), spec)  # a spec that lists one mapping twice is not valid: not this test's business
    if data.draw(st.booleans(), label="IteratorAge datapoints"):
        for fn in ("orders-fn", "audit-fn"):
            put_age(box, fn, [(1, 5_000)])
    lam, kinesis = client(box, "lambda", direct=False), client(box, "kinesis", direct=False)
    for params, consumer, _ in live:
        request = dict(params)
        if consumer:
            request["EventSourceArn"] = ensure_consumer_arn(kinesis, params["EventSourceArn"], consumer)
        try:
            lam.create_event_source_mapping(**_api(request))
        except lam.exceptions.ResourceConflictException:
            pass  # one mapping per identity, as AWS
    path = _write_spec(tmp_path_factory.mktemp("spec"), spec)
    r = esmctl("apply", path, "--yes", "--allow-replace")
    assert r.exit_code == 0, r.stdout + r.stderr
    d = esmctl("diff", path)
    assert d.exit_code == 0, d.stdout + d.stderr


def ensure_consumer_arn(kinesis: Any, stream: str, name: str) -> str:
    found = [c for c in kinesis.list_stream_consumers(StreamARN=stream)["Consumers"] if c["ConsumerName"] == name]
    if found:
        return found[0]["ConsumerARN"]
    return kinesis.register_stream_consumer(StreamARN=stream, ConsumerName=name)["Consumer"]["ConsumerARN"]


def _api(params: dict[str, Any]) -> dict[str, Any]:
    """A spec's parameters as the API takes them (patterns are JSON text already)."""
    return dict(params)
