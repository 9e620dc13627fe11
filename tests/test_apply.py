"""`esmctl plan | diff | apply | export` against the emulator (with the AWS-like layer in front)."""

from __future__ import annotations

import json
import os
import textwrap

import pytest
import yaml

from tests.helpers import client

ACCOUNT = "123456789012"


def spec_file(tmp_path, mappings: list[dict], name: str = "spec.yaml", **top) -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"version": 1, **top, "mappings": mappings}, sort_keys=False))
    return str(path)


def kinesis(world, fn="orders-fn", stream="orders", **extra):
    return {"FunctionName": fn, "EventSourceArn": world[stream], "StartingPosition": "TRIM_HORIZON", **extra}


def live(box):
    return client(box, "lambda").list_event_source_mappings()["EventSourceMappings"]


def test_apply_creates_kinesis_dynamodb_and_sqs_then_second_apply_writes_nothing(esmctl, world, box, tmp_path):
    path = spec_file(tmp_path, [
        kinesis(world, BatchSize=500, MaximumRetryAttempts=3,
                DestinationConfig={"OnFailure": {"Destination": world["orders-dlq"]}},
                FilterCriteria={"Filters": [{"Pattern": {"data": {"type": ["order"]}}}]}),
        {"FunctionName": "audit-fn", "EventSourceArn": world["orders-table-stream"], "StartingPosition": "LATEST"},
        {"FunctionName": "jobs-fn", "EventSourceArn": world["jobs"], "BatchSize": 5},
    ])
    r = esmctl("apply", path)
    assert r.exit_code == 0, r.stderr
    assert "Plan: 3 to create, 0 to update, 0 to replace, 0 to delete." in r.stdout
    by_source = {m["EventSourceArn"]: m for m in live(box)}
    assert set(by_source) == {world["orders"], world["orders-table-stream"], world["jobs"]}
    assert by_source[world["orders"]]["BatchSize"] == 500
    assert by_source[world["jobs"]]["BatchSize"] == 5
    assert json.loads(by_source[world["orders"]]["FilterCriteria"]["Filters"][0]["Pattern"]) == {
        "data": {"type": ["order"]}}

    box.proxy.clear_counts()
    r = esmctl("apply", path)
    assert r.exit_code == 0
    assert "No changes." in r.stdout
    assert box.proxy.writes() == 0
    assert box.proxy.calls["ListEventSourceMappings"] == 1


def test_update_in_place_keeps_the_uuid_and_only_sends_changes(esmctl, world, box, tmp_path):
    path = spec_file(tmp_path, [kinesis(world, BatchSize=500)])
    assert esmctl("apply", path).exit_code == 0
    uuid = live(box)[0]["UUID"]
    path = spec_file(tmp_path, [kinesis(world, BatchSize=200, MaximumRetryAttempts=2)])
    plan = esmctl("plan", path)
    assert "~ update orders-fn <- kinesis:orders" in plan.stdout
    assert "BatchSize: 500 → 200" in plan.stdout and "MaximumRetryAttempts: -1 → 2" in plan.stdout
    assert "Plan: 0 to create, 1 to update, 0 to replace, 0 to delete." in plan.stdout
    assert esmctl("apply", path).exit_code == 0
    [m] = live(box)
    assert m["UUID"] == uuid and m["BatchSize"] == 200 and m["MaximumRetryAttempts"] == 2


def test_removed_key_goes_back_to_the_aws_default(esmctl, world, box, tmp_path):
    full = kinesis(world, BatchSize=500, MaximumRetryAttempts=3,
                   DestinationConfig={"OnFailure": {"Destination": world["orders-dlq"]}},
                   FilterCriteria={"Filters": [{"Pattern": '{"data": {"type": ["order"]}}'}]},
                   FunctionResponseTypes=["ReportBatchItemFailures"])
    assert esmctl("apply", spec_file(tmp_path, [full])).exit_code == 0
    r = esmctl("apply", spec_file(tmp_path, [kinesis(world)]))
    assert r.exit_code == 0, r.stderr
    [m] = client(box, "lambda", direct=False).list_event_source_mappings()["EventSourceMappings"]
    assert m["BatchSize"] == 100 and m["MaximumRetryAttempts"] == -1
    assert m["DestinationConfig"] == {"OnFailure": {}}  # as AWS reports it once the destination is removed
    assert m["FilterCriteria"] == {}
    assert m["FunctionResponseTypes"] == []
    assert "No changes." in esmctl("diff", spec_file(tmp_path, [kinesis(world)])).stdout


def test_replace_is_refused_without_allow_replace_then_runs_delete_first(esmctl, world, box, tmp_path):
    assert esmctl("apply", spec_file(tmp_path, [kinesis(world)])).exit_code == 0
    old = live(box)[0]["UUID"]
    path = spec_file(tmp_path, [kinesis(world, StartingPosition="LATEST")])
    plan = esmctl("plan", path)
    assert "-/+ replace orders-fn <- kinesis:orders" in plan.stdout
    assert 'StartingPosition: "TRIM_HORIZON" → "LATEST"' in plan.stdout
    assert "1 to replace, 0 to delete (replacing needs --allow-replace)." in plan.stdout
    box.proxy.clear_counts()
    r = esmctl("apply", path, "--yes")
    assert r.exit_code == 1
    assert "--allow-replace" in r.stderr and "position" in r.stderr
    assert box.proxy.writes() == 0
    r = esmctl("apply", path, "--allow-replace")
    assert r.exit_code == 1 and "--yes" in r.stderr
    assert box.proxy.writes() == 0

    box.proxy.transitional_views = 2  # Deleting lingers: a create-first replace would get 409
    r = esmctl("apply", path, "--allow-replace", "--yes")
    assert r.exit_code == 0, r.stderr
    assert "1 to replace, 0 to delete." in r.stdout and "(replacing needs --allow-replace)" not in r.stdout
    [m] = live(box)
    assert m["UUID"] != old and m["StartingPosition"] == "LATEST"
    writes = [op for op in box.proxy.log if op in ("DeleteEventSourceMapping", "CreateEventSourceMapping")]
    assert writes == ["DeleteEventSourceMapping", "CreateEventSourceMapping"]
    delete_at = box.proxy.log.index("DeleteEventSourceMapping")
    create_at = box.proxy.log.index("CreateEventSourceMapping")
    assert "GetEventSourceMapping" in box.proxy.log[delete_at:create_at]  # waited until gone


