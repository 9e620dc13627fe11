"""`esmctl validate` checks every filter pattern offline: malformed rules are FILE:LINE:COL errors, what
the source's records never match is a warning that names what they have."""

from __future__ import annotations

import json

QUEUE = "arn:aws:sqs:us-east-1:123456789012:jobs"
STREAM = "arn:aws:kinesis:us-east-1:123456789012:stream/orders"
TABLE_STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2024-01-01T00:00:00.000"
DOCDB = "arn:aws:rds:us-east-1:123456789012:cluster:docs"


def write(tmp_path, source: str, filters: str) -> str:
    path = tmp_path / "spec.yaml"
    start = "    StartingPosition: LATEST\n" if ":sqs:" not in source and ":rds:" not in source else ""
    path.write_text(f"version: 1\nmappings:\n  - FunctionName: fn\n    EventSourceArn: {source}\n{start}"
                    f"    FilterCriteria:\n      Filters:\n{filters}")
    return str(path)


def test_a_numeric_range_with_a_string_is_an_error_at_its_line_and_column(esmctl, tmp_path):
    path = write(tmp_path, QUEUE, '        - Pattern:\n            body:\n              n: [{numeric: [">", "5"]}]\n')
    r = esmctl("validate", path)
    assert r.exit_code == 1
    assert f'{path}:9:35: FilterCriteria.Filters[0].Pattern.body.n[0].numeric[1]: a numeric range needs numbers, ' \
           'not a string "5" (write 5)' in r.stderr


def test_an_unknown_operator_in_a_json_pattern_points_at_the_pattern(esmctl, tmp_path):
    path = write(tmp_path, QUEUE, "        - Pattern: '{\"body\": {\"n\": [{\"numerc\": [\">\", 5]}]}}'\n")
    r = esmctl("validate", path)
    assert r.exit_code == 1
    assert f"{path}:7:20: FilterCriteria.Filters[0].Pattern.body.n[0].numerc: unknown operator 'numerc'; did you " \
           "mean 'numeric'?" in r.stderr


def test_a_pattern_on_data_for_sqs_is_a_warning_naming_body(esmctl, tmp_path):
    path = write(tmp_path, QUEUE, "        - Pattern:\n            data:\n              kind: [order]\n")
    r = esmctl("validate", path)
    assert r.exit_code == 0, r.stderr
    assert f"{path}:9:15: warning: FilterCriteria.Filters[0].Pattern.data: SQS records have no `data`" in r.stderr
    assert "the SQS payload is `body`" in r.stderr
    assert "valid (1 mapping)" in r.stderr


def test_a_plain_string_pattern_on_kinesis_data_is_refused_as_lambda_refuses_it(esmctl, tmp_path):
    path = write(tmp_path, STREAM, "        - Pattern: '{\"data\": [\"hello\"]}'\n")
    r = esmctl("validate", path)
    assert r.exit_code == 1
    assert "Lambda refuses a plain-string pattern for data" in r.stderr


def test_dynamodb_numbers_written_as_numbers_are_a_warning(esmctl, tmp_path):
    path = write(tmp_path, TABLE_STREAM, "        - Pattern:\n            dynamodb:\n              Keys:\n"
                                         "                Id: {N: [101]}\n")
    r = esmctl("validate", path)
    assert r.exit_code == 0, r.stderr
    assert 'warning: FilterCriteria.Filters[0].Pattern.dynamodb.Keys.Id.N[0]: dynamodb.Keys.Id.N is a string in ' \
           'DynamoDB records: 101 (number) never matches it (write "101")' in r.stderr


def test_six_filters_warn_of_the_default_quota(esmctl, tmp_path):
    filters = "".join(f"        - Pattern: '{{\"body\": {{\"n\": [{i}]}}}}'\n" for i in range(6))
    r = esmctl("validate", write(tmp_path, QUEUE, filters))
    assert r.exit_code == 0 and "more than the default quota of 5" in r.stderr


