"""`esmctl pause` and `esmctl resume` end to end: the real CLI against moto behind the AWS-like layer.

A pause marks a mapping (tag esmctl:paused) and disables it; plan/diff/apply leave it Disabled; resume
enables exactly the marked ones. kill -9 at each call of either, then the same command again, converges.
"""

from __future__ import annotations

import json

import pytest
import yaml

from tests.helpers import ESMCTL, answer_at_a_terminal, client, kill_at, kinesis, mappings, spec_file

TAG = "esmctl:paused"


def two_mappings(world, tmp_path, **extra) -> str:
    """A spec of orders-fn on the orders stream and on the jobs queue; returns its path."""
    queue = {"FunctionName": "orders-fn", "EventSourceArn": world["jobs"]}
    return spec_file(tmp_path, [kinesis(world, **extra), queue])


def by_source(box) -> dict[str, dict]:
    return {m["EventSourceArn"]: m for m in mappings(box)}


def tags(box, m: dict) -> dict[str, str]:
    return client(box, "lambda", direct=False).list_tags(Resource=m["EventSourceMappingArn"])["Tags"]


def test_pause_then_apply_leaves_it_disabled_and_diff_is_clean(esmctl, world, box, tmp_path):
    path = two_mappings(world, tmp_path)
    assert esmctl("apply", path).exit_code == 0
    r = esmctl("pause", "--source", world["orders"], "--reason", "INC-42 poison records", "--yes")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert "paused" in r.stdout and "INC-42 poison records" in r.stdout
    live = by_source(box)
    assert live[world["orders"]]["State"] == "Disabled" and live[world["jobs"]]["State"] == "Enabled"
    mark = tags(box, live[world["orders"]])[TAG]
    assert mark.endswith("Z INC-42 poison records")

    d = esmctl("diff", path)
    assert d.exit_code == 0, d.stdout
    assert "paused by esmctl pause at" in d.stdout and "`esmctl resume` enables it" in d.stdout
    assert "1 paused by esmctl pause" in d.stdout
    [paused] = json.loads(esmctl("plan", path, "-o", "json").stdout)["paused"]
    assert paused["uuid"] == live[world["orders"]]["UUID"] and paused["reason"] == "INC-42 poison records"
    assert paused["since"] == mark.split()[0]

    box.proxy.clear_counts()
    a = esmctl("apply", path, "--yes")
    assert a.exit_code == 0 and box.proxy.writes() == 0, a.stdout + a.stderr
    assert box.proxy.calls["ListTags"] == 1  # only the Disabled mapping the spec wants Enabled
    assert by_source(box)[world["orders"]]["State"] == "Disabled"


def test_a_paused_mapping_gets_other_changes_and_stays_disabled(esmctl, world, box, tmp_path):
    assert esmctl("apply", two_mappings(world, tmp_path)).exit_code == 0
    assert esmctl("pause", "--function", "orders-fn", "--yes").exit_code == 0
    path = two_mappings(world, tmp_path, BatchSize=50)
    plan = esmctl("plan", path).stdout
    assert "BatchSize: 100 → 50" in plan and "Enabled" not in plan.split("#")[0] and "stays Disabled" in plan
    assert esmctl("apply", path, "--yes").exit_code == 0
    m = by_source(box)[world["orders"]]
    assert (m["State"], m["BatchSize"]) == ("Disabled", 50) and TAG in tags(box, m)
    assert esmctl("diff", path).exit_code == 0


def test_a_replace_that_waits_for_resume_is_not_called_a_match(esmctl, world, box, tmp_path):
    assert esmctl("apply", two_mappings(world, tmp_path)).exit_code == 0
    assert esmctl("pause", "--function", "orders-fn", "--yes").exit_code == 0
    path = two_mappings(world, tmp_path, StartingPosition="LATEST")  # a replace, held while paused
    d = esmctl("diff", path)
    assert d.exit_code == 0, d.stdout + d.stderr  # nothing to do now (docs/incidents.md)
    assert "match the spec" not in d.stdout
    assert d.stdout.rstrip().endswith("No changes to make now; 2 paused by esmctl pause (esmctl resume enables "
                                      "them); 1 change waiting for esmctl resume (see the notes).")
    assert json.loads(esmctl("plan", path, "-o", "json").stdout)["summary"]["waiting"] == 1
    saved = str(tmp_path / "plan.json")
    assert esmctl("plan", path, "--out", saved).exit_code == 0
    shown = esmctl("show", saved).stdout
    assert "1 change waiting for esmctl resume" in shown and "2 paused by esmctl pause" in shown, shown
    doc = json.loads(esmctl("show", saved, "-o", "json").stdout)["plan"]
    assert sorted(p["source"] for p in doc["paused"]) == sorted([world["orders"], world["jobs"]])
    assert esmctl("resume", "--function", "orders-fn", "--yes").exit_code == 0
    r = esmctl("plan", path)
    assert "waiting" not in r.stdout and "1 to replace" in r.stdout