def test_prune_is_scoped_to_the_spec_functions(esmctl, world, box, tmp_path):
    lam = client(box, "lambda")
    stray = lam.create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=world["clicks"],
                                            StartingPosition="LATEST")["UUID"]
    other = lam.create_event_source_mapping(FunctionName="audit-fn", EventSourceArn=world["clicks"],
                                            StartingPosition="LATEST")["UUID"]
    path = spec_file(tmp_path, [kinesis(world)])
    plan = esmctl("plan", path)
    assert "Unmanaged" in plan.stdout and stray in plan.stdout and other not in plan.stdout
    r = esmctl("apply", path, "--prune")
    assert r.exit_code == 1 and "without confirmation" in r.stderr
    assert {m["UUID"] for m in live(box)} == {stray, other}
    r = esmctl("apply", path, "--prune", "--yes")
    assert r.exit_code == 0, r.stderr
    uuids = {m["UUID"] for m in live(box)}
    assert stray not in uuids and other in uuids and len(uuids) == 2


def test_export_round_trips_to_a_clean_diff(esmctl, world, box, tmp_path):
    lam = client(box, "lambda")
    lam.create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=world["orders"],
                                    StartingPosition="TRIM_HORIZON", BatchSize=250, ParallelizationFactor=3,
                                    FilterCriteria={"Filters": [{"Pattern": '{ "b": [1],  "a": ["x"] }'}]},
                                    DestinationConfig={"OnFailure": {"Destination": world["orders-dlq"]}})
    # text a filter matches that a spec would read as a placeholder: exported as $${…} (a review saw diff fail on it)
    literal = '{"body": {"tmpl": ["${team-name}", "${ACCOUNT}"]}}'
    lam.create_event_source_mapping(FunctionName=world["jobs-fn"], EventSourceArn=world["jobs"], Enabled=False,
                                    FilterCriteria={"Filters": [{"Pattern": literal}]})
    lam.create_event_source_mapping(FunctionName="audit-fn", EventSourceArn=world["orders-table-stream"],
                                    StartingPosition="LATEST", MaximumRecordAgeInSeconds=600)
    r = esmctl("export")
    assert r.exit_code == 0, r.stderr
    doc = yaml.safe_load(r.stdout)
    jobs = next(m for m in doc["mappings"] if m["FunctionName"] == "jobs-fn")
    assert jobs == {"FunctionName": "jobs-fn", "EventSourceArn": world["jobs"], "Enabled": False, "FilterCriteria": {
        "Filters": [{"Pattern": {"body": {"tmpl": ["$${team-name}", "$${ACCOUNT}"]}}}]}}
    orders = next(m for m in doc["mappings"] if m["FunctionName"] == "orders-fn")
    assert orders["FilterCriteria"] == {"Filters": [{"Pattern": {"a": ["x"], "b": [1]}}]}
    assert "MaximumRetryAttempts" not in orders  # defaults are left out
    path = tmp_path / "exported.yaml"
    path.write_text(r.stdout)
    d = esmctl("diff", str(path))
    assert d.exit_code == 0, d.stdout + d.stderr
    assert esmctl("validate", str(path)).exit_code == 0


def test_filter_patterns_compare_as_json(esmctl, world, box, tmp_path):
    client(box, "lambda").create_event_source_mapping(
        FunctionName="orders-fn", EventSourceArn=world["orders"], StartingPosition="TRIM_HORIZON",
        FilterCriteria={"Filters": [{"Pattern": '{"data":{"kind":["b"],"type":["order"]}}'},
                                    {"Pattern": '{"x": [1]}'}]})
    path = tmp_path / "spec.yaml"
    path.write_text(textwrap.dedent(f"""\
        version: 1
        mappings:
          - FunctionName: orders-fn
            EventSourceArn: {world['orders']}
            StartingPosition: TRIM_HORIZON
            FilterCriteria:
              Filters:
                - Pattern: '{{ "x" : [ 1 ] }}'
                - Pattern:
                    data: {{type: [order], kind: [b]}}
        """))
    r = esmctl("diff", str(path))
    assert r.exit_code == 0, r.stdout
    assert "No changes." in r.stdout


def test_diff_and_detailed_exitcode_and_json_plan(esmctl, world, box, tmp_path):
    path = spec_file(tmp_path, [kinesis(world, BatchSize=300)])
    r = esmctl("diff", path)
    assert r.exit_code == 2 and "+ create orders-fn <- kinesis:orders" in r.stdout
    assert esmctl("plan", path).exit_code == 0
    assert esmctl("plan", path, "--detailed-exitcode").exit_code == 2
    doc = json.loads(esmctl("plan", path, "-o", "json").stdout)
    assert doc["summary"] == {"create": 1, "update": 0, "move": 0, "replace": 0, "handoff": 0, "delete": 0,
                              "old_ends_deleted": 0, "in_sync": 0, "waiting": 0}
    [change] = doc["changes"]
    assert change["action"] == "create" and change["source"] == world["orders"]
    assert change["function"] == f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:orders-fn"
    assert change["fields"]["BatchSize"] == {"before": None, "after": 300}
    assert change["where"].endswith("spec.yaml:3:3")
    assert esmctl("apply", path).exit_code == 0
    assert esmctl("diff", path).exit_code == 0
    assert esmctl("plan", path, "--detailed-exitcode").exit_code == 0


