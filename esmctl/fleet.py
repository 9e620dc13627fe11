"""Run plan, diff, apply, status and doctor over many accounts and regions, as CloudFormation StackSets do.

A targets file names accounts × regions, each reached through a role assumed with the caller's
credentials (botocore's AssumeRoleCredentialFetcher), a profile, or the caller's credentials as they
are, with variables for the spec's ${NAME} placeholders (ACCOUNT and REGION come with every target).
Each target runs the single-target code as it is — reconcile.plan and reconcile.apply, the health
checks — with a Settings and an Aws of its own:

    load_targets(file)                Targets, every problem with its FILE:LINE:COL
    load_specs(targets, files, vars)  each target's spec, checked offline before anything is asked of AWS
    Fleet(settings, targets).run(job) the jobs in parallel (--max-concurrency), region after region with
                                      --region-order, none started once more than --failure-tolerance failed
    show(...)                         one document (text, Markdown, JSON): a section and a status per target

Lambda's 15 requests/s are per account and region: the targets of one account and region share one
pacer, while another region of the account, or another account, has its own. A target that fails (no
access, throttled, a change refused) never stops the others; the exit code is decided once, by the
README's policy: a failure anywhere 1, else unhealthy anywhere 3, else changes anywhere 2.
"""

from __future__ import annotations

import re
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import click

from esmctl import model, render, schema, spec, yamldoc
from esmctl import regions as known_regions
from esmctl.aws import BOTOCORE_ERRORS, AssumeRole, Aws, Pacer, describe_error, explain, new_pacer
from esmctl.context import Settings

if TYPE_CHECKING:
    from esmctl.execute import Interrupt
from esmctl.errors import (
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UNHEALTHY,
    EsmctlError,
    Interrupted,
    Outcome,
    SpecError,
    TargetsError,
    worst,
)

TOP_LEVEL = ("version", "defaults", "targets")
FIELDS = ("account", "name", "regions", "role", "profile", "external_id", "session_name", "variables")
PER_TARGET = ("account", "name")  # not in `defaults:`
DEFAULT_SESSION_NAME = "esmctl"
MAX_DEFAULT_CONCURRENCY = 16
AUTOMATIC = ("ACCOUNT", "REGION")  # variables esmctl sets for each target

# What each field may be (the JSON Schema of `esmctl schema --targets` uses the same).
PATTERNS = {
    "account": r"\d{12}",
    "region": r"[a-z]{2}(-[a-z]+)+-\d{1,2}",
    "role_arn": r"arn:(aws[a-z-]*):iam::(\d{12}):role/[\w+=,.@/-]+",
    "role_name": r"[\w+=,.@-]{1,64}(/[\w+=,.@-]{1,64})*",  # a name, or PATH/NAME
    "session_name": r"[\w+=,.@-]{2,64}",  # STS's RoleSessionName
    "external_id": r"[\w+=,.@:/-]{2,1224}",  # STS's ExternalId
    "name": r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}",
    "variable": r"[A-Za-z_][A-Za-z0-9_]*",
}
_ACCOUNT, _REGION, _ROLE_ARN, _ROLE_NAME, _SESSION_NAME, _EXTERNAL_ID, _NAME, _VARIABLE = (
    re.compile(PATTERNS[k], re.ASCII)
    for k in ("account", "region", "role_arn", "role_name", "session_name", "external_id", "name", "variable"))

OK, CHANGES, UNHEALTHY, FAILED, SKIPPED = "ok", "changes", "unhealthy", "failed", "skipped"


@dataclass(frozen=True)
class Target:
    """One account and region, how to reach it, and its values for the spec's placeholders."""

    account: str
    region: str
    where: str  # FILE:LINE:COL of its entry
    name: str | None = None
    role_arn: str | None = None
    profile: str | None = None
    external_id: str | None = None
    session_name: str = DEFAULT_SESSION_NAME
    variables: tuple[tuple[str, str], ...] = ()

    @property
    def id(self) -> str:
        return f"{self.name or self.account}/{self.region}"

    @property
    def label(self) -> str:
        return f"{self.id} ({self.account})" if self.name else self.id

    def spec_variables(self, given: dict[str, str]) -> dict[str, str]:
        """The values of the spec's placeholders here: --var, then the target's own, then ACCOUNT and REGION."""
        return {**given, **dict(self.variables), "ACCOUNT": self.account, "REGION": self.region}

    def document(self) -> dict[str, Any]:
        """Where and as whom, for the result document (no ExternalId: it is no one else's business)."""
        return {"target": self.id, "name": self.name, "account": self.account, "region": self.region,
                "role": self.role_arn, "profile": self.profile}


@dataclass
class TargetOutcome:
    """What one target's run came to: its status, what the single-target code returned, why it failed."""

    target: Target
    status: str  # ok, changes, unhealthy, failed, skipped (not started: too many failed before)
    result: Any = None
    error: str | None = None
    seconds: float = 0.0
    calls: dict[str, int] = field(default_factory=dict)
    throttled: int = 0


