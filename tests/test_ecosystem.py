"""esmctl in editors, shells and CI: the JSON Schema agrees with `validate`, completion works in each
shell (with UUIDs and functions from the listing), and the CI and pre-commit examples run as written
against the sandbox."""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time

import jsonschema
import pytest
import yaml

from esmctl.commands.tools import _json_like
from esmctl.spec_schema import spec_schema
from tests.helpers import ACCOUNT, client

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ESMCTL = os.path.join(os.path.dirname(sys.executable), "esmctl")


def example_specs() -> list[tuple[str, str]]:
    """Every spec in the repository: the examples and the spec blocks of the README and docs/."""
    out = [(f"examples/{name}", open(os.path.join(ROOT, "examples", name)).read())
           for name in sorted(os.listdir(os.path.join(ROOT, "examples")))
           if name.endswith((".yaml", ".yml")) and "mappings:" in open(os.path.join(ROOT, "examples", name)).read()
           and "${REGION}" not in open(os.path.join(ROOT, "examples", name)).read()]  # specs for --targets: test_fleet
    for doc in ["README.md", *sorted(f"docs/{n}" for n in os.listdir(os.path.join(ROOT, "docs")) if n.endswith(".md"))]:
        text = open(os.path.join(ROOT, doc)).read()
        out += [(f"{doc} block {i}", block) for i, block in enumerate(re.findall(r"```yaml\n(.*?)```", text, re.S))
                if block.startswith("version: 1")]
    assert len(out) >= 2
    return out


VARS = ["--var", f"ACCOUNT={ACCOUNT}", "--var",
        "ORDERS_TABLE_STREAM=arn:aws:dynamodb:us-east-1:123456789012:table/orders-table/stream/2024-01-01T00:00:00.000"]


@pytest.mark.parametrize("name,text", example_specs())
def test_every_example_validates_under_the_schema_and_validate(esmctl, tmp_path, name, text):
    jsonschema.Draft202012Validator(spec_schema()).validate(_json_like(yaml.safe_load(text)))
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    r = esmctl("validate", str(path), *VARS)
    assert r.exit_code == 0, (name, r.stderr)


@pytest.mark.parametrize("mapping,where", [
    ({"FunctionName": "f", "EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:q", "BatchSzie": 5}, "BatchSzie"),
    ({"FunctionName": "f", "EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:q", "BatchSize": 20000}, "BatchSize"),
    ({"FunctionName": "f", "EventSourceArn": "arn:aws:kinesis:us-east-1:123456789012:stream/s",
      "StartingPosition": "EARLIEST"}, "StartingPosition"),
])
def test_a_misspelt_key_or_an_out_of_range_value_fails_under_both(esmctl, tmp_path, mapping, where):
    spec = {"version": 1, "mappings": [mapping]}
    errors = list(jsonschema.Draft202012Validator(spec_schema()).iter_errors(spec))
    assert errors
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    r = esmctl("validate", str(path))
    assert r.exit_code == 1 and f": {where}: " in r.stderr
    r = esmctl("schema", "--check", str(path))
    assert r.exit_code == 1 and "mappings[0]" in r.stderr


def test_schema_is_json_schema_2020_12_from_the_model(esmctl):
    r = esmctl("schema")
    doc = json.loads(r.stdout)
    jsonschema.Draft202012Validator.check_schema(doc)
    mapping = doc["$defs"]["mapping"]["properties"]
    batch = mapping["BatchSize"]["anyOf"][0]["anyOf"][0]
    assert (batch["minimum"], batch["maximum"]) == (1, 10000)
    assert "Consumer" in mapping and "The maximum number of records" in mapping["BatchSize"]["description"]
    validator = jsonschema.Draft202012Validator(doc)
    spec = {"version": 1, "mappings": [{"FunctionName": "f", "EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:q"}]}
    for value, valid in (("${N}", True), ("x-${N}", True), ("$${N}", False), ("$$${N}", False), ("${N-1}", False)):
        spec["mappings"][0]["BatchSize"] = value  # a placeholder stands for a number; $${ is a literal ${ (text)
        assert validator.is_valid(spec) is valid, value


