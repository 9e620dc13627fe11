"""The targets file: which accounts × regions a fleet command runs in, and how each is reached.

    load_targets(file)                Targets, every problem with its FILE:LINE:COL (nothing asks AWS)
    spec_targets(spec)                a spec's own `targets:`
    load_specs(targets, files, vars)  each target's spec, its ${ACCOUNT}/${REGION} and variables filled
    waves(targets, region_order)      the order fleet.Fleet runs them in

fleet.py runs jobs over the targets; this module only reads them.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from esmctl import placeholders, schema, spec, yamldoc
from esmctl import regions as known_regions
from esmctl.errors import Place, Problem, SpecError, TargetsError

TOP_LEVEL = ("version", "defaults", "targets")
FIELDS = ("account", "name", "regions", "role", "profile", "external_id", "session_name", "variables")
PER_TARGET = ("account", "name")  # not in `defaults:`
DEFAULT_SESSION_NAME = "esmctl"
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
    "variable": placeholders.NAME,
}
_ACCOUNT, _REGION, _ROLE_ARN, _ROLE_NAME, _SESSION_NAME, _EXTERNAL_ID, _NAME, _VARIABLE = (
    re.compile(PATTERNS[k], re.ASCII)
    for k in ("account", "region", "role_arn", "role_name", "session_name", "external_id", "name", "variable"))



@dataclass(frozen=True)
class Target:
    """One account and region, how to reach it, and its values for the spec's placeholders."""

    account: str
    region: str
    where: Place  # of its entry
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


# -- the targets file ----------------------------------------------------------------------------------
def load_targets(path: str, variables: dict[str, str] | None = None, text: str | None = None) -> list[Target]:
    """Read a targets file (${NAME} filled from `variables`, then the environment); raise TargetsError
    with every problem. Nothing here touches AWS."""
    try:
        doc = yamldoc.load(path, yamldoc.read_text(path) if text is None else text, variables)
    except yamldoc.YamlError as exc:
        raise TargetsError([_targets_field(p) for p in exc.problems]) from None
    data = doc.data
    problems = [Problem(doc.at(path, key=key), name, message)
                for path, key, name, message in schema.top_level_problems(data, TOP_LEVEL, "targets file", "targets")]
    if not isinstance(data, dict):
        raise TargetsError(problems)
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        problems.append(Problem(doc.at(('defaults',)), "defaults", "must be a mapping of target fields"))
        defaults = {}
    for key in defaults:
        if key in PER_TARGET:
            problems.append(Problem(doc.at(('defaults', key), key=True), f"defaults.{key}", "set it on each target"))
        elif key not in FIELDS:
            problems.append(Problem(doc.at(('defaults', key), key=True), f"defaults.{key}",
                                    "unknown field" + schema.did_you_mean(str(key), list(FIELDS))))
    if "variables" in defaults:  # said once here; each target then inherits the well-formed ones (a problem of
        # the defaults is not one of every target, which would hide what else is wrong: two targets the same)
        defaults = {**defaults, "variables": _variable_values(doc, ("defaults", "variables"), defaults["variables"],
                                                               problems)}
    entries = data.get("targets")
    if not isinstance(entries, list) or not entries:
        where = doc.at(("targets",)) if "targets" in data else doc.at(())
        problems.append(Problem(where, "targets", "is required" if entries is None else "must be a list of targets"))
        entries = []
    targets = _targets(doc, ("targets",), entries, defaults, problems)
    if problems:
        raise TargetsError(problems)
    return targets


def spec_targets(path: str, variables: dict[str, str] | None = None, text: str | None = None) -> list[Target]:
    """The targets a spec names in its `targets:` (a list of targets file entries: each whole, the spec's
    `defaults:` being its mappings'); raise TargetsError with their problems."""
    try:
        doc = yamldoc.load(path, yamldoc.read_text(path) if text is None else text, variables, defer_missing=True)
    except yamldoc.YamlError as exc:  # said with the spec's other problems, by its loading
        raise SpecError(exc.problems) from None
    entries = doc.data.get("targets") if isinstance(doc.data, dict) else None
    problems = [p for p in doc.problems if p.field == "targets" or p.field.startswith(("targets.", "targets["))]
    if not isinstance(entries, list) or not entries:
        problems.append(Problem(doc.at(('targets',)), "targets", "must be a list of targets (account, regions, role…)"))
        entries = []
    targets = _targets(doc, ("targets",), entries, None, problems)  # a spec's targets have no defaults
    if problems:
        raise TargetsError(problems, "the spec's targets")
    return targets


