"""What `validate` (and every command that reads a spec or a targets file) finds offline, before any call:
values of the wrong type, source ARNs that can never work, regions that do not exist, and messages that name
the right thing. The endpoint refuses every connection (see conftest)."""

from __future__ import annotations

import os
import re
import textwrap

import pytest

from esmctl import kinds, schema, servicemodel
from esmctl.mapping import compare, defaults, requests
from tests.helpers import client
from tests.reported import BROKER, CLUSTER, DLQ, DOCDB_CLUSTER, QUEUE, SECRET, STREAM, desired, live
from tests.test_fleet import fleet, seeded_fleet  # noqa: F401 - the fixtures: 3 accounts × 2 regions


def write(tmp_path, text: str, name: str = "spec.yaml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def one_mapping(tmp_path, body: str, name: str = "spec.yaml") -> str:
    """A spec of one mapping of function f whose other keys are `body` (indented as a mapping's keys)."""
    body = textwrap.indent(textwrap.dedent(body), "    ")
    return write(tmp_path, "version: 1\nmappings:\n  - FunctionName: f\n" + body, name)


# -- wrong types --------------------------------------------------------------------------------------
@pytest.mark.parametrize("body, expected", [
    ("EventSourceArn: [a, b]\nStartingPosition: LATEST\n", "4:5: EventSourceArn: must be a string, not a list"),
    ("EventSourceArn: 12\n", "4:5: EventSourceArn: must be a string, not a number 12"),
    ("EventSourceArn: {a: 1}\n", "4:5: EventSourceArn: must be a string, not a mapping"),
    ("SelfManagedEventSource:\n  Endpoints: [a]\nTopics: [topic]\n",
     "5:18: SelfManagedEventSource.Endpoints: must be a mapping, not a list"),
    ("SelfManagedEventSource: x\nTopics: [topic]\n", "4:5: SelfManagedEventSource: must be a mapping, not a string"),
    ("EventSourceArn: arn:aws:rds:us-east-1:123456789012:cluster:c\nDocumentDBEventSourceConfig: text\n",
     "5:5: DocumentDBEventSourceConfig: must be a mapping, not a string"),
    ("EventSourceArn: arn:aws:kafka:us-east-1:123456789012:cluster/c/1\nTopics: topic\nStartingPosition: LATEST\n",
     "5:5: Topics: must be a list, not a string"),
    ("EventSourceArn: arn:aws:sqs:us-east-1:123456789012:q\nSourceAccessConfigurations: [x]\n",
     "5:34: SourceAccessConfigurations[0]: must be a mapping, not a string"),
])
def test_wrong_typed_values_are_spec_errors_with_their_place(esmctl, tmp_path, body, expected):
    path = one_mapping(tmp_path, body)
    r = esmctl("validate", path)
    assert r.exit_code == 1
    assert "unexpected" not in r.stderr
    assert f"{path}:{expected}" in r.stderr
    assert r.stderr.endswith("found in the spec\n")


def test_a_wrong_typed_value_is_said_once(esmctl, tmp_path):
    """Not also as the required value it fails to be (`EventSourceArn: is required`)."""
    path = one_mapping(tmp_path, "EventSourceArn: [a, b]\n")
    r = esmctl("validate", path)
    assert r.exit_code == 1
    assert r.stderr.count("EventSourceArn") == 1, r.stderr


# -- source ARNs that can never work ------------------------------------------------------------------
@pytest.mark.parametrize("body, expected", [
    ("EventSourceArn: arn:aws:kinesis:us-east-1:123456789012:orders\nStartingPosition: LATEST\n",
     "4:5: EventSourceArn: is not a Kinesis stream's ARN: its resource part is stream/NAME "
     "(arn:aws:kinesis:us-east-1:123456789012:stream/orders?)"),
    ("EventSourceArn: arn:aws:dynamodb:us-east-1:123456789012:table/orders\nStartingPosition: LATEST\n",
     "4:5: EventSourceArn: this is the table's ARN; a mapping reads its stream: "
     "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/<label> (the table's LatestStreamArn)"),
    ("EventSourceArn: arn:aws:dynamodb:us-east-1:123456789012:orders\nStartingPosition: LATEST\n",
     "4:5: EventSourceArn: is not a DynamoDB stream's ARN: its resource part is table/TABLE/stream/LABEL"),
    ("EventSourceArn: arn:aws:sqs:us-east-1:123456789012:queue/jobs\n",
     "4:5: EventSourceArn: an SQS queue's ARN ends in the queue's name, without queue/: "
     "arn:aws:sqs:us-east-1:123456789012:jobs"),
])
def test_source_arns_that_can_never_work_are_refused_offline(esmctl, tmp_path, body, expected):
    path = one_mapping(tmp_path, body)
    r = esmctl("validate", path)
    assert r.exit_code == 1
    assert f"{path}:{expected}\n" in r.stderr


@pytest.mark.parametrize("arn", [
    "arn:aws:kinesis:us-east-1:123456789012:stream/orders",
    "arn:aws:kinesis:us-east-1:123456789012:stream/orders/consumer/c:1700000000",
    "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2024-01-01T00:00:00.000",
])
def test_stream_arns_of_every_form_pass(esmctl, tmp_path, arn):
    path = one_mapping(tmp_path, f"EventSourceArn: '{arn}'\nStartingPosition: LATEST\n")
    r = esmctl("validate", path)
    assert r.exit_code == 0, r.stderr


def test_mapping_create_refuses_a_table_arn_before_any_call(esmctl, box):
    r = esmctl("mapping", "create", "--function", "orders-fn", "--source",
               "arn:aws:dynamodb:us-east-1:123456789012:table/orders", "--starting-position", "LATEST")
    assert r.exit_code in (1, 252)
    assert "this is the table's ARN; a mapping reads its stream" in r.stderr
    assert sum(box.proxy.calls.values()) == 0


# -- regions ------------------------------------------------------------------------------------------
SPEC_OF_A_TARGET = """\
version: 1
region: ${REGION}
mappings:
  - FunctionName: jobs-fn
    EventSourceArn: arn:aws:sqs:${REGION}:${ACCOUNT}:jobs
"""


@pytest.mark.parametrize("command", [("list",), ("status",), ("doctor",), ("export",)])
def test_an_unknown_region_flag_is_a_usage_error_before_any_call(esmctl, box, command):
    r = esmctl(*command, "--region", "us-east-7")
    assert r.exit_code == 252, r.stderr
    assert "'us-east-7' is not an AWS region (did you mean us-east-" in r.stderr
    assert sum(box.proxy.calls.values()) == 0


def test_a_region_botocore_knows_is_taken(esmctl, box):
    r = esmctl("list", "--region", "ap-southeast-2", "-o", "json")
    assert r.exit_code == 0, r.stderr


def test_an_unknown_region_in_region_order_is_a_usage_error(esmctl, tmp_path):
    targets = write(tmp_path, "version: 1\ntargets:\n  - {account: '111111111111', regions: [us-east-1]}\n",
                    "targets.yaml")
    spec = write(tmp_path, SPEC_OF_A_TARGET)
    r = esmctl("plan", spec, "--targets", targets, "--region-order", "us-esat-1")
    assert r.exit_code == 252
    assert "'us-esat-1' is not an AWS region (did you mean us-east-1?)" in r.stderr


def test_an_unknown_spec_region_is_blamed_not_the_arns(esmctl, tmp_path):
    path = write(tmp_path, """\
        version: 1
        region: us-est-1
        mappings:
          - FunctionName: jobs-fn
            EventSourceArn: arn:aws:sqs:us-east-1:123456789012:jobs
        """)
    r = esmctl("validate", path)
    assert r.exit_code == 1
    assert r.stderr == (f"{path}:2:9: region: 'us-est-1' is not an AWS region (did you mean us-east-1?)\n"
                        "esmctl: error: 1 problem found in the spec\n")


def test_an_unknown_region_in_a_source_arn_is_said(esmctl, tmp_path):
    path = one_mapping(tmp_path, "EventSourceArn: arn:aws:sqs:eu-wset-1:123456789012:jobs\n")
    r = esmctl("validate", path)
    assert r.exit_code == 1
    assert f"{path}:4:5: EventSourceArn: 'eu-wset-1' is not an AWS region (did you mean eu-west-1?)" in r.stderr


def test_an_unknown_region_in_a_targets_file_fails_validate(esmctl, tmp_path):
    targets = write(tmp_path, """\
        version: 1
        targets:
          - {account: "111111111111", regions: [us-east-1, eu-wset-1]}
        """, "targets.yaml")
    spec = write(tmp_path, SPEC_OF_A_TARGET)
    r = esmctl("validate", spec, "--targets", targets)
    assert r.exit_code == 1
    assert (f"{targets}:3:52: targets[0].regions[1]: 'eu-wset-1' is not an AWS region (did you mean eu-west-1?)"
            in r.stderr)
    assert r.stderr.endswith("found in the targets file\n")


# -- a misspelt function ------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["list", "export"])
def test_a_function_that_does_not_exist_is_an_error_not_an_empty_answer(esmctl, world, box, command):
    lam = client(box, "lambda", direct=False)
    for queue in ("jobs", "jobs-dlq"):
        lam.create_event_source_mapping(FunctionName="jobs-fn", EventSourceArn=world[queue])
    box.proxy.clear_counts()
    r = esmctl(command, "--function", "nope-fn")
    assert r.exit_code == 1 and r.stdout == ""
    assert r.stderr == "esmctl: error: function nope-fn not found (in us-east-1)\n"
    calls = dict(box.proxy.calls)
    listing = calls.pop("ListEventSourceMappings") + calls.pop("GetCallerIdentity", 0)
    assert listing >= 1 and sum(calls.values()) == 1, calls  # one GetFunction per function named, none per mapping
    r = esmctl(command, "--function", "jobs-fn", "--function" if command == "export" else "--source",
               "jobs-fn:nope-alias" if command == "export" else world["jobs"])
    assert r.exit_code == (1 if command == "export" else 0), r.stderr


def test_a_function_that_exists_without_mappings_still_lists_nothing(esmctl, world, box):
    r = esmctl("list", "--function", "jobs-fn", "-o", "json")
    assert r.exit_code == 0 and '"EventSourceMappings": []' in r.stdout


# -- messages that name the right thing ---------------------------------------------------------------
def test_a_var_without_a_value_is_a_usage_error(esmctl, tmp_path):
    path = write(tmp_path, SPEC_OF_A_TARGET)
    for command in ("validate", "plan"):
        r = esmctl(command, path, "--var", "ACCOUNT")
        assert r.exit_code == 252, (command, r.stderr)
        assert "Invalid value for '--var': 'ACCOUNT': expected NAME=VALUE" in r.stderr
        assert "found in the spec" not in r.stderr
        r = esmctl(command, path, "--var", "team-name=payments")  # no ${…} could use it: it was taken and ignored
        assert r.exit_code == 252, (command, r.stderr)
        assert "Invalid value for '--var': 'team-name=payments': 'team-name' is not a variable name" in r.stderr


@pytest.mark.parametrize("field, body", [
    ("EventSourceArn", "EventSourceArn: arn:aws:sqs:us-east-1:12345:jobs\n"),
    ("DestinationConfig.OnFailure.Destination",
     "EventSourceArn: arn:aws:kinesis:us-east-1:123456789012:stream/s\nStartingPosition: LATEST\n"
     "DestinationConfig: {OnFailure: {Destination: 'arn:aws:sqs:us-east-1:12345:dlq'}}\n"),
    ("FunctionName", "EventSourceArn: arn:aws:sqs:us-east-1:123456789012:jobs\n"),
])
def test_a_bad_account_id_in_an_arn_is_said_in_a_sentence(esmctl, tmp_path, field, body):
    path = one_mapping(tmp_path, body)
    if field == "FunctionName":
        path = write(tmp_path, open(path).read().replace("FunctionName: f", "FunctionName: "
                                                         "arn:aws:lambda:us-east-1:12345:function:f"))
    r = esmctl("validate", path)
    assert r.exit_code == 1
    [line] = [x for x in r.stderr.splitlines() if f" {field}: " in x]
    assert "its account ID '12345' is not 12 digits" in line
    assert "\\d" not in line and len(line.split(f" {field}: ", 1)[1]) < 120, line


def test_schema_check_of_a_targets_file_gives_line_and_column(esmctl, tmp_path):
    pytest.importorskip("jsonschema")
    targets = write(tmp_path, """\
        version: 1
        targets:
          - {account: "12345", regions: [us-east-1]}
        """, "targets.yaml")
    r = esmctl("schema", "--check", targets)
    assert r.exit_code == 1
    assert r.stderr.startswith(f"{targets}:3:15: targets[0].account: '12345' is not valid here: "
                               "The 12-digit AWS account ID")
    assert r.stderr.endswith("1 problem found in the targets file\n")


def test_a_damaged_plan_file_is_said_to_be_one(esmctl, world, box, tmp_path):
    spec = write(tmp_path, f"version: 1\nmappings:\n  - FunctionName: jobs-fn\n    EventSourceArn: {world['jobs']}\n")
    plan = tmp_path / "plan.json"
    assert esmctl("plan", spec, "--out", str(plan)).exit_code == 0
    text = plan.read_text()
    for cut in (5, 12, 200, len(text) // 2, len(text) - 3):
        plan.write_text(text[:cut])
        for command in (("apply", str(plan), "--yes"), ("show", str(plan))):
            r = esmctl(*command)
            assert r.exit_code == 1, (cut, command, r.stderr)
            assert "a damaged plan file" in r.stderr and "plan again" in r.stderr, (cut, command, r.stderr)
            assert "spec" not in r.stderr.replace(spec, ""), (cut, command, r.stderr)
    assert box.proxy.calls["CreateEventSourceMapping"] == 0


def test_show_of_an_edited_plan_says_it_was_edited_not_that_nothing_was_applied(esmctl, world, box, tmp_path):
    spec = write(tmp_path, f"version: 1\nmappings:\n  - FunctionName: jobs-fn\n    EventSourceArn: {world['jobs']}\n")
    plan = tmp_path / "plan.json"
    assert esmctl("plan", spec, "--out", str(plan)).exit_code == 0
    plan.write_text(plan.read_text().replace('"create"', '"delete"', 1))
    r = esmctl("show", str(plan))
    assert r.exit_code == 1
    assert "changed after `plan --out` wrote it" in r.stderr and "nothing applied" not in r.stderr
    r = esmctl("apply", str(plan), "--yes")
    assert r.exit_code == 1 and "changed after `plan --out` wrote it" in r.stderr and "nothing applied" in r.stderr


def test_doctor_over_targets_prints_no_empty_sections(esmctl, box, fleet, tmp_path):  # noqa: F811
    """A target without findings is a row of the targets table, not a heading over nothing."""
    spec, _ = fleet
    targets = write(tmp_path, """\
        version: 1
        defaults: {role: esmctl-deployer, regions: [us-east-1, eu-west-1], variables: {ORDERS_BATCH: 100}}
        targets:
          - {account: "111111111111", name: prod}
          - {account: "222222222222"}
        """, "two.yaml")
    only_queue = write(tmp_path, SPEC_OF_A_TARGET, "queue.yaml")
    assert esmctl("apply", only_queue, "--targets", targets, "--yes").exit_code == 0
    r = esmctl("doctor", only_queue, "--targets", targets)
    assert r.exit_code == 0, r.stdout + r.stderr
    assert "No findings" not in r.stdout
    assert [line for line in r.stdout.splitlines() if line.startswith("== ")] == ["== Targets =="], r.stdout
    assert "4 target(s): 4 healthy." in r.stdout
    r = esmctl("doctor", spec, "--targets", targets)  # the stream's mapping is missing: a finding in each section
    assert r.exit_code == 3 and r.stdout.count("\n== ") + r.stdout.startswith("== ") == 5, r.stdout


# -- the corrected facts (lambda-esm-facts.md, "Corrections") -----------------------------------------
KAFKA_WITH_DESTINATION = (f"EventSourceArn: {CLUSTER}\nTopics: [orders]\nStartingPosition: LATEST\n"
                          f"DestinationConfig: {{OnFailure: {{Destination: '{DLQ}'}}}}\n")


@pytest.mark.parametrize("retries", [11, 500, 10000])
def test_kafka_takes_explicit_retries_over_10_with_a_destination(retries):
    """AWS caps retries at 10 only for infinite retries (-1) with an on-failure destination."""
    params = {"FunctionName": "orders-fn", "EventSourceArn": CLUSTER, "Topics": ["orders"],
              "StartingPosition": "LATEST", "DestinationConfig": {"OnFailure": {"Destination": DLQ}},
              "MaximumRetryAttempts": retries}
    assert [p for p in schema.check_params(params) if p[0] == "MaximumRetryAttempts"] == []
    assert defaults.canonical(params, kinds.MSK)["MaximumRetryAttempts"] == retries
    assert defaults.canonical({**params, "MaximumRetryAttempts": -1}, kinds.MSK)["MaximumRetryAttempts"] == 10


@pytest.mark.parametrize("body, field, kind", [
    (f"EventSourceArn: {DOCDB_CLUSTER}\nDocumentDBEventSourceConfig: {{DatabaseName: db}}\n"
     "FilterCriteria: {Filters: [{Pattern: '{}'}]}\n", "FilterCriteria", "DocumentDB"),
    (f"EventSourceArn: {DOCDB_CLUSTER}\nDocumentDBEventSourceConfig: {{DatabaseName: db}}\n"
     "MetricsConfig: {Metrics: [EventCount]}\n", "MetricsConfig", "DocumentDB"),
    (f"EventSourceArn: '{BROKER}'\nQueues: [jobs]\n"
     f"SourceAccessConfigurations: [{{Type: BASIC_AUTH, URI: '{SECRET}'}}]\nMetricsConfig: {{Metrics: [EventCount]}}\n",
     "MetricsConfig", "Amazon MQ"),
])
def test_fields_a_kind_of_source_does_not_take_are_spec_errors(esmctl, tmp_path, body, field, kind):
    path = one_mapping(tmp_path, body)
    r = esmctl("validate", path)
    assert r.exit_code == 1
    assert f": {field}: is not for {kind} sources" in r.stderr


@pytest.mark.parametrize("body", [
    f"EventSourceArn: {QUEUE}\nMetricsConfig: {{Metrics: [EventCount]}}\n",
    f"EventSourceArn: {STREAM}\nStartingPosition: LATEST\nMetricsConfig: {{Metrics: [EventCount]}}\n",
    KAFKA_WITH_DESTINATION + "MetricsConfig: {Metrics: [EventCount, KafkaMetrics]}\nMaximumRetryAttempts: 100\n",
    f"EventSourceArn: '{BROKER}'\n",  # Queues and SourceAccessConfigurations are optional
    f"EventSourceArn: '{BROKER}'\nQueues: [jobs]\n",
])
def test_what_aws_accepts_validates(esmctl, tmp_path, body):
    path = one_mapping(tmp_path, body)
    r = esmctl("validate", path)
    assert r.exit_code == 0, r.stderr


def test_provisioned_mode_left_by_the_spec_is_not_called_a_one_way_street():
    base = {"EventSourceArn": CLUSTER, "Topics": ["a"], "StartingPosition": "LATEST"}
    comparison = compare.compare(desired(base), live({**base, "ProvisionedPollerConfig": {"MinimumPollers": 2}}))
    notes = " ".join(comparison.notes)
    assert "ProvisionedPollerConfig" in notes and "no way" not in notes and "schema registry" in notes


def test_a_poller_group_dropped_from_the_spec_is_removed_with_an_empty_name():
    base = {"EventSourceArn": CLUSTER, "Topics": ["a"], "StartingPosition": "LATEST"}
    want = desired({**base, "ProvisionedPollerConfig": {"MinimumPollers": 2, "MaximumPollers": 20}})
    have = live({**base, "ProvisionedPollerConfig": {"MinimumPollers": 2, "MaximumPollers": 20,
                                                     "PollerGroupName": "shared"}})
    comparison = compare.compare(want, have)
    [change] = comparison.changes
    assert change.name == "ProvisionedPollerConfig" and change.after["PollerGroupName"] == ""
    assert requests.update_params(want, comparison.changes)["ProvisionedPollerConfig"]["PollerGroupName"] == ""
    gone = live({**base, "ProvisionedPollerConfig": {"MinimumPollers": 2, "MaximumPollers": 20}})
    assert not compare.compare(want, gone).changes  # once AWS removed it, in sync


def test_the_botocore_floor_has_every_field_esmctl_relies_on():
    """pyproject's floor is the first model with Kafka's ConsumptionMode (1.43.123): an older one refuses it."""
    text = open(os.path.join(os.path.dirname(__file__), "..", "pyproject.toml")).read()
    floor = re.search(r'"botocore>=([\d.]+)"', text).group(1)
    assert tuple(map(int, floor.split("."))) >= (1, 43, 123)
    assert floor == servicemodel.MIN_BOTOCORE
    assert re.search(r'"boto3>=([\d.]+)"', text).group(1) == floor
    assert "ConsumptionMode" in servicemodel.input_shape().members["SelfManagedKafkaEventSourceConfig"].members


def test_a_spec_without_version_is_told_to_write_it(esmctl, tmp_path):
    r = esmctl("validate", write(tmp_path, "mappings: []\n"))
    assert r.exit_code == 1
    assert "spec.yaml:1:1: version: is required: write version: 1 at the top" in r.stderr and "None" not in r.stderr
    r = esmctl("validate", write(tmp_path, 'version: "1"\nmappings: []\n'))
    assert r.exit_code == 1 and 'spec.yaml:1:10: version: must be 1, not "1"' in r.stderr


def test_functions_that_do_not_exist_are_said_in_the_order_the_spec_lists_them(esmctl, world, tmp_path):
    body = "".join(f"  - FunctionName: {fn}\n    EventSourceArn: {world['jobs']}\n"
                   for fn in ("zz-missing", "aa-missing:live", f"{world['jobs-fn']}:nope"))
    r = esmctl("plan", write(tmp_path, f"version: 1\nmappings:\n{body}"))
    assert r.exit_code == 1
    lines = [os.path.basename(line.split(": ", 1)[0]) for line in r.stderr.splitlines() if "does not exist" in line]
    assert lines == ["spec.yaml:3:19", "spec.yaml:5:19", "spec.yaml:7:19"], r.stderr  # on FunctionName, in order


def test_a_targets_placeholder_without_a_value_is_one_problem_not_two(esmctl, tmp_path):
    path = write(tmp_path, 'version: 1\nregion: ${REGION}\ntargets:\n'
                           '  - {account: "111111111111", regions: [us-east-1], role: r, external_id: "${EXT}"}\n'
                           'mappings: []\n')
    r = esmctl("validate", path)
    assert r.exit_code == 1
    assert [line.split(": ", 1)[1] for line in r.stderr.splitlines()[:-1]] == [
        "targets[0].external_id: no value for ${EXT}: pass --var EXT=... or set it in the environment"], r.stderr


def test_a_target_without_regions_is_pointed_at_defaults_only_where_there_can_be_some(esmctl, tmp_path):
    targets = write(tmp_path, 'version: 1\ntargets:\n  - {account: "111111111111"}\n', "targets.yaml")
    r = esmctl("validate", write(tmp_path, "version: 1\nmappings: []\n"), "--targets", targets)
    assert "targets[0].regions: is required: a list of regions (here or in defaults)" in r.stderr, r.stderr
    spec = write(tmp_path, 'version: 1\ntargets:\n  - {account: "111111111111"}\nmappings: []\n')
    r = esmctl("validate", spec)
    assert r.exit_code == 1
    assert "targets[0].regions: is required: a list of regions\n" in r.stderr, r.stderr


def targets_problems(text: str) -> list[str]:
    """The problems of a targets file `t.yaml` holding `text`, one line each."""
    from esmctl import targets
    from esmctl.errors import TargetsError

    with pytest.raises(TargetsError) as caught:
        targets.load_targets("t.yaml", text=text)
    return [str(p) for p in caught.value.problems]


def test_a_problem_of_the_targets_defaults_is_said_once_and_hides_no_other():
    """A bad `defaults.variables` is the defaults' problem, said once: it used to count as a problem of every target,
    which then made no target, and two targets the same went unsaid until it was fixed."""
    from esmctl import targets

    text = ('version: 1\ndefaults: {regions: [us-east-1], variables: {BATCH: [1, 2], ACCOUNT: x, QUEUE: jobs}}\n'
            'targets:\n  - {account: "111111111111"}\n  - {account: "111111111111"}\n'
            '  - {account: "222222222222", variables: {Z: [3]}}\n')
    assert targets_problems(text) == [
        "t.yaml:2:53: defaults.variables.BATCH: must be a single value (text, a number or a boolean)",
        "t.yaml:2:61: defaults.variables.ACCOUNT: esmctl sets ACCOUNT for each target",
        "t.yaml:5:5: targets[1]: 111111111111/us-east-1 is the same target as at t.yaml:4:5 (targets of one account "
        "and region need different names)",
        "t.yaml:6:46: targets[2].variables.Z: must be a single value (text, a number or a boolean)"]
    fixed = text.replace("BATCH: [1, 2], ACCOUNT: x, ", "").replace('  - {account: "111111111111"}\n', "", 1)
    fixed = fixed.replace(", variables: {Z: [3]}", ", variables: {QUEUE: other}")
    assert [t.spec_variables({}) for t in targets.load_targets("t.yaml", text=fixed)] == [
        {"QUEUE": "jobs", "ACCOUNT": "111111111111", "REGION": "us-east-1"},
        {"QUEUE": "other", "ACCOUNT": "222222222222", "REGION": "us-east-1"}]


def test_a_targets_variable_yaml_reads_otherwise_than_written_is_a_problem():
    """A variable is text put into the spec: `010` unquoted was 8 to YAML 1.1 and `yes` true, so `BatchSize: ${N}`
    planned 8 without a word (a review); quoted, or written as meant, it is what it says."""
    from esmctl import targets

    text = ('version: 1\ndefaults: {regions: [us-east-1], variables: {N: 010, M: yes, K: 10, S: "010"}}\n'
            'targets:\n  - {account: "111111111111", variables: {T: 1:30}}\n')
    assert targets_problems(text) == [
        "t.yaml:2:49: defaults.variables.N: 010 is read by YAML 1.1 as 8: quote it or write 8",
        "t.yaml:2:57: defaults.variables.M: \"yes\" is read by YAML 1.1 as true: quote it ('yes') or write true",
        "t.yaml:4:46: targets[0].variables.T: 1:30 is read by YAML 1.1 as 90: quote it or write 90"]
    fixed = text.replace("N: 010, M: yes", "N: '010', M: true").replace("T: 1:30", "T: '1:30'")
    [target] = targets.load_targets("t.yaml", text=fixed)
    assert {k: v for k, v in target.spec_variables({}).items() if k in "NMKST"} == {
        "N": "010", "M": "true", "K": "10", "S": "010", "T": "1:30"}
