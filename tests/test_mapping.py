"""`esmctl mapping ...` and `esmctl list` against the emulator, as a user would run them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import click
import jmespath
import pytest
import yaml

from tests.helpers import client


def test_round_trip_create_list_update_disable_enable_get_delete(esmctl, world, box):
    r = esmctl("mapping", "create", "--function", "orders-fn", "--source", world["orders"],
               "--starting-position", "LATEST", "--batch-size", "200", "-o", "json")
    assert r.exit_code == 0, r.stderr
    created = json.loads(r.stdout)
    uuid = created["UUID"]
    assert created["BatchSize"] == 200 and created["StartingPosition"] == "LATEST"
    assert created["FunctionArn"] == world["orders-fn"]

    listed = esmctl("list", "-o", "json")
    assert [m["UUID"] for m in json.loads(listed.stdout)["EventSourceMappings"]] == [uuid]
    table = esmctl("list")
    assert uuid in table.stdout and "kinesis:orders" in table.stdout and "orders-fn" in table.stdout

    r = esmctl("mapping", "update", uuid, "--batch-size", "50", "--maximum-retry-attempts", "3",
               "--on-failure", world["orders-dlq"], "-o", "json")
    assert r.exit_code == 0, r.stderr
    updated = json.loads(r.stdout)
    assert updated["UUID"] == uuid and updated["BatchSize"] == 50
    assert updated["DestinationConfig"]["OnFailure"]["Destination"] == world["orders-dlq"]

    assert json.loads(esmctl("mapping", "disable", uuid, "-o", "json").stdout)["State"] == "Disabled"
    assert json.loads(esmctl("mapping", "enable", uuid, "-o", "json").stdout)["State"] == "Enabled"

    got = esmctl("mapping", "get", uuid, "-o", "yaml")
    assert yaml.safe_load(got.stdout)["MaximumRetryAttempts"] == 3

    # the AWS CLI sees the same state
    aws = subprocess.run([sys.executable, "-m", "awscli", "lambda", "list-event-source-mappings",
                          "--output", "json"], capture_output=True, text=True, check=True,
                         env={**os.environ, "AWS_DEFAULT_REGION": os.environ["AWS_REGION"]})
    seen = json.loads(aws.stdout)["EventSourceMappings"]
    assert [(m["UUID"], m["BatchSize"], m["State"]) for m in seen] == [(uuid, 50, "Enabled")]

    r = esmctl("mapping", "delete", uuid, "--yes")
    assert r.exit_code == 0, r.stderr
    assert "deleted mapping" in r.stderr
    assert client(box, "lambda").list_event_source_mappings()["EventSourceMappings"] == []


def listed(r) -> list[dict]:
    """The mappings of `list -o json`: ListEventSourceMappings' shape, as the AWS CLI prints it."""
    doc = json.loads(r.stdout)
    assert list(doc) == ["EventSourceMappings"], doc
    return doc["EventSourceMappings"]


def test_list_matches_any_spelling_of_the_function(esmctl, world, box):
    lam = client(box, "lambda")
    by_name = lam.create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=world["orders"],
                                              StartingPosition="LATEST")["UUID"]
    by_arn = lam.create_event_source_mapping(FunctionName=world["orders-fn"], EventSourceArn=world["jobs"])["UUID"]
    lam.create_event_source_mapping(FunctionName="audit-fn", EventSourceArn=world["orders"],
                                    StartingPosition="LATEST")
    for spelling in ("orders-fn", world["orders-fn"], "123456789012:function:orders-fn"):
        r = esmctl("list", "--function", spelling, "-o", "json")
        assert r.exit_code == 0, r.stderr
        assert sorted(m["UUID"] for m in listed(r)) == sorted([by_name, by_arn]), spelling
    r = esmctl("mapping", "list", "--source", world["jobs"], "-o", "json")
    assert [m["UUID"] for m in listed(r)] == [by_arn]
    audit = [m["UUID"] for m in listed(esmctl("list", "--function", "audit-fn", "-o", "json"))]
    # --function repeats, as on status, doctor, export and pause (the last one alone was listed)
    r = esmctl("list", "--function", "orders-fn", "--function-name", "audit-fn", "-o", "json")
    assert sorted(m["UUID"] for m in listed(r)) == sorted([by_name, by_arn, *audit])
    r = esmctl("list", "--function", "orders-fn", "--function", "no-such-fn")
    assert r.exit_code == 1 and "function no-such-fn not found" in r.stderr, r.stderr


def test_list_follows_pages(esmctl, world, box):
    box.proxy.page_size = 2
    lam = client(box, "lambda")
    made = [lam.create_event_source_mapping(FunctionName=fn, EventSourceArn=src, StartingPosition="LATEST")["UUID"]
            for fn in ("orders-fn", "audit-fn", "jobs-fn") for src in (world["orders"], world["clicks"])]
    r = esmctl("list", "-o", "json")
    assert sorted(m["UUID"] for m in listed(r)) == sorted(made)
    assert box.proxy.calls["ListEventSourceMappings"] == 3


