"""Read-only checks against a real AWS account: run with ESMCTL_AWS_TESTS=1 and credentials."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REAL_ENV

pytestmark = [
    pytest.mark.aws,
    pytest.mark.skipif(REAL_ENV.get("ESMCTL_AWS_TESTS") != "1", reason="set ESMCTL_AWS_TESTS=1 and AWS credentials"),
]


def run(*args: str) -> subprocess.CompletedProcess:
    exe = os.path.join(os.path.dirname(sys.executable), "esmctl")
    return subprocess.run([exe, *args], env=REAL_ENV, capture_output=True, text=True, timeout=300)


def test_list_and_status_read_the_real_account():
    r = run("list", "-o", "json")
    assert r.returncode == 0, r.stderr
    mappings = json.loads(r.stdout)["EventSourceMappings"]
    assert isinstance(mappings, list)
    r = run("status", "-o", "json")
    assert r.returncode in (0, 3), r.stderr
    assert len(json.loads(r.stdout)) == len(mappings)


def test_export_of_the_real_account_diffs_clean(tmp_path):
    r = run("export")
    assert r.returncode == 0, r.stderr
    path = tmp_path / "live.yaml"
    path.write_text(r.stdout)
    assert run("diff", str(path)).returncode == 0
