"""Run jobs over many accounts and regions, as CloudFormation StackSets do.

A targets file names accounts × regions, each reached through a role assumed with the caller's
credentials (botocore's AssumeRoleCredentialFetcher), a profile, or the caller's credentials as they
are, with variables for the spec's ${NAME} placeholders (ACCOUNT and REGION come with every target).
Each target runs the single-target code as it is — reconcile.plan and reconcile.apply, the health
checks — with a Settings and an Aws of its own:

    load(path, …)                     the targets (targets.py reads the file, every problem with its
                                      FILE:LINE:COL) and each target's spec, checked offline before anything
                                      is asked of AWS
    Fleet(settings, targets).run(job) the jobs in parallel (--max-concurrency), region after region with
                                      --region-order, none started once more than --failure-tolerance failed

commands/fleet_runs.py runs the commands (plan, apply, pause, status…) over targets with these and shows the
run as one document. Lambda's 15 requests/s are per account and region: the targets of one account and region
share one pacer, while another region of the account, or another account, has its own. A target that fails
(no access, throttled, a change refused) never stops the others.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from esmctl import collector, spec
from esmctl.aws.calls import Aws
from esmctl.aws.errors import BOTOCORE_ERRORS, describe_error, explain
from esmctl.aws.pacing import Pacer, new_pacer
from esmctl.aws.session import AssumeRole
from esmctl.context import Settings
from esmctl.errors import EsmctlError, SpecError
from esmctl.targets import FAILED, SKIPPED, Target, TargetOutcome, load_specs, load_targets, spec_targets, waves

if TYPE_CHECKING:
    from esmctl.execute import Interrupt

MAX_DEFAULT_CONCURRENCY = 16


# -- running targets ------------------------------------------------------------------------------------
Job = Callable[[Target, Settings], tuple[str, Any, "str | None"]]  # -> (status, result, error)


class Fleet:
    """The targets of one command: their sessions, a pacer for each account and region, and a runner.

    Targets reached the same way (one role, one profile, or the caller's credentials) share one botocore
    session: a role is assumed once for every region of its account, and refreshed by botocore when its
    keys near their end. Each target still has its own Aws, in its own region.
    """

    def __init__(self, settings: Settings, targets: list[Target], *,
                 say: Callable[[str], None] = lambda _text: None) -> None:
        self.settings = settings
        self.say = say  # where -v's tracebacks go (the command layer prints them)
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

        # The cycle collector paused for the whole run: the targets' threads parse and compare many acyclic objects
        # at once, and one thread's pause (collector.paused) must not be ended by another's.
        with collector.paused():
            for wave in waves(targets, self.settings.fleet.region_order):
                if not wave:
                    continue
                with ThreadPoolExecutor(max_workers=min(self.concurrency, len(wave)),
                                        thread_name_prefix="target") as pool:
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
                self.say(f"{target.id}: " + "".join(traceback.format_exception(exc)).rstrip())
            outcome = TargetOutcome(target, FAILED, error=_describe(exc))
        outcome.seconds = time.monotonic() - started
        if own is not None and own._aws is not None:
            outcome.calls, outcome.throttled = dict(own._aws.calls), own._aws.throttled
        return outcome


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SpecError):
        return "\n".join(map(str, exc.problems))
    if isinstance(exc, EsmctlError):
        return exc.format_message()
    if isinstance(exc, BOTOCORE_ERRORS):
        return describe_error(exc)
    return f"unexpected {type(exc).__name__}: {exc} (run with --verbose for the traceback)"


# -- reading the targets ------------------------------------------------------------------------------
def load(path: str, in_spec: bool, files: Sequence[str], given: dict[str, str]) -> tuple[list[Target],
                                                                                       dict[Target, spec.Spec]]:
    """The targets (of a targets file, or of the spec file `path`'s `targets:`) and each one's spec."""
    targets = spec_targets(path, given) if in_spec else load_targets(path, given)
    return targets, (load_specs(targets, files, given) if files else {})
