"""The calls esmctl makes of AWS, named for what they do and returning plain values.

Not-found becomes None where absence is an answer; failures are esmctl.aws.errors' typed errors.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from esmctl import arns
from esmctl.aws.errors import AwsError, NotFound, explain
from esmctl.aws.pacing import Pacer, undelayed_listing
from esmctl.aws.session import AssumeRole, Clients
from esmctl.aws.waiting import Watcher, poll_interval
from esmctl.errors import EsmctlError
from esmctl.mapping import identity


class Listing:
    """A plan's listing of every mapping, under way in a thread of its own while the plan resolves the spec's
    functions and consumers: the slow part, mostly waiting for pages, which the plan reads as they come (pages()).
    Until its first page is in, the Aws's `account` waits for the account the listing names rather than asking STS.
    abandon() ends it at its next page: a plan that fails first says so without waiting for the rest. Not a daemon:
    the process ends once it has, never inside a credential prompt (an MFA code) it is answering."""

    def __init__(self, aws: Aws) -> None:
        self.aws = aws
        self._pages: queue.SimpleQueue[list[dict] | None] = queue.SimpleQueue()  # None: the end
        self._ended = threading.Event()
        self._error: BaseException | None = None
        self._stop = threading.Event()
        aws._listing_begun()  # counted now: the account may be asked before the thread starts
        threading.Thread(target=self._run, name="esmctl-listing").start()

    def _run(self) -> None:
        try:
            with undelayed_listing():  # what the user waits for, before anything is written
                for page in self.aws.mapping_pages():
                    self._pages.put(page)
                    if self._stop.is_set():
                        break
        except BaseException as exc:  # noqa: BLE001 - the reader's to raise, at the end of the pages
            self._error = exc
        finally:
            self.aws._listing_ended()
            self._ended.set()
            self._pages.put(None)

    def pages(self) -> Iterator[list[dict]]:
        """Each page's mappings as it comes in; the listing's error, if it failed, after the pages before it. Read
        once."""
        while (page := self._pages.get()) is not None:
            yield page
        if self._error is not None:
            raise self._error

    def failed(self) -> bool:
        """Whether the listing failed (waits for it to end)."""
        self._ended.wait()
        return self._error is not None

    def abandon(self) -> None:
        """Not needed after all: it stops at its next page."""
        self._stop.set()


class Aws(Clients):
    """The calls of one profile, region and endpoint (its Clients), shared by threads."""

    def __init__(self, profile: str | None = None, region: str | None = None,
                 endpoint_url: str | None = None, sleep: Callable[[float], None] = time.sleep, *,
                 credentials: AssumeRole | None = None, pacer: Pacer | None = None,
                 shares: Clients | None = None) -> None:
        super().__init__(profile, region, endpoint_url, sleep, credentials=credentials, pacer=pacer, shares=shares)
        self._account: str | None = None
        self._listings = 0  # listings under way: their first page names the account
        self._first_page = threading.Event()
        self._listing_failed: AwsError | None = None
        self._watcher: Watcher | None = None
        self._unanswered: set[str] = set()  # services that gave no answer of their own to a read that may fail

    def use_account(self, account: str) -> None:
        """The account these credentials act in is known (a role's own account): no GetCallerIdentity."""
        self._account = account

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

    def function_ref(self, name_or_arn: str) -> identity.FunctionRef:
        if name_or_arn.startswith("arn:"):
            return identity.function_ref(name_or_arn, self.region, "")
        return identity.function_ref(name_or_arn, self.region, self.account, self.partition)

    # -- event source mappings ------------------------------------------------------------
    def list_mappings(self, source: str | None = None) -> list[dict]:
        """Every mapping (of one source), in one paginated listing (AWS pages at 100).

        Functions are matched by the callers: some endpoints match the FunctionName filter as an
        exact string against the spelling used at creation.
        """
        return [m for page in self.mapping_pages(source) for m in page]

    def mapping_pages(self, source: str | None = None) -> Iterator[list[dict]]:
        """list_mappings() page by page; the first page in names the account."""
        kwargs: dict[str, str] = {"EventSourceArn": source} if source else {}
        self._listing_begun()
        try:
            paginator = self.client("lambda").get_paginator("list_event_source_mappings")
            for page in paginator.paginate(**kwargs):
                found = page.get("EventSourceMappings", [])
                if found and self._account is None:
                    self._account = _account_of(found[0])
                self._first_page.set()
                yield found
        except AwsError as exc:
            self._listing_failed = exc
            raise
        finally:
            self._listing_ended()

    def _listing_begun(self) -> None:
        with self._lock:
            self._listings += 1

    def _listing_ended(self) -> None:
        with self._lock:
            self._listings -= 1
        self._first_page.set()  # whoever waits for the account stops waiting: named, or asked of STS

    def list_mappings_soon(self) -> Listing:
        """list_mappings() begun in a thread of its own, for a plan: see Listing."""
        return Listing(self)

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

    def source_exists(self, source_arn: str) -> bool | None:
        """Does a Kinesis stream or stream consumer, DynamoDB stream or SQS queue of this account and region
        exist? None when it cannot be told: no access to ask, another account or region (Lambda's role may read
        what these credentials cannot), another kind of source, its service not answering. Only a sure "no"
        stops a plan: Kinesis's and DynamoDB Streams' ResourceNotFoundException (a consumer ARN names one
        registration, its creation time included), or a listing of the account's queues by the name that
        succeeds without it (SQS says a queue it will not show "does not exist or you do not have access to
        it"). One read in the source's own service, outside Lambda's 15 requests/s."""
        arn = arns.parse(source_arn)
        if arn is None or arn.region != self.region or arn.account != self.account:
            return None
        service = arn.service
        if service == "dynamodb" and "/stream/" in source_arn:
            service = "dynamodbstreams"
        elif service not in ("kinesis", "sqs"):
            return None
        with self._lock:
            if service in self._unanswered:  # once is enough to wait for a service that does not answer
                return None
        try:
            if service == "kinesis" and arn.is_consumer:  # one being deregistered is as good as gone
                found = self.client("kinesis").describe_stream_consumer(ConsumerARN=source_arn)
                return found["ConsumerDescription"].get("ConsumerStatus") != "DELETING"
            if service == "kinesis":
                self.client("kinesis").describe_stream_summary(StreamARN=source_arn)
                return True
            if service == "dynamodbstreams":
                self.client("dynamodbstreams").describe_stream(StreamArn=source_arn, Limit=1)
                return True
            sqs = self.client("sqs")
            pages = sqs.get_paginator("list_queues").paginate(QueueNamePrefix=arn.resource,
                                                              PaginationConfig={"PageSize": 1000})
            if any(url.rsplit("/", 1)[-1] == arn.resource for page in pages for url in page.get("QueueUrls", [])):
                return True
            try:  # not listed: a queue made a moment ago may not be yet, and is found by its name
                sqs.get_queue_url(QueueName=arn.resource, QueueOwnerAWSAccountId=arn.account)
                return True
            except AwsError as exc:  # the listing, and SQS's "does not exist (or no access)", agree
                return False if exc.code in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist") else None
        except AwsError as exc:
            if exc.code == "ResourceNotFoundException":
                return False
            if not exc.code:  # no answer of the service's own (a connection refused, a proxy's page)
                with self._lock:
                    self._unanswered.add(service)
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
        arn = arns.parse(source_arn)
        service = arn.service if arn is not None else ""
        if service == "kinesis":
            summary = self.client("kinesis").describe_stream_summary(StreamARN=str(arn.stream))
            return summary["StreamDescriptionSummary"].get("OpenShardCount")
        if service == "dynamodb":
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
        queue = arns.parse(queue_arn)
        if queue is None:
            return None
        sqs = self.client("sqs")
        url = sqs.get_queue_url(QueueName=queue.resource, QueueOwnerAWSAccountId=queue.account)["QueueUrl"]
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
        role = arns.parse(role_arn)
        name = role.name if role is not None else role_arn
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
    arn = arns.parse(mapping.get("EventSourceMappingArn"))
    return arn.account if arn is not None and arn.account.isdigit() else None
