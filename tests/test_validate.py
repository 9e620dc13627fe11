"""`esmctl validate` as CI and pre-commit run it: each file on its own with --each, and the region
refused as `plan` refuses it. Offline: the endpoint refuses every connection (see conftest)."""

from __future__ import annotations

import json

import pytest

from tests.helpers import spec_file

EAST_QUEUE = "arn:aws:sqs:us-east-1:123456789012:jobs"
WEST_QUEUE = "arn:aws:sqs:eu-west-1:123456789012:jobs"


@pytest.fixture
def specs(tmp_path):
    """Two teams' files: each valid alone, not together (one in another region, one the same mapping)."""
    east = spec_file(tmp_path, [{"FunctionName": "jobs-fn", "EventSourceArn": EAST_QUEUE}], "east.yaml")
    west = spec_file(tmp_path, [{"FunctionName": "jobs-fn", "EventSourceArn": WEST_QUEUE}], "west.yaml")
    again = spec_file(tmp_path, [{"FunctionName": "jobs-fn", "EventSourceArn": EAST_QUEUE, "BatchSize": 5}],
                      "again.yaml")
    return east, west, again


def test_each_file_on_its_own(esmctl, specs):
    east, west, again = specs
    r = esmctl("validate", east, west, again)  # one spec: two regions, and one mapping twice
    assert r.exit_code == 1
    r = esmctl("validate", "--each", east, west, again)
    assert r.exit_code == 0, r.stderr
    assert r.stderr == f"{east}, {west}, {again}: valid (3 mappings)\n"


def test_a_file_named_twice_is_read_once(esmctl, specs, tmp_path, monkeypatch):
    """`base.yaml specs/*.yaml` whose glob finds base.yaml too, or `./m.yaml m.yaml`: one file, not a second copy of
    each of its mappings said to be the same mapping as itself."""
    east, _, _ = specs
    monkeypatch.chdir(tmp_path)
    r = esmctl("validate", east, "./east.yaml", "../" + tmp_path.name + "/east.yaml")
    assert r.exit_code == 0 and r.stderr == f"{east}: valid (1 mapping)\n", r.stderr
    r = esmctl("validate", east, "./east.yaml", "-o", "json")
    assert json.loads(r.stdout)["files"] == [east]
    # a spec that names its own targets, named twice: one file, not two that both name targets
    (tmp_path / "fleet.yaml").write_text("version: 1\nregion: ${REGION}\ntargets:\n"
                                         "  - {account: '111111111111', regions: [us-east-1]}\nmappings:\n"
                                         "  - FunctionName: jobs-fn\n    EventSourceArn: arn:aws:sqs:${REGION}:"
                                         "${ACCOUNT}:jobs\n")
    r = esmctl("validate", "fleet.yaml", "./fleet.yaml")
    assert r.exit_code == 0 and "valid (1 mapping over 1 target)" in r.stderr, r.stderr


def test_each_reports_every_broken_file_by_its_own_name(esmctl, specs, tmp_path):
    east, west, _ = specs
    broken = spec_file(tmp_path, [{"FunctionName": "f", "EventSourceArn": EAST_QUEUE, "BatchSzie": 5}], "b.yaml")
    r = esmctl("validate", "--each", east, broken, west, "-o", "json")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert doc["valid"] is False and [p.split(":")[0] for p in doc["problems"]] == [broken]
    assert doc["mappings"] is None and doc["warnings"] == []  # not a count of 0 (a review read it so)
    assert "BatchSzie" in r.stderr and r.stderr.endswith("esmctl: error: 1 problem found in the spec\n")


@pytest.mark.parametrize("each", [(), ("--each",)])
def test_validate_refuses_a_spec_for_another_region_as_plan_does(esmctl, specs, each):
    east, west, _ = specs
    r = esmctl("validate", *each, "--region", "eu-west-1", east)
    assert r.exit_code == 1
    assert f"{east}:4:19: region: the spec is for region us-east-1, but --region is eu-west-1" in r.stderr  # its ARN
    assert esmctl("validate", *each, "--region", "eu-west-1", west).exit_code == 0
    assert esmctl("validate", *each, east).exit_code == 0  # AWS_REGION (us-east-1) is only a default
    assert esmctl("--region", "eu-west-1", "validate", *each, east).exit_code == 1


def validate_jobs_mapping(esmctl, tmp_path, lines: str):
    """`esmctl validate` of one SQS mapping of jobs-fn with `lines` more: (the spec's path, the result), exit 1."""
    path = tmp_path / "spec.yaml"
    path.write_text("version: 1\nmappings:\n  - FunctionName: jobs-fn\n"
                    "    EventSourceArn: arn:aws:sqs:us-east-1:123456789012:jobs\n" + lines)
    r = esmctl("validate", str(path))
    assert r.exit_code == 1, r.stderr
    return path, r


def test_tag_keys_and_values_follow_the_models_pattern(esmctl, tmp_path):
    """botocore's TagKey and TagValue pattern, `([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)`, is a Java regex Python's `re`
    cannot compile (Unicode categories): matched by category, so that `,` `;` `{` are refused offline (a review found
    them valid, to fail at TagResource after the run's other changes), and letters of any script pass."""
    path, r = validate_jobs_mapping(esmctl, tmp_path, '    Tags: {owner: "a,b;c", "x{y}": "1", team: "naïve ok", '
                                    'cost: "c-1 ½"}\n')
    assert r.stderr.splitlines()[:2] == [
        f"{path}:5:19: Tags.owner: can hold letters, digits, spaces and _ . : / = + - @ only: 'a,b;c'",
        f"{path}:5:36: Tags.x{{y}}: can hold letters, digits, spaces and _ . : / = + - @ only: 'x{{y}}'"], r.stderr