# -- the targets file ----------------------------------------------------------------------------------
def load_targets(path: str, variables: dict[str, str] | None = None, text: str | None = None) -> list[Target]:
    """Read a targets file (${NAME} filled from `variables`, then the environment); raise TargetsError
    with every problem. Nothing here touches AWS."""
    try:
        doc = yamldoc.load(path, yamldoc.read_text(path) if text is None else text, variables)
    except yamldoc.YamlError as exc:
        raise TargetsError([_targets_field(p) for p in exc.problems]) from None
    data = doc.data
    problems = yamldoc.top_level_problems(doc, TOP_LEVEL, "targets file", "targets")
    if not isinstance(data, dict):
        raise TargetsError(problems)
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        problems.append(f"{doc.at(('defaults',))}: defaults: must be a mapping of target fields")
        defaults = {}
    for key in defaults:
        if key in PER_TARGET:
            problems.append(f"{doc.at(('defaults', key), key=True)}: defaults.{key}: set it on each target")
        elif key not in FIELDS:
            problems.append(f"{doc.at(('defaults', key), key=True)}: defaults.{key}: unknown field"
                            + schema.did_you_mean(str(key), list(FIELDS)))
    entries = data.get("targets")
    if not isinstance(entries, list) or not entries:
        where = doc.at(("targets",)) if "targets" in data else doc.at(())
        problems.append(f"{where}: targets: {'is required' if entries is None else 'must be a list of targets'}")
        entries = []
    targets = _targets(doc, ("targets",), entries, defaults, problems)
    if problems:
        raise TargetsError(sorted(dict.fromkeys(problems), key=_order))
    return targets


def spec_targets(path: str, variables: dict[str, str] | None = None, text: str | None = None) -> list[Target]:
    """The targets a spec names in its `targets:` (a list of targets file entries: each whole, the spec's
    `defaults:` being its mappings'); raise TargetsError with their problems."""
    try:
        doc = yamldoc.load(path, yamldoc.read_text(path) if text is None else text, variables, defer_missing=True)
    except yamldoc.YamlError as exc:  # said with the spec's other problems, by its loading
        raise SpecError(exc.problems) from None
    entries = doc.data.get("targets") if isinstance(doc.data, dict) else None
    problems = [p for p in doc.problems if re.match(r"^.*?:\d+:\d+: targets[\[.:]", p)]
    if not isinstance(entries, list) or not entries:
        problems.append(f"{doc.at(('targets',))}: targets: must be a list of targets (account, regions, role…)")
        entries = []
    targets = _targets(doc, ("targets",), entries, {}, problems)
    if problems:
        raise TargetsError(sorted(dict.fromkeys(problems), key=_order), "the spec's targets")
    return targets


def _targets(doc: yamldoc.Document, base: tuple, entries: list, defaults: dict, problems: list[str]) -> list[Target]:
    """The targets of a list of entries (account × regions each), their problems added to `problems`."""
    out: list[Target] = []
    seen: dict[tuple[str, str], str] = {}
    for i, entry in enumerate(entries):
        path = base + (i,)
        if not isinstance(entry, dict):
            problems.append(f"{doc.at(path)}: {yamldoc.label(path)}: must be a mapping (account, regions, role…)")
            continue
        found = _entry(doc, path, entry, defaults, problems)
        for target in found:
            key = (target.name or target.account, target.region)
            if key in seen:
                problems.append(f"{target.where}: {yamldoc.label(path)}: {target.id} is the same target as at "
                                f"{seen[key]} (targets of one account and region need different names)")
            else:
                seen[key] = target.where
                out.append(target)
    return out


def _entry(doc: yamldoc.Document, base: tuple, entry: dict, defaults: dict, problems: list[str]) -> list[Target]:
    for key in entry:
        if key not in FIELDS:
            problems.append(f"{doc.at(base + (key,), key=True)}: {yamldoc.label(base + (key,))}: unknown field"
                            + schema.did_you_mean(str(key), list(FIELDS)))
    inherited = {k: v for k, v in defaults.items() if k in FIELDS and k not in PER_TARGET}
    # A target's own way in replaces the defaults' (a profile here drops the defaults' role, and the reverse).
    if "profile" in entry:
        inherited = {k: v for k, v in inherited.items() if k not in ("role", "external_id")}
    if "role" in entry:
        inherited.pop("profile", None)
    values = {**inherited, **{k: v for k, v in entry.items() if k in FIELDS}}

    def at(key: str) -> tuple:
        return base + (key,) if key in entry else ("defaults", key)

    def problem(key: str, message: str) -> None:
        path = at(key) if key in values else base
        problems.append(f"{doc.at(path)}: {yamldoc.label(path if key in values else base + (key,))}: {message}")

    before = len(problems)
    account = _account(doc, at("account"), values.get("account"), problem)
    regions = values.get("regions")
    if regions is None:
        problem("regions", "is required: a list of regions (here or in defaults)")
        regions = []
    elif not isinstance(regions, list) or not regions:
        problem("regions", "must be a list of regions, e.g. [us-east-1, eu-west-1]")
        regions = []
    for j, region in enumerate(regions):
        if not isinstance(region, str) or not _REGION.fullmatch(region):
            path = at("regions") + (j,)
            problems.append(f"{doc.at(path)}: {yamldoc.label(path)}: {region!r} is not a region name (us-east-1…)")
        elif regions.index(region) != j:
            path = at("regions") + (j,)
            problems.append(f"{doc.at(path)}: {yamldoc.label(path)}: {region} is listed twice")
        elif known_regions.problem(region):
            path = at("regions") + (j,)
            problems.append(f"{doc.at(path)}: {yamldoc.label(path)}: {known_regions.problem(region)}")
    name = values.get("name")
    if name is not None and (not isinstance(name, str) or not _NAME.fullmatch(name)):
        problem("name", "must be letters, digits, '.', '_' or '-' (at most 64), starting with a letter or digit")
        name = None
    role, profile = values.get("role"), values.get("profile")
    if role is not None and profile is not None:
        problem("profile", "give a role or a profile, not both")
    role_arn = None
    if role is not None:
        role_arn = _role_arn(role, account, regions, problem)
    if profile is not None and (not isinstance(profile, str) or not profile.strip()):
        problem("profile", "must name a profile of the AWS config files")
        profile = None
    external_id = values.get("external_id")
    if external_id is not None:
        if role is None:
            problem("external_id", "goes with role: an ExternalId is sent when a role is assumed")
        elif not isinstance(external_id, str) or not _EXTERNAL_ID.fullmatch(external_id):
            problem("external_id", "must be 2 to 1224 characters: letters, digits and +=,.@:/-_")
    session_name = values.get("session_name", DEFAULT_SESSION_NAME)
    if not isinstance(session_name, str) or not _SESSION_NAME.fullmatch(session_name):
        problem("session_name", "must be 2 to 64 characters: letters, digits and +=,.@-_ (STS's RoleSessionName)")
    variables = _variables(doc, base, entry, defaults, problems)
    if len(problems) > before or account is None:
        return []
    return [Target(account=account, region=region, where=doc.at(base), name=name, role_arn=role_arn,
                   profile=profile, external_id=external_id, session_name=session_name, variables=variables)
            for region in regions]


