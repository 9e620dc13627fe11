"""`--targets`: plan, diff, apply, status and doctor over 3 accounts × 2 regions of the sandbox.

moto acts in the account of the role an STS AssumeRole named (the AWS-like layer refuses a role that
does not exist there, as AWS does); esmctl assumes each target's role with botocore's own machinery.
"""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest
import yaml

from esmctl.sandbox import server
from tests.helpers import ESMCTL, answer_at_a_terminal, kill_at

ACCOUNTS = ("111111111111", "222222222222", "333333333333")
REGIONS = ("us-east-1", "eu-west-1")
ROLE = "esmctl-deployer"
SPEC = """\
version: 1
region: ${REGION}
mappings:
  - FunctionName: orders-fn
    EventSourceArn: arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/orders
    StartingPosition: TRIM_HORIZON
    BatchSize: ${ORDERS_BATCH}
  - FunctionName: jobs-fn
    EventSourceArn: arn:aws:sqs:${REGION}:${ACCOUNT}:jobs
"""
TARGETS = """\
version: 1
defaults:
  role: esmctl-deployer
  regions: [us-east-1, eu-west-1]
  variables: {ORDERS_BATCH: 100}
targets:
  - {account: "111111111111", name: prod}
  - {account: "222222222222", variables: {ORDERS_BATCH: 200}}
  - {account: "333333333333"}
"""


def seed_account(box, account: str, region: str) -> None:
    """What the spec needs in one account and region: two functions, a stream and a queue (straight to moto)."""
    iam, lam, kinesis, sqs = (server.account_client(box.moto_url, s, region, account)
                              for s in ("iam", "lambda", "kinesis", "sqs"))
    try:
        role = iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        role = iam.get_role(RoleName="fn-role")["Role"]["Arn"]
    iam.put_role_policy(RoleName="fn-role", PolicyName="sources", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
            "kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator",
            "kinesis:ListShards", "kinesis:ListStreams", "sqs:ReceiveMessage", "sqs:DeleteMessage",
            "sqs:GetQueueAttributes"]}]}))
    for fn in ("orders-fn", "jobs-fn"):
        lam.create_function(FunctionName=fn, Runtime="python3.12", Role=role, Handler="handler.handler",
                            Code={"ZipFile": server._zip()})
    kinesis.create_stream(StreamName="orders", ShardCount=1)
    sqs.create_queue(QueueName="jobs")


@pytest.fixture(scope="module")
def seeded_fleet(box):
    """The fleet's accounts seeded once per worker, moto's state kept to restore for each test."""
    box.reset()
    for account in ACCOUNTS:
        for region in REGIONS:
            seed_account(box, account, region)
    for account in ACCOUNTS[:2]:
        server.create_role(box.moto_url, account, ROLE)
    return box.snapshot()


@pytest.fixture
def fleet(box, seeded_fleet, tmp_path):
    """3 accounts × 2 regions; the deployer role exists in the first two accounts only."""
    box.restore(seeded_fleet)
    (tmp_path / "spec.yaml").write_text(SPEC)
    (tmp_path / "targets.yaml").write_text(TARGETS)
    box.proxy.clear_counts()
    return str(tmp_path / "spec.yaml"), str(tmp_path / "targets.yaml")


def live(box, account: str, region: str) -> list[dict]:
    lam = server.account_client(box.url, "lambda", region, account)  # through the layer, as AWS answers
    return [m for page in lam.get_paginator("list_event_source_mappings").paginate()
            for m in page["EventSourceMappings"]]


def document(result) -> dict[str, dict]:
    return {t["target"]: t for t in json.loads(result.stdout)["targets"]}


def test_apply_converges_every_target_but_the_one_whose_role_cannot_be_assumed(esmctl, box, fleet):
    spec, targets = fleet
    r = esmctl("apply", spec, "--targets", targets)
    assert r.exit_code == 1, r.stdout + r.stderr
    assert "2 of 6 target(s) failed: 333333333333/us-east-1, 333333333333/eu-west-1" in r.stderr
    assert "AccessDenied" in r.stdout and f"arn:aws:iam::333333333333:role/{ROLE}" in r.stdout
    for account, batch in (("111111111111", 100), ("222222222222", 200)):
        for region in REGIONS:
            found = {m["EventSourceArn"]: m for m in live(box, account, region)}
            assert set(found) == {f"arn:aws:kinesis:{region}:{account}:stream/orders",
                                  f"arn:aws:sqs:{region}:{account}:jobs"}
            assert found[f"arn:aws:kinesis:{region}:{account}:stream/orders"]["BatchSize"] == batch
    assert all(live(box, "333333333333", region) == [] for region in REGIONS)

    server.create_role(box.moto_url, "333333333333", ROLE)  # access granted: a re-run finishes the job
    box.proxy.clear_counts()
    r = esmctl("apply", spec, "--targets", targets, "-o", "json")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert box.proxy.writes() == box.proxy.calls["CreateEventSourceMapping"] == 4  # only the third account's
    statuses = {t: d["status"] for t, d in document(r).items()}
    assert statuses == {"prod/us-east-1": "ok", "prod/eu-west-1": "ok", "222222222222/us-east-1": "ok",
                        "222222222222/eu-west-1": "ok", "333333333333/us-east-1": "ok",
                        "333333333333/eu-west-1": "ok"}
    assert [len(d["results"]) for d in document(r).values()] == [0, 0, 0, 0, 2, 2]

    box.proxy.clear_counts()
    assert esmctl("apply", spec, "--targets", targets).exit_code == 0
    assert box.proxy.writes() == 0  # converged everywhere: a no-op
    assert esmctl("diff", spec, "--targets", targets).exit_code == 0


