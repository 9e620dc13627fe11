"""Multi-step changes end to end: replaces, hand-offs, prunes — what they leave when a step fails,
and that the next run finishes them. The real CLI over HTTP, against moto behind the AWS-like layer."""

from __future__ import annotations

import json
import threading
import time

import pytest

from tests.helpers import client, kinesis, mappings, once_held, put_age, spec_file


def consumer_spec(world, consumer=None, **extra):
    m = kinesis(world, StartingPosition="LATEST", **extra)
    if consumer:
        m["Consumer"] = consumer
    return m


def by_source(box):
    return {m["EventSourceArn"]: m for m in mappings(box)}


@pytest.mark.parametrize("margin", ["-600", "nan", "inf", "soon"])
def test_handoff_margin_must_be_a_finite_number_of_seconds(esmctl, world, box, tmp_path, margin):
    r = esmctl("plan", spec_file(tmp_path, [consumer_spec(world, "fanout")]), "--handoff-margin", margin)
    assert r.exit_code == 252 and "--handoff-margin" in r.stderr
    assert box.proxy.calls["ListEventSourceMappings"] == 0


def test_handoff_without_a_datapoint_is_a_replace_that_needs_allow_replace(esmctl, world, box, tmp_path):
    old = client(box, "lambda", direct=False).create_event_source_mapping(
        FunctionName="orders-fn", EventSourceArn=world["orders"], StartingPosition="LATEST")["UUID"]
    path = spec_file(tmp_path, [consumer_spec(world, "fanout")])
    [change] = json.loads(esmctl("plan", path, "-o", "json").stdout)["changes"]
    assert change["action"] == "replace" and change["uuid"] == old
    assert "no IteratorAge datapoint" in change["reason"] and "--allow-replace" in change["reason"]
    assert "startingPositionTimestamp" not in change
    box.proxy.clear_counts()
    r = esmctl("apply", path, "--yes")
    assert r.exit_code == 1 and "--allow-replace" in r.stderr
    assert box.proxy.writes() == 0
    r = esmctl("apply", path, "--yes", "--allow-replace")
    assert r.exit_code == 0, r.stderr
    [m] = mappings(box)
    assert "/consumer/fanout:" in m["EventSourceArn"] and m["StartingPosition"] == "LATEST"


def test_handoff_from_a_disabled_mapping_is_not_silent(esmctl, world, box, tmp_path):
    client(box, "lambda", direct=False).create_event_source_mapping(
        FunctionName="orders-fn", EventSourceArn=world["orders"], StartingPosition="LATEST", Enabled=False)
    put_age(box, "orders-fn", [(1, 1000)])
    [change] = json.loads(esmctl("plan", spec_file(tmp_path, [consumer_spec(world, "fanout")]),
                                 "-o", "json").stdout)["changes"]
    assert change["action"] == "replace" and "is Disabled" in change["reason"]


def test_handoff_to_a_disabled_mapping_completes(esmctl, world, box, tmp_path):
    client(box, "lambda", direct=False).create_event_source_mapping(
        FunctionName="orders-fn", EventSourceArn=world["orders"], StartingPosition="LATEST")
    put_age(box, "orders-fn", [(1, 1000)])
    path = spec_file(tmp_path, [consumer_spec(world, "fanout", Enabled=False)])
    box.proxy.transitional_views = 1
    r = esmctl("apply", path, "--yes")
    assert r.exit_code == 0, r.stdout + r.stderr
    [m] = mappings(box)
    assert "/consumer/fanout:" in m["EventSourceArn"] and m["State"] == "Disabled"
    assert esmctl("diff", path).exit_code == 0


