"""`esmctl consumer register|list|describe|deregister`: Kinesis enhanced fan-out consumers."""

from __future__ import annotations

from typing import Any

import click

from esmctl.commands import output
from esmctl.commands.shared import Seconds, common_options, pass_settings
from esmctl.context import Settings
from esmctl.errors import EsmctlError, UsageProblem
from esmctl.views.tables import ident, prose

# The name is how a consumer is given to the other commands (with --stream); the ARN, too long for a
# narrow terminal, goes after what the list is for: who uses it.
CONSUMER_COLUMNS = [ident("NAME", "ConsumerName", keep=True), ident("STATUS", "ConsumerStatus", priority=70),
                    ident("CREATED", "Created", priority=20), prose("USED BY", "UsedBy", priority=80),
                    ident("ARN", "ConsumerARN", priority=60)]


def when(at: Any) -> str:
    """A time with its zone, in UTC as the pause marks and CloudTrail have it (botocore gives the local zone)."""
    from datetime import timezone

    at = at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc)
    return at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def consumer_row(c: dict[str, Any], users: list[dict]) -> dict[str, Any]:
    """A consumer as a row of CONSUMER_COLUMNS: who uses it, or that nothing does."""
    from esmctl.mapping.identity import short_arn

    created = c.get("ConsumerCreationTimestamp")
    used = ", ".join(f"{short_arn(m['FunctionArn'])} ({m['UUID'][:8]})" for m in users)
    return {**c, "Created": when(created) if hasattr(created, "astimezone") else created,
            "UsedBy": used or "nothing: unused consumers are billed per shard-hour"}


def _users(settings: Settings, consumer_arn: str, listing: list[dict] | None = None) -> list[dict]:
    if listing is None:
        listing = settings.aws.list_mappings(source=consumer_arn)
    return [m for m in listing if m.get("EventSourceArn") == consumer_arn]


def _find(settings: Settings, stream: str | None, name: str | None, arn: str | None) -> dict[str, Any]:
    from esmctl.aws.errors import explain

    if bool(arn) == bool(stream and name):
        raise UsageProblem("give --stream and --name, or --arn")
    aws = settings.aws
    with explain(f"reading consumer {arn or name}"):
        if arn:
            found = aws.describe_consumer(arn=arn)
        else:
            found = aws.describe_consumer(stream_arn=aws.stream_arn(stream), name=name)
    if found is None:
        raise EsmctlError(f"consumer {arn or name} not found")
    return found


def _show(settings: Settings, consumer: dict[str, Any], users: list[dict], wrapper: str = "ConsumerDescription",
          **extra: Any) -> None:
    """-o json|yaml: the AWS CLI's document (DescribeStreamConsumer's `ConsumerDescription`, RegisterStreamConsumer's
    `Consumer`), so that its --query works as it is, with the UUIDs of the mappings that use the consumer."""
    if settings.output in ("json", "yaml"):
        output.dump(settings, {wrapper: {**consumer, "Mappings": [m["UUID"] for m in users]}, **extra})
    else:
        row = consumer_row(consumer, users)
        output.fields(settings, [(c.header, row.get(c.key)) for c in CONSUMER_COLUMNS] +
                      [("STREAM", row.get("StreamARN"))])


stream_option = click.option("--stream", metavar="NAME|ARN",
                             help="The Kinesis stream (a name is looked up in the region).")


@click.group("consumer")
@common_options
def group() -> None:
    """Kinesis enhanced fan-out consumers: register, list (with the mappings that use them), deregister."""


@group.command("register")
@stream_option
@click.option("--name", required=True, help="Consumer name.")
@click.option("--no-wait", is_flag=True, help="Don't wait for ACTIVE.")
@click.option("--timeout", type=Seconds(), default=300, show_default=True,
              help="Seconds to wait for the consumer's status to settle.")