def test_exit_codes_follow_the_policy_failure_wins(esmctl, box, fleet, tmp_path):
    spec, targets = fleet
    server.create_role(box.moto_url, "333333333333", ROLE)
    assert esmctl("apply", spec, "--targets", targets).exit_code == 0
    assert esmctl("diff", spec, "--targets", targets).exit_code == 0
    lam = server.account_client(box.url, "lambda", "eu-west-1", "222222222222")
    [m] = [m for m in live(box, "222222222222", "eu-west-1") if ":kinesis:" in m["EventSourceArn"]]
    lam.update_event_source_mapping(UUID=m["UUID"], BatchSize=7)  # drift in one target
    r = esmctl("diff", spec, "--targets", targets, "-o", "json")
    assert r.exit_code == 2
    doc = json.loads(r.stdout)
    assert doc["exitCode"] == 2 and doc["summary"]["changes"] == 1
    assert document(r)["222222222222/eu-west-1"]["plan"]["changes"][0]["fields"]["BatchSize"] == \
        {"before": 7, "after": 200}
    assert esmctl("plan", spec, "--targets", targets).exit_code == 0
    assert esmctl("plan", spec, "--targets", targets, "--detailed-exitcode").exit_code == 2
    # a failure anywhere wins over drift
    (tmp_path / "targets.yaml").write_text(TARGETS + '  - {account: "444444444444", name: nobody, role: nobody}\n')
    r = esmctl("diff", spec, "--targets", targets)
    assert r.exit_code == 1 and "nobody/us-east-1" in r.stderr
    assert "222222222222/eu-west-1  222222222222  eu-west-1  changes" in r.stdout


def test_status_and_doctor_over_targets(esmctl, box, fleet):
    spec, targets = fleet
    server.create_role(box.moto_url, "333333333333", ROLE)
    assert esmctl("apply", spec, "--targets", targets).exit_code == 0
    r = esmctl("status", spec, "--targets", targets, "-o", "json")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert all(len(t["mappings"]) == 2 and t["exitCode"] == 0 for t in document(r).values())
    [m] = [m for m in live(box, "111111111111", "us-east-1") if ":sqs:" in m["EventSourceArn"]]
    server.account_client(box.url, "lambda", "us-east-1", "111111111111").update_event_source_mapping(
        UUID=m["UUID"], Enabled=False)
    r = esmctl("status", spec, "--targets", targets)
    assert r.exit_code == 3, r.stdout + r.stderr
    assert "prod/us-east-1          111111111111  us-east-1  unhealthy" in r.stdout
    r = esmctl("doctor", spec, "--targets", targets, "-o", "json")
    assert r.exit_code == 0 and {t["status"] for t in document(r).values()} == {"ok"}
    assert all(f["check"] == "stalled-shards" for t in document(r).values() for f in t["findings"])
    r = esmctl("doctor", "--function", "no-such-fn", "--targets", targets, "-o", "json")
    assert r.exit_code == 1 and all("no-such-fn not found" in t["error"] for t in document(r).values())


def test_status_and_doctor_of_a_spec_that_names_its_own_targets(esmctl, box, fleet, tmp_path):
    """A spec with `targets:` runs over them for status and doctor as for plan and apply, each target's spec read
    and checked once (a review saw every target fail: status and doctor read the spec again, as one without
    targets)."""
    spec = tmp_path / "own.yaml"
    spec.write_text(SPEC + 'targets:\n  - {account: "111111111111", role: esmctl-deployer, regions: [us-east-1, '
                           'eu-west-1], variables: {ORDERS_BATCH: 100}}\n')
    assert esmctl("apply", str(spec), "--yes").exit_code == 0
    r = esmctl("status", str(spec), "-o", "json")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert {t: len(d["mappings"]) for t, d in document(r).items()} == {"111111111111/us-east-1": 2,
                                                                        "111111111111/eu-west-1": 2}
    r = esmctl("doctor", str(spec), "-o", "json")
    assert r.exit_code == 0 and {d["status"] for d in document(r).values()} == {"ok"}, r.stdout + r.stderr