def test_an_interrupted_handoff_is_planned_and_finished(esmctl, world, box, tmp_path):
    """Both ends of a move exist (apply was killed after creating the new one): never "No changes"."""
    lam = client(box, "lambda", direct=False)
    old = lam.create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=world["orders"],
                                          StartingPosition="LATEST")["UUID"]
    arn = client(box, "kinesis", direct=False).register_stream_consumer(
        StreamARN=world["orders"], ConsumerName="fanout")["Consumer"]["ConsumerARN"]
    new = lam.create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=arn, StartingPosition="LATEST",
                                          Tags={"esmctl:handoff-from": old})["UUID"]
    path = spec_file(tmp_path, [consumer_spec(world, "fanout")])
    r = esmctl("diff", path)
    assert r.exit_code == 2 and "No changes" not in r.stdout
    assert f"<~> handoff orders-fn <- kinesis:orders/consumer/fanout ({old})" in r.stdout
    r = esmctl("apply", path, "--yes")
    assert r.exit_code == 0, r.stderr
    assert [m["UUID"] for m in mappings(box)] == [new]
    assert esmctl("diff", path).exit_code == 0


def test_a_handoff_touches_only_its_own_slot(esmctl, world, box, tmp_path):
    """Without --prune nothing the spec does not own is deleted: a slot the spec lists twice hands
    nothing off, and other functions and streams are never touched."""
    lam = client(box, "lambda", direct=False)
    kin = client(box, "kinesis", direct=False)
    b = kin.register_stream_consumer(StreamARN=world["orders"], ConsumerName="b")["Consumer"]["ConsumerARN"]
    on_b = lam.create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=b,
                                           StartingPosition="LATEST")["UUID"]
    other_fn = lam.create_event_source_mapping(FunctionName="audit-fn", EventSourceArn=world["orders"],
                                               StartingPosition="LATEST")["UUID"]
    put_age(box, "orders-fn", [(1, 1000)])
    path = spec_file(tmp_path, [consumer_spec(world, "a"), consumer_spec(world)])
    doc = json.loads(esmctl("plan", path, "-o", "json").stdout)
    assert sorted(c["action"] for c in doc["changes"]) == ["create", "create"]
    assert [u["uuid"] for u in doc["unmanaged"]] == [on_b]
    assert esmctl("apply", path, "--yes").exit_code == 0
    uuids = {m["UUID"] for m in mappings(box)}
    assert {on_b, other_fn} <= uuids and len(uuids) == 4


def test_a_failed_replace_says_the_mapping_is_gone_and_a_rerun_creates_it(esmctl, world, box, tmp_path):
    assert esmctl("apply", spec_file(tmp_path, [kinesis(world)])).exit_code == 0
    [old] = mappings(box)
    path = spec_file(tmp_path, [kinesis(world, StartingPosition="LATEST")])
    # Refused for a passing reason (InvalidParameterValue would need the spec corrected: see test_apply.py)
    box.proxy.fail_next["CreateEventSourceMapping"] = (400, "ResourceInUseException", "boom (injected)")
    r = esmctl("apply", path, "--yes", "--allow-replace", "-o", "json")
    assert r.exit_code == 1
    [result] = json.loads(r.stdout)["results"]
    assert not result["ok"] and result["exists"] == []
    assert result["message"].startswith(f"deleted {old['UUID']}; create failed: ")
    assert "no mapping of orders-fn <- kinesis:orders exists now: re-run apply to create it" in result["message"]
    assert mappings(box) == []
    r = esmctl("apply", path, "--yes")
    assert r.exit_code == 0, r.stderr
    [m] = mappings(box)
    assert m["StartingPosition"] == "LATEST"


def test_replace_and_handoff_keep_the_tags_the_spec_does_not_manage(esmctl, world, box, tmp_path):
    lam = client(box, "lambda", direct=False)
    assert esmctl("apply", spec_file(tmp_path, [kinesis(world)])).exit_code == 0
    [old] = mappings(box)
    lam.tag_resource(Resource=old["EventSourceMappingArn"], Tags={"team": "orders", "cost": "42"})
    r = esmctl("apply", spec_file(tmp_path, [kinesis(world, StartingPosition="LATEST")]), "--yes", "--allow-replace")
    assert r.exit_code == 0, r.stderr
    [replaced] = mappings(box)
    assert replaced["UUID"] != old["UUID"]
    assert lam.list_tags(Resource=replaced["EventSourceMappingArn"])["Tags"] == {"team": "orders", "cost": "42"}
    put_age(box, "orders-fn", [(1, 1000)])
    r = esmctl("apply", spec_file(tmp_path, [consumer_spec(world, "fanout")]), "--yes")
    assert r.exit_code == 0, r.stderr
    [moved] = mappings(box)
    tags = lam.list_tags(Resource=moved["EventSourceMappingArn"])["Tags"]
    assert tags == {"team": "orders", "cost": "42", "esmctl:handoff-from": replaced["UUID"]}


