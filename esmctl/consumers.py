"""Kinesis enhanced fan-out consumers: registering one idempotently and waiting until it is ACTIVE."""

from __future__ import annotations

import time

from esmctl.aws.calls import Aws
from esmctl.aws.errors import InUse


def ensure_consumer(aws: Aws, stream_arn: str, name: str, *, deadline: float | None = None,
                    timeout: float = 300, on_poll=None) -> dict:  # noqa: ANN001
    """Register a consumer unless one of that name exists; wait until ACTIVE. Idempotent."""
    existing = aws.describe_consumer(stream_arn=stream_arn, name=name)
    if existing is None:
        try:
            existing = aws.register_consumer(stream_arn, name)
        except InUse:  # registered meanwhile by another caller
            existing = aws.describe_consumer(stream_arn=stream_arn, name=name)
    if existing.get("ConsumerStatus") != "ACTIVE":
        left = timeout if deadline is None else max(0.0, deadline - time.monotonic())
        existing = aws.wait_for_consumer(existing["ConsumerARN"], timeout=left, on_poll=on_poll)
    return existing
