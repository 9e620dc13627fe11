"""A thin HTTP layer in front of moto's server that behaves like AWS where moto does not.

moto is a faithful store but a lenient service (see shared/docs/moto-fidelity.md). This layer
forwards every request to moto and adds, for the Lambda event source mapping API:

- 409 ResourceConflictException on a second mapping of the same (function, source);
- 404 on update/delete of an unknown UUID;
- transitional states: Creating/Updating/Enabling/Disabling/Deleting for the next
  `transitional_views` reads of a mapping, and 400 ResourceInUseException on changing it meanwhile;
- the defaults AWS returns for unset fields (optionally the legacy 10000/604800 sentinels);
- paging at `page_size` with an opaque Marker/NextMarker (one snapshot per listing), and AWS's
  FunctionName filter (name or ARN);
- mappings on Kinesis consumer ARNs (moto refuses them), and the qualified FunctionArn of a
  mapping on an alias or version (moto answers the unqualified one);
- for Kinesis: consumer ARNs end with `:<creation epoch>` as on AWS (moto leaves it out), a
  re-registered name fails (ResourceInUseException), consumers stay CREATING for
  `consumer_creating_views` reads;
- the mapping kinds moto cannot hold (Amazon MSK, self-managed Kafka, Amazon MQ, DocumentDB):
  the layer keeps them itself (held_mappings.py) and merges them into List, Get, Update, Delete
  and the tag API;
- the duplicate check made atomic: one lock per mapping identity around check-and-create, so
  concurrent creates of one identity give one 201 and 409s while others run in parallel;
- StartingPositionTimestamp echoed (moto drops it); DestinationConfig refused without an
  OnFailure Destination, and cleared by an empty one; partial ProvisionedPollerConfigs completed;
- KMS-encrypted filter criteria: null in List, plaintext in Get/Delete unless
  `kms_decrypt_denied`, which gives FilterCriteriaError instead;
- accounts as AWS has them: STS AssumeRole into `arn:aws:iam::<account>:role/<name>` gives keys that
  act in that account (moto's own multi-account support), refused (AccessDenied) when the role does
  not exist there or its trust policy asks for another sts:ExternalId; the mappings the layer keeps
  itself (held kinds, Deleting ones) and the rate limit are per account and region, as AWS's are;
- fault injection: fixed latency, a Lambda control-plane rate limit per account and region (429
  TooManyRequests; its buckets refill by `clock`, and latency waits with `sleep`, both injectable so a
  test decides when time passes), a number of forced 429s (of any Lambda call, or of an operation's next
  calls), an error for the next (or nth) call of an operation, and pausing the nth call of an operation
  before or after it is carried out (for kill -9 tests).

It counts every request by operation, so tests and benchmarks can assert what was called.
Only 127.0.0.1: it binds there and forwards only to the upstream it is given.
"""

from __future__ import annotations

import contextlib
import copy
import http.client
import json
import re
import threading
import time
import urllib.parse
import uuid as uuidlib
import xml.etree.ElementTree as ElementTree
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

from esmctl.sandbox.held_mappings import (
    AwsError,
    HeldMappings,
    conflict_message,
    create_request,
    epoch,
    fn_parts,
    identity,
    new_mapping,
    source_kind,
    update_request,
    updated_mapping,
)

ESM_PATH = "/2015-03-31/event-source-mappings"
DEFAULT_ACCOUNT = "123456789012"  # moto's, for keys it did not issue through AssumeRole
_CREDENTIAL_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d+/([^/]+)/")  # SigV4: key/date/region/service
_STS_NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"
_CONSUMER_EPOCH = re.compile(r"(/consumer/[^:/]+):\d+$")  # the epoch AWS appends to consumer ARNs

# What AWS returns for fields a request left unset (written from AWS's responses, on purpose
# independent of esmctl.model's table).
_AWS_STREAM = {
    "BatchSize": 100, "MaximumBatchingWindowInSeconds": 0, "ParallelizationFactor": 1,
    "MaximumRetryAttempts": -1, "MaximumRecordAgeInSeconds": -1, "BisectBatchOnFunctionError": False,
    "TumblingWindowInSeconds": 0, "DestinationConfig": {"OnFailure": {}}, "FunctionResponseTypes": [],
    "LastProcessingResult": "No records processed",
}
_AWS_SQS = {"BatchSize": 10, "MaximumBatchingWindowInSeconds": 0, "FunctionResponseTypes": []}


def _sts_error(status: int, code: str, message: str) -> tuple[int, dict, bytes]:
    body = (f'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
            f"<Code>{code}</Code><Message>{escape(message)}</Message></Error><RequestId>0</RequestId></ErrorResponse>")
    return status, {"Content-Type": "text/xml"}, body.encode()


def _external_ids(trust: dict) -> set[str]:
    """The sts:ExternalId values a trust policy's StringEquals conditions ask for (empty: none asked)."""
    statements = trust.get("Statement", [])
    out: set[str] = set()
    for st in statements if isinstance(statements, list) else [statements]:
        wanted = ((st or {}).get("Condition") or {}).get("StringEquals", {}).get("sts:ExternalId")
        if wanted:
            out.update([wanted] if isinstance(wanted, str) else wanted)
    return out