def test_create_waits_through_creating(esmctl, world, box):
    box.proxy.transitional_views = 3
    r = esmctl("mapping", "create", "--function", "orders-fn", "--source", world["orders"],
               "--starting-position", "TRIM_HORIZON", "-o", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["State"] == "Enabled"
    assert box.proxy.calls["GetEventSourceMapping"] == 4  # three Creating, then Enabled


def test_no_wait_returns_the_transitional_state(esmctl, world, box):
    box.proxy.transitional_views = 3
    r = esmctl("mapping", "create", "--function", "orders-fn", "--source", world["orders"],
               "--starting-position", "LATEST", "--no-wait", "-o", "json")
    assert r.exit_code == 0
    assert json.loads(r.stdout)["State"] == "Creating"
    assert box.proxy.calls["GetEventSourceMapping"] == 0


def test_wait_times_out_with_the_state(esmctl, world, box):
    """The state it was last seen in, also when --timeout ran out before the first look at it (0 does every time;
    a busy machine can for 0.2 s): one look then, not "last seen: unknown"."""
    box.proxy.transitional_views = 10_000
    for timeout, source in (("0", world["orders"]), ("0.2", world["clicks"])):
        r = esmctl("mapping", "create", "--function", "orders-fn", "--source", source,
                   "--starting-position", "LATEST", "--timeout", timeout)
        assert r.exit_code == 1
        assert "timed out" in r.stderr and "(last seen: Creating)" in r.stderr, r.stderr
        assert "Traceback" not in r.stderr


def test_duplicate_create_is_a_clear_conflict(esmctl, world):
    args = ("mapping", "create", "--function", "orders-fn", "--source", world["orders"],
            "--starting-position", "LATEST")
    assert esmctl(*args).exit_code == 0
    r = esmctl(*args)
    assert r.exit_code == 1
    assert r.stderr.count("\n") == 1
    assert "ResourceConflictException" in r.stderr and "already exists" in r.stderr


def test_unknown_uuid_is_not_found_for_every_command(esmctl, world):
    missing = "00000000-0000-0000-0000-000000000000"
    for args in (("get", missing), ("update", missing, "--batch-size", "5"), ("enable", missing),
                 ("disable", missing), ("delete", missing, "--yes")):
        r = esmctl("mapping", *args)
        assert r.exit_code == 1, args
        assert r.stderr.strip() == f"esmctl: error: mapping {missing} not found", args


def test_unknown_uuid_on_aws_answers_404(world, box):
    """The fidelity layer answers like AWS (moto says 200 {}), so esmctl's own check is not the only guard."""
    import botocore.exceptions
    import pytest

    with pytest.raises(botocore.exceptions.ClientError) as info:
        client(box, "lambda", direct=False).update_event_source_mapping(UUID="0" * 8 + "-0000-0000-0000-" + "0" * 12,
                                                                        BatchSize=5)
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_unknown_function(esmctl, world):
    r = esmctl("mapping", "create", "--function", "nope-fn", "--source", world["orders"],
               "--starting-position", "LATEST")
    assert r.exit_code == 1
    assert "creating mapping of nope-fn" in r.stderr and "Function not found" in r.stderr
    assert "Traceback" not in r.stderr


def test_bad_flags_are_usage_errors_and_send_nothing(esmctl, world, box):
    cases = [
        ("--batch-size", "20000"),  # over botocore's maximum
        ("--batch-size", "ten"),
        ("--starting-position", "EARLIEST"),
        ("--maximum-record-age", "30"),  # the service refuses 0-59
        ("--parallelization-factor", "11"),
    ]
    for extra in cases:
        r = esmctl("mapping", "create", "--function", "orders-fn", "--source", world["orders"], *extra)
        assert r.exit_code == 252, (extra, r.stderr)
        assert "Traceback" not in r.stderr
    # SQS rules the model does not hold
    r = esmctl("mapping", "create", "--function", "jobs-fn", "--source", world["jobs"], "--batch-size", "100")
    assert r.exit_code == 252 and "MaximumBatchingWindowInSeconds" in r.stderr
    r = esmctl("mapping", "create", "--function", "jobs-fn", "--source", world["jobs"], "--starting-position", "LATEST")
    assert r.exit_code == 252 and "StartingPosition" in r.stderr
    r = esmctl("mapping", "create", "--function", "orders-fn", "--source", world["orders"])
    assert r.exit_code == 252 and "StartingPosition: is required" in r.stderr
    assert box.proxy.calls["CreateEventSourceMapping"] == 0


def test_delete_refuses_without_yes_when_not_a_terminal(esmctl, world, box):
    uuid = client(box, "lambda").create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=world["orders"],
                                                             StartingPosition="LATEST")["UUID"]
    r = esmctl("mapping", "delete", uuid)
    assert r.exit_code == 1
    assert "--yes" in r.stderr
    assert box.proxy.calls["DeleteEventSourceMapping"] == 0
    assert client(box, "lambda").get_event_source_mapping(UUID=uuid)["UUID"] == uuid


def test_delete_waits_until_gone(esmctl, world, box):
    uuid = client(box, "lambda").create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=world["orders"],
                                                             StartingPosition="LATEST")["UUID"]
    box.proxy.transitional_views = 2
    r = esmctl("mapping", "delete", uuid, "--yes")
    assert r.exit_code == 0, r.stderr
    assert box.proxy.calls["GetEventSourceMapping"] >= 3  # Deleting, Deleting, gone


def creating(esmctl, world, box, views: int) -> str:
    """A mapping that stays Creating for `views` reads (and refuses changes meanwhile, as AWS does)."""
    box.proxy.transitional_views = views
    r = esmctl("mapping", "create", "--function", "orders-fn", "--source", world["orders"],
               "--starting-position", "LATEST", "--no-wait", "-o", "json")
    assert json.loads(r.stdout)["State"] == "Creating"
    return json.loads(r.stdout)["UUID"]


def test_update_while_creating_with_no_wait_is_explained(esmctl, world, box):
    uuid = creating(esmctl, world, box, 50)
    r = esmctl("mapping", "update", uuid, "--batch-size", "5", "--no-wait")
    assert r.exit_code == 1
    assert f"updating mapping {uuid}" in r.stderr and "ResourceInUseException" in r.stderr


