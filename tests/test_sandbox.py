"""`esmctl sandbox`: starts on 127.0.0.1, prints what to export, serves esmctl, stops on Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import boto3
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_sandbox_seeds_serves_and_stops_on_ctrl_c(tmp_path):
    exe = os.path.join(os.path.dirname(sys.executable), "esmctl")
    port = free_port()
    out = tmp_path / "out"
    with open(out, "w") as fh:
        proc = subprocess.Popen([exe, "sandbox", "--seed", "--port", str(port)], stdout=fh, stderr=subprocess.PIPE,
                                text=True)
    try:
        deadline = time.monotonic() + 120
        while "AWS_DEFAULT_REGION" not in out.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        exports = dict(line.removeprefix("export ").split("=", 1) for line in out.read_text().splitlines())
        assert exports["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(exports, AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
        first = subprocess.run([exe, "mapping", "create", "--function", "jobs-fn", "--source",
                                "arn:aws:sqs:us-east-1:123456789012:jobs", "-o", "json"],
                               env=env, capture_output=True, text=True, timeout=60)
        assert first.returncode == 0, first.stderr
        r = subprocess.run([exe, "mapping", "create", "--function", "jobs-fn", "--source",
                            "arn:aws:sqs:us-east-1:123456789012:jobs"], env=env, capture_output=True, text=True)
        assert r.returncode == 1 and "ResourceConflictException" in r.stderr  # it acts like AWS
        r = subprocess.run([exe, "mapping", "delete", json.loads(first.stdout)["UUID"], "--yes"], env=env,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        # the README's next step, as written: the example spec with the exported variables
        for command in (["apply", "examples/mappings.yaml"], ["diff", "examples/mappings.yaml"]):
            r = subprocess.run([exe, *command], env=env, capture_output=True, text=True, timeout=120)
            assert r.returncode == 0, (command, r.stdout, r.stderr)
        # the playground's thread notices the new mappings within a poll (0.5 s): jobs-fn fails
        deadline = time.monotonic() + 120  # a bound on a hang, not a measure: a busy machine is slow to start each
        while True:
            r = subprocess.run([exe, "status", "examples/mappings.yaml"], env=env, capture_output=True, text=True,
                               timeout=120)
            if r.returncode != 0 or time.monotonic() > deadline:
                break
        assert r.returncode == 3 and "PROBLEM: Function call failed" in r.stdout, (r.stdout, r.stderr)
        # queue URLs name the sandbox, not moto behind it
        sqs = boto3.client("sqs", endpoint_url=exports["AWS_ENDPOINT_URL"], region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        assert sqs.get_queue_url(QueueName="jobs")["QueueUrl"].startswith(f"http://127.0.0.1:{port}/")
        taken = subprocess.run([exe, "sandbox", "--port", str(port)], capture_output=True, text=True, timeout=60)
        assert taken.returncode == 1
        assert taken.stderr.strip().startswith(f"esmctl: error: cannot listen on 127.0.0.1:{port}")
        assert "Traceback" not in taken.stderr
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "sandbox stopped" in err and "Traceback" not in err
    assert "playground: CloudWatch metrics every 10s" in err and "jobs-fn failing;" in err
    with socket.socket() as s:  # the port is free again (closed connections may linger in TIME_WAIT)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen()


def test_a_port_out_of_range_is_a_usage_error(esmctl):
    r = esmctl("sandbox", "--port", "99999")
    assert r.exit_code == 252 and "Traceback" not in r.stderr and "unexpected" not in r.stderr
    assert "Invalid value for '--port': 99999 is not in the range 0<=x<=65535" in r.stderr


def test_sandbox_stops_on_sigterm(tmp_path):
    """kill (SIGTERM), as examples/demo.sh stops it: it stops as on Ctrl-C. Its handler once set an Event the main
    thread was waiting on, which can deadlock on the Event's own lock: a demo run then waited 600 s for it."""
    exe = os.path.join(os.path.dirname(sys.executable), "esmctl")
    out = tmp_path / "out"
    with open(out, "w") as fh:
        proc = subprocess.Popen([exe, "sandbox", "--port", "0", "--no-playground"], stdout=fh, stderr=subprocess.PIPE,
                                text=True)
    try:
        deadline = time.monotonic() + 120  # a bound on a hang, not a measure
        while "AWS_DEFAULT_REGION" not in out.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "AWS_DEFAULT_REGION" in out.read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "sandbox stopped" in err and "Traceback" not in err, err