@pytest.mark.parametrize("shell,marker", [("bash", "complete -o nosort -F _esmctl_completion esmctl"),
                                          ("zsh", "#compdef esmctl"), ("fish", "complete --no-files --command esmctl")])
def test_completion_scripts(esmctl, shell, marker):
    r = esmctl("completion", shell)
    assert r.exit_code == 0 and marker in r.stdout and "_ESMCTL_COMPLETE" in r.stdout


def complete(words: str, tmp_path, extra_env: dict | None = None) -> list[str]:
    env = {**os.environ, "_ESMCTL_COMPLETE": "bash_complete", "COMP_WORDS": words,
           "COMP_CWORD": str(len(words.split(" ")) - 1), "XDG_CACHE_HOME": str(tmp_path), **(extra_env or {})}
    r = subprocess.run([ESMCTL], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return [line.split(",", 1)[1] for line in r.stdout.splitlines() if line.startswith("plain,")]


def test_completion_of_uuids_and_functions_from_one_cached_listing(world, box, tmp_path):
    uuid = client(box, "lambda", direct=False).create_event_source_mapping(
        FunctionName="orders-fn", EventSourceArn=world["orders"], StartingPosition="LATEST")["UUID"]
    box.proxy.clear_counts()
    assert complete("esmctl mapping get ", tmp_path) == [uuid]
    cache = tmp_path / "esmctl" / "completion.json"

    def tab_pressed_just_after() -> None:
        """Date the cached listing now: the Tab presses of a user come within the cache's seconds, while on a busy
        machine the completions of this test might not (its time is the listing's `at`, not the test's pace)."""
        cache.write_text(json.dumps({**json.loads(cache.read_text()), "at": time.time()}))

    for words, expected in (("esmctl mapping delete --uuid " + uuid[:4], [uuid]),
                            ("esmctl list --function ord", ["orders-fn"]), ("esmctl mapping update --function au", [])):
        tab_pressed_just_after()
        assert complete(words, tmp_path) == expected, words
    assert box.proxy.calls["ListEventSourceMappings"] == 1  # cached for the next few seconds
    # the region given after the subcommand, as before it: another listing (a review was offered us-east-1's)
    assert complete("esmctl mapping get --region eu-west-1 ", tmp_path) == []
    assert complete("esmctl --region eu-west-1 mapping get ", tmp_path) == []
    assert complete("esmctl mapping create --starting-position ", tmp_path) == ["TRIM_HORIZON", "LATEST",
                                                                                 "AT_TIMESTAMP"]


@pytest.fixture
def fake_gh(tmp_path):
    """`gh` on PATH that records its arguments and the comment body, as GitHub's would post it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gh = bin_dir / "gh"
    gh.write_text(f"#!/bin/sh\necho \"$@\" >> {tmp_path}/gh.log\n"
                  f"while [ $# -gt 0 ]; do\n  [ \"$1\" = --body-file ] && cat \"$2\" > {tmp_path}/comment.md\n"
                  "  shift\ndone\n")
    gh.chmod(gh.stat().st_mode | stat.S_IEXEC)
    return bin_dir


# -- the CI examples, run as written -----------------------------------------------------------------
# What the steps the test cannot run give a job, and what the test puts in their place.
GITHUB_ACTIONS_PROVIDED = {
    "actions/checkout": "the job's working directory, with mappings/",
    "actions/setup-python": "a Python of its own, with pip and without esmctl, first on PATH",
    "aws-actions/configure-aws-credentials": "AWS_* in the environment, pointing at the sandbox",
    # the jobs run in one working directory here, so a file one job uploads is there for the next
    "actions/upload-artifact": "the file stays in the working directory",
    "actions/download-artifact": "the file is in the working directory",
}
STEP_EXPRESSIONS = {"GH_TOKEN": "a-token", "PR": "7"}  # a step's `${{ … }}` env values, as GitHub fills them


def has_git(image: str) -> bool:
    """The official python images have git; their -slim and -alpine variants do not."""
    return not re.search(r"-(slim|alpine)", image)


# Where the CI-example tests keep the wheel of this checkout between workers and runs (one per source digest).
CACHE = os.environ.get("ESMCTL_TEST_CACHE") or os.path.join(tempfile.gettempdir(), f"esmctl-test-cache-{os.getuid()}")


@contextlib.contextmanager
def _locked(path: str):
    """An exclusive lock on `path`.lock, across xdist workers and test runs."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def _source_digest() -> str:
    """What the wheel is built from: the package's files, pyproject.toml and the README it names."""
    h = hashlib.sha256()
    files = [os.path.join(ROOT, n) for n in ("pyproject.toml", "README.md")]
    for top, dirs, names in os.walk(os.path.join(ROOT, "esmctl")):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        files += [os.path.join(top, n) for n in sorted(names) if not n.endswith((".pyc", ".pyo"))]
    for path in files:
        h.update(os.path.relpath(path, ROOT).encode() + b"\0")
        with open(path, "rb") as fh:
            h.update(fh.read() + b"\0")
    return h.hexdigest()[:16]


@pytest.fixture(scope="session")
def esmctl_wheel() -> str:
    """This checkout built into a wheel by pip, once for every CI job of every test (and for later runs while the
    sources are the same): a job's `pip install "$ESMCTL_INSTALL"` then installs esmctl without building it again."""
    digest = _source_digest()
    out = os.path.join(CACHE, f"wheel-{digest}")
    with _locked(out):
        if not glob.glob(os.path.join(out, "esmctl-*.whl")):
            partial = out + ".partial"
            shutil.rmtree(partial, ignore_errors=True)
            checkout = os.path.join(partial, "src")  # a copy: a build in the tree would leave build/ behind
            shutil.copytree(os.path.join(ROOT, "esmctl"), os.path.join(checkout, "esmctl"),
                            ignore=shutil.ignore_patterns("__pycache__"))
            for name in ("pyproject.toml", "README.md"):
                shutil.copy(os.path.join(ROOT, name), os.path.join(checkout, name))
            # built with this environment's setuptools (the test extra's), not in an isolated environment of its own
            r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                                os.path.join(partial, "dist"), checkout], capture_output=True, text=True, timeout=600)
            assert r.returncode == 0, r.stderr[-3000:]
            shutil.rmtree(out, ignore_errors=True)
            os.rename(os.path.join(partial, "dist"), out)
            shutil.rmtree(partial, ignore_errors=True)
            for old in glob.glob(os.path.join(CACHE, "wheel-*[!k]")):  # other checkouts' wheels, unused for a day
                if not old.startswith(out) and time.time() - os.path.getmtime(old) > 86400:
                    shutil.rmtree(old, ignore_errors=True)
                    with contextlib.suppress(OSError):
                        os.remove(old + ".lock")
        [wheel] = glob.glob(os.path.join(out, "esmctl-*.whl"))
    return wheel


