"""`esmctl sandbox`: a local AWS stand-in for trying esmctl without an account."""

from __future__ import annotations

import click


@click.command("sandbox")
@click.option("--port", type=int, default=4566, show_default=True, help="Port on 127.0.0.1.")
@click.option("--seed", is_flag=True, help="Create example functions, streams, a table stream and queues.")
@click.option("--raw", is_flag=True, help="Plain moto, without the layer that makes it act like AWS.")
@click.option("--region", "seed_region", default="us-east-1", show_default=True, help="Region to seed.")
def sandbox(port: int, seed: bool, raw: bool, seed_region: str) -> None:
    """Run a local emulator of Lambda, Kinesis, DynamoDB, SQS and CloudWatch (moto) until Ctrl-C.

    It listens on 127.0.0.1 only. A thin layer in front of moto makes it behave like AWS where
    moto is lenient: duplicate mappings get 409, unknown UUIDs 404, defaults are filled in,
    listings are paged. Needs the `sandbox` extra: pip install 'esmctl[sandbox]'.
    """
    import signal
    import threading

    from esmctl.sandbox import server

    box = server.start(port, fidelity=not raw)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        made = server.seed(box.url, seed_region) if seed else {}
        if made:
            click.echo(f"seeded: {', '.join(sorted(made))}", err=True)
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
        box.stop()
        click.echo("sandbox stopped", err=True)
