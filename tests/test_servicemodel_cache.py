"""The structural service-model rules (members, shapes) are derived once per botocore version and kept in the user's
cache directory."""

from __future__ import annotations

import json
import os

import botocore
import pytest

from esmctl import schema, servicemodel

CACHED = (servicemodel.rules, servicemodel._shape, servicemodel.create_only, servicemodel.updatable,
          servicemodel.immutable_members, servicemodel.kinds_of, servicemodel.access_types)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache directory, and a process that has not read the rules yet (and forgets them after)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.aws/models
    monkeypatch.delenv("AWS_DATA_PATH", raising=False)
    derived = []
    real = servicemodel.derive

    def counting() -> dict:
        derived.append(botocore.__version__)
        return real()

    monkeypatch.setattr(servicemodel, "derive", counting)
    forget()
    yield tmp_path / "esmctl", derived
    forget()


DIGEST = servicemodel._rules_digest()


def test_another_esmctl_derives_them_again(cache, monkeypatch):
    # an upgrade of esmctl alone (same botocore) must not read the rules an older esmctl derived
    folder, derived = cache
    servicemodel.rules()
    forget()
    monkeypatch.setattr(servicemodel, "_rules_digest", lambda: "0123456789abcdef")
    assert servicemodel.rules()["key"].endswith("rules 0123456789abcdef")
    assert len(derived) == 2 and len(list(folder.iterdir())) == 2


def forget() -> None:
    for function in CACHED:
        function.cache_clear()


def test_the_rules_are_derived_once_and_read_from_the_cache_after(cache):
    folder, derived = cache
    first = servicemodel.rules()
    [path] = folder.iterdir()
    assert path.name == f"servicemodel-{botocore.__version__}-{servicemodel.CACHE_FORMAT}-{DIGEST}.json"
    assert derived == [botocore.__version__]
    forget()  # the next command
    assert servicemodel.rules() == json.loads(json.dumps(first)) and derived == [botocore.__version__]
    # what the checks get from the cache is what botocore's model says
    assert servicemodel.create_only() == {"EventSourceArn", "StartingPosition", "StartingPositionTimestamp", "Tags",
                                          "Topics", "Queues", "SelfManagedEventSource"}
    assert servicemodel.kinds_of("ParallelizationFactor") == {"kinesis", "dynamodb"}
    live = servicemodel._live_input_shape("CreateEventSourceMapping")
    cached = servicemodel.input_shape()
    assert isinstance(cached, servicemodel.Shape) and list(cached.members) == list(live.members)
    for name, member in live.members.items():
        assert (cached.members[name].type_name, cached.members[name].metadata) == (member.type_name, member.metadata)
    assert schema.check_params({"FunctionName": "fn", "EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:q",
                                "BatchSize": 0, "Batchsize": 1}) == [
        ("BatchSize", "is 0; the minimum is 1 (allowed: 1–10000)"),
        ("Batchsize", "unknown field (did you mean BatchSize?)")]


def test_another_botocore_version_derives_them_again(cache, monkeypatch):
    folder, derived = cache
    servicemodel.rules()
    forget()
    monkeypatch.setattr(botocore, "__version__", "1.99.0")
    assert servicemodel.rules()["key"].startswith("botocore 1.99.0,")
    assert derived == [derived[0], "1.99.0"]
    assert len(list(folder.iterdir())) == 2


@pytest.mark.parametrize("content", ["{not json", '{"key": "botocore 0.0.1, format 1"}', "[]", ""])
def test_a_corrupt_or_foreign_cache_file_is_derived_again_and_replaced(cache, content):
    folder, derived = cache
    folder.mkdir()
    path = folder / f"servicemodel-{botocore.__version__}-{servicemodel.CACHE_FORMAT}-{DIGEST}.json"
    path.write_text(content)
    assert servicemodel.create_only()
    assert len(derived) == 1
    assert json.loads(path.read_text())["key"] == servicemodel.rules()["key"]


def test_an_unwritable_cache_costs_a_derivation_per_run_and_nothing_else(cache, monkeypatch, tmp_path):
    _, derived = cache
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))  # esmctl/ cannot be made under a file
    assert servicemodel.create_only() and servicemodel.input_shape().members
    forget()
    assert servicemodel.create_only()
    assert len(derived) == 2 and [p.name for p in tmp_path.iterdir() if p.name != "home"] == ["a-file"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".servicemodel")] == []


def test_models_of_the_users_own_are_never_cached(cache, monkeypatch, tmp_path):
    folder, derived = cache
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path / "models"))
    servicemodel.rules()
    forget()
    servicemodel.rules()
    assert len(derived) == 2 and not folder.exists()
    os.makedirs(tmp_path / "home" / ".aws" / "models")
    monkeypatch.delenv("AWS_DATA_PATH")
    forget()
    servicemodel.rules()
    assert len(derived) == 3 and not folder.exists()