@pytest.fixture(scope="session")
def installed_packages(tmp_path_factory) -> str:
    """The one installed environment the CI jobs share: this interpreter's packages (esmctl's dependencies among
    them) seen through a directory of links that leaves esmctl itself out. A job's Python has it on its path, so
    its `pip install` finds the dependencies installed and adds only esmctl to its own site-packages."""
    view = tmp_path_factory.mktemp("ci-packages")
    paths = sysconfig.get_paths()
    for site in dict.fromkeys((paths["purelib"], paths["platlib"])):
        for name in os.listdir(site):
            # .pth files are not read outside a site directory anyway; editable esmctl installs through one
            if name.startswith(("esmctl", "__editable__")) or name.endswith(".pth") or name == "__pycache__":
                continue
            if not (view / name).exists():
                (view / name).symlink_to(os.path.join(site, name))
    return str(view)


@pytest.fixture
def ci(tmp_path, world, esmctl_wheel, installed_packages):
    """A CI job's world: its working directory (mappings/ with a spec of the sandbox's resources), a Python of
    its own first on PATH, with pip and without esmctl, and ESMCTL_INSTALL pointing at a wheel of this checkout
    (no network but PyPI here, so not the examples' git URL). The job's own `pip install "$ESMCTL_INSTALL"`
    installs esmctl."""
    work = tmp_path / "repo"
    (work / "mappings").mkdir(parents=True)
    text = open(os.path.join(ROOT, "examples", "mappings.yaml")).read()
    text = text.replace("${ACCOUNT}", ACCOUNT).replace("${ORDERS_TABLE_STREAM}", world["orders-table-stream"])
    (work / "mappings" / "orders.yaml").write_text(text)
    python = tmp_path / "ci-python"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(python)], check=True, capture_output=True,
                   timeout=120)
    [site] = glob.glob(str(python / "lib" / "python*" / "site-packages"))
    with open(os.path.join(site, "ci-packages.pth"), "w") as fh:
        fh.write(installed_packages + "\n")
    for name in ("pip", "pip3"):  # pip comes with the shared packages; the job calls it by name
        script = python / "bin" / name
        script.write_text('#!/bin/sh\nexec "$(dirname "$0")/python" -m pip "$@"\n')
        script.chmod(0o755)
    ours = os.path.dirname(sys.executable)  # this test's esmctl must not be the one the job runs
    path = [p for p in os.environ["PATH"].split(os.pathsep) if os.path.abspath(p) != ours]
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env.update(PATH=os.pathsep.join([str(python / "bin"), *path]), ESMCTL_INSTALL=esmctl_wheel,
               GITHUB_OUTPUT=str(tmp_path / "output"), GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md"))
    r = subprocess.run([str(python / "bin" / "python"), "-c", "import esmctl"], cwd=work, env=env, capture_output=True)
    assert r.returncode != 0  # without esmctl until the job installs it
    return {"work": str(work), "env": env, "esmctl": str(python / "bin" / "esmctl")}


def run_github_job(workflow: dict, job: str, ci: dict) -> None:
    """Each step of the job as GitHub runs it: `run:` in bash -eo pipefail with the workflow's and the step's env;
    `uses:` steps are what the test provides (GITHUB_ACTIONS_PROVIDED)."""
    env = {**ci["env"], **{k: str(v) for k, v in workflow.get("env", {}).items()}}
    env["ESMCTL_INSTALL"] = ci["env"]["ESMCTL_INSTALL"]  # set to this checkout, as the example says to set it
    for step in workflow["jobs"][job]["steps"]:
        if "uses" in step:
            assert step["uses"].split("@")[0] in GITHUB_ACTIONS_PROVIDED, step["uses"]
            continue
        step_env = {k: STEP_EXPRESSIONS[k] if "${{" in str(v) else str(v) for k, v in step.get("env", {}).items()}
        r = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], cwd=ci["work"],
                           env={**env, **step_env}, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, (job, step["run"], r.stdout[-3000:], r.stderr[-3000:])


