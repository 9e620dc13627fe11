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

Built in layers, each a module: upstream.py (forwarding to moto, AWS's error replies), accounts.py
(who a request acts for, AssumeRole), streams.py (Kinesis consumers, table streams), mapping_api.py (the event
source mapping API), and here the server, the knobs and counts, and fault injection (pauses.py: held calls).
"""

from __future__ import annotations

import contextlib
import copy
import json
import socket
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from esmctl.aws.pacing import in_the_quota
from esmctl.sandbox.held_mappings import HeldMappings
from esmctl.sandbox.mapping_api import ESM_PATH, MappingApi
from esmctl.sandbox.pauses import Dropped, PausedCall
from esmctl.sandbox.routes import LAMBDA_PATH, lambda_operation


class _Server(ThreadingHTTPServer):
    """The layer's HTTP server. An AWS endpoint takes as many connections at once as its callers open; socketserver's
    listen queue holds 5, and the kernel drops the sixth caller's connection until its client sends it again, a
    second later: 20 threads of one apply (or 12 targets of a fleet) opening their connections at once waited 1 s
    for a few of them, at random."""

    request_queue_size = socket.SOMAXCONN
    daemon_threads = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._open: set[socket.socket] = set()  # the connections being served (kept alive between calls)
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End every connection still open: a stopped layer answers nothing. A client kept alive past one sandbox
        (a session's boto3 client, seed's cached ones) would otherwise go on talking to it, unseen by the next
        sandbox on that port and its knobs, and each connection kept a thread and a descriptor."""
        with self._open_lock:
            still = list(self._open)
        for connection in still:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)  # its handler reads the end and closes it


class FidelityProxy(MappingApi):
    """The layer: moto's server behind an HTTP server on 127.0.0.1 that answers as AWS does (its
    behaviours in MappingApi, Accounts and Upstream), with the knobs and counts tests set and read."""

    def __init__(self, upstream: str, *, transitional_views: int = 0, page_size: int = 100,
                 latency: float = 0.0, rate_limit: float | None = None, legacy_sentinels: bool = False,
                 port: int = 0, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, app: Callable[..., Any] | None = None) -> None:
        super().__init__(upstream, app)
        self.transitional_views = transitional_views
        self.page_size = page_size
        self.latency = latency
        self.rate_limit = rate_limit
        # What the rate limit's buckets refill by, and what `latency` waits with: a test gives a clock it moves
        # itself, so whether a call is throttled depends on the calls made, not on how fast a machine sends them.
        self.clock, self.sleep = clock, sleep
        self._default_clock, self._default_sleep = clock, sleep
        self.legacy_sentinels = legacy_sentinels
        # the knobs as given: reset() (and so Sandbox.reset and restore) puts them back
        self._knobs = {"transitional_views": transitional_views, "page_size": page_size, "latency": latency,
                       "rate_limit": rate_limit, "legacy_sentinels": legacy_sentinels}
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
        self._server = _Server(("127.0.0.1", port), self._handler())
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
        self._server.close_connections()

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
            for name, value in self._knobs.items():
                setattr(self, name, value)
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

    # What the layer holds of the emulated world, beside moto: its knobs, counts, pauses and listings are not in it.
    _STATE = ("_pending", "_consumer_sources", "_qualified", "_timestamps", "_key_accounts", "overrides", "_creating")

    def state(self) -> dict[str, Any]:
        """A copy of what the layer holds of the world (for `Sandbox.snapshot`): the mappings it keeps and their tags,
        what it remembers of moto's mappings (qualified FunctionArns, consumer sources, StartingPositionTimestamps,
        transitional states, AWS-only fields) and the account of each key AssumeRole gave."""
        with self._lock:
            mine = copy.deepcopy({name: getattr(self, name) for name in self._STATE})
        return {"held": self.held.state(), **mine}

    def load_state(self, state: dict[str, Any]) -> None:
        """The layer holding a copy of `state` (from `state()`) instead of what it held."""
        state = copy.deepcopy(state)  # one copy: `state` stays as it was, for the next restore
        self.held.load(state.pop("held"))
        with self._lock:
            for name in self._STATE:
                value = getattr(self, name)
                value.clear()
                value.update(state[name])

    def writes(self) -> int:
        """Calls that change something (Create/Update/Delete/Tag/Untag/Register/Deregister)."""
        verbs = ("Create", "Update", "Delete", "Tag", "Untag", "Register", "Deregister", "Put")
        return sum(n for op, n in self.calls.items() if op.startswith(verbs))

    @staticmethod
    def operation(method: str, path: str, headers: dict[str, str], body: bytes) -> str:
        target = headers.get("X-Amz-Target") or headers.get("x-amz-target")
        if target:
            return target.split(".")[-1]
        if "/operation/" in path:  # smithy rpc-v2
            return path.rsplit("/operation/", 1)[1].split("?")[0]
        route = path.split("?")[0].rstrip("/")
        if LAMBDA_PATH.match(route):
            return lambda_operation(method, path) or f"{method} {route}"
        if body:
            query = urllib.parse.parse_qs(body.decode(errors="replace"))
            if "Action" in query:
                return query["Action"][0]
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
        return query.get("Action", [f"{method} {route}"])[0]

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
                raise Dropped

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict, bytes]:
        """One call's reply. With `latency`, the call takes that long in all, its work included, as a call to AWS
        takes about as long whatever other callers do: the emulator's work (one Python process, where AWS serves
        accounts and regions apart) is not added to it, so calls made at once are not answered one after the other
        as that process gets to them."""
        started = self.clock()
        reply = self._handle(method, path, headers, body)
        if self.latency:
            left = self.latency - (self.clock() - started)
            if left > 0:
                self.sleep(left)
        return reply

    def _handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict, bytes]:
        op = self.operation(method, path, headers, body)
        with self._lock:
            self.calls[op] += 1
            self.log.append(op)
            if body[:1] == b"{":
                try:
                    self.bodies.setdefault(op, []).append(json.loads(body))
                except ValueError:
                    pass
        # Every Lambda control-plane call shares the 15 requests/s, but those with quotas of their own (GetFunction,
        # GetPolicy, invocations: the facts sheet), as esmctl's own pacer counts them.
        if LAMBDA_PATH.match(path) and in_the_quota(op):
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
        with self._lock:
            lost = op in self.lose_reply and reply[0] < 300
            if lost:
                self.lose_reply.discard(op)
        if lost:  # carried out, the reply lost on its way: what a client sees of a dropped connection
            return self._error(500, "ServiceException", "The reply was lost (injected)")
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
        streams = self._stream_call(op, method, path, headers, body)
        if streams is not None:
            return streams
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

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # A reply goes out in two writes (the headers, then the body): with Nagle's algorithm the body waits
            # for the client's delayed ACK of the headers, ~40 ms of every call.
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                try:
                    status, headers, data = proxy.handle(self.command, self.path, dict(self.headers), body)
                except Dropped:
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