def test_filters_on_documentdb_are_refused(esmctl, tmp_path):
    path = write(tmp_path, DOCDB, "        - Pattern: '{\"a\": [1]}'\n")
    r = esmctl("validate", path)
    assert r.exit_code == 1
    # the field's own check says it (FilterCriteria is not for DocumentDB), once
    assert r.stderr.count("FilterCriteria: is not for DocumentDB sources") == 1 and "event filtering" not in r.stderr


def test_json_output_still_lists_problems_and_warnings_go_to_stderr(esmctl, tmp_path):
    path = write(tmp_path, QUEUE, "        - Pattern:\n            data:\n              kind: [order]\n")
    r = esmctl("validate", path, "-o", "json")
    assert r.exit_code == 0 and '"valid": true' in r.stdout and "warning:" in r.stderr
    doc = json.loads(r.stdout)  # and in the document, for a CI job that annotates from it (a review missed them)
    assert doc["warnings"] == [line for line in r.stderr.splitlines() if ": warning: " in line] != []


def test_plan_and_apply_say_the_specs_warnings_as_validate_does(esmctl, world, box, tmp_path):
    """A filter that can never match (so Lambda deletes every SQS message) is said before the plan, not first by
    doctor after the write (a review found plan and apply silent about it)."""
    from tests.helpers import spec_file

    path = spec_file(tmp_path, [{"FunctionName": "jobs-fn", "EventSourceArn": world["jobs"],
                                 "FilterCriteria": {"Filters": [{"Pattern": {"data": {"type": ["order"]}}}]}}])
    warning = f"{path}:9:11: warning: FilterCriteria.Filters[0].Pattern.data: SQS records have no `data`"
    for command in (["plan", path], ["diff", path], ["apply", path, "--yes"]):
        r = esmctl(*command)
        assert r.exit_code in (0, 2), (command, r.stderr)
        assert r.stderr.count(warning) == 1, (command, r.stderr)



def test_a_number_yaml_data_cannot_keep_as_written_is_a_warning(esmctl, tmp_path):
    """Lambda compares a filter's numbers by their text, and a pattern written as YAML data is sent as JSON writes
    its numbers: 2.50 as 2.5. Said, with how to keep it (a review found apply rewriting such a live filter)."""
    path = tmp_path / "spec.yaml"
    path.write_text("version: 1\nmappings:\n  - FunctionName: jobs-fn\n"
                    "    EventSourceArn: arn:aws:sqs:us-east-1:123456789012:jobs\n"
                    "    FilterCriteria: {Filters: [{Pattern: {body: {n: [2.50, -0, 1.0e+3, 7, 2.5]}}}]}\n")
    r = esmctl("validate", str(path))
    assert r.exit_code == 0, r.stderr
    lines = [line for line in r.stderr.splitlines() if "warning:" in line]
    assert lines == [
        f"{path}:5:54: warning: FilterCriteria.Filters[0].Pattern.body.n[0]: 2.50 is sent as 2.5, and Lambda compares "
        "a filter's numbers by their text: write the pattern as a JSON string to keep 2.50",
        f"{path}:5:60: warning: FilterCriteria.Filters[0].Pattern.body.n[1]: -0 is sent as 0, and Lambda compares "
        "a filter's numbers by their text: write the pattern as a JSON string to keep -0",
        f"{path}:5:64: warning: FilterCriteria.Filters[0].Pattern.body.n[2]: 1.0e+3 is sent as 1000.0, and Lambda "
        "compares a filter's numbers by their text: write the pattern as a JSON string to keep 1.0e+3"], r.stderr


