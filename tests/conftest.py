"""One moto server for the whole run (127.0.0.1, random port), with esmctl's fidelity layer in
front of it; state is reset before every test. The CLI is driven through click's CliRunner
(in-process) or a real `esmctl` subprocess, always over real HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass

import pytest
from click.testing import CliRunner

from esmctl.cli import cli
from esmctl.sandbox import server

REGION = "us-east-1"
# pytest keeps the test modules whose asserts it rewrote as bytecode (in the ignored __pycache__/) unless nothing may
# be written: with PYTHONDONTWRITEBYTECODE, as some shells and CI images set it, every worker of every run parsed and
# rewrote all of them again (~2 s of CPU each).
sys.dont_write_bytecode = False
REAL_ENV = dict(os.environ)  # before the fixtures point AWS_* at the emulator: for tests marked `aws`

# Tests send Ctrl-C to the esmctl they start, which must take it as a terminal's would. Run from a shell that ignores
# SIGINT (a script's background job), every process the suite starts would ignore it too: SIG_IGN is inherited
# across exec, a handler is not. Python's own handler here leaves the children the default.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def box():
    os.environ["TZ"] = "UTC"
    sandbox = server.start(0)
    yield sandbox
    sandbox.stop()


@pytest.fixture(autouse=True)
def aws_env(request, monkeypatch):
    """A clean AWS environment for every test. Tests that use the emulator (`box`, `world`) get it
    reset and pointed at; the others get an endpoint that refuses at once (nothing may leave 127.0.0.1)."""
    for key in list(os.environ):
        if key.startswith("AWS_") or key.startswith("ESMCTL_"):
            monkeypatch.delenv(key, raising=False)
    for key in ("ACCOUNT", "REGION", "ORDERS_TABLE_STREAM"):  # what `esmctl sandbox --seed` exports (the README has
        monkeypatch.delenv(key, raising=False)  # a newcomer paste it), which a spec's ${NAME} would take
    if "box" in request.fixturenames:
        box = request.getfixturevalue("box")
        box.reset()  # the layer's knobs too, as server.start gave them
        monkeypatch.setenv("AWS_ENDPOINT_URL", box.url)
    else:
        monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("ESMCTL_POLL_INTERVAL", "0.01")
    # The emulator has no 15 requests/s unless a test asks the layer for it: don't pace by default.
    monkeypatch.setenv("ESMCTL_LAMBDA_RATE", "1000")
    monkeypatch.setenv("TZ", "UTC")
    yield


@pytest.fixture
def instant_backoff(monkeypatch):
    """botocore's wait before retrying a 429 (a random part of 1 s, then of 2 s, ...) taken as none: a test counts
    the 429s answered and the calls retried; the wait between them is botocore's, and only made the test wait."""
    from botocore.retries.standard import ExponentialBackoff

    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0.0)


@pytest.fixture(scope="session")
def seeded(box):
    """The example resources seeded once per worker, and moto's state with them, restored for each test."""
    box.reset()
    names = server.seed(box.moto_url, REGION)
    return names, box.snapshot()


@pytest.fixture
def world(box, seeded):
    """The sandbox's example resources: functions, streams, a table stream, queues (name -> ARN); seeded as
    `server.seed` seeds them, restored from a snapshot (~5 ms) instead of seeded again (~60 ms)."""
    names, snapshot = seeded
    box.restore(snapshot)
    return dict(names)


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def esmctl():
    """Run the CLI in-process: esmctl("list", "-o", "json") -> Result."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Result:
        r = runner.invoke(cli, list(args), input=input, catch_exceptions=False)
        return Result(r.exit_code, r.stdout, r.stderr)

    return run


@pytest.fixture
def esmctl_process():
    """Run the real `esmctl` executable in a subprocess."""
    exe = os.path.join(os.path.dirname(sys.executable), "esmctl")

    def run(*args: str, input: str | None = None, env: dict | None = None) -> Result:
        p = subprocess.run([exe, *args], input=input, capture_output=True, text=True, timeout=120,
                           env={**os.environ, **(env or {})})
        return Result(p.returncode, p.stdout, p.stderr)

    return run


def pytest_sessionstart(session):
    """esmctl's modules compiled to bytecode once, before the workers and the ~100 `esmctl` subprocesses import
    them, as pip leaves an installed package: an editable checkout run with PYTHONDONTWRITEBYTECODE (as some shells
    and CI images set it) would compile every module again in every process (~70 ms of CPU each)."""
    if not hasattr(session.config, "workerinput"):  # the controller (or the one process of -n 0)
        import compileall

        compileall.compile_dir(os.path.join(os.path.dirname(os.path.dirname(__file__)), "esmctl"), quiet=1)


@pytest.hookimpl(tryfirst=True)
def pytest_unconfigure(config):
    """The heap frozen before pytest's last look for unraisable exceptions: its full collection would walk what a
    worker holds at the end (moto's models, botocore's, every test's leftovers: ~1 s of CPU a worker) and find
    nothing; the interpreter's own last collection is skipped the same way (`collector.skip_the_last_collection`)."""
    import gc

    gc.freeze()


def pytest_xdist_auto_num_workers(config):
    """`-n auto`: one worker more than the cores. A worker waits on its moto server, on subprocesses and
    on pollers for about a third of its time; on 2 cores 3 workers take ~45 s where 2 take ~56 s."""
    return (os.cpu_count() or 1) + 1


def pytest_collection_modifyitems(config, items):
    """Tests marked slow first (in their order), the rest after. With `--maxschedchunk 1` (pyproject's addopts) xdist
    hands tests out two at a start and one at a time after, so the long ones run side by side from the start and
    the short ones fill in behind them; without it, xdist's first chunk (a quarter of a worker's share, ~70 tests)
    gave every slow test to one worker, which ran for 84 s while the others were done at 62 s."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