def _account(doc: yamldoc.Document, path: tuple, value: Any, problem: Callable[[str, str], None]) -> str | None:
    if value is None:
        problem("account", "is required: the 12-digit AWS account ID")
        return None
    surprises = doc.yaml11_surprises(path)
    if surprises:  # 012345670123 unquoted is an octal number to YAML 1.1
        problem("account", f"{surprises[0][1].split(': ')[0]}: write the account ID in quotes")
        return None
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not _ACCOUNT.fullmatch(text):
        problem("account", f"{value!r} is not a 12-digit AWS account ID (quote it to keep leading zeros)")
        return None
    return text


def _role_arn(role: Any, account: str | None, regions: list, problem: Callable[[str, str], None]) -> str | None:
    """The role's ARN: as written, or made from a role name (and path) in the target's account."""
    if not isinstance(role, str):
        problem("role", "must be a role ARN or a role name")
        return None
    arn = _ROLE_ARN.fullmatch(role)
    if arn:
        if account and arn.group(2) != account:
            problem("role", f"is in account {arn.group(2)}, not the target's {account}: a role acts in its own "
                            "account")
        return role
    if role.startswith("arn:") or not _ROLE_NAME.fullmatch(role):
        problem("role", f"{role!r} is neither a role ARN (arn:aws:iam::ACCOUNT:role/NAME) nor a role name")
        return None
    region = next((r for r in regions if isinstance(r, str)), "")
    return f"arn:{_partition(region)}:iam::{account}:role/{role}" if account else None


def _partition(region: str) -> str:
    for prefix, partition in (("cn-", "aws-cn"), ("us-gov-", "aws-us-gov"), ("us-isob-", "aws-iso-b"),
                              ("us-iso-", "aws-iso")):
        if region.startswith(prefix):
            return partition
    return "aws"


def _variables(doc: yamldoc.Document, base: tuple, entry: dict, defaults: dict,
               problems: list[str]) -> tuple[tuple[str, str], ...]:
    """defaults.variables, then the target's own; each a NAME: scalar."""
    out: dict[str, str] = {}
    for path, values in ((("defaults", "variables"), defaults.get("variables")),
                         (base + ("variables",), entry.get("variables"))):
        if values is None:
            continue
        if not isinstance(values, dict):
            problems.append(f"{doc.at(path)}: {yamldoc.label(path)}: must be a mapping of NAME: value")
            continue
        for name, value in values.items():
            where = f"{doc.at(path + (name,), key=True)}: {yamldoc.label(path + (name,))}"
            if not isinstance(name, str) or not _VARIABLE.fullmatch(name):
                problems.append(f"{where}: {name!r} is not a placeholder name (letters, digits, _)")
            elif name in AUTOMATIC:
                problems.append(f"{where}: esmctl sets {name} for each target")
            elif isinstance(value, bool):
                out[name] = "true" if value else "false"
            elif isinstance(value, (str, int, float)):
                out[name] = str(value)
            else:
                problems.append(f"{doc.at(path + (name,))}: {yamldoc.label(path + (name,))}: must be a single "
                                "value (text, a number or a boolean)")
    return tuple(sorted(out.items()))


def _targets_field(problem: str) -> str:
    """yamldoc names the document `spec`; here it is the targets file."""
    return re.sub(r"^(.*?:\d+:\d+): spec: ", r"\1: targets file: ", problem)


def _order(problem: str) -> tuple[str, int, int]:
    m = re.match(r"^(.*?):(\d+):(\d+): ", problem)
    return (m.group(1), int(m.group(2)), int(m.group(3))) if m else (problem, 0, 0)


# -- each target's spec -------------------------------------------------------------------------------
def load_specs(targets: list[Target], files: Sequence[str], given: dict[str, str]) -> dict[Target, spec.Spec]:
    """Each target's spec (its variables filled), every one checked before anything is asked of AWS. A
    problem of every target is said once; one of some targets names them."""
    try:
        texts = {path: yamldoc.read_text(path) for path in dict.fromkeys(files)}  # stdin is read once
    except yamldoc.YamlError as exc:
        raise SpecError(exc.problems) from None
    found: dict[str, list[str]] = {}
    specs: dict[Target, spec.Spec] = {}
    for target in targets:
        try:
            loaded = spec.load_files(list(files), target.spec_variables(given), texts=texts, targets=True)
        except SpecError as exc:
            for problem in exc.problems:
                found.setdefault(problem, []).append(target.id)
            continue
        if loaded.region and loaded.region != target.region:
            found.setdefault(f"{', '.join(files)}: region: the spec is for {loaded.region}, not {target.region}: use "
                             "region: ${REGION} (and ${REGION} in its ARNs)", []).append(target.id)
            continue
        specs[target] = loaded
    if found:
        raise SpecError([problem if len(ids) == len(targets) else
                         f"{problem} (target{'s' if len(ids) > 1 else ''} {', '.join(ids)})"
                         for problem, ids in found.items()])
    return specs