@pytest.mark.parametrize("command", [("update", "--batch-size", "5"), ("disable",)])
def test_update_while_creating_waits_and_tries_again(esmctl, world, box, command):
    uuid = creating(esmctl, world, box, 3)
    r = esmctl("mapping", command[0], uuid, *command[1:], "-o", "json")
    assert r.exit_code == 0, r.stderr
    # refused while Creating, then done; a disable waits first (whether it ran decides what its pause mark means)
    assert box.proxy.calls["UpdateEventSourceMapping"] == (2 if command[0] == "update" else 1)
    m = client(box, "lambda", direct=False).get_event_source_mapping(UUID=uuid)
    want = (5, "Enabled") if command[0] == "update" else (100, "Disabled")
    assert (m["BatchSize"], m["State"]) == want


def test_delete_while_creating_waits_and_tries_again(esmctl, world, box):
    """Deleting a mapping just created failed at once with ResourceInUse; apply waited. Now delete waits too."""
    uuid = creating(esmctl, world, box, 3)
    r = esmctl("mapping", "delete", uuid, "--yes")
    assert r.exit_code == 0, r.stderr
    assert r.stderr.strip().endswith(f"deleted mapping {uuid} (orders-fn <- kinesis:orders)")
    assert box.proxy.calls["DeleteEventSourceMapping"] == 2
    assert client(box, "lambda", direct=False).list_event_source_mappings()["EventSourceMappings"] == []


def test_delete_while_creating_with_no_wait_or_out_of_time_fails_in_one_line(esmctl, world, box):
    uuid = creating(esmctl, world, box, 10_000)
    r = esmctl("mapping", "delete", uuid, "--yes", "--no-wait")
    assert r.exit_code == 1 and f"deleting mapping {uuid}" in r.stderr and "ResourceInUseException" in r.stderr
    # the same words whether --timeout ran out before the first refusal came back or while waiting after it (a
    # busy machine took the first path for 0.3 s, and the test failed in CI): 0 takes the first path every time
    for timeout in ("0", "0.3"):
        r = esmctl("mapping", "delete", uuid, "--yes", "--timeout", timeout)
        assert r.exit_code == 1 and "Traceback" not in r.stderr
        assert f"timed out waiting for {uuid} to be settled (last seen: Creating): it is busy" in r.stderr, r.stderr
    assert len(client(box, "lambda", direct=False).list_event_source_mappings()["EventSourceMappings"]) == 1


def test_throttling_is_retried(esmctl, world, box, instant_backoff):
    box.proxy.force_throttle = 2
    r = esmctl("list", "-o", "json")
    assert r.exit_code == 0, r.stderr
    assert box.proxy.throttled["ListEventSourceMappings"] == 2


