"""Saved plans end to end: `plan --out` on a pull request, `apply PLAN` on merge, exactly what was reviewed."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess

from tests.helpers import ESMCTL, client, kinesis, mappings, spec_file


def sqs(world, fn="jobs-fn", **extra):
    return {"FunctionName": fn, "EventSourceArn": world["jobs"], **extra}


def reviewed(esmctl, world, box, tmp_path):
    """orders-fn on the orders stream exists; the spec changes its batch size and adds jobs-fn on the queue."""
    assert esmctl("apply", spec_file(tmp_path, [kinesis(world)], name="old.yaml")).exit_code == 0
    path = spec_file(tmp_path, [kinesis(world, BatchSize=50), sqs(world)])
    plan_path = str(tmp_path / "plan.json")
    r = esmctl("plan", path, "--out", plan_path)
    assert r.exit_code == 0 and "saved the plan" in r.stderr, r.stderr
    return path, plan_path


def test_apply_of_a_saved_plan_carries_out_exactly_that_plan(esmctl, world, box, tmp_path):
    path, plan_path = reviewed(esmctl, world, box, tmp_path)
    # The spec changes after the review: the saved plan is still what gets applied.
    spec_file(tmp_path, [kinesis(world, BatchSize=75)])
    box.proxy.clear_counts()
    r = esmctl("apply", plan_path, "--yes")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert box.proxy.calls.get("ListEventSourceMappings") == 1  # the one check, no re-plan
    by_source = {m["EventSourceArn"]: m for m in mappings(box)}
    assert by_source[world["orders"]]["BatchSize"] == 50 and world["jobs"] in by_source
    again = esmctl("apply", plan_path, "--yes")  # applied once: now every fingerprint has moved
    assert again.exit_code == 1 and "nothing was applied" in again.stderr and "applied already?" in again.stderr
    assert "No changes" not in esmctl("apply", plan_path, "--yes", "--partial").stdout


def test_a_mapping_edited_between_plan_and_apply_is_refused_and_nothing_else_is_written(esmctl, world, box,
                                                                                          tmp_path):
    path, plan_path = reviewed(esmctl, world, box, tmp_path)
    [orders] = mappings(box)
    client(box, "lambda", direct=False).update_event_source_mapping(UUID=orders["UUID"], MaximumRetryAttempts=3)
    box.proxy.clear_counts()
    r = esmctl("apply", plan_path, "--yes")
    assert r.exit_code == 1
    assert orders["UUID"] in r.stderr and "MaximumRetryAttempts" in r.stderr and "nothing was applied" in r.stderr
    assert box.proxy.writes() == 0 and len(mappings(box)) == 1
    doc = json.loads(esmctl("apply", plan_path, "--yes", "-o", "json").stdout)
    assert doc["applied"] is False and doc["refused"][0]["uuid"] == orders["UUID"]
    # --partial: what still holds goes ahead (the queue's mapping); the edited one is refused, exit 1.
    r = esmctl("apply", plan_path, "--yes", "--partial", "-o", "json")
    assert r.exit_code == 1 and "1 refused as moved since the plan" in r.stderr
    doc = json.loads(r.stdout)  # the document says what was not applied too (docs/plan-format.md)
    assert doc["applied"] is True and [r["status"] for r in doc["results"]] == ["done"]
    assert [(x["uuid"], x["action"]) for x in doc["refused"]] == [(orders["UUID"], "update")]
    by_source = {m["EventSourceArn"]: m for m in mappings(box)}
    assert world["jobs"] in by_source and by_source[world["orders"]]["BatchSize"] == 100


def test_a_mapping_created_meanwhile_with_a_planned_identity_is_refused(esmctl, world, box, tmp_path):
    path, plan_path = reviewed(esmctl, world, box, tmp_path)
    client(box, "lambda", direct=False).create_event_source_mapping(**sqs(world, BatchSize=5))
    r = esmctl("apply", plan_path, "--yes")
    assert r.exit_code == 1 and "exists now" in r.stderr


def test_a_plan_for_another_region_account_or_version_is_refused(esmctl, world, box, tmp_path):
    path, plan_path = reviewed(esmctl, world, box, tmp_path)
    r = esmctl("apply", plan_path, "--yes", "--region", "eu-west-1")
    assert r.exit_code == 1 and "planned for account" in r.stderr and "eu-west-1" in r.stderr
    doc = json.loads(open(plan_path).read())
    for field, value, said in (("account", "999999999999", "planned for account 999999999999"),
                               ("esmctl", "0.0.1", "planned by esmctl 0.0.1")):
        edited = tmp_path / f"{field}.json"
        edited.write_text(json.dumps(resealed({**doc, field: value})))  # as another account's or version's plan
        r = esmctl("apply", str(edited), "--yes")
        assert r.exit_code == 1 and said in r.stderr, r.stderr
    assert len(mappings(box)) == 1  # nothing written
    r = esmctl("apply", plan_path, "--prune")
    assert r.exit_code == 252 and "saved plan" in r.stderr
    r = esmctl("apply", plan_path, path)
    assert r.exit_code == 252 and "on its own" in r.stderr


def resealed(doc):
    """A plan document with its sha256 made again, as `plan --out` makes it."""
    body = {k: v for k, v in doc.items() if k != "sha256"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return {**body, "sha256": hashlib.sha256(text.encode()).hexdigest()}


def test_a_plan_edited_by_hand_is_refused_whole(esmctl, world, box, tmp_path):
    assert esmctl("apply", spec_file(tmp_path, [kinesis(world)], name="old.yaml")).exit_code == 0
    path = spec_file(tmp_path, [kinesis(world, StartingPosition="LATEST")])  # a replace
    plan_path = tmp_path / "plan.json"
    assert esmctl("plan", path, "--out", str(plan_path)).exit_code == 0
    doc = json.loads(plan_path.read_text())
    doc["changes"][0]["action"] = "update"  # to slip past --allow-replace
    plan_path.write_text(json.dumps(doc))
    r = esmctl("apply", str(plan_path), "--yes")
    assert r.exit_code == 1 and "changed after `plan --out` wrote it" in r.stderr
    plan_path.write_text(json.dumps(resealed(doc)))  # even with its hash made again: an update does not delete
    r = esmctl("apply", str(plan_path), "--yes")
    assert r.exit_code == 1 and "a update with a delete step" in r.stderr
    [still] = mappings(box)
    assert still["StartingPosition"] == "TRIM_HORIZON"


def test_show_renders_a_saved_plan_as_text_json_and_markdown(esmctl, world, box, tmp_path):
    path, plan_path = reviewed(esmctl, world, box, tmp_path)
    text = esmctl("show", plan_path)
    assert text.exit_code == 0 and "Plan for account 123456789012 in us-east-1" in text.stdout
    assert "+ create jobs-fn <- sqs:jobs" in text.stdout and "BatchSize: 100 → 50" in text.stdout
    doc = json.loads(esmctl("show", plan_path, "-o", "json").stdout)
    assert doc["region"] == "us-east-1" and doc["plan"]["summary"]["create"] == 1
    md = esmctl("show", plan_path, "-o", "markdown").stdout
    assert md.startswith("**Plan for account") and "```diff" in md
    r = esmctl("show", str(tmp_path / "nope.json"))
    assert r.exit_code == 1 and "cannot read the plan" in r.stderr
    with open(plan_path) as fh:  # from a pipe, which is read once (a review found it read twice)
        piped = subprocess.run([ESMCTL, "show", "/dev/stdin"], input=fh.read(), capture_output=True, text=True,
                               timeout=60)
    assert piped.returncode == 0 and "Plan for account 123456789012" in piped.stdout, piped.stderr


def test_a_plan_saved_while_a_mapping_was_creating_applies_once_it_settled(esmctl, world, box, tmp_path):
    box.proxy.transitional_views = 1  # Creating for the next look: the plan's
    client(box, "lambda", direct=False).create_event_source_mapping(**sqs(world))
    path = spec_file(tmp_path, [sqs(world, BatchSize=5)])
    plan_path = str(tmp_path / "plan.json")
    assert esmctl("plan", path, "--out", plan_path).exit_code == 0
    # whether a Creating mapping runs is not known: the plan waited for it to settle, and read it then
    assert json.load(open(plan_path))["changes"][0]["reads"][0]["state"] == "Enabled"
    r = esmctl("apply", plan_path, "--yes")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert mappings(box)[0]["BatchSize"] == 5


def test_a_saved_plan_cut_short_says_to_plan_again_and_is_saved_before_its_output(esmctl, world, box, tmp_path):
    path, plan_path = reviewed(esmctl, world, box, tmp_path)
    box.proxy.fail_next["CreateEventSourceMapping"] = (400, "ResourceInUseException", "injected")  # the create fails
    r = esmctl("apply", plan_path, "--yes")
    assert r.exit_code == 1 and "plan again (`plan --out`) and apply the new plan" in r.stdout + r.stderr
    assert "re-run apply" not in r.stdout + r.stderr
    # stdout closed before the plan is printed: the file is written all the same
    other = tmp_path / "other.json"
    proc = subprocess.run(f"{ESMCTL} plan {path} --out {other} | head -c 1", shell=True, capture_output=True,
                          text=True, timeout=120, env=os.environ)
    assert other.exists() and json.load(open(other))["format"] == "esmctl-plan", proc.stderr


def test_show_of_a_spec_says_it_is_not_a_saved_plan(esmctl, tmp_path):
    """Not "a damaged plan file (cut short?)", which sends the user looking for a truncated upload (a review)."""
    path = tmp_path / "mappings.yaml"
    path.write_text("version: 1\nmappings: []\n")
    r = esmctl("show", str(path))
    assert r.exit_code == 1
    assert r.stderr.strip() == (f"esmctl: error: {path}: not a plan saved by `plan --out` (for a spec, `esmctl plan "
                                f"{path}` shows its plan)")
    cut = tmp_path / "plan.json"
    cut.write_text('{"format": "esmctl-plan", "formatVersion": 1, "plan": {"chan')
    assert "a damaged plan file (cut short?)" in esmctl("show", str(cut)).stderr


def test_a_plan_is_not_saved_to_standard_output(esmctl, world, box, tmp_path, monkeypatch):
    """`--out -` is a usage error: it wrote a file named `-` and advised `esmctl apply -`, which reads a spec from
    standard input, while `show -` said the file was no plan (a review)."""
    monkeypatch.chdir(tmp_path)
    r = esmctl("plan", spec_file(tmp_path, [kinesis(world)]), "--out", "-")
    assert r.exit_code == 252 and "a saved plan goes to a file" in r.stderr
    assert not (tmp_path / "-").exists()


def test_a_json_spec_with_a_format_key_of_its_own_is_a_spec(esmctl, world, box,
                                                                                        tmp_path):
    """Whether a file is a saved plan is its top level's `format` to say: a JSON spec with a tag (or a filter field)
    named "format" was taken for a damaged plan; a plan whose keys a tool reordered is still one."""
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"version": 1, "mappings": [sqs(world, Tags={"format": "v2"})]}))
    r = esmctl("apply", str(spec), "--yes")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert [m["EventSourceArn"] for m in mappings(box)] == [world["jobs"]]
    plan_path = tmp_path / "plan.json"
    assert esmctl("plan", spec_file(tmp_path, [sqs(world, BatchSize=5)]), "--out", str(plan_path)).exit_code == 0
    plan_path.write_text(json.dumps(json.loads(plan_path.read_text()), sort_keys=True))  # `jq -S`: "account" first
    r = esmctl("show", str(plan_path))
    assert r.exit_code == 0 and "~ update jobs-fn <- sqs:jobs" in r.stdout, r.stdout + r.stderr
    deep = tmp_path / "deep.json"  # read as a spec, within its reader's limits: not a RecursionError
    deep.write_text('{"version": 1, "mappings": ' + "[" * 100_000 + "]" * 100_000 + "}")
    r = esmctl("apply", str(deep), "--dry-run")
    assert r.exit_code == 1 and "exceeded maximum nesting depth" in r.stderr and "unexpected" not in r.stderr, r.stderr


def test_a_move_whose_new_identity_was_taken_meanwhile_is_refused_before_anything_is_written(esmctl, world, box,
                                                                                             tmp_path):
    assert esmctl("apply", spec_file(tmp_path, [sqs(world)], name="old.yaml")).exit_code == 0
    path = spec_file(tmp_path, [sqs(world, fn="orders-fn", MovedFrom="jobs-fn"), kinesis(world)])
    plan_path = str(tmp_path / "plan.json")
    r = esmctl("plan", path, "--out", plan_path)
    assert r.exit_code == 0 and "~ move" in r.stdout, r.stdout
    client(box, "lambda", direct=False).create_event_source_mapping(FunctionName="orders-fn",
                                                                    EventSourceArn=world["jobs"])
    box.proxy.clear_counts()
    r = esmctl("apply", plan_path, "--yes")
    assert r.exit_code == 1 and "exists now" in r.stderr and "nothing was applied" in r.stderr, r.stderr
    assert "applied already" not in r.stderr  # the move's own mapping is still on jobs-fn: not this plan's result
    assert box.proxy.writes() == 0  # not the create first, then a 409 on the move


def test_a_mapping_moved_to_another_function_by_hand_is_refused_naming_the_function(esmctl, world, box, tmp_path):
    path, plan_path = reviewed(esmctl, world, box, tmp_path)
    [orders] = mappings(box)
    client(box, "lambda", direct=False).update_event_source_mapping(UUID=orders["UUID"], FunctionName="audit-fn")
    r = esmctl("apply", plan_path, "--yes")
    assert r.exit_code == 1 and f"{orders['UUID']} FunctionName: orders-fn → audit-fn" in r.stderr, r.stderr


def test_a_saved_plan_takes_no_handoff_margin_and_show_takes_query_after_it(esmctl, world, box, tmp_path):
    path, plan_path = reviewed(esmctl, world, box, tmp_path)
    for margin in ("60", "60.0", "61"):  # 60 is the default's value, but given: it is not this plan's
        r = esmctl("apply", plan_path, "--handoff-margin", margin, "--dry-run")
        assert r.exit_code == 252 and "--handoff-margin belong to `plan --out`" in r.stderr, (margin, r.stderr)
    r = esmctl("show", plan_path, "-o", "json", "--query", "plan.summary.create")
    assert r.exit_code == 0 and r.stdout.strip() == "1", r.stdout + r.stderr


def test_a_create_whose_source_went_away_since_the_plan_is_refused_before_anything_is_written(esmctl, world, box,
                                                                                              tmp_path):
    """A consumer deregistered (or registered again: another ARN) after `plan --out`: the plan's create would fail
    half-way through the apply, the other changes made, saying to correct the spec."""
    kinesis_client = client(box, "kinesis", direct=False)
    kinesis_client.register_stream_consumer(StreamARN=world["orders"], ConsumerName="fan")
    path = spec_file(tmp_path, [kinesis(world, Consumer="fan"), sqs(world)])
    plan_path = str(tmp_path / "plan.json")
    assert esmctl("plan", path, "--out", plan_path).exit_code == 0
    arn = kinesis_client.describe_stream_consumer(StreamARN=world["orders"], ConsumerName="fan")
    kinesis_client.deregister_stream_consumer(ConsumerARN=arn["ConsumerDescription"]["ConsumerARN"])
    box.proxy.clear_counts()
    r = esmctl("apply", plan_path, "--yes")
    assert r.exit_code == 1 and "nothing was applied" in r.stderr, r.stderr
    assert "its source kinesis:orders/consumer/fan does not exist now (a consumer registered again" in r.stderr
    assert box.proxy.writes() == 0 and mappings(box) == []