# -- running targets ------------------------------------------------------------------------------------
Job = Callable[[Target, Settings], tuple[str, Any, "str | None"]]  # -> (status, result, error)


def waves(targets: Sequence[Target], region_order: Sequence[str]) -> list[list[Target]]:
    """The targets in the order they run: all at once, or with a region order one region after the other
    (the regions named first, in that order, then the others as the targets file has them)."""
    if not region_order:
        return [list(targets)]
    regions = list(dict.fromkeys([*region_order, *(t.region for t in targets)]))
    return [wave for wave in ([t for t in targets if t.region == r] for r in regions) if wave]


class Fleet:
    """The targets of one command: their sessions, a pacer for each account and region, and a runner.

    Targets reached the same way (one role, one profile, or the caller's credentials) share one botocore
    session: a role is assumed once for every region of its account, and refreshed by botocore when its
    keys near their end. Each target still has its own Aws, in its own region.
    """

    def __init__(self, settings: Settings, targets: list[Target]) -> None:
        self.settings = settings
        self.targets = targets
        pairs = {(t.account, t.region) for t in targets}
        self.concurrency = settings.fleet.max_concurrency or min(MAX_DEFAULT_CONCURRENCY, len(pairs))
        self._pacers: dict[tuple[str, str], Pacer | None] = {}
        self._holders: dict[tuple, Aws] = {}  # a way in -> the Aws whose session the targets reached so share
        self._accounts: dict[tuple, str | BaseException] = {}  # a way in -> the account it acts in, or why not
        self._checking: dict[tuple, threading.Lock] = {}
        self._sessions: dict[Target, Settings] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _way_in(target: Target) -> tuple:
        if target.role_arn:
            return ("role", target.role_arn, target.external_id, target.session_name, target.profile)
        return ("profile", target.profile)

    def settings_for(self, target: Target) -> Settings:
        """The target's own Settings: its region, and an Aws acting in its account with its credentials and
        its account and region's pacer."""
        with self._lock:
            if target in self._sessions:
                return self._sessions[target]
            pair = (target.account, target.region)
            if pair not in self._pacers:
                self._pacers[pair] = new_pacer()
            base = self.settings
            key = self._way_in(target)
            holder = self._holders.get(key)
            credentials = None
            if target.role_arn and holder is None:
                credentials = AssumeRole(base.aws, target.role_arn, session_name=target.session_name,
                                         external_id=target.external_id, region=target.region)
            aws = Aws(target.profile or base.profile, target.region, base.endpoint_url, credentials=credentials,
                      pacer=self._pacers[pair], shares=holder)
            self._holders.setdefault(key, aws)
            self._checking.setdefault(key, threading.Lock())
            own = replace(base, region=target.region, region_from_flag=False, _aws=aws)
            self._sessions[target] = own
            return own

    def _check_account(self, target: Target, aws: Aws) -> None:
        """Make sure the target's credentials act in its account, once per way in: a role is assumed (it acts
        in its own account, which the targets file checked); a profile's or the caller's credentials are
        asked (GetCallerIdentity). A role that cannot be assumed is said here, before anything else."""
        key = self._way_in(target)
        with self._checking[key]:
            if key not in self._accounts:
                try:
                    if target.role_arn:
                        with explain(f"assuming {target.role_arn}"):
                            aws.credentials().get_frozen_credentials()
                        self._accounts[key] = target.account
                    else:
                        with explain("checking the credentials (sts get-caller-identity)"):
                            self._accounts[key] = aws.client("sts").get_caller_identity()["Account"]
                except Exception as exc:  # said again for each target reached this way, not asked again
                    self._accounts[key] = exc
        found = self._accounts[key]
        if isinstance(found, BaseException):
            raise found
        if found != target.account:
            raise EsmctlError(f"the credentials act in account {found}, not in {target.account}")
        aws.use_account(found)

    def run(self, job: Job, targets: Sequence[Target] | None = None, *, failed_before: int = 0,
            on_done: Callable[[TargetOutcome], None] | None = None,
            interrupt: Interrupt | None = None) -> list[TargetOutcome]:
        """Each target's job: up to `concurrency` at once, wave after wave (see `waves`); once more than
        --failure-tolerance targets have failed (counting `failed_before`), or Ctrl-C came (`interrupt`), no
        new one starts."""
        targets = list(self.targets if targets is None else targets)
        tolerance = self.settings.fleet.failure_tolerance
        outcomes: dict[Target, TargetOutcome] = {}
        failed = [failed_before]
        lock = threading.Lock()

        def one(target: Target) -> None:
            with lock:
                stop = tolerance is not None and failed[0] > tolerance
            if interrupt:
                outcome = TargetOutcome(target, SKIPPED, error="interrupted before it began: nothing was sent for it")
            elif stop:
                outcome = TargetOutcome(target, SKIPPED, error=f"more than {tolerance} target(s) failed "
                                                                f"(--failure-tolerance {tolerance})")
            else:
                outcome = self._attempt(target, job)
            with lock:
                failed[0] += outcome.status == FAILED
                outcomes[target] = outcome
            if on_done is not None:
                on_done(outcome)

        for wave in waves(targets, self.settings.fleet.region_order):
            if not wave:
                continue
            with ThreadPoolExecutor(max_workers=min(self.concurrency, len(wave)), thread_name_prefix="target") as pool:
                list(pool.map(one, wave))
        return [outcomes[t] for t in targets]

    def _attempt(self, target: Target, job: Job) -> TargetOutcome:
        started = time.monotonic()
        own: Settings | None = None
        try:
            own = self.settings_for(target)
            self._check_account(target, own.aws)
            status, result, error = job(target, own)
            outcome = TargetOutcome(target, status, result, error)
        except Exception as exc:  # a target's failure is its own: the others go on
            if self.settings.verbose:
                click.echo(f"{target.id}: " + "".join(traceback.format_exception(exc)).rstrip(), err=True)
            outcome = TargetOutcome(target, FAILED, error=_describe(exc))
        outcome.seconds = time.monotonic() - started
        if own is not None and own._aws is not None:
            outcome.calls, outcome.throttled = dict(own._aws.calls), own._aws.throttled
        return outcome


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SpecError):
        return "\n".join(exc.problems)
    if isinstance(exc, EsmctlError):
        return exc.format_message()
    if isinstance(exc, BOTOCORE_ERRORS):
        return describe_error(exc)
    return f"unexpected {type(exc).__name__}: {exc} (run with --verbose for the traceback)"