def test_resume_enables_only_what_pause_disabled(esmctl, world, box, tmp_path):
    path = two_mappings(world, tmp_path)
    assert esmctl("apply", path).exit_code == 0
    by_hand = by_source(box)[world["jobs"]]["UUID"]
    assert esmctl("mapping", "disable", by_hand).exit_code == 0

    r = esmctl("pause", "--function", "orders-fn", "--yes", "-o", "json")
    assert r.exit_code == 0, r.stderr
    outcomes = {d["EventSourceArn"]: (d["Outcome"], d["Message"]) for d in json.loads(r.stdout)}
    assert outcomes[world["orders"]][0] == "paused"
    assert outcomes[world["jobs"]][0] == "skipped" and "not by esmctl pause" in outcomes[world["jobs"]][1]
    assert TAG not in tags(box, by_source(box)[world["jobs"]])  # a hand-disabled mapping is never marked

    r = esmctl("resume", "--function", "orders-fn", "--yes", "-o", "json")
    assert r.exit_code == 0, r.stderr
    outcomes = {d["EventSourceArn"]: d["Outcome"] for d in json.loads(r.stdout)}
    assert outcomes == {world["orders"]: "resumed", world["jobs"]: "skipped"}
    live = by_source(box)
    assert live[world["orders"]]["State"] == "Enabled" and TAG not in tags(box, live[world["orders"]])
    assert live[world["jobs"]]["State"] == "Disabled"


def test_pause_and_resume_run_again_change_nothing(esmctl, world, box, tmp_path):
    assert esmctl("apply", two_mappings(world, tmp_path)).exit_code == 0
    assert esmctl("pause", "--function", "orders-fn", "--yes").exit_code == 0
    box.proxy.clear_counts()
    again = esmctl("pause", "--function", "orders-fn", "--yes")
    assert again.exit_code == 0 and box.proxy.writes() == 0 and "already paused" in again.stdout
    assert box.proxy.calls["ListEventSourceMappings"] == 1 and box.proxy.calls["ListTags"] == 2
    assert esmctl("resume", "--function", "orders-fn", "--yes").exit_code == 0
    box.proxy.clear_counts()
    again = esmctl("resume", "--function", "orders-fn", "--yes")
    assert again.exit_code == 0 and box.proxy.writes() == 0 and "not paused" in again.stdout
    assert {m["State"] for m in mappings(box)} == {"Enabled"}


def test_dry_run_writes_nothing(esmctl, world, box, tmp_path):
    assert esmctl("apply", two_mappings(world, tmp_path)).exit_code == 0
    box.proxy.clear_counts()
    r = esmctl("pause", "--function", "orders-fn", "--dry-run")  # no --yes needed: nothing is changed
    assert r.exit_code == 0 and r.stdout.count("would pause") == 2 and box.proxy.writes() == 0
    assert box.proxy.calls["ListTags"] == 0  # both Enabled: nothing to read
    assert esmctl("pause", "--function", "orders-fn", "--yes").exit_code == 0
    box.proxy.clear_counts()
    r = esmctl("resume", "--function", "orders-fn", "--dry-run")
    assert r.exit_code == 0 and r.stdout.count("would resume") == 2 and box.proxy.writes() == 0
    assert {m["State"] for m in mappings(box)} == {"Disabled"}


def test_pause_asks_and_refuses_without_a_terminal(esmctl, world, box, tmp_path):
    assert esmctl("apply", two_mappings(world, tmp_path)).exit_code == 0
    box.proxy.clear_counts()
    r = esmctl("pause", "--function", "orders-fn")
    assert r.exit_code == 1 and "--yes" in r.stderr and box.proxy.writes() == 0
    r = esmctl("resume", "--function", "orders-fn")  # nothing to resume: nothing to ask
    assert r.exit_code == 0 and box.proxy.writes() == 0