@common_options
@pass_settings
def register(settings: Settings, stream: str | None, name: str, no_wait: bool, timeout: float) -> None:
    """Register a consumer (or report the one that exists) and wait until it is ACTIVE."""
    from esmctl.aws.errors import InUse, explain
    from esmctl.consumers import ensure_consumer

    if not stream:
        raise UsageProblem("--stream is required")
    from esmctl import rules
    from esmctl.schema import consumer_name_problems

    # as botocore's Kinesis model has it: before any call
    problems = consumer_name_problems(name, "--name", rules.facts_of({"ConsumerName": name}))
    if problems:
        raise UsageProblem(f"--name: {problems[0][1]}")
    aws = settings.aws
    with explain(f"registering consumer {name}"):
        stream_arn = aws.stream_arn(stream)
        consumer = aws.describe_consumer(stream_arn=stream_arn, name=name)
        if consumer is not None:
            output.message(settings, f"consumer {name} already exists ({consumer['ConsumerStatus']}): "
                                     "not registered again")
        elif no_wait:
            try:
                consumer = aws.register_consumer(stream_arn, name)
            except InUse:  # registered meanwhile by someone else
                consumer = aws.describe_consumer(stream_arn=stream_arn, name=name)
        if not no_wait:
            with output.spinner(settings, f"waiting for consumer {name} to be ACTIVE") as update:
                consumer = ensure_consumer(aws, stream_arn, name, timeout=timeout,
                                           on_poll=lambda c: update(f"consumer {name}: "
                                                                    f"{(c or {}).get('ConsumerStatus')}"))
        full = aws.describe_consumer(arn=consumer["ConsumerARN"]) or consumer
    _show(settings, full, [], "Consumer")


@group.command("list")
@stream_option
@common_options
@pass_settings
def list_cmd(settings: Settings, stream: str | None) -> None:
    """The stream's consumers and the mappings that use each; unused ones are flagged."""
    from esmctl.aws.errors import explain

    if not stream:
        raise UsageProblem("--stream is required")
    aws = settings.aws
    with explain(f"listing the consumers of {stream}"):
        consumers = aws.list_consumers(aws.stream_arn(stream))
    with explain("listing mappings"):
        listing = aws.list_mappings()
    rows = [consumer_row(c, _users(settings, c["ConsumerARN"], listing)) for c in consumers]
    if settings.output in ("json", "yaml"):  # ListStreamConsumers' own document: an AWS CLI --query works as it is
        output.dump(settings, {"Consumers": [{**c, "Mappings": [m["UUID"] for m in _users(settings, c["ConsumerARN"],
                                                                                          listing)]}
                                             for c in consumers]})
    else:
        output.table(settings, rows, CONSUMER_COLUMNS, empty="No consumers.")


@group.command("describe")
@stream_option
@click.option("--name", help="Consumer name (with --stream).")
@click.option("--arn", help="Consumer ARN.")
@common_options
@pass_settings
def describe(settings: Settings, stream: str | None, name: str | None, arn: str | None) -> None:
    """One consumer, and the mappings that use it."""
    from esmctl.aws.errors import explain

    consumer = _find(settings, stream, name, arn)
    with explain("listing mappings"):
        users = _users(settings, consumer["ConsumerARN"])
    _show(settings, consumer, users)


@group.command("deregister")
@stream_option
@click.option("--name", help="Consumer name (with --stream).")
@click.option("--arn", help="Consumer ARN.")
@click.option("-y", "--yes", is_flag=True, help="Don't ask.")
@click.option("--force", is_flag=True, help="Deregister even while mappings use it (they then fail).")
@click.option("--no-wait", is_flag=True, help="Don't wait until it is gone.")
@click.option("--timeout", type=Seconds(), default=300, show_default=True,
              help="Seconds to wait for the consumer's status to settle.")
@common_options
@pass_settings
def deregister(settings: Settings, stream: str | None, name: str | None, arn: str | None, yes: bool, force: bool,
               no_wait: bool, timeout: float) -> None:
    """Deregister a consumer: refused while a mapping uses it, unless --force."""
    from esmctl.aws.errors import explain
    from esmctl.mapping.identity import short_arn

    consumer = _find(settings, stream, name, arn)
    consumer_arn, consumer_name = consumer["ConsumerARN"], consumer["ConsumerName"]
    with explain("listing mappings"):
        users = _users(settings, consumer_arn)
    if users and not force:
        using = ", ".join(f"{m['UUID']} ({short_arn(m['FunctionArn'])})" for m in users)
        raise EsmctlError(f"consumer {consumer_name} is used by {len(users)} mapping(s): {using}; those would "
                          "fail. Delete or move them first, or pass --force")
    output.confirm(f"Deregister consumer {consumer_name}?", yes,
                   f"refusing to deregister {consumer_name} without confirmation")
    with explain(f"deregistering consumer {consumer_name}"):
        settings.aws.deregister_consumer(consumer_arn)
        if not no_wait:
            with output.spinner(settings, f"waiting for consumer {consumer_name} to be gone"):
                settings.aws.wait_for_consumer(consumer_arn, gone=True, timeout=timeout)
    if settings.output in ("json", "yaml"):  # as deregistered: DELETING; `Gone`: waited until it was
        output.dump(settings, {"ConsumerDescription": {**consumer, "ConsumerStatus": "DELETING"}, "Gone": not no_wait})
    else:
        output.message(settings, f"deregistered consumer {consumer_name}")


COMMANDS = [group]
