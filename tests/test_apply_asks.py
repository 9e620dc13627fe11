"""apply asks at a terminal before any change (a real pseudo-terminal), says each result once when piped, and a
--reason a tag cannot hold gets a suggestion."""

from __future__ import annotations

import os
import pty
import re
import subprocess

from tests.helpers import ESMCTL, client, kinesis, mappings, spec_file
from tests.test_fleet import fleet, seeded_fleet  # noqa: F401 - the fixtures: 3 accounts × 2 regions

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def at_a_terminal(args: list[str], answer: str | None) -> tuple[int, bytes]:
    """Run esmctl in a pseudo-terminal; answer its question (None: expect none). Returns (exit code, output)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([ESMCTL, *args], stdin=slave, stdout=slave, stderr=slave, env=os.environ,
                            close_fds=True)
    os.close(slave)
    seen = b""
    try:
        if answer is not None:
            while b"[y/N]" not in seen:
                seen += os.read(master, 1024)
            os.write(master, answer.encode() + b"\n")
        code = proc.wait(timeout=120)
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the terminal's other end is closed: all read
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(master)
    return code, seen


def test_apply_asks_before_any_change_at_a_terminal(world, box, tmp_path):
    path = spec_file(tmp_path, [kinesis(world, Enabled=False)])  # no delete, no replace: still a change
    code, seen = at_a_terminal(["apply", path], "n")
    assert code == 1 and b"Do you want to perform these actions? [y/N]" in seen and b"nothing was changed" in seen
    assert b"+ create orders-fn <- kinesis:orders" in seen.split(b"Do you want")[0]  # the plan first
    assert mappings(box) == [] and box.proxy.writes() == 0
    code, seen = at_a_terminal(["apply", path], "y")
    assert code == 0 and [m["State"] for m in mappings(box)] == ["Disabled"]
    # --yes, and nothing to do, ask nothing
    path = spec_file(tmp_path, [kinesis(world, Enabled=False, BatchSize=7)])
    code, seen = at_a_terminal(["apply", path, "--yes"], None)
    assert code == 0 and b"[y/N]" not in seen and [m["BatchSize"] for m in mappings(box)] == [7]
    code, seen = at_a_terminal(["apply", path], None)
    assert code == 0 and b"[y/N]" not in seen and b"No changes" in seen


def test_apply_over_targets_asks_once_before_any_change_at_a_terminal(box, fleet):  # noqa: F811 - the fixture
    """As in one account and region: creates and updates are changes too (a review found them made unasked)."""
    spec, targets = fleet
    code, seen = at_a_terminal(["apply", spec, "--targets", targets], "n")
    assert code == 1 and seen.count(b"[y/N]") == 1, seen
    assert b"Do you want to perform these actions in 4 target(s)? [y/N]" in seen  # the third account's role fails
    assert b"nothing was changed" in seen and box.proxy.writes() == 0
    code, seen = at_a_terminal(["apply", spec, "--targets", targets, "-o", "json"], "n")
    assert code == 1 and b'"applied": false' in seen and box.proxy.writes() == 0  # the one document, as without -o
    code, seen = at_a_terminal(["apply", spec, "--targets", targets], "y")
    assert code == 1 and box.proxy.writes() > 0  # every target but the third account's converged
    assert b"4 in sync, 2 failed." in seen and box.proxy.calls["CreateEventSourceMapping"] == 8  # 2 × 4 targets


def test_a_delete_at_a_terminal_says_so_in_the_one_question(world, box, tmp_path):
    client(box, "lambda", direct=False).create_event_source_mapping(
        FunctionName="orders-fn", EventSourceArn=world["clicks"], StartingPosition="LATEST")
    box.proxy.clear_counts()
    path = spec_file(tmp_path, [kinesis(world)])
    code, seen = at_a_terminal(["apply", path, "--prune"], "n")
    assert code == 1 and seen.count(b"[y/N]") == 1
    assert b"Do you want to perform these actions? 1 of them delete, replace or hand off mappings. [y/N]" in seen
    assert len(mappings(box)) == 1 and box.proxy.writes() == 0


def test_piped_apply_says_each_result_once_and_the_uuid_once(world, box, tmp_path):
    path = spec_file(tmp_path, [kinesis(world), kinesis(world, fn="audit-fn")])
    r = subprocess.run([ESMCTL, "apply", path], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert not [line for line in r.stderr.splitlines() if line.startswith("ok:")], r.stderr
    results = r.stdout.split("Plan:")[1].splitlines()[1:]
    assert results[0].split() == ["ACTION", "MAPPING", "UUID", "RESULT"]
    for line in results[1:]:
        assert line.endswith("ok: created") and len(UUID.findall(line)) == 1, line
    for m in mappings(box):  # each UUID said once in all the output
        assert (r.stdout + r.stderr).count(m["UUID"]) == 1
    # a failure is still said as it happens, on stderr, and in the table
    failing = spec_file(tmp_path, [kinesis(world, fn="audit-fn", stream="clicks")], "failing.yaml")
    box.proxy.fail_next["CreateEventSourceMapping"] = (
        400, "InvalidParameterValueException", "The provided execution role does not have permissions")
    r = subprocess.run([ESMCTL, "apply", failing], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "FAILED: create audit-fn" in r.stderr and "FAILED:" in r.stdout


def test_a_reason_a_tag_cannot_hold_gets_one_that_can(esmctl, world, box, tmp_path):
    client(box, "lambda", direct=False).create_event_source_mapping(
        FunctionName="orders-fn", EventSourceArn=world["orders"], StartingPosition="LATEST")
    box.proxy.clear_counts()
    r = esmctl("pause", "--function", "orders-fn", "--reason", "INC-43: ledger's writes, again", "--yes")
    assert r.exit_code == 252 and box.proxy.writes() == 0
    assert "' , cannot be in a tag value" in r.stderr
    suggested = re.search(r"try --reason ('[^']*')", r.stderr).group(1)
    assert suggested == "'INC-43: ledgers writes again'"
    r = esmctl("pause", "--function", "orders-fn", "--reason", suggested.strip("'"), "--yes")
    assert r.exit_code == 0 and "INC-43: ledgers writes again" in r.stdout