def test_pause_asks_at_a_terminal(world, box, tmp_path):
    """A real pseudo-terminal: `n` changes nothing, `y` pauses."""
    import os
    import pty
    import subprocess

    uuid = client(box, "lambda", direct=False).create_event_source_mapping(
        FunctionName="orders-fn", EventSourceArn=world["orders"], StartingPosition="LATEST")["UUID"]
    for answer, code, state in (("n", 1, "Enabled"), ("y", 0, "Disabled")):
        master, slave = pty.openpty()
        proc = subprocess.Popen([ESMCTL, "pause", "--function", "orders-fn"], stdin=slave, stdout=slave,
                                stderr=slave, env=os.environ, close_fds=True)
        os.close(slave)
        seen = b""
        while b"[y/N]" not in seen:
            seen += os.read(master, 1024)
        assert b"Pause 1 mapping(s) (orders-fn <- kinesis:orders)?" in seen and b"until `esmctl resume`" in seen
        os.write(master, answer.encode() + b"\n")
        assert proc.wait(timeout=60) == code
        os.close(master)
        [m] = mappings(box)
        assert (m["UUID"], m["State"]) == (uuid, state)


def test_pause_and_resume_do_only_what_was_agreed_to_when_the_answer_came(world, box):
    """While the question is up a colleague disables one mapping by hand and enables another: pause does not mark
    the first (resume would enable it) and does not stop the second without asking; resume alike (a review)."""
    lam = client(box, "lambda", direct=False)
    asked = lam.create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=world["orders"],
                                            StartingPosition="LATEST")["UUID"]
    stays = lam.create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=world["clicks"],
                                            StartingPosition="LATEST")["UUID"]
    by_hand = lam.create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=world["jobs"],
                                              Enabled=False)["UUID"]

    def colleague() -> None:
        lam.update_event_source_mapping(UUID=asked, Enabled=False)
        lam.update_event_source_mapping(UUID=by_hand, Enabled=True)

    box.proxy.clear_counts()
    code, out = answer_at_a_terminal(["pause", "--function", "orders-fn"], colleague)
    assert code == 1 and "Pause 2 mapping(s)" in out, out
    assert "changed since the question: Disabled, not by esmctl pause" in out, out
    assert "changed since the question (Enabled: mark it paused, then disable it): not done without asking" in out
    assert box.proxy.calls["TagResource"] == 1 and box.proxy.calls["UpdateEventSourceMapping"] == 3  # `stays` only
    states = {m["UUID"]: m["State"] for m in mappings(box)}
    assert states == {asked: "Disabled", stays: "Disabled", by_hand: "Enabled"}
    assert not lam.list_tags(Resource=lam.get_event_source_mapping(UUID=asked)["EventSourceMappingArn"])["Tags"]

    def enabled_by_hand() -> None:  # resume's question is about `stays`, which a colleague starts by hand
        lam.update_event_source_mapping(UUID=stays, Enabled=True)
        lam.update_event_source_mapping(UUID=stays, Enabled=False)  # and stops again: no mark now, as by hand
        arn = lam.get_event_source_mapping(UUID=stays)["EventSourceMappingArn"]
        lam.untag_resource(Resource=arn, TagKeys=["esmctl:paused"])

    code, out = answer_at_a_terminal(["resume", "--function", "orders-fn"], enabled_by_hand)
    assert code == 0 and "Resume 1 mapping(s)" in out and "changed since the question: Disabled" in out, out
    assert {m["UUID"]: m["State"] for m in mappings(box)} == {asked: "Disabled", stays: "Disabled", by_hand: "Enabled"}


def test_pause_of_a_spec_pauses_its_mappings_only(esmctl, world, box, tmp_path):
    lam = client(box, "lambda", direct=False)
    other = lam.create_event_source_mapping(FunctionName="audit-fn", EventSourceArn=world["clicks"],
                                            StartingPosition="LATEST")["UUID"]
    path = spec_file(tmp_path, [kinesis(world), {"FunctionName": "jobs-fn", "EventSourceArn": world["jobs"]}])
    assert esmctl("apply", path).exit_code == 0
    r = esmctl("pause", path, "--yes")
    assert r.exit_code == 0, r.stderr
    states = {m["UUID"]: m["State"] for m in mappings(box)}
    assert states.pop(other) == "Enabled" and set(states.values()) == {"Disabled"}
    # the spec now disables the queue's mapping: resume leaves it Disabled and drops its mark
    path = spec_file(tmp_path, [kinesis(world), {"FunctionName": "jobs-fn", "EventSourceArn": world["jobs"],
                                                 "Enabled": False}])
    r = esmctl("resume", path, "--yes", "-o", "json")
    assert r.exit_code == 0, r.stderr
    docs = {d["EventSourceArn"]: d for d in json.loads(r.stdout)}
    assert docs[world["orders"]]["Outcome"] == "resumed" and docs[world["jobs"]]["Outcome"] == "skipped"
    assert "Enabled: false" in docs[world["jobs"]]["Message"]
    live = by_source(box)
    assert live[world["orders"]]["State"] == "Enabled" and live[world["jobs"]]["State"] == "Disabled"
    assert not any(TAG in tags(box, m) for m in live.values())
    assert esmctl("diff", path).exit_code == 0