# -- the commands --------------------------------------------------------------------------------------
@dataclass
class Prepared:
    fleet: Fleet
    given: dict[str, str]  # --var
    specs: dict[Target, spec.Spec]


def prepare(settings: Settings, files: Sequence[str], variables: Sequence[str]) -> Prepared:
    """The targets, and each one's spec: every problem found offline, before anything is asked of AWS."""
    if settings.region_from_flag:
        raise click.UsageError("--region does not go with --targets: the targets name the regions")
    given = spec.parse_vars(variables)
    targets, specs = load(settings.fleet.targets, settings.fleet.in_spec, files, given)
    regions = {t.region for t in targets}
    unknown = [r for r in settings.fleet.region_order if r not in regions]
    if unknown:
        raise click.UsageError(f"--region-order: no target is in {', '.join(unknown)} (the targets are in "
                               f"{', '.join(sorted(regions))})")
    return Prepared(Fleet(settings, targets), given, specs)


def load(path: str, in_spec: bool, files: Sequence[str], given: dict[str, str]) -> tuple[list[Target],
                                                                                       dict[Target, spec.Spec]]:
    """The targets (of a targets file, or of the spec file `path`'s `targets:`) and each one's spec."""
    for name in AUTOMATIC:
        if name in given:
            raise click.UsageError(f"--var {name}: with targets, esmctl sets {name} for each target")
    if path == "-" and "-" in files:
        raise click.UsageError("the targets file and a spec cannot both be standard input")
    targets = spec_targets(path, given) if in_spec else load_targets(path, given)
    return targets, (load_specs(targets, files, given) if files else {})


def validate(files: Sequence[str], variables: Sequence[str], path: str, in_spec: bool) -> tuple[int, int]:
    """`validate` with targets: the spec checked for each target, offline. Returns (targets, mappings)."""
    targets, specs = load(path, in_spec, files, spec.parse_vars(variables))
    return len(targets), sum(len(s.mappings) for s in specs.values())


def plan(settings: Settings, command: str, files: Sequence[str], variables: Sequence[str], *, prune: bool,
         margin: float, exit_on_changes: bool) -> Outcome:
    """`plan`/`diff --targets`: each target's plan; exit 2 on changes anywhere when asked (diff,
    --detailed-exitcode), 1 when any target failed."""
    from esmctl import reconcile

    prepared = prepare(settings, files, variables)
    options = reconcile.Options(prune=prune, margin=margin)

    def job(target: Target, own: Settings) -> tuple[str, Any, str | None]:
        planned = reconcile.plan(own.aws, prepared.specs[target], options).plan
        return (OK if planned.empty else CHANGES), planned, None

    outcomes = _run_with_progress(settings, prepared.fleet, job, "planning")
    code = show(settings, command, outcomes, _PLAN_VIEW, changes_code=exit_on_changes)
    return _finish(outcomes, code)


