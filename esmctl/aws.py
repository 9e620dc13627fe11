"""The AWS boundary: the only module that talks to AWS (through botocore).

One thin client with only the calls esmctl needs, named for what they do and returning plain
values. Not-found becomes None where absence is an answer. Every failure leaves this module as one
of the typed errors below, so no other module reads botocore's error codes. Retries are botocore's
own (standard mode: throttling and 5xx are retried with backoff); esmctl adds only the polling
waits Lambda and Kinesis lack.
"""

from __future__ import annotations

import atexit
import functools
import gc
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import botocore.credentials
import botocore.exceptions
import botocore.parsers
import botocore.session
from botocore.config import Config

from esmctl import model, servicemodel
from esmctl.errors import EsmctlError, UsageProblem

DEFAULT_MAX_ATTEMPTS = 8
# Lambda's control plane allows 15 requests/s per account and region, shared by every caller and
# every API. esmctl paces itself to it (ESMCTL_LAMBDA_RATE to share it with others, 0 not to pace),
# with a small burst so that AWS's own bucket keeps room for jitter, and slows down when AWS says
# another caller takes a share.
LAMBDA_RATE = 15.0
LAMBDA_BURST = 5
# The 15 requests/s cover every control-plane API (ListTags, TagResource and UntagResource included) but these,
# which have quotas of their own (Lambda's quotas page: GetFunction 100/s, GetPolicy 15/s; invocations apart):
# paced with the rest, they would take turns that the writes need. The pacer keeps each of them to its own rate.
OWN_QUOTAS = {"GetFunction": 100.0, "GetPolicy": 15.0}
OUTSIDE_THE_QUOTA = frozenset({*OWN_QUOTAS, "Invoke", "InvokeAsync", "InvokeWithResponseStream"})


def in_the_quota(operation: str) -> bool:
    """Whether a Lambda operation counts against the account and region's 15 requests/s."""
    return operation not in OUTSIDE_THE_QUOTA


_last_collection_skipped = False


def _skip_the_last_collection() -> None:
    """botocore's models, with what a command read, are some 80,000 objects that live until the process
    ends; the interpreter's last garbage collection walks them all (~55 ms of every command). Frozen at
    exit, they are left to the operating system, which frees the process's memory anyway."""
    global _last_collection_skipped
    if not _last_collection_skipped:
        _last_collection_skipped = True
        atexit.register(gc.freeze)


@functools.cache
def _local_zone() -> Any:
    from dateutil.tz import tzlocal

    return tzlocal()


def _timestamp(value: Any) -> datetime:
    """botocore's parse_timestamp, with one local time zone for every value: botocore makes a new one for each
    (a listing of 5,000 mappings: 130 -> 70 ms). The same datetimes."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, _local_zone())
        except (OverflowError, OSError, ValueError):
            pass
    import botocore.utils

    return botocore.utils.parse_timestamp(value)


def poll_interval() -> float:
    # Seconds between polls while waiting; tests shorten it.
    return float(os.environ.get("ESMCTL_POLL_INTERVAL", "2"))


class AwsError(EsmctlError):
    """An AWS call that failed, said in one sentence (never with credentials); `code` is AWS's."""

    def __init__(self, message: str, *, code: str = "", operation: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.operation = operation

    def prefixed(self, what: str) -> AwsError:
        return type(self)(f"{what}: {self.message}", code=self.code, operation=self.operation)


class NotFound(AwsError):
    """The resource does not exist (ResourceNotFoundException)."""


class Conflict(AwsError):
    """It exists already (ResourceConflictException: a mapping of this function and source)."""


class InUse(AwsError):
    """It is busy changing (ResourceInUseException): wait for it to settle and try again."""


class Throttled(AwsError):
    """Still throttled after botocore's retries (TooManyRequestsException and kin)."""


class AccessDenied(AwsError):
    """The caller may not do this."""


class InvalidRequest(AwsError):
    """AWS (or botocore, before sending) refused the parameters."""


class InvalidParameters(InvalidRequest, UsageProblem):
    """botocore refused the parameters before sending: as given on the command line, a usage error."""


_BY_CODE: dict[str, type[AwsError]] = {
    "ResourceNotFoundException": NotFound, "NotFoundException": NotFound, "NoSuchEntity": NotFound,
    "ResourceConflictException": Conflict,
    "ResourceInUseException": InUse,
    "TooManyRequestsException": Throttled, "ThrottlingException": Throttled, "Throttling": Throttled,
    "LimitExceededException": Throttled, "RequestLimitExceeded": Throttled,
    "AccessDeniedException": AccessDenied, "AccessDenied": AccessDenied, "UnauthorizedOperation": AccessDenied,
    "InvalidParameterValueException": InvalidRequest, "ValidationException": InvalidRequest,
    "InvalidArgumentException": InvalidRequest, "InvalidRequestContentException": InvalidRequest,
}


def describe_error(exc: BaseException) -> str:
    """One plain sentence for an AWS or connection failure (never credentials)."""
    if isinstance(exc, AwsError):
        return exc.message
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


BOTOCORE_ERRORS = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError,
                    botocore.parsers.ResponseParserError)