def test_a_selector_that_finds_nothing_fails(esmctl, world, box, tmp_path):
    assert esmctl("apply", two_mappings(world, tmp_path)).exit_code == 0
    box.proxy.clear_counts()
    r = esmctl("pause", "--function", "orders-fn", "--function", "ordres-fn", "--yes")
    assert r.exit_code == 1 and "function ordres-fn not found" in r.stdout
    assert {m["State"] for m in mappings(box)} == {"Disabled"}  # the one that exists is paused all the same
    r = esmctl("resume", "--function", "audit-fn", "--yes")
    assert r.exit_code == 1 and "no mappings" in r.stdout
    r = esmctl("pause", "--yes")
    assert r.exit_code == 252 and "--function" in r.stderr


@pytest.mark.parametrize("reason", ["INC-42, orders", "x" * 236, "line\nbreak"])
def test_a_reason_that_cannot_be_a_tag_value_is_a_usage_error(esmctl, world, box, reason):
    r = esmctl("pause", "--function", "orders-fn", "--reason", reason, "--yes")
    assert r.exit_code == 252 and "--reason" in r.stderr
    assert box.proxy.calls["ListEventSourceMappings"] == 0


def test_json_shape(esmctl, world, box, tmp_path):
    assert esmctl("apply", spec_file(tmp_path, [kinesis(world)])).exit_code == 0
    [doc] = json.loads(esmctl("pause", "--function", "orders-fn", "--reason", "why", "--yes", "-o", "json").stdout)
    assert set(doc) == {"UUID", "FunctionArn", "EventSourceArn", "Outcome", "Message", "State", "Paused"}
    assert (doc["Outcome"], doc["State"], doc["Paused"]["Reason"]) == ("paused", "Disabled", "why")
    [doc] = json.loads(esmctl("resume", "--function", "orders-fn", "--yes", "-o", "json").stdout)
    assert (doc["Outcome"], doc["State"], doc["Paused"]) == ("resumed", "Enabled", None)


def test_a_resume_whose_untag_failed_says_the_state_it_saw(esmctl, world, box, tmp_path):
    """Enabled and waited for, then the mark's removal refused: the result says it failed and that the mapping is
    Enabled, as the wait saw it (a review read `Disabled`, the state before, and took the consumer for stopped)."""
    assert esmctl("apply", spec_file(tmp_path, [kinesis(world)])).exit_code == 0
    assert esmctl("pause", "--function", "orders-fn", "--yes").exit_code == 0
    box.proxy.fail_next["UntagResource"] = (403, "AccessDeniedException", "denied")
    r = esmctl("resume", "--function", "orders-fn", "--yes", "-o", "json")
    [doc] = json.loads(r.stdout)
    assert r.exit_code == 1 and doc["Outcome"] == "failed" and "still marked paused" in doc["Message"], doc
    assert doc["State"] == "Enabled" == mappings(box)[0]["State"]


def test_status_shows_a_paused_mapping_as_paused_not_unhealthy(esmctl, world, box, tmp_path):
    path = two_mappings(world, tmp_path)
    assert esmctl("apply", path).exit_code == 0
    assert esmctl("pause", "--source", world["orders"], "--reason", "INC-42", "--yes").exit_code == 0
    box.proxy.clear_counts()
    r = esmctl("status", "--function", "orders-fn", "--max-lag", "1s")
    assert r.exit_code == 0, r.stdout
    assert "paused since" in r.stdout and "(INC-42)" in r.stdout
    assert box.proxy.calls["ListTags"] == 1  # the Disabled one only
    docs = {d["EventSourceArn"]: d for d in json.loads(esmctl("status", path, "-o", "json").stdout)}
    paused = docs[world["orders"]]
    assert paused["Healthy"] is True and paused["Problems"] == [] and paused["Paused"]["Reason"] == "INC-42"
    assert "Paused" not in docs[world["jobs"]]
    assert esmctl("mapping", "disable", docs[world["jobs"]]["UUID"]).exit_code == 0  # by hand: unhealthy
    r = esmctl("status", "--function", "orders-fn")
    assert r.exit_code == 3 and "state is Disabled, expected Enabled" in r.stdout and "paused since" in r.stdout