def _targets(doc: yamldoc.Document, base: tuple, entries: list, defaults: dict | None,
             problems: list[Problem]) -> list[Target]:
    """The targets of a list of entries (account × regions each), their problems added to `problems`."""
    out: list[Target] = []
    seen: dict[tuple[str, str], Place] = {}
    for i, entry in enumerate(entries):
        path = base + (i,)
        if not isinstance(entry, dict):
            problems.append(Problem(doc.at(path), yamldoc.label(path), "must be a mapping (account, regions, role…)"))
            continue
        found = _entry(doc, path, entry, defaults, problems)
        for target in found:
            key = (target.name or target.account, target.region)
            if key in seen:
                problems.append(Problem(target.where, yamldoc.label(path), f"{target.id} is the same target as at "
                                        f"{seen[key]} (targets of one account and region need different names)"))
            else:
                seen[key] = target.where
                out.append(target)
    return out


def _entry(doc: yamldoc.Document, base: tuple, entry: dict, defaults: dict | None,
           problems: list[Problem]) -> list[Target]:
    """One entry's targets (one a region); `defaults`: the targets file's (None: a spec's `targets:`, which have
    none)."""
    where_else = " (here or in defaults)" if defaults is not None else ""
    defaults = defaults or {}
    for key in entry:
        if key not in FIELDS:
            problems.append(Problem(doc.at(base + (key,), key=True), yamldoc.label(base + (key,)),
                                    "unknown field" + schema.did_you_mean(str(key), list(FIELDS))))
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
        if key in values and doc.is_unfilled(path):
            return  # a placeholder without a value: that is its problem, said once (by the reader)
        problems.append(Problem(doc.at(path), yamldoc.label(path if key in values else base + (key,)), message))

    before = len(problems)
    account = _account(doc, at("account"), values.get("account"), problem)
    regions = values.get("regions")
    if regions is None:
        problem("regions", f"is required: a list of regions{where_else}")
        regions = []
    elif not isinstance(regions, list) or not regions:
        problem("regions", "must be a list of regions, e.g. [us-east-1, eu-west-1]")
        regions = []
    for j, region in enumerate(regions):
        if not isinstance(region, str) or not _REGION.fullmatch(region):
            path = at("regions") + (j,)
            problems.append(Problem(doc.at(path), yamldoc.label(path), f"{region!r} is not a region name (us-east-1…)"))
        elif regions.index(region) != j:
            path = at("regions") + (j,)
            problems.append(Problem(doc.at(path), yamldoc.label(path), f"{region} is listed twice"))
        elif known_regions.problem(region):
            path = at("regions") + (j,)
            problems.append(Problem(doc.at(path), yamldoc.label(path), known_regions.problem(region)))
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
               problems: list[Problem]) -> tuple[tuple[str, str], ...]:
    """defaults.variables, then the target's own; each a NAME: scalar."""
    out = {**_variable_values(doc, ("defaults", "variables"), defaults.get("variables"), problems),
           **_variable_values(doc, base + ("variables",), entry.get("variables"), problems)}
    return tuple(sorted(out.items()))


def _variable_values(doc: yamldoc.Document, path: tuple, values: Any, problems: list[Problem]) -> dict[str, str]:
    """The NAME: scalar pairs of one `variables:` mapping as text, its problems added to `problems`."""
    out: dict[str, str] = {}
    if values is None:
        return out
    if not isinstance(values, dict):
        problems.append(Problem(doc.at(path), yamldoc.label(path), "must be a mapping of NAME: value"))
        return out
    for name, value in values.items():
        where, label = doc.at(path + (name,), key=True), yamldoc.label(path + (name,))
        if not isinstance(name, str) or not _VARIABLE.fullmatch(name):
            problems.append(Problem(where, label, f"{name!r} is not a placeholder name (letters, digits, _)"))
        elif name in AUTOMATIC:
            problems.append(Problem(where, label, f"esmctl sets {name} for each target"))
        elif surprised := doc.yaml11_surprises(path + (name,)):  # 010 is 8 to YAML 1.1, `yes` true: not as written
            problems.append(Problem(doc.at(path + (name,)), label, surprised[0][1]))
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, (str, int, float)):
            out[name] = str(value)
        else:
            problems.append(Problem(doc.at(path + (name,)), label,
                                    "must be a single value (text, a number or a boolean)"))
    return out