def test_a_key_without_its_value_is_said_once(esmctl, tmp_path):
    """A placeholder without a value in a key is one problem, "no value for ${…}": not also the checks of what the
    unfilled key would name (an unknown parameter, a tag key's characters), which a review found said beside it."""
    _, r = validate_jobs_mapping(esmctl, tmp_path, '    Tags: {"${TEAM_KEY}": orders}\n    ${F}: 10\n')
    assert [line.split(": ", 2)[2] for line in r.stderr.splitlines()[:-1]] == [
        "no value for ${TEAM_KEY}: pass --var TEAM_KEY=... or set it in the environment",
        "no value for ${F}: pass --var F=... or set it in the environment"], r.stderr


def test_a_number_yaml_reads_otherwise_than_it_looks_is_a_warning(esmctl, tmp_path):
    """YAML 1.1 reads 010 as 8 and 1:30 as 90, a value from --var too: said where it was written (and by plan), as
    the filters' checks say theirs; 0x10, 1_000 and 12 are what they look, and nothing is said of them."""
    path = tmp_path / "spec.yaml"
    path.write_text("version: 1\ndefaults:\n  MaximumBatchingWindowInSeconds: 0x10\nmappings:\n"
                    "  - FunctionName: orders-fn\n"
                    "    EventSourceArn: arn:aws:kinesis:us-east-1:123456789012:stream/orders\n"
                    "    StartingPosition: LATEST\n    BatchSize: 010\n    TumblingWindowInSeconds: 1:30\n"
                    "    MaximumRetryAttempts: ${N}\n    MaximumRecordAgeInSeconds: 1_000\n"
                    "    ParallelizationFactor: 07\n")  # 7 read either way: nothing to say
    r = esmctl("validate", str(path), "--var", "N=010")
    assert r.exit_code == 0, r.stderr
    assert r.stderr.splitlines() == [
        f"{path}:8:16: warning: BatchSize: 010 is read by YAML 1.1 as 8 (octal): write 8, or the number meant",
        f"{path}:9:30: warning: TumblingWindowInSeconds: 1:30 is read by YAML 1.1 as 90 (base 60): write 90, or the "
        "number meant",
        f"{path}:10:27: warning: MaximumRetryAttempts: 010 is read by YAML 1.1 as 8 (octal): write 8, or the number "
        "meant",
        f"{path}: valid (1 mapping)"]
    assert esmctl("validate", str(path), "--var", "N=10").stderr.count("warning") == 2


def test_a_spec_in_two_regions_is_said_where_the_second_is_written(esmctl, tmp_path):
    """One run works in one region: the problem is at the ARN (or the file's `region:`) that names another, beside
    where the first is written (it was said at the files' names alone); a file without `region:` is held to
    another file's."""
    two = spec_file(tmp_path, [{"FunctionName": "jobs-fn", "EventSourceArn": EAST_QUEUE},
                               {"FunctionName": "jobs-fn", "EventSourceArn": WEST_QUEUE}], "two.yaml")
    r = esmctl("validate", two)
    assert r.exit_code == 1 and r.stderr.splitlines()[0] == (
        f"{two}:6:19: EventSourceArn: is in eu-west-1, but {two}:4:19 is in us-east-1: one run works in one region; "
        "split the spec, or set region:"), r.stderr
    east = spec_file(tmp_path, [], "r1.yaml", region="us-east-1")
    west = spec_file(tmp_path, [], "r2.yaml", region="eu-west-1")
    r = esmctl("validate", east, west)
    assert r.exit_code == 1 and r.stderr.splitlines()[0] == (
        f"{west}:2:9: region: eu-west-1, but {east}:2:9 says us-east-1: one run works in one region"), r.stderr
    r = esmctl("validate", east, spec_file(tmp_path, [{"FunctionName": "jobs-fn", "EventSourceArn": WEST_QUEUE}],
                                           "w.yaml"))
    assert r.exit_code == 1 and "EventSourceArn: is in eu-west-1, but the spec's region is us-east-1" in r.stderr
    kafka = {"FunctionName": "arn:aws:lambda:eu-west-1:123456789012:function:f", "Topics": ["orders"],
             "SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["b-1.example.com:9092"]}},
             "StartingPosition": "LATEST"}  # no source ARN: its function's region is held to the spec's
    r = esmctl("validate", spec_file(tmp_path, [kafka], "k.yaml", region="us-east-1"))
    assert r.exit_code == 1 and "FunctionName: is in eu-west-1, but the spec's region is us-east-1" in r.stderr


def test_a_pattern_longer_than_the_model_allows_is_said_once(esmctl, tmp_path):
    """As the model says it (written as YAML, its JSON text is what counts); it was said twice, two ways."""
    long = "a" * 4100
    path, r = validate_jobs_mapping(esmctl, tmp_path, "    FilterCriteria:\n      Filters:\n"
                                    f'        - Pattern: {{body: {{x: ["{long}"]}}}}\n'
                                    f"""        - Pattern: '{{"body": {{"x": ["{long}"]}}}}'\n""")
    assert r.exit_code == 1
    assert [line.split(": ", 2)[2] for line in r.stderr.splitlines()] == [
        "has 4119 characters; the maximum is 4096 (allowed: 0–4096)",
        "has 4121 characters; the maximum is 4096 (allowed: 0–4096)", "2 problems found in the spec"], r.stderr