def _aws_defaults(source: str) -> dict[str, Any]:
    service = source.split(":")[2] if source.count(":") >= 5 else ""
    if service in ("kinesis", "dynamodb"):
        return _AWS_STREAM
    if service == "sqs":
        return _AWS_SQS
    return {}


# How a reply shows a mapping: List hides KMS-encrypted filters, Get and Delete show them to a
# caller allowed kms:Decrypt, and Create/Update echo what the caller just sent.
LIST, READ, WRITE = "list", "read", "write"


class PausedCall:
    """The nth call of an operation, held before or after the layer carries it out.

    `reached` is set when that call arrives; `release()` lets it go on, `release(drop=True)`
    closes its connection with no reply (before: never carried out; after: carried out, the
    reply lost). A call nobody releases is dropped after the layer's `pause_timeout`.
    """

    def __init__(self, operation: str, nth: int, when: str) -> None:
        if when not in ("before", "after") or nth < 1:
            raise ValueError("pause needs nth >= 1 and when 'before' or 'after'")
        self.operation, self.nth, self.when = operation, nth, when
        self.reached = threading.Event()
        self.timed_out = False
        self._released = threading.Event()
        self._drop = False
        self._seen = 0

    def release(self, drop: bool = False) -> None:
        self._drop = drop
        self._released.set()

    def _arrived(self) -> bool:
        """Count a call of the operation; True for the nth."""
        self._seen += 1
        return self._seen == self.nth

    def _hold(self, timeout: float) -> bool:
        """Wait for release; True if the connection is to be dropped."""
        self.reached.set()
        if not self._released.wait(timeout):
            # Dropped rather than carried out late, so a forgotten pause cannot change state
            # behind the next test's back.
            self.timed_out = True
            return True
        return self._drop


class _Dropped(Exception):
    """Close the connection without a reply."""


