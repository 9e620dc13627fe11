"""The typed core's defects end to end: the real CLI against moto behind the AWS-like layer.

Ctrl-C everywhere the one executor runs (pause, resume, a fleet's apply) and at a question; a pause that
a manual enable ends; an update checked against the whole live mapping; saved plans that read KMS-encrypted
filters or waited for a Deleting mapping.
"""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import time

import pytest

from esmctl.sandbox import server
from tests.helpers import ESMCTL, client, ctrl_c_while_held, kinesis, mappings, spec_file, still_running

TAG = "esmctl:paused"
KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def streams(box, count: int) -> list[str]:
    kinesis_client = client(box, "kinesis")
    arns = []
    for i in range(count):
        kinesis_client.create_stream(StreamName=f"core-{i}", ShardCount=1)
        arns.append(kinesis_client.describe_stream_summary(StreamName=f"core-{i}")["StreamDescriptionSummary"]
                    ["StreamARN"])
    return arns


def test_ctrl_c_during_pause_reports_what_it_did_and_a_rerun_finishes(esmctl, world, box):
    lam = client(box, "lambda", direct=False)
    for arn in streams(box, 6):
        lam.create_event_source_mapping(FunctionName="audit-fn", EventSourceArn=arn, StartingPosition="LATEST")
    held = box.proxy.pause("UpdateEventSourceMapping", nth=2, when="before")
    proc, out, err = ctrl_c_while_held(held, "pause", "--function", "audit-fn", "--concurrency", "2", "--yes",
                                       "-o", "json", while_held=still_running)
    assert proc.returncode == 130, err
    results = json.loads(out)
    assert {r["Outcome"] for r in results} <= {"paused", "interrupted", "not started"}
    assert any(r["Outcome"] == "not started" for r in results), "Ctrl-C stopped nothing"
    assert "interrupted:" in err and "run esmctl pause again to finish" in err
    disabled = {m["UUID"] for m in mappings(box) if m["State"] == "Disabled"}
    assert disabled == {r["UUID"] for r in results if r["Outcome"] == "paused" or
                        (r["Outcome"] == "interrupted" and "updated" in r["Message"])}
    r = esmctl("pause", "--function", "audit-fn", "--yes")
    assert r.exit_code == 0 and {m["State"] for m in mappings(box)} == {"Disabled"}


def waiting_for_input(proc: subprocess.Popen) -> None:
    """Until the process sits in read(2) on its terminal, as a person's Ctrl-C finds it. A signal sent between the
    prompt's write and the read is only seen once the read returns (Python checks for signals between calls):
    a race of microseconds for a person, not for a test that signals as soon as the prompt shows."""
    deadline = time.monotonic() + 60
    while open(f"/proc/{proc.pid}/syscall").read().split()[0] != "0":  # 0: read
        assert time.monotonic() < deadline and proc.poll() is None, "never waited for input"
        time.sleep(0.01)


