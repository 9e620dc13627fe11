"""`esmctl mapping create|get|update|delete|enable|disable|list` and `esmctl list`.

The options of `create` and `update` are made from botocore's model of the Create and Update requests
(commands/request_options.py). They are built when a mapping command is first asked for, so `esmctl --help`
stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from esmctl.commands import output
from esmctl.commands.request_options import ModelCommand, build_params, check, tag
from esmctl.commands.shared import Seconds, common_options, complete_function, pass_settings, source_arns
from esmctl.context import Settings
from esmctl.errors import EsmctlError, Interrupted
from esmctl.views.mappings import change_title_of


def wait_options(f):
    f = click.option("--timeout", type=Seconds(), default=300, show_default=True,
                     help="Seconds to wait for the mapping to settle.")(f)
    f = click.option("--no-wait", is_flag=True, help="Return at once; don't wait for a transitional state to end.")(f)
    return f


def uuid_options(f):
    """The UUID as the argument, or as --uuid as the AWS CLI takes it (both complete from the listing)."""
    from esmctl.commands.shared import complete_uuid

    f = click.option("--uuid", "uuid_option", metavar="UUID", help="The mapping's UUID (as the argument).",
                     shell_complete=complete_uuid)(f)
    return click.argument("uuid", required=False, shell_complete=complete_uuid)(f)


def _uuid(uuid: str | None, uuid_option: str | None, from_file: str | None = None) -> str:
    given = {u for u in (uuid, uuid_option, from_file) if u}
    if not given:
        raise click.UsageError("give the mapping's UUID (as the argument or --uuid)")
    if len(given) > 1:
        raise click.UsageError(f"two different UUIDs given: {', '.join(sorted(given))}")
    return given.pop()


def settle(settings: Settings, uuid: str, *, no_wait: bool, timeout: float, gone: bool = False) -> dict | None:
    """Wait (with a spinner on stderr) until the mapping leaves Creating/Updating/... or is gone."""
    from esmctl.aws.errors import explain

    if no_wait:
        return None
    verb = "deleted" if gone else "settled"
    seen = {"State": "as the request left it"}
    try:
        with output.spinner(settings, f"waiting for {uuid} to be {verb}") as update, explain(f"waiting for {uuid}"):
            def show(m: dict | None) -> None:
                seen["State"] = m.get("State") if m else "gone"
                update(f"waiting for {uuid}: {seen['State']}")

            return settings.aws.wait_for_mapping(uuid, gone=gone, timeout=timeout, on_poll=show)
    except KeyboardInterrupt:  # the change was sent: say what exists (the spinner that showed it is gone)
        raise Interrupted(f"interrupted while waiting for {uuid} to be {verb}: the request was made; last seen: "
                          f"{seen['State']} (esmctl mapping get {uuid})") from None


def in_use_retried(settings: Settings, uuid: str, call: Callable[[], Any], *, no_wait: bool, deadline: float) -> Any:
    """A mapping that is Creating or Updating refuses changes (ResourceInUse): wait for it to settle,
    then try again, as `apply` does; with --no-wait, fail at once. Returns what `call` returns, or None
    when the mapping went away meanwhile (it was Deleting)."""
    import time

    from esmctl.aws.errors import InUse, explain
    from esmctl.aws.waiting import WaitTimeout

    while True:
        try:
            return call()
        except InUse:
            left = deadline - time.monotonic()
            if no_wait:
                raise
            if left <= 0:  # --timeout ran out before the first refusal came back: said as when it runs out waiting
                state = (settings.aws.get_mapping(uuid) or {}).get("State", "gone")
                raise EsmctlError(f"timed out waiting for {uuid} to be settled (last seen: {state}): it is busy "
                                  "(ResourceInUse), and --timeout ran out") from None
        with output.spinner(settings, f"waiting for {uuid} to settle before changing it") as update, \
                explain(f"waiting for {uuid}"):
            def show(m: dict | None) -> None:
                update(f"waiting for {uuid} to settle before changing it: {m.get('State') if m else 'gone'}")

            try:
                settled = settings.aws.wait_for_mapping(uuid, timeout=left, on_poll=show)
            except WaitTimeout as exc:
                raise EsmctlError(f"{exc.message}: it is busy (ResourceInUse), and --timeout ran out") from exc
        if settled is None:
            return None


class _LazyGroup(click.Group):
    """`esmctl mapping`: its commands (and botocore's model) are loaded only when one is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return ["create", "get", "update", "delete", "enable", "disable", "list"]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in _BUILDERS:
            self.add_command(_BUILDERS[name](), name)
        return self.commands.get(name)


@click.group("mapping", cls=_LazyGroup)
@common_options
def group() -> None:
    """Create, read, change and delete event source mappings one at a time."""


def _create_command() -> click.Command:
    @click.command("create", cls=ModelCommand, operation="CreateEventSourceMapping")
    @click.option("--function", "--function-name", "function", metavar="NAME|ARN", shell_complete=complete_function,
                  help="Function (name, name:alias, ARN).")
    @click.option("--source", "--event-source-arn", "source", metavar="ARN",
                  help="Event source ARN (stream, consumer, queue, cluster, broker). None for self-managed Kafka "
                       "(--self-managed-event-source).")
    @click.option("--tag", "tags", multiple=True, type=tag, metavar="KEY=VALUE", help="A tag; repeatable.")
    @wait_options
    @common_options
    @pass_settings
    @click.pass_context
    def create(ctx: click.Context, settings: Settings, function: str | None, source: str | None, no_wait: bool,
               timeout: float, **opts: Any) -> None:
        """Create a mapping and wait until it is Enabled (or Disabled)."""
        from esmctl.aws.errors import explain

        params, file_uuid = build_params(ctx, opts, "CreateEventSourceMapping")
        if file_uuid is not None:  # a file meant for `mapping update`: never a new mapping beside the one it names
            raise click.UsageError("UUID: unknown field (create makes a new mapping; `esmctl mapping update` takes "
                                   "a file with UUID)")
        if function:
            params["FunctionName"] = function
        if source:
            params["EventSourceArn"] = source
        if not params.get("FunctionName"):
            raise click.UsageError("give the function: --function NAME|ARN (or FunctionName in --cli-input-yaml)")
        if not params.get("EventSourceArn") and not params.get("SelfManagedEventSource"):
            raise click.UsageError("give the source: --source ARN, or --self-managed-event-source JSON for "
                                   "self-managed Kafka")
        check(params, "CreateEventSourceMapping")
        what = params.get("EventSourceArn") or "self-managed Kafka"
        with explain(f"creating mapping of {params['FunctionName']} to {what}"):
            created = settings.aws.create_mapping({k: v for k, v in params.items()})
        final = settle(settings, created["UUID"], no_wait=no_wait, timeout=timeout)
        output.mapping(settings, final or created)

    return create


def _get_command() -> click.Command:
    @click.command("get")
    @uuid_options
    @common_options
    @pass_settings
    def get(settings: Settings, uuid: str | None, uuid_option: str | None) -> None:
        """Show one mapping."""

        output.mapping(settings, _existing(settings, _uuid(uuid, uuid_option)))

    return get


def _existing(settings: Settings, uuid: str) -> dict:
    """The mapping, or a clear not-found."""
    from esmctl.aws.errors import explain

    with explain(f"reading mapping {uuid}"):
        found = settings.aws.get_mapping(uuid)
    if found is None:
        raise EsmctlError(f"mapping {uuid} not found")
    return found


def _update(settings: Settings, uuid: str, params: dict[str, Any], no_wait: bool, timeout: float,
            live: dict | None = None) -> None:
    """The update, its wait, the mapping shown; and a pause mark that no longer holds removed (_end_pause)."""
    import time

    from esmctl.aws.errors import NotFound, explain
    from esmctl.mapping import states

    deadline = time.monotonic() + timeout
    ran = False  # disabled by hand while it ran: a pause mark on it is an interrupted pause's, not a pause
    if params.get("Enabled") is False:
        with explain(f"reading mapping {uuid}"):
            live = live or settings.aws.get_mapping(uuid) or {}
        if states.LiveState(live.get("State", "")).enabled is None:  # Creating, Updating: whether it ran is not
            live = settle(settings, uuid, no_wait=no_wait, timeout=timeout) or {}  # known until it settles
        ran = states.LiveState(live.get("State", "")).enabled is True  # unknown (--no-wait): the mark stays
    with explain(f"updating mapping {uuid}"):
        try:
            updated = in_use_retried(settings, uuid, lambda: settings.aws.update_mapping(uuid, params),
                                     no_wait=no_wait, deadline=deadline)
        except NotFound as exc:
            # Not found is about the mapping unless the update names another function.
            if "FunctionName" not in params:
                raise EsmctlError(f"mapping {uuid} not found") from exc
            raise
    if updated is None:
        raise EsmctlError(f"mapping {uuid} was deleted while esmctl waited to update it")
    final = settle(settings, uuid, no_wait=no_wait, timeout=max(0.0, deadline - time.monotonic()))
    output.mapping(settings, final or updated)
    if params.get("Enabled") is True:
        _end_pause(settings, uuid, "was paused by esmctl pause: enabled by hand, it is no longer paused")
    elif ran:
        _end_pause(settings, uuid, "was marked paused by an esmctl pause cut short before its disable: disabled by "
                                   "hand now, it is not paused (resume leaves it Disabled)")


def _end_pause(settings: Settings, uuid: str, what: str) -> None:
    """A mapping enabled by hand is no longer paused, and one disabled by hand while it ran never was (a mark on it
    is that of a pause cut short between its mark and its disable): the mark goes (after the update, as `resume`
    orders it), so that `esmctl resume` does not undo a manual disable."""
    from esmctl.aws.errors import explain
    from esmctl.mapping import marks

    with explain(f"reading {uuid}'s tags"):
        arn = (settings.aws.get_mapping(uuid) or {}).get("EventSourceMappingArn")
        if not arn or marks.PAUSED_TAG not in settings.aws.mapping_tags(arn):
            return
    with explain(f"removing {uuid}'s pause mark"):
        settings.aws.untag_mapping(arn, [marks.PAUSED_TAG])
    click.echo(f"{uuid} {what} (mark removed)", err=True)


def _update_command() -> click.Command:
    @click.command("update", cls=ModelCommand, operation="UpdateEventSourceMapping")
    @uuid_options
    @click.option("--function", "--function-name", "function", metavar="NAME|ARN", shell_complete=complete_function,
                  help="Point the mapping at another function.")
    @click.option("--clear-filters", is_flag=True, help="Remove every filter.")
    @wait_options
    @common_options
    @pass_settings
    @click.pass_context
    def update(ctx: click.Context, settings: Settings, uuid: str | None, uuid_option: str | None,
               function: str | None, no_wait: bool, timeout: float, **opts: Any) -> None:
        """Change a mapping in place (it keeps its UUID and its stream position).

        The change is checked against the mapping's kind of source (one read) with the same rules as a
        spec before anything is sent.
        """
        from esmctl.mapping import defaults, identity

        params, file_uuid = build_params(ctx, opts, "UpdateEventSourceMapping")
        uuid = _uuid(uuid, uuid_option, file_uuid)
        if function:
            params["FunctionName"] = function
        if not params:
            raise click.UsageError("nothing to update: give at least one option (see --help)")
        check({"UUID": uuid, **params}, "UpdateEventSourceMapping", kind="")
        live = _existing(settings, uuid)
        # The whole live mapping: a rule across fields (LoggingConfig needs provisioned pollers on Kafka, say)
        # holds or not by what the mapping has, not only by what this command names.
        context = {k: v for k, v in live.items() if k not in defaults.READ_ONLY_FIELDS and v is not None}
        check({"UUID": uuid, **params}, "UpdateEventSourceMapping", kind=identity.source_type(live), context=context)
        _update(settings, uuid, params, no_wait, timeout, live)

    return update


def _switch(name: str, enabled: bool, summary: str):
    """`mapping enable` and `mapping disable`: one update of Enabled, then the wait."""

    def build() -> click.Command:
        @click.command(name, help=summary)
        @uuid_options
        @wait_options
        @common_options
        @pass_settings
        def command(settings: Settings, uuid: str | None, uuid_option: str | None, no_wait: bool,
                    timeout: float) -> None:
            uuid = _uuid(uuid, uuid_option)
            _update(settings, uuid, {"Enabled": enabled}, no_wait, timeout)

        return command

    return build


def _delete_command() -> click.Command:
    @click.command("delete")
    @uuid_options
    @click.option("-y", "--yes", is_flag=True, help="Don't ask: a stream mapping's checkpoint is lost for good.")
    @wait_options
    @common_options
    @pass_settings
    def delete(settings: Settings, uuid: str | None, uuid_option: str | None, yes: bool, no_wait: bool,
               timeout: float) -> None:
        """Delete a mapping (a stream mapping's position is lost for good).

        A mapping that is Creating or Updating refuses it (ResourceInUse): esmctl waits until it settles
        and tries again, within --timeout (with --no-wait, it fails at once).
        """
        import time

        from esmctl.aws.errors import explain

        uuid = _uuid(uuid, uuid_option)
        found = _existing(settings, uuid)
        what = f"{uuid} ({change_title_of(found)})"
        output.confirm(f"Delete mapping {what}? Its stream position cannot be recovered.", yes,
                       f"refusing to delete mapping {uuid} without confirmation")
        deadline = time.monotonic() + timeout
        with explain(f"deleting mapping {uuid}"):
            deleted = in_use_retried(settings, uuid, lambda: settings.aws.delete_mapping(uuid), no_wait=no_wait,
                                     deadline=deadline)
        settle(settings, uuid, no_wait=no_wait, timeout=max(0.0, deadline - time.monotonic()), gone=True)
        if settings.output in ("json", "yaml"):
            output.dump(settings, deleted or {**found, "State": "Deleting"})
        else:
            output.message(settings, f"deleted mapping {what}")

    return delete


@click.command("list")
@click.option("--function", "--function-name", "functions", multiple=True, metavar="NAME|ARN",
              shell_complete=complete_function, help="Only this function (name, name:alias or ARN); repeatable.")
@click.option("--source", "--event-source-arn", "sources", multiple=True, metavar="ARN", callback=source_arns,
              help="Only this event source; repeatable.")
@common_options
@pass_settings
def list_cmd(settings: Settings, functions: tuple[str, ...], sources: tuple[str, ...]) -> None:
    """List mappings (one paginated listing)."""
    from esmctl.listing import require_functions, select

    items = select(settings, functions, sources)
    if not sources:  # with sources, a function may just not read them
        require_functions(settings.aws, functions, items)
    output.mappings(settings, items)


_BUILDERS = {"create": _create_command, "get": _get_command, "update": _update_command,
             "delete": _delete_command, "enable": _switch("enable", True, "Start polling the source again."),
             "disable": _switch("disable", False, "Stop polling; a stream mapping keeps its position."),
             "list": lambda: list_cmd}
