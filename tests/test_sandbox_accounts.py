"""`esmctl sandbox --targets FILE` / `--accounts … --role …`: the README's fleet commands, as written, against it."""

from __future__ import annotations

import json
import os
import pty
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
def running_sandbox(tmp_path: Path, *args: str, playground: bool = False):
    """`esmctl sandbox ARGS` as a user starts it: its export lines (the last is ORDERS_TABLE_STREAM: accounts
    are seeded as --seed seeds), as a shell that pasted them has them."""
    out = tmp_path / "exports"
    with open(out, "w") as fh:
        proc = subprocess.Popen([EXE, "sandbox", "--port", "0", *([] if playground else ["--no-playground"]), *args],
                                stdout=fh,
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


def readme_commands(heading: str) -> list[str]:
    """The command lines of the first ```sh block under a heading of README.md, as written."""
    text = (ROOT / "README.md").read_text()
    block = text.split(f"\n## {heading}\n", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.startswith("esmctl ")]


def in_a_terminal(env: dict, command: str) -> tuple[int, str]:
    """A command line run by bash in a pseudo-terminal, as a person runs it; every [y/N] answered y."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(["bash", "-c", command], stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, close_fds=True,
                            env={**env, "PATH": os.path.dirname(EXE) + os.pathsep + env["PATH"], "NO_COLOR": "1"})
    os.close(slave)
    seen, answered = b"", 0
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the other end closed: all read
            break
        if not chunk:
            break
        seen += chunk
        if seen.count(b"[y/N]") > answered:
            os.write(master, b"y\n")
            answered += 1
    os.close(master)
    return proc.wait(timeout=240), seen.decode(errors="replace")


@pytest.mark.slow
def test_the_readmes_fleet_commands_run_as_written_against_the_sandbox(tmp_path):
    sandbox, *commands = readme_commands("Many accounts and regions")
    assert sandbox.split("#")[0].split() == ["esmctl", "sandbox", "--targets", "examples/targets.yaml"]
    assert {c.split()[1] for c in commands} >= {"diff", "apply", "status", "pause", "resume"}
    with running_sandbox(tmp_path, *sandbox.split("#")[0].split()[2:]) as (env, proc):
        # roles (one with the ExternalId the file names) and a profile: every target reachable
        assert "[profile sandbox-admin]" in Path(env["AWS_CONFIG_FILE"]).read_text()
        for i, command in enumerate(commands):
            r = run(env, command)
            first_diff = command.startswith("esmctl diff") and i == 0
            assert r.returncode == (2 if first_diff else 0), (command, r.stdout[-3000:], r.stderr[-3000:])
            assert "FAILED" not in r.stdout, (command, r.stdout)
            if command.startswith(("esmctl diff", "esmctl apply", "esmctl status")):
                assert "5 target(s)" in r.stdout, (command, r.stdout)
        r = run(env, "esmctl diff examples/fleet.yaml --targets examples/targets.yaml")
        assert r.returncode == 0 and "5 target(s): 5 in sync." in r.stdout, (r.stdout, r.stderr)
        r = run(env, "esmctl status examples/fleet.yaml --targets examples/targets.yaml -o json")
        assert all(t["error"] is None for t in json.loads(r.stdout)["targets"])
        # moto's own account is as --seed makes it: examples/mappings.yaml applies there too
        r = run(env, "esmctl apply examples/mappings.yaml")
        assert r.returncode == 0, (r.stdout, r.stderr)
    assert not os.path.exists(env["AWS_CONFIG_FILE"])  # the profiles went with the sandbox


@pytest.mark.slow
def test_the_readmes_incident_runbook_runs_as_written_in_a_terminal(tmp_path):
    commands = readme_commands("When something goes wrong downstream")
    assert [c.split()[1] for c in commands] == ["apply", "pause", "status", "diff", "resume"]
    with running_sandbox(tmp_path, "--seed", playground=True) as (env, _):
        outputs = []
        for command in commands:
            code, out = in_a_terminal(env, command)
            assert code == 0, (command, out)
            outputs.append(out)
        assert "Pause 1 mapping(s) (orders-fn <- kinesis:orders)?" in outputs[1]
        assert "1 mapping, 0 unhealthy, 1 paused." in outputs[2]  # the verdict, wrapped at 80 columns:
        assert "pausedsince" in "".join(outputs[2].split()) and "INC-42" in outputs[2]
        assert "No changes" in outputs[3] and "1 paused by esmctl pause" in outputs[3]
        assert "resumed" in outputs[4]
        r = run(env, "esmctl status --function orders-fn -o json")
        assert [d["State"] for d in json.loads(r.stdout)] == ["Enabled"]


@pytest.mark.slow
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
