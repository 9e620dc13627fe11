"""Carry out a plan: the executor only performs the changes it is given, in three phases.

1. deletes (prune, and the first half of a replace) in parallel, then one wait until gone —
   a replacement is never created first (Lambda would answer 409);
2. creates and updates in parallel; a create that meets 409 (or whose reply was lost and was
   retried) looks the pair up and adopts it;
3. one wait until nothing is Creating/Updating, polling with one listing, not one call per mapping.

Throttling is ridden out by botocore's retries; one failed change never stops the others.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from esmctl import model
from esmctl.aws import AWS_ERRORS, Aws, describe_error, error_code
from esmctl.consumers import PENDING, ensure_consumer, is_pending
from esmctl.errors import EsmctlError
from esmctl.plan import CREATE, DELETE, HANDOFF, REPLACE, UPDATE, Change, Plan, Target, compare, update_params


@dataclass
class Result:
    change: Change
    ok: bool
    message: str
    uuid: str | None = None


class Executor:
    def __init__(self, aws: Aws, *, concurrency: int = 4, wait: bool = True, timeout: float = 600,
                 on_step: Callable[[Result], None] | None = None) -> None:
        self.aws = aws
        self.concurrency = max(1, concurrency)
        self.wait = wait
        self.timeout = timeout
        self.on_step = on_step or (lambda _r: None)  # after each call: for progress

    def _parallel(self, fn: Callable[[Change], Result], changes: list[Change]) -> list[Result]:
        if not changes:
            return []

        def run(change: Change) -> Result:
            try:
                result = fn(change)
            except AWS_ERRORS as exc:
                result = Result(change, False, describe_error(exc), change.uuid)
            except EsmctlError as exc:
                result = Result(change, False, exc.format_message(), change.uuid)
            except Exception as exc:  # noqa: BLE001 - one failure must not stop the others
                result = Result(change, False, f"{type(exc).__name__}: {exc}", change.uuid)
            self.on_step(result)
            return result

        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="esmctl-apply") as pool:
            return list(pool.map(run, changes))

    def execute(self, plan: Plan) -> list[Result]:
        results: dict[int, Result] = {}
        first = [c for c in plan.changes if c.action in (DELETE, REPLACE)]
        deleted = self._parallel(self._delete, first)
        gone_failed = self._wait([r for r in deleted if r.ok], gone=True)
        for r in deleted:
            if r.change.uuid in gone_failed:
                r.ok, r.message = False, gone_failed[r.change.uuid]
            if r.change.action == DELETE or not r.ok:
                results[id(r.change)] = r
        second = [c for c in plan.changes
                  if c.action in (CREATE, UPDATE, HANDOFF) or (c.action == REPLACE and id(c) not in results)]
        written = self._parallel(self._write, second)
        settle_failed = self._wait([r for r in written if r.ok and r.uuid], gone=False)
        for r in written:
            if r.uuid in settle_failed:
                r.ok, r.message = False, settle_failed[r.uuid]
            results[id(r.change)] = r
        return [results[id(c)] for c in plan.changes if id(c) in results]

    # -- waiting ----------------------------------------------------------------------------
    def _wait(self, results: list[Result], *, gone: bool) -> dict[str, str]:
        """Wait for all of them at once; return the UUIDs that did not make it, with why."""
        uuids = [r.change.uuid if gone else r.uuid for r in results]
        uuids = [u for u in uuids if u]
        if not uuids or (not self.wait and not gone):
            return {}
        try:
            latest = self.aws.wait_for_mappings(uuids, gone=gone, timeout=self.timeout)
        except Exception as exc:  # noqa: BLE001
            return {u: str(getattr(exc, "message", exc)) for u in uuids}
        failed = {}
        for u in uuids:
            m = latest.get(u)
            if not gone and m and m.get("State") not in ("Enabled", "Disabled"):
                failed[u] = f"ended {m.get('State')}: {m.get('StateTransitionReason', '')}".strip()
        return failed

    # -- the calls --------------------------------------------------------------------------
    def _delete(self, change: Change) -> Result:
        try:
            self.aws.delete_mapping(change.uuid)
        except AWS_ERRORS as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
            return Result(change, True, "already gone", change.uuid)
        return Result(change, True, "deleted", change.uuid)

    def _write(self, change: Change) -> Result:
        if change.action == UPDATE:
            return self._update(change)
        if change.action == HANDOFF:
            return self._handoff(change)
        return self._create(change, change.params)

    def _create(self, change: Change, params: dict[str, Any]) -> Result:
        verb = "replaced" if change.action == REPLACE else "created"
        if is_pending(params.get("EventSourceArn", "")):
            stream, name = params["EventSourceArn"].removesuffix(PENDING).split("/consumer/")
            consumer = ensure_consumer(self.aws, stream, name, timeout=self.timeout)
            params = {**params, "EventSourceArn": consumer["ConsumerARN"]}
            change.key = (change.key[0], consumer["ConsumerARN"])
            verb += f" (registered consumer {name})"
        try:
            created = self.aws.create_mapping(params)
        except AWS_ERRORS as exc:
            if error_code(exc) != "ResourceConflictException":
                raise
            return self._adopt(change, params)
        return Result(change, True, verb, created["UUID"])

    def _adopt(self, change: Change, params: dict[str, Any]) -> Result:
        """The pair exists (a lost reply that was retried, or someone else made it): make it ours."""
        target = Target(change.key, params)
        for live in self.aws.list_mappings(source=change.source):
            if model.mapping_key(live["FunctionArn"], live.get("EventSourceArn", "")) != change.key:
                continue
            fields = compare(target, live)
            if any(f.name in model.REPLACE_FIELDS for f in fields):
                return Result(change, False, "a mapping of this function and source already exists with "
                              f"{', '.join(f.name for f in fields)} different: plan again", live["UUID"])
            if fields:
                self._update_with_retry(live["UUID"], update_params(target, fields, target.kind))
            return Result(change, True, "adopted the existing mapping", live["UUID"])
        raise RuntimeError("Lambda reported a conflict but no mapping of this function and source was found")

    def _update(self, change: Change) -> Result:
        if change.params:
            self._update_with_retry(change.uuid, change.params)
        arn = (change.live or {}).get("EventSourceMappingArn")
        if arn and change.tags_set:
            self.aws.tag_mapping(arn, change.tags_set)
        if arn and change.tags_removed:
            self.aws.untag_mapping(arn, change.tags_removed)
        return Result(change, True, "updated", change.uuid)

    def _update_with_retry(self, uuid: str, params: dict[str, Any], attempts: int = 5) -> None:
        """An update while the mapping is Creating/Updating is refused (ResourceInUse): wait, retry."""
        for attempt in range(attempts):
            try:
                self.aws.update_mapping(uuid, params)
                return
            except AWS_ERRORS as exc:
                if error_code(exc) != "ResourceInUseException" or attempt == attempts - 1:
                    raise
                self.aws.wait_for_mappings([uuid], timeout=self.timeout)

    def _handoff(self, change: Change) -> Result:
        """Create the new mapping at the old one's position, wait until Enabled, delete the old."""
        params = dict(change.params)
        params["StartingPosition"] = "AT_TIMESTAMP"
        params["StartingPositionTimestamp"] = change.handoff_at  # computed when planned, shown in the plan
        created = self._create(change, params)
        if not created.ok:
            return created
        latest = self.aws.wait_for_mappings([created.uuid], timeout=self.timeout).get(created.uuid) or {}
        if latest.get("State") != "Enabled":
            return Result(change, False, f"new mapping {created.uuid} is {latest.get('State')}: "
                          f"the old mapping {change.uuid} was kept", created.uuid)
        self.aws.delete_mapping(change.uuid)
        if self.wait:
            self.aws.wait_for_mappings([change.uuid], gone=True, timeout=self.timeout)
        return Result(change, True, f"handed off from {change.uuid}", created.uuid)