@pytest.mark.slow
def test_the_github_actions_example_runs_as_written(box, ci, tmp_path, fake_gh):
    workflow = yaml.safe_load(open(os.path.join(ROOT, "examples", "github-actions.yml")))
    assert workflow["env"]["ESMCTL_INSTALL"].startswith("git+https://")  # a pinned URL to fill in, not a PyPI name
    assert all(j["runs-on"] == "ubuntu-latest" for j in workflow["jobs"].values())  # which has git for it
    ci["env"]["PATH"] = f"{fake_gh}:{ci['env']['PATH']}"
    run_github_job(workflow, "plan", ci)
    assert shutil.which("esmctl", path=ci["env"]["PATH"]) == ci["esmctl"]  # the job installed the esmctl it ran
    comment = (tmp_path / "comment.md").read_text()
    assert comment.startswith("**Plan for account ") and "+ create orders-fn <- kinesis:orders" in comment
    assert comment.rstrip().endswith("**Plan: 3 to create, 0 to update, 0 to replace, 0 to delete.**")
    assert "pr comment 7 --body-file plan.md" in (tmp_path / "gh.log").read_text()
    assert (tmp_path / "output").read_text().strip() == "exit=2"
    assert workflow["jobs"]["apply"]["needs"] == "plan-main" and workflow["jobs"]["apply"]["environment"]
    run_github_job(workflow, "plan-main", ci)  # merged: the plan to approve, saved
    assert "+ create orders-fn <- kinesis:orders" in (tmp_path / "summary.md").read_text()
    run_github_job(workflow, "apply", ci)  # approved: exactly that plan
    assert "ok: create" in (tmp_path / "summary.md").read_text()
    run_github_job(workflow, "plan", ci)  # nothing left to do
    assert "No changes" in (tmp_path / "comment.md").read_text()