def apply(settings: Settings, files: Sequence[str], variables: Sequence[str], *, prune: bool, margin: float,
          allow_replace: bool, yes: bool, dry_run: bool, wait: bool, timeout: float, concurrency: int,
          interrupt: Interrupt, guard: Callable[[], AbstractContextManager[None]]) -> None:
    """`apply --targets`: every target planned first and the plans shown; then, after one confirmation for
    them all, each target's plan carried out. A target whose plan is refused (a replace without
    --allow-replace, a deletion without --yes) fails alone. The writes run inside `guard()` (the command's
    Ctrl-C handling), which sets `interrupt`: then no target and no change starts, the calls in flight
    finish, and every target's results are shown before Interrupted is raised."""
    from esmctl import reconcile
    from esmctl.context import confirm

    deadline = time.monotonic() + timeout
    prepared = prepare(settings, files, variables)
    fleet = prepared.fleet
    options = reconcile.Options(prune=prune, margin=margin)

    def plan_job(target: Target, own: Settings) -> tuple[str, Any, str | None]:
        planned = reconcile.plan(own.aws, prepared.specs[target], options).plan
        return (OK if planned.empty else CHANGES), _Applied(planned), None

    outcomes = _run_with_progress(settings, fleet, plan_job, "planning")
    machine = settings.output in ("json", "yaml")
    if not machine:
        _sections(settings, outcomes, _PLANNED_VIEW)
    todo = [o for o in outcomes if o.status == CHANGES]
    if dry_run or not todo:
        _finish(outcomes, show(settings, "apply", outcomes, _APPLY_VIEW, sections=False, changes_code=False))
        return

    for o in todo:
        blocked = [c for c in o.result.plan.changes if c.needs_allow_replace and not allow_replace]
        if blocked:
            o.status, o.error = FAILED, ("refusing to replace without --allow-replace (a new stream mapping does not "
                                         "keep the old one's position): "
                                         + "; ".join(f"{c.title()}: {c.reason}" for c in blocked))
    destructive = {o.target: sum(c.destructive for c in o.result.plan.changes) for o in todo if o.status == CHANGES}
    count = sum(destructive.values())
    if count and not yes:
        if sys.stdin.isatty():
            where = sum(1 for n in destructive.values() if n)
            confirm(f"{count} change(s) in {where} target(s) delete, replace or hand off mappings. Go on?", yes,
                    "refusing")
        else:
            for o in todo:
                if destructive.get(o.target):
                    o.status, o.error = FAILED, (f"refusing to delete, replace or hand off {destructive[o.target]} "
                                                 "mapping(s) without confirmation: pass --yes (stdin is not a "
                                                 "terminal, so esmctl cannot ask)")
    go = [o for o in todo if o.status == CHANGES]
    total = sum(len(o.result.plan.changes) for o in go)
    with guard(), render.progress(settings, f"applying {total} change(s) in {len(go)} target(s)", total) as advance:
        def apply_job(target: Target, own: Settings) -> tuple[str, Any, str | None]:
            applied = by_target[target].result

            def step(r: Any) -> None:
                advance(f"{target.id}: {'ok' if r.ok else 'FAILED'}: {r.change.action} {r.change.title()}: "
                        f"{r.message}")

            applied.results = reconcile.apply(own.aws, applied.plan, concurrency=concurrency, wait=wait,
                                              timeout=max(0.0, deadline - time.monotonic()), on_step=step,
                                              interrupt=interrupt, rerun="re-run apply --targets")
            applied.applied = True
            applied.interrupted = bool(interrupt)
            failed = [r for r in applied.results if not r.ok]
            if failed:
                return FAILED, applied, f"{len(failed)} of {len(applied.results)} change(s) failed"
            return OK, applied, None

        by_target = {o.target: o for o in outcomes}
        done = fleet.run(apply_job, [o.target for o in go], failed_before=sum(o.status == FAILED for o in outcomes),
                         interrupt=interrupt)
    for o in done:
        before = by_target[o.target]
        o.result = o.result or before.result  # a target not started, or failed before its apply, keeps its plan
        o.seconds += before.seconds
        o.calls = {k: before.calls.get(k, 0) + o.calls.get(k, 0) for k in {*before.calls, *o.calls}}
        o.throttled += before.throttled
        by_target[o.target] = o
    outcomes = [by_target[o.target] for o in outcomes]
    code = show(settings, "apply", outcomes, _APPLY_VIEW, changes_code=False, interrupted=bool(interrupt))
    if interrupt:
        results = [r for o in outcomes if isinstance(o.result, _Applied) for r in o.result.results]
        started = sum(1 for o in outcomes if isinstance(o.result, _Applied) and o.result.applied)
        raise Interrupted(f"interrupted: {started} of {len(go)} target(s) started; "
                          + _interrupted_counts(results) + "; re-run apply --targets to finish")
    _finish(outcomes, code)


def pause_or_resume(settings: Settings, action: str, files: Sequence[str], functions: tuple[str, ...],
                    sources: tuple[str, ...], variables: Sequence[str], *, yes: bool, dry_run: bool,
                    rows: Callable[[list[Any]], list[dict[str, str]]], columns: list[Any], reason: str = "",
                    timeout: float = 300, concurrency: int = 4, interrupt: Interrupt,
                    guard: Callable[[], AbstractContextManager[None]]) -> Outcome:
    """`pause`/`resume --targets`: every target surveyed first (reads only), one confirmation for them all,
    then each target's mappings paused or resumed (pauses.carry_out, as in one account and region). A target
    fails alone; exit 1 when any failed."""
    from datetime import datetime, timezone

    from esmctl.context import confirm
    from esmctl.plan import pauses

    prepared = prepare(settings, files, variables)
    fleet = prepared.fleet
    mark = model.pause_mark(datetime.now(timezone.utc), reason) if action == pauses.PAUSE else ""

    def survey(target: Target, own: Settings) -> tuple[str, Any, str | None]:
        selection = pauses.Selection(prepared.specs.get(target), functions, sources)
        return OK, pauses.survey(own.aws, selection, action), None

    surveyed = _run_with_progress(settings, fleet, survey, "reading")
    todo = sum(sum(i.todo for i in o.result) for o in surveyed if o.result is not None)
    if todo and not dry_run:
        where = sum(1 for o in surveyed if o.result and any(i.todo for i in o.result))
        effect = "they stop processing until `esmctl resume`" if action == pauses.PAUSE else "they start again"
        confirm(f"{action.capitalize()} {todo} mapping(s) in {where} target(s)? {effect[0].upper()}{effect[1:]}.",
                yes, f"refusing to {action} {todo} mapping(s) without confirmation")
    items = {o.target: o.result for o in surveyed if o.status == OK}

    def carry_out(target: Target, own: Settings) -> tuple[str, Any, str | None]:
        if dry_run:
            results = [pauses.unchanged(i, action, dry_run=True) for i in items[target]]
        else:
            results = pauses.carry_out(own.aws, items[target], action, mark=mark, concurrency=concurrency,
                                       timeout=timeout, interrupt=interrupt)
        failed = [r for r in results if not r.ok]
        return (FAILED if failed else OK), results, (f"{len(failed)} of {len(results)} failed" if failed else None)

    by_target = {o.target: o for o in surveyed}
    with guard():
        done = fleet.run(carry_out, [t for t in items], failed_before=sum(o.status == FAILED for o in surveyed),
                         interrupt=interrupt)
    for o in done:
        by_target[o.target] = o
    outcomes = [by_target[o.target] for o in surveyed]
    view = _View(section=lambda s, results: render.table(s, rows(results), columns, empty=f"No mappings to {action}."),
                 document=lambda results: {"mappings": [r.document() for r in results]},
                 detail=lambda results: ", ".join(f"{n} {k}" for k, n in Counter(r.outcome for r in results).items())
                 or "nothing selected", ok="done")
    code = show(settings, action, outcomes, view, interrupted=bool(interrupt))
    if interrupt:
        results = [r for o in outcomes if isinstance(o.result, list) for r in o.result]
        counts = Counter(r.outcome for r in results)
        raise Interrupted(f"interrupted: {counts[pauses.PAUSED if action == pauses.PAUSE else pauses.RESUMED]} of "
                          f"{len(results)} mapping(s) done; run esmctl {action} --targets again to finish")
    return _finish(outcomes, code)