def test_a_lost_create_reply_is_adopted_not_duplicated(esmctl, world, box, tmp_path):
    box.proxy.lose_reply.add("CreateEventSourceMapping")
    r = esmctl("apply", spec_file(tmp_path, [kinesis(world, BatchSize=42)]))
    assert r.exit_code == 0, r.stderr
    assert "adopted the existing mapping" in r.stdout
    [m] = live(box)
    assert m["BatchSize"] == 42
    assert box.proxy.calls["CreateEventSourceMapping"] == 2  # the retry met 409 and looked the pair up


def test_existing_pair_created_elsewhere_is_adopted_and_updated(world, box, tmp_path):
    """The 409 path: someone created the pair between plan and apply."""
    from esmctl import reconcile, spec
    from esmctl.aws.calls import Aws

    aws = Aws(endpoint_url=box.url)
    planned = reconcile.plan(aws, spec.load_files([spec_file(tmp_path, [
        kinesis(world, BatchSize=77, MaximumRetryAttempts=4)])])).plan
    client(box, "lambda").create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=world["orders"],
                                                      StartingPosition="TRIM_HORIZON")
    [result] = reconcile.apply(aws, planned)
    assert result.ok and result.message.startswith("adopted the existing mapping")
    [m] = live(box)
    assert (m["BatchSize"], m["MaximumRetryAttempts"]) == (77, 4)


def test_a_mapping_adopted_gets_the_tags_the_create_would_have_set(esmctl, world, box, tmp_path):
    """Adopted after a 409, a mapping was updated but not tagged: `ok`, then `diff` found the tags at once."""
    from esmctl import reconcile, spec
    from esmctl.aws.calls import Aws

    aws = Aws(endpoint_url=box.url)
    path = spec_file(tmp_path, [kinesis(world, BatchSize=5, Tags={"team": "orders"})])
    planned = reconcile.plan(aws, spec.load_files([path])).plan
    lam = client(box, "lambda", direct=False)
    lam.create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=world["orders"],
                                    StartingPosition="TRIM_HORIZON", BatchSize=9, Tags={"owner": "someone"})
    [result] = reconcile.apply(aws, planned)
    assert result.ok and result.message.startswith("adopted the existing mapping")
    [m] = live(box)
    assert m["BatchSize"] == 5 and lam.list_tags(Resource=m["EventSourceMappingArn"])["Tags"] == {"team": "orders"}
    assert esmctl("diff", path).exit_code == 0


def test_one_failure_does_not_stop_the_others(esmctl, world, box, tmp_path):
    """A change AWS refuses, which no plan could foresee, fails alone; the next apply makes the rest."""
    box.proxy.fail_next["CreateEventSourceMapping"] = (
        400, "InvalidParameterValueException",
        "The provided execution role does not have permissions to call GetRecords on Kinesis")
    path = spec_file(tmp_path, [kinesis(world), kinesis(world, fn="audit-fn"), kinesis(world, stream="clicks")])
    r = esmctl("apply", path)
    assert r.exit_code == 1
    assert "1 of 3 change(s) failed" in r.stderr
    assert "FAILED" in r.stdout and "does not have permissions to call GetRecords" in r.stdout
    assert len(live(box)) == 2
    results = json.loads(esmctl("apply", path, "-o", "json").stdout)
    assert [x["ok"] for x in results["results"]] == [True] and len(live(box)) == 3


def test_throttling_is_ridden_out_by_every_thread(esmctl, world, box, tmp_path, instant_backoff):
    """429s met by creates running side by side are retried until every create is done. Counted 429s, not a rate
    against the clock: how many calls a busy machine gets in under a rate must not decide whether any are
    throttled. (The pacer's halving on a 429 is tested in memory, against a clock that does not move.)"""
    kinesis_client = client(box, "kinesis")
    streams = []
    for i in range(8):
        kinesis_client.create_stream(StreamName=f"s{i}", ShardCount=1)
        streams.append(kinesis_client.describe_stream_summary(StreamName=f"s{i}")["StreamDescriptionSummary"]["StreamARN"])
    box.proxy.throttle_next["CreateEventSourceMapping"] = 4  # half of the creates in flight at once meet a 429
    path = spec_file(tmp_path, [{"FunctionName": "orders-fn", "EventSourceArn": s, "StartingPosition": "LATEST"}
                                for s in streams])
    r = esmctl("apply", path, "--concurrency", "8", "-v")
    assert r.exit_code == 0, r.stderr
    assert len(live(box)) == 8
    assert box.proxy.throttled == {"CreateEventSourceMapping": 4}
    assert box.proxy.calls["CreateEventSourceMapping"] == 8 + 4  # each 429 retried once it was met, no more
    assert "throttled and retried: 4" in r.stderr


def test_waits_use_one_listing_per_poll(esmctl, world, box, tmp_path):
    box.proxy.transitional_views = 2
    box.proxy.page_size = 2
    path = spec_file(tmp_path, [kinesis(world), kinesis(world, fn="audit-fn"), kinesis(world, fn="jobs-fn"),
                                kinesis(world, stream="clicks")])
    r = esmctl("apply", path)
    assert r.exit_code == 0, r.stderr
    assert box.proxy.calls["GetEventSourceMapping"] == 0
    assert all(m["State"] == "Enabled" for m in live(box))