def test_two_targets_of_one_account_and_region_cannot_ask_for_the_same_mapping(esmctl, box, fleet, tmp_path):
    """Named targets may share an account and region, but not a mapping: each run would undo the other's
    BatchSize (a review saw apply report both in sync, then every diff flip it). Refused before anything is
    asked of AWS, as the same mapping twice in one spec is; told apart by their own mappings, they are fine."""
    spec, _ = fleet
    targets = tmp_path / "twice.yaml"
    targets.write_text('version: 1\ndefaults: {role: esmctl-deployer, regions: [us-east-1]}\ntargets:\n'
                       '  - {account: "111111111111", name: a, variables: {ORDERS_BATCH: 500}}\n'
                       '  - {account: "111111111111", name: b, variables: {ORDERS_BATCH: 200}}\n')
    for command in (["validate"], ["apply", "--yes"]):
        r = esmctl(*command, spec, "--targets", str(targets))
        assert r.exit_code == 1, r.stdout + r.stderr
        assert r.stderr.splitlines()[0] == (f"{spec}:4:5: mapping: targets a/us-east-1 and b/us-east-1 are both in "
                                            "account 111111111111, us-east-1, and both ask for this mapping: Lambda "
                                            "allows one, and each run would undo the other's settings")
    assert box.proxy.writes() == 0 and live(box, "111111111111", "us-east-1") == []
    by_arn = tmp_path / "by-arn.yaml"  # one target names the function, the other gives its ARN: the same mapping
    by_arn.write_text(SPEC.replace("FunctionName: orders-fn", "FunctionName: ${ORDERS_FN}").split(
        "  - FunctionName: jobs-fn")[0])
    targets.write_text(targets.read_text().replace(
        "variables: {ORDERS_BATCH: 500}", "variables: {ORDERS_BATCH: 500, ORDERS_FN: orders-fn}").replace(
        "variables: {ORDERS_BATCH: 200}",
        "variables: {ORDERS_BATCH: 200, ORDERS_FN: 'arn:aws:lambda:us-east-1:111111111111:function:orders-fn'}"))
    r = esmctl("validate", str(by_arn), "--targets", str(targets))
    assert r.exit_code == 1 and "targets a/us-east-1 and b/us-east-1 are both in account" in r.stderr, r.stderr
    targets.write_text(targets.read_text().replace(", ORDERS_FN: orders-fn}", "}").replace(
        ", ORDERS_FN: 'arn:aws:lambda:us-east-1:111111111111:function:orders-fn'}", "}"))
    apart = tmp_path / "apart.yaml"  # each target its own function: allowed
    apart.write_text(SPEC.replace("FunctionName: orders-fn", "FunctionName: ${ORDERS_FN}").split("  - FunctionName: "
                                                                                                  "jobs-fn")[0])
    targets.write_text(targets.read_text().replace("variables: {ORDERS_BATCH: 500}",
                                                   "variables: {ORDERS_BATCH: 500, ORDERS_FN: orders-fn}")
                       .replace("variables: {ORDERS_BATCH: 200}", "variables: {ORDERS_BATCH: 200, ORDERS_FN: jobs-fn}"))
    assert esmctl("validate", str(apart), "--targets", str(targets)).exit_code == 0


def test_failure_tolerance_and_region_order(esmctl, box, fleet):
    spec, targets = fleet
    r = esmctl("plan", spec, "--targets", targets, "--region-order", "eu-west-1,us-east-1", "--max-concurrency", "1",
               "--failure-tolerance", "0", "-o", "json")
    assert r.exit_code == 1
    statuses = {t: d["status"] for t, d in document(r).items()}
    # eu-west-1 first, one at a time: the third account fails there, and nothing more starts
    assert statuses == {"prod/eu-west-1": "changes", "222222222222/eu-west-1": "changes",
                        "333333333333/eu-west-1": "failed", "prod/us-east-1": "skipped",
                        "222222222222/us-east-1": "skipped", "333333333333/us-east-1": "skipped"}
    assert "1 of 6 target(s) failed: 333333333333/eu-west-1; 3 not started" in r.stderr
    r = esmctl("plan", spec, "--targets", targets, "--failure-tolerance", "2")
    assert r.exit_code == 1 and "NOT STARTED" not in r.stdout  # 2 failed: not more than 2
    r = esmctl("plan", spec, "--targets", targets, "--region-order", "us-west-2")
    assert r.exit_code == 252 and "no target is in us-west-2" in r.stderr


def test_external_id_and_session_name_are_sent(esmctl, box, fleet, tmp_path):
    spec, _ = fleet
    server.create_role(box.moto_url, "333333333333", "guarded", external_id="ext-42")
    path = tmp_path / "guarded.yaml"
    for external_id, code in (("wrong-id", 1), ("ext-42", 2)):
        path.write_text(f'version: 1\ntargets:\n  - {{account: "333333333333", regions: [us-east-1], role: guarded, '
                        f'external_id: {external_id}, session_name: ci-run-7, variables: {{ORDERS_BATCH: 5}}}}\n')
        r = esmctl("diff", spec, "--targets", str(path))
        assert r.exit_code == code, r.stdout + r.stderr


