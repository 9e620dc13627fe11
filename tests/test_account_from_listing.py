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