def test_tags_are_managed_only_where_the_spec_sets_them(esmctl, world, box, tmp_path):
    path = spec_file(tmp_path, [kinesis(world, Tags={"team": "orders", "tier": "1"})])
    assert esmctl("apply", path).exit_code == 0
    [m] = live(box)
    lam = client(box, "lambda")
    assert lam.list_tags(Resource=m["EventSourceMappingArn"])["Tags"] == {"team": "orders", "tier": "1"}
    lam.tag_resource(Resource=m["EventSourceMappingArn"], Tags={"extra": "x"})
    path = spec_file(tmp_path, [kinesis(world, Tags={"team": "payments", "tier": "1"})])
    plan = esmctl("plan", path).stdout
    assert 'Tags.team: "orders" → "payments"' in plan and "Tags.extra" in plan
    assert esmctl("apply", path).exit_code == 0
    assert lam.list_tags(Resource=m["EventSourceMappingArn"])["Tags"] == {"team": "payments", "tier": "1"}
    box.proxy.clear_counts()
    lam.tag_resource(Resource=m["EventSourceMappingArn"], Tags={"cost-centre": "42"})
    r = esmctl("diff", spec_file(tmp_path, [kinesis(world)]))
    assert r.exit_code == 0 and box.proxy.calls["ListTags"] == 0


def test_legacy_sentinels_are_not_drift(esmctl, world, box, tmp_path):
    box.proxy.legacy_sentinels = True  # old mappings report 10000 / 604800 for "forever"
    path = spec_file(tmp_path, [kinesis(world)])
    assert esmctl("apply", path).exit_code == 0
    assert live(box)[0].get("MaximumRetryAttempts") is None  # moto stores nothing; the layer shows 10000
    r = esmctl("diff", path)
    assert r.exit_code == 0, r.stdout


def test_bad_spec_writes_nothing(esmctl, world, box, tmp_path):
    path = spec_file(tmp_path, [kinesis(world, BatchSize=0)])
    r = esmctl("apply", path, "--yes")
    assert r.exit_code == 1 and ":6:3: BatchSize: is 0; the minimum is 1" in r.stderr
    assert sum(box.proxy.calls.values()) == 0


def test_the_example_spec_applies_cleanly(esmctl, world, box, monkeypatch):
    monkeypatch.setenv("ACCOUNT", ACCOUNT)
    monkeypatch.setenv("ORDERS_TABLE_STREAM", world["orders-table-stream"])
    r = esmctl("apply", "examples/mappings.yaml")
    assert r.exit_code == 0, r.stderr
    assert len(live(box)) == 3
    assert esmctl("diff", "examples/mappings.yaml").exit_code == 0


def test_alias_mappings_are_their_own_identity(esmctl, world, box, tmp_path):
    lam = client(box, "lambda")
    version = lam.publish_version(FunctionName="orders-fn")["Version"]
    lam.create_alias(FunctionName="orders-fn", Name="live", FunctionVersion=version)
    path = spec_file(tmp_path, [kinesis(world, FunctionName="orders-fn:live", BatchSize=10), kinesis(world)])
    r = esmctl("apply", path)
    assert r.exit_code == 0, r.stderr
    arns = sorted(m["FunctionArn"] for m in client(box, "lambda", direct=False)
                  .list_event_source_mappings()["EventSourceMappings"])
    assert arns == [world["orders-fn"], world["orders-fn"] + ":live"]
    assert esmctl("diff", path).exit_code == 0
    r = esmctl("list", "--function", "orders-fn:live", "-o", "json")
    assert [m["BatchSize"] for m in json.loads(r.stdout)["EventSourceMappings"]] == [10]


def test_aws_loads_models_without_listing_every_service(monkeypatch, tmp_path):
    """The session's loader asks each service's own directory; botocore's answers still hold."""
    import botocore.loaders

    from esmctl.aws.calls import Aws
    from esmctl.aws.errors import AwsError

    listed = []
    real = botocore.loaders.Loader.list_available_services
    monkeypatch.setattr(botocore.loaders.Loader, "list_available_services",
                        lambda self, type_name: listed.append(type_name) or real(self, type_name))
    extra = tmp_path / "models"
    (extra / "madeup" / "2020-01-01").mkdir(parents=True)
    (extra / "madeup" / "2020-01-01" / "service-2.json").write_text("{}")
    monkeypatch.setenv("AWS_DATA_PATH", str(extra))
    aws = Aws(region="us-east-1")
    for service in ("lambda", "sts", "kinesis", "cloudwatch", "sqs", "iam", "dynamodbstreams"):
        aws.client(service)  # made, with its model and endpoint rules
    aws.client("lambda").get_paginator("list_event_source_mappings")
    services = aws.session.get_component("data_loader").list_available_services("service-2")
    assert "lambda" in services and "madeup" in services and "nope" not in services
    assert not listed  # nothing above listed them all
    try:
        aws.client("nope")
    except AwsError as exc:
        assert "Unknown service: 'nope'" in exc.message and "lambda" in exc.message
    else:
        raise AssertionError("a client of an unknown service")