def test_create_from_cli_input_yaml_with_filters_and_tags(esmctl, world, tmp_path, box):
    extra = tmp_path / "extra.yaml"
    extra.write_text(f"TumblingWindowInSeconds: 60\nBatchSize: 7\nDestinationConfig:\n"
                     f"  OnFailure: {{Destination: {world['orders-dlq']}}}\n")
    r = esmctl("mapping", "create", "--function", "orders-fn", "--source", world["orders"],
               "--starting-position", "LATEST", "--cli-input-yaml", str(extra), "--batch-size", "9",
               "--filter", '{"data": {"type": ["order"]}}', "--report-batch-item-failures",
               "--tag", "team=orders", "-o", "json")
    assert r.exit_code == 0, r.stderr
    m = json.loads(r.stdout)
    assert m["BatchSize"] == 9 and m["TumblingWindowInSeconds"] == 60
    assert json.loads(m["FilterCriteria"]["Filters"][0]["Pattern"]) == {"data": {"type": ["order"]}}
    assert m["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    tags = client(box, "lambda").list_tags(Resource=m["EventSourceMappingArn"])["Tags"]
    assert tags == {"team": "orders"}


def test_unreachable_endpoint_is_one_sentence(esmctl_process):
    r = esmctl_process("list", env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1"})
    assert r.exit_code == 1
    assert r.stderr.startswith("esmctl: error: listing mappings: cannot reach http://127.0.0.1:9")
    assert "Traceback" not in r.stderr


def test_missing_credentials_is_one_sentence(esmctl_process):
    env = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}
    r = esmctl_process("list", env=env)
    assert r.exit_code == 1
    assert "no AWS credentials found" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow
def test_subprocess_list_and_verbose_traceback(esmctl_process, world, box):
    client(box, "lambda").create_event_source_mapping(FunctionName="jobs-fn", EventSourceArn=world["jobs"])
    r = esmctl_process("list", "-o", "json")
    assert r.exit_code == 0
    assert listed(r)[0]["EventSourceArn"] == world["jobs"]
    r = esmctl_process("list")  # piped: a plain table, no box drawing
    assert r.stdout.splitlines()[0].split() == ["UUID", "FUNCTION", "SOURCE", "STATE", "BATCH", "START", "LAST",
                                                "RESULT"]
    r = esmctl_process("--verbose", "mapping", "get", "x" * 36, env={"AWS_MAX_ATTEMPTS": "1"})
    assert r.exit_code == 1


def test_usage_errors_exit_252(esmctl):
    # 2 means "changes found" (diff): a usage error must not look like drift to a CI gate
    assert esmctl("mapping", "create", "--function", "f").exit_code == 252
    assert esmctl("list", "--bogus").exit_code == 252
    assert esmctl("-o", "xml", "list").exit_code == 252


@pytest.mark.parametrize("argv", [[], ["mapping"], ["consumer"]])
def test_a_group_without_a_command_shows_its_help_as_a_usage_error(esmctl_process, argv):
    """`esmctl` alone: the help on stderr and the usage code, not the help inside an `esmctl: error:` line with a
    hint glued to its last row (a review saw that)."""
    r = esmctl_process(*argv)
    assert r.exit_code == 252 and r.stdout == ""
    assert r.stderr.startswith("Usage: esmctl" + "".join(f" {a}" for a in argv) + " [OPTIONS] COMMAND [ARGS]...\n")
    assert "esmctl: error" not in r.stderr and "(see '" not in r.stderr


def test_help_does_not_import_boto3_or_rich():
    code = ("import sys; from esmctl.cli import cli\n"
            "try:\n    cli(['--help'], standalone_mode=False)\nexcept SystemExit: pass\n"
            "bad = [m for m in ('boto3', 'botocore', 'rich', 'yaml', 'tabulate') if m in sys.modules]\n"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_help_lists_every_command_as_click_would_without_importing_it():
    code = ("import sys; from esmctl.cli import cli\n"
            "try:\n    cli(['--help'], standalone_mode=False)\nexcept SystemExit: pass\n"
            "loaded = [m for m in sys.modules if m.startswith('esmctl.commands.')]\n"
            "assert not loaded, loaded")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)

    from esmctl.cli import COMMANDS, cli
    from esmctl.commands import consumer, filter, health, mapping, pause, sandbox, spec, tools

    defined = spec.COMMANDS + consumer.COMMANDS + health.COMMANDS + tools.COMMANDS + pause.COMMANDS + \
        filter.COMMANDS + [mapping.group, mapping.list_cmd, sandbox.sandbox]
    assert {c.name for c in defined} == set(COMMANDS)
    ctx = click.Context(cli)
    for width in (40, 80, 200):  # the short help from COMMANDS is what click makes from the command's own help
        ours, clicks = click.HelpFormatter(width=width), click.HelpFormatter(width=width)
        cli.format_commands(ctx, ours)
        click.Group.format_commands(cli, ctx, clicks)
        assert ours.getvalue() == clicks.getvalue()


def test_delete_asks_at_a_terminal(world, box):
    """A real pseudo-terminal: `n` keeps the mapping, `y` deletes it."""
    import pty

    uuid = client(box, "lambda").create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=world["orders"],
                                                             StartingPosition="LATEST")["UUID"]
    exe = os.path.join(os.path.dirname(sys.executable), "esmctl")
    for answer, code in (("n", 1), ("y", 0)):
        master, slave = pty.openpty()
        proc = subprocess.Popen([exe, "mapping", "delete", uuid], stdin=slave, stdout=slave, stderr=slave,
                                env=os.environ, close_fds=True)
        os.close(slave)
        seen = b""
        while b"[y/N]" not in seen:
            seen += os.read(master, 1024)
        assert b"cannot be recovered" in seen
        os.write(master, answer.encode() + b"\n")
        assert proc.wait(timeout=60) == code
        os.close(master)
        remaining = [m["UUID"] for m in client(box, "lambda").list_event_source_mappings()["EventSourceMappings"]]
        assert remaining == ([uuid] if answer == "n" else [])


def test_update_reads_once_to_check_and_once_to_wait(esmctl, world, box):
    uuid = client(box, "lambda").create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=world["orders"],
                                                             StartingPosition="LATEST")["UUID"]
    assert esmctl("mapping", "update", uuid, "--batch-size", "7").exit_code == 0
    # one read to check the change against the kind of source, one to wait
    assert (box.proxy.calls["UpdateEventSourceMapping"], box.proxy.calls["GetEventSourceMapping"]) == (1, 2)
    r = esmctl("mapping", "update", uuid, "--function", "nope-fn")
    assert r.exit_code == 1 and "not found" in r.stderr and f"mapping {uuid} not found" not in r.stderr


def test_unknown_profile_is_one_sentence(esmctl_process):
    r = esmctl_process("--profile", "nope", "list")
    assert r.exit_code == 1
    assert r.stderr.strip() == "esmctl: error: opening the AWS session: AWS profile not found: nope"


