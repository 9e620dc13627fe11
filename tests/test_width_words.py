"""Plans that fit a screen and say what changed, times with their zone, tabs said plainly. End to end; the plan's
long reason in a real pseudo-terminal."""

from __future__ import annotations

import os
import pty
import subprocess

from esmctl.mapping.compare import FieldChange
from esmctl.views.plan import leaf_changes
from tests.helpers import ESMCTL, client, kinesis, spec_file


def test_a_nested_change_shows_the_leaf_that_changed(esmctl, world, box, tmp_path):
    client(box, "lambda", direct=False).create_event_source_mapping(
        FunctionName="orders-fn", EventSourceArn=world["orders"], StartingPosition="TRIM_HORIZON",
        DestinationConfig={"OnFailure": {"Destination": world["orders-dlq"]}})
    path = spec_file(tmp_path, [kinesis(world, DestinationConfig={"OnFailure": {"Destination": world["jobs-dlq"]}},
                                        ScalingConfig=None)])
    r = esmctl("plan", path)
    assert r.exit_code == 0, r.stderr
    assert "      DestinationConfig.OnFailure.Destination: orders-dlq → jobs-dlq\n" in r.stdout
    assert '{"OnFailure"' not in r.stdout
    # the JSON plan keeps the fields as the API has them
    assert esmctl("plan", path, "-o", "json").stdout.count('"OnFailure"') == 2


def test_leaves_of_added_and_removed_structures():
    dlq = "arn:aws:sqs:us-east-1:123456789012:dlq"
    assert leaf_changes(FieldChange("DestinationConfig", {}, {"OnFailure": {"Destination": dlq}})) == [
        ("DestinationConfig.OnFailure.Destination", "(unset)", f'"{dlq}"')]
    assert leaf_changes(FieldChange("ScalingConfig", {"MaximumConcurrency": 5}, None)) == [
        ("ScalingConfig.MaximumConcurrency", "5", "(unset)")]
    other = "arn:aws:sqs:eu-west-1:123456789012:dlq"  # another region: the whole ARN says so
    assert leaf_changes(FieldChange("DestinationConfig", {"OnFailure": {"Destination": dlq}},
                                    {"OnFailure": {"Destination": other}}))[0][1:] == (f'"{dlq}"', f'"{other}"')
    assert leaf_changes(FieldChange("BatchSize", 10, 20)) == [("BatchSize", "10", "20")]


def test_one_filter_pattern_of_several_changed_is_shown_alone():
    """A change to one pattern of a mapping's filters shows that pattern alone (as data, or as its text for a number
    written otherwise), not both whole lists, where the untouched patterns looked changed too; without an index, as
    the patterns are a set, compared in canonical order, not the spec's. Two or more patterns changed (or added, or
    removed) show the lists whole, as which pattern became which is not known."""
    kept = {"Pattern": {"body": {"b": ["x"]}}}
    before = {"Filters": [{"Pattern": {"body": {"a": ["1"]}}}, kept]}
    after = {"Filters": [{"Pattern": {"body": {"a": ["2"]}}}, kept]}
    assert leaf_changes(FieldChange("FilterCriteria", before, after)) == [
        ("FilterCriteria.Filters, one of 2", '{"Pattern": {"body": {"a": ["1"]}}}',
         '{"Pattern": {"body": {"a": ["2"]}}}')]
    texts = ({"Filters": [{"Pattern": '{"a":[1E+2]}'}, {"Pattern": '{"b":["x"]}'}]},
             {"Filters": [{"Pattern": '{"a":[100]}'}, {"Pattern": '{"b":["x"]}'}]})
    assert leaf_changes(FieldChange("FilterCriteria", *texts)) == [
        ("FilterCriteria.Filters, one of 2", '{"Pattern": "{\\"a\\":[1E+2]}"}', '{"Pattern": "{\\"a\\":[100]}"}')]
    two = {"Filters": [{"Pattern": {"body": {"a": ["2"]}}}, {"Pattern": {"body": {"b": ["y"]}}}]}
    added = {"Filters": [*before["Filters"], {"Pattern": {"c": ["z"]}}]}
    for whole in (two, added):
        [(name, _, shown)] = leaf_changes(FieldChange("FilterCriteria", before, whole))
        assert name == "FilterCriteria.Filters" and shown.count("Pattern") == len(whole["Filters"])
    moved = {"Filters": [kept, {"Pattern": {"z": ["5"]}}]}  # sorts elsewhere: still one changed (a re-review)
    assert leaf_changes(FieldChange("FilterCriteria", before, moved)) == [
        ("FilterCriteria.Filters, one of 2", '{"Pattern": {"body": {"a": ["1"]}}}', '{"Pattern": {"z": ["5"]}}')]
    one = ({"Filters": [{"Pattern": {"a": ["1"]}}]}, {"Filters": [{"Pattern": {"a": ["2"]}}]})
    assert leaf_changes(FieldChange("FilterCriteria", *one))[0][0] == "FilterCriteria.Filters"  # one of one: whole


def test_a_long_reason_wraps_at_the_terminals_width(world, box, tmp_path):
    client(box, "lambda", direct=False).create_event_source_mapping(
        FunctionName="orders-fn", EventSourceArn=world["orders"], StartingPosition="LATEST")
    path = spec_file(tmp_path, [kinesis(world)])  # TRIM_HORIZON: a replace, and a long reason why
    master, slave = pty.openpty()
    proc = subprocess.Popen([ESMCTL, "plan", path], stdin=slave, stdout=slave, stderr=slave, close_fds=True,
                            env={**os.environ, "COLUMNS": "60", "NO_COLOR": "1"})
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert proc.wait(timeout=60) == 0
    lines = seen.decode().replace("\r\n", "\n").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("    # "))
    reason = [lines[start]] + [line for line in lines[start + 1:] if line.startswith("      ") and ":" not in line[:8]]
    assert len(reason) > 1 and all(len(line) <= 60 for line in reason), lines
    assert "cannot be changed in place: needs --allow-replace" in " ".join(line.strip() for line in reason)
    r = subprocess.run([ESMCTL, "plan", path], capture_output=True, text=True, timeout=60)
    assert len([line for line in r.stdout.splitlines() if line.startswith("    # ")][0]) > 60  # piped: one line


def test_consumer_list_shows_times_with_their_zone(esmctl, world, box):
    client(box, "kinesis").register_stream_consumer(StreamARN=world["orders"], ConsumerName="fanout")
    r = esmctl("consumer", "list", "--stream", world["orders"])
    assert r.exit_code == 0, r.stderr
    [row] = [line for line in r.stdout.splitlines() if line.startswith("fanout")]
    assert row.split()[2:5][2] == "UTC" and row.split()[2][:2] == "20"


def test_a_tab_indenting_yaml_is_said_plainly(esmctl, tmp_path):
    path = tmp_path / "tabs.yaml"
    path.write_text("version: 1\nmappings:\n  - FunctionName: orders-fn\n  \tBatchSize: 3\n")
    r = esmctl("validate", str(path))
    assert r.exit_code == 1
    assert r.stderr.splitlines()[0] == f"{path}:4:3: spec: tabs cannot indent YAML: use spaces"
    path.write_text("version: 1\nmappings:\n\t- FunctionName: orders-fn\n")
    first = esmctl("validate", str(path)).stderr.splitlines()[0]
    assert first == f"{path}:3:1: spec: tabs cannot indent YAML: use spaces"
