"""Shared by the benchmark scripts: a sandbox, a population of mappings, and a timer."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

import boto3

from esmctl.sandbox import server

REGION = "us-east-1"
ESMCTL = os.path.join(os.path.dirname(sys.executable), "esmctl")


def env(url: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return {**keep, "AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "ESMCTL_POLL_INTERVAL": "0.2", "TZ": "UTC"}


def clients(url: str, *services: str):
    return [boto3.client(s, endpoint_url=url, region_name=REGION, aws_access_key_id="testing",
                         aws_secret_access_key="testing") for s in services]


def make_sources(url: str, functions: int, queues: int) -> tuple[list[str], list[str]]:
    """`functions` functions and `queues` SQS queues, made directly in moto."""
    server.seed(url, REGION)
    lam, iam, sqs = clients(url, "lambda", "iam", "sqs")
    role = iam.get_role(RoleName="esmctl-sandbox-role")["Role"]["Arn"]
    fns = []
    for i in range(functions):
        fns.append(lam.create_function(FunctionName=f"bench-fn-{i:03d}", Runtime="python3.12", Role=role,
                                       Handler="handler.handler", Code={"ZipFile": server._zip()})["FunctionName"])
    arns = []
    for i in range(queues):
        q = sqs.create_queue(QueueName=f"bench-q-{i:03d}")["QueueUrl"]
        arns.append(sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])
    return fns, arns


def timed(cmd: list[str], environ: dict[str, str], runs: int) -> tuple[float, subprocess.CompletedProcess]:
    """Median wall time of `runs` runs of a command, and the last run."""
    times = []
    last = None
    for _ in range(runs):
        t0 = time.perf_counter()
        last = subprocess.run(cmd, env=environ, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), last
