"""`esmctl sandbox --targets FILE` / `--accounts … --role …`: the README's fleet commands, as written, against it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXE = os.path.join(os.path.dirname(sys.executable), "esmctl")


@contextmanager
def running_sandbox(tmp_path: Path, *args: str):
    """`esmctl sandbox ARGS` as a user starts it: its export lines (the last is ORDERS_TABLE_STREAM: accounts
    are seeded as --seed seeds), as a shell that pasted them has them."""
    out = tmp_path / "exports"
    with open(out, "w") as fh:
        proc = subprocess.Popen([EXE, "sandbox", "--port", "0", "--no-playground", *args], stdout=fh,
                                stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        deadline = time.monotonic() + 90
        while not ("export ORDERS_TABLE_STREAM=" in (text := out.read_text()) and text.endswith("\n")):
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "the sandbox did not start"
            time.sleep(0.1)
        exports = dict(line.removeprefix("export ").split("=", 1) for line in out.read_text().splitlines())
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}, **exports)
        yield env, proc
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in err, err


def run(env: dict, command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, shell=True, env={**env, "PATH": os.path.dirname(EXE) + os.pathsep + env["PATH"]},
                          cwd=ROOT, capture_output=True, text=True, timeout=240)


def test_the_targets_of_examples_are_seeded_and_the_fleet_commands_run_against_them(tmp_path):
    with running_sandbox(tmp_path, "--targets", "examples/targets.yaml") as (env, proc):
        # roles (one with the ExternalId the file names) and a profile: every target reachable
        assert env["AWS_CONFIG_FILE"] != os.devnull and "[profile sandbox-admin]" in Path(
            env["AWS_CONFIG_FILE"]).read_text()
        r = run(env, "esmctl diff examples/fleet.yaml --targets examples/targets.yaml")
        assert r.returncode == 2, (r.stdout, r.stderr)
        assert "5 target(s): 5 with changes." in r.stdout
        r = run(env, "esmctl apply examples/fleet.yaml --targets examples/targets.yaml --yes "
                     "--region-order us-east-1,eu-west-1 --failure-tolerance 1")
        assert r.returncode == 0, (r.stdout, r.stderr)
        r = run(env, "esmctl diff examples/fleet.yaml --targets examples/targets.yaml")
        assert r.returncode == 0 and "5 target(s): 5 in sync." in r.stdout, (r.stdout, r.stderr)
        r = run(env, "esmctl status examples/fleet.yaml --targets examples/targets.yaml -o json")
        doc = json.loads(r.stdout)
        assert {t["target"] for t in doc["targets"]} == {
            "prod/us-east-1", "prod/eu-west-1", "staging/eu-west-1", "sandbox/us-east-1", "sandbox/eu-west-1"}
        assert all(t["error"] is None for t in doc["targets"]), doc
        r = run(env, "esmctl pause examples/fleet.yaml --targets examples/targets.yaml --reason INC-1 --yes")
        assert r.returncode == 0, (r.stdout, r.stderr)
        assert r.stdout.count("paused") >= 10
        r = run(env, "esmctl resume examples/fleet.yaml --targets examples/targets.yaml --yes")
        assert r.returncode == 0 and r.stdout.count("resumed") >= 10, (r.stdout, r.stderr)
        # moto's own account is as --seed makes it: examples/mappings.yaml applies there too
        r = run(env, "esmctl apply examples/mappings.yaml")
        assert r.returncode == 0, (r.stdout, r.stderr)
    assert not os.path.exists(env["AWS_CONFIG_FILE"])  # the profiles went with the sandbox


def test_accounts_and_a_role(tmp_path):
    targets = tmp_path / "two.yaml"
    targets.write_text('version: 1\ndefaults: {role: esmctl-deployer, regions: [us-east-1, eu-west-1],\n'
                       '           variables: {ORDERS_BATCH: 10}}\n'
                       'targets:\n  - account: "111111111111"\n  - account: "222222222222"\n')
    with running_sandbox(tmp_path, "--accounts", "111111111111,222222222222", "--role", "esmctl-deployer",
                         "--region", "us-east-1,eu-west-1") as (env, _):
        assert env["AWS_REGION"] == "us-east-1" and "AWS_CONFIG_FILE" not in {
            k for k, v in env.items() if v != os.devnull}
        r = run(env, f"esmctl apply examples/fleet.yaml --targets {targets} --yes")
        assert r.returncode == 0 and "4 target(s): 4 in sync." in r.stdout, (r.stdout, r.stderr)


@pytest.mark.parametrize(("args", "message"), [
    (["--accounts", "1234"], "Invalid value for '--accounts': '1234' is not a 12-digit AWS account ID"),
    (["--role", "r"], "--role makes a role in each of --accounts: give --accounts too"),
    (["--accounts", "111111111111", "--role", "a b"], "Invalid value for '--role': 'a b' is not a role name"),
    (["--region", "mars"], "Invalid value for '--region': mars is not a region"),
])
def test_bad_accounts_or_roles_are_usage_errors_before_anything_starts(esmctl, args, message):
    r = esmctl("sandbox", "--port", "0", *args)
    assert r.exit_code == 252 and message in r.stderr and "Traceback" not in r.stderr