def typed(exc: BaseException) -> AwsError:
    """The typed error for a botocore failure."""
    if isinstance(exc, AwsError):
        return exc
    if isinstance(exc, botocore.exceptions.ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        cls = _BY_CODE.get(code) or (NotFound if status == 404 else AwsError)
        return cls(describe_error(exc), code=code, operation=exc.operation_name)
    if isinstance(exc, botocore.exceptions.ParamValidationError):
        return InvalidParameters(describe_error(exc))
    return AwsError(describe_error(exc))


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except BOTOCORE_ERRORS as exc:
        raise typed(exc) from exc


class _Client:
    """A botocore client whose calls (and paginators) raise esmctl's typed errors."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.meta = client.meta

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if name == "get_paginator":
            return lambda op: _Paginator(attr(op))
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            with _translated():
                return attr(*args, **kwargs)

        return call


class _Paginator:
    def __init__(self, paginator: Any) -> None:
        self._paginator = paginator

    def paginate(self, **kwargs: Any) -> Iterator[dict]:
        with _translated():
            yield from self._paginator.paginate(**kwargs)


@contextmanager
def explain(what: str) -> Iterator[None]:
    """Say what was being done when an AWS call inside the block failed: `what: AWS's message`."""
    try:
        yield
    except AwsError as exc:
        raise exc.prefixed(what) from exc
    except BOTOCORE_ERRORS as exc:
        raise typed(exc).prefixed(what) from exc


def new_pacer(sleep: Callable[[float], None] = time.sleep) -> Pacer | None:
    """A pacer for one account and region's Lambda calls (None when ESMCTL_LAMBDA_RATE is 0: not paced)."""
    rate = float(os.environ.get("ESMCTL_LAMBDA_RATE", LAMBDA_RATE))
    return Pacer(rate, LAMBDA_BURST, sleep) if rate > 0 else None


class Aws:
    """Clients for one profile, region and endpoint, created on first use and shared by threads.

    `credentials` replaces the profile's credentials (an AssumeRole); `shares` names another Aws whose
    botocore session (its credentials: one AssumeRole for every region of an account) this one uses in
    its own region; `pacer` is shared with the other sessions of the same account and region, whose
    Lambda calls count against the same 15 requests/s (by default each session paces itself).
    """

    def __init__(self, profile: str | None = None, region: str | None = None,
                 endpoint_url: str | None = None, sleep: Callable[[float], None] = time.sleep, *,
                 credentials: AssumeRole | None = None, pacer: Pacer | None = None, shares: Aws | None = None) -> None:
        self._profile = profile
        # botocore reads AWS_DEFAULT_REGION; AWS_REGION is what the SDKs and the CLI v2 use.
        self._region = region or os.environ.get("AWS_REGION")
        self._endpoint_url = endpoint_url
        self._sleep = sleep
        self._lock = threading.Lock()
        self._session: botocore.session.Session | None = None
        self._clients: dict[str, Any] = {}
        self._account: str | None = None
        self._listings = 0  # listings under way: their first page names the account
        self._first_page = threading.Event()
        self._listing_failed: AwsError | None = None
        self._watcher: Watcher | None = None
        self.calls: dict[str, int] = {}
        self.throttled = 0  # 429s that botocore retried
        self._credentials = credentials
        self._shares = shares
        # A botocore session is not safe for concurrent create_client calls: one lock per session.
        self._creating: threading.Lock = shares._creating if shares is not None else threading.Lock()
        self.pacer: Pacer | None = pacer or new_pacer(sleep)

    # -- plumbing -------------------------------------------------------------------------
    @property
    def session(self) -> botocore.session.Session:
        # botocore's session, not boto3's: boto3 adds nothing esmctl uses and costs ~170 ms to import.
        if self._shares is not None:
            return self._shares.session
        with self._lock:
            if self._session is None:
                try:
                    session = botocore.session.Session(profile=self._profile)
                    session.register_component("data_loader", servicemodel.shared_loader(session))
                    session.get_component("response_parser_factory").set_parser_defaults(
                        timestamp_parser=_timestamp)
                    if self._region:
                        session.set_config_variable("region", self._region)
                    session.get_scoped_config()  # an unknown profile fails here, once
                    if self._credentials is not None:
                        self._credentials.install(session)
                except BOTOCORE_ERRORS as exc:
                    # Configuration, not a failed call: said the same wherever it surfaces.
                    raise EsmctlError(f"opening the AWS session: {describe_error(exc)}") from exc
                self._session = session
                _skip_the_last_collection()
            return self._session

    def credentials(self) -> Any:
        """The session's credentials object, resolved once (botocore keeps the keys inside it)."""
        session = self.session
        with self._creating:
            return session.get_credentials()

    def use_account(self, account: str) -> None:
        """The account these credentials act in is known (a role's own account): no GetCallerIdentity."""
        self._account = account

    def create_client(self, service: str, **kwargs: Any) -> Any:
        """A plain botocore client of this session and endpoint (what botocore's credential fetchers ask
        for: an STS client with given keys)."""
        session = self.session
        with self._creating:
            kwargs.setdefault("region_name", self._region or session.get_config_variable("region") or None)
            return session.create_client(service, endpoint_url=self._endpoint_url, **kwargs)

    @property
    def region(self) -> str:
        region = self._region or self.session.get_config_variable("region")
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
                try:
                    with _translated(), self._creating:
                        client = session.create_client(service, region_name=region,
                                                       endpoint_url=self._endpoint_url, config=config)
                except ValueError as exc:  # botocore's "Invalid endpoint: …", e.g. from AWS_ENDPOINT_URL
                    url = self._endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or str(exc).split(": ", 1)[-1]
                    raise UsageProblem(f"{url!r} is not an endpoint URL (--endpoint-url, AWS_ENDPOINT_URL): give "
                                       "http(s)://HOST[:PORT], e.g. http://127.0.0.1:4566") from exc
                client.meta.events.register("before-call", self._count)
                if service == "lambda" and self.pacer is not None:
                    client.meta.events.register("before-send", self.pacer.before_send)
                    client.meta.events.register_first("needs-retry", self._throttled)  # before the retrier
                self._clients[service] = _Client(client)
            return self._clients[service]

    def _count(self, model: Any, **_: Any) -> None:
        name = model.name
        with self._lock:
            self.calls[name] = self.calls.get(name, 0) + 1

    def _throttled(self, response: Any = None, event_name: str = "", **_: Any) -> None:
        """botocore is about to decide on a retry: count throttling, and slow every thread down."""
        if not in_the_quota(event_name.rpartition(".")[2]):
            return  # its own quota: says nothing about the one the pacer keeps to
        if response is not None and response[0] is not None and response[0].status_code == 429:
            with self._lock:
                self.throttled += 1
            self.pacer.slow_down()
        elif response is not None and response[0] is not None and response[0].status_code < 300:
            self.pacer.speed_up()

    @property
    def account(self) -> str:
        """The account the credentials act in: named by the mappings a listing under way returns (the account's
        own), else asked of STS (GetCallerIdentity)."""
        if self._account is None and self._listings:
            self._first_page.wait()
            if self._account is None and self._listing_failed is not None:
                raise self._listing_failed  # STS would only fail the same way, after its own retries
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
        with self._lock:
            self._listings += 1
        try:
            paginator = self.client("lambda").get_paginator("list_event_source_mappings")
            out: list[dict] = []
            for page in paginator.paginate(**kwargs):
                found = page.get("EventSourceMappings", [])
                if found and self._account is None:
                    self._account = _account_of(found[0])
                self._first_page.set()
                out.extend(found)
            return out
        except AwsError as exc:
            self._listing_failed = exc
            raise
        finally:
            with self._lock:
                self._listings -= 1
            self._first_page.set()

    def list_mappings_soon(self, pool: Any) -> Any:
        """list_mappings() in `pool`'s thread (a Future); until its first page is in, `account` waits for the
        account the listing names rather than asking STS."""
        with self._lock:
            self._listings += 1  # counted now: the account may be asked before the thread starts
        future = pool.submit(self.list_mappings)
        future.add_done_callback(lambda _: self._listing_ended())
        return future

    def _listing_ended(self) -> None:
        with self._lock:
            self._listings -= 1
        self._first_page.set()

    def get_mapping(self, uuid: str) -> dict | None:
        try:
            resp = self.client("lambda").get_event_source_mapping(UUID=uuid)
        except NotFound:
            return None
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

    def function_tags(self, name_or_arn: str) -> dict[str, str] | None:
        """A function's tags, read by GetFunction (None when there is no such function): GetFunction has its own
        100 requests/s, where ListTags takes a turn of the 15/s every write needs. AWS includes the tags for a
        caller allowed lambda:ListTags, as esmctl's policy is."""
        found = self.get_function(name_or_arn)
        return None if found is None else found.get("Tags", {})

    def tag_mapping(self, arn: str, tags: dict[str, str]) -> None:
        self.client("lambda").tag_resource(Resource=arn, Tags=tags)

    def untag_mapping(self, arn: str, keys: Iterable[str]) -> None:
        self.client("lambda").untag_resource(Resource=arn, TagKeys=list(keys))

    @property
    def watcher(self) -> Watcher:
        with self._lock:
            if self._watcher is None:
                self._watcher = Watcher(self, sleep=self._sleep)
            return self._watcher

    def wait_for_mapping(self, uuid: str, *, gone: bool = False, timeout: float = 300,
                         on_poll: Callable[[dict | None], None] | None = None) -> dict | None:
        """Wait until the mapping has left its transitional state (or, with gone, is deleted)."""
        return self.watcher.wait(uuid, gone=gone, deadline=time.monotonic() + timeout, on_poll=on_poll)

    # -- functions --------------------------------------------------------------------------
    def get_function(self, name_or_arn: str) -> dict | None:
        try:
            return self.client("lambda").get_function(FunctionName=name_or_arn)
        except NotFound:
            return None

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
        except NotFound:
            return None

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
    def metric_data(self, queries: list[dict], start: datetime, end: datetime,
                    period: int = 60) -> dict[str, list[tuple[datetime, float]]]:
        """GetMetricData for many metrics: one call per 500 queries, never one per function.

        Each query is {"Id", "Namespace", "MetricName", "Dimensions", "Stat"}; returns
        Id -> [(timestamp, value)], newest first.
        """
        cw = self.client("cloudwatch")
        out: dict[str, list[tuple[datetime, float]]] = {}
        for i in range(0, len(queries), 500):
            batch = [{
                "Id": q["Id"],
                "MetricStat": {"Metric": {"Namespace": q["Namespace"], "MetricName": q["MetricName"],
                                          "Dimensions": q["Dimensions"]},
                               "Period": period, "Stat": q.get("Stat", "Maximum")},
                "ReturnData": True,
            } for q in queries[i:i + 500]]
            paginator = cw.get_paginator("get_metric_data")
            for page in paginator.paginate(MetricDataQueries=batch, StartTime=start, EndTime=end,
                                           ScanBy="TimestampDescending"):
                for r in page.get("MetricDataResults", []):
                    out.setdefault(r["Id"], []).extend(zip(r.get("Timestamps", []), r.get("Values", []), strict=False))
        for points in out.values():
            points.sort(key=lambda p: p[0], reverse=True)
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


def _account_of(mapping: dict) -> str | None:
    """The account of a listed mapping (arn:PARTITION:lambda:REGION:ACCOUNT:event-source-mapping:UUID): a listing
    holds the mappings of the account the caller acts in."""
    parts = (mapping.get("EventSourceMappingArn") or "").split(":")
    return parts[4] if len(parts) > 5 and parts[4].isdigit() else None


class AssumeRole:
    """A role's credentials, assumed with a base session's by botocore's own machinery.

    botocore's AssumeRoleCredentialFetcher (RoleSessionName, optional ExternalId) under
    DeferredRefreshableCredentials: the role is assumed on the first call that needs it and again before
    its keys expire, from whatever credentials the base session has (a profile, its source_profile, web
    identity as CI has it, an instance role, keys). The keys live only inside botocore: esmctl never
    reads, prints or stores them.
    """

    def __init__(self, base: Aws, role_arn: str, *, session_name: str = "esmctl", external_id: str | None = None,
                 region: str | None = None) -> None:
        self.base, self.role_arn, self.session_name = base, role_arn, session_name
        self.external_id, self.region = external_id, region

    def install(self, session: botocore.session.Session) -> None:
        """Make the role's credentials the only ones `session` knows."""
        source = self.base.credentials()
        if source is None:
            raise EsmctlError(f"no AWS credentials to assume {self.role_arn} with: set AWS_PROFILE or "
                              "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or pass --profile")
        extra = {"RoleSessionName": self.session_name}
        if self.external_id:
            extra["ExternalId"] = self.external_id
        creator = self.base.create_client
        if self.region and not self.base.session.get_config_variable("region"):
            creator = functools.partial(self.base.create_client, region_name=self.region)
        fetcher = botocore.credentials.AssumeRoleCredentialFetcher(
            client_creator=creator, source_credentials=source, role_arn=self.role_arn, extra_args=extra)
        credentials = botocore.credentials.DeferredRefreshableCredentials(
            refresh_using=fetcher.fetch_credentials, method="assume-role")
        session.register_component("credential_provider",
                                   botocore.credentials.CredentialResolver([_Given(credentials)]))


class _Given(botocore.credentials.CredentialProvider):
    METHOD = "esmctl-assume-role"
    CANONICAL_NAME = "custom-esmctl-assume-role"

    def __init__(self, credentials: Any) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> Any:
        return self._credentials


class WaitTimeout(EsmctlError):
    """A wait ran out of time; says which state the mapping was last seen in."""


class Watcher:
    """Waits for many mappings at once, for any number of threads.

    One poll per round serves every waiter: GetEventSourceMapping for one or two mappings, else one
    paginated listing, never a call per mapping per waiter. A waiter only trusts a poll that started
    after it began to wait, so it never takes a state from before its own write for the answer.
    """

    def __init__(self, aws: Aws, sleep: Callable[[float], None] = time.sleep) -> None:
        self._aws = aws
        self._sleep = sleep
        self._cond = threading.Condition()
        self._waiting: Counter[str] = Counter()
        self._seen: dict[str, tuple[int, dict | None]] = {}  # uuid -> (poll number, mapping or None if gone)
        self._started = 0  # polls started
        self._polling = False
        self._delay = 0.0

    def wait(self, uuid: str, *, gone: bool = False, deadline: float,
             on_poll: Callable[[dict | None], None] | None = None) -> dict | None:
        with self._cond:
            self._waiting[uuid] += 1
            need = self._started + 1
            try:
                while True:
                    number, mapping = self._seen.get(uuid, (0, None))
                    if number >= need:
                        if on_poll:
                            on_poll(mapping)
                        if (mapping is None) if gone else (mapping is None or
                                                           mapping.get("State") not in model.TRANSITIONAL_STATES):
                            return mapping
                        need = number + 1
                    left = deadline - time.monotonic()
                    if left <= 0:
                        state = "still there" if gone and mapping else (mapping or {}).get("State", "unknown")
                        raise WaitTimeout(f"timed out waiting for {uuid} to be {'gone' if gone else 'settled'} "
                                          f"(last seen: {state})")
                    if self._polling:
                        self._cond.wait(timeout=left)
                    else:
                        self._poll_once(left)
            finally:
                self._waiting[uuid] -= 1
                if not self._waiting[uuid]:
                    del self._waiting[uuid]
                    if not self._waiting:
                        self._delay = 0.0

    def retrying(self, uuid: str, call: Callable[[], Any], *, deadline: float,
                 on_poll: Callable[[dict | None], None] | None = None) -> Any:
        """call(); while the mapping refuses it with ResourceInUse (Creating, Updating…), wait for it to settle
        and call again, until `deadline`. Every command that changes a mapping goes through here."""
        while True:
            try:
                return call()
            except InUse:
                if time.monotonic() >= deadline:
                    raise
                self.wait(uuid, deadline=deadline, on_poll=on_poll)

    def wait_many(self, targets: dict[str, bool], *, deadline: float) -> tuple[dict[str, dict | None],
                                                                                dict[str, dict | None]]:
        """Wait for many mappings in one loop (uuid -> gone?): one poll per round for all of them.
        Returns (settled or gone: uuid -> last seen, still waiting at the deadline: uuid -> last seen)."""
        pending, done, delay = dict(targets), {}, 0.0
        latest: dict[str, dict | None] = {}
        while pending:
            if delay:
                self._sleep(max(0.0, min(delay, deadline - time.monotonic())))
            if len(pending) <= 2:
                latest = {u: self._aws.get_mapping(u) for u in pending}
            else:
                listing = {m["UUID"]: m for m in self._aws.list_mappings()}
                latest = {u: listing.get(u) for u in pending}
            for uuid, gone in list(pending.items()):
                m = latest[uuid]
                if (m is None) if gone else (m is None or m.get("State") not in model.TRANSITIONAL_STATES):
                    done[uuid] = m
                    del pending[uuid]
            if pending and time.monotonic() >= deadline:
                return done, {u: latest.get(u) for u in pending}
            delay = min(max(0.5, delay * 2), poll_interval())
        return done, {}

    def _poll_once(self, left: float) -> None:
        """Poll for every waiter (called with the lock held; released while AWS is asked)."""
        self._polling = True
        self._started += 1
        number, pending, delay = self._started, sorted(self._waiting), self._delay
        self._delay = min(max(0.5, self._delay * 2), poll_interval())
        seen: dict[str, dict | None] = {}
        self._cond.release()
        try:
            if delay:
                self._sleep(min(delay, left))
            if len(pending) <= 2:
                seen = {u: self._aws.get_mapping(u) for u in pending}
            else:
                listing = {m["UUID"]: m for m in self._aws.list_mappings()}
                seen = {u: listing.get(u) for u in pending}
        finally:
            self._cond.acquire()
            self._polling = False
            for uuid, mapping in seen.items():
                self._seen[uuid] = (number, mapping)
            self._cond.notify_all()


class Pacer:
    """One request rate for every thread's Lambda calls: a token bucket refilled at `rate` per second.

    AWS throttles the whole account at 15 requests/s; bouncing off that limit costs every other caller
    (deploy tools, the console) a 429 too. So esmctl paces itself under it, halves its rate when AWS
    throttles anyway (someone else takes a share) and creeps back up as calls succeed.
    """

    def __init__(self, rate: float, burst: int, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] | None = None) -> None:
        self.ceiling = rate
        self.rate = rate
        self.burst = burst
        self._clock = clock or (lambda: time.monotonic())
        self._tokens = float(burst)
        self._at = self._clock()
        self._lock = threading.Lock()
        self._sleep = sleep
        self.charged: Counter[str] = Counter()  # attempts that took a token of the shared quota, by operation
        self._owns: dict[str, Pacer] = {}  # the APIs with quotas of their own, each its own bucket

    def own(self, operation: str) -> Pacer:
        """The bucket of an API with a quota of its own (OWN_QUOTAS)."""
        with self._lock:
            if operation not in self._owns:
                # A burst of half its quota: the other half of AWS's bucket is left to other callers (the 15/s
                # keeps a third, as its writes are what other tools need most).
                rate = OWN_QUOTAS[operation]
                self._owns[operation] = Pacer(rate, max(self.burst, int(rate) // 2), self._sleep, self._clock)
            return self._owns[operation]

    def before_send(self, event_name: str = "", **_: Any) -> None:
        """Wait for a token (botocore calls this before every attempt, retries included) if the call counts
        against the quota (`event_name` is botocore's, `before-send.lambda.OPERATION`)."""
        operation = event_name.rpartition(".")[2]
        if operation in OWN_QUOTAS:
            return self.own(operation).before_send()
        if operation and not in_the_quota(operation):
            return
        with self._lock:
            self.charged[operation] += 1
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
            self._tokens -= 1
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait:
            self._sleep(wait)

    def slow_down(self) -> None:
        with self._lock:
            self.rate = max(1.0, self.rate / 2)
            self._tokens = min(self._tokens, 0.0)

    def speed_up(self) -> None:
        with self._lock:
            self.rate = min(self.ceiling, self.rate + 0.5)
