"""`esmctl sandbox`: a local AWS stand-in for trying esmctl without an account."""

from __future__ import annotations

import click

from esmctl.context import common_options


@click.command("sandbox")
@click.option("--port", type=click.IntRange(0, 65535), default=4566, show_default=True,
              help="Port on 127.0.0.1 (0: any free one).")
@click.option("--seed", is_flag=True, help="Create example functions, streams, a table stream and queues, with "
              "records and messages on them; runs the playground unless --no-playground.")
@click.option("--playground/--no-playground", default=None,
              help="Write the CloudWatch metrics a live account would have for the mappings you create "
                   "(orders-fn healthy, audit-fn lagging, jobs-fn failing). Default: on with --seed.")
@click.option("--raw", is_flag=True, help="Plain moto, without the layer that makes it act like AWS.")
@click.option("--region", "seed_region", default="us-east-1", show_default=True, help="Region to seed.")
@common_options(aws=False)
def sandbox(port: int, seed: bool, playground: bool | None, raw: bool, seed_region: str) -> None:
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
    import threading

    from esmctl.sandbox import server

    box = server.start(port, fidelity=not raw)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    simulation = None
    try:
        made = server.seed(box.url, seed_region) if seed else {}
        if made:
            click.echo(f"seeded: {', '.join(sorted(made))}", err=True)
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
        if made:  # what examples/mappings.yaml asks for
            click.echo(f"export ACCOUNT={server.ACCOUNT}")
            click.echo(f"export ORDERS_TABLE_STREAM={made['orders-table-stream']}")
        click.echo("The AWS CLI v1 ignores AWS_ENDPOINT_URL for some services (SQS among them): give it "
                   f"--endpoint-url {box.url}", err=True)
        import sys

        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        if simulation:
            simulation.stop()
        box.stop()
        click.echo("sandbox stopped", err=True)
