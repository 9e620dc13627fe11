"""Shared by the benchmark scripts: a sandbox, a population of mappings, interleaved timed runs, a verdict."""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter

import boto3
import yaml

from esmctl.sandbox import server

REGION = "us-east-1"


def compile_tree(path: str) -> None:
    """A package's modules compiled to bytecode, as pip leaves an installed package. An editable install run with
    PYTHONDONTWRITEBYTECODE (as some shells and CI images set it) compiles every module again in every timed
    run, ~0.1-0.3 s that no user's installed esmctl pays, while the AWS CLI's site-packages are compiled."""
    import compileall

    compileall.compile_dir(path, quiet=1)


def _compiled() -> None:
    import esmctl

    compile_tree(os.path.dirname(esmctl.__file__))


_compiled()
ESMCTL = os.path.join(os.path.dirname(sys.executable), "esmctl")
AWS = [sys.executable, "-m", "awscli"]  # the AWS CLI v1 of the test extra, in this venv


def parser(doc: str, runs: int) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--runs", type=int, default=runs, help=f"timed runs of each command (default {runs})")
    ap.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    return ap


def env(url: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return {**keep, "AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "ESMCTL_POLL_INTERVAL": "0.2", "TZ": "UTC"}


def clients(url: str, *services: str):
    return [boto3.client(s, endpoint_url=url, region_name=REGION, aws_access_key_id="testing",
                         aws_secret_access_key="testing") for s in services]


def make_sources(url: str, functions: int, queues: int, streams: int = 0) -> tuple[list[str], list[str]]:
    """`functions` functions, `queues` SQS queues and `streams` Kinesis streams, made directly in moto.
    Returns the function names and the source ARNs (queues first)."""
    server.seed(url, REGION)
    lam, iam, sqs, kinesis = clients(url, "lambda", "iam", "sqs", "kinesis")
    role = iam.get_role(RoleName="esmctl-sandbox-role")["Role"]["Arn"]
    fns = []
    for i in range(functions):
        fns.append(lam.create_function(FunctionName=f"bench-fn-{i:03d}", Runtime="python3.12", Role=role,
                                       Handler="handler.handler", Code={"ZipFile": server._zip()})["FunctionName"])
    arns = []
    for i in range(queues):
        q = sqs.create_queue(QueueName=f"bench-q-{i:03d}")["QueueUrl"]
        arns.append(sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])
    for i in range(streams):
        kinesis.create_stream(StreamName=f"bench-s-{i:03d}", ShardCount=1)
        arns.append(kinesis.describe_stream_summary(StreamName=f"bench-s-{i:03d}")["StreamDescriptionSummary"]
                    ["StreamARN"])
    return fns, arns


def account_sources(url: str, account: str, region: str, functions: int, queues: int,
                    prefix: str = "bench") -> tuple[list[str], list[str]]:
    """The same as make_sources in another account and region of the sandbox (moto's x-moto-account-id):
    `functions` functions and `queues` SQS queues, made directly in moto. Returns their names and ARNs."""
    iam, lam, sqs = (server.account_client(url, s, region, account) for s in ("iam", "lambda", "sqs"))
    try:
        role = iam.create_role(RoleName="bench-fn-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:  # IAM is global: made in another region already
        role = iam.get_role(RoleName="bench-fn-role")["Role"]["Arn"]
    fns = [lam.create_function(FunctionName=f"{prefix}-fn-{i:03d}", Runtime="python3.12", Role=role,
                               Handler="handler.handler", Code={"ZipFile": server._zip()})["FunctionName"]
           for i in range(functions)]
    arns = []
    for i in range(queues):
        q = sqs.create_queue(QueueName=f"{prefix}-q-{i:03d}")["QueueUrl"]
        arns.append(sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])
    return fns, arns


def write_targets(targets: list[dict], name: str = "targets.yaml") -> str:
    path = os.path.join(tempfile.mkdtemp(prefix="esmctl-bench-"), name)
    with open(path, "w") as fh:
        yaml.safe_dump({"version": 1, "targets": targets}, fh)
    return path


def write_spec(mappings: list[dict], **top: object) -> str:
    path = os.path.join(tempfile.mkdtemp(prefix="esmctl-bench-"), "spec.yaml")
    with open(path, "w") as fh:
        yaml.safe_dump({"version": 1, **top, "mappings": mappings}, fh)
    return path


class Run:
    """One timed run of a command: wall time, the calls the AWS-like layer counted, its throttled replies."""

    def __init__(self, cmd: list[str], environ: dict[str, str], box=None) -> None:
        if box is not None and box.proxy:
            box.proxy.clear_counts()
        t0 = time.perf_counter()
        self.proc = subprocess.run(cmd, env=environ, capture_output=True, text=True)
        self.seconds = time.perf_counter() - t0
        self.calls = Counter(box.proxy.calls) if box is not None and box.proxy else Counter()
        self.throttled = sum(box.proxy.throttled.values()) if box is not None and box.proxy else 0
        if self.proc.returncode not in (0, 2):  # 2: diff found changes
            sys.exit(f"{' '.join(cmd)} failed ({self.proc.returncode}):\n{self.proc.stdout[-2000:]}"
                     f"{self.proc.stderr[-2000:]}")


def interleaved(cmds: dict[str, list[str]], environ: dict[str, str], runs: int, box=None) -> dict[str, list[Run]]:
    """`runs` runs of each command, taking turns (A B A B …), so a slow spell of a shared machine hits both."""
    out: dict[str, list[Run]] = {name: [] for name in cmds}
    for _ in range(runs):
        for name, cmd in cmds.items():
            out[name].append(Run(cmd, environ, box))
    return out


def median(runs: list[Run]) -> float:
    return statistics.median(r.seconds for r in runs)


def spread(runs: list[Run], unit: str = "s") -> str:
    """'median 1.23 s (1.10–1.51 s, 5 runs)'."""
    scale, fmt = (1000, "{:.0f}") if unit == "ms" else (1, "{:.2f}")
    m, lo, hi = (fmt.format(x * scale) for x in (median(runs), min(r.seconds for r in runs),
                                                  max(r.seconds for r in runs)))
    return f"median {m} {unit} ({lo}–{hi} {unit}, {len(runs)} runs)"


def calls(runs: list[Run]) -> str:
    """The calls of one run (and a warning if the runs did not all make the same calls)."""
    first = runs[0].calls
    text = ", ".join(f"{op} {n}" for op, n in sorted(first.items())) or "none"
    if any(r.calls != first for r in runs[1:]):
        text += f" (runs differ: totals {sorted(sum(r.calls.values()) for r in runs)})"
    return text


def pages(items: int, size: int = 100) -> int:
    return max(1, math.ceil(items / size))


class Verdict:
    """PASS/FAIL lines; with --check, the exit code says whether every goal was met."""

    def __init__(self) -> None:
        self.failed = False

    def __call__(self, ok: bool, figure: str, goal: str) -> None:
        self.failed |= not ok
        print(f"{'PASS' if ok else 'FAIL'}: {figure} (goal: {goal})")

    def exit(self, check: bool) -> None:
        if check and self.failed:
            sys.exit(1)
