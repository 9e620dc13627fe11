"""The bottom of the AWS-like layer: forwarding a request to moto, and replying as AWS does."""

from __future__ import annotations

import http.client
import json
import threading
import urllib.parse
from collections.abc import Callable
from typing import Any


class Upstream:
    """Forwards to moto at `upstream` (only that host and port); `_lock` guards the layer's state.

    `app`, moto's WSGI application when moto runs in this process (`server.start`), is called in place, as moto's
    server would call it: no connection, request parsing or thread per call (~1 ms of the ~4 ms a call costs)."""

    def __init__(self, upstream: str, app: Callable[..., Any] | None = None) -> None:
        parsed = urllib.parse.urlsplit(upstream)
        self.upstream_host, self.upstream_port = parsed.hostname, parsed.port
        self._app = app
        self._lock = threading.Lock()

    def _forward(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict, bytes]:
        # The client's Host goes on: moto writes it into the URLs it returns (SQS queue URLs), which must name this
        # layer, not moto's own port. The body's length is said anew.
        fwd = {k: v for k, v in headers.items() if k.lower() not in ("content-length", "connection")}
        if self._app is not None:
            return self._call_in_place(method, path, body, fwd)
        conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=60)
        try:
            fwd["Content-Length"] = str(len(body))
            conn.request(method, path, body=body, headers=fwd)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, dict(resp.getheaders()), data
        finally:
            conn.close()

    def _call_in_place(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict, bytes]:
        """What moto's server would make of the request, without the connection: the headers it would keep (werkzeug's
        server drops a name with an underscore, which WSGI cannot tell from a dash, but for the S3 metadata moto
        keeps), and werkzeug's 500 page for an error moto does not handle itself."""
        from moto.core.request import (
            PRESERVED_HEADER_NAMES_ENVIRON_KEY,
            environ_key_for_header,
            should_preserve_original_header_name,
        )
        from werkzeug.exceptions import InternalServerError
        from werkzeug.test import EnvironBuilder, run_wsgi_app

        fwd = [(k, v) for k, v in headers.items() if "_" not in k or should_preserve_original_header_name(k)]
        environ = EnvironBuilder(path=path, method=method, headers=fwd, data=body,
                                 environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_environ()
        environ["SERVER_NAME"], environ["SERVER_PORT"] = self.upstream_host, str(self.upstream_port)
        environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = {environ_key_for_header(k): k for k, _ in fwd if "_" in k}
        try:
            app_iter, status, reply_headers = run_wsgi_app(self._app, environ, buffered=True)
        except Exception:  # as werkzeug's server answers it
            app_iter, status, reply_headers = run_wsgi_app(InternalServerError(), environ, buffered=True)
        try:
            data = b"".join(app_iter)
        finally:
            getattr(app_iter, "close", lambda: None)()
        return int(status.split(" ", 1)[0]), dict(reply_headers.items()), data

    def _upstream_json(self, method: str, path: str, body: Any = None, headers: dict | None = None) -> tuple[int, Any]:
        raw = json.dumps(body).encode() if body is not None else b""
        status, _, data = self._forward(method, path, raw, headers or {})
        try:
            return status, json.loads(data or b"null")
        except ValueError:
            return status, None

    def _error(self, status: int, code: str, message: str, extra: dict | None = None) -> tuple[int, dict, bytes]:
        # The header is what REST-JSON (Lambda) clients read; `__type` what JSON-1.1 (Kinesis) ones read.
        body = {"__type": code, "Type": "User", "message": message, **(extra or {})}
        return status, {"x-amzn-ErrorType": code, "Content-Type": "application/json"}, json.dumps(body).encode()

    def _ok(self, body: Any, status: int = 200) -> tuple[int, dict, bytes]:
        return status, {"Content-Type": "application/json"}, json.dumps(body).encode()