def sigint_as_at_a_terminal() -> None:
    """SIGINT as an interactive shell hands it to a command: neither ignored nor blocked (a CI runner, or the
    test runner's worker, may start us with it ignored or masked, and a child inherits both)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def test_ctrl_c_at_a_question_exits_130_and_changes_nothing(world, box, tmp_path):
    client(box, "lambda", direct=False).create_event_source_mapping(
        FunctionName="orders-fn", EventSourceArn=world["orders"], StartingPosition="LATEST")
    box.proxy.clear_counts()
    master, slave = pty.openpty()
    proc = subprocess.Popen([ESMCTL, "pause", "--function", "orders-fn"], stdin=slave, stdout=slave, stderr=slave,
                            env=os.environ, close_fds=True, preexec_fn=sigint_as_at_a_terminal)
    os.close(slave)
    seen = b""
    while b"[y/N]" not in seen:
        seen += os.read(master, 1024)
    waiting_for_input(proc)
    proc.send_signal(signal.SIGINT)  # Ctrl-C at the question
    assert proc.wait(timeout=60) == 130
    os.close(master)
    assert box.proxy.writes() == 0 and mappings(box)[0]["State"] == "Enabled"


def test_mapping_enable_of_a_paused_mapping_ends_the_pause(esmctl, world, box):
    uuid = client(box, "lambda", direct=False).create_event_source_mapping(
        FunctionName="orders-fn", EventSourceArn=world["orders"], StartingPosition="LATEST")["UUID"]
    assert esmctl("pause", "--function", "orders-fn", "--yes").exit_code == 0
    r = esmctl("mapping", "enable", uuid)
    assert r.exit_code == 0 and "no longer paused" in r.stderr, r.stderr
    [m] = mappings(box)
    lam = client(box, "lambda", direct=False)
    assert m["State"] == "Enabled" and TAG not in lam.list_tags(Resource=m["EventSourceMappingArn"])["Tags"]
    # disabled by hand later: resume must leave it so (it is not esmctl's pause)
    assert esmctl("mapping", "disable", uuid).exit_code == 0
    assert esmctl("resume", "--function", "orders-fn", "--yes").exit_code == 0
    assert mappings(box)[0]["State"] == "Disabled"


def test_mapping_disable_of_a_running_mapping_with_a_pause_mark_is_by_hand(esmctl, world, box):
    """A pause cut short between its mark and its disable leaves a running mapping marked; disabled by hand later
    with `mapping disable` (or `mapping update --no-enabled`), it was then enabled by `resume`. The hand's disable
    removes the mark; a paused mapping disabled again keeps it."""
    lam = client(box, "lambda", direct=False)
    uuids = [lam.create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=world[s],
                                             StartingPosition="LATEST")["UUID"] for s in ("orders", "clicks")]
    arns = [lam.get_event_source_mapping(UUID=u)["EventSourceMappingArn"] for u in uuids]
    for arn in arns:  # what `pause` killed after its TagResource leaves
        lam.tag_resource(Resource=arn, Tags={TAG: "2026-12-07T10:00:00Z INC-1"})
    r = esmctl("mapping", "disable", uuids[0])
    assert r.exit_code == 0 and "disabled by hand now, it is not paused" in r.stderr, r.stderr
    assert esmctl("mapping", "update", uuids[1], "--no-enabled").exit_code == 0
    assert all(TAG not in lam.list_tags(Resource=arn)["Tags"] for arn in arns)
    assert esmctl("resume", "--function", "orders-fn", "--yes").exit_code == 0
    assert {m["State"] for m in mappings(box)} == {"Disabled"}  # by hand: resume leaves them so
    lam.update_event_source_mapping(UUID=uuids[0], Enabled=True)
    assert esmctl("pause", "--function", "orders-fn", "--yes").exit_code == 0
    r = esmctl("mapping", "disable", uuids[0])  # paused already: still the pause's
    assert r.exit_code == 0 and "mark removed" not in r.stderr and TAG in lam.list_tags(Resource=arns[0])["Tags"]
    box.proxy.transitional_views = 2  # paused and Updating (a change of its batch size): waited for, still paused
    assert lam.update_event_source_mapping(UUID=uuids[0], BatchSize=50)["State"] == "Updating"
    r = esmctl("mapping", "disable", uuids[0])
    assert r.exit_code == 0 and "mark removed" not in r.stderr and TAG in lam.list_tags(Resource=arns[0])["Tags"]


def test_mapping_update_is_checked_against_the_whole_live_mapping(esmctl, world, box):
    source = json.dumps({"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["b-1.example.com:9092"]}})
    r = esmctl("mapping", "create", "--function", "orders-fn", "--self-managed-event-source", source,
               "--topics", "orders", "--starting-position", "latest", "--provisioned-poller-config",
               '{"MinimumPollers": 1, "MaximumPollers": 3}', "-o", "json")
    assert r.exit_code == 0, r.stderr
    uuid = json.loads(r.stdout)["UUID"]
    r = esmctl("mapping", "update", uuid, "--logging-config", '{"SystemLogLevel": "INFO"}', "-o", "json")
    assert r.exit_code == 0, r.stderr  # the live mapping has provisioned pollers: the rule holds
    assert json.loads(r.stdout)["LoggingConfig"] == {"SystemLogLevel": "INFO"}


def test_a_saved_plan_touching_kms_encrypted_filters_applies(esmctl, world, box, tmp_path):
    filters = {"Filters": [{"Pattern": {"data": {"kind": ["a"]}}}]}
    assert esmctl("apply", spec_file(tmp_path, [kinesis(world, KMSKeyArn=KMS_KEY, FilterCriteria=filters)],
                                     name="old.yaml")).exit_code == 0
    path = spec_file(tmp_path, [kinesis(world, KMSKeyArn=KMS_KEY, FilterCriteria=filters, BatchSize=50)])
    plan_path = str(tmp_path / "plan.json")
    assert esmctl("plan", path, "--out", plan_path).exit_code == 0
    r = esmctl("apply", plan_path, "--yes")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert mappings(box)[0]["BatchSize"] == 50


def test_a_plan_saved_while_a_mapping_was_deleting_applies_once_it_is_gone(esmctl, world, box, tmp_path):
    lam = client(box, "lambda", direct=False)
    uuid = lam.create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=world["orders"],
                                           StartingPosition="TRIM_HORIZON")["UUID"]
    box.proxy.transitional_views = 3
    lam.delete_event_source_mapping(UUID=uuid)  # Deleting for a few reads: the plan waits for it to go
    plan_path = str(tmp_path / "plan.json")
    assert esmctl("plan", spec_file(tmp_path, [kinesis(world)]), "--out", plan_path).exit_code == 0
    box.proxy.transitional_views = 0
    box.proxy.settle_all()  # gone before the apply: what the plan waited for
    r = esmctl("apply", plan_path, "--yes")
    assert r.exit_code == 0, r.stdout + r.stderr
    [m] = mappings(box)
    assert m["UUID"] != uuid


# -- a fleet: Ctrl-C, and a dry run's exit code ------------------------------------------------------------
ACCOUNTS = ("111111111111", "222222222222")
SPEC = """\
version: 1
region: us-east-1
mappings:
  - FunctionName: orders-fn
    EventSourceArn: arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/orders
    StartingPosition: TRIM_HORIZON