def test_a_create_shows_the_tags_it_sets_in_text_and_json(esmctl, world, box, tmp_path):
    path = spec_file(tmp_path, [kinesis(world, BatchSize=300, Tags={"team": "orders", "tier": "1"})])
    text = esmctl("plan", path).stdout
    assert '      Tags.team: "orders"' in text and '      Tags.tier: "1"' in text
    assert text.index("BatchSize") < text.index("Tags.team") < text.index("Tags.tier")
    assert 'Tags.team: "orders"' in esmctl("plan", path, "-o", "markdown").stdout
    [change] = json.loads(esmctl("plan", path, "-o", "json").stdout)["changes"]
    assert change["fields"]["Tags.team"] == {"before": None, "after": "orders"}
    assert change["fields"]["Tags.tier"] == {"before": None, "after": "1"}
    assert change["fields"]["BatchSize"] == {"before": None, "after": 300}
    assert esmctl("apply", path).exit_code == 0
    [m] = live(box)
    assert client(box, "lambda").list_tags(Resource=m["EventSourceMappingArn"])["Tags"] == {
        "team": "orders", "tier": "1"}
    assert esmctl("diff", path).exit_code == 0


def test_a_create_without_tags_shows_none(esmctl, world, box, tmp_path):
    path = spec_file(tmp_path, [kinesis(world)])
    assert "Tags" not in esmctl("plan", path).stdout
    [change] = json.loads(esmctl("plan", path, "-o", "json").stdout)["changes"]
    assert not [name for name in change["fields"] if name.startswith("Tags")]


def test_a_create_for_a_function_that_does_not_exist_is_refused_before_any_write(esmctl, world, box, tmp_path):
    """As plan and diff say it: apply (and its --dry-run) refuses the spec before anything is written, rather than
    making the other changes and failing that one (a review found apply partial, and --dry-run clean)."""
    path = spec_file(tmp_path, [kinesis(world), kinesis(world, fn="no-such-fn", stream="clicks")])
    assert esmctl("validate", path).exit_code == 0  # offline: only AWS knows the function is missing
    expected = (f"{path}:6:17: FunctionName: no-such-fn does not exist in us-east-1: create the function (or alias) "
                "first, or correct the name")
    for command in (["plan", path], ["apply", path, "--dry-run"], ["apply", path, "--yes"]):
        r = esmctl(*command)
        assert r.exit_code == 1 and r.stderr.splitlines()[0] == expected, (command, r.stderr)
    assert live(box) == [] and box.proxy.writes() == 0


def test_a_function_gone_between_the_plan_and_the_create_says_what_to_fix(esmctl, world, box, tmp_path):
    """Deleted after the plan read it: the create's 404 says what to correct and where, not to re-run."""
    assert esmctl("apply", spec_file(tmp_path, [kinesis(world)])).exit_code == 0
    path = spec_file(tmp_path, [kinesis(world), kinesis(world, fn="audit-fn", stream="clicks")])
    box.proxy.fail_next["CreateEventSourceMapping"] = (
        404, "ResourceNotFoundException", "Function not found: arn:aws:lambda:us-east-1:123456789012:function:audit-fn")
    r = esmctl("apply", path, "-o", "json")
    assert r.exit_code == 1 and "1 of 1 change(s) failed" in r.stderr
    [failed] = json.loads(r.stdout)["results"]
    assert not failed["ok"] and failed["exists"] == []
    assert "function audit-fn does not exist: create it, or correct FunctionName at" in failed["message"]
    assert f"{path}:6:17" in failed["message"]  # where the spec names it
    assert "re-run" not in failed["message"] and "re-run" not in r.stderr


def test_a_source_gone_between_the_plan_and_the_create_names_event_source_arn_at_its_own_line(esmctl, world, box,
                                                                                               tmp_path):
    """AWS refuses a create whose queue went away after the plan read it: the result says to correct EventSourceArn
    where the spec writes it (line 4), not where the entry begins (3:3), and reads as one sentence (a review saw the
    entry and `Invalid EventSourceArn. no mapping of …`)."""
    path = spec_file(tmp_path, [{"FunctionName": "audit-fn", "EventSourceArn": world["jobs"]}])
    box.proxy.fail_next["CreateEventSourceMapping"] = (404, "ResourceNotFoundException", "Invalid EventSourceArn.")
    r = esmctl("apply", path, "--yes", "-o", "json")
    assert r.exit_code == 1, r.stdout + r.stderr
    [failed] = json.loads(r.stdout)["results"]
    assert failed["message"].endswith("ResourceNotFoundException: Invalid EventSourceArn; no mapping of audit-fn <- "
                                      "sqs:jobs exists now: the source sqs:jobs does not exist: create it, or correct "
                                      f"EventSourceArn at {path}:4:19"), failed["message"]
    assert live(box) == []


