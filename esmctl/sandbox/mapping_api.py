"""The event source mapping API as AWS answers it, over moto's (the fidelity layer's core).

Create/Update/Delete/Get/List of mappings: the duplicate check (atomic per identity), transitional
states, AWS's defaults, consumer sources, qualified function ARNs, the kinds moto cannot hold
(held_mappings.py), KMS-encrypted filters and paged listings from one snapshot.
"""

from __future__ import annotations

import contextlib
import copy
import json
import threading
import urllib.parse
import uuid as uuidlib
from typing import Any

from esmctl.sandbox.held_mappings import (
    AwsError,
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
from esmctl.sandbox.streams import Streams

ESM_PATH = "/2015-03-31/event-source-mappings"

# What AWS returns for fields a request left unset (written from AWS's responses, on purpose
# independent of esmctl.mapping.defaults' table).
_AWS_STREAM = {
    "BatchSize": 100, "MaximumBatchingWindowInSeconds": 0, "ParallelizationFactor": 1,
    "MaximumRetryAttempts": -1, "MaximumRecordAgeInSeconds": -1, "BisectBatchOnFunctionError": False,
    "TumblingWindowInSeconds": 0, "DestinationConfig": {"OnFailure": {}}, "FunctionResponseTypes": [],
    "LastProcessingResult": "No records processed",
}
_AWS_SQS = {"BatchSize": 10, "MaximumBatchingWindowInSeconds": 0, "FunctionResponseTypes": []}


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


class MappingApi(Streams):
    """The mapping API's behaviours. The state they keep (`_pending` transitional states, `held` mappings,
    consumer sources, qualifiers, timestamps, listing snapshots) and the knobs they read
    (`transitional_views`, `page_size`, `legacy_sentinels`, `kms_decrypt_denied`, `overrides`,
    `lose_reply`) are FidelityProxy's, set up and reset there."""

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
                if consumer and self._consumer(consumer) is None:  # moto's answer for a source it has not
                    return self._error(400, "ResourceNotFoundException", "Invalid EventSourceArn")
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
        return self._ok(reply, status)

    def _list(self, path: str, headers: dict) -> tuple[int, dict, bytes]:
        """A page of the listing. The first page reads every mapping, filters and sorts them; the pages
        after it come from that snapshot, named by the opaque NextMarker (`TOKEN:OFFSET`), as a listing
        on AWS is one pass however it is paged. Only the page is dressed, with the state of the moment."""
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(path).query))
        token, _, offset = (query.get("Marker") or "").rpartition(":")
        if not offset.isdigit() and query.get("Marker") is not None:  # not a NextMarker this listing gave
            return self._error(400, "InvalidParameterValueException", "Invalid Marker")
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
