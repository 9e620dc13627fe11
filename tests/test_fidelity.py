"""The AWS-like layer itself (esmctl/sandbox/fidelity.py), spoken to with plain boto3 clients:
what it adds to moto must answer as AWS does, since esmctl's other tests rely on it."""

from __future__ import annotations

import threading

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError

from tests.conftest import REGION


def lam(box):
    """A Lambda client on the layer. One attempt in all (botocore's `max_attempts` counts retries):
    these tests expect errors, and a retry would hide which call met them."""
    return boto3.client("lambda", endpoint_url=box.url, region_name=REGION, aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=Config(retries={"total_max_attempts": 1}))


def code(exc: pytest.ExceptionInfo) -> str:
    return exc.value.response["Error"]["Code"]


# -- 6. pausing or failing a chosen call --------------------------------------------------------
def call_in_thread(fn) -> tuple[threading.Thread, dict]:
    out: dict = {}

    def run() -> None:
        try:
            out["reply"] = fn()
        except Exception as exc:  # noqa: BLE001 - the test inspects what the client saw
            out["error"] = exc

    t = threading.Thread(target=run)
    t.start()
    return t, out


def test_pause_before_holds_the_nth_call_until_released(box, world):
    client = lam(box)
    ms = [client.create_event_source_mapping(FunctionName=fn, EventSourceArn=world["jobs"])["UUID"]
          for fn in ("orders-fn", "audit-fn")]
    handle = box.proxy.pause("DeleteEventSourceMapping", nth=2, when="before")
    client.delete_event_source_mapping(UUID=ms[0])  # the first goes through
    assert not handle.reached.is_set()
    t, out = call_in_thread(lambda: lam(box).delete_event_source_mapping(UUID=ms[1]))
    assert handle.reached.wait(5)
    assert client.get_event_source_mapping(UUID=ms[1])["State"] == "Enabled"  # not carried out yet
    handle.release()
    t.join(5)
    assert out["reply"]["State"] == "Deleting"
    assert client.list_event_source_mappings()["EventSourceMappings"] == []


def test_pause_before_and_drop_never_carries_the_call_out(box, world):
    client = lam(box)
    handle = box.proxy.pause("CreateEventSourceMapping")
    t, out = call_in_thread(lambda: lam(box).create_event_source_mapping(FunctionName="jobs-fn",
                                                                         EventSourceArn=world["jobs"]))
    assert handle.reached.wait(5)
    handle.release(drop=True)
    t.join(5)
    assert isinstance(out["error"], ConnectionClosedError)
    assert client.list_event_source_mappings()["EventSourceMappings"] == []
    assert box.proxy.calls["CreateEventSourceMapping"] == 1


def test_pause_after_and_drop_carries_the_call_out_but_loses_the_reply(box, world):
    client = lam(box)
    m = client.create_event_source_mapping(FunctionName="jobs-fn", EventSourceArn=world["jobs"])
    handle = box.proxy.pause("DeleteEventSourceMapping", when="after")
    t, out = call_in_thread(lambda: lam(box).delete_event_source_mapping(UUID=m["UUID"]))
    assert handle.reached.wait(5)
    assert client.list_event_source_mappings()["EventSourceMappings"] == []  # already carried out
    handle.release(drop=True)
    t.join(5)
    assert isinstance(out["error"], ConnectionClosedError)


def test_paused_calls_never_hang_the_layer(box, world):
    client = lam(box)
    box.proxy.pause_timeout = 0.05
    handle = box.proxy.pause("ListEventSourceMappings")
    with pytest.raises(ConnectionClosedError):
        client.list_event_source_mappings()
    assert handle.reached.is_set() and handle.timed_out

    box.proxy.pause_timeout = 30
    handle = box.proxy.pause("CreateEventSourceMapping")
    t, out = call_in_thread(lambda: lam(box).create_event_source_mapping(FunctionName="jobs-fn",
                                                                         EventSourceArn=world["jobs"]))
    assert handle.reached.wait(5)
    box.proxy.reset()  # releases it, dropped: nothing lands after the reset
    t.join(5)
    assert isinstance(out["error"], ConnectionClosedError)
    assert client.list_event_source_mappings()["EventSourceMappings"] == []


def test_fail_next_can_target_the_nth_call(box, world):
    client = lam(box)
    m = client.create_event_source_mapping(FunctionName="jobs-fn", EventSourceArn=world["jobs"])
    box.proxy.fail_next["GetEventSourceMapping"] = (500, "ServiceException", "injected", 2)
    client.get_event_source_mapping(UUID=m["UUID"])
    with pytest.raises(ClientError) as exc:
        client.get_event_source_mapping(UUID=m["UUID"])
    assert code(exc) == "ServiceException"
    client.get_event_source_mapping(UUID=m["UUID"])
    box.proxy.fail_next["GetEventSourceMapping"] = (429, "TooManyRequestsException", "Rate exceeded")  # the next one
    with pytest.raises(ClientError) as exc:
        client.get_event_source_mapping(UUID=m["UUID"])
    assert code(exc) == "TooManyRequestsException"
    assert client.get_event_source_mapping(UUID=m["UUID"])["UUID"] == m["UUID"]
