"""What scripts and CI read: every `-o json` command prints one parseable document on stdout, the
same shape whether or not anything changed; `-o markdown` plans are fenced for pull-request comments."""

from __future__ import annotations

import json

import yaml

from tests.helpers import client, kinesis, put_age, spec_file


def one_document(r) -> object:
    assert r.exit_code in (0, 1, 2, 3), r.stderr
    return json.loads(r.stdout)  # exactly one document: json.loads refuses trailing data


def test_every_command_prints_one_json_document(esmctl, world, box, tmp_path):
    path = spec_file(tmp_path, [kinesis(world)])
    assert one_document(esmctl("validate", path, "-o", "json"))["valid"] is True
    bad = spec_file(tmp_path, [kinesis(world, BatchSize=0)], name="bad.yaml")
    invalid = esmctl("validate", bad, "-o", "json")
    assert invalid.exit_code == 1
    assert one_document(invalid)["problems"][0].endswith("the minimum is 1 (allowed: 1–10000)")
    for command in (["plan", path], ["diff", path], ["apply", path, "--dry-run"], ["apply", path],
                    ["apply", path], ["diff", path], ["plan", path]):
        doc = one_document(esmctl(*command, "-o", "json"))
        assert doc  # plan/diff: the plan; apply: {"plan", "applied", "results"}
    unchanged = one_document(esmctl("apply", path, "-o", "json"))
    assert unchanged == {"plan": unchanged["plan"], "applied": False, "interrupted": False, "results": []}
    assert unchanged["plan"]["summary"]["in_sync"] == 1
    [m] = one_document(esmctl("list", "-o", "json"))["EventSourceMappings"]
    uuid = m["UUID"]
    for command in (["mapping", "get", uuid], ["mapping", "update", uuid, "--batch-size", "7"],
                    ["mapping", "disable", uuid], ["mapping", "enable", uuid], ["export"], ["status"],
                    ["status", path], ["doctor", path], ["consumer", "register", "--stream", "orders", "--name", "c"],
                    ["consumer", "list", "--stream", "orders"],
                    ["consumer", "describe", "--stream", "orders", "--name", "c"],
                    ["consumer", "deregister", "--stream", "orders", "--name", "c", "--yes"],
                    ["mapping", "delete", uuid, "--yes"]):
        one_document(esmctl(*command, "-o", "json"))


def test_a_refused_apply_prints_the_plan_not_applied(esmctl, world, box, tmp_path):
    assert esmctl("apply", spec_file(tmp_path, [kinesis(world)])).exit_code == 0
    replace = spec_file(tmp_path, [kinesis(world, StartingPosition="LATEST")], name="replace.yaml")
    for extra in ([], ["--yes"]):  # no confirmation; then no --allow-replace
        r = esmctl("apply", replace, "-o", "json", *extra)
        doc = one_document(r)
        assert r.exit_code == 1 and doc["applied"] is False and doc["results"] == []
        assert [c["action"] for c in doc["plan"]["changes"]] == ["replace"]


def test_markdown_plans_are_fenced_with_the_summary_outside(esmctl, world, box, tmp_path):
    client(box, "lambda", direct=False).create_event_source_mapping(
        FunctionName="orders-fn", EventSourceArn=world["orders"], StartingPosition="TRIM_HORIZON")
    put_age(box, "orders-fn", [(1, 1000)])
    path = spec_file(tmp_path, [kinesis(world, BatchSize=7), kinesis(world, fn="audit-fn")])
    r = esmctl("diff", path, "-o", "markdown")
    assert r.exit_code == 2
    lines = r.stdout.strip().splitlines()
    assert lines[0] == "```diff" and "```" in lines
    fence = lines.index("```", 1)
    body = lines[1:fence]
    assert any(x.startswith("~ update orders-fn <- kinesis:orders") for x in body)
    assert any(x.startswith("+ create audit-fn <- kinesis:orders") for x in body)
    assert lines[-1] == "**Plan: 1 to create, 1 to update, 0 to replace, 0 to delete.**"
    in_sync = esmctl("diff", spec_file(tmp_path, [kinesis(world)], name="same.yaml"), "-o", "markdown")
    assert in_sync.stdout.strip() == "**No changes. The live mappings match the spec.**"


