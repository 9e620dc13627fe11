"""The verdict of a mapping's filters on records, as Lambda reaches it: filters ORed, each against the
record as its source's envelope shows it, the payload's format weighed against the pattern's."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from esmctl.filters import envelopes, matching, rules
from esmctl.filters.envelopes import ABSENT, DROP, JSON, PLAIN, Envelope


class PatternError(ValueError):
    """A pattern Lambda would refuse: each problem as (filter index, rules.Problem)."""

    def __init__(self, problems: list[tuple[int, rules.Problem]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"filter {i}: {rules.label(p.path)}: {p.message}" for i, p in problems))


class Verdict:
    """Lambda's verdict on one record: kept (and by which filters), or dropped (and why, filter by filter)."""

    __slots__ = ("kept", "matched", "reasons")

    def __init__(self, kept: bool, matched: list[int], reasons: list[str] | None = None) -> None:
        self.kept, self.matched, self.reasons = kept, matched, reasons or []

    def __repr__(self) -> str:
        return f"Verdict(kept={self.kept}, matched={self.matched}, reasons={self.reasons})"

    @property
    def reason(self) -> str:
        if self.kept:
            return ""
        if len(self.reasons) == 1 or len(set(self.reasons)) == 1:  # one reason for every filter: said once
            return self.reasons[0]
        return "; ".join(f"#{i}: {why}" for i, why in enumerate(self.reasons))


class _Filter:
    def __init__(self, pattern: dict, env: Envelope) -> None:
        self.full = matching.compile_pattern(pattern)
        self.metadata_only = matching.compile_pattern(pattern, skip=env.payload)
        self.fast_full = matching.compile_fast(pattern)
        self.fast_metadata_only = matching.compile_fast(pattern, skip=env.payload)
        sub = pattern.get(env.payload)
        self.wants = JSON if isinstance(sub, dict) else PLAIN if isinstance(sub, list) else None
        self.env = env

    def fast(self, state: str) -> Any:
        """Whether a record whose payload is in this state matches (a function), or False: none does."""
        matcher = self.matcher(state)
        if isinstance(matcher, str):
            return False
        return self.fast_full if matcher is self.full else self.fast_metadata_only

    def matcher(self, state: str) -> matching.Matcher | str:
        """The matcher for records whose payload is in this state, or why Lambda drops them all."""
        wants, env = self.wants, self.env
        if wants is None or state == wants or (state == ABSENT and wants == PLAIN):
            return self.full
        if env.mismatch == DROP:
            if state == ABSENT:
                return f"{env.payload} is missing"
            what = "JSON" if state == JSON else "not JSON"
            return f"{env.payload} is {what}, but the pattern takes it as {_format(wants)}: Lambda drops the record"
        return self.metadata_only  # Kafka, MQ: the payload's rules are set aside


def _format(state: str) -> str:
    return "JSON" if state == JSON else "a plain string"


class FilterSet:
    """A mapping's filters for one kind of source. Raises PatternError for patterns Lambda refuses."""

    def __init__(self, patterns: Iterable[str | dict], kind: str) -> None:
        self.env = envelopes.envelope(kind)
        parsed, problems = [], []
        for i, pattern in enumerate(patterns):
            try:
                data = rules.parse_pattern(pattern)
            except ValueError as exc:
                problems.append((i, rules.Problem((), f"is not valid JSON: {exc}")))
                continue
            from esmctl.filters.checks import pattern_problems

            problems += [(i, p) for p in pattern_problems(data, kind) if p.error]
            parsed.append(data)
        if problems:
            raise PatternError(problems)
        self.patterns = parsed
        self._filters = [_Filter(p, self.env) for p in parsed]
        self._fast: dict[str, list[tuple[int, Any]]] = {}

    def evaluate(self, record: dict) -> Verdict:
        if not self._filters:  # no FilterCriteria: every record goes to the function
            return Verdict(True, [])
        seen, state = envelopes.view(self.env, record)
        fast = self._fast.get(state)
        if fast is None:
            fast = self._fast[state] = [(i, f.fast(state)) for i, f in enumerate(self._filters) if f.fast(state)]
        matched = [i for i, matches in fast if matches(seen)]
        if matched:
            return Verdict(True, matched)
        return Verdict(False, [], [why if why.__class__ is str else why(seen).describe()
                                   for why in (f.matcher(state) for f in self._filters)])

    def run(self, records: Iterable[dict]) -> Iterator[Verdict]:
        evaluate = self.evaluate
        for record in records:
            yield evaluate(record)


def summary(verdicts: list[Verdict]) -> dict[str, Any]:
    kept = sum(v.kept for v in verdicts)
    return {"kept": kept, "dropped": len(verdicts) - kept}