def test_the_number_warning_skips_range_operands_and_covers_defaults(esmctl, tmp_path):
    """A numeric range's numbers compare by value: no warning for them (a re-review found one), while a record field
    that happens to be named `numeric` is an equality rule; a pattern in `defaults:` is warned of too."""
    path = tmp_path / "spec.yaml"
    path.write_text("version: 1\ndefaults:\n  FilterCriteria: {Filters: [{Pattern: {body: {p: [2.50]}}}]}\n"
                    "mappings:\n  - FunctionName: jobs-fn\n"
                    "    EventSourceArn: arn:aws:sqs:us-east-1:123456789012:jobs\n"
                    "  - FunctionName: audit-fn\n    EventSourceArn: arn:aws:sqs:us-east-1:123456789012:jobs\n"
                    "    FilterCriteria: {Filters: [{Pattern: {body: {price: [{numeric: ['>=', 2.50, '<', 1.0e+3]}], "
                    "numeric: [7.10]}}}]}\n")
    r = esmctl("validate", str(path))
    assert r.exit_code == 0, r.stderr
    said = [line.split(": warning: ")[1].split(":")[0] for line in r.stderr.splitlines() if ": warning: " in line]
    assert said == ["FilterCriteria.Filters[0].Pattern.body.p[0]", "FilterCriteria.Filters[0].Pattern.body.numeric[0]"]
    assert f"{path}:3:52: warning:" in r.stderr  # the defaults' place


def test_a_number_beyond_a_double_in_a_data_pattern_is_a_problem_and_plan_sends_nothing(esmctl, box, tmp_path):
    """1.0e+400 in a pattern written as YAML data is infinite as a double: JSON data would send `Infinity`, which is
    not JSON, and Lambda refuses the pattern at apply. A problem of the spec where it is written, equality rule or
    range operand (it was a warning that the number is "sent as Infinity", and the spec valid)."""
    path = tmp_path / "spec.yaml"
    path.write_text("version: 1\nmappings:\n  - FunctionName: jobs-fn\n"
                    "    EventSourceArn: arn:aws:sqs:us-east-1:123456789012:jobs\n"
                    "    FilterCriteria: {Filters: [{Pattern: {body: {n: [1.0e+400], m: [{numeric: ['<', "
                    "-1.0e+999]}]}}}]}\n")
    r = esmctl("validate", str(path))
    assert r.exit_code == 1, r.stderr
    assert r.stderr.splitlines()[:2] == [
        f"{path}:5:54: FilterCriteria.Filters[0].Pattern.body.n[0]: 1.0e+400 is beyond the range of a number (a "
        "double): it would be sent as Infinity, which is not JSON",
        f"{path}:5:85: FilterCriteria.Filters[0].Pattern.body.m[0].numeric[1]: -1.0e+999 is beyond the range of a "
        "number (a double): it would be sent as -Infinity, which is not JSON"], r.stderr
    assert "warning" not in r.stderr
    before = sum(box.proxy.calls.values())
    assert esmctl("plan", str(path)).exit_code == 1
    assert sum(box.proxy.calls.values()) == before  # nothing asked of AWS


def test_validate_says_each_warning_once_with_anchors_and_targets(esmctl, tmp_path):
    """Mappings sharing a pattern through a YAML anchor, or a spec checked for each of its targets, say its warning
    once (a review saw it once per mapping, and validate --targets said none)."""
    spec = tmp_path / "spec.yaml"
    spec.write_text("version: 1\nregion: ${REGION}\nmappings:\n"
                    "  - FunctionName: jobs-fn\n    EventSourceArn: arn:aws:sqs:${REGION}:${ACCOUNT}:jobs\n"
                    "    FilterCriteria: &f {Filters: [{Pattern: {data: {kind: [order]}}}]}\n"
                    "  - FunctionName: audit-fn\n    EventSourceArn: arn:aws:sqs:${REGION}:${ACCOUNT}:jobs\n"
                    "    FilterCriteria: *f\n")
    targets = tmp_path / "targets.yaml"
    targets.write_text('version: 1\ntargets:\n  - {account: "111111111111", regions: [us-east-1, eu-west-1]}\n')
    for args in ([str(spec), "--var", "REGION=us-east-1", "--var", "ACCOUNT=123456789012"],
                 [str(spec), "--targets", str(targets)]):
        r = esmctl("validate", *args)
        assert r.exit_code == 0, r.stderr
        assert r.stderr.count("SQS records have no `data`") == 1, r.stderr