def test_a_source_that_does_not_exist_is_refused_before_any_write(esmctl, world, box, tmp_path):
    """As a missing function: a Kinesis stream or an SQS queue that does not exist is said by plan, apply --dry-run
    and apply, on the EventSourceArn it names, before anything is written (a review saw apply make the other
    mappings, then fail). A source a live mapping reads is not asked again; one these credentials may not read is
    not taken for missing."""
    queue = world["jobs"].rsplit(":", 1)[0] + ":no-such-queue"
    stream = world["orders"].rsplit("/", 1)[0] + "/no-such-stream"
    path = spec_file(tmp_path, [kinesis(world), {"FunctionName": "audit-fn", "EventSourceArn": queue},
                                kinesis(world, fn="audit-fn", stream="orders") | {"EventSourceArn": stream}])
    expected = [f"{path}:7:19: EventSourceArn: sqs:no-such-queue does not exist in us-east-1: create it first, or "
                "correct the ARN",
                f"{path}:9:19: EventSourceArn: kinesis:no-such-stream does not exist in us-east-1: create it first, or "
                "correct the ARN"]
    for command in (["plan", path], ["apply", path, "--dry-run"], ["apply", path, "--yes"]):
        r = esmctl(*command)
        assert r.exit_code == 1 and r.stderr.splitlines()[:2] == expected, (command, r.stderr)
    assert live(box) == [] and box.proxy.writes() == 0
    assert esmctl("apply", spec_file(tmp_path, [kinesis(world)]), "--yes").exit_code == 0
    box.proxy.clear_counts()
    r = esmctl("plan", spec_file(tmp_path, [kinesis(world), kinesis(world, fn="audit-fn")]))
    assert r.exit_code == 0 and box.proxy.calls["DescribeStreamSummary"] == 0  # orders: a live mapping reads it
    box.proxy.fail_next["ListQueues"] = (403, "AccessDenied", "not allowed")
    r = esmctl("apply", spec_file(tmp_path, [{"FunctionName": "audit-fn", "EventSourceArn": world["jobs"]}]), "--yes")
    assert r.exit_code == 0, r.stderr  # not known, so not refused: the create says what AWS thinks
    assert "ListQueues" not in box.proxy.fail_next  # it was asked, and refused
    # A 404 that is no answer of Kinesis's own (a proxy's page, an endpoint that serves Lambda only): not known.
    box.proxy.fail_next["DescribeStreamSummary"] = (404, "", "<html>Not Found</html>")
    r = esmctl("plan", spec_file(tmp_path, [kinesis(world, fn="jobs-fn", stream="clicks")]))
    assert r.exit_code == 0 and "+ create jobs-fn <- kinesis:clicks" in r.stdout, r.stdout + r.stderr
    assert "DescribeStreamSummary" not in box.proxy.fail_next


def _held_while(box, held_op: str, run, arrived: str, count: int = 1) -> bool:
    """Hold the first `held_op` call that `run()` (in a thread) makes; whether `count` calls of `arrived` come
    while it is held. The held call is let go either way."""
    import threading
    import time

    held = box.proxy.pause(held_op, nth=1, when="before")
    worker = threading.Thread(target=run)
    worker.start()
    try:
        assert held.reached.wait(timeout=60)
        deadline = time.monotonic() + 20  # only how long a failing test waits for what never comes
        while box.proxy.calls[arrived] < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return box.proxy.calls[arrived] >= count
    finally:
        held.release()
        worker.join(timeout=120)


def test_a_new_source_is_read_while_the_plan_reads_its_function(esmctl, world, box, tmp_path):
    """A create's source (one read in its own service) is asked beside its function's GetFunction, not after all
    of the plan's Lambda reads: with the GetFunction held, the stream is asked all the same."""
    path = spec_file(tmp_path, [kinesis(world, fn="jobs-fn", stream="clicks")])
    out = {}
    assert _held_while(box, "GetFunction", lambda: out.update(r=esmctl("plan", path)), "DescribeStreamSummary")
    assert out["r"].exit_code == 0 and "+ create jobs-fn <- kinesis:clicks" in out["r"].stdout
    assert box.proxy.calls["DescribeStreamSummary"] == 1