def test_a_profile_target_uses_botocores_own_role_handling(esmctl, box, fleet, tmp_path, monkeypatch):
    spec, _ = fleet
    config = tmp_path / "config"
    config.write_text("[profile base]\naws_access_key_id = testing\naws_secret_access_key = testing\n"
                      f"[profile second]\nrole_arn = arn:aws:iam::222222222222:role/{ROLE}\nsource_profile = base\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    path = tmp_path / "profiles.yaml"
    path.write_text('version: 1\ntargets:\n  - {account: "222222222222", regions: [eu-west-1], profile: second, '
                    'variables: {ORDERS_BATCH: 1}}\n  - {account: "111111111111", regions: [eu-west-1], '
                    'profile: second, variables: {ORDERS_BATCH: 1}}\n')
    r = esmctl("diff", spec, "--targets", str(path), "-o", "json")
    assert r.exit_code == 1
    doc = document(r)
    assert doc["222222222222/eu-west-1"]["status"] == "changes"
    assert doc["111111111111/eu-west-1"]["error"] == \
        "the credentials act in account 222222222222, not in 111111111111"  # never the wrong account's


def test_no_credential_is_ever_printed(esmctl, box, fleet, monkeypatch):
    spec, targets = fleet
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFLEETBASEKEY0001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "fleet-base-secret-never-printed")
    outputs = [esmctl("apply", spec, "--targets", targets, "-v", *fmt) for fmt in ((), ("-o", "json"))]
    outputs.append(esmctl("diff", spec, "--targets", targets, "-v", "-o", "yaml"))
    assert [r.exit_code for r in outputs] == [1, 1, 1]  # the third account's role cannot be assumed
    issued = list(box.proxy._key_accounts)  # the keys AssumeRole handed out
    assert len(issued) >= 4
    for r in outputs:
        text = r.stdout + r.stderr
        assert "AWS calls (prod/us-east-1)" in r.stderr
        for secret in ("AKIAFLEETBASEKEY0001", "fleet-base-secret-never-printed", *issued):
            assert secret not in text
        assert "SecretAccessKey" not in text and "SessionToken" not in text


@pytest.mark.slow
def test_kill_9_mid_fleet_apply_then_a_rerun_converges(esmctl, box, fleet):
    spec, targets = fleet
    server.create_role(box.moto_url, "333333333333", ROLE)
    box.proxy.transitional_views = 1
    kill_at(box, [spec, "--targets", targets], "CreateEventSourceMapping", 7, "after")
    r = esmctl("apply", spec, "--targets", targets)
    assert r.exit_code == 0, r.stdout + r.stderr
    assert esmctl("diff", spec, "--targets", targets).exit_code == 0
    for account in ACCOUNTS:
        for region in REGIONS:
            assert sorted(m["EventSourceArn"].split(":")[2] for m in live(box, account, region)) == ["kinesis", "sqs"]


def test_a_bad_targets_file_is_one_line_each_and_nothing_is_sent(esmctl, box, fleet, tmp_path, monkeypatch):
    spec, _ = fleet
    cases = {
        'version: 1\ntargets:\n  - {account: 1234, regions: [us-east-1]}\n':
            "t.yaml:3:15: targets[0].account: 1234 is not a 12-digit AWS account ID",
        'version: 1\ntargets:\n  - {account: "111111111111", regions: [us-east-one]}\n':
            "t.yaml:3:41: targets[0].regions[0]: 'us-east-one' is not a region name",
        'version: 1\ntargets:\n  - {account: "111111111111", regions: [us-east-1], rol: x}\n':
            "t.yaml:3:53: targets[0].rol: unknown field (did you mean role?)",
        'version: 1\ntargets:\n  - account: "111111111111"\n    regions: [us-east-1]\n'
        '    role: arn:aws:iam::222222222222:role/x\n':
            "t.yaml:5:11: targets[0].role: is in account 222222222222, not the target's 111111111111",
        'version: 1\ntargets:\n  - {account: "111111111111", regions: [us-east-1], variables: {REGION: x}}\n':
            "t.yaml:3:65: targets[0].variables.REGION: esmctl sets REGION for each target",
        'version: 1\ntargets:\n  - {account: "111111111111", regions: [us-east-1]}\n'
        '  - {account: "111111111111", regions: [us-east-1]}\n':
            "t.yaml:4:5: targets[1]: 111111111111/us-east-1 is the same target as at t.yaml:3:5",
        'version: 1\ntargets:\n  - {account: "111111111111", regions: [us-east-1], external_id: abc}\n':
            "t.yaml:3:66: targets[0].external_id: goes with role",
        'version: 1\ntargets: [\n':
            "t.yaml:3:1: targets file: ",
        'version: 1\ntargets:\n  - {account: 012345670123, regions: [us-east-1]}\n':
            "t.yaml:3:15: targets[0].account: 012345670123 is read by YAML 1.1 as 1402433619: write the account ID "
            "in quotes",
    }
    monkeypatch.chdir(tmp_path)
    for text, expected in cases.items():
        (tmp_path / "t.yaml").write_text(text)
        r = esmctl("apply", spec, "--targets", "t.yaml", "--yes")
        assert r.exit_code == 1, (text, r.stderr)
        lines = r.stderr.splitlines()
        assert lines[0].startswith(expected), (text, r.stderr)
        assert lines[-1].startswith("esmctl: error: ") and "in the targets file" in lines[-1]
        assert r.stdout == ""
    assert box.proxy.calls == {}


