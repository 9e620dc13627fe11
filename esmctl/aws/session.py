"""The AWS session: one botocore session (profile, region, endpoint, credentials) and its clients.

Clients are created on first use and shared by threads; their calls raise esmctl's typed errors, count
themselves and, for Lambda, are paced. AssumeRole gives a session a role's credentials.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import botocore.credentials
import botocore.parsers
import botocore.session
from botocore.config import Config

from esmctl import collector, servicemodel
from esmctl.aws.errors import BOTOCORE_ERRORS, describe_error, translated
from esmctl.aws.pacing import Pacer, in_the_quota, new_pacer
from esmctl.errors import EsmctlError, UsageProblem

DEFAULT_MAX_ATTEMPTS = 8


@functools.cache
def _share_what_sessions_recompute() -> None:
    """A botocore session registers some 3,600 built-in handlers, and for each one botocore reads the handler's
    signature (inspect) and maps the event name through its aliases, from scratch in every session: ~8 of the ~12 ms
    a session costs. Both answers depend only on what they are given (a function's code, an event name), so one
    memo per process serves every session: a fleet makes one per target, the test suite thousands. No credential,
    profile or setting is in them. Left as botocore has it if its internals are not where they were."""
    import botocore.hooks

    original_accepts = getattr(botocore.hooks, "accepts_kwargs", None)
    aliaser = getattr(botocore.hooks, "EventAliaser", None)
    original_alias = getattr(aliaser, "_alias_event_name", None)
    aliases = getattr(botocore.hooks, "EVENT_ALIASES", None)
    if original_accepts is None or original_alias is None or aliases is None:
        return
    accepts: dict[Any, Any] = {}

    def accepts_kwargs(func: Any) -> Any:
        code = getattr(getattr(func, "__func__", func), "__code__", None)
        if code is None or hasattr(func, "__signature__"):  # partials, callable objects: asked each time
            return original_accepts(func)
        if code not in accepts:
            accepts[code] = original_accepts(func)
        return accepts[code]

    names: dict[str, str] = {}

    def _alias_event_name(self: Any, event_name: str) -> str:
        if self._event_aliases is not aliases:
            return original_alias(self, event_name)
        if event_name not in names:
            names[event_name] = original_alias(self, event_name)
        return names[event_name]

    botocore.hooks.accepts_kwargs = accepts_kwargs
    aliaser._alias_event_name = _alias_event_name


def _timestamp(value: Any) -> datetime:
    """botocore's parse_timestamp for the epoch seconds Lambda returns, in the local time zone as the C library
    gives it (the offset in force at that moment) instead of dateutil's tzlocal, whose conversion is Python: the
    same instants, ~2 µs a value instead of 8-25 (a listing of 5,000 mappings has 5,000). The offsets and ISO 8601
    text are tzlocal's too, but where tzlocal's rule is wrong (Lord Howe's half-hour DST, Casablanca in Ramadan)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, timezone.utc).astimezone()
        except (OverflowError, OSError, ValueError):
            pass
    import botocore.utils

    return botocore.utils.parse_timestamp(value)


def _an_aws_reply(http_response: Any = None, model: Any = None, **_: Any) -> None:
    """A success answered with something else (a proxy's or a captive portal's page, a web server at the endpoint
    URL) is not AWS's: botocore reads a JSON service's reply that is not JSON as an empty one (no mapping, no
    findings, exit 0); it is an error. Judged by the body (an emulator may say text/html of JSON)."""
    if getattr(http_response, "status_code", 500) >= 300 or getattr(model, "has_streaming_output", True):
        return  # (a streamed body is the caller's to read)
    body = getattr(http_response, "content", b"") or b""
    head = body[:128].lstrip()
    if not head:
        return
    if model.service_model.protocol in ("json", "rest-json"):
        if head[:1] in (b"{", b"["):
            return
        try:
            import json

            json.loads(body)
            return
        except ValueError:
            pass
    elif b"<html" not in head.lower() and b"<!doctype html" not in head.lower():  # XML protocols: not a web page
        return
    raise botocore.parsers.ResponseParserError(f"{model.name}: not an AWS reply")


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
            with translated():
                try:
                    return attr(*args, **kwargs)
                except KeyError as exc:  # inside botocore's parser (an XML reply without its result): not AWS's
                    raise botocore.parsers.ResponseParserError(f"{name}: {exc!r}") from exc

        return call


class _Paginator:
    def __init__(self, paginator: Any) -> None:
        self._paginator = paginator

    def paginate(self, **kwargs: Any) -> Iterator[dict]:
        with translated():
            yield from self._paginator.paginate(**kwargs)


class Clients:
    """Clients for one profile, region and endpoint, created on first use and shared by threads.

    `credentials` replaces the profile's credentials (an AssumeRole); `shares` names another Clients whose
    botocore session (its credentials: one AssumeRole for every region of an account) this one uses in
    its own region; `pacer` is shared with the other sessions of the same account and region, whose
    Lambda calls count against the same 15 requests/s (by default each session paces itself).
    """

    def __init__(self, profile: str | None = None, region: str | None = None,
                 endpoint_url: str | None = None, sleep: Callable[[float], None] = time.sleep, *,
                 credentials: AssumeRole | None = None, pacer: Pacer | None = None,
                 shares: Clients | None = None) -> None:
        self._profile = profile
        # botocore reads AWS_DEFAULT_REGION; AWS_REGION is what the SDKs and the CLI v2 use.
        self._region = region or os.environ.get("AWS_REGION")
        self._checked_region = ""  # `region`, once checked
        self._endpoint_url = endpoint_url
        self._sleep = sleep
        self._lock = threading.Lock()
        self._session: botocore.session.Session | None = None
        self._clients: dict[str, Any] = {}
        self.calls: dict[str, int] = {}
        self.throttled = 0  # 429s that botocore retried
        self._credentials = credentials
        self._shares = shares
        # A botocore session is not safe for concurrent create_client calls: one lock per session.
        self._creating: threading.Lock = shares._creating if shares is not None else threading.Lock()
        self.pacer: Pacer | None = pacer or new_pacer(sleep)

    @property
    def session(self) -> botocore.session.Session:
        # botocore's session, not boto3's: boto3 adds nothing esmctl uses and costs ~170 ms to import.
        if self._shares is not None:
            return self._shares.session
        with self._lock:
            if self._session is None:
                _share_what_sessions_recompute()
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
                collector.skip_the_last_collection()
            return self._session

    def credentials(self) -> Any:
        """The session's credentials object, resolved once (botocore keeps the keys inside it)."""
        session = self.session
        with self._creating:
            return session.get_credentials()

    def create_client(self, service: str, **kwargs: Any) -> Any:
        """A plain botocore client of this session and endpoint (what botocore's credential fetchers ask
        for: an STS client with given keys)."""
        session = self.session
        with self._creating:
            kwargs.setdefault("region_name", self._region or session.get_config_variable("region") or None)
            return session.create_client(service, endpoint_url=self._endpoint_url, **kwargs)

    @property
    def region(self) -> str:
        """The region the calls go to, checked once against botocore's list (a typo would list nothing, and exit 0),
        wherever it came from: --region (its option checks it too), AWS_REGION, a spec, the profile."""
        if self._checked_region:
            return self._checked_region
        region = self._region or self.session.get_config_variable("region")
        if not region:
            raise EsmctlError("no AWS region: pass --region or set AWS_REGION")
        from esmctl import regions

        if why := regions.problem(region):
            named = next((n for n in ("AWS_REGION", "AWS_DEFAULT_REGION") if os.environ.get(n) == region),
                         "" if self._region else "the AWS profile's region")
            raise UsageProblem(f"{named}: {why}" if named else why)
        self._checked_region = region
        return region

    @property
    def partition(self) -> str:
        return self.session.get_partition_for_region(self.region)

    def client(self, service: str) -> Any:
        made = self._clients.get(service)
        if made is not None:
            return made
        session, region = self.session, self.region
        # Made under the session's own lock, not this one, which every call takes to be counted (`_count`):
        # threads calling a service already made are not held while another service's client is made.
        with self._creating:
            if service not in self._clients:
                retries: dict[str, Any] = {"mode": os.environ.get("AWS_RETRY_MODE", "standard")}
                if "AWS_MAX_ATTEMPTS" not in os.environ:
                    retries["max_attempts"] = DEFAULT_MAX_ATTEMPTS
                config = Config(retries=retries, connect_timeout=5, read_timeout=60,
                                max_pool_connections=32, user_agent_extra="esmctl")
                try:
                    with translated():
                        client = session.create_client(service, region_name=region,
                                                       endpoint_url=self._endpoint_url, config=config)
                except ValueError as exc:
                    if str(exc).startswith("Invalid endpoint: "):  # botocore's, e.g. from AWS_ENDPOINT_URL
                        url = self._endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or str(exc).split(": ", 1)[-1]
                        raise UsageProblem(f"{url!r} is not an endpoint URL (--endpoint-url, AWS_ENDPOINT_URL): "
                                           "give http(s)://HOST[:PORT], e.g. http://127.0.0.1:4566") from exc
                    # A setting botocore cannot read (AWS_MAX_ATTEMPTS=abc), a credential_process that printed no
                    # JSON…: the configuration, not the command line.
                    raise EsmctlError(f"the AWS configuration cannot be used ({describe_error(exc)}): check the "
                                      "profile's settings (credential_process, …) and the AWS_* environment "
                                      "variables") from exc
                client.meta.events.register("before-call", self._count)
                client.meta.events.register("after-call", _an_aws_reply)
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


class AssumeRole:
    """A role's credentials, assumed with a base session's by botocore's own machinery.

    botocore's AssumeRoleCredentialFetcher (RoleSessionName, optional ExternalId) under
    DeferredRefreshableCredentials: the role is assumed on the first call that needs it and again before
    its keys expire, from whatever credentials the base session has (a profile, its source_profile, web
    identity as CI has it, an instance role, keys). The keys live only inside botocore: esmctl never
    reads, prints or stores them.
    """

    def __init__(self, base: Clients, role_arn: str, *, session_name: str = "esmctl", external_id: str | None = None,
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