"""
TARGETS = """\
version: 1
defaults: {role: esmctl-deployer, regions: [us-east-1]}
targets:
  - {account: "111111111111"}
  - {account: "222222222222"}
"""


def two_accounts(box, tmp_path) -> tuple[str, str]:
    for account in ACCOUNTS:
        server.seed(box.moto_url, "us-east-1", account=account)
        server.create_role(box.moto_url, account, "esmctl-deployer")
    (tmp_path / "spec.yaml").write_text(SPEC)
    (tmp_path / "targets.yaml").write_text(TARGETS)
    return str(tmp_path / "spec.yaml"), str(tmp_path / "targets.yaml")


def test_apply_targets_dry_run_json_says_the_exit_code_the_process_has(esmctl, box, tmp_path):
    spec, targets = two_accounts(box, tmp_path)
    r = esmctl("apply", spec, "--targets", targets, "--dry-run", "-o", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["exitCode"] == 0 and all(t["exitCode"] == 0 for t in doc["targets"])


def test_ctrl_c_during_apply_targets_stops_every_target_and_prints_all_results(esmctl, box, tmp_path):
    spec, targets = two_accounts(box, tmp_path)
    held = box.proxy.pause("CreateEventSourceMapping", nth=1, when="after")
    proc, out, err = ctrl_c_while_held(held, "apply", spec, "--targets", targets, "--yes", "--max-concurrency", "1",
                                       "-o", "json", while_held=still_running)
    assert proc.returncode == 130, err
    doc = json.loads(out)
    assert doc["interrupted"] is True and doc["exitCode"] == 130
    statuses = sorted(t["status"] for t in doc["targets"])
    assert "skipped" in statuses  # the second target never started
    [started] = [t for t in doc["targets"] if t.get("applied")]
    assert started["interrupted"] is True and started["results"][0]["status"] in ("done", "interrupted")
    if started["results"][0]["status"] == "interrupted":  # said as one target alone says it, not as a failure
        assert ": INTERRUPTED: create " in err and ": FAILED: " not in err, err
    assert "re-run apply --targets to finish" in err
    assert box.proxy.calls["CreateEventSourceMapping"] == 1  # nothing started after Ctrl-C
    r = esmctl("apply", spec, "--targets", targets, "--yes")
    assert r.exit_code == 0, r.stdout + r.stderr


def test_ctrl_c_during_pause_targets_says_interrupted_and_the_state_last_seen(esmctl, box, tmp_path):
    """Cut short after its disable went out, a target is `interrupted` (not FAILED: nothing failed), and its mapping
    is shown as the disable's reply left it, Disabling (the listing's Enabled, before, read as if the stop had not
    happened: a review)."""
    spec, targets = two_accounts(box, tmp_path)
    assert esmctl("apply", spec, "--targets", targets, "--yes").exit_code == 0
    box.proxy.transitional_views = 50  # Disabling for as long as anyone looks
    held = box.proxy.pause("UpdateEventSourceMapping", nth=1, when="after")
    proc, out, err = ctrl_c_while_held(held, "pause", "--function", "orders-fn", "--targets", targets, "--yes",
                                       "--max-concurrency", "1", "-o", "json", while_held=still_running)
    assert proc.returncode == 130, err
    doc = json.loads(out)
    started, later = doc["targets"]
    assert (started["status"], started["exitCode"], later["status"]) == ("interrupted", 130, "skipped"), doc
    [m] = started["mappings"]
    assert (m["Outcome"], m["State"]) == ("interrupted", "Disabling"), m
    assert doc["summary"]["interrupted"] == 1 and doc["summary"]["failed"] == 0, doc["summary"]
    box.proxy.transitional_views = 0  # (the mapping cut short stays Disabling for the reads left of its 50)
    r = esmctl("pause", "--function", "orders-fn", "--targets", targets, "--yes", "--max-concurrency", "1",
               "-o", "json")
    assert r.exit_code == 0, r.stdout + r.stderr
    again = json.loads(r.stdout)["targets"][0]["mappings"]
    # not "already paused" while Disabling: the re-run waits until it is Disabled, and sends nothing
    assert [(m["Outcome"], m["State"]) for m in again] == [("paused", "Disabled")], again


def test_a_fleet_target_with_a_failure_and_a_change_ctrl_c_cut_short_counts_each_as_it_is(esmctl, box, tmp_path):
    spec, targets = two_accounts(box, tmp_path)
    assert esmctl("apply", spec, "--targets", targets, "--yes").exit_code == 0
    server.account_client(box.url, "lambda", "us-east-1", ACCOUNTS[0]).create_event_source_mapping(
        FunctionName="orders-fn", EventSourceArn=f"arn:aws:kinesis:us-east-1:{ACCOUNTS[0]}:stream/clicks",
        StartingPosition="LATEST")
    box.proxy.fail_next["UpdateEventSourceMapping"] = (400, "InvalidParameterValueException", "refused (injected)")
    held = box.proxy.pause("TagResource", nth=2, when="after")  # the first target's second mapping
    proc, out, err = ctrl_c_while_held(held, "pause", "--function", "orders-fn", "--targets", targets, "--yes",
                                       "--max-concurrency", "1", "--concurrency", "1", "-o", "json")
    assert proc.returncode == 130, err
    first = json.loads(out)["targets"][0]
    assert sorted(m["Outcome"] for m in first["mappings"]) == ["failed", "interrupted"], first["mappings"]
    assert (first["status"], first["error"]) == ("failed", "1 of 2 failed, 1 cut short by Ctrl-C"), first


def test_pause_pipelines_its_waits_one_listing_a_round_for_every_mapping(esmctl, world, box):
    lam = client(box, "lambda", direct=False)
    for arn in streams(box, 8):
        lam.create_event_source_mapping(FunctionName="audit-fn", EventSourceArn=arn, StartingPosition="LATEST")
    box.proxy.transitional_views = 3  # each disable leaves its mapping Disabling for the next 3 reads of it
    box.proxy.clear_counts()
    r = esmctl("pause", "--function", "audit-fn", "--concurrency", "4", "--yes")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert r.stdout.count("paused by esmctl pause") == 8
    # the executor's last waits: one listing per round for all 8 (a round is a read of every mapping), never a
    # Get per mapping, never a wait holding a worker while the other mappings queue behind it
    assert box.proxy.calls["GetEventSourceMapping"] == 0
    assert box.proxy.calls["ListEventSourceMappings"] <= 1 + 3 + 1  # the survey, three Disabling reads, Disabled


def test_fleet_apply_piped_says_each_result_once(esmctl, box, tmp_path):
    spec, targets = two_accounts(box, tmp_path)
    r = esmctl("apply", spec, "--targets", targets, "--yes")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert ": ok: " not in r.stderr  # piped: the results tables say it, once
    assert r.stdout.count("created") == 2


@pytest.mark.parametrize("argv", [["schema"], ["--help"], ["--version"], ["list", "--help"]])
def test_a_reader_that_goes_away_ends_esmctl_quietly_with_141(argv):
    """`esmctl … | head`: once the reader has gone, nothing more is said and the exit code is a shell's for a tool
    SIGPIPE ended (a review saw `esmctl: error: unexpected BrokenPipeError` and exit 1, which is an error's; `esmctl
    --help | true` and `--version` exited 1 too, which click says for them)."""
    proc = subprocess.Popen([ESMCTL, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader gone before the first write: every write fails
    stderr = proc.stderr.read()
    assert proc.wait(timeout=60) == 141 and stderr == b"", stderr



def test_a_reader_that_leaves_part_way_through_a_large_write_is_141_too():
    """`esmctl schema | head -1`: the reader leaves while one write of the 146 KB schema is under way (a pipe holds
    64 KiB). Python's writer counts that write as short, not as an error: a review saw exit 0, the output's end
    gone without a word."""
    proc = subprocess.Popen([ESMCTL, "schema"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.read(10) == b'{\n  "$sche'  # it is writing, and cannot finish before the pipe is read
    proc.stdout.close()
    stderr = proc.stderr.read()
    assert proc.wait(timeout=60) == 141 and stderr == b"", stderr


def test_a_reader_gone_when_nothing_was_lost_is_not_141(tmp_path):
    """141 says output was lost, not that the reader has gone: `esmctl validate spec | true` writes nothing to
    stdout, and exits 0 (a review saw 141 from a check made after the fact, which also turned a drift gate's 2
    into 141 at random)."""
    spec = tmp_path / "spec.yaml"
    spec.write_text("version: 1\nmappings:\n  - FunctionName: f\n    EventSourceArn: arn:aws:sqs:us-east-1:"
                    "123456789012:q\n")
    proc = subprocess.Popen([ESMCTL, "validate", str(spec)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # gone before esmctl ends, having read nothing: nothing was written to it either
    stderr = proc.stderr.read()
    assert proc.wait(timeout=60) == 0 and b"valid (1 mapping)" in stderr, stderr


def test_verbose_with_stderr_gone_keeps_the_commands_exit_code(world, box):
    """`esmctl -v list 2>&1 | head -c 10`: the reader of stderr goes before -v's last line (the AWS calls made); the
    command's own outcome stands (a review saw exit 1, click's for a pipe error, from that line)."""
    lam = client(box, "lambda", direct=False)
    lam.create_event_source_mapping(FunctionName="jobs-fn", EventSourceArn=world["jobs"])
    proc = subprocess.Popen([ESMCTL, "-v", "list", "-o", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stderr.close()  # gone before esmctl says anything there
    out = proc.stdout.read()
    assert proc.wait(timeout=60) == 0 and json.loads(out)["EventSourceMappings"]


def test_a_closed_stdout_is_no_traceback():
    """Started with stdout closed (`esmctl --version >&-`): no Python traceback (a review found one), and not exit 0
    with the output lost: one line, exit 1."""
    r = subprocess.run([ESMCTL, "--version"], capture_output=False, stderr=subprocess.PIPE, text=True, timeout=60,
                       preexec_fn=lambda: os.close(1))
    assert "Traceback" not in r.stderr and r.returncode == 1 and "standard output is closed" in r.stderr, r.stderr


def test_a_closed_stderr_loses_the_messages_not_the_results(world, box, tmp_path):
    """`esmctl apply … -o json 2>&-` failed silently (exit 1, "unexpected AttributeError" with nowhere to say it)."""
    path = spec_file(tmp_path, [kinesis(world)])
    r = subprocess.run(["bash", "-c", f"{ESMCTL} apply {path} --yes -o json 2>&-"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and json.loads(r.stdout)["results"][0]["status"] == "done", (r.returncode, r.stdout)


def test_what_a_signal_handler_says_with_stderr_gone_does_not_end_the_run(monkeypatch):
    """SIGTERM with stderr closed, or its reader gone (a CI cancel that also ended `tee`): the handler's line raised
    out of the handler, and the results of the writes under way were lost."""
    from esmctl.commands import shared

    monkeypatch.setattr("sys.stderr", None)
    shared.say("esmctl: terminated: finishing the calls in flight")  # no AttributeError

    def gone(*_args):
        raise BrokenPipeError

    class Broken:
        write = flush = staticmethod(gone)

    monkeypatch.setattr("sys.stderr", Broken())
    monkeypatch.setattr("os.write", gone)
    shared.say("esmctl: terminated: finishing the calls in flight")  # no BrokenPipeError


def test_a_closed_stdin_reads_as_empty(world, box):
    """`mapping create --cli-input-yaml - <&-` said "unexpected AttributeError"."""
    r = subprocess.run(["bash", "-c", f"{ESMCTL} mapping create --function jobs-fn --source {world['jobs']} "
                                      "--cli-input-yaml - -o json <&-"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and json.loads(r.stdout)["EventSourceArn"] == world["jobs"], r.stderr