def test_a_plan_that_fails_meanwhile_ends_once_its_source_reads_have(box, world, tmp_path):
    """The source checks run beside the plan's Lambda reads. When one of those fails, esmctl says so and asks no
    more; a read already under way is not abandoned halfway (it may be running a credential_process, which can
    prompt): the process ends once it has."""
    import subprocess
    import sys

    path = spec_file(tmp_path, [kinesis(world, fn="jobs-fn", stream="clicks")])
    held = box.proxy.pause("DescribeStreamSummary", nth=1, when="before")  # until released (the layer's 30 s)
    function = box.proxy.pause("GetFunction", nth=1, when="before")
    exe = os.path.join(os.path.dirname(sys.executable), "esmctl")
    proc = subprocess.Popen([exe, "plan", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert held.reached.wait(timeout=60) and function.reached.wait(timeout=60)
        box.proxy.fail_next["GetFunction"] = (403, "AccessDeniedException", "not allowed")
        function.release(drop=True)  # no reply: botocore asks again, and is refused
        said = proc.stderr.readline()  # the plan's error, said before the end
        assert "not allowed" in said, said
        with pytest.raises(subprocess.TimeoutExpired):  # the source's read is held: the process waits for it
            proc.wait(timeout=2)
        held.release()
        proc.communicate(timeout=60)
    finally:
        proc.kill()
        held.release()
    assert proc.returncode == 1
    assert box.proxy.calls["DescribeStreamSummary"] == 1


def test_a_plan_with_problems_asks_no_source(esmctl, world, box, tmp_path):
    """A plan's problems (here a second mapping of a function on a stream it reads) are said before anything
    more is asked of AWS: the spec's new sources are not asked (a review saw them asked anyway)."""
    import threading

    lam = client(box, "lambda")
    version = lam.publish_version(FunctionName="orders-fn")["Version"]
    lam.create_alias(FunctionName="orders-fn", Name="live", FunctionVersion=version)
    assert esmctl("apply", spec_file(tmp_path, [kinesis(world)]), "--yes").exit_code == 0
    box.proxy.clear_counts()
    r = esmctl("plan", spec_file(tmp_path, [kinesis(world, FunctionName="orders-fn:live"),
                                            kinesis(world, fn="jobs-fn", stream="clicks"),
                                            {"FunctionName": "audit-fn", "EventSourceArn": world["jobs"]}]))
    for thread in threading.enumerate():  # the source reads a plan began, if any, have ended
        if thread.name.startswith("esmctl-sources"):
            thread.join(timeout=60)
    assert r.exit_code == 1 and "orders-fn" in r.stderr, r.stderr
    assert box.proxy.calls["DescribeStreamSummary"] == box.proxy.calls["ListQueues"] == 0, dict(box.proxy.calls)


def test_no_source_is_asked_for_a_mapping_held_by_a_paused_old_end(esmctl, world, box, tmp_path):
    """A mapping the plan does not create asks nothing of its source's service: a new stream of a table whose old
    stream's mapping is paused is held, not created (a review saw a DescribeStream asked for it)."""
    old = world["orders-table-stream"]
    assert esmctl("apply", spec_file(tmp_path, [{"FunctionName": "orders-fn", "EventSourceArn": old,
                                                 "StartingPosition": "LATEST"}]), "--yes").exit_code == 0
    assert esmctl("pause", "--function", "orders-fn", "--yes").exit_code == 0
    newer = old.rsplit("/", 1)[0] + "/2099-01-01T00:00:00.000"
    box.proxy.clear_counts()
    r = esmctl("plan", spec_file(tmp_path, [{"FunctionName": "orders-fn", "EventSourceArn": newer,
                                            "StartingPosition": "LATEST"}]))
    assert r.exit_code == 0 and "+ create" not in r.stdout, r.stdout + r.stderr
    assert box.proxy.calls["DescribeStream"] == 0, dict(box.proxy.calls)


def test_a_new_stream_of_a_table_a_live_mapping_reads_is_asked_when_the_plan_creates_on_it(esmctl, world, box,
                                                                                           tmp_path):
    """A create on a table another live mapping reads is not a plain create (its data is read already): its new
    stream is asked once the plan has it as a create, once; a label the table never had is refused."""
    old = world["orders-table-stream"]
    assert esmctl("apply", spec_file(tmp_path, [{"FunctionName": "orders-fn", "EventSourceArn": old,
                                                 "StartingPosition": "LATEST"}]), "--yes").exit_code == 0
    newer = old.rsplit("/", 1)[0] + "/2099-01-01T00:00:00.000"
    path = spec_file(tmp_path, [{"FunctionName": "orders-fn", "EventSourceArn": old, "StartingPosition": "LATEST"},
                                {"FunctionName": "audit-fn", "EventSourceArn": newer, "StartingPosition": "LATEST"}])
    box.proxy.clear_counts()
    r = esmctl("plan", path)
    assert r.exit_code == 1 and r.stderr.startswith(f"{path}:7:19: EventSourceArn: dynamodb:orders-table/stream/"
                                                    "2099-01-01T00:00:00.000 does not exist in us-east-1"), r.stderr
    assert box.proxy.calls["DescribeStream"] == 1, dict(box.proxy.calls)
    box.proxy.clear_counts()
    assert esmctl("plan", spec_file(tmp_path, [{"FunctionName": "orders-fn", "EventSourceArn": old,
                                                "StartingPosition": "LATEST"}])).exit_code == 0
    assert box.proxy.calls["DescribeStream"] == 0  # the stream a live mapping reads is not asked


def test_a_consumer_or_table_stream_that_does_not_exist_is_refused_before_any_write(esmctl, world, box, tmp_path):
    """A Kinesis consumer ARN names one registration (its time included) and a table stream ARN one stream of the
    table: one that is not there is said by plan and apply at the EventSourceArn, before anything is written, as a
    missing stream or queue is (a consumer's ARN was not asked at all, and the apply failed after the other
    changes); the ones that are there are made."""
    registered = client(box, "kinesis", direct=False).register_stream_consumer(
        StreamARN=world["orders"], ConsumerName="efo")["Consumer"]["ConsumerARN"]
    table = world["orders-table-stream"]
    wrong = [registered.rsplit(":", 1)[0] + ":1000000000", table.rsplit("/", 1)[0] + "/2000-01-01T00:00:00.000"]
    def spec(consumer: str, stream: str) -> str:
        latest = {"StartingPosition": "LATEST"}
        return spec_file(tmp_path, [kinesis(world, fn="jobs-fn", stream="clicks"),
                                    {"FunctionName": "audit-fn", "EventSourceArn": consumer, **latest},
                                    {"FunctionName": "orders-fn", "EventSourceArn": stream, **latest}])

    path = spec(*wrong)
    box.proxy.clear_counts()
    for command in (["plan", path], ["apply", path, "--yes"]):
        r = esmctl(*command)
        assert r.exit_code == 1, (command, r.stdout, r.stderr)
        assert r.stderr.splitlines()[:2] == [
            f"{path}:7:19: EventSourceArn: kinesis:orders/consumer/efo:1000000000 is not a registered consumer in "
            "us-east-1 (or is being deregistered): register it first, or correct the ARN (`esmctl consumer list "
            "--stream orders` shows each consumer's)",
            f"{path}:10:19: EventSourceArn: dynamodb:orders-table/stream/2000-01-01T00:00:00.000 does not exist in "
            "us-east-1: create it first, or correct the ARN"], (command, r.stderr)
    assert live(box) == [] and box.proxy.writes() == 0
    path = spec(registered, table)
    assert esmctl("apply", path, "--yes").exit_code == 0
    assert esmctl("diff", path).exit_code == 0 and len(live(box)) == 3


def test_a_consumer_being_deregistered_is_as_good_as_gone(box, world):
    """AWS keeps a deregistered consumer DELETING for a while (moto drops it at once): a create on it would fail."""
    from datetime import datetime, timezone

    from botocore.stub import Stubber

    from esmctl.aws.calls import Aws

    aws = Aws(endpoint_url=box.url)
    arn = world["orders"] + "/consumer/going:1700000000"
    stub = Stubber(aws.client("kinesis"))
    for status in ("DELETING", "CREATING", "ACTIVE"):
        stub.add_response("describe_stream_consumer", {"ConsumerDescription": {
            "ConsumerName": "going", "ConsumerARN": arn, "ConsumerStatus": status, "StreamARN": world["orders"],
            "ConsumerCreationTimestamp": datetime(2023, 11, 14, tzinfo=timezone.utc)}}, {"ConsumerARN": arn})
    with stub:
        assert [aws.source_exists(arn) for _ in range(3)] == [False, True, True]
    stub.assert_no_pending_responses()


def test_the_functions_of_creates_that_manage_tags_are_looked_up_at_once(esmctl, world, box, tmp_path):
    """A spec that manages tags has no tag records to read, so the plan looks its creates' functions up for
    missing ones: several at a time (GetFunction has 100/s of its own), not one after the other."""
    path = spec_file(tmp_path, [kinesis(world, Tags={"team": "a"}), kinesis(world, fn="audit-fn", Tags={"team": "a"}),
                                kinesis(world, fn="jobs-fn", Tags={"team": "a"})])
    out = {}
    assert _held_while(box, "GetFunction", lambda: out.update(r=esmctl("plan", path)), "GetFunction", count=3)
    assert out["r"].exit_code == 0 and out["r"].stdout.count("+ create") == 3, out["r"].stdout


def test_a_create_aws_refuses_says_what_to_correct_not_to_re_run(esmctl, world, box, tmp_path):
    box.proxy.fail_next["CreateEventSourceMapping"] = (
        400, "InvalidParameterValueException",
        "The provided execution role does not have permissions to call GetRecords on Kinesis")
    path = spec_file(tmp_path, [kinesis(world)])
    r = esmctl("apply", path)
    assert r.exit_code == 1
    assert "re-run apply" not in r.stdout + r.stderr
    assert "AWS refuses the request as it stands: correct what its message names (in the spec at " in r.stderr
    assert "does not have permissions to call GetRecords" in r.stderr
    assert live(box) == []


def test_sessions_share_only_what_botocore_would_compute_the_same_way():
    """The memo of handlers' signatures and event aliases every session shares answers as botocore does, and a
    session made after it still has its own handlers, credentials and region."""
    import functools

    import botocore.hooks
    from botocore.compat import accepts_kwargs

    from esmctl.aws.session import Clients, _share_what_sessions_recompute

    _share_what_sessions_recompute()

    def plain(a, **kwargs): ...

    def strict(a): ...

    class Handler:
        def method(self, **kwargs): ...

        def __call__(self, a): ...

    for func in (plain, strict, Handler().method, Handler(), functools.partial(plain, 1), lambda **kw: None):
        assert botocore.hooks.accepts_kwargs(func) == accepts_kwargs(func)
        assert botocore.hooks.accepts_kwargs(func) == accepts_kwargs(func)  # asked again: the memo's answer
    fresh = botocore.hooks.EventAliaser(botocore.hooks.HierarchicalEmitter())
    for _ in range(2):  # worked out, then remembered
        assert fresh._alias_event_name("before-call.autoscaling.CreateLaunchConfiguration") == \
            "before-call.auto-scaling.CreateLaunchConfiguration"
        assert fresh._alias_event_name("creating-client-class.sdb") == "creating-client-class.simpledb"
        assert fresh._alias_event_name("needs-retry.lambda") == "needs-retry.lambda"
    one, two = Clients(region="us-east-1"), Clients(region="eu-west-1")
    assert one.session is not two.session and one.session._events is not two.session._events
    assert (one.region, two.region) == ("us-east-1", "eu-west-1")
    assert one.credentials().access_key == two.credentials().access_key == "testing"


def test_calls_go_on_while_another_services_client_is_made(box):
    """Making a client (a service model loaded, ~0.1 s of CPU) held every other thread's calls of that session, as
    each call is counted under the lock it was made under: an apply's GetFunctions waited for the source checks'
    SQS client. A Lambda call now completes while an SQS client is being made."""
    import threading

    from esmctl.aws.session import Clients

    clients = Clients(region="us-east-1")
    lam = clients.client("lambda")
    making, let_go = threading.Event(), threading.Event()
    create = clients.session.create_client

    def slow_create(service, *args, **kwargs):
        if service == "sqs":
            making.set()
            assert let_go.wait(timeout=60)
        return create(service, *args, **kwargs)

    clients.session.create_client = slow_create
    maker = threading.Thread(target=lambda: clients.client("sqs"))
    maker.start()
    try:
        assert making.wait(timeout=60)
        done = threading.Event()
        caller = threading.Thread(target=lambda: (lam.list_functions(), done.set()))
        caller.start()
        assert done.wait(timeout=20)  # only how long a failing test waits
        assert clients.calls["ListFunctions"] == 1
    finally:
        let_go.set()
        maker.join(timeout=60)
    assert clients.client("sqs") is clients.client("sqs")  # made once


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/New_York"])
def test_timestamps_are_the_instants_and_text_botocore_gives(monkeypatch, zone):
    """The epoch seconds of a reply become the datetimes botocore's own parser makes (its tzlocal), by the C
    library's local time: equal, with the same offset and the same ISO 8601 text, DST or not."""
    import time

    import botocore.utils

    from esmctl.aws.session import _timestamp

    before = os.environ["TZ"]  # UTC, as every test has it
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        for value in (0, 1700000000, 1711846800.5, 1730595600.25, 1782000000.123456, "2024-05-01T00:00:00Z"):
            ours, botocores = _timestamp(value), botocore.utils.parse_timestamp(value)
            assert ours == botocores and ours.utcoffset() == botocores.utcoffset()
            assert ours.isoformat() == botocores.isoformat()
    finally:
        monkeypatch.setenv("TZ", before)
        time.tzset()  # the process's time zone, not only the variable