def test_an_update_is_checked_against_the_kind_of_source_before_anything_is_sent(esmctl, world, box, tmp_path):
    lam = client(box, "lambda", direct=False)
    queue = lam.create_event_source_mapping(FunctionName="jobs-fn", EventSourceArn=world["jobs"])["UUID"]
    stream = lam.create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=world["orders"],
                                             StartingPosition="LATEST")["UUID"]
    box.proxy.clear_counts()
    refused = [
        (queue, ["--parallelization-factor", "5"], "ParallelizationFactor: is not for SQS sources"),
        (queue, ["--maximum-retry-attempts", "5"], "MaximumRetryAttempts: is not for SQS sources"),
        (queue, ["--batch-size", "50"], "MaximumBatchingWindowInSeconds: must be at least 1"),
        (stream, ["--maximum-concurrency", "5"], "ScalingConfig: is not for Kinesis sources"),
        (stream, ["--filter", "{not json"], "FilterCriteria.Filters[0].Pattern: is not valid JSON"),
        (stream, ["--maximum-record-age", "30"], "MaximumRecordAgeInSeconds: is 30; use -1"),
        (stream, ["--clear-filters", "--filter", '{"a": [1]}'], "set the same thing"),
        (stream, ["--on-failure", world["orders-dlq"], "--destination-config", "{}"], "set the same thing"),
    ]
    for uuid, extra, message in refused:
        r = esmctl("mapping", "update", uuid, *extra)
        assert r.exit_code == 252 and message in r.stderr, (extra, r.stderr)
    assert box.proxy.writes() == 0
    # the window already set on the mapping counts
    lam.update_event_source_mapping(UUID=queue, MaximumBatchingWindowInSeconds=2)
    assert esmctl("mapping", "update", queue, "--batch-size", "50").exit_code == 0
    extra = tmp_path / "update.yaml"
    extra.write_text(f"UUID: {stream}\nBatchSize: 11\n")
    r = esmctl("mapping", "update", "--cli-input-yaml", str(extra), "-o", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["BatchSize"] == 11
    r = esmctl("mapping", "update", queue, "--cli-input-yaml", str(extra))
    assert r.exit_code == 252 and "two different UUIDs" in r.stderr


def test_aws_cli_habits(esmctl, world, box, monkeypatch):
    """The AWS CLI's option names, and the global options after the subcommand."""
    r = esmctl("mapping", "create", "--function-name", "jobs-fn", "--event-source-arn", world["jobs"],
               "--batch-size", "20", "--maximum-batching-window-in-seconds", "1", "--function-response-types",
               "ReportBatchItemFailures", "--no-enabled", "-o", "json")
    assert r.exit_code == 0, r.stderr
    created = json.loads(r.stdout)
    assert (created["BatchSize"], created["MaximumBatchingWindowInSeconds"], created["State"]) == (20, 1, "Disabled")
    r = esmctl("mapping", "get", "--uuid", created["UUID"], "-o", "json")
    assert json.loads(r.stdout)["UUID"] == created["UUID"]
    r = esmctl("list", "--function-name", "jobs-fn", "--region", "us-east-1", "--endpoint-url", box.url, "-o", "json")
    assert r.exit_code == 0 and [m["UUID"] for m in listed(r)] == [created["UUID"]]
    r = esmctl("list", "--region", "eu-west-1", "-o", "json")  # nothing there
    assert r.exit_code == 0 and listed(r) == []
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # nothing listens there: no retries to wait for
    r = esmctl("list", "--endpoint-url", "http://127.0.0.1:9", "--region", "us-east-1")
    assert r.exit_code == 1 and "cannot reach http://127.0.0.1:9" in r.stderr


def test_global_options_after_every_command_and_group(esmctl, world, box):
    r = esmctl("mapping", "--region", "eu-west-1", "list", "-o", "json")  # a group takes them too
    assert r.exit_code == 0 and listed(r) == []
    r = esmctl("consumer", "--no-color", "list", "--stream", "orders", "-o", "json")
    assert r.exit_code == 0 and json.loads(r.stdout) == {"Consumers": []}
    import yaml

    schema = esmctl("schema", "-o", "yaml")
    assert schema.exit_code == 0 and yaml.safe_load(schema.stdout)["$schema"].endswith("2020-12/schema")
    assert esmctl("completion", "bash", "--region", "us-east-1", "--no-color").exit_code == 0
    assert esmctl("sandbox", "-v", "--no-color", "--help").exit_code == 0


def test_no_color_in_any_spelling(esmctl, world, box, monkeypatch):
    for value in ("1", "yes", "true", "anything"):
        monkeypatch.setenv("NO_COLOR", value)
        r = esmctl("list")
        assert r.exit_code == 0, (value, r.stderr)
        assert "\x1b[" not in r.stdout + r.stderr


def test_update_on_failure_empty_removes_the_destination_as_aws_accepts(esmctl, world, box):
    lam = client(box, "lambda", direct=False)
    dlq = {"OnFailure": {"Destination": world["orders-dlq"]}}
    uuid = lam.create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=world["orders"],
                                           StartingPosition="LATEST", DestinationConfig=dlq)["UUID"]
    r = esmctl("mapping", "update", uuid, "--on-failure", "", "-o", "json")
    assert r.exit_code == 0, r.stderr  # the layer refuses {"OnFailure": {}}, as AWS does
    assert json.loads(r.stdout)["DestinationConfig"] == {"OnFailure": {}}
    assert box.proxy.bodies["UpdateEventSourceMapping"][-1]["DestinationConfig"] == {"OnFailure": {"Destination": ""}}


def one_clear_line(stderr: str) -> str:
    """The line that says what is wrong: never "unexpected …", never a traceback."""
    assert "Traceback" not in stderr and "unexpected" not in stderr, stderr
    [line] = [line for line in stderr.splitlines() if line.startswith(("Error: ", "esmctl: error: "))]
    return line


@pytest.mark.parametrize("args", [("--endpoint-url", "notaurl", "list"), ("list", "--endpoint-url", "notaurl"),
                                  ("list", "--endpoint-url", "ftp://127.0.0.1:4566"),
                                  ("status", "--endpoint-url", "http://127.0.0.1:99999")])
def test_a_bad_endpoint_url_is_a_usage_error(esmctl, args):
    r = esmctl(*args)
    assert r.exit_code == 252
    assert "is not an endpoint URL: give http(s)://HOST[:PORT]" in one_clear_line(r.stderr)


def test_a_bad_aws_endpoint_url_variable_is_a_usage_error(esmctl, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "notaurl")
    r = esmctl("list")
    assert r.exit_code == 252
    assert one_clear_line(r.stderr) == ("esmctl: error: 'notaurl' is not an endpoint URL (--endpoint-url, "
                                        "AWS_ENDPOINT_URL): give http(s)://HOST[:PORT], e.g. http://127.0.0.1:4566")