def test_a_spec_problem_of_some_targets_names_them_and_nothing_is_sent(esmctl, box, fleet, tmp_path):
    spec, _ = fleet
    (tmp_path / "t.yaml").write_text('version: 1\ndefaults: {regions: [us-east-1, eu-west-1], role: esmctl-deployer}\n'
                                     'targets:\n  - {account: "111111111111", variables: {ORDERS_BATCH: 5}}\n'
                                     '  - {account: "222222222222"}\n')
    r = esmctl("plan", spec, "--targets", str(tmp_path / "t.yaml"))
    assert r.exit_code == 1
    assert "spec.yaml:7:16: mappings[0].BatchSize: no value for ${ORDERS_BATCH}" in r.stderr
    assert "(targets 222222222222/us-east-1, 222222222222/eu-west-1)" in r.stderr
    (tmp_path / "s.yaml").write_text("version: 1\nregion: us-east-1\nmappings:\n  - {FunctionName: jobs-fn, "
                                     "EventSourceArn: 'arn:aws:sqs:us-east-1:${ACCOUNT}:jobs'}\n")
    r = esmctl("plan", str(tmp_path / "s.yaml"), "--targets", str(tmp_path / "t.yaml"))
    assert r.exit_code == 1
    assert r.stderr.splitlines()[0] == (
        f"{tmp_path / 's.yaml'}:2:9: region: the spec is for us-east-1, not eu-west-1: use region: ${{REGION}} (and "
        "${REGION} in its ARNs) (targets 111111111111/eu-west-1, 222222222222/eu-west-1)")
    assert box.proxy.calls == {}


@pytest.mark.parametrize("args,message", [
    (["--max-concurrency", "2"], "--max-concurrency needs --targets FILE"),
    (["--failure-tolerance", "0"], "--failure-tolerance needs --targets FILE"),
    (["--targets", "T", "--region", "us-east-1"], "--region does not go with --targets"),
    (["--targets", "T", "--var", "ACCOUNT=1"], "--var ACCOUNT: with targets, esmctl sets ACCOUNT"),
    (["--targets", "T", "--max-concurrency", "0"], "Invalid value for '--max-concurrency'"),
])
def test_usage_errors(esmctl, box, fleet, args, message):
    spec, targets = fleet
    r = esmctl("diff", spec, *[targets if a == "T" else a for a in args])
    assert r.exit_code == 252 and message in r.stderr, r.stderr
    r = esmctl("status", "--targets", targets, "--watch")
    assert r.exit_code == 252 and "--watch" in r.stderr


def test_a_saved_plan_with_targets_is_a_usage_error(esmctl, box, fleet, tmp_path):
    """A saved plan is of one account and region: with --targets it is refused as a usage error (252), not read as
    a spec with a dozen problems (exit 1), so that a CI gate tells the typo from a failure (a review found it)."""
    _, targets = fleet
    saved = tmp_path / "plan.json"
    saved.write_text('{"format": "esmctl-plan", "version": 1}\n')
    r = esmctl("apply", str(saved), "--targets", targets, "--yes")
    assert r.exit_code == 252, r.stderr
    assert "a saved plan is of one account and region: `esmctl apply PLAN`, not with targets" in r.stderr
    assert box.proxy.calls == {}


def test_targets_of_one_account_and_region_share_one_pacer(tmp_path):
    from esmctl.context import FleetOptions, Settings
    from esmctl.fleet import Fleet
    from esmctl.targets import load_targets

    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "targets": [
        {"account": "111111111111", "name": "blue", "regions": ["us-east-1", "eu-west-1"], "role": "deployer"},
        {"account": "111111111111", "name": "green", "regions": ["us-east-1"], "profile": "green"},
        {"account": "222222222222", "regions": ["us-east-1"]}]}))
    targets = load_targets(str(path))
    assert [t.id for t in targets] == ["blue/us-east-1", "blue/eu-west-1", "green/us-east-1", "222222222222/us-east-1"]
    assert targets[0].role_arn == "arn:aws:iam::111111111111:role/deployer"
    fleet = Fleet(Settings(fleet=FleetOptions(targets=str(path))), targets)
    pacers = [fleet.settings_for(t).aws.pacer for t in targets]
    assert pacers[0] is pacers[2]  # blue and green in 111111111111/us-east-1: one 15 requests/s
    assert len({id(p) for p in pacers}) == 3  # another region, another account: their own
    assert fleet.concurrency == 3  # one per account and region


def test_a_spec_can_name_its_own_targets(esmctl, box, fleet, tmp_path):
    _, _ = fleet
    server.create_role(box.moto_url, "333333333333", ROLE)
    path = tmp_path / "own.yaml"
    path.write_text(SPEC + "targets:\n"
                    '  - {account: "111111111111", regions: [us-east-1, eu-west-1], role: esmctl-deployer,\n'
                    "     variables: {ORDERS_BATCH: 10}}\n"
                    '  - {account: "333333333333", regions: [eu-west-1], role: esmctl-deployer, '
                    "variables: {ORDERS_BATCH: 30}}\n")
    r = esmctl("validate", str(path))
    assert r.exit_code == 0 and "valid (6 mappings over 3 targets)" in r.stderr, r.stderr
    r = esmctl("apply", str(path), "-o", "json")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert sorted(document(r)) == ["111111111111/eu-west-1", "111111111111/us-east-1", "333333333333/eu-west-1"]
    [stream] = [m for m in live(box, "333333333333", "eu-west-1") if ":kinesis:" in m["EventSourceArn"]]
    assert stream["BatchSize"] == 30
    assert esmctl("diff", str(path)).exit_code == 0
    r = esmctl("diff", str(path), "--targets", fleet[1])
    assert r.exit_code == 252 and "has targets of its own" in r.stderr
    r = esmctl("diff", "-", input=path.read_text())  # standard input cannot be looked at first: said, not ignored
    assert r.exit_code == 1 and "<stdin>:10:1: targets: esmctl runs over a spec's targets when" in r.stderr
    path.write_text(SPEC + 'targets:\n  - {account: "1111", regions: [us-east-1]}\n')
    r = esmctl("plan", str(path))
    assert r.exit_code == 1 and f"{path}:11:15: targets[0].account: '1111' is not a 12-digit" in r.stderr
    assert r.stderr.splitlines()[-1] == "esmctl: error: 1 problem found in the spec's targets"