def test_pause_rides_out_throttling_and_mappings_still_creating(esmctl, world, box, tmp_path, instant_backoff):
    kinesis_client, lam = client(box, "kinesis"), client(box, "lambda", direct=False)
    for i in range(8):
        kinesis_client.create_stream(StreamName=f"s{i}", ShardCount=1)
    box.proxy.transitional_views = 5  # Creating for 5 reads, refusing changes meanwhile (ResourceInUse)
    for i in range(8):
        arn = kinesis_client.describe_stream_summary(StreamName=f"s{i}")["StreamDescriptionSummary"]["StreamARN"]
        lam.create_event_source_mapping(FunctionName="audit-fn", EventSourceArn=arn, StartingPosition="LATEST")
    # Counted 429s on the calls the 8 threads make side by side, not a rate against the clock: whether a busy
    # machine's calls come faster than a rate must not decide the verdict.
    box.proxy.throttle_next.update({"TagResource": 3, "UpdateEventSourceMapping": 3})
    r = esmctl("pause", "--function", "audit-fn", "--concurrency", "8", "--yes", "-v")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert r.stdout.count("paused by esmctl pause") == 8
    # Whether a Creating mapping will run is not known: pause waited for them to settle before deciding, so none
    # was marked on a guess, and no disable met ResourceInUse: 8 disables, and the 3 throttled ones tried again
    assert box.proxy.calls["UpdateEventSourceMapping"] == 8 + 3
    assert box.proxy.throttled == {"TagResource": 3, "UpdateEventSourceMapping": 3}
    assert "throttled and retried: 6" in r.stderr
    assert {m["State"] for m in mappings(box)} == {"Disabled"}
    box.proxy.transitional_views = 0
    r = esmctl("resume", "--function", "audit-fn", "--concurrency", "8", "--yes")
    assert r.exit_code == 0 and {m["State"] for m in mappings(box)} == {"Enabled"}


# -- kill -9 at each call, then the same command again ------------------------------------------------
PAUSE_STEPS = [("TagResource", 1, "before"), ("TagResource", 1, "after"),
               ("UpdateEventSourceMapping", 1, "before"), ("UpdateEventSourceMapping", 1, "after"),
               ("GetEventSourceMapping", 1, "after")]
RESUME_STEPS = [("UpdateEventSourceMapping", 1, "before"), ("UpdateEventSourceMapping", 1, "after"),
                ("GetEventSourceMapping", 1, "after"), ("UntagResource", 1, "before"),
                ("UntagResource", 1, "after")]


@pytest.mark.parametrize("operation,nth,when", PAUSE_STEPS)
def test_pause_killed_at_each_step_converges(esmctl, world, box, tmp_path, operation, nth, when):
    path = spec_file(tmp_path, [kinesis(world)])
    assert esmctl("apply", path).exit_code == 0
    box.proxy.transitional_views = 1
    kill_at(box, ["--function", "orders-fn", "--reason", "INC-42"], operation, nth, when, command="pause")
    r = esmctl("pause", "--function", "orders-fn", "--reason", "INC-42", "--yes")
    assert r.exit_code == 0, r.stdout + r.stderr
    [m] = mappings(box)
    assert m["State"] == "Disabled" and tags(box, m)[TAG].endswith(" INC-42")
    assert esmctl("diff", path).exit_code == 0
    assert esmctl("resume", "--function", "orders-fn", "--yes").exit_code == 0
    [m] = mappings(box)
    assert m["State"] == "Enabled" and TAG not in tags(box, m)


@pytest.mark.parametrize("operation,nth,when", RESUME_STEPS)
def test_resume_killed_at_each_step_converges(esmctl, world, box, tmp_path, operation, nth, when):
    path = spec_file(tmp_path, [kinesis(world)])
    assert esmctl("apply", path).exit_code == 0
    assert esmctl("pause", "--function", "orders-fn", "--yes").exit_code == 0
    box.proxy.transitional_views = 1
    kill_at(box, ["--function", "orders-fn"], operation, nth, when, command="resume")
    r = esmctl("resume", "--function", "orders-fn", "--yes")
    assert r.exit_code == 0, r.stdout + r.stderr
    [m] = mappings(box)
    assert m["State"] == "Enabled" and TAG not in tags(box, m)
    assert esmctl("diff", path).exit_code == 0