def test_a_setting_botocore_cannot_read_is_an_error_of_the_configuration_not_of_the_endpoint(esmctl, monkeypatch,
                                                                                                tmp_path):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "abc")
    r = esmctl("list")
    assert r.exit_code == 1, r.stderr  # not 252: the command line is right (a review saw "not an endpoint URL")
    line = one_clear_line(r.stderr)
    assert "the AWS configuration cannot be used" in line and "'abc'" in line and "endpoint" not in line
    monkeypatch.delenv("AWS_MAX_ATTEMPTS")
    config = tmp_path / "config"
    config.write_text("[profile cp]\nregion = us-east-1\ncredential_process = echo not-json\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(key)
    r = esmctl("--profile", "cp", "list")
    assert r.exit_code == 1 and "the AWS configuration cannot be used" in one_clear_line(r.stderr), r.stderr


@pytest.mark.slow
def test_list_json_and_query_are_the_aws_clis(esmctl, world, box, tmp_path):
    """`list -o json` is the AWS CLI's document, and --query picks from it the same way."""
    lam = client(box, "lambda")
    lam.create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=world["orders"], StartingPosition="LATEST",
                                    BatchSize=7)
    lam.create_event_source_mapping(FunctionName="jobs-fn", EventSourceArn=world["jobs"], Enabled=False)

    def aws(*args: str):
        r = subprocess.run([sys.executable, "-m", "awscli", "lambda", "list-event-source-mappings", "--output", "json",
                            *args], capture_output=True, text=True, check=True,
                           env={**os.environ, "AWS_DEFAULT_REGION": os.environ["AWS_REGION"]})
        return json.loads(r.stdout)

    r = esmctl("list", "-o", "json")
    theirs = aws()
    assert r.exit_code == 0 and list(json.loads(r.stdout)) == list(theirs) == ["EventSourceMappings"]
    assert [m["UUID"] for m in listed(r)] == [m["UUID"] for m in theirs["EventSourceMappings"]]
    first = "EventSourceMappings[].[UUID, State, BatchSize]"
    assert json.loads(esmctl("list", "--query", first).stdout) == aws("--query", first)
    # the AWS CLI's --query is JMESPath over the document it printed: the other queries over `theirs` (an AWS CLI
    # run is ~0.5 s of CPU)
    for query in ("EventSourceMappings[?State=='Enabled'].UUID", "length(EventSourceMappings)",
                  "EventSourceMappings[0].FunctionArn"):
        r = esmctl("list", "--query", query)  # JSON, as the AWS CLI prints it, without -o
        assert r.exit_code == 0 and json.loads(r.stdout) == jmespath.search(query, theirs), query
    r = esmctl("--query", "EventSourceMappings[].BatchSize", "list", "-o", "yaml")
    assert sorted(yaml.safe_load(r.stdout)) == [7, 10]
    # every command's JSON or YAML document, not only list's
    r = esmctl("status", "--query", "[?Healthy].FunctionArn")
    assert r.exit_code == 3 and json.loads(r.stdout) == [world["orders-fn"]]  # jobs-fn is Disabled
    r = esmctl("mapping", "get", listed(esmctl("list", "-o", "json"))[0]["UUID"], "--query", "BatchSize")
    assert r.stdout.strip() in ("7", "10")
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({"version": 1, "mappings": [{"FunctionName": "jobs-fn",
                                                                "EventSourceArn": world["jobs"]}]}))
    assert json.loads(esmctl("validate", str(spec), "--query", "valid").stdout) is True
    assert json.loads(esmctl("export", "--query", "length(mappings)").stdout) == 2


@pytest.mark.parametrize("args,error", [
    (("list", "--query", "EventSourceMappings[?"), "'EventSourceMappings[?' is not a JMESPath expression: it ends "
                                                   "too soon"),
    (("list", "--query", "UUID", "-o", "table"), "--query applies to -o json or -o yaml, not to -o table"),
    (("-o", "markdown", "list", "--query", "UUID"), "--query applies to -o json or -o yaml, not to -o markdown"),
    (("--query", "UUID", "list", "-o", "table"), "--query applies to -o json or -o yaml, not to -o table"),
])
def test_a_bad_query_is_a_usage_error(esmctl, args, error):
    r = esmctl(*args)
    assert r.exit_code == 252 and error in one_clear_line(r.stderr)


def test_the_thin_commands_check_filter_patterns_as_a_spec_does(esmctl, world, box):
    """`--filter` is checked for the mapping's kind of source before anything is sent: a malformed pattern is a
    usage error (a review made one with `mapping create` that `export` then wrote and `diff` refused), a pattern on a
    key the records do not have is a warning; `update` checks against the live mapping's kind."""
    box.proxy.clear_counts()
    base = ["mapping", "create", "--function", "orders-fn", "--source", world["orders"],
            "--starting-position", "LATEST"]
    r = esmctl(*base, "--filter", '{"data": 1}')
    assert r.exit_code == 252 and "FilterCriteria.Filters[0].Pattern.data: must be a list of rules" in r.stderr
    assert box.proxy.writes() == 0
    r = esmctl(*base, "--filter", '{"body": {"a": ["x"]}}', "-o", "json")
    assert r.exit_code == 0 and "warning: FilterCriteria.Filters[0].Pattern.body: Kinesis records have no `body`" \
        in r.stderr
    r = esmctl("mapping", "update", json.loads(r.stdout)["UUID"], "--filter", '{"data": 1}')
    assert r.exit_code == 252 and "Pattern.data: must be a list of rules" in r.stderr
    assert box.proxy.writes() == 1  # the one create


