"""Helpers the end-to-end tests share: specs on disk, the emulator's state, CloudWatch data."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import yaml

from esmctl.sandbox import server

REGION = "us-east-1"
ACCOUNT = "123456789012"


def client(box, service: str, direct: bool = True):
    """A boto3 client for setting up and checking state: straight to moto, or (direct=False) through
    the AWS-like layer, which answers as AWS does (the sandbox's shared one: made once per endpoint, service and
    AWS_* environment in a worker)."""
    return server.account_client(box.moto_url if direct else box.url, service, REGION)


def spec_file(tmp_path, mappings: list[dict], name: str = "spec.yaml", **top) -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"version": 1, **top, "mappings": mappings}, sort_keys=False))
    return str(path)


def kinesis(world, fn: str = "orders-fn", stream: str = "orders", **extra) -> dict:
    return {"FunctionName": fn, "EventSourceArn": world[stream], "StartingPosition": "TRIM_HORIZON", **extra}


def mappings(box) -> list[dict]:
    """Every live mapping, as AWS would report it (through the layer)."""
    lam = client(box, "lambda", direct=False)
    return [m for page in lam.get_paginator("list_event_source_mappings").paginate()
            for m in page["EventSourceMappings"]]


def put_age(box, function: str, values_ms: list[tuple[int, float]], resource: str | None = None) -> list[datetime]:
    """IteratorAge data points `minutes ago -> value` for a function; returns their timestamps."""
    dims = [{"Name": "FunctionName", "Value": function}]
    if resource:
        dims.append({"Name": "Resource", "Value": resource})
    now = datetime.now(timezone.utc)
    client(box, "cloudwatch").put_metric_data(Namespace="AWS/Lambda", MetricData=[
        {"MetricName": "IteratorAge", "Dimensions": dims, "Timestamp": now - timedelta(minutes=ago),
         "Value": value, "Unit": "Milliseconds"} for ago, value in values_ms])
    return [now - timedelta(minutes=ago) for ago, _ in values_ms]


ESMCTL = os.path.join(os.path.dirname(sys.executable), "esmctl")


def kill_at(box, args: list[str], operation: str, nth: int, when: str, command: str = "apply") -> None:
    """Run `esmctl COMMAND ... --yes` (apply, pause, resume…), SIGKILL it when the layer holds the chosen
    call; that call is dropped (before: never carried out; after: carried out, the reply never sent)."""
    paused = box.proxy.pause(operation, nth=nth, when=when)
    proc = subprocess.Popen([ESMCTL, command, *args, "--yes"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=os.environ)
    try:
        reached = paused.reached.wait(timeout=60)
        assert reached, f"never reached {operation} #{nth}: {proc.stderr.read().decode() if proc.poll() else ''}"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        paused.release(drop=True)
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL


def converges(esmctl, box, path: str, *flags: str) -> list[dict]:
    r = esmctl("apply", path, "--yes", *flags)
    assert r.exit_code == 0, r.stdout + r.stderr
    d = esmctl("diff", path)
    assert d.exit_code == 0, d.stdout
    return mappings(box)


def both_ends_of_a_move(box, world, new_start: str, **new) -> tuple[str, str]:
    """orders-fn on the orders stream at LATEST, and beside it a mapping on the stream's consumer `fanout`
    (registered here) starting at `new_start`: both ends of a move. Returns (old UUID, new UUID)."""
    lam = client(box, "lambda", direct=False)
    old = lam.create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=world["orders"],
                                          StartingPosition="LATEST")["UUID"]
    arn = client(box, "kinesis", direct=False).register_stream_consumer(
        StreamARN=world["orders"], ConsumerName="fanout")["Consumer"]["ConsumerARN"]
    new = lam.create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=arn, StartingPosition=new_start,
                                          **new)["UUID"]
    return old, new


class Clock:
    """Time that moves only when a test moves it: `clock()` reads it, `advance(seconds)` moves it, `sleep(seconds)`
    stands in for time.sleep (it moves the clock at once and remembers what was asked). Given to what waits or
    refills by time (the layer's rate limit and latency), it makes a verdict depend on calls, not machine speed."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += seconds


def ctrl_c_while_held(held, *argv: str, settle: float = 0.3, while_held=None,
                      sig: int = signal.SIGINT) -> tuple[subprocess.Popen, str, str]:
    """`esmctl ARGV` (`apply …`, `pause …`), Ctrl-C (or `sig`) once the layer holds `held`, `settle` seconds (and
    `while_held(proc)`), then the call let go: (process, stdout, stderr)."""
    proc = subprocess.Popen([ESMCTL, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=os.environ)
    try:
        assert held.reached.wait(timeout=60), proc.stderr.read() if proc.poll() is not None else "never reached"
        proc.send_signal(sig)
        time.sleep(settle)
        if while_held is not None:
            while_held(proc)
        held.release()
        out, err = proc.communicate(timeout=60)
    finally:
        held.release(drop=True)
        if proc.poll() is None:
            proc.kill()
    return proc, out, err


def still_running(proc: subprocess.Popen) -> None:
    """While its call is held: Ctrl-C lets the call in flight return, it does not abandon it."""
    assert proc.poll() is None


def answer_at_a_terminal(args: list[str], meanwhile, answer: str = "y") -> tuple[int, str]:
    """Run esmctl in a pseudo-terminal, do `meanwhile()` while its question is up, then answer."""
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen([ESMCTL, *args], stdin=slave, stdout=slave, stderr=slave, close_fds=True,
                            env={**os.environ, "COLUMNS": "400"})  # a table's lines as they are, not wrapped
    os.close(slave)
    seen = b""
    while b"[y/N]" not in seen:
        seen += os.read(master, 1024)
    meanwhile()
    os.write(master, answer.encode() + b"\n")
    code = proc.wait(timeout=60)
    try:
        while chunk := os.read(master, 65536):
            seen += chunk
    except OSError:  # the terminal's other end is closed
        pass
    os.close(master)
    return code, seen.decode(errors="replace")


@contextmanager
def once_held(box, operation: str, then, nth: int = 1, when: str = "before"):
    """The nth `operation` from now held by the layer; once it is, `then()` (a knob set, a sleep past a deadline),
    and the call let go. For a `with` around the command that makes the call."""
    held = box.proxy.pause(operation, nth=nth, when=when)

    def go() -> None:
        assert held.reached.wait(60)
        then()
        held.release()

    releaser = threading.Thread(target=go)
    releaser.start()
    try:
        yield held
    finally:
        held.release()
        releaser.join(60)