def gitlab_job(pipeline: dict, name: str) -> dict:
    job = dict(pipeline[name])
    while "extends" in job:
        job = {**pipeline[job.pop("extends")], **job}
    return job


def run_gitlab_job(pipeline: dict, name: str, ci: dict) -> subprocess.CompletedProcess:
    """before_script and script in one shell, as GitLab's runner does (`set -eo pipefail`: the first line that
    fails ends the job with its code), with the pipeline's variables."""
    job = gitlab_job(pipeline, name)
    variables = {**{k: str(v) for k, v in pipeline.get("variables", {}).items()},
                 "ESMCTL_INSTALL": ci["env"]["ESMCTL_INSTALL"]}
    script = "set -eo pipefail\n" + "\n".join(job.get("before_script", []) + job["script"])
    return subprocess.run(["bash", "-c", script], cwd=ci["work"], env={**ci["env"], **variables},
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_the_gitlab_example_runs_as_written(box, ci):
    pipeline = yaml.safe_load(open(os.path.join(ROOT, "examples", "gitlab-ci.yml")))
    assert pipeline["variables"]["ESMCTL_INSTALL"].startswith("git+https://")
    for name in ("plan", "apply"):  # pip installs a git URL with git: the image must have it
        assert has_git(gitlab_job(pipeline, name)["image"]), gitlab_job(pipeline, name)["image"]
    r = run_gitlab_job(pipeline, "plan", ci)
    assert r.returncode in pipeline["plan"]["allow_failure"]["exit_codes"], r.stderr[-3000:]  # changes found
    assert shutil.which("esmctl", path=ci["env"]["PATH"]) == ci["esmctl"]
    assert "+ create orders-fn <- kinesis:orders" in r.stdout
    assert open(os.path.join(ci["work"], "plan.md")).read().startswith("```diff")
    r = run_gitlab_job(pipeline, "apply", ci)
    assert r.returncode == 0, r.stderr[-3000:]
    r = run_gitlab_job(pipeline, "plan", ci)
    assert r.returncode == 0 and "No changes" in r.stdout


def run_hook(hook: dict, args: list[str], files: list[str]) -> subprocess.CompletedProcess:
    """As pre-commit runs a hook: its entry, then its args, then every staged file it matches, at once."""
    entry = shlex.split(hook["entry"])
    exe = shutil.which(entry[0], path=os.path.dirname(ESMCTL))
    return subprocess.run([exe, *entry[1:], *args, *[f for f in files if re.search(hook["files"], f)]],
                          capture_output=True, text=True, timeout=60)


def test_the_pre_commit_hooks_run(tmp_path):
    hooks = yaml.safe_load(open(os.path.join(ROOT, ".pre-commit-hooks.yaml")))
    spec = os.path.join(ROOT, "examples", "mappings.yaml")
    for path in ("examples/mappings.yaml", "mappings/prod.yml", "infra/mappings/eu/orders.yaml", "mappings-eu.yaml"):
        assert all(re.search(h["files"], path) for h in hooks), path  # the layouts the CI examples use
    assert not any(re.search(h["files"], "docs/mappings.md") for h in hooks)
    for hook in hooks:
        r = run_hook(hook, VARS if hook["id"] == "esmctl-validate" else [], [spec])
        assert r.returncode == 0, (hook["id"], r.stderr)
    broken = tmp_path / "mappings.yaml"
    broken.write_text("version: 1\nmappings:\n  - FunctionName: f\n    EventSourceArn: arn:aws:sqs:us-east-1:1:q\n"
                      "    BatchSzie: 5\n")
    for hook in hooks:
        r = run_hook(hook, [], [str(broken)])
        assert r.returncode == 1 and "BatchSzie" in r.stderr, hook["id"]


def test_the_pre_commit_hooks_check_each_staged_file_on_its_own(tmp_path):
    """pre-commit passes every staged spec in one call: two teams' files, each valid, must not be read as one
    spec (one is for another region, one maps what the other maps)."""
    hooks = yaml.safe_load(open(os.path.join(ROOT, ".pre-commit-hooks.yaml")))
    (tmp_path / "mappings").mkdir()
    east = {"FunctionName": "jobs-fn", "EventSourceArn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs"}
    staged = {"mappings/east.yaml": [east], "mappings/again.yaml": [{**east, "BatchSize": 5}],
              "mappings/west.yaml": [{**east, "EventSourceArn": f"arn:aws:sqs:eu-west-1:{ACCOUNT}:jobs"}]}
    for name, mappings in staged.items():
        (tmp_path / name).write_text(yaml.safe_dump({"version": 1, "mappings": mappings}))
    files = [str(tmp_path / name) for name in staged]
    for hook in hooks:
        r = run_hook(hook, [], files)
        assert r.returncode == 0, (hook["id"], r.stderr)
    (tmp_path / "mappings" / "west.yaml").write_text(yaml.safe_dump({"version": 1, "mappings": [
        {**east, "EventSourceArn": f"arn:aws:sqs:eu-west-1:{ACCOUNT}:jobs", "BatchSzie": 5}]}))
    for hook in hooks:  # a broken file is named, and only it
        r = run_hook(hook, [], files)
        assert r.returncode == 1 and "BatchSzie" in r.stderr, hook["id"]
        assert "east.yaml" not in r.stderr and "again.yaml" not in r.stderr, (hook["id"], r.stderr)


def test_schema_check_reads_as_validate_reads_within_its_limits(esmctl, tmp_path):
    """A 400-byte alias bomb took schema --check minutes and gigabytes (validate refuses it at once); a duplicate
    key passed it; its problems lost their places when validate's reader refused the file (a review)."""
    bomb = tmp_path / "bomb.yaml"
    levels = ["x0: &a0 [a,a,a,a,a,a,a,a,a,a]"] + [f"x{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]"
                                                  for i in range(1, 11)]
    bomb.write_text("version: 1\n" + "\n".join(levels) + "\nmappings: []\n")
    r = esmctl("schema", "--check", str(bomb))
    assert r.exit_code == 1 and "(an alias bomb?)" in r.stderr, r.stderr
    dup = tmp_path / "dup.yaml"
    dup.write_text("version: 1\nmappings:\n  - FunctionName: f\n    EventSourceArn: arn:aws:sqs:us-east-1:1:q\n"
                   "    BatchSize: 100\n    BatchSize: 200\n")
    r = esmctl("schema", "--check", str(dup))
    assert r.exit_code == 1 and f"{dup}:6:5: mappings[0].BatchSize: duplicate key (first at line 5)" in r.stderr
    # its placeholders are left as they are, whatever else the file has (no "pass --var", which it has not)
    dup.write_text(dup.read_text() + "    Tags: {team: '${TEAM}'}\n")
    r = esmctl("schema", "--check", str(dup))
    assert r.exit_code == 1 and "${TEAM}" not in r.stderr and "1 problem found" in r.stderr, r.stderr
    # and both refuse what one took: `defaults: []` and `region:` left empty (validate took them)
    for top in ("defaults: []", "defaults:", "region:"):
        spec = tmp_path / "top.yaml"
        spec.write_text(f"version: 1\n{top}\nmappings:\n  - FunctionName: f\n"
                        "    EventSourceArn: arn:aws:sqs:us-east-1:123456789012:q\n")
        assert [esmctl(cmd, *args, str(spec)).exit_code for cmd, *args in (("validate",), ("schema", "--check"))] \
            == [1, 1], top


def test_schema_check_of_bad_yaml_is_a_spec_error_with_its_place(esmctl, tmp_path):
    unclosed = tmp_path / "mappings.yaml"
    unclosed.write_text("version: 1\nmappings: [\n")
    quote = tmp_path / "quote.yaml"
    quote.write_text('version: 1\nmappings:\n  - FunctionName: f\n    EventSourceArn: "arn:aws:sqs:us-east-1:1:q\n')
    good = os.path.join(ROOT, "examples", "mappings.yaml")
    r = esmctl("schema", "--check", str(unclosed), str(quote), good, str(tmp_path / "missing.yaml"))
    assert r.exit_code == 1
    assert r.stderr.splitlines() == [  # one line each, as validate says them: no traceback, nothing "unexpected"
        f"{unclosed}:3:1: spec: did not find expected node content",
        f"{quote}:5:1: spec: found unexpected end of stream",
        f"{tmp_path / 'missing.yaml'}:1:1: spec: cannot read: No such file or directory",
        "esmctl: error: 3 problems found in the spec"]