def test_the_examples_and_the_readme_targets_agree_with_the_schema_and_validate(esmctl):
    import jsonschema

    from esmctl.commands.tools import _json_like
    from esmctl.spec_schema import spec_schema, targets_schema
    from esmctl.targets import load_targets

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    examples = os.path.join(root, "examples")
    readme = open(os.path.join(root, "README.md")).read() + open(os.path.join(root, "docs", "fleet.md")).read()
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if "\ntargets:" in b and "mappings:" not in b]
    texts = [open(os.path.join(examples, "targets.yaml")).read(), *blocks]
    assert len(texts) >= 2
    for text in texts:
        jsonschema.Draft202012Validator(targets_schema()).validate(_json_like(yaml.safe_load(text)))
        assert load_targets("targets.yaml", {}, text=text)
    jsonschema.Draft202012Validator(spec_schema()).validate(
        _json_like(yaml.safe_load(open(os.path.join(examples, "fleet.yaml")).read())))
    r = esmctl("validate", os.path.join(examples, "fleet.yaml"), "--targets", os.path.join(examples, "targets.yaml"))
    assert r.exit_code == 0 and "(10 mappings over 5 targets)" in r.stderr, r.stderr
    r = esmctl("validate", os.path.join(examples, "fleet.yaml"), os.path.join(examples, "..", "examples", "fleet.yaml"),
               "--targets", os.path.join(examples, "targets.yaml"))  # one file named twice: read once
    assert r.exit_code == 0 and "(10 mappings over 5 targets)" in r.stderr, r.stderr
    r = esmctl("schema", "--targets")
    jsonschema.Draft202012Validator.check_schema(json.loads(r.stdout))
    r = esmctl("schema", "--check", os.path.join(examples, "targets.yaml"), os.path.join(examples, "fleet.yaml"))
    assert r.exit_code == 0, r.stderr


@pytest.mark.parametrize("target,where", [
    ({"account": "111111111111", "regions": ["us-east-1"], "rol": "x"}, "rol"),
    ({"account": "12", "regions": ["us-east-1"]}, "account"),
    ({"account": "111111111111", "regions": ["useast1"]}, "regions"),
    ({"account": "111111111111", "regions": ["us-east-1"], "role": "r", "profile": "p"}, "profile"),
    ({"account": "111111111111", "regions": ["us-east-1"], "variables": {"ACCOUNT": "x"}}, "variables"),
])
def test_a_bad_target_fails_under_both_the_schema_and_esmctl(tmp_path, target, where):
    import jsonschema

    from esmctl.errors import TargetsError
    from esmctl.spec_schema import targets_schema
    from esmctl.targets import load_targets

    doc = {"version": 1, "targets": [target]}
    assert list(jsonschema.Draft202012Validator(targets_schema()).iter_errors(doc))
    with pytest.raises(TargetsError) as exc:
        load_targets("t.yaml", {}, text=yaml.safe_dump(doc))
    assert f"targets[0].{where}" in str(exc.value.problems[0])


def test_web_identity_as_ci_has_it_is_the_base_of_every_assumed_role(esmctl, box, fleet, tmp_path, monkeypatch):
    spec, targets = fleet
    ci_role = server.create_role(box.moto_url, "999999999999", "ci-runner")
    token = tmp_path / "token"
    token.write_text("a-github-oidc-token")
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_ROLE_ARN", ci_role)  # as aws-actions/configure-aws-credentials leaves it
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token))
    box.proxy.clear_counts()
    r = esmctl("diff", spec, "--targets", targets, "-o", "json")
    assert r.exit_code == 1, r.stderr
    assert {t: d["status"] for t, d in document(r).items() if d["status"] != "failed"} == {
        "prod/us-east-1": "changes", "prod/eu-west-1": "changes", "222222222222/us-east-1": "changes",
        "222222222222/eu-west-1": "changes"}
    assert box.proxy.calls["AssumeRoleWithWebIdentity"] == 1  # the base, once
    assert box.proxy.calls["AssumeRole"] == 3  # each account's role once, for both its regions
    assert "a-github-oidc-token" not in r.stdout + r.stderr