def test_pause_killed_before_it_disabled_is_undone_by_resume(esmctl, world, box, tmp_path):
    """Marked but still Enabled: resume drops the mark (and enables nothing that was not paused)."""
    assert esmctl("apply", spec_file(tmp_path, [kinesis(world)])).exit_code == 0
    kill_at(box, ["--function", "orders-fn"], "UpdateEventSourceMapping", 1, "before", command="pause")
    [m] = mappings(box)
    assert m["State"] == "Enabled" and TAG in tags(box, m)
    r = esmctl("resume", "--function", "orders-fn", "--yes")
    assert r.exit_code == 0 and "was Enabled already" in r.stdout
    [m] = mappings(box)
    assert m["State"] == "Enabled" and TAG not in tags(box, m)


def test_export_of_a_paused_mapping_is_what_it_is_once_resumed(esmctl, world, box, tmp_path):
    path = two_mappings(world, tmp_path)
    assert esmctl("apply", path).exit_code == 0
    assert esmctl("pause", "--source", world["orders"], "--yes").exit_code == 0
    r = esmctl("export", "--function", "orders-fn")
    assert r.exit_code == 0 and "is paused by esmctl pause at" in r.stderr
    [entry] = [m for m in yaml.safe_load(r.stdout)["mappings"] if m["EventSourceArn"] == world["orders"]]
    assert "Enabled" not in entry  # not `Enabled: false`, which would keep it off after the incident
    exported = tmp_path / "exported.yaml"
    exported.write_text(r.stdout)
    assert esmctl("diff", str(exported)).exit_code == 0  # paused, so in sync
    assert esmctl("resume", "--source", world["orders"], "--yes").exit_code == 0
    assert esmctl("diff", str(exported)).exit_code == 0


def test_a_stream_given_as_source_is_read_through_its_consumers_too(esmctl, world, box):
    """`pause --source STREAM` in an incident stops every function reading the stream: one reading it through an
    enhanced fan-out consumer too (it went on reading: a review); `status --source STREAM` shows them all. A
    consumer's ARN as --source is that consumer's mappings only."""
    lam = client(box, "lambda", direct=False)
    consumer = client(box, "kinesis", direct=False).register_stream_consumer(
        StreamARN=world["orders"], ConsumerName="fanout")["Consumer"]["ConsumerARN"]
    polls = lam.create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=world["orders"],
                                            StartingPosition="LATEST")["UUID"]
    fans = lam.create_event_source_mapping(FunctionName="audit-fn", EventSourceArn=consumer,
                                           StartingPosition="LATEST")["UUID"]
    other = lam.create_event_source_mapping(FunctionName="audit-fn", EventSourceArn=world["clicks"],
                                            StartingPosition="LATEST")["UUID"]
    kinesis = client(box, "kinesis", direct=False)  # a mapping left on a consumer since deregistered: found too
    gone = kinesis.register_stream_consumer(StreamARN=world["orders"], ConsumerName="gone")["Consumer"]["ConsumerARN"]
    orphan = lam.create_event_source_mapping(FunctionName="jobs-fn", EventSourceArn=gone,
                                             StartingPosition="LATEST")["UUID"]
    kinesis.deregister_stream_consumer(ConsumerARN=gone)
    r = esmctl("status", "--source", world["orders"], "-o", "json")
    assert sorted(m["UUID"] for m in json.loads(r.stdout)) == sorted([polls, fans, orphan]), r.stdout
    r = esmctl("pause", "--source", consumer, "--dry-run", "-o", "json")
    assert [d["UUID"] for d in json.loads(r.stdout)] == [fans], r.stdout
    box.proxy.clear_counts()
    r = esmctl("pause", "--source", world["orders"], "--reason", "INC-9", "--yes")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert box.proxy.calls["ListEventSourceMappings"] <= 2  # one listing, and one a round of the waits
    assert {m["UUID"]: m["State"] for m in mappings(box)} == {polls: "Disabled", fans: "Disabled", orphan: "Disabled",
                                                              other: "Enabled"}
    assert esmctl("resume", "--source", world["orders"], "--yes").exit_code == 0
    assert {m["State"] for m in mappings(box)} == {"Enabled"}
