"""`esmctl validate`: every problem at once, each with FILE:LINE:COL and the field; offline."""

from __future__ import annotations

import textwrap

import pytest

from esmctl import yamldoc

GOOD = """\
version: 1
defaults:
  MaximumRetryAttempts: 3
mappings:
  - FunctionName: orders-fn
    EventSourceArn: arn:aws:kinesis:us-east-1:123456789012:stream/orders
    StartingPosition: TRIM_HORIZON
    FilterCriteria:
      Filters:
        - Pattern: {data: {type: [order]}}
  - FunctionName: jobs-fn
    EventSourceArn: arn:aws:sqs:us-east-1:123456789012:jobs
    MaximumRetryAttempts: null   # unset the default: not for SQS
    BatchSize: ${JOBS_BATCH}
"""


def write(tmp_path, text: str, name: str = "spec.yaml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


@pytest.fixture
def offline(monkeypatch):
    """Nothing to talk to: validate must not need it."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")


def test_valid_spec_offline(esmctl, tmp_path, offline, box):
    path = write(tmp_path, GOOD)
    r = esmctl("validate", path, "--var", "JOBS_BATCH=5")
    assert r.exit_code == 0, r.stderr
    assert "valid (2 mappings)" in r.stderr
    assert sum(box.proxy.calls.values()) == 0


def test_placeholder_from_environment_and_missing(esmctl, tmp_path, offline, monkeypatch):
    path = write(tmp_path, GOOD)
    monkeypatch.setenv("JOBS_BATCH", "7")
    assert esmctl("validate", path).exit_code == 0
    monkeypatch.delenv("JOBS_BATCH")
    r = esmctl("validate", path)
    assert r.exit_code == 1
    assert f"{path}:14:16: mappings[1].BatchSize: no value for ${{JOBS_BATCH}}" in r.stderr


def test_every_problem_with_its_line(esmctl, tmp_path, offline):
    path = write(tmp_path, """\
        version: 1
        defaults:
          BatchSzie: 4
        mappings:
          - FunctionName: orders-fn
            EventSourceArn: arn:aws:kinesis:us-east-1:123456789012:stream/orders
            StartingPosition: LATST
            BatchSize: 50000
            MaximumRecordAgeInSeconds: 30
            FilterCriteria:
              Filters:
                - Pattern: '{"data": '
          - FunctionName: jobs-fn
            EventSourceArn: arn:aws:sqs:us-east-1:123456789012:jobs
            BatchSize: 100
            ParallelizationFactor: 2
          - FunctionName: orders-fn
            EventSourceArn: arn:aws:kinesis:us-east-1:123456789012:stream/orders
            StartingPosition: LATEST
          - FunctionName: audit-fn
            EventSourceArn: arn:aws:kinesis:eu-west-1:123456789012:stream/orders
            Enabled: "yes"
        """)
    r = esmctl("validate", path)
    assert r.exit_code == 1
    lines = r.stderr.splitlines()
    expected = [
        f"{path}:3:3: defaults.BatchSzie: unknown parameter (did you mean BatchSize?)",
        f"{path}:7:5: StartingPosition: must be one of TRIM_HORIZON, LATEST, AT_TIMESTAMP, not 'LATST' "
        "(did you mean LATEST?)",
        f"{path}:8:5: BatchSize: is 50000; the maximum is 10000 (allowed: 1–10000)",
        f"{path}:9:5: MaximumRecordAgeInSeconds: is 30; use -1 (no limit) or 60–604800",
        f"{path}:12:20: FilterCriteria.Filters[0].Pattern: is not valid JSON",
        f"{path}:16:5: ParallelizationFactor: is not for SQS sources (only Kinesis, DynamoDB)",
        f"{path}:17:5: mapping: the same mapping as at {path}:5:5 (same function and source): Lambda allows one "
        "mapping of each",
        f"{path}:22:5: Enabled: must be true or false, not a string 'yes'",
    ]
    for want in expected:
        assert any(line.startswith(want) for line in lines), (want, lines)
    assert any("MaximumBatchingWindowInSeconds: must be at least 1 when BatchSize (100)" in x for x in lines)
    assert any(x.startswith(f"{path}:20:5: StartingPosition: is required for a Kinesis source") for x in lines)
    assert lines[-1] == f"esmctl: error: {len(lines) - 1} problems found in the spec"
    assert "Traceback" not in r.stderr


def test_function_and_source_in_different_regions(esmctl, tmp_path, offline):
    path = write(tmp_path, """\
        version: 1
        region: us-east-1
        mappings:
          - FunctionName: arn:aws:lambda:us-east-1:123456789012:function:audit-fn
            EventSourceArn: arn:aws:kinesis:eu-west-1:123456789012:stream/orders
            StartingPosition: LATEST
        """)
    r = esmctl("validate", path)
    assert r.exit_code == 1
    assert f"{path}:5:5: EventSourceArn: is in eu-west-1" in r.stderr
    assert "same region" in r.stderr


def test_unsafe_yaml_and_alias_bombs_are_refused(esmctl, tmp_path, offline):
    path = write(tmp_path, "version: 1\nmappings: !!python/object/apply:os.system ['echo pwned']\n")
    r = esmctl("validate", path)
    assert r.exit_code == 1 and "pwned" not in r.stdout
    assert f"{path}:2:11: mappings: unsupported tag !!python/object/apply:os.system" in r.stderr
    bomb = ["version: 1", "a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        bomb.append(f"{chr(97 + i)}: &{chr(97 + i)} [" + ", ".join([f"*{chr(96 + i)}"] * 10) + "]")
    bomb.append("mappings: [*i]")
    path = write(tmp_path, "\n".join(bomb) + "\n", "bomb.yaml")
    r = esmctl("validate", path)
    assert r.exit_code == 1
    assert "alias bomb" in r.stderr


def test_oversized_and_missing_files(esmctl, tmp_path, offline):
    path = tmp_path / "big.yaml"
    path.write_text("# " + "x" * yamldoc.MAX_BYTES + "\n")
    r = esmctl("validate", str(path))
    assert r.exit_code == 1 and f"{path}:1:1: spec: more than 33554432 bytes (32 MiB), the limit" in r.stderr
    r = esmctl("validate", str(tmp_path / "nope.yaml"))
    assert r.exit_code == 1 and "cannot read" in r.stderr
    for command in ("validate", "plan", "diff", "apply", "status", "doctor"):  # a directory: the same, not usage
        r = esmctl(command, str(tmp_path))
        assert r.exit_code == 1 and f"{tmp_path}:1:1: spec: cannot read: Is a directory" in r.stderr, command


def test_structure_errors(esmctl, tmp_path, offline):
    path = write(tmp_path, "version: 2\nmapings: []\n")
    r = esmctl("validate", path)
    assert r.exit_code == 1
    assert f"{path}:1:10: version: must be 1" in r.stderr
    assert f"{path}:2:1: mapings: unknown top-level key (did you mean mappings?)" in r.stderr
    assert "mappings: is required" in r.stderr
    path = write(tmp_path, "version: 1\nmappings:\n  - FunctionName: [\n", "broken.yaml")
    r = esmctl("validate", path)
    assert r.exit_code == 1 and r.stderr.startswith(f"{path}:4:1: spec: ")


def test_spec_region_wins_over_the_environment_but_not_over_the_flag(esmctl, world, box, tmp_path, monkeypatch):
    path = write(tmp_path, f"""\
        version: 1
        region: us-east-1
        mappings:
          - FunctionName: jobs-fn
            EventSourceArn: {world['jobs']}
        """)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    r = esmctl("plan", path)
    assert r.exit_code == 0, r.stderr
    assert "+ create jobs-fn <- sqs:jobs" in r.stdout
    # the spec's region is planned from its own mappings: once applied, in sync
    assert esmctl("apply", path, "--yes").exit_code == 0
    r = esmctl("diff", path)
    assert r.exit_code == 0 and "No changes" in r.stdout, (r.stdout, r.stderr)
    r = esmctl("--region", "eu-west-1", "plan", path)
    assert r.exit_code == 1 and "the spec is for region us-east-1, but --region is eu-west-1" in r.stderr


def test_a_spec_with_a_problem_asks_nothing_of_aws(esmctl, world, box, tmp_path):
    # checked before anything is asked: no listing, no role, no credentials resolved (with an MFA profile or a
    # credential_process, a typo would otherwise prompt first)
    path = write(tmp_path, f"""\
        version: 1
        mappings:
          - FunctionName: jobs-fn
            EventSourceArn: {world['jobs']}
            BatchSize: lots
        """)
    box.proxy.clear_counts()
    for command in (["plan"], ["diff"], ["apply", "--yes"]):
        r = esmctl(*command, path)
        assert r.exit_code == 1 and f"{path}:5:5: BatchSize" in r.stderr, r.stderr
    assert box.proxy.calls == {}


def test_names_and_arns_are_checked_against_the_model_patterns(esmctl, tmp_path, offline):
    path = write(tmp_path, """\
        version: 1
        mappings:
          - FunctionName: "orders fn"
            EventSourceArn: kinesis-orders
            StartingPosition: LATEST
        """)
    r = esmctl("validate", path)
    assert r.exit_code == 1
    assert f"{path}:3:5: FunctionName: is not a function name, name:alias or function ARN: 'orders fn'" in r.stderr
    assert f"{path}:4:5: EventSourceArn: is not an ARN: 'kinesis-orders'" in r.stderr


def test_duplicate_keys_are_errors_not_last_one_wins(esmctl, tmp_path, offline):
    """A duplicated `mappings:` block used to replace the first, and --prune then deleted its mappings."""
    path = write(tmp_path, """\
        version: 1
        mappings:
          - FunctionName: orders-fn
            EventSourceArn: arn:aws:sqs:us-east-1:123456789012:jobs
            BatchSize: 5
            BatchSize: 6
        mappings:
          - FunctionName: audit-fn
            EventSourceArn: arn:aws:sqs:us-east-1:123456789012:jobs
        """)
    r = esmctl("validate", path)
    assert r.exit_code == 1
    assert f"{path}:6:5: mappings[0].BatchSize: duplicate key (first at line 5)" in r.stderr
    assert f"{path}:7:1: mappings: duplicate key (first at line 2)" in r.stderr


def test_yaml_1_1_readings_in_filter_patterns_are_errors(esmctl, tmp_path, offline):
    path = write(tmp_path, """\
        version: 1
        mappings:
          - FunctionName: orders-fn
            EventSourceArn: arn:aws:sqs:us-east-1:123456789012:jobs
            FilterCriteria:
              Filters:
                - Pattern: {body: {answer: [NO], flag: [on], mode: [0755], day: [2024-01-01], ok: [true, 7]}}
        """)
    r = esmctl("validate", path)
    assert r.exit_code == 1 and "Traceback" not in r.stderr
    lines = r.stderr.splitlines()
    assert f"{path}:7:37: FilterCriteria.Filters[0].Pattern.body.answer[0]: \"NO\" is read by YAML 1.1 as false: " \
           "quote it ('NO') or write false" in lines
    assert any("Pattern.body.flag[0]: \"on\" is read by YAML 1.1 as true" in x for x in lines)
    assert any("Pattern.body.mode[0]: 0755 is read by YAML 1.1 as 493" in x for x in lines)
    assert any("Pattern.body.day[0]: 2024-01-01 is read as a date: quote it" in x for x in lines)
    assert not any("ok" in x for x in lines)  # true and 7 mean the same in JSON
    assert lines[-1] == "esmctl: error: 4 problems found in the spec"


def test_recursive_alias_and_placeholders_in_merges(esmctl, tmp_path, offline):
    path = write(tmp_path, "version: 1\nmappings: &m [*m]\n")
    r = esmctl("validate", path)
    assert r.exit_code == 1 and "recursive alias" in r.stderr and "RecursionError" not in r.stderr
    path = write(tmp_path, """\
        version: 1
        base: &base
          BatchSize: ${BATCH}
        """.replace("base: &base", "defaults: &base"), "merge.yaml")
    path = write(tmp_path, """\
        version: 1
        mappings:
          - &queue
            FunctionName: jobs-fn
            EventSourceArn: arn:aws:sqs:us-east-1:123456789012:jobs
            BatchSize: ${BATCH}
          - <<: *queue
            FunctionName: audit-fn
        """, "merge.yaml")
    r = esmctl("validate", path, "--var", "BATCH=8")
    assert r.exit_code == 0, r.stderr


def test_timestamps_in_any_form_and_at_timestamp_for_kafka_and_documentdb(esmctl, tmp_path, offline):
    path = write(tmp_path, """\
        version: 1
        mappings:
          - FunctionName: orders-fn
            EventSourceArn: arn:aws:kinesis:us-east-1:123456789012:stream/orders
            StartingPosition: AT_TIMESTAMP
            StartingPositionTimestamp: 2024-01-01
          - FunctionName: audit-fn
            EventSourceArn: arn:aws:kinesis:us-east-1:123456789012:stream/orders
            StartingPosition: AT_TIMESTAMP
            StartingPositionTimestamp: "2024-01-01T02:00:00+02:00"
          - FunctionName: jobs-fn
            EventSourceArn: arn:aws:kafka:us-east-1:123456789012:cluster/c/0a1b2c3d-1
            Topics: [orders]
            StartingPosition: AT_TIMESTAMP
            StartingPositionTimestamp: 1704067200
          - FunctionName: jobs-fn
            EventSourceArn: arn:aws:rds:us-east-1:123456789012:cluster:docs
            DocumentDBEventSourceConfig: {DatabaseName: orders}
            StartingPosition: AT_TIMESTAMP
            StartingPositionTimestamp: 2024-01-01T00:00:00Z
          - FunctionName: audit-fn
            EventSourceArn: arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2024-01-01T00:00:00.000
            StartingPosition: AT_TIMESTAMP
            StartingPositionTimestamp: yesterday
        """)
    r = esmctl("validate", path)
    assert r.exit_code == 1
    lines = r.stderr.splitlines()
    assert len(lines) == 4, lines  # the DynamoDB mapping only
    assert any(":23:5: StartingPosition: AT_TIMESTAMP is not for DynamoDB sources" in x for x in lines)
    assert any(":24:5: StartingPositionTimestamp: 'yesterday' is not an ISO 8601 timestamp" in x for x in lines)
    assert any(":24:5: StartingPositionTimestamp: is not for DynamoDB sources" in x for x in lines)


def test_a_consumer_by_name_and_by_arn_are_one_mapping(esmctl, tmp_path, offline):
    path = write(tmp_path, """\
        version: 1
        mappings:
          - FunctionName: orders-fn
            EventSourceArn: arn:aws:kinesis:us-east-1:123456789012:stream/orders
            Consumer: fanout
            StartingPosition: LATEST
          - FunctionName: orders-fn
            EventSourceArn: arn:aws:kinesis:us-east-1:123456789012:stream/orders/consumer/fanout:1700000000
            StartingPosition: LATEST
          - FunctionName: orders-fn
            EventSourceArn: arn:aws:kafka:us-east-1:123456789012:cluster/c/0a1b2c3d-1
            Topics: [orders]
            StartingPosition: LATEST
          - FunctionName: orders-fn
            EventSourceArn: arn:aws:kafka:us-east-1:123456789012:cluster/c/0a1b2c3d-1
            Topics: [payments]
            StartingPosition: LATEST
        """)
    r = esmctl("validate", path)
    assert r.exit_code == 1
    [line, summary] = r.stderr.splitlines()
    assert line == f"{path}:7:5: mapping: the same mapping as at {path}:3:5 (same function and source): " \
                   "Lambda allows one mapping of each"


def test_defaults_apply_where_the_key_is_valid_for_the_source(esmctl, tmp_path, offline):
    path = write(tmp_path, """\
        version: 1
        defaults:
          MaximumRetryAttempts: 3
          ParallelizationFactor: 2
        mappings:
          - FunctionName: orders-fn
            EventSourceArn: arn:aws:kinesis:us-east-1:123456789012:stream/orders
            StartingPosition: LATEST
          - FunctionName: jobs-fn
            EventSourceArn: arn:aws:sqs:us-east-1:123456789012:jobs
        """)
    r = esmctl("validate", path)
    assert r.exit_code == 0, r.stderr


def test_several_files_and_stdin_make_one_spec(esmctl, tmp_path, offline):
    one = write(tmp_path, GOOD, "one.yaml")
    two = """\
version: 1
mappings:
  - FunctionName: jobs-fn
    EventSourceArn: arn:aws:sqs:us-east-1:123456789012:jobs
"""
    r = esmctl("validate", one, "-", "--var", "JOBS_BATCH=5", input=two)
    assert r.exit_code == 1
    assert "<stdin>:3:5: mapping: the same mapping as at" in r.stderr
    r = esmctl("validate", one, "-", "--var", "JOBS_BATCH=5", input=two.replace("jobs-fn", "audit-fn"))
    assert r.exit_code == 0 and "valid (3 mappings)" in r.stderr


def test_a_spec_reads_each_arn_once_and_its_rules_parse_nothing_again(tmp_path, monkeypatch):
    """The checks run as passes over facts made once: three mappings on one stream, with an ARN default, parse each
    distinct ARN text once (it was 19 parses a mapping), and the rules still see them (a table ARN where its stream
    belongs is said, at its place)."""
    from esmctl import arns, entries, spec
    from esmctl.errors import SpecError

    seen: list[str] = []
    parse = arns.parse
    monkeypatch.setattr(entries.arns, "parse", lambda text: seen.append(text) or parse(text))
    stream = "arn:aws:kinesis:us-east-1:123456789012:stream/orders"
    dlq = "arn:aws:sqs:us-east-1:123456789012:dlq"
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
    path = write(tmp_path, f"""\
        version: 1
        defaults:
          DestinationConfig: {{OnFailure: {{Destination: {dlq}}}}}
        mappings:
          - {{FunctionName: a-fn, EventSourceArn: {stream}, StartingPosition: LATEST}}
          - {{FunctionName: b-fn, EventSourceArn: {stream}, StartingPosition: LATEST}}
          - {{FunctionName: c-fn, EventSourceArn: {table}, StartingPosition: LATEST}}
        """)
    with pytest.raises(SpecError) as caught:
        spec.load(path)
    assert sorted(seen) == sorted({stream, dlq, table})
    [problem] = caught.value.problems
    assert (problem.where.line, problem.field) == (7, "EventSourceArn")
    assert "this is the table's ARN" in problem.message


@pytest.mark.parametrize("body, expected", [
    # a qualifier of $LATEST is dropped, and the function's ARN still read (its region here)
    ("mappings:\n- {FunctionName: 'arn:aws:lambda:us-east-7:123456789012:function:f:$LATEST',"
     " EventSourceArn: 'arn:aws:sqs:us-east-7:123456789012:q'}\n",
     ["s.yaml:3:4: FunctionName: 'us-east-7' is not an AWS region (did you mean us-east-1?)",
      "s.yaml:3:78: EventSourceArn: 'us-east-7' is not an AWS region (did you mean us-east-1?)"]),
    # an unknown default is said with no mapping to take it
    ("defaults: {Foo: 1}\nmappings: []\n", ["s.yaml:2:12: defaults.Foo: unknown parameter"]),
    # an empty region is no region
    ("region: ''\nmappings: []\n", ["s.yaml:2:9: region: '' is not an AWS region"]),
    # a Kafka setting of the wrong type is its problem, not a crash
    ("mappings:\n- {FunctionName: f, EventSourceArn: 'arn:aws:sqs:us-east-1:123456789012:q',"
     " SelfManagedKafkaEventSourceConfig: Queue}\n",
     ["s.yaml:3:77: SelfManagedKafkaEventSourceConfig: must be a mapping, not a string"]),
    # two self-managed Kafka entries alike are one mapping, whatever else is wrong with them
    ("mappings:\n" + "- {FunctionName: f, SelfManagedEventSource: {Endpoints: {KAFKA_BOOTSTRAP_SERVERS: [1]}},"
     " Topics: [orders], StartingPosition: LATEST}\n" * 2,
     ["s.yaml:3:84: SelfManagedEventSource.Endpoints.KAFKA_BOOTSTRAP_SERVERS[0]: must be a string, not a number 1",
      "s.yaml:4:3: mapping: the same mapping as at s.yaml:3:3 (same function and source, topic): Lambda allows one "
      "mapping of each",
      "s.yaml:4:84: SelfManagedEventSource.Endpoints.KAFKA_BOOTSTRAP_SERVERS[0]: must be a string, not a number 1"]),
])
def test_what_the_spec_checks_say_in_the_cases_a_review_found(tmp_path, monkeypatch, body, expected):
    """Specs where the one-way checks once said something else than the checks before them (found by a
    differential review over 5,000 specs): each says what it said before (a problem's text may go on)."""
    from esmctl import spec
    from esmctl.errors import SpecError

    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text("version: 1\n" + body)
    with pytest.raises(SpecError) as caught:
        spec.load("s.yaml")
    said = [str(p) for p in caught.value.problems]
    assert len(said) == len(expected) and all(s.startswith(e) for s, e in zip(said, expected, strict=True)), said


def test_the_problems_of_several_files_come_file_by_file_in_the_order_given(tmp_path, monkeypatch):
    from esmctl import spec
    from esmctl.errors import SpecError

    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.yaml").write_text("version: 1\nmappings:\n- {FunctionName: f, BatchSize: 0,"
                                     " EventSourceArn: 'arn:aws:sqs:us-east-1:123456789012:q'}\n")
    (tmp_path / "b.yaml").write_text("version: 1\nregion: 5\nmappings: []\n")
    with pytest.raises(SpecError) as caught:
        spec.load_files(["a.yaml", "b.yaml"])
    assert [p.where.file for p in caught.value.problems] == ["a.yaml", "b.yaml"]