def test_a_prune_of_an_updating_mapping_waits_and_retries(esmctl, world, box, tmp_path):
    lam = client(box, "lambda", direct=False)
    stray = lam.create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=world["clicks"],
                                            StartingPosition="LATEST")["UUID"]
    box.proxy.transitional_views = 2
    lam.update_event_source_mapping(UUID=stray, BatchSize=7)  # Updating for two reads: delete is refused meanwhile
    box.proxy.clear_counts()
    r = esmctl("apply", spec_file(tmp_path, [kinesis(world)]), "--prune", "--yes")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert box.proxy.calls["DeleteEventSourceMapping"] >= 1
    assert [m["EventSourceArn"] for m in mappings(box)] == [world["orders"]]


def test_creates_run_before_prunes_and_a_failed_create_keeps_the_old_mapping(esmctl, world, box, tmp_path):
    """A new source AWS refuses must not cost the live mapping: the prune waits for the create. (A source that
    does not exist is refused by the plan itself, before anything is written: AWS refuses this one.)"""
    lam = client(box, "lambda", direct=False)
    old = lam.create_event_source_mapping(FunctionName="jobs-fn", EventSourceArn=world["jobs"])["UUID"]
    box.proxy.fail_next["CreateEventSourceMapping"] = (400, "InvalidParameterValueException",
                                                       "Cannot access stream: the function's role may not read it")
    r = esmctl("apply", spec_file(tmp_path, [kinesis(world, fn="jobs-fn")]), "--prune", "--yes", "-o", "json")
    assert r.exit_code == 1
    results = {x["action"]: x for x in json.loads(r.stdout)["results"]}
    assert not results["create"]["ok"]
    assert results["delete"]["skipped"] and "another change of this function failed" in results["delete"]["message"]
    assert [m["UUID"] for m in mappings(box)] == [old]
    creates_at = box.proxy.log.index("CreateEventSourceMapping")
    assert "DeleteEventSourceMapping" not in box.proxy.log[:creates_at]


def test_timeout_is_one_deadline_for_the_whole_apply(esmctl, world, box, tmp_path):
    box.proxy.transitional_views = 10_000  # never settles
    path = spec_file(tmp_path, [kinesis(world), kinesis(world, fn="audit-fn"), kinesis(world, fn="jobs-fn")])
    # The last create is held, carried out, until past the 2 s the apply has (they count from before the hold was
    # reached: from the apply's start, its plan's reads included): then no wait has any time left, however slow the
    # machine. A wait with time of its own would poll again and again meanwhile.
    held = box.proxy.pause("CreateEventSourceMapping", nth=3, when="after")
    polls = {}

    def let_go() -> None:
        assert held.reached.wait(60)
        time.sleep(2.1)
        polls["at release"] = box.proxy.calls["ListEventSourceMappings"] + box.proxy.calls["GetEventSourceMapping"]
        held.release()

    releaser = threading.Thread(target=let_go)
    releaser.start()
    try:
        r = esmctl("apply", path, "--timeout", "2", "--concurrency", "1", "-o", "json")
    finally:
        held.release()
        releaser.join(60)
    assert r.exit_code == 1
    results = json.loads(r.stdout)["results"]
    assert len(results) == 3
    assert all("timed out" in x["message"] and "whole apply" in x["message"] for x in results)
    after = box.proxy.calls["ListEventSourceMappings"] + box.proxy.calls["GetEventSourceMapping"] - polls["at release"]
    assert after <= 1  # at most one look at the mappings once the deadline is past, for all three waits