def test_a_refused_change_fails_its_target_alone(esmctl, box, fleet):
    spec, targets = fleet
    server.create_role(box.moto_url, "333333333333", ROLE)
    # a live mapping only a replace can bring to the spec (StartingPosition), in one target
    server.account_client(box.url, "lambda", "eu-west-1", "222222222222").create_event_source_mapping(
        FunctionName="orders-fn", EventSourceArn="arn:aws:kinesis:eu-west-1:222222222222:stream/orders",
        StartingPosition="LATEST", BatchSize=200)
    r = esmctl("apply", spec, "--targets", targets, "-o", "json")
    assert r.exit_code == 1
    doc = document(r)
    refused = doc["222222222222/eu-west-1"]
    assert refused["status"] == "failed" and refused["applied"] is False
    assert refused["error"].startswith("refusing to replace without --allow-replace")
    assert [c["action"] for c in refused["plan"]["changes"]] == ["replace", "create"]
    assert all(d["status"] == "ok" and d["applied"] for t, d in doc.items() if t != "222222222222/eu-west-1")
    assert [m["StartingPosition"] for m in live(box, "222222222222", "eu-west-1")] == ["LATEST"]  # untouched
    r = esmctl("apply", spec, "--targets", targets, "--allow-replace", "--yes")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert esmctl("diff", spec, "--targets", targets).exit_code == 0


def test_pause_and_resume_across_targets_are_idempotent_and_survive_a_kill(esmctl, box, fleet):
    spec, targets = fleet
    server.create_role(box.moto_url, "333333333333", ROLE)
    assert esmctl("apply", spec, "--targets", targets).exit_code == 0

    def states() -> dict[tuple[str, str], str]:
        return {(a, r): m["State"] for a in ACCOUNTS for r in REGIONS for m in live(box, a, r)
                if ":kinesis:" in m["EventSourceArn"]}

    # killed after the third disable went out: some targets paused, some not
    kill_at(box, ["--function", "orders-fn", "--targets", targets, "--reason", "INC-7"], "UpdateEventSourceMapping",
            3, "after", command="pause")
    r = esmctl("pause", "--function", "orders-fn", "--targets", targets, "--reason", "INC-7", "--yes", "-o", "json")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert set(states().values()) == {"Disabled"} and len(states()) == 6
    assert all(m["Outcome"] in ("paused", "skipped") for t in document(r).values() for m in t["mappings"])
    box.proxy.clear_counts()
    again = esmctl("pause", "--function", "orders-fn", "--targets", targets, "--yes")
    assert again.exit_code == 0 and box.proxy.writes() == 0  # already paused everywhere
    assert esmctl("diff", spec, "--targets", targets).exit_code == 0  # paused: not drift
    r = esmctl("resume", "--function", "orders-fn", "--targets", targets, "--yes")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert set(states().values()) == {"Enabled"}
    box.proxy.clear_counts()
    assert esmctl("resume", "--function", "orders-fn", "--targets", targets, "--yes").exit_code == 0
    assert box.proxy.writes() == 0


def test_a_source_over_targets_is_each_targets_own(esmctl, box, fleet):
    """`--source arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/orders` over targets: filled for each target, as its
    spec is (it was sent as written and paused nothing, each target FAILED "no function reads this source")."""
    spec, targets = fleet
    server.create_role(box.moto_url, "333333333333", ROLE)
    assert esmctl("apply", spec, "--targets", targets).exit_code == 0
    source = "arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/orders"
    r = esmctl("pause", "--source", source, "--targets", targets, "--yes")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert {m["State"] for a in ACCOUNTS for rg in REGIONS for m in live(box, a, rg)
            if m["EventSourceArn"].endswith(":stream/orders")} == {"Disabled"}
    r = esmctl("pause", "--source", source)  # one region: the ARN itself
    assert r.exit_code == 252 and "filled for each target with --targets" in r.stderr
    r = esmctl("pause", "--source", "arn:aws:kinesis:${REGION}:${NOPE}:stream/orders", "--targets", targets, "--yes")
    assert r.exit_code == 252 and "no value for ${NOPE}" in r.stderr


def test_pause_over_targets_does_only_what_was_agreed_to_when_the_answer_came(box, fleet):
    """Every target read again after the one question: a mapping disabled by hand meanwhile is not marked paused
    (resume would enable it), as in one account and region."""
    spec, targets = fleet
    server.create_role(box.moto_url, "333333333333", ROLE)
    assert subprocess.run([ESMCTL, "apply", spec, "--targets", targets, "--yes"], capture_output=True).returncode == 0
    lam = server.account_client(box.url, "lambda", "eu-west-1", "222222222222")
    [by_hand] = [m for m in live(box, "222222222222", "eu-west-1") if ":kinesis:" in m["EventSourceArn"]]

    def colleague() -> None:
        lam.update_event_source_mapping(UUID=by_hand["UUID"], Enabled=False)

    code, out = answer_at_a_terminal(["pause", "--function", "orders-fn", "--targets", targets], colleague)
    assert code == 0 and "Pause 6 mapping(s) in 6 target(s)?" in out, out
    assert "changed since the question: Disabled, not by esmctl pause" in out, out
    assert not lam.list_tags(Resource=by_hand["EventSourceMappingArn"])["Tags"]
    states = {(a, r): m["State"] for a in ACCOUNTS for r in REGIONS for m in live(box, a, r)
              if ":kinesis:" in m["EventSourceArn"]}
    assert set(states.values()) == {"Disabled"} and len(states) == 6


