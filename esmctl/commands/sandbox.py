"""`esmctl sandbox`: a local AWS stand-in for trying esmctl without an account."""

from __future__ import annotations

import os
import re
from typing import Any

import click

from esmctl.commands.shared import common_options


@click.command("sandbox")
@click.option("--port", type=click.IntRange(0, 65535), default=4566, show_default=True,
              help="Port on 127.0.0.1 (0: any free one).")
@click.option("--seed", is_flag=True, help="Create example functions, streams, a table stream and queues, with "
              "records and messages on them; runs the playground unless --no-playground.")
@click.option("--playground/--no-playground", default=None,
              help="Write the CloudWatch metrics a live account would have for the mappings you create "
                   "(orders-fn healthy, audit-fn lagging, jobs-fn failing). Default: on with --seed.")
@click.option("--raw", is_flag=True, help="Plain moto, without the layer that makes it act like AWS.")
@click.option("--region", "seed_region", default="us-east-1", show_default=True,
              help="Region to seed; a comma-separated list seeds each (the first is the one exported).")
@click.option("--accounts", default=None, metavar="ID,ID…",
              help="Seed these accounts too (as --seed does moto's own 123456789012), in every --region.")
@click.option("--role", "roles", multiple=True, metavar="NAME",
              help="A role to make in each of --accounts that your keys may assume (repeatable), as a targets "
                   "file's `role:` names it.")
@click.option("--targets", "targets_file", default=None, metavar="FILE", type=click.Path(dir_okay=False),
              help="Seed every account and region a targets file names, with its roles (and ExternalIds) and "
                   "its profiles (written to a config file the exports point AWS_CONFIG_FILE at).")
@common_options(aws=False)
def sandbox(port: int, seed: bool, playground: bool | None, raw: bool, seed_region: str, accounts: str | None,
            roles: tuple[str, ...], targets_file: str | None) -> None:
    """Run a local emulator of Lambda, Kinesis, DynamoDB, SQS and CloudWatch (moto) until Ctrl-C.

    It listens on 127.0.0.1 only. A thin layer in front of moto makes it behave like AWS where
    moto is lenient: duplicate mappings get 409, unknown UUIDs 404, defaults are filled in,
    listings are paged. Needs the `sandbox` extra: pip install 'esmctl[sandbox]'.

    With --seed it is also a playground: once the mappings of examples/mappings.yaml exist, every
    10 seconds it writes what Lambda and SQS would publish (IteratorAge, the SQS queue's age and
    depth, OffsetLag for Kafka, the per-mapping EventCount metrics), with an hour of history for
    each new mapping, and the LastProcessingResult AWS would show: orders-fn is healthy, audit-fn
    falls behind a minute per minute, jobs-fn fails: `esmctl status examples/mappings.yaml
    --max-lag 5m` shows one healthy, one lagging and one failing mapping (exit 3). Other
    functions get healthy-looking data.
    """
    import signal
    import time

    from esmctl.sandbox import server

    regions = _regions(seed_region)
    seed_region = regions[0]
    seeded, access = _accounts(accounts, roles, regions, targets_file)
    # moto's own account is seeded as --seed does
    regions += [r for r in seeded.pop(server.ACCOUNT, []) if r not in regions]
    seed = seed or bool(seeded)
    box = server.start(port, fidelity=not raw)
    simulation = None
    config_file = None
    try:
        # SIGTERM ends the sandbox as Ctrl-C does, by an exception in the main thread: a handler that set an Event
        # the main thread was waiting on could deadlock on the Event's own lock, and the sandbox then never stopped
        signal.signal(signal.SIGTERM, _terminated)
        made = server.seed(box.url, seed_region) if seed else {}
        for region in regions[1:] if seed else ():
            server.seed(box.url, region)
        if made:
            click.echo(f"seeded: {', '.join(sorted(made))}", err=True)
        config = server.seed_accounts(box.url, seeded, access)
        if seeded:
            click.echo("accounts: " + "; ".join(f"{a} in {', '.join(r)}" for a, r in seeded.items()), err=True)
        for way in access:
            how = f"role {way.role_arn}" if way.role_arn else f"profile {way.profile}"
            ids = f" (ExternalId {', '.join(way.external_ids)})" if way.external_ids else ""
            click.echo(f"  {way.account}: {how}{ids}", err=True)
        if config:
            import tempfile

            folder = tempfile.mkdtemp(prefix="esmctl-sandbox-")
            config_file = os.path.join(folder, "config")
            with open(config_file, "w") as fh:
                fh.write(config)
        run_playground = seed if playground is None else playground
        if run_playground:
            from esmctl.sandbox import playground as playground_module

            simulation = playground_module.start(box, seed_region)
            note = " (with --raw nothing shows its LastProcessingResult: only its queue's metrics tell)" if raw else ""
            click.echo(f"playground: CloudWatch metrics every {simulation.interval:g}s for the mappings you create, "
                       f"with an hour of history: orders-fn healthy, audit-fn lagging, jobs-fn failing{note}; "
                       "--no-playground turns it off", err=True)
        click.echo(f"sandbox listening on {box.url} (Ctrl-C to stop). In another shell, paste these lines "
                   "(or eval them); then e.g. esmctl apply examples/mappings.yaml", err=True)
        click.echo(f"export AWS_ENDPOINT_URL={box.url}")
        for k, v in server.CREDENTIALS.items():
            click.echo(f"export {k}={v}")
        click.echo(f"export AWS_REGION={seed_region}")
        click.echo(f"export AWS_DEFAULT_REGION={seed_region}")
        if config_file:
            click.echo(f"export AWS_CONFIG_FILE={config_file}")
        if made:  # what examples/mappings.yaml asks for
            click.echo(f"export ACCOUNT={server.ACCOUNT}")
            click.echo(f"export ORDERS_TABLE_STREAM={made['orders-table-stream']}")
        click.echo("The AWS CLI v1 ignores AWS_ENDPOINT_URL for some services (SQS among them): give it "
                   f"--endpoint-url {box.url}", err=True)
        import sys

        sys.stdout.flush()
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (_terminated)
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second one while stopping ends it at once
        if simulation:
            simulation.stop()
        box.stop()
        if config_file:
            import shutil

            shutil.rmtree(os.path.dirname(config_file), ignore_errors=True)
        click.echo("sandbox stopped", err=True)
        from esmctl import collector

        collector.skip_the_last_collection()  # moto's models are most of the heap