def test_no_change_begins_once_the_timeout_has_passed(esmctl, world, box, tmp_path):
    """Past --timeout, a replace that had not begun was still begun: its delete sent, its wait for the delete at once
    out of time, so the stream was left without a mapping (a review). It is skipped instead, nothing sent for it."""
    functions = ("orders-fn", "audit-fn", "jobs-fn")
    lam = client(box, "lambda", direct=False)
    before = {fn: lam.create_event_source_mapping(FunctionName=fn, EventSourceArn=world["orders"],
                                                  StartingPosition="TRIM_HORIZON")["UUID"] for fn in functions}
    path = spec_file(tmp_path, [kinesis(world, fn=fn, StartingPosition="LATEST") for fn in functions])
    # the first replace's delete held past the 2 s, which count from the apply's start, before the hold was reached
    with once_held(box, "DeleteEventSourceMapping", lambda: time.sleep(2.1), when="after"):
        r = esmctl("apply", path, "--allow-replace", "--timeout", "2", "--concurrency", "1", "--yes", "-o", "json")
    assert r.exit_code == 1, r.stdout + r.stderr
    results = json.loads(r.stdout)["results"]
    skipped = [x for x in results if "deadline (2s for the whole apply) passed before it began" in x["message"]]
    said = [x["message"] for x in results]
    assert len(skipped) == 2 and all("nothing was sent for it" in x["message"] for x in skipped), said
    live = {m["FunctionArn"].rsplit(":", 1)[1]: m for m in mappings(box)}
    untouched = [fn for fn in functions if live.get(fn, {}).get("UUID") == before[fn]]
    assert len(untouched) == 2 and all(live[fn]["StartingPosition"] == "TRIM_HORIZON" for fn in untouched)
    r = esmctl("apply", path, "--allow-replace", "--yes")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert sorted(m["StartingPosition"] for m in mappings(box)) == ["LATEST"] * 3


def test_a_wait_rides_out_polls_throttled_beyond_botocores_retries_and_keeps_every_result(esmctl, world, box,
                                                                                           tmp_path, instant_backoff):
    """Lambda's 15 requests/s is shared by every caller: a poll of the final waits still throttled after botocore's
    8 attempts ended the apply with that one error, every result lost (-o json printed nothing), though all the
    mappings were made. A poll that fails so is a poll to make again, until the deadline."""
    box.proxy.transitional_views = 2
    queues = ("jobs", "jobs-dlq", "orders-dlq")
    path = spec_file(tmp_path, [{"FunctionName": "jobs-fn", "EventSourceArn": world[q]} for q in queues])
    # the first poll for the three creates held, then more 429s than two polls' 8 attempts each
    with once_held(box, "ListEventSourceMappings", lambda: box.proxy.throttle_next.update(ListEventSourceMappings=20),
                   nth=2):
        r = esmctl("apply", path, "--yes", "-o", "json")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert [x["status"] for x in json.loads(r.stdout)["results"]] == ["done"] * 3
    assert box.proxy.throttled["ListEventSourceMappings"] == 20
    assert all(m["State"] == "Enabled" for m in mappings(box))


def test_a_replace_rides_out_a_throttled_wait_between_its_delete_and_its_create(esmctl, world, box, tmp_path,
                                                                                 instant_backoff):
    """The wait for the delete, throttled beyond botocore's retries, failed the replace half-way: the old mapping
    deleted, the new one never made, with most of the deadline left."""
    client(box, "lambda", direct=False).create_event_source_mapping(
        FunctionName="orders-fn", EventSourceArn=world["orders"], StartingPosition="TRIM_HORIZON")
    box.proxy.transitional_views = 2  # (the mapping above is Enabled at once): the delete leaves it Deleting
    path = spec_file(tmp_path, [kinesis(world, StartingPosition="LATEST")])
    # the wait for the delete's first look held, then 20 429s
    with once_held(box, "GetEventSourceMapping", lambda: box.proxy.throttle_next.update(GetEventSourceMapping=20)):
        r = esmctl("apply", path, "--yes", "--allow-replace")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert box.proxy.throttled["GetEventSourceMapping"] == 20
    [new] = mappings(box)
    assert new["StartingPosition"] == "LATEST"