@dataclass
class _Applied:
    """One target's apply: its plan, and what carrying it out did."""

    plan: Any
    results: list[Any] = field(default_factory=list)
    applied: bool = False
    interrupted: bool = False  # Ctrl-C cut its apply short


@dataclass(frozen=True)
class HealthCheck:
    """How `status` or `doctor` runs on one target and shows what it found."""

    command: str  # status, doctor
    run: Callable[[Settings, tuple[str, ...]], list[Any]]  # a target's Settings and --var pairs -> its items
    healthy: Callable[[list[Any]], bool]
    key: str  # the items' key in the JSON document: mappings, findings
    document: Callable[[Any], dict[str, Any]]
    rows: Callable[[list[Any]], list[dict[str, str]]]
    columns: list[Any]
    empty: str
    detail: Callable[[list[Any]], str]


def health(settings: Settings, files: Sequence[str], variables: Sequence[str], check: HealthCheck) -> Outcome:
    """`status`/`doctor --targets`: exit 3 when any target is unhealthy, 1 when any failed."""
    prepared = prepare(settings, files, variables)

    def job(target: Target, own: Settings) -> tuple[str, Any, str | None]:
        pairs = tuple(f"{k}={v}" for k, v in target.spec_variables(prepared.given).items())
        items = check.run(own, pairs)
        return (OK if check.healthy(items) else UNHEALTHY), items, None

    outcomes = _run_with_progress(settings, prepared.fleet, job, "checking")
    view = _View(section=lambda s, items: render.table(s, check.rows(items), check.columns, empty=check.empty),
                 document=lambda items: {check.key: [check.document(i) for i in items]},
                 detail=check.detail, ok="healthy", quiet=lambda items: not items)
    code = show(settings, check.command, outcomes, view)
    return _finish(outcomes, code)


def _interrupted_counts(results: Sequence[Any]) -> str:
    count = Counter(r.status.value for r in results)
    parts = [f"{count['done']} of {len(results)} change(s) done"]
    return ", ".join(parts + [f"{count[s]} {s.replace('-', ' ')}" for s in ("interrupted", "not-started", "failed")
                              if count[s]])


def _run_with_progress(settings: Settings, fleet: Fleet, job: Job, verb: str) -> list[TargetOutcome]:
    n = len(fleet.targets)
    with render.progress(settings, f"{verb} {n} target(s)", n) as advance:
        animated = render.animated(settings)

        def done(o: TargetOutcome) -> None:
            if animated:  # in CI the document says it all; a terminal shows each target as it ends
                advance(f"{o.target.id}: {o.status}")

        return fleet.run(job, on_done=done)


def _finish(outcomes: list[TargetOutcome], code: int) -> Outcome:
    bad = [o for o in outcomes if o.status in (FAILED, SKIPPED)]
    if bad:
        failed = [o.target.id for o in bad if o.status == FAILED]
        skipped = [o.target.id for o in bad if o.status == SKIPPED]
        parts = [f"{len(failed)} of {len(outcomes)} target(s) failed: {', '.join(failed)}"] if failed else []
        if skipped:
            parts.append(f"{len(skipped)} not started")
        raise EsmctlError("; ".join(parts))
    return Outcome(code)


# -- the document ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _View:
    """How one command shows a target's result: a section of text, a part of the JSON document, a summary."""

    section: Callable[[Settings, Any], None]
    document: Callable[[Any], dict[str, Any]]
    detail: Callable[[Any], str]
    ok: str  # what `ok` means here: in sync, applied, healthy
    quiet: Callable[[Any], bool] = lambda _result: False  # a result with nothing to show: no section of its own


def _plan_detail(plan: Any) -> str:
    if plan.empty:
        return "in sync"
    from esmctl.plan.types import PLAN_ACTIONS

    counts = [f"{plan.count(a)} to {a}" for a in PLAN_ACTIONS if plan.count(a)]
    return ", ".join(counts).replace("to handoff", "to hand off")


