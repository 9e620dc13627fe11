"""Moves end to end: the real CLI against the AWS-like layer. A move keeps the stream position or asks.

- `MovedFrom:` is an in-place FunctionName update (same UUID), also when killed half-way.
- A second mapping in the slot that nobody placed is not taken for a finished hand-off.
- A new hand-off mapping that reports a PROBLEM does not take over.
- A replace killed after its delete still gives the new mapping the old one's tags.
"""

from __future__ import annotations

import json
import threading

import pytest

from esmctl.mapping import marks
from tests.helpers import both_ends_of_a_move, client, converges, kill_at, kinesis, mappings, put_age, spec_file


def moved_spec(tmp_path, world, **extra):
    return spec_file(tmp_path, [kinesis(world, fn="audit-fn", MovedFrom="orders-fn", **extra)])


def test_moved_from_moves_the_mapping_in_place(esmctl, world, box, tmp_path):
    assert esmctl("apply", spec_file(tmp_path, [kinesis(world)])).exit_code == 0
    [before] = mappings(box)
    path = moved_spec(tmp_path, world, BatchSize=50)
    r = esmctl("plan", path)
    assert "~ move audit-fn <- kinesis:orders" in r.stdout and "FunctionName:" in r.stdout
    assert "+ create" not in r.stdout and "Plan: 0 to create, 0 to update, 0 to replace, 0 to delete, 1 to move" \
        in r.stdout
    doc = json.loads(esmctl("plan", path, "-o", "json").stdout)
    assert doc["summary"]["move"] == 1 and doc["changes"][0]["uuid"] == before["UUID"]
    box.proxy.clear_counts()
    [after] = converges(esmctl, box, path)  # no --yes needed for safety: nothing is deleted
    assert after["UUID"] == before["UUID"] and after["FunctionArn"].endswith(":function:audit-fn")
    assert after["BatchSize"] == 50
    assert box.proxy.calls.get("DeleteEventSourceMapping", 0) == 0
    assert box.proxy.calls.get("CreateEventSourceMapping", 0) == 0


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_move_killed_half_way_converges_to_the_same_mapping(esmctl, world, box, tmp_path, when):
    assert esmctl("apply", spec_file(tmp_path, [kinesis(world)])).exit_code == 0
    [before] = mappings(box)
    path = moved_spec(tmp_path, world)
    kill_at(box, [path], "UpdateEventSourceMapping", 1, when)
    [after] = converges(esmctl, box, path)
    assert after["UUID"] == before["UUID"] and after["FunctionArn"].endswith(":function:audit-fn")


def test_a_mapping_made_by_hand_at_latest_is_not_a_finished_handoff(esmctl, world, box, tmp_path):
    old, by_hand = both_ends_of_a_move(box, world, "LATEST")  # no hand-off tag: made by hand
    path = spec_file(tmp_path, [kinesis(world, StartingPosition="LATEST", Consumer="fanout")])
    r = esmctl("apply", path, "--yes")
    assert r.exit_code == 1 and "--allow-replace" in r.stderr and f"{by_hand} starts at LATEST" in r.stderr
    assert sorted(m["UUID"] for m in mappings(box)) == sorted([old, by_hand])  # nothing deleted
    r = esmctl("apply", path, "--yes", "--allow-replace", "-o", "json")
    [result] = json.loads(r.stdout)["results"]
    assert result["uuid"] == by_hand and result["message"] == f"finished the move: deleted {old}", result
    [left] = converges(esmctl, box, path)
    assert left["UUID"] == by_hand


def test_a_new_handoff_mapping_that_reports_a_problem_does_not_take_over(esmctl, world, box, tmp_path):
    old, new = both_ends_of_a_move(box, world, "TRIM_HORIZON")
    denied = "PROBLEM: Lambda is not authorized to perform kinesis:SubscribeToShard"
    box.proxy.overrides[new] = {"LastProcessingResult": denied}
    path = spec_file(tmp_path, [kinesis(world, Consumer="fanout")])
    assert "finishes a move" in esmctl("plan", path).stdout
    r = esmctl("apply", path, "--yes")
    assert r.exit_code == 1 and denied in r.stdout + r.stderr and f"{old} is kept" in r.stdout + r.stderr
    assert sorted(m["UUID"] for m in mappings(box)) == sorted([old, new])
    box.proxy.overrides.pop(new)  # it runs now
    [left] = converges(esmctl, box, path)
    assert left["UUID"] == new


def test_the_plans_last_line_counts_the_mappings_a_handoff_deletes(esmctl, world, box, tmp_path):
    """A hand-off deletes the old end of its move: the summary line says how many, as it is in no other count (a
    review read `0 to delete` and missed that a mapping of the function on the stream's consumer would go)."""
    old, new = both_ends_of_a_move(box, world, "TRIM_HORIZON")
    r = esmctl("plan", spec_file(tmp_path, [kinesis(world, Consumer="fanout")]))
    assert r.stdout.rstrip().endswith("0 to delete, 1 to hand off (1 old mapping of moves deleted once the new ones "
                                      "run)."), r.stdout
    assert f"{old}" in r.stdout
    assert json.loads(esmctl("plan", spec_file(tmp_path, [kinesis(world, Consumer="fanout")]), "-o", "json").stdout)[
        "summary"]["old_ends_deleted"] == 1


