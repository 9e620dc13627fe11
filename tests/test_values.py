"""Values as AWS means them: filter patterns compared by JSON type, clearing values that clear, the
function's `$LATEST`, the legacy "forever" values on export, limits and Kafka's retry cap.

Pure logic in memory (tests/reported.py is the oracle of what AWS reports); what a user runs, end to end
against the AWS-like layer."""

from __future__ import annotations

import json

from esmctl import model
from esmctl.plan import diff
from tests import reported
from tests.helpers import client, kinesis, mappings, spec_file
from tests.reported import desired, live

KINESIS = {"EventSourceArn": reported.STREAM, "StartingPosition": "TRIM_HORIZON"}


def filters(*patterns):
    return {"FilterCriteria": {"Filters": [{"Pattern": p} for p in patterns]}}


# -- 1. filter patterns compare by JSON type -------------------------------------------------------
def test_a_pattern_of_true_is_not_a_pattern_of_one():
    have = live({**KINESIS, **filters('{"x": [1]}')})
    [change] = diff([desired({**KINESIS, **filters({"x": [True]})})], [have]).changes
    assert change.steps[0].params == {"FilterCriteria": {"Filters": [{"Pattern": '{"x":[true]}'}]}}
    have = live({**KINESIS, **filters('{"x": [false]}')})
    assert not diff([desired({**KINESIS, **filters({"x": [0]})})], [have]).empty
    # the same JSON in another spelling is still no change
    assert diff([desired({**KINESIS, **filters({"x": [True, 1.5]})})],
                [live({**KINESIS, **filters('{ "x" : [true, 1.5] }')})]).empty


def test_diff_sees_true_against_a_live_one(esmctl, world, box, tmp_path):
    client(box, "lambda").create_event_source_mapping(
        FunctionName="orders-fn", EventSourceArn=world["orders"], StartingPosition="TRIM_HORIZON",
        FilterCriteria={"Filters": [{"Pattern": '{"data": {"paid": [1]}}'}]})
    path = spec_file(tmp_path, [kinesis(world, **filters({"data": {"paid": [True]}}))])
    r = esmctl("diff", path)
    assert r.exit_code == 2, r.stdout + r.stderr
    assert "FilterCriteria" in r.stdout
    assert esmctl("apply", path).exit_code == 0
    assert json.loads(mappings(box)[0]["FilterCriteria"]["Filters"][0]["Pattern"]) == {"data": {"paid": [True]}}
    assert esmctl("diff", path).exit_code == 0


# -- 2. DestinationConfig: {} clears the destination -------------------------------------------------
def test_an_empty_destination_config_sends_the_clearing_value():
    have = live({**KINESIS, "DestinationConfig": {"OnFailure": {"Destination": reported.DLQ}}})
    for empty in ({}, {"OnFailure": {}}, {"OnFailure": {"Destination": ""}}):
        [change] = diff([desired({**KINESIS, "DestinationConfig": empty})], [have]).changes
        assert change.steps[0].params == {"DestinationConfig": {"OnFailure": {"Destination": ""}}}, empty
        # a new mapping gets none: AWS refuses an OnFailure without a Destination, and none is the default
        assert "DestinationConfig" not in model.create_params(desired({**KINESIS, "DestinationConfig": empty}))


def test_apply_of_an_empty_destination_config_converges(esmctl, world, box, tmp_path):
    client(box, "lambda").create_event_source_mapping(
        FunctionName="orders-fn", EventSourceArn=world["orders"], StartingPosition="TRIM_HORIZON",
        DestinationConfig={"OnFailure": {"Destination": world["orders-dlq"]}})
    path = spec_file(tmp_path, [kinesis(world, DestinationConfig={})])
    assert esmctl("diff", path).exit_code == 2
    r = esmctl("apply", path)
    assert r.exit_code == 0, r.stderr
    assert not mappings(box)[0].get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    r = esmctl("diff", path)
    assert r.exit_code == 0, r.stdout


# -- 3. FunctionName fn:$LATEST --------------------------------------------------------------------
def test_latest_is_the_unqualified_function_on_both_sides():
    want = desired({**KINESIS, "FunctionName": "orders-fn:$LATEST"})
    assert want.function == reported.FN
    # a mapping another tool made on fn:$LATEST is the one the spec means, not a second one to create
    have = live(KINESIS, function_arn=reported.FN + ":$LATEST")
    assert diff([want], [have]).empty and diff([desired(KINESIS)], [have]).empty


def test_apply_of_a_latest_function_then_diff_is_clean(esmctl, world, box, tmp_path):
    path = spec_file(tmp_path, [kinesis(world, fn="orders-fn:$LATEST")])
    r = esmctl("apply", path)
    assert r.exit_code == 0, r.stderr
    [m] = mappings(box)
    assert m["FunctionArn"] == world["orders-fn"]  # sent unqualified: the identity esmctl gave it
    r = esmctl("diff", path)
    assert r.exit_code == 0, r.stdout + r.stderr
    r = esmctl("apply", path)
    assert r.exit_code == 0 and len(mappings(box)) == 1, r.stderr