def test_each_sandbox_a_process_starts_is_an_empty_world_and_one_runs_at_a_time(tmp_path):
    """The Python helpers as a suite of one's own calls them, a sandbox per test: moto keeps its state in the
    process, so the second sandbox held the first one's functions (seed then failed on them), and two running at
    once shared one world (a review). Now each starts empty, and a second while one runs is refused, saying why."""
    script = tmp_path / "user_tests.py"
    script.write_text(
        "from esmctl.errors import EsmctlError\n"
        "from esmctl.sandbox import server\n"
        "for test in ('first', 'second'):\n"
        "    box = server.start()\n"
        "    try:\n"
        "        lam = server.account_client(box.url, 'lambda')\n"
        "        print(test, len(lam.list_functions()['Functions']))\n"
        "        server.seed(box.url)\n"
        "        try:\n"
        "            server.start()\n"
        "        except EsmctlError as exc:\n"
        "            print('refused:', exc)\n"
        "    finally:\n"
        "        box.stop()\n")
    r = user_script(script)
    lines = r.stdout.splitlines()
    assert lines[0] == "first 0" and lines[2] == "second 0", r.stdout
    assert lines[1].startswith("refused: a sandbox already runs in this process (http://127.0.0.1:"), r.stdout
    assert "stop it first, or reset() or restore() it" in lines[1]


def test_a_stopped_sandbox_answers_nothing_and_leaves_nothing_behind(tmp_path):
    """A client kept past one sandbox reached the stopped layer over its kept-alive connection, unseen by the next
    sandbox on that port (its counts and knobs), and every start/seed/stop left threads and descriptors (a review)."""
    script = tmp_path / "user_tests.py"
    script.write_text(
        "import gc, os, socket, threading, boto3\n"
        "from esmctl.sandbox import server\n"
        "def twice(port):\n"
        "    lam = boto3.client('lambda', endpoint_url=f'http://127.0.0.1:{port}', region_name='us-east-1')\n"
        "    counts = []\n"
        "    for _ in range(2):\n"
        "        box = server.start(port)\n"
        "        lam.list_event_source_mappings()\n"
        "        counts.append(box.proxy.calls['ListEventSourceMappings'])\n"
        "        box.stop()\n"
        "    return counts\n"
        # the port is free when picked, but the other tests' servers may take it before it is used: another one then
        "for _ in range(5):\n"
        "    s = socket.socket(); s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]; s.close()\n"
        "    try:\n"
        "        counts = twice(port)\n"
        "        break\n"
        "    except Exception as exc:\n"
        "        if 'already in use' not in str(exc) + str(exc.__cause__):\n"
        "            raise\n"
        "for n in counts:\n"
        "    print('counted', n)\n"
        "def held():\n"
        "    gc.collect()\n"
        "    return len(os.listdir('/proc/self/fd')), threading.active_count()\n"
        "before = held()\n"
        "for _ in range(3):\n"
        "    box = server.start(); server.seed(box.url); box.stop()\n"
        "print('held', before == held(), before, held())\n")
    r = user_script(script)
    assert r.stdout.splitlines() == ["counted 1", "counted 1", r.stdout.splitlines()[2]]
    assert r.stdout.splitlines()[2].startswith("held True"), r.stdout


def user_script(script) -> subprocess.CompletedProcess:  # noqa: ANN001 - a path
    """A script of a user's own tests, run with keys of its own and nothing else of AWS's environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=180,
                       env={**env, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                            "AWS_REGION": "us-east-1"})
    assert r.returncode == 0, r.stderr
    return r
