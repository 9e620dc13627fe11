"""The README's first command, `bash examples/demo.sh`, run as written with its output piped: it works, and writes
plain text (no escape codes); the project's editable install prints no setuptools warning block."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def checkout(tmp_path) -> str:
    """A copy of this checkout, so that the demo's `pip install -e` is not into the .venv the other tests run from."""
    copy = tmp_path / "checkout"
    for folder in ("esmctl", "examples"):
        shutil.copytree(os.path.join(ROOT, folder), copy / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(os.path.join(ROOT, name), copy / name)
    return str(copy)


def venv_seeing_ours(path: str) -> None:
    """A virtualenv at `path` that sees this one's packages, pip among them (no downloads but the build's; not a
    copy of pip from ensurepip, ~3 s of CPU each)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", path], check=True, capture_output=True,
                   timeout=120)
    ours = [p for p in sys.path if p.endswith("site-packages") and p.startswith(sys.prefix)]
    [site] = [os.path.join(d, "site-packages") for d in glob.glob(os.path.join(path, "lib", "python*"))]
    with open(os.path.join(site, "ours.pth"), "w") as fh:
        fh.write("\n".join(ours) + "\n")


@pytest.mark.slow
def test_the_demo_piped_writes_no_escape_codes(tmp_path):
    repo = checkout(tmp_path)
    venv_seeing_ours(os.path.join(repo, ".venv"))  # the demo installs esmctl into it
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "ESMCTL_")) and k not in ("NO_COLOR", "VIRTUAL_ENV", "PYTHONPATH")}
    env["TERM"] = "xterm-256color"  # a terminal type, but the output is a pipe
    # the demo's `pip install -e` builds with this environment's setuptools instead of installing one into an isolated
    # environment first (~2 s of CPU); the build in isolation, as a user's, is the next test's
    env["PIP_NO_BUILD_ISOLATION"] = "0"
    r = subprocess.run(["bash", "examples/demo.sh"], cwd=repo, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, (r.stdout[-3000:], r.stderr[-3000:])
    assert "\x1b" not in r.stdout and "\x1b" not in r.stderr
    assert "\n$ esmctl apply examples/mappings.yaml\n" in r.stdout
    assert "(exit 3: unhealthy" in r.stdout and "Demo done" in r.stdout
    assert "Editable installation" not in r.stderr and "be careful" not in r.stderr


@pytest.mark.slow
def test_an_editable_install_prints_no_setuptools_warning_block(tmp_path):
    """pip -v shows what the build printed: setuptools' editable strategy for a flat layout without `package-dir`
    warns in a block of asterisks ("Please be careful with folders in your working directory…")."""
    repo = checkout(tmp_path)
    venv = tmp_path / "venv"
    venv_seeing_ours(str(venv))
    r = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-v", "--no-deps",
                        "--disable-pip-version-check", "-e", repo], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    out = r.stdout + r.stderr
    assert "Successfully installed esmctl" in out
    assert "be careful" not in out and "InformationOnly" not in out and "*" * 40 not in out
