"""The AWS boundary: the only module that talks to AWS (through botocore).

One thin client with only the calls esmctl needs, named for what they do and returning plain
values. Not-found becomes None. Retries are botocore's own (standard mode: throttling and 5xx
are retried with backoff); esmctl adds only the polling waits Lambda and Kinesis lack.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import botocore.exceptions
import botocore.parsers
import botocore.session
from botocore.config import Config

from esmctl import model
from esmctl.errors import EXIT_USAGE, EsmctlError

DEFAULT_MAX_ATTEMPTS = 8


def poll_interval() -> float:
    # Seconds between polls while waiting; tests shorten it.
    return float(os.environ.get("ESMCTL_POLL_INTERVAL", "2"))


def describe_error(exc: BaseException) -> str:
    """One plain sentence for an AWS or connection failure (never credentials)."""
    if isinstance(exc, botocore.exceptions.ClientError):
        err = exc.response.get("Error", {})
        code = err.get("Code") or "Error"
        message = (err.get("Message") or exc.response.get("message") or "").strip()
        op = exc.operation_name
        return f"{op}: {code}: {message}" if message else f"{op}: {code}"
    if isinstance(exc, botocore.exceptions.EndpointConnectionError):
        return f"cannot reach {exc.kwargs.get('endpoint_url', 'the AWS endpoint')}: is the endpoint right and up?"
    if isinstance(exc, botocore.exceptions.ConnectTimeoutError):
        return f"timed out connecting to {exc.kwargs.get('endpoint_url', 'the AWS endpoint')}"
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return "no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or pass --profile"
    if isinstance(exc, botocore.exceptions.ProfileNotFound):
        return f"AWS profile not found: {exc.kwargs.get('profile')}"
    if isinstance(exc, botocore.exceptions.NoRegionError):
        return "no AWS region: pass --region or set AWS_REGION"
    if isinstance(exc, botocore.exceptions.ParamValidationError):
        return str(exc).replace("\n", " ").strip()
    if isinstance(exc, botocore.parsers.ResponseParserError):
        return "the endpoint sent a reply that is not an AWS response (an HTML error page?)"
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        return str(exc).splitlines()[0]
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


AWS_ERRORS = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError,
              botocore.parsers.ResponseParserError)


def error_code(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        return exc.response.get("Error", {}).get("Code", "")
    return ""


@contextmanager
def explain(what: str) -> Iterator[None]:
    """Turn an AWS failure inside the block into `what: AWS's message` (exit 1)."""
    try:
        yield
    except botocore.exceptions.ParamValidationError as exc:
        raise EsmctlError(f"{what}: {describe_error(exc)}", EXIT_USAGE) from exc
    except AWS_ERRORS as exc:
        raise EsmctlError(f"{what}: {describe_error(exc)}") from exc


class Aws:
    """Clients for one profile, region and endpoint, created on first use and shared by threads."""

    def __init__(self, profile: str | None = None, region: str | None = None,
                 endpoint_url: str | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self._profile = profile
        # botocore reads AWS_DEFAULT_REGION; AWS_REGION is what the SDKs and the CLI v2 use.
        self._region = region or os.environ.get("AWS_REGION")
        self._endpoint_url = endpoint_url
        self._sleep = sleep
        self._lock = threading.Lock()
        self._session: botocore.session.Session | None = None
        self._clients: dict[str, Any] = {}
        self._account: str | None = None
        self.calls: dict[str, int] = {}

    # -- plumbing -------------------------------------------------------------------------
    @property
    def session(self) -> botocore.session.Session:
        # botocore's session, not boto3's: boto3 adds nothing esmctl uses and costs ~170 ms to import.
        with self._lock:
            if self._session is None:
                with explain("opening the AWS session"):
                    session = botocore.session.Session(profile=self._profile)
                    if self._region:
                        session.set_config_variable("region", self._region)
                    session.get_scoped_config()  # an unknown profile fails here, once
                    self._session = session
            return self._session

    @property
    def region(self) -> str:
        region = self.session.get_config_variable("region")
        if not region:
            raise EsmctlError("no AWS region: pass --region or set AWS_REGION")
        return region

    @property
    def partition(self) -> str:
        return self.session.get_partition_for_region(self.region)

    def client(self, service: str) -> Any:
        session, region = self.session, self.region
        with self._lock:
            if service not in self._clients:
                retries: dict[str, Any] = {"mode": os.environ.get("AWS_RETRY_MODE", "standard")}
                if "AWS_MAX_ATTEMPTS" not in os.environ:
                    retries["max_attempts"] = DEFAULT_MAX_ATTEMPTS
                config = Config(retries=retries, connect_timeout=5, read_timeout=60,
                                max_pool_connections=32, user_agent_extra="esmctl")
                client = session.create_client(service, region_name=region, endpoint_url=self._endpoint_url,
                                               config=config)
                client.meta.events.register("before-call", self._count)
                self._clients[service] = client
            return self._clients[service]

    def _count(self, model: Any, **_: Any) -> None:
        name = model.name
        with self._lock:
            self.calls[name] = self.calls.get(name, 0) + 1

    @property
    def account(self) -> str:
        if self._account is None:
            with explain("finding the AWS account (sts get-caller-identity)"):
                self._account = self.client("sts").get_caller_identity()["Account"]
        return self._account

    def function_ref(self, name_or_arn: str) -> model.FunctionRef:
        if name_or_arn.startswith("arn:"):
            return model.function_ref(name_or_arn, self.region, "")
        return model.function_ref(name_or_arn, self.region, self.account, self.partition)

    # -- event source mappings ------------------------------------------------------------
    def list_mappings(self, source: str | None = None) -> list[dict]:
        """Every mapping (of one source), in one paginated listing (AWS pages at 100).

        Functions are matched by the callers: some endpoints match the FunctionName filter as an
        exact string against the spelling used at creation.
        """
        kwargs: dict[str, str] = {"EventSourceArn": source} if source else {}
        paginator = self.client("lambda").get_paginator("list_event_source_mappings")
        out: list[dict] = []
        for page in paginator.paginate(**kwargs):
            out.extend(page.get("EventSourceMappings", []))
        return out

    def get_mapping(self, uuid: str) -> dict | None:
        try:
            resp = self.client("lambda").get_event_source_mapping(UUID=uuid)
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return None
            raise
        resp.pop("ResponseMetadata", None)
        return resp

    def create_mapping(self, params: dict[str, Any]) -> dict:
        resp = self.client("lambda").create_event_source_mapping(**params)
        resp.pop("ResponseMetadata", None)
        return resp

    def update_mapping(self, uuid: str, params: dict[str, Any]) -> dict:
        resp = self.client("lambda").update_event_source_mapping(UUID=uuid, **params)
        resp.pop("ResponseMetadata", None)
        return resp

    def delete_mapping(self, uuid: str) -> dict:
        resp = self.client("lambda").delete_event_source_mapping(UUID=uuid)
        resp.pop("ResponseMetadata", None)
        return resp

    def mapping_tags(self, arn: str) -> dict[str, str]:
        return self.client("lambda").list_tags(Resource=arn).get("Tags", {})

    def tag_mapping(self, arn: str, tags: dict[str, str]) -> None:
        self.client("lambda").tag_resource(Resource=arn, Tags=tags)

    def untag_mapping(self, arn: str, keys: Iterable[str]) -> None:
        self.client("lambda").untag_resource(Resource=arn, TagKeys=list(keys))

    def wait_for_mappings(self, uuids: Iterable[str], *, gone: bool = False, timeout: float = 300,
                          on_poll: Callable[[dict[str, dict | None]], None] | None = None) -> dict[str, dict | None]:
        """Poll until every mapping has left its transitional state (or, with gone, is deleted).

        Lambda has no waiter for mappings. One or two mappings are read with GetEventSourceMapping;
        more with one paginated listing per poll, never one call per mapping per poll.
        """
        pending = set(uuids)
        latest: dict[str, dict | None] = {}
        deadline = time.monotonic() + timeout
        interval = poll_interval()
        delay = min(0.5, interval)
        while pending:
            if len(pending) <= 2:
                seen = {u: self.get_mapping(u) for u in pending}
            else:
                listing = {m["UUID"]: m for m in self.list_mappings()}
                seen = {u: listing.get(u) for u in pending}
            latest.update(seen)
            for uuid, mapping in seen.items():
                if gone:
                    done = mapping is None
                else:
                    done = mapping is None or mapping.get("State") not in model.TRANSITIONAL_STATES
                if done:
                    pending.discard(uuid)
            if on_poll:
                on_poll(latest)
            if not pending:
                break
            if time.monotonic() + delay > deadline:
                states = ", ".join(f"{u} ({(latest.get(u) or {}).get('State', '?')})" for u in sorted(pending))
                raise EsmctlError(f"timed out after {timeout:g}s waiting for {states}")
            self._sleep(delay)
            delay = min(delay * 2, interval)
        return latest

    # -- functions --------------------------------------------------------------------------
    def get_function(self, name_or_arn: str) -> dict | None:
        try:
            return self.client("lambda").get_function(FunctionName=name_or_arn)
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return None
            raise

    # -- Kinesis stream consumers (enhanced fan-out) -------------------------------------------
    def stream_arn(self, name_or_arn: str) -> str:
        if name_or_arn.startswith("arn:"):
            return name_or_arn
        summary = self.client("kinesis").describe_stream_summary(StreamName=name_or_arn)
        return summary["StreamDescriptionSummary"]["StreamARN"]

    def list_consumers(self, stream_arn: str) -> list[dict]:
        paginator = self.client("kinesis").get_paginator("list_stream_consumers")
        out: list[dict] = []
        for page in paginator.paginate(StreamARN=stream_arn):
            out.extend(page.get("Consumers", []))
        return out

    def describe_consumer(self, *, arn: str | None = None, stream_arn: str | None = None,
                          name: str | None = None) -> dict | None:
        kwargs = {"ConsumerARN": arn} if arn else {"StreamARN": stream_arn, "ConsumerName": name}
        try:
            return self.client("kinesis").describe_stream_consumer(**kwargs)["ConsumerDescription"]
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return None
            raise

    def register_consumer(self, stream_arn: str, name: str) -> dict:
        """RegisterStreamConsumer; LimitExceeded (5/s, 5 CREATING at once) is retried by botocore."""
        return self.client("kinesis").register_stream_consumer(StreamARN=stream_arn, ConsumerName=name)["Consumer"]

    def deregister_consumer(self, arn: str) -> None:
        # By ARN only: by StreamARN+ConsumerName some endpoints remove the wrong consumers.
        self.client("kinesis").deregister_stream_consumer(ConsumerARN=arn)

    def wait_for_consumer(self, arn: str, *, gone: bool = False, timeout: float = 300,
                          on_poll: Callable[[dict | None], None] | None = None) -> dict | None:
        """Poll until the consumer is ACTIVE (or gone); Kinesis has no waiter for consumers."""
        deadline = time.monotonic() + timeout
        delay = min(0.5, poll_interval())
        while True:
            found = self.describe_consumer(arn=arn)
            if on_poll:
                on_poll(found)
            if (found is None) if gone else (found is not None and found.get("ConsumerStatus") == "ACTIVE"):
                return found
            if not gone and found is None:
                raise EsmctlError(f"consumer {arn} disappeared while waiting for it to become ACTIVE")
            if time.monotonic() + delay > deadline:
                state = found.get("ConsumerStatus") if found else "gone"
                raise EsmctlError(f"timed out after {timeout:g}s waiting for consumer {arn} ({state})")
            self._sleep(delay)
            delay = min(delay * 2, poll_interval())

    # -- CloudWatch ---------------------------------------------------------------------------
    def metric_data(self, queries: list[dict], start, end, period: int = 60) -> dict[str, list[float]]:
        """GetMetricData for many metrics: one call per 500 queries, never one per function.

        Each query is {"Id", "Namespace", "MetricName", "Dimensions", "Stat"}; returns Id -> values.
        """
        cw = self.client("cloudwatch")
        out: dict[str, list[float]] = {}
        for i in range(0, len(queries), 500):
            batch = [{
                "Id": q["Id"],
                "MetricStat": {"Metric": {"Namespace": q["Namespace"], "MetricName": q["MetricName"],
                                          "Dimensions": q["Dimensions"]},
                               "Period": period, "Stat": q.get("Stat", "Maximum")},
                "ReturnData": True,
            } for q in queries[i:i + 500]]
            paginator = cw.get_paginator("get_metric_data")
            for page in paginator.paginate(MetricDataQueries=batch, StartTime=start, EndTime=end):
                for r in page.get("MetricDataResults", []):
                    out.setdefault(r["Id"], []).extend(r.get("Values", []))
        return out

    # -- what doctor reads ------------------------------------------------------------------
    def account_settings(self) -> dict:
        return self.client("lambda").get_account_settings()

    def shard_count(self, source_arn: str) -> int | None:
        """Open shards of a Kinesis stream (or a consumer's stream) or a DynamoDB stream."""
        if ":kinesis:" in source_arn:
            stream = model.stream_of(source_arn)
            summary = self.client("kinesis").describe_stream_summary(StreamARN=stream)
            return summary["StreamDescriptionSummary"].get("OpenShardCount")
        if ":dynamodb:" in source_arn:
            client = self.client("dynamodbstreams")
            shards: list[dict] = []
            kwargs: dict[str, Any] = {"StreamArn": source_arn}
            while True:
                desc = client.describe_stream(**kwargs)["StreamDescription"]
                shards.extend(desc.get("Shards", []))
                last = desc.get("LastEvaluatedShardId")
                if not last:
                    break
                kwargs["ExclusiveStartShardId"] = last
            return sum(1 for s in shards if "EndingSequenceNumber" not in s.get("SequenceNumberRange", {}))
        return None

    def queue_visibility_timeout(self, queue_arn: str) -> int | None:
        parts = queue_arn.split(":")
        sqs = self.client("sqs")
        url = sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"]
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]
        return int(attrs["VisibilityTimeout"]) if "VisibilityTimeout" in attrs else None

    def simulate(self, role_arn: str, actions: list[str], resources: list[str]) -> dict[str, bool]:
        """IAM policy simulation: action -> allowed (for the given resources)."""
        iam = self.client("iam")
        out: dict[str, bool] = {}
        paginator = iam.get_paginator("simulate_principal_policy")
        for page in paginator.paginate(PolicySourceArn=role_arn, ActionNames=actions, ResourceArns=resources):
            for r in page.get("EvaluationResults", []):
                out[r["EvalActionName"]] = r["EvalDecision"] == "allowed"
        return out

    def role_policy_documents(self, role_arn: str) -> list[dict]:
        """The role's inline and attached policy documents (when simulation is not available)."""
        iam = self.client("iam")
        name = role_arn.rsplit("/", 1)[1]
        docs = []
        for page in iam.get_paginator("list_role_policies").paginate(RoleName=name):
            for policy in page["PolicyNames"]:
                docs.append(iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"])
        for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name):
            for attached in page["AttachedPolicies"]:
                policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
                version = iam.get_policy_version(PolicyArn=attached["PolicyArn"],
                                                 VersionId=policy["DefaultVersionId"])
                docs.append(version["PolicyVersion"]["Document"])
        return docs