def _targets_field(problem: Problem) -> Problem:
    """yamldoc names the document `spec`; here it is the targets file."""
    return dataclasses.replace(problem, field="targets file") if problem.field == yamldoc.DOCUMENT else problem


# -- each target's spec -------------------------------------------------------------------------------
def load_specs(targets: list[Target], files: Sequence[str], given: dict[str, str]) -> dict[Target, spec.Spec]:
    """Each target's spec (its variables filled), every one checked before anything is asked of AWS. A
    problem of every target is said once; one of some targets names them."""
    files = spec.distinct(files)
    try:
        texts = {path: yamldoc.read_text(path) for path in files}  # stdin is read once
    except yamldoc.YamlError as exc:
        raise SpecError(exc.problems) from None
    found: dict[Problem, list[str]] = {}
    specs: dict[Target, spec.Spec] = {}
    for target in targets:
        try:
            loaded = spec.load_files(list(files), target.spec_variables(given), texts=texts, targets=True)
        except SpecError as exc:
            for problem in exc.problems:
                found.setdefault(problem, []).append(target.id)
            continue
        if loaded.region and loaded.region != target.region:
            found.setdefault(Problem(loaded.region_where or Place(", ".join(files)), "region", f"the spec is for "
                                     f"{loaded.region}, not "
                                     f"{target.region}: use region: ${{REGION}} (and ${{REGION}} in its ARNs)"),
                             []).append(target.id)
            continue
        specs[target] = loaded
    _shared_mappings(specs, found)
    if found:
        raise SpecError([problem if not ids or len(ids) == len(targets) else dataclasses.replace(
                         problem, message=f"{problem.message} (target{'s' if len(ids) > 1 else ''} {', '.join(ids)})")
                         for problem, ids in found.items()])
    return specs


def _shared_mappings(specs: dict[Target, spec.Spec], found: dict[Problem, list[str]]) -> None:
    """Two targets of one account and region whose specs ask for the same mapping (function and source; a function
    by its name or by its ARN in that account and region) would each undo the other's settings on every run: a
    problem, as the same mapping twice in one spec is."""
    claimed: dict[tuple[str, str, tuple], Target] = {}
    for target, loaded in specs.items():
        here = f"{target.region}:{target.account}"
        for m in loaded.mappings:
            if m.key is None:
                continue
            (name, qualifier, where), *source = m.key  # a function's ARN here is its name here
            key = ((name, qualifier, "" if where == here else where), *source)
            first = claimed.setdefault((target.account, target.region, key), target)
            if first is not target:
                found.setdefault(Problem(m.where, "mapping", f"targets {first.id} and {target.id} are both in account "
                                         f"{target.account}, {target.region}, and both ask for this mapping: Lambda "
                                         "allows one, and each run would undo the other's settings"), [])


def waves(targets: Sequence[Target], region_order: Sequence[str]) -> list[list[Target]]:
    """The targets in the order they run: all at once, or with a region order one region after the other
    (the regions named first, in that order, then the others as the targets file has them)."""
    if not region_order:
        return [list(targets)]
    regions = list(dict.fromkeys([*region_order, *(t.region for t in targets)]))
    return [wave for wave in ([t for t in targets if t.region == r] for r in regions) if wave]


# -- what running one did ----------------------------------------------------------------------------
OK, CHANGES, UNHEALTHY, FAILED, SKIPPED = "ok", "changes", "unhealthy", "failed", "skipped"
INTERRUPTED = "interrupted"  # Ctrl-C cut its writes short, and none of them failed


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


@dataclass
class Applied:
    """One target's apply: its plan, and what carrying it out did."""

    plan: Any
    results: list[Any] = field(default_factory=list)
    applied: bool = False
    interrupted: bool = False  # Ctrl-C cut its apply short