def test_create_refuses_a_file_that_names_a_mapping(esmctl, world, box, tmp_path):
    """A --cli-input-yaml meant for `update` (its UUID: names the mapping) given to `create` is a usage error, as any
    field create does not take: it made a new mapping beside the one the file names (the AWS CLI: Unknown parameter
    in input: "UUID")."""
    path = tmp_path / "in.yaml"
    path.write_text("UUID: 00000000-0000-0000-0000-000000000000\nBatchSize: 7\n")
    box.proxy.clear_counts()
    r = esmctl("mapping", "create", "--function", "orders-fn", "--source", world["orders"], "--starting-position",
               "LATEST", "--cli-input-yaml", str(path))
    assert r.exit_code == 252 and "UUID: unknown field" in r.stderr and box.proxy.writes() == 0


def test_a_cli_input_yaml_problem_is_said_at_its_file_line_and_column(esmctl, world, box, tmp_path):
    """--cli-input-yaml is read as a spec is: a repeated key is a problem (it was the last one, silently), and a
    value AWS would refuse is said where the file wrote it; nothing is sent."""
    path = tmp_path / "in.yaml"
    create = ["mapping", "create", "--function", "orders-fn", "--source", world["orders"], "--starting-position",
              "LATEST", "--cli-input-yaml", str(path)]
    box.proxy.clear_counts()
    path.write_text("BatchSize: 7\nBatchSize: 70\n")
    r = esmctl(*create)
    assert r.exit_code == 252 and f"{path}:2:1: BatchSize: " in r.stderr and "Traceback" not in r.stderr, r.stderr
    path.write_text("TumblingWindowInSeconds: 60\nDestinationConfig:\n  OnFailure:\n    Destination: 12\n")
    r = esmctl(*create)
    assert r.exit_code == 252 and f"{path}:4:18: DestinationConfig.OnFailure.Destination" in r.stderr, r.stderr
    path.write_text("BatchSize: [7\n")
    r = esmctl(*create)
    assert r.exit_code == 252 and r.stderr.startswith(f"esmctl: error: {path}:"), r.stderr
    path.write_text("BatchSize: 0\n")  # an option given for it wins, and is not said to be in the file
    r = esmctl(*create, "--batch-size", "0")
    assert r.exit_code == 252 and f"{path}:" not in r.stderr and "BatchSize" in r.stderr, r.stderr
    path.write_text("- BatchSize: 7\n")
    r = esmctl(*create)
    assert r.exit_code == 252 and "expected a mapping of API parameters" in r.stderr, r.stderr
    pattern = '{"data": {"note": ["${HOME}", "$${HOME}", "${user.name}"]}}'  # text, each as written
    path.write_text(f"FilterCriteria: {{Filters: [{{Pattern: '{pattern}'}}]}}\n")  # the AWS CLI fills no ${NAME}
    r = esmctl(*create, "-o", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["FilterCriteria"]["Filters"] == [{"Pattern": pattern}]
    assert box.proxy.calls["CreateEventSourceMapping"] == 1


@pytest.mark.parametrize("command", [["list"], ["status"], ["doctor"], ["export"], ["pause", "--yes"]])
def test_a_source_that_is_not_an_arn_is_a_usage_error(esmctl, world, box, command):
    """--source takes ARNs: a typo is said (252), not answered "No mappings found" with exit 0."""
    r = esmctl(*command, "--source", "not-an-arn")
    assert r.exit_code == 252 and "'not-an-arn' is not an ARN" in r.stderr, r.stderr
    r = esmctl(*command, "--source", "kafka://b1:9092")  # what a plan names it by, but nothing is selected by it
    assert r.exit_code == 252 and "has no source ARN to select it by: select it with --function" in r.stderr


def test_a_query_that_cannot_run_is_a_usage_error_before_anything_is_sent(esmctl, world, box):
    """A --query calling a function JMESPath lacks is refused with the command line (252), before the command writes
    (a review saw `mapping update … --query 'foo(@)'` make the update, then fail as "unexpected"); a query that
    does not fit the output's types is a usage error too, said as one."""
    created = json.loads(esmctl("mapping", "create", "--function", "jobs-fn", "--source", world["jobs"],
                                "-o", "json").stdout)
    box.proxy.clear_counts()
    r = esmctl("mapping", "update", created["UUID"], "--batch-size", "7", "--query", "foo(BatchSize)")
    assert r.exit_code == 252 and "JMESPath has no function foo()" in r.stderr and box.proxy.writes() == 0
    r = esmctl("list", "--query", "length(EventSourceMappings[0].BatchSize)")
    assert r.exit_code == 252 and "In function length(), invalid type for value" in r.stderr
    assert "unexpected" not in r.stderr
    assert json.loads(esmctl("list", "--query", "length(EventSourceMappings)").stdout) == 1


def test_json_parameters_and_patterns_take_file_urls_as_the_aws_cli_does(esmctl, world, tmp_path):
    """`--filter-criteria file://fc.json`, as the Lambda guide's filtering examples write it (a review got "not
    valid JSON"), and `--filter file://pattern.json`."""
    made = json.loads(esmctl("mapping", "create", "--function", "orders-fn", "--source", world["orders"],
                             "--starting-position", "LATEST", "-o", "json").stdout)
    (tmp_path / "fc.json").write_text('{"Filters": [{"Pattern": "{\\"data\\": {\\"a\\": [1]}}"}]}')
    r = esmctl("mapping", "update", made["UUID"], "--filter-criteria", f"file://{tmp_path}/fc.json", "-o", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(json.loads(r.stdout)["FilterCriteria"]["Filters"][0]["Pattern"]) == {"data": {"a": [1]}}
    (tmp_path / "p.json").write_text('{"data": {"b": ["x"]}}\n')
    r = esmctl("mapping", "update", made["UUID"], "--filter", f"file://{tmp_path}/p.json", "-o", "json")
    assert json.loads(json.loads(r.stdout)["FilterCriteria"]["Filters"][0]["Pattern"]) == {"data": {"b": ["x"]}}
    r = esmctl("mapping", "update", made["UUID"], "--filter-criteria", f"file://{tmp_path}/nope.json")
    assert r.exit_code == 252 and f"cannot read {tmp_path}/nope.json" in r.stderr and "Traceback" not in r.stderr
    (tmp_path / "bad.json").write_text("{oops")
    r = esmctl("mapping", "update", made["UUID"], "--filter-criteria", f"file://{tmp_path}/bad.json")
    assert r.exit_code == 252 and f"not valid JSON in {tmp_path}/bad.json" in r.stderr


def test_a_bad_timeout_or_region_is_a_usage_error_and_nothing_is_sent(esmctl, world, box, monkeypatch, tmp_path):
    """A review: `mapping disable UUID --timeout -5` disabled the mapping, then said "timed out" (exit 1); `--region`
    before the subcommand and AWS_REGION were not checked (a typo listed nothing, exit 0)."""
    lam = client(box, "lambda")
    uuid = lam.create_event_source_mapping(FunctionName="jobs-fn", EventSourceArn=world["jobs"])["UUID"]
    box.proxy.clear_counts()
    for command in (["mapping", "disable", uuid], ["mapping", "enable", uuid], ["consumer", "register", "--stream",
                                                                                 world["orders"], "--name", "c"]):
        for bad in ("-5", "nan", "inf"):
            r = esmctl(*command, "--timeout", bad)
            assert r.exit_code == 252 and "finite number of seconds" in r.stderr, (command, bad, r.stderr)
    r = esmctl("--region", "us-east1", "list")
    assert r.exit_code == 252 and "did you mean us-east-1?" in r.stderr, r.stderr
    monkeypatch.setenv("AWS_REGION", "eu-wst-1")
    r = esmctl("list")
    assert r.exit_code == 252 and "AWS_REGION: 'eu-wst-1' is not an AWS region (did you mean eu-west-1?)" in r.stderr
    assert esmctl("list", "--region", "us-east-1").exit_code == 0  # the flag wins over the environment
    monkeypatch.delenv("AWS_REGION")
    config = tmp_path / "config"
    config.write_text("[default]\nregion = us-esat-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    r = esmctl("list")
    assert r.exit_code == 252 and "the AWS profile's region: 'us-esat-1' is not an AWS region (did you mean " \
        "us-east-1?)" in r.stderr, r.stderr
    assert box.proxy.writes() == 0


def test_a_closed_standard_output_is_an_error_before_anything_is_done(world, box):
    """`esmctl list >&-` printed "unexpected AttributeError"; `list -o json >&-` exited 0, its output lost."""
    from tests.helpers import ESMCTL

    for args in ("list", "list -o json", f"mapping create --function jobs-fn --source {world['jobs']}"):
        r = subprocess.run(["bash", "-c", f"{ESMCTL} {args} >&-"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 1 and "standard output is closed" in r.stderr and "unexpected" not in r.stderr, r
    assert box.proxy.writes() == 0


def test_keys_in_the_environment_win_over_aws_profile_as_the_aws_cli_has_it(esmctl, world, box, tmp_path,
                                                                             monkeypatch):
    """AWS_PROFILE was bound to --profile, which made botocore skip AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY: with a
    profile of a region only, "no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID…", both set."""
    client(box, "lambda").create_event_source_mapping(FunctionName="jobs-fn", EventSourceArn=world["jobs"])
    config = tmp_path / "config"
    config.write_text("[profile p2]\nregion = us-east-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_PROFILE", "p2")  # the keys: the fixture's, in the environment
    r = esmctl("list", "-o", "json")
    assert r.exit_code == 0 and len(json.loads(r.stdout)["EventSourceMappings"]) == 1, r.stderr
    monkeypatch.setenv("AWS_PROFILE", "nope")
    r = esmctl("list")
    assert r.exit_code != 0 and "nope" in r.stderr, r.stderr  # a profile that does not exist is still said
    assert esmctl("list", "--profile", "p2").exit_code == 1  # --profile given: its credentials (none), as the CLI's


def test_an_endpoint_that_answers_with_a_web_page_is_an_error_not_an_empty_account(esmctl):
    """A proxy's or captive portal's page answered 200 at the endpoint: botocore read it as an empty reply, so `list`
    said "No mappings found.", `doctor` "No findings" (exit 0), `mapping get` printed nothing (exit 0)."""
    import http.server
    import threading

    class Page(http.server.BaseHTTPRequestHandler):
        body = b""

        def answer(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            body = self.body
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = answer

        def log_message(self, *_args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    pages = [b"<html><body>Sign in to continue</body></html>", b"\xef\xbb\xbf<!DOCTYPE html><html></html>",
             b"<!-- portal -->\n<!DOCTYPE html><html></html>", b'<?xml version="1.0"?><!DOCTYPE html PUBLIC "x">',
             b"<head><title>Proxy</title></head>", b"Access denied by proxy"]
    try:
        for page in pages:
            Page.body = page
            for command in (["list"], ["doctor"], ["mapping", "get", "76d69268-0000-4000-8000-000000000000"]):
                r = esmctl(*command, "--endpoint-url", url)
                assert r.exit_code == 1 and "not an AWS response" in r.stderr and "unexpected" not in r.stderr, \
                    (page, command, r.exit_code, r.stdout, r.stderr)
    finally:
        server.shutdown()
        server.server_close()