class FidelityProxy:
    def __init__(self, upstream: str, *, transitional_views: int = 0, page_size: int = 100,
                 latency: float = 0.0, rate_limit: float | None = None, legacy_sentinels: bool = False,
                 port: int = 0, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        parsed = urllib.parse.urlsplit(upstream)
        self.upstream_host, self.upstream_port = parsed.hostname, parsed.port
        self.transitional_views = transitional_views
        self.page_size = page_size
        self.latency = latency
        self.rate_limit = rate_limit
        # What the rate limit's buckets refill by, and what `latency` waits with: a test gives a clock it moves
        # itself, so whether a call is throttled depends on the calls made, not on how fast a machine sends them.
        self.clock, self.sleep = clock, sleep
        self._default_clock, self._default_sleep = clock, sleep
        self.legacy_sentinels = legacy_sentinels
        self.calls: Counter[str] = Counter()
        self.log: list[str] = []  # operations in the order they arrived
        self.throttled: Counter[str] = Counter()
        self.force_throttle = 0  # the next N Lambda requests answer 429
        self.throttle_next: Counter[str] = Counter()  # op -> how many of its next calls answer 429
        # op -> (status, code, message): the next call of op fails once; with a 4th item n,
        # (status, code, message, n), the nth call from now does (the ones before go through).
        self.fail_next: dict[str, tuple[int, str, str] | tuple[int, str, str, int]] = {}
        self.kms_decrypt_denied = False  # the caller lacks kms:Decrypt on mappings' KMS keys
        self.pause_timeout = 30.0  # seconds a paused call waits for release() before it is dropped
        self.lose_reply: set[str] = set()  # ops whose next reply is lost after the call is carried out
        self.overrides: dict[str, dict[str, Any]] = {}  # uuid -> fields only AWS would set (LastProcessingResult…)
        self.unreserved_concurrency = 1000  # GetAccountSettings, which moto lacks
        self.consumer_creating_views = 0
        self._creating: dict[str, int] = {}  # consumer ARN (without epoch) -> CREATING views left
        self.bodies: dict[str, list[dict]] = {}  # JSON request bodies by operation, for assertions
        self._lock = threading.Lock()
        self._pending: dict[str, list[Any]] = {}  # uuid -> [state, views left, last body]
        self._consumer_sources: dict[str, str] = {}  # uuid -> consumer ARN moto could not store
        self._qualified: dict[str, str] = {}  # uuid -> alias/version ARN (moto answers the unqualified one)
        self._timestamps: dict[str, float | int] = {}  # uuid -> StartingPositionTimestamp (moto drops it)
        self.held = HeldMappings()  # the kinds moto cannot hold
        self._identity_locks: dict[tuple, threading.Lock] = {}  # identity -> its check-and-create lock
        self._pauses: list[PausedCall] = []
        self._snapshots: dict[str, list[dict]] = {}  # NextMarker token -> the rest of a listing
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}  # (account, region) -> (tokens, at)
        self._key_accounts: dict[str, str] = {}  # access key issued by AssumeRole -> the role's account
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FidelityProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release_pauses()
        self._server.shutdown()
        self._server.server_close()

    def pause(self, operation: str, nth: int = 1, when: str = "before") -> PausedCall:
        """Hold the nth call of `operation` from now (counting the calls the layer carries out,
        not those answered by an injected 429 or failure), before or after carrying it out."""
        paused = PausedCall(operation, nth, when)
        with self._lock:
            self._pauses.append(paused)
        return paused

    def _release_pauses(self) -> None:
        with self._lock:
            pauses, self._pauses = self._pauses, []
        for p in pauses:
            p.release(drop=True)

    def clear_counts(self) -> None:
        """Forget the calls counted so far (the emulated state stays)."""
        with self._lock:
            self.calls.clear()
            self.log.clear()
            self.throttled.clear()
            self.bodies.clear()

    def reset(self) -> None:
        """Back to a fresh layer, for a freshly reset emulator."""
        self._release_pauses()  # dropped: a call paused before the reset must not land after it
        self.clear_counts()
        self.held.clear()
        with self._lock:
            self._pending.clear()
            self._consumer_sources.clear()
            self._qualified.clear()
            self._timestamps.clear()
            self._identity_locks.clear()
            self._buckets.clear()
            self.clock, self.sleep = self._default_clock, self._default_sleep
            self._key_accounts.clear()
            self._snapshots.clear()
            self.kms_decrypt_denied = False
            self.pause_timeout = 30.0
            self.force_throttle = 0
            self.throttle_next.clear()
            self.fail_next.clear()
            self.lose_reply.clear()
            self.overrides.clear()
            self.unreserved_concurrency = 1000
            self.consumer_creating_views = 0
            self._creating.clear()

    def writes(self) -> int:
        """Calls that change something (Create/Update/Delete/Tag/Untag/Register/Deregister)."""
        verbs = ("Create", "Update", "Delete", "Tag", "Untag", "Register", "Deregister", "Put")
        return sum(n for op, n in self.calls.items() if op.startswith(verbs))

    # -- plumbing -------------------------------------------------------------------------
    def _forward(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict, bytes]:
        conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=60)
        try:
            # The client's Host goes on: moto writes it into the URLs it returns (SQS queue URLs), which
            # must name this layer, not moto's own port.
            fwd = {k: v for k, v in headers.items() if k.lower() not in ("content-length", "connection")}
            fwd["Content-Length"] = str(len(body))
            conn.request(method, path, body=body, headers=fwd)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, dict(resp.getheaders()), data
        finally:
            conn.close()

    def _upstream_json(self, method: str, path: str, body: Any = None, headers: dict | None = None) -> tuple[int, Any]:
        raw = json.dumps(body).encode() if body is not None else b""
        status, _, data = self._forward(method, path, raw, headers or {})
        try:
            return status, json.loads(data or b"null")
        except ValueError:
            return status, None

    @staticmethod
    def operation(method: str, path: str, headers: dict[str, str], body: bytes) -> str:
        target = headers.get("X-Amz-Target") or headers.get("x-amz-target")
        if target:
            return target.split(".")[-1]
        if "/operation/" in path:  # smithy rpc-v2
            return path.rsplit("/operation/", 1)[1].split("?")[0]
        route = path.split("?")[0].rstrip("/")
        if route.startswith(ESM_PATH):
            has_id = route != ESM_PATH
            return {("POST", False): "CreateEventSourceMapping", ("GET", False): "ListEventSourceMappings",
                    ("GET", True): "GetEventSourceMapping", ("PUT", True): "UpdateEventSourceMapping",
                    ("DELETE", True): "DeleteEventSourceMapping"}.get((method, has_id), f"{method} {route}")
        if "/tags/" in route:
            return {"GET": "ListTags", "POST": "TagResource", "DELETE": "UntagResource"}.get(method, method)
        if route.endswith("/account-settings"):
            return "GetAccountSettings"
        if "/functions" in route:
            return f"{method} functions"
        if body:
            query = urllib.parse.parse_qs(body.decode(errors="replace"))
            if "Action" in query:
                return query["Action"][0]
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
        return query.get("Action", [f"{method} {route}"])[0]

    @staticmethod
    def in_the_quota(method: str, path: str) -> bool:
        """Whether a Lambda call counts against the 15 requests/s: GetFunction (100/s), GetPolicy (15/s) and
        invocations have quotas of their own, as on AWS."""
        parts = path.split("?")[0].rstrip("/").split("/")  # "", version, "functions", NAME, ...
        own = len(parts) >= 4 and parts[2] == "functions" and (method, tuple(parts[4:])) in {
            ("GET", ()), ("GET", ("policy",)), ("POST", ("invocations",))}
        return not own

    def _take_token(self, scope: tuple[str, str]) -> bool:
        """A token bucket per account and region, shared by every Lambda control-plane call there, as AWS's
        15 requests/s are: another account, or another region of the same account, has a bucket of its own.
        A bucket holds `rate_limit` tokens and refills at `rate_limit` per second of `clock`."""
        if not self.rate_limit:
            return True
        with self._lock:
            now = self.clock()
            tokens, last = self._buckets.get(scope, (self.rate_limit, now))
            tokens = min(self.rate_limit, tokens + (now - last) * self.rate_limit)
            if tokens < 1:
                self._buckets[scope] = (tokens, now)
                return False
            self._buckets[scope] = (tokens - 1, now)
            return True

    # -- accounts ----------------------------------------------------------------------------
    def scope(self, headers: dict[str, str]) -> tuple[str, str]:
        """(account, region) a request acts in: moto's `x-moto-account-id` header, else the account of the
        role its access key was issued for (AssumeRole replies pass through here), else moto's default
        account; the region of its SigV4 credential scope."""
        lower = {k.lower(): v for k, v in headers.items()}
        found = _CREDENTIAL_SCOPE.search(lower.get("authorization", ""))
        key, region = found.groups() if found else ("", "us-east-1")
        if lower.get("x-moto-account-id"):
            return lower["x-moto-account-id"], region
        with self._lock:
            return self._key_accounts.get(key, DEFAULT_ACCOUNT), region

    @staticmethod
    def _in_scope(m: dict, scope: tuple[str, str]) -> bool:
        parts = (m.get("EventSourceMappingArn") or "").split(":")
        return len(parts) < 6 or (parts[4], parts[3]) == scope

    def _assume_role(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
        """AssumeRole (and AssumeRoleWithWebIdentity, as CI uses it) as AWS answers it: refused unless the role
        exists in its account (moto would hand out keys for any ARN) and its trust policy's sts:ExternalId,
        if any, is the one sent. The keys it gives act in the role's account; the layer remembers which, for
        its per-account state."""
        form = dict(urllib.parse.parse_qsl(body.decode(errors="replace")))
        role_arn = form.get("RoleArn", "")
        parts = role_arn.split(":")
        account, name = (parts[4], parts[5].rsplit("/", 1)[-1]) if len(parts) == 6 else ("", "")
        trust = self._role_trust(account, name) if account else None
        wanted = _external_ids(trust) if trust is not None else set()
        if trust is None or (wanted and form.get("ExternalId") not in wanted):
            caller = self.scope(headers)[0]
            return _sts_error(403, "AccessDenied", f"User: arn:aws:iam::{caller}:user/moto is not authorized to "
                                                   f"perform: sts:AssumeRole on resource: {role_arn}")
        status, reply_headers, data = self._forward(method, path, body, headers)
        if status < 300:
            try:
                creds = ElementTree.fromstring(data).find(f".//{_STS_NS}Credentials")
                key = creds.findtext(f"{_STS_NS}AccessKeyId") if creds is not None else None
            except ElementTree.ParseError:
                key = None
            if key:
                with self._lock:
                    self._key_accounts[key] = account
        return status, reply_headers, data

    def _role_trust(self, account: str, name: str) -> dict | None:
        """The role's trust policy (None: no such role in that account), from moto's IAM in that account."""
        query = urllib.parse.urlencode({"Action": "GetRole", "RoleName": name, "Version": "2010-05-08"}).encode()
        status, _, data = self._forward("POST", "/", query, {
            "x-moto-account-id": account, "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAFIDELITYLAYER000/20240101/us-east-1/iam/aws4_request, "
                             "SignedHeaders=host, Signature=0"})
        if status != 200:
            return None
        try:
            document = ElementTree.fromstring(data).findtext(".//{*}AssumeRolePolicyDocument") or "{}"
            return json.loads(urllib.parse.unquote(document))
        except (ElementTree.ParseError, ValueError):
            return {}

    # -- the AWS behaviours -----------------------------------------------------------------
    def _dress(self, m: dict, view: str = READ) -> dict:
        """A mapping as AWS would show it: defaults filled, transitional state, consumer source,
        StartingPositionTimestamp, encrypted filters as `view` shows them. Call with _lock held."""
        m = copy.deepcopy(m)
        uuid = m.get("UUID")
        if uuid in self._consumer_sources:
            m["EventSourceArn"] = self._consumer_sources[uuid]
        if uuid in self._qualified:
            m["FunctionArn"] = self._qualified[uuid]
        if uuid in self._timestamps:
            m["StartingPositionTimestamp"] = self._timestamps[uuid]
        for k, v in _aws_defaults(m.get("EventSourceArn", "")).items():
            m.setdefault(k, copy.deepcopy(v))
        if self.legacy_sentinels and m.get("MaximumRetryAttempts") == -1:
            m["MaximumRetryAttempts"] = 10000
        if self.legacy_sentinels and m.get("MaximumRecordAgeInSeconds") == -1:
            m["MaximumRecordAgeInSeconds"] = 604800
        m.update(copy.deepcopy(self.overrides.get(uuid, {})))
        pending = self._pending.get(uuid)
        if pending:
            m["State"] = pending[0]
        if m.get("KMSKeyArn") and m.get("FilterCriteria"):
            if view == LIST:
                m["FilterCriteria"] = None
            elif view == READ and self.kms_decrypt_denied:
                del m["FilterCriteria"]
                m["FilterCriteriaError"] = {
                    "ErrorCode": "AccessDeniedException",
                    "Message": f"Lambda could not decrypt the filter criteria: the caller is not authorized to "
                               f"perform kms:Decrypt on {m['KMSKeyArn']}",
                }
        return m

    def settle_all(self) -> None:
        """Every mapping leaves its transitional state now (a mapping held Creating for as long as anyone
        looks settles; one Deleting is gone)."""
        with self._lock:
            self._pending.clear()

    def _viewed(self, uuid: str) -> None:
        pending = self._pending.get(uuid)
        if pending:
            pending[1] -= 1
            if pending[1] <= 0:
                del self._pending[uuid]

    def _ghosts(self, scope: tuple[str, str]) -> list[dict]:
        """Deleting mappings of an account and region: AWS still lists them, and they still block a
        duplicate create there."""
        with self._lock:
            return [copy.deepcopy(p[2]) for p in self._pending.values()
                    if p[0] == "Deleting" and self._in_scope(p[2], scope)]

    def _held(self, scope: tuple[str, str]) -> list[dict]:
        return [m for m in self.held.all() if self._in_scope(m, scope)]

    def _all_mappings(self, headers: dict) -> list[dict]:
        scope = self.scope(headers)
        _, body = self._upstream_json("GET", ESM_PATH + "/", headers=headers)  # moto's are per account already
        live = (body or {}).get("EventSourceMappings", []) + self._held(scope)
        seen = {m["UUID"] for m in live}
        return live + [m for m in self._ghosts(scope) if m["UUID"] not in seen]

    def _identity_lock(self, key: tuple) -> threading.Lock:
        with self._lock:
            return self._identity_locks.setdefault(key, threading.Lock())

    def _clash(self, key: tuple, source: str, headers: dict, exclude: str = "") -> dict | None:
        """The mapping (other than `exclude`) that already has identity `key`. Call with the
        identity's lock held, so nothing of that identity appears meanwhile."""
        scope = self.scope(headers)
        if key[2]:  # a kind the layer holds
            candidates = self._held(scope)
        elif source:  # ask moto for the mappings of this source only (a consumer's are stored on its stream)
            query = urllib.parse.urlencode({"EventSourceArn": source.split("/consumer/")[0]})
            _, body = self._upstream_json("GET", f"{ESM_PATH}/?{query}", headers=headers)
            candidates = (body or {}).get("EventSourceMappings", [])
        else:
            candidates = []
        candidates += self._ghosts(scope)
        with self._lock:
            dressed = [self._dress(m) for m in candidates]
        return next((m for m in dressed if m["UUID"] != exclude and identity(m) == key), None)

    def _conflict(self, existing: dict, function_name: str) -> tuple[int, dict, bytes]:
        return self._error(409, "ResourceConflictException", conflict_message(existing, fn_parts(function_name)[0]))

    def _function_arn(self, function_name: str, headers: dict) -> str:
        """The ARN a mapping on `function_name` reports (qualified for an alias or version), after
        asking moto that the function exists, as AWS checks on create."""
        name, qualifier = fn_parts(function_name)
        query = "?" + urllib.parse.urlencode({"Qualifier": qualifier}) if qualifier else ""
        status, body = self._upstream_json("GET", f"/2015-03-31/functions/{urllib.parse.quote(name, safe='')}{query}",
                                           headers=headers)
        if status >= 300 or not isinstance(body, dict) or "Configuration" not in body:
            raise AwsError(404, "ResourceNotFoundException", f"Function not found: {function_name}")
        base = body["Configuration"]["FunctionArn"].split(":function:")[0] + f":function:{name}"
        return f"{base}:{qualifier}" if qualifier else base

    def _remember_qualifier(self, uuid: str, moto_arn: str, function_name: str) -> None:
        """moto answers the unqualified ARN of a mapping on an alias or version: keep AWS's."""
        name, qualifier = fn_parts(function_name)
        with self._lock:
            if qualifier and fn_parts(moto_arn)[1] != qualifier:
                self._qualified[uuid] = f"{moto_arn.split(':function:')[0]}:function:{name}:{qualifier}"
            else:
                self._qualified.pop(uuid, None)

    def _error(self, status: int, code: str, message: str, extra: dict | None = None) -> tuple[int, dict, bytes]:
        # The header is what REST-JSON (Lambda) clients read; `__type` what JSON-1.1 (Kinesis) ones read.
        body = {"__type": code, "Type": "User", "message": message, **(extra or {})}
        return status, {"x-amzn-ErrorType": code, "Content-Type": "application/json"}, json.dumps(body).encode()

    def _ok(self, body: Any, status: int = 200) -> tuple[int, dict, bytes]:
        return status, {"Content-Type": "application/json"}, json.dumps(body).encode()

    def _injected_failure(self, op: str) -> tuple[int, str, str] | None:
        with self._lock:
            failure = self.fail_next.get(op)
            if failure is None:
                return None
            if len(failure) == 4 and failure[3] > 1:
                self.fail_next[op] = (*failure[:3], failure[3] - 1)
                return None
            del self.fail_next[op]
            return failure[0], failure[1], failure[2]

    def _pauses_for(self, op: str) -> list[PausedCall]:
        with self._lock:
            return [p for p in self._pauses if p.operation == op and p._arrived()]

    def _hold(self, pauses: list[PausedCall], when: str) -> None:
        for p in pauses:
            if p.when == when and p._hold(self.pause_timeout):
                raise _Dropped

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict, bytes]:
        op = self.operation(method, path, headers, body)
        with self._lock:
            self.calls[op] += 1
            self.log.append(op)
            if body[:1] == b"{":
                try:
                    self.bodies.setdefault(op, []).append(json.loads(body))
                except ValueError:
                    pass
        if self.latency:
            self.sleep(self.latency)
        lambda_call = path.startswith(("/2015-03-31/", "/2017-03-31/", "/2018-10-31/"))
        if lambda_call and self.in_the_quota(method, path):
            with self._lock:
                forced = self.force_throttle > 0 or self.throttle_next[op] > 0
                if self.throttle_next[op] > 0:
                    self.throttle_next[op] -= 1
                elif forced:
                    self.force_throttle -= 1
            if forced or not self._take_token(self.scope(headers)):
                with self._lock:
                    self.throttled[op] += 1
                return self._error(429, "TooManyRequestsException", "Rate exceeded",
                                   {"Reason": "CallerRateLimitExceeded", "retryAfterSeconds": "1"})
        injected = self._injected_failure(op)
        if injected:
            if injected[0] == 429:
                with self._lock:
                    self.throttled[op] += 1  # a 429 however it came: what a client retried
            return self._error(*injected)
        pauses = self._pauses_for(op)
        self._hold(pauses, "before")
        reply = self._carry_out(method, path, headers, body, op)
        self._hold(pauses, "after")
        return reply

    def _carry_out(self, method: str, path: str, headers: dict[str, str], body: bytes,
                   op: str) -> tuple[int, dict, bytes]:
        route = path.split("?")[0].rstrip("/")
        if route == "/2016-08-19/account-settings":
            return self._ok({"AccountLimit": {"ConcurrentExecutions": 1000,
                                              "UnreservedConcurrentExecutions": self.unreserved_concurrency},
                             "AccountUsage": {"FunctionCount": 0}})
        if route.startswith(ESM_PATH):
            return self._esm(method, path, route, headers, body, op)
        if op in ("ListTags", "TagResource", "UntagResource"):
            arn = urllib.parse.unquote(route.split("/tags/", 1)[1])
            if self.held.holds_arn(arn):  # moto does not know these ARNs
                return self._held_tags(op, arn, path, body)
        if op in ("AssumeRole", "AssumeRoleWithWebIdentity"):
            return self._assume_role(method, path, headers, body)
        if op == "RegisterStreamConsumer":
            return self._consumer_reply(op, *self._register_consumer(method, path, headers, body))
        if op in ("DescribeStreamConsumer", "ListStreamConsumers", "DeregisterStreamConsumer"):
            req = json.loads(body or b"{}")
            if req.get("ConsumerARN"):
                req["ConsumerARN"] = _CONSUMER_EPOCH.sub(r"\1", req["ConsumerARN"])
                body = json.dumps(req).encode()
            return self._consumer_reply(op, *self._forward(method, path, body, headers))
        return self._forward(method, path, body, headers)

    def _held_tags(self, op: str, arn: str, path: str, body: bytes) -> tuple[int, dict, bytes]:
        if op == "ListTags":
            return self._ok({"Tags": self.held.tags(arn)})
        if op == "TagResource":
            self.held.tag(arn, json.loads(body or b"{}").get("Tags") or {})
        else:
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
            self.held.untag(arn, query.get("tagKeys", []))
        return 204, {}, b""

    def _consumer_reply(self, op: str, status: int, headers: dict, data: bytes) -> tuple[int, dict, bytes]:
        """Consumer ARNs as AWS writes them (with the creation epoch), and CREATING for a while."""
        if status >= 300:
            return status, headers, data
        reply = json.loads(data or b"{}")
        found = [reply["Consumer"]] if "Consumer" in reply else []
        found += [reply["ConsumerDescription"]] if "ConsumerDescription" in reply else []
        found += reply.get("Consumers", [])
        with self._lock:
            for c in found:
                bare = c["ConsumerARN"]
                if op == "RegisterStreamConsumer" and self.consumer_creating_views:
                    self._creating[bare] = self.consumer_creating_views
                left = self._creating.get(bare, 0)
                if left:
                    c["ConsumerStatus"] = "CREATING"
                    if op == "DescribeStreamConsumer":
                        self._creating[bare] = left - 1
                c["ConsumerARN"] = f"{bare}:{int(float(c.get('ConsumerCreationTimestamp') or 0))}"
        return status, headers, json.dumps(reply).encode()

    def _register_consumer(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
        req = json.loads(body or b"{}")
        list_headers = {**headers, "X-Amz-Target": "Kinesis_20131202.ListStreamConsumers"}
        _, existing = self._upstream_json("POST", "/", {"StreamARN": req.get("StreamARN")}, list_headers)
        for c in (existing or {}).get("Consumers", []):
            if c.get("ConsumerName") == req.get("ConsumerName"):
                return 400, {"Content-Type": "application/x-amz-json-1.1"}, json.dumps({
                    "__type": "ResourceInUseException",
                    "message": f"Consumer {c['ConsumerARN']} under stream {req.get('StreamARN')} already exists",
                }).encode()
        return self._forward(method, path, body, headers)

    def _esm(self, method: str, path: str, route: str, headers: dict, body: bytes, op: str) -> tuple[int, dict, bytes]:
        uuid = route[len(ESM_PATH) + 1:] if route != ESM_PATH else ""
        if op == "ListEventSourceMappings":
            return self._list(path, headers)
        if op == "CreateEventSourceMapping":
            return self._create(path, headers, body)
        scope = self.scope(headers)
        with self._lock:
            pending = self._pending.get(uuid)
            if pending and pending[0] == "Deleting" and not self._in_scope(pending[2], scope):
                pending = None  # another account's or region's mapping: this caller cannot see it
            if pending and pending[0] == "Deleting":
                if method == "GET":
                    dressed = self._dress(pending[2])  # before the view is used up, so it shows Deleting
                    self._viewed(uuid)
                    return self._ok(dressed)
                return self._error(409 if method == "DELETE" else 400, "ResourceInUseException",
                                   f"Cannot {method} the event source mapping because it is in use.")
        current = self.held.get(uuid)
        if current is not None and not self._in_scope(current, scope):
            current = None
        held = current is not None
        if not held:
            status, current = self._upstream_json("GET", f"{ESM_PATH}/{uuid}", headers=headers)
            if status == 404 or not current:
                return self._error(404, "ResourceNotFoundException", "The resource you requested does not exist.")
        if method == "GET":
            with self._lock:
                dressed = self._dress(current)
                self._viewed(uuid)
            return self._ok(dressed)
        with self._lock:
            if pending and self.transitional_views:
                return self._error(400, "ResourceInUseException",
                                   f"Cannot update the event source mapping because it is in use ({pending[0]}).")
        if method == "PUT":
            return self._update(uuid, current, held, path, headers, body)
        if method == "DELETE":
            return self._delete(uuid, current, held, path, headers, body)
        return self._forward(method, path, body, headers)

    def _update(self, uuid: str, current: dict, held: bool, path: str, headers: dict,
                body: bytes) -> tuple[int, dict, bytes]:
        changes = json.loads(body or b"{}")
        with self._lock:
            shown = self._dress(current)
        moving = "FunctionName" in changes and fn_parts(changes["FunctionName"]) != fn_parts(shown["FunctionArn"])
        # A mapping moved to another function takes that identity: the same check as a create.
        new_key = identity({**shown, "FunctionArn": changes["FunctionName"]}) if moving else None
        try:
            with self._identity_lock(new_key) if new_key else contextlib.nullcontext():
                if new_key:
                    clash = self._clash(new_key, shown.get("EventSourceArn", ""), headers, exclude=uuid)
                    if clash:
                        return self._conflict(clash, changes["FunctionName"])
                if held:
                    function_arn = self._function_arn(changes["FunctionName"], headers) if moving else None
                    updated = updated_mapping(current, changes, function_arn)
                    self.held.put(updated)
                    status = 202
                else:
                    sent = json.dumps(update_request(current, changes)).encode()
                    status, hdrs, data = self._forward("PUT", path, sent, headers)
                    if status >= 300:
                        return status, hdrs, data
                    updated = json.loads(data)
                    if "FunctionName" in changes:
                        self._remember_qualifier(uuid, updated.get("FunctionArn", ""), changes["FunctionName"])
        except AwsError as e:
            return self._error(e.status, e.code, e.message)
        with self._lock:
            if self.transitional_views:
                enabled = changes.get("Enabled")
                state = "Updating"
                if enabled is True and current.get("State") == "Disabled":
                    state = "Enabling"
                elif enabled is False and current.get("State") == "Enabled":
                    state = "Disabling"
                self._pending[uuid] = [state, self.transitional_views, None]
            return self._ok(self._dress(updated, WRITE), status)

    def _delete(self, uuid: str, current: dict, held: bool, path: str, headers: dict,
                body: bytes) -> tuple[int, dict, bytes]:
        with self._lock:
            shown = self._dress(current)
        # Under the identity's lock, so a create of the same identity sees it either live or Deleting.
        with self._identity_lock(identity(shown)):
            if held:
                if self.held.remove(uuid) is None:
                    return self._error(404, "ResourceNotFoundException", "The resource you requested does not exist.")
            else:
                status, hdrs, data = self._forward("DELETE", path, body, headers)
                if status >= 300:
                    return status, hdrs, data
            with self._lock:
                if self.transitional_views:
                    self._pending[uuid] = ["Deleting", self.transitional_views, dict(current)]
                reply = self._dress({**current, "State": "Deleting"})
                if not self.transitional_views:
                    self._consumer_sources.pop(uuid, None)
        return self._ok(reply, 202)

    def _create(self, path: str, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
        try:
            req = create_request(json.loads(body or b"{}"))
        except AwsError as e:
            return self._error(e.status, e.code, e.message)
        source = req.get("EventSourceArn", "")
        key = identity(req)
        # Check-and-create under the identity's own lock: atomic for one identity, while creates
        # of other identities (the bulk of an apply) still run in parallel.
        with self._identity_lock(key):
            clash = self._clash(key, source, headers)
            if clash:
                return self._conflict(clash, req.get("FunctionName", ""))
            if source_kind(req):
                try:
                    created = new_mapping(req, self._function_arn(req.get("FunctionName", ""), headers))
                except AwsError as e:
                    return self._error(e.status, e.code, e.message)
                self.held.put(created, req.get("Tags"))
                status = 201
            else:
                consumer = source if ":kinesis:" in source and "/consumer/" in source else ""
                sent = {**req, "EventSourceArn": consumer.split("/consumer/")[0]} if consumer else req
                status, hdrs, data = self._forward("POST", path, json.dumps(sent).encode(), headers)
                if status >= 300:
                    return status, hdrs, data
                created = json.loads(data)
                self._remember_qualifier(created["UUID"], created.get("FunctionArn", ""), req.get("FunctionName", ""))
                with self._lock:
                    if consumer:
                        self._consumer_sources[created["UUID"]] = consumer
                    if req.get("StartingPositionTimestamp") is not None:
                        self._timestamps[created["UUID"]] = epoch(req["StartingPositionTimestamp"])
            with self._lock:
                if self.transitional_views:
                    self._pending[created["UUID"]] = ["Creating", self.transitional_views, None]
                reply = self._dress(created, WRITE)
        if "CreateEventSourceMapping" in self.lose_reply:
            self.lose_reply.discard("CreateEventSourceMapping")
            return self._error(500, "ServiceException", "The reply was lost (injected)")
        return self._ok(reply, status)

    def _list(self, path: str, headers: dict) -> tuple[int, dict, bytes]:
        """A page of the listing. The first page reads every mapping, filters and sorts them; the pages
        after it come from that snapshot, named by the opaque NextMarker (`TOKEN:OFFSET`), as a listing
        on AWS is one pass however it is paged. Only the page is dressed, with the state of the moment."""
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(path).query))
        token, _, offset = (query.get("Marker") or "").rpartition(":")
        start = int(offset or 0)
        size = min(int(query.get("MaxItems") or self.page_size), self.page_size)
        with self._lock:
            listing = self._snapshots.pop(token, None) if token else None
        if listing is None:
            token, listing = uuidlib.uuid4().hex, self._listing(query, headers)
        with self._lock:
            page = [self._dress(m, LIST) for m in listing[start:start + size]]
            for m in listing:  # a listing is a view of every mapping, as a read
                self._viewed(m["UUID"])
            reply: dict[str, Any] = {"EventSourceMappings": page}
            if start + size < len(listing):
                reply["NextMarker"] = f"{token}:{start + size}"
                self._snapshots[token] = listing
                while len(self._snapshots) > 64:  # listings never finished
                    self._snapshots.pop(next(iter(self._snapshots)))
        return self._ok(reply)

    def _listing(self, query: dict[str, str], headers: dict) -> list[dict]:
        """Every mapping the caller may see that the query's filters select, by UUID (undressed)."""
        items = self._all_mappings(headers)
        with self._lock:
            shown = [(m, *self._shown_identity(m)) for m in items]
        if "EventSourceArn" in query:
            shown = [x for x in shown if x[2] == query["EventSourceArn"]]
        if "FunctionName" in query:
            want = fn_parts(query["FunctionName"])
            shown = [x for x in shown if fn_parts(x[1]) == want or (not want[1] and fn_parts(x[1])[0] == want[0])]
        return sorted((m for m, _, _ in shown), key=lambda m: m["UUID"])

    def _shown_identity(self, m: dict) -> tuple[str, str | None]:
        """(FunctionArn, EventSourceArn) as _dress would show them. Call with _lock held."""
        uuid = m.get("UUID")
        override = self.overrides.get(uuid, {})
        function = override.get("FunctionArn", self._qualified.get(uuid, m.get("FunctionArn", "")))
        source = override.get("EventSourceArn", self._consumer_sources.get(uuid, m.get("EventSourceArn")))
        return function, source

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                try:
                    status, headers, data = proxy.handle(self.command, self.path, dict(self.headers), body)
                except _Dropped:
                    self.close_connection = True  # the client sees the connection close with no reply
                    return
                except Exception as exc:  # a broken layer must not hang the client
                    status, headers, data = 500, {"Content-Type": "text/plain"}, f"fidelity layer: {exc!r}".encode()
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        if k.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                            self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client is gone (killed while its call was held)
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

            def log_message(self, *args: Any) -> None:
                pass

        return Handler
