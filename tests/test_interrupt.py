"""kill -9 at every step boundary of a replace, a hand-off and a prune, then run apply again; and Ctrl-C.

The real `esmctl apply` runs as a subprocess against the AWS-like layer, which holds a chosen call
(before AWS carries it out, or after, losing the reply). The process is killed right there; the next
`apply` must converge to exactly the spec — no duplicate, no missing mapping — and `diff` exit 0.

Ctrl-C (SIGINT) is the polite version: esmctl starts nothing more, lets the calls in flight return,
ends its waits at once, says what exists (text, or the `-o json` document) and exits 130.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from tests.helpers import (
    ESMCTL,
    client,
    converges,
    ctrl_c_while_held,
    kill_at,
    kinesis,
    mappings,
    put_age,
    spec_file,
    still_running,
)

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


# -- Ctrl-C ----------------------------------------------------------------------------------------
def streams(box, count: int) -> list[str]:
    kinesis = client(box, "kinesis")
    arns = []
    for i in range(count):
        kinesis.create_stream(StreamName=f"ctrl-c-{i}", ShardCount=1)
        arns.append(kinesis.describe_stream_summary(StreamName=f"ctrl-c-{i}")["StreamDescriptionSummary"]["StreamARN"])
    return arns


def many(tmp_path, arns: list[str]) -> str:
    return spec_file(tmp_path, [{"FunctionName": "orders-fn", "EventSourceArn": a, "StartingPosition": "LATEST"}
                                for a in arns])


def start_apply(*args: str) -> subprocess.Popen:
    return subprocess.Popen([ESMCTL, "apply", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=os.environ)


def wait_for(condition, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


@pytest.mark.slow
def test_ctrl_c_mid_apply_finishes_the_calls_in_flight_and_says_what_exists(esmctl, world, box, tmp_path):
    path = many(tmp_path, streams(box, 16))
    box.proxy.latency = 0.2  # several creates in flight at once, and more to come
    held = box.proxy.pause("CreateEventSourceMapping", nth=3, when="after")  # carried out, its reply held

    def still_waiting(proc: subprocess.Popen) -> None:
        assert proc.poll() is None  # still waiting for the held call: it is not abandoned

    proc, out, err = ctrl_c_while_held(held, "apply", path, "-o", "json", settle=0.5, while_held=still_waiting)
    assert proc.returncode == 130, err
    assert "interrupted: finishing the calls in flight" in err
    doc = json.loads(out)
    assert doc["applied"] is True and doc["interrupted"] is True
    results = doc["results"]
    assert len(results) == 16 and {r["status"] for r in results} <= {"done", "interrupted", "not-started"}
    not_started = [r for r in results if r["status"] == "not-started"]
    assert not_started, "Ctrl-C stopped nothing"
    assert all(r["exists"] == [] and r["stepsDone"] == [] and not r["ok"] for r in not_started)
    reported = {u for r in results for u in r["exists"]}
    box.proxy.latency = 0.0
    assert reported == {m["UUID"] for m in mappings(box)}  # every mapping that exists, and only those
    assert box.proxy.calls["CreateEventSourceMapping"] == len(reported)  # the held create among them
    assert f"{len(results) - len(not_started)} interrupted, {len(not_started)} not started" in err
    assert len(converges(esmctl, box, path)) == 16


def test_ctrl_c_while_waiting_for_mappings_to_settle_stops_at_once(esmctl, world, box, tmp_path):
    path = many(tmp_path, streams(box, 3))
    box.proxy.transitional_views = 10**6  # Creating for as long as anyone looks
    proc = start_apply(path, "--no-color")
    try:
        wait_for(lambda: box.proxy.calls["ListEventSourceMappings"] >= 3)  # the plan's listing, then polls
        polls = box.proxy.calls["ListEventSourceMappings"]
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    # Counted, not timed: a wait that went on (--timeout is 600 s) would poll every 10 ms; one that stops at once
    # makes at most the poll in flight when Ctrl-C came and one it had just begun.
    assert box.proxy.calls["ListEventSourceMappings"] - polls <= 2, "the wait did not stop at once"
    assert "interrupted: finishing the calls in flight (Ctrl-C again to abort at once)" in err
    rows = [line for line in out.splitlines() if line.startswith("create ")]
    assert len(rows) == 3
    assert all("INTERRUPTED: created " in r and "interrupted while waiting until the new mapping is settled" in r
               and "exists now" in r for r in rows)
    assert {m["UUID"] for m in mappings(box)} == {r.split()[4] for r in rows}  # the UUID column
    assert "esmctl: interrupted: 0 of 3 change(s) done, 3 interrupted; re-run apply to finish" in err
    box.proxy.transitional_views = 0
    box.proxy.settle_all()  # they settle: whether they run is known again, and the re-run plans on it
    assert len(converges(esmctl, box, path)) == 3


def test_a_second_ctrl_c_aborts_at_once(esmctl, world, box, tmp_path):
    path = many(tmp_path, streams(box, 4))
    held = box.proxy.pause("CreateEventSourceMapping", nth=2, when="before")
    proc = start_apply(path)
    try:
        assert held.reached.wait(timeout=60)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.5)
        assert proc.poll() is None  # the first waits for the held call
        proc.send_signal(signal.SIGINT)
        # The second does not wait: held until the layer drops it (pause_timeout, 30 s), the call would end the
        # apply as interrupted, not aborted, so the verdict below does not hang on a deadline of its own.
        out, err = proc.communicate(timeout=120)
    finally:
        held.release(drop=True)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    assert "Ctrl-C again to abort at once" in err
    assert "aborted: the calls in flight were abandoned; `esmctl plan` shows what exists now" in err
    assert "Plan: 4 to create" in out  # what was printed before is not lost
    assert len(converges(esmctl, box, path)) == 4


def test_ctrl_c_while_planning_writes_nothing_and_exits_130(esmctl, world, box, tmp_path):
    path = many(tmp_path, streams(box, 2))
    held = box.proxy.pause("ListEventSourceMappings", nth=1, when="before")
    proc, out, err = ctrl_c_while_held(held, "apply", path, "--yes")
    assert proc.returncode == 130 and "esmctl: interrupted" in err
    assert box.proxy.writes() == 0 and mappings(box) == []


def test_ctrl_c_between_the_delete_and_the_create_of_a_replace(esmctl, world, box, tmp_path):
    assert esmctl("apply", spec_file(tmp_path, [kinesis(world)])).exit_code == 0
    [old] = mappings(box)
    path = spec_file(tmp_path, [kinesis(world, StartingPosition="LATEST")])
    box.proxy.transitional_views = 2  # Deleting for a while
    box.proxy.clear_counts()
    held = box.proxy.pause("GetEventSourceMapping", nth=1, when="after")  # the first look: is it gone?
    proc, out, err = ctrl_c_while_held(held, "apply", path, "--allow-replace", "--yes", "-o", "json")
    assert proc.returncode == 130, err
    [result] = json.loads(out)["results"]
    assert result["status"] == "interrupted" and result["exists"] == []
    assert result["stepsDone"] == [f"delete {old['UUID']}"]
    assert result["message"] == (f"deleted {old['UUID']}; interrupted while waiting until {old['UUID']} is gone; "
                                 "no mapping of orders-fn <- kinesis:orders exists now: re-run apply to create it")
    assert box.proxy.calls["CreateEventSourceMapping"] == 0  # nothing started after Ctrl-C
    [new] = converges(esmctl, box, path, "--allow-replace")
    assert new["UUID"] != old["UUID"] and new["StartingPosition"] == "LATEST"


def test_ctrl_c_while_esmctl_loads_is_an_interrupt_not_a_traceback():
    # Ctrl-C in the first tenth of a second lands in the imports, before the CLI's own handling: the KeyboardInterrupt
    # raised at the import of click stands for it (a signal's timing would make the verdict the machine's speed)
    script = textwrap.dedent("""\
        import sys

        class CtrlC:
            def find_spec(self, name, path=None, target=None):
                if name == "click":
                    raise KeyboardInterrupt

        sys.meta_path.insert(0, CtrlC())
        sys.argv = ["esmctl", "--version"]
        import esmctl
        esmctl.main()
        """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout, r.stderr) == (130, "", "esmctl: interrupted\n")


def test_ctrl_c_while_mapping_create_waits_says_the_mapping_was_made(world, box):
    """The spinner that showed the new UUID is erased by Ctrl-C: `esmctl: interrupted` alone left the user to make it
    again (a 409) or to list to find it."""
    box.proxy.transitional_views = 50  # Creating for a while
    held = box.proxy.pause("GetEventSourceMapping", nth=1)  # the wait's first look
    proc, out, err = ctrl_c_while_held(held, "mapping", "create", "--function", "jobs-fn", "--source", world["jobs"])
    [made] = mappings(box)
    assert proc.returncode == 130, err
    assert f"interrupted while waiting for {made['UUID']} to be settled: the request was made" in err, err


def test_sigterm_mid_apply_is_taken_as_ctrl_c_and_the_results_say_what_exists(world, box, tmp_path):
    """CI cancelling a job, `timeout` and Kubernetes send SIGTERM: the apply ended at once (143), with the changes
    made and nothing said of them."""
    path = spec_file(tmp_path, [kinesis(world), kinesis(world, fn="audit-fn"), kinesis(world, stream="clicks")])
    held = box.proxy.pause("CreateEventSourceMapping", nth=1, when="after")
    proc, out, err = ctrl_c_while_held(held, "apply", path, "--yes", "--concurrency", "1", sig=signal.SIGTERM,
                                       while_held=still_running)  # the call in flight is let return
    assert proc.returncode == 130, err
    assert "terminated: finishing the calls in flight" in err and "0 of 3 change(s) done, 1 interrupted" in err, err
    assert len(mappings(box)) == 1 and "exists now" in out + err
