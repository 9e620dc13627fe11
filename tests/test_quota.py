"""Lambda's 15 requests/s: what esmctl's pacer and the sandbox's layer charge to it, counted (never timed).

AWS's quota covers every control-plane API (ListTags, TagResource, UntagResource included) but GetFunction
(100/s of its own), GetPolicy (15/s of its own) and invocations.
"""

from __future__ import annotations

from datetime import datetime, timezone

from helpers import client, kinesis, spec_file

from esmctl.aws.calls import Aws
from esmctl.aws.pacing import Pacer, in_the_quota, undelayed_listing
from esmctl.mapping import identity, marks


def test_the_pacer_charges_the_control_plane_calls_and_getfunction_to_its_own_bucket(box, world):
    slept: list[float] = []
    pacer = Pacer(15, 5, sleep=slept.append, clock=lambda: 1000.0)  # no time passes: only the buckets count
    aws = Aws(endpoint_url=box.url, pacer=pacer)
    fn = world["orders-fn"]
    client(box, "lambda").tag_resource(Resource=fn, Tags={"team": "orders"})
    for _ in range(11):
        assert aws.function_tags(fn) == {"team": "orders"}
    assert aws.get_function("no-such-fn") is None
    assert aws.mapping_tags(fn) == {"team": "orders"}
    aws.list_mappings()
    assert aws.calls == {"GetFunction": 12, "ListTags": 1, "ListEventSourceMappings": 1}
    assert dict(pacer.charged) == {"ListTags": 1, "ListEventSourceMappings": 1}  # within the burst of 5: no wait
    # GetFunction: 100/s of its own, a burst of 50 (half its quota); the 51st and 52nd wait their turns there
    own = pacer.own("GetFunction")
    assert sum(own.charged.values()) == 12 and slept == []
    for _ in range(40):
        own.before_send()
    assert slept == [0.01, 0.02]
    with undelayed_listing():
        for _ in range(4):
            aws.list_mappings()  # the 3rd to 6th calls of the 15/s: a plan's listing is charged, never delayed
    assert len(slept) == 2 and dict(pacer.charged) == {"ListTags": 1, "ListEventSourceMappings": 5}
    pacer.before_send("before-send.lambda.CreateEventSourceMapping")  # a write after them pays for them
    assert len(slept) == 3 and abs(slept[-1] - 2 / 15) < 1e-9
    aws.list_mappings()  # any other listing (a wait's poll, beside the writes) waits its turn
    assert len(slept) == 4 and abs(slept[-1] - 3 / 15) < 1e-9
    pacer.slow_down()  # AWS throttled: from now on even a plan's listing waits its turn
    with undelayed_listing():
        aws.list_mappings()
    assert len(slept) == 5 and abs(slept[-1] - 4 / 7.5) < 1e-9  # the debt of 4, at half the rate


def test_the_quota_apis():
    for operation in ("CreateEventSourceMapping", "ListEventSourceMappings", "ListTags", "TagResource",
                      "UntagResource", "ListFunctions", "GetEventSourceMapping"):
        assert in_the_quota(operation), operation
    for operation in ("GetFunction", "GetPolicy", "Invoke"):
        assert not in_the_quota(operation), operation


def test_the_layer_charges_the_apis_aws_charges():
    """Each call named by botocore's model, then charged as esmctl's pacer charges it."""
    from esmctl.sandbox.routes import lambda_operation

    def charged(method: str, path: str) -> bool:
        return in_the_quota(lambda_operation(method, path))

    assert charged("POST", "/2015-03-31/event-source-mappings/")
    assert charged("GET", "/2015-03-31/event-source-mappings/?MaxItems=100")
    assert charged("GET", "/2017-03-31/tags/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Afn")
    assert charged("GET", "/2015-03-31/functions/")  # ListFunctions
    assert charged("DELETE", "/2015-03-31/functions/fn")  # DeleteFunction
    assert charged("GET", "/2015-03-31/functions/fn/configuration")  # GetFunctionConfiguration
    assert not charged("GET", "/2015-03-31/functions/fn")  # GetFunction: 100/s of its own
    assert not charged("GET", "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Afn?Qualifier=1")
    assert not charged("GET", "/2015-03-31/functions/fn/policy")  # GetPolicy: 15/s of its own
    assert not charged("POST", "/2015-03-31/functions/fn/invocations")  # Invoke
    assert charged("GET", "/2016-08-19/account-settings/")  # GetAccountSettings (never charged before)
    assert charged("PUT", "/2017-10-31/functions/fn/concurrency")  # PutFunctionConcurrency


def test_a_create_reads_its_functions_tag_records_by_getfunction_not_listtags(esmctl, world, box, tmp_path):
    # A create whose spec does not manage tags looks on its function for what an interrupted replace recorded:
    # one GetFunction per function, outside the 15/s the creates need.
    key = identity.Key(world["orders-fn"], world["clicks"], "")
    record = marks.tag_record(key, {"team": "clicks"}, datetime.now(timezone.utc))
    client(box, "lambda").tag_resource(Resource=world["orders-fn"], Tags=record)
    path = spec_file(tmp_path, [kinesis(world), kinesis(world, stream="clicks"),
                                kinesis(world, fn="audit-fn")])
    box.proxy.clear_counts()
    assert esmctl("apply", path).exit_code == 0
    assert box.proxy.calls["ListTags"] == 0
    assert box.proxy.calls["GetFunction"] == 2  # orders-fn and audit-fn, once each
    clicks = [m for m in client(box, "lambda").list_event_source_mappings()["EventSourceMappings"]
              if m["EventSourceArn"] == world["clicks"]]
    assert client(box, "lambda").list_tags(Resource=clicks[0]["EventSourceMappingArn"])["Tags"] == {"team": "clicks"}