def _apply_detail(applied: _Applied) -> str:
    if not applied.applied:
        return _plan_detail(applied.plan) + ("" if applied.plan.empty else " (not applied)")
    failed = sum(not r.ok for r in applied.results)
    done = len(applied.results) - failed
    return f"{done} change(s) applied" + (f", {failed} failed" if failed else "")


def _apply_section(settings: Settings, applied: _Applied) -> None:
    if applied.applied:
        render.results(settings, applied.results)
    else:
        click.echo(render.plan_summary(applied.plan) if applied.plan.empty else "Not applied.")


_PLAN_VIEW = _View(section=render.plan, document=lambda p: {"plan": render.plan_document(p)}, detail=_plan_detail,
                   ok="in sync")
_PLANNED_VIEW = _View(section=lambda s, a: render.plan(s, a.plan), document=lambda a: {}, detail=lambda a: "",
                      ok="in sync")
_APPLY_VIEW = _View(section=_apply_section,
                    document=lambda a: render.apply_document(a.plan, a.results, applied=a.applied,
                                                             interrupted=a.interrupted),
                    detail=_apply_detail, ok="in sync")


def target_code(outcome: TargetOutcome, changes_code: bool = True) -> int:
    """A target's own exit status, by the policy of the whole run."""
    if outcome.status in (FAILED, SKIPPED):
        return EXIT_ERROR
    if outcome.status == UNHEALTHY:
        return EXIT_UNHEALTHY
    if outcome.status == CHANGES and changes_code:
        return EXIT_CHANGES
    return EXIT_OK


def exit_code(outcomes: Sequence[TargetOutcome], changes_code: bool = True) -> int:
    """The run's: a failure anywhere wins, then unhealthy anywhere, then changes anywhere (errors.worst)."""
    return worst(target_code(o, changes_code) for o in outcomes)


def show(settings: Settings, command: str, outcomes: list[TargetOutcome], view: _View, *,
         changes_code: bool = True, sections: bool = True, interrupted: bool = False) -> int:
    """Print the run as one document: a section per target (text, Markdown) or one JSON/YAML document,
    then a table of the targets and a summary line. Returns the exit code (130 when Ctrl-C cut it short)."""
    code = EXIT_INTERRUPTED if interrupted else exit_code(outcomes, changes_code)
    if settings.verbose:
        _calls(settings, outcomes)
    if settings.output in ("json", "yaml"):
        render.dump(settings, {
            "version": 1, "command": command,
            "targets": [{**o.target.document(), "status": o.status, "exitCode": target_code(o, changes_code),
                         "error": o.error, "seconds": round(o.seconds, 3),
                         **(view.document(o.result) if o.result is not None else {})} for o in outcomes],
            "summary": _counts(outcomes), "interrupted": interrupted, "exitCode": code})
        return code
    if sections:
        _sections(settings, outcomes, view)
    rows = [{"Target": o.target.id, "Account": o.target.account, "Region": o.target.region,
             "Status": {FAILED: "FAILED", SKIPPED: "NOT STARTED"}.get(o.status, o.status),
             "Detail": (o.error or "").splitlines()[0] if o.status in (FAILED, SKIPPED) or o.result is None
             else view.detail(o.result)} for o in outcomes]
    _heading(settings, "Targets")
    render.table(settings, rows, _TARGET_COLUMNS)
    counts = _counts(outcomes)
    words = {OK: view.ok, CHANGES: "with changes", UNHEALTHY: "unhealthy", FAILED: "failed", SKIPPED: "not started"}
    line = f"{len(outcomes)} target(s): " + ", ".join(f"{counts[s]} {words[s]}" for s in words if counts[s]) + "."
    click.echo(f"\n**{line}**" if settings.output == "markdown" else line)
    return code


def _calls(settings: Settings, outcomes: Sequence[TargetOutcome]) -> None:
    """-v: each target's AWS calls (the keys themselves never leave botocore)."""
    for o in outcomes:
        counts = ", ".join(f"{k}={v}" for k, v in sorted(o.calls.items())) or "none"
        click.echo(f"AWS calls ({o.target.id}): {counts}; throttled and retried: {o.throttled}", err=True)


_TARGET_COLUMNS = [render.ident("TARGET", "Target", keep=True), render.ident("ACCOUNT", "Account", priority=40),
                   render.ident("REGION", "Region", priority=60), render.ident("STATUS", "Status", keep=True),
                   render.prose("DETAIL", "Detail", keep=True, min_width=20)]


def _sections(settings: Settings, outcomes: list[TargetOutcome], view: _View) -> None:
    for o in outcomes:
        if not o.error and o.result is not None and view.quiet(o.result):
            continue  # the targets table says it
        _heading(settings, o.target.label)
        if o.result is not None:
            view.section(settings, o.result)
        if o.error:
            first, *rest = o.error.splitlines()
            word = "NOT STARTED" if o.status == SKIPPED else "FAILED"
            click.echo(f"**{word}**: {first}" if settings.output == "markdown" else f"{word}: {first}")
            for line in rest:
                click.echo(f"    {line}")
        click.echo()


def _heading(settings: Settings, text: str) -> None:
    from esmctl.context import color_enabled

    if settings.output == "markdown":
        click.echo(f"### {text}\n")
    elif sys.stdout.isatty() and color_enabled(settings):
        click.secho(f"== {text} ==", bold=True)
    else:
        click.echo(f"== {text} ==")


def _counts(outcomes: Sequence[TargetOutcome]) -> dict[str, int]:
    return {"targets": len(outcomes), **{s: sum(o.status == s for o in outcomes)
                                         for s in (OK, CHANGES, UNHEALTHY, FAILED, SKIPPED)}}