def test_export_after_a_handoff_validates_and_diffs_clean(esmctl, world, box, tmp_path):
    client(box, "lambda", direct=False).create_event_source_mapping(
        FunctionName="orders-fn", EventSourceArn=world["orders"], StartingPosition="LATEST")
    put_age(box, "orders-fn", [(1, 1000)])
    r = esmctl("apply", spec_file(tmp_path, [kinesis(world, StartingPosition="LATEST", Consumer="fanout")]), "--yes")
    assert r.exit_code == 0, r.stderr
    exported = tmp_path / "exported.yaml"
    r = esmctl("export")
    exported.write_text(r.stdout)
    [entry] = __import__("yaml").safe_load(r.stdout)["mappings"]
    assert entry["Consumer"] == "fanout" and entry["StartingPosition"] == "AT_TIMESTAMP"
    assert "StartingPositionTimestamp" in entry  # the layer echoes it, as AWS does
    assert esmctl("validate", str(exported)).exit_code == 0
    assert esmctl("diff", str(exported)).exit_code == 0
    missing = esmctl("export", "--function", "nope-fn")  # a misspelt function is an error, not an empty spec
    assert missing.exit_code == 1 and "function nope-fn not found" in missing.stderr and missing.stdout == ""


def test_text_is_printed_as_it_is_and_a_single_yaml_value_alone(esmctl, world, box, tmp_path):
    """`café` in a filter shows as `café` in JSON, YAML and the table (as the AWS CLI v2 prints it), and `-o yaml
    --query` of one value prints that value, without YAML's `...` end marker (a review saw both)."""
    pattern = '{"data": {"name": ["café", "a\u0085b"]}}'
    made = json.loads(esmctl("mapping", "create", "--function", "orders-fn", "--source", world["orders"],
                             "--starting-position", "LATEST", "--filter", pattern, "-o", "json").stdout)
    for fmt in ("json", "yaml", "table"):
        r = esmctl("mapping", "get", made["UUID"], "-o", fmt)
        assert r.exit_code == 0 and "café" in r.stdout and "\\u00e9" not in r.stdout and "\\xE9" not in r.stdout, fmt
    r = esmctl("list", "-o", "yaml", "--query", "length(EventSourceMappings)")
    assert r.stdout == "1\n"
    assert yaml.safe_load(esmctl("export", "-o", "yaml").stdout)["mappings"][0]["FilterCriteria"] == {
        "Filters": [{"Pattern": {"data": {"name": ["café", "a\u0085b"]}}}]}
    for fmt in ("yaml", "json"):  # a NEL written raw reads back as a line break (a review saw diff exit 2)
        (tmp_path / f"e.{fmt}").write_text(esmctl("export", "-o", fmt).stdout)
        assert esmctl("diff", str(tmp_path / f"e.{fmt}")).exit_code == 0, fmt


def test_what_text_cannot_hold_as_it_is_is_escaped():
    """JSON: NEL and the line separators (YAML reads them as breaks) and lone surrogates (no encoding writes them)
    as \\u escapes; YAML: escapes throughout when a NEL is there."""
    from esmctl.views.document import json_text, yaml_text

    data = {"p": "café a\u0085b \u2028 \ud800"}
    text = json_text(data)
    assert "café" in text and "\\u0085" in text and "\\u2028" in text and "\\ud800" in text
    assert json.loads(text) == data and yaml.safe_load(text) == data
    assert yaml.safe_load(yaml_text({"p": "a\u0085b"})) == {"p": "a\u0085b"}
    assert "café" in yaml_text({"p": "café"})


def test_a_plan_of_a_pattern_with_a_lone_surrogate_prints(esmctl, world, tmp_path):
    path = spec_file(tmp_path, [{"FunctionName": "jobs-fn", "EventSourceArn": world["jobs"],
                                 "FilterCriteria": {"Filters": [{"Pattern": '{"body": {"x": ["\\ud800"]}}'}]}}])
    for args in (["plan", path], ["plan", path, "-o", "json"], ["plan", path, "-o", "markdown"]):
        r = esmctl(*args)
        assert r.exit_code == 0 and "\\ud800" in r.stdout, (args, r.stdout, r.stderr)