def test_every_target_refused_is_still_one_document(esmctl, box, fleet):
    spec, targets = fleet
    server.create_role(box.moto_url, "333333333333", ROLE)
    assert esmctl("apply", spec, "--targets", targets).exit_code == 0
    replaced = open(spec).read().replace("TRIM_HORIZON", "LATEST")  # a replace in every target
    with open(spec, "w") as f:
        f.write(replaced)
    r = esmctl("apply", spec, "--targets", targets, "--yes", "-o", "json")
    assert r.exit_code == 1 and "unexpected" not in r.stderr, r.stderr
    doc = document(r)
    assert len(doc) == 6 and all(d["status"] == "failed" and "--allow-replace" in d["error"] for d in doc.values())


def test_a_function_missing_in_one_target_fails_its_diff_as_a_single_targets_diff_does(esmctl, box, fleet):
    """plan and diff say that a mapping to create names a function that does not exist (exit 1, the spec's
    line); over targets, the target where it is missing fails alone and the others show their changes."""
    spec, targets = fleet
    server.create_role(box.moto_url, "333333333333", ROLE)
    server.account_client(box.moto_url, "lambda", "eu-west-1", "222222222222").delete_function(FunctionName="jobs-fn")
    r = esmctl("diff", spec, "--targets", targets, "-o", "json")
    assert r.exit_code == 1, r.stdout + r.stderr
    statuses = {t: d["status"] for t, d in document(r).items()}
    assert statuses.pop("222222222222/eu-west-1") == "failed"
    assert set(statuses.values()) == {"changes"}
    failed = document(r)["222222222222/eu-west-1"]
    assert "spec.yaml:8:19: FunctionName: jobs-fn does not exist in eu-west-1" in failed["error"]
    assert box.proxy.writes() == 0


def test_a_function_of_another_account_fails_that_target_and_nothing_is_written_there(esmctl, box, fleet, tmp_path):
    """A spec whose FunctionName ARN names one account: the targets in other accounts fail with the spec's place
    (a review found the mapping made on the other account's function of that name, by moto)."""
    (tmp_path / "s.yaml").write_text("version: 1\nregion: ${REGION}\nmappings:\n"
                                     "  - FunctionName: arn:aws:lambda:${REGION}:111111111111:function:jobs-fn\n"
                                     "    EventSourceArn: arn:aws:sqs:${REGION}:${ACCOUNT}:jobs\n")
    (tmp_path / "t.yaml").write_text('version: 1\ndefaults: {regions: [us-east-1], role: esmctl-deployer}\n'
                                     'targets:\n  - {account: "111111111111"}\n  - {account: "222222222222"}\n')
    r = esmctl("apply", str(tmp_path / "s.yaml"), "--targets", str(tmp_path / "t.yaml"), "--yes", "-o", "json")
    assert r.exit_code == 1
    targets = document(r)
    assert targets["111111111111/us-east-1"]["status"] == "ok"
    assert targets["222222222222/us-east-1"]["status"] == "failed"
    assert targets["222222222222/us-east-1"]["error"].endswith(
        "s.yaml:4:5: FunctionName: is in account 111111111111, but these credentials act in 222222222222: a mapping "
        "is made in its function's account, with that account's credentials"), targets["222222222222/us-east-1"]
    assert live(box, "222222222222", "us-east-1") == [] and len(live(box, "111111111111", "us-east-1")) == 1


def test_a_specs_warning_is_said_once_however_many_targets_share_it(esmctl, box, fleet, tmp_path):
    (tmp_path / "s.yaml").write_text("version: 1\nregion: ${REGION}\nmappings:\n  - FunctionName: jobs-fn\n"
                                     "    EventSourceArn: arn:aws:sqs:${REGION}:${ACCOUNT}:jobs\n"
                                     "    FilterCriteria: {Filters: [{Pattern: {data: {type: [order]}}}]}\n")
    (tmp_path / "t.yaml").write_text('version: 1\ndefaults: {regions: [us-east-1, eu-west-1], role: esmctl-deployer}\n'
                                     'targets:\n  - {account: "111111111111"}\n  - {account: "222222222222"}\n')
    for command in (["plan"], ["apply", "--yes"]):
        r = esmctl(*command, str(tmp_path / "s.yaml"), "--targets", str(tmp_path / "t.yaml"))
        assert r.exit_code == 0, r.stderr
        assert r.stderr.count("warning: FilterCriteria.Filters[0].Pattern.data: SQS records have no `data`") == 1


def test_the_cycle_collector_stays_paused_while_any_target_plans(esmctl, box, fleet, monkeypatch):
    """Each target's plan pauses the cycle collector (collector.paused), which is process-wide: one target's plan
    that ends must not start it again under the others', still parsing and comparing (the fleet pauses it for the
    whole run). Every target's plan begins and ends with it paused."""
    import gc

    from esmctl import reconcile

    seen: list[bool] = []
    real = reconcile.plan

    def plan(*args, **kwargs):
        seen.append(gc.isenabled())
        try:
            return real(*args, **kwargs)
        finally:
            seen.append(gc.isenabled())

    monkeypatch.setattr(reconcile, "plan", plan)
    spec, targets = fleet
    assert esmctl("plan", spec, "--targets", targets).exit_code == 1  # the third account's role is refused
    assert len(seen) == 8 and not any(seen), seen  # 4 targets planned, at their start and end
    assert gc.isenabled()  # and on again after the run
