"""The account a plan needs (for function names) is the one the listing's mappings name: no GetCallerIdentity
when there are mappings; asked of STS when the account has none."""

from __future__ import annotations

from helpers import kinesis, spec_file


def test_the_listing_names_the_account_and_sts_is_asked_only_when_it_is_empty(esmctl, world, box, tmp_path):
    path = spec_file(tmp_path, [kinesis(world), kinesis(world, fn="audit-fn")])
    box.proxy.clear_counts()
    assert esmctl("apply", path).exit_code == 0  # nothing listed yet: the account is asked
    assert box.proxy.calls["GetCallerIdentity"] == 1
    box.proxy.clear_counts()
    r = esmctl("diff", path)
    assert r.exit_code == 0, r.stdout + r.stderr  # in sync: the names resolved to the listed mappings' account
    assert box.proxy.calls["GetCallerIdentity"] == 0 and box.proxy.calls["ListEventSourceMappings"] == 1


def test_a_failed_listing_is_said_as_such_without_waiting_for_sts(esmctl_process, tmp_path, world):
    path = spec_file(tmp_path, [kinesis(world)])
    r = esmctl_process("diff", path, env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1"})
    assert r.exit_code == 1
    assert r.stderr.startswith("esmctl: error: listing mappings: cannot reach http://127.0.0.1:9"), r.stderr


def test_a_function_of_another_account_is_a_spec_problem_and_nothing_is_written(esmctl, world, box, tmp_path):
    """A mapping is made in its function's account: an ARN of another account than the credentials' is said
    with its place (moto would make the mapping on this account's function of that name; AWS refuses)."""
    other = "arn:aws:lambda:us-east-1:111111111111:function:orders-fn"
    path = spec_file(tmp_path, [kinesis(world), kinesis(world, fn=other, stream="clicks")])
    for command in (["diff", path], ["apply", path, "--yes"]):
        r = esmctl(*command)
        assert r.exit_code == 1, r.stdout + r.stderr
        assert r.stderr.splitlines()[0] == (
            f"{path}:6:3: FunctionName: is in account 111111111111, but these credentials act in 123456789012: a "
            "mapping is made in its function's account, with that account's credentials"), r.stderr
    assert box.proxy.writes() == 0