def _terminated(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def _regions(value: str) -> list[str]:
    regions = [r.strip() for r in value.split(",") if r.strip()]
    bad = [r for r in regions if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d{1,2}", r)]
    if not regions or bad:
        raise click.BadParameter(f"{', '.join(bad) or repr(value)} is not a region (e.g. us-east-1,eu-west-1)",
                                 param_hint="'--region'")
    return list(dict.fromkeys(regions))


def _accounts(accounts: str | None, roles: tuple[str, ...], regions: list[str],
              targets_file: str | None) -> tuple[dict[str, list[str]], list]:
    """The accounts to seed (account -> regions) and how each is reached, from --accounts/--role and a
    targets file. Checked before the sandbox starts: a bad value is a usage error, a bad file its problems."""
    from esmctl.sandbox.server import Access

    seeded: dict[str, list[str]] = {}
    access: dict[tuple, set[str]] = {}
    if roles and not accounts:
        raise click.UsageError("--role makes a role in each of --accounts: give --accounts too")
    for account in (accounts or "").split(",") if accounts else ():
        account = account.strip()
        if not re.fullmatch(r"\d{12}", account):
            raise click.BadParameter(f"{account!r} is not a 12-digit AWS account ID", param_hint="'--accounts'")
        seeded[account] = list(regions)
        for role in roles:
            if not re.fullmatch(r"[\w+=,.@-]{1,64}(/[\w+=,.@-]{1,64})*", role, re.ASCII):
                raise click.BadParameter(f"{role!r} is not a role name", param_hint="'--role'")
            access.setdefault((account, f"arn:aws:iam::{account}:role/{role}", None), set())
    if targets_file:
        from esmctl.targets import load_targets

        for target in load_targets(targets_file):
            names = seeded.setdefault(target.account, [])
            if target.region not in names:
                names.append(target.region)
            if target.role_arn or target.profile:
                ids = access.setdefault((target.account, target.role_arn, target.profile), set())
                if target.external_id:
                    ids.add(target.external_id)
    return seeded, [Access(account, role, profile, tuple(sorted(ids)))
                    for (account, role, profile), ids in access.items()]