def test_a_final_wait_whose_poll_fails_says_so_for_each_change_and_keeps_the_results(esmctl, world, box, tmp_path):
    """A poll that fails otherwise (access denied meanwhile) fails the waits it served, each change saying what
    exists now; the results and the JSON document are still printed."""
    box.proxy.transitional_views = 2
    queues = ("jobs", "jobs-dlq", "orders-dlq")
    path = spec_file(tmp_path, [{"FunctionName": "jobs-fn", "EventSourceArn": world[q]} for q in queues])
    denied = (403, "AccessDeniedException", "denied (injected)")
    with once_held(box, "ListEventSourceMappings", lambda: box.proxy.fail_next.update(ListEventSourceMappings=denied),
                   nth=2):
        r = esmctl("apply", path, "--yes", "-o", "json")
    assert r.exit_code == 1, r.stdout + r.stderr
    results = json.loads(r.stdout)["results"]
    assert [x["status"] for x in results] == ["failed"] * 3
    assert all("AccessDeniedException" in x["message"] and "exists now" in x["message"] for x in results), results


def test_timeout_bounds_the_plans_wait_for_a_mapping_in_creating_too(esmctl, world, box, tmp_path):
    """`--timeout` is for the whole apply: the plan's wait for a mapping in Creating took its own 180 s, whatever
    --timeout said (a review waited 180 s with --timeout 5)."""
    box.proxy.transitional_views = 10_000  # Creating for as long as anyone looks
    client(box, "lambda", direct=False).create_event_source_mapping(
        FunctionName="orders-fn", EventSourceArn=world["orders"], StartingPosition="TRIM_HORIZON")
    path = spec_file(tmp_path, [kinesis(world, BatchSize=50)])
    r = esmctl("apply", path, "--yes", "--timeout", "1")
    assert r.exit_code == 1 and "still changing after 1s" in r.stderr, r.stdout + r.stderr
    assert box.proxy.writes() == 1  # the create above: nothing written by the apply


def test_no_delete_of_a_replace_goes_out_once_the_timeout_has_passed(esmctl, world, box, tmp_path):
    """A replace that recorded the old mapping's tags on the function first had begun, so its delete still went out
    past the deadline, and its wait failed at once: the stream left without a mapping (a review)."""
    lam = client(box, "lambda", direct=False)
    old = lam.create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=world["orders"],
                                          StartingPosition="TRIM_HORIZON", Tags={"team": "orders"})["UUID"]
    path = spec_file(tmp_path, [kinesis(world, StartingPosition="LATEST")])  # tags not managed: recorded first
    # the tag record held past the 2 s, which count from before the hold was reached
    with once_held(box, "TagResource", lambda: time.sleep(2.1), when="after"):
        r = esmctl("apply", path, "--allow-replace", "--timeout", "2", "--yes")
    assert r.exit_code == 1 and "not sent: the --timeout deadline (2s for the whole apply) passed before it" in r.stdout
    assert box.proxy.calls["DeleteEventSourceMapping"] == 0
    [kept] = mappings(box)
    assert kept["UUID"] == old
    assert esmctl("apply", path, "--allow-replace", "--yes").exit_code == 0  # and the next apply finishes
    [new] = mappings(box)
    assert new["StartingPosition"] == "LATEST" and lam.list_tags(Resource=new["EventSourceMappingArn"])["Tags"] == {
        "team": "orders"}


def test_a_mapping_no_throttled_poll_could_read_is_not_called_gone(esmctl, world, box, tmp_path, instant_backoff):
    """Every poll of a mapping in Creating throttled until the deadline: the wait said it was gone."""
    box.proxy.transitional_views = 10_000
    uuid = client(box, "lambda", direct=False).create_event_source_mapping(
        FunctionName="orders-fn", EventSourceArn=world["orders"], StartingPosition="TRIM_HORIZON")["UUID"]
    box.proxy.throttle_next["GetEventSourceMapping"] = 100_000
    r = esmctl("apply", spec_file(tmp_path, [kinesis(world, BatchSize=50)]), "--yes", "--timeout", "1")
    assert r.exit_code == 1, r.stdout + r.stderr
    assert f"still changing after 1s: {uuid} (not known (every poll of it was throttled))" in r.stderr, r.stderr
    r = esmctl("pause", "--function", "orders-fn", "--yes", "--timeout", "1", "-o", "json")
    [row] = json.loads(r.stdout)
    assert (row["UUID"], row["FunctionArn"], row["State"]) == (uuid, world["orders-fn"],
                                                                "not known (every poll of it was throttled)"), row