def test_a_move_whose_position_is_unknown_counts_every_old_end_it_deletes(esmctl, world, box, tmp_path):
    """A move planned as a replace (the old ends' position unknown) deletes every other mapping of the function in
    the slot, one made by hand too: the line counts those beyond the one it replaces (a re-review read `1 to replace,
    0 to delete` of a plan that deleted two)."""
    register = client(box, "kinesis", direct=False).register_stream_consumer
    b = [register(StreamARN=world["orders"], ConsumerName=n)["Consumer"]["ConsumerARN"] for n in ("a", "b")][1]
    lam = client(box, "lambda", direct=False)
    for source in (world["orders"], b):
        lam.create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=source, StartingPosition="LATEST")
    path = spec_file(tmp_path, [kinesis(world, StartingPosition="LATEST", Consumer="a")])
    r = esmctl("plan", path)
    assert "1 to replace, 0 to delete (1 old mapping of moves deleted once the new ones run)" in r.stdout, r.stdout
    assert json.loads(esmctl("plan", path, "-o", "json").stdout)["summary"]["old_ends_deleted"] == 1


def test_a_409_during_a_handoff_adopts_only_a_mapping_that_starts_in_time(esmctl, world, box, tmp_path):
    lam = client(box, "lambda", direct=False)
    old = lam.create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=world["orders"],
                                          StartingPosition="LATEST")["UUID"]
    put_age(box, "orders-fn", [(1, 2_000)])
    arn = client(box, "kinesis", direct=False).register_stream_consumer(
        StreamARN=world["orders"], ConsumerName="fanout")["Consumer"]["ConsumerARN"]
    path = spec_file(tmp_path, [kinesis(world, StartingPosition="LATEST", Consumer="fanout")])
    held = box.proxy.pause("CreateEventSourceMapping", nth=1, when="before")
    result = {}
    worker = threading.Thread(target=lambda: result.update(r=esmctl("apply", path, "--yes")))
    worker.start()
    try:
        assert held.reached.wait(timeout=60)
        # Meanwhile somebody creates the consumer's mapping at LATEST, by hand.
        by_hand = lam.create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=arn,
                                                  StartingPosition="LATEST")["UUID"]
    finally:
        held.release()
        worker.join(timeout=120)
    r = result["r"]
    assert r.exit_code == 1 and f"exists ({by_hand})" in r.stdout + r.stderr
    assert "not provably at or before" in r.stdout + r.stderr
    assert sorted(m["UUID"] for m in mappings(box)) == sorted([old, by_hand])


@pytest.mark.parametrize("operation,when,moved", [("DeleteEventSourceMapping", "after", False),
                                                  ("CreateEventSourceMapping", "before", False),
                                                  ("CreateEventSourceMapping", "before", True)])
def test_a_replace_killed_after_its_delete_keeps_the_tags(esmctl, world, box, tmp_path, operation, when, moved):
    lam = client(box, "lambda", direct=False)
    lam.create_event_source_mapping(FunctionName="audit-fn" if moved else "orders-fn", EventSourceArn=world["orders"],
                                    StartingPosition="TRIM_HORIZON", Tags={"team": "orders", "cost": "c-1"})
    moved_from = {"MovedFrom": "audit-fn"} if moved else {}
    path = spec_file(tmp_path, [kinesis(world, StartingPosition="LATEST", **moved_from)])  # tags not managed
    kill_at(box, [path, "--allow-replace"], operation, 1, when)
    assert mappings(box) == []  # the old one is gone, the new one not there yet
    plan = esmctl("plan", path)
    assert "+ create" in plan.stdout and "recorded on the function" in plan.stdout
    [new] = converges(esmctl, box, path, "--allow-replace")
    assert new["StartingPosition"] == "LATEST"
    assert lam.list_tags(Resource=new["EventSourceMappingArn"])["Tags"] == {"team": "orders", "cost": "c-1"}
    function_tags = lam.list_tags(Resource=world["orders-fn"])["Tags"]
    assert not [k for k in function_tags if k.startswith(marks.TAG_RECORD_PREFIX)]  # the record is gone


@pytest.mark.parametrize("operation,when,moved", [("DeleteEventSourceMapping", "after", False),
                                                  ("CreateEventSourceMapping", "before", False),
                                                  ("CreateEventSourceMapping", "before", True)])
def test_a_kafka_replace_killed_after_its_delete_keeps_the_consumer_group(esmctl, world, box, tmp_path, operation,
                                                                          when, moved):
    """`moved`: the replace also moves the mapping to another function (MovedFrom): the record was made only for a
    replace of the same identity, and the re-run created the new mapping in a new group (a review)."""
    cluster = "arn:aws:kafka:us-east-1:123456789012:cluster/demo/abcd1234-aaaa-bbbb-cccc-123456789012-1"
    topic = {"FunctionName": "audit-fn", "EventSourceArn": cluster, "Topics": ["orders"], "Tags": {"team": "t"}}
    first = {**topic, "FunctionName": "orders-fn"} if moved else topic
    assert esmctl("apply", spec_file(tmp_path, [{**first, "StartingPosition": "TRIM_HORIZON"}]), "--yes").exit_code == 0
    [old] = mappings(box)
    group = old["AmazonManagedKafkaEventSourceConfig"]["ConsumerGroupId"]
    moved_from = {"MovedFrom": "orders-fn"} if moved else {}
    path = spec_file(tmp_path, [{**topic, "StartingPosition": "LATEST", **moved_from}])
    kill_at(box, [path, "--allow-replace"], operation, 1, when)
    assert mappings(box) == []
    plan = esmctl("plan", path)
    assert "+ create" in plan.stdout and f"consumer group {group}" in plan.stdout, plan.stdout
    [new] = converges(esmctl, box, path, "--allow-replace")
    assert new["UUID"] != old["UUID"] and new["AmazonManagedKafkaEventSourceConfig"]["ConsumerGroupId"] == group
    assert new["FunctionArn"] == world["audit-fn"]
    function_tags = client(box, "lambda", direct=False).list_tags(Resource=world["audit-fn"])["Tags"]
    assert not [k for k in function_tags if k.startswith(marks.TAG_RECORD_PREFIX)]  # the record is gone
