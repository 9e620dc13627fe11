"""kill -9 at every step boundary of a replace, a hand-off and a prune, then run apply again.

The real `esmctl apply` runs as a subprocess against the AWS-like layer, which holds a chosen call
(before AWS carries it out, or after, losing the reply). The process is killed right there; the next
`apply` must converge to exactly the spec — no duplicate, no missing mapping — and `diff` exit 0.
"""

from __future__ import annotations

import pytest

from tests.helpers import client, converges, kill_at, kinesis, mappings, put_age, spec_file

REPLACE_STEPS = [("DeleteEventSourceMapping", 1, "before"), ("DeleteEventSourceMapping", 1, "after"),
                 ("GetEventSourceMapping", 1, "after"), ("CreateEventSourceMapping", 1, "before"),
                 ("CreateEventSourceMapping", 1, "after")]


@pytest.mark.parametrize("operation,nth,when", REPLACE_STEPS)
def test_replace_killed_at_each_step_converges(esmctl, world, box, tmp_path, operation, nth, when):
    assert esmctl("apply", spec_file(tmp_path, [kinesis(world)])).exit_code == 0
    [old] = mappings(box)
    path = spec_file(tmp_path, [kinesis(world, StartingPosition="LATEST", BatchSize=50)])
    box.proxy.transitional_views = 1
    kill_at(box, [path, "--allow-replace"], operation, nth, when)
    [new] = converges(esmctl, box, path, "--allow-replace")
    assert new["UUID"] != old["UUID"] and (new["StartingPosition"], new["BatchSize"]) == ("LATEST", 50)


HANDOFF_STEPS = [("RegisterStreamConsumer", 1, "after"), ("CreateEventSourceMapping", 1, "before"),
                 ("CreateEventSourceMapping", 1, "after"), ("DeleteEventSourceMapping", 1, "before"),
                 ("DeleteEventSourceMapping", 1, "after")]


@pytest.mark.parametrize("operation,nth,when", HANDOFF_STEPS)
def test_handoff_killed_at_each_step_converges(esmctl, world, box, tmp_path, operation, nth, when):
    old = client(box, "lambda", direct=False).create_event_source_mapping(
        FunctionName="orders-fn", EventSourceArn=world["orders"], StartingPosition="LATEST")["UUID"]
    put_age(box, "orders-fn", [(1, 2_000)])
    path = spec_file(tmp_path, [kinesis(world, StartingPosition="LATEST", Consumer="fanout")])
    box.proxy.transitional_views = 1
    kill_at(box, [path], operation, nth, when)
    [new] = converges(esmctl, box, path)
    assert new["UUID"] != old and "/consumer/fanout:" in new["EventSourceArn"]
    [consumer] = client(box, "kinesis", direct=False).list_stream_consumers(StreamARN=world["orders"])["Consumers"]
    assert new["EventSourceArn"] == consumer["ConsumerARN"]


def test_prune_killed_half_way_converges(esmctl, world, box, tmp_path):
    lam = client(box, "lambda", direct=False)
    for stream in ("orders", "clicks"):
        lam.create_event_source_mapping(FunctionName="audit-fn", EventSourceArn=world[stream],
                                        StartingPosition="LATEST")
    path = spec_file(tmp_path, [kinesis(world, fn="audit-fn", stream="clicks", StartingPosition="LATEST"),
                                {"FunctionName": "audit-fn", "EventSourceArn": world["jobs"]}])
    kill_at(box, [path, "--prune", "--concurrency", "1"], "DeleteEventSourceMapping", 1, "after")
    left = converges(esmctl, box, path, "--prune")
    assert sorted(m["EventSourceArn"] for m in left) == sorted([world["clicks"], world["jobs"]])
