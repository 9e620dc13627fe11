"""The verdict of a mapping's filters on records, as Lambda reaches it: filters ORed, each against the
record as its source's envelope shows it, the payload's format weighed against the pattern's."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from esmctl.filters import envelopes, rules
from esmctl.filters.envelopes import ABSENT, DROP, JSON, PLAIN, Envelope


class PatternError(ValueError):
    """A pattern Lambda would refuse: each problem as (filter index, rules.Problem)."""

    def __init__(self, problems: list[tuple[int, rules.Problem]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"filter {i}: {rules.label(p.path)}: {p.message}" for i, p in problems))


@dataclass
class Verdict:
    kept: bool
    matched: list[int]
    reasons: list[str] = field(default_factory=list)  # per filter, for a dropped record

    @property
    def reason(self) -> str:
        if self.kept:
            return ""
        if len(self.reasons) == 1:
            return self.reasons[0]
        return "; ".join(f"#{i}: {why}" for i, why in enumerate(self.reasons))


class _Filter:
    def __init__(self, pattern: dict, env: Envelope) -> None:
        self.full = rules.compile_pattern(pattern)
        self.metadata_only = rules.compile_pattern(pattern, skip=env.payload)
        sub = pattern.get(env.payload)
        self.wants = JSON if isinstance(sub, dict) else PLAIN if isinstance(sub, list) else None
        self.env = env

    def miss(self, seen: dict, state: str) -> str | None:
        """None when the record matches; else why not."""
        wants, env = self.wants, self.env
        if wants is None or state == wants or (state == ABSENT and wants == PLAIN):
            found = self.full(seen)
            return None if found is None else found.describe()
        if env.mismatch == DROP:
            if state == ABSENT:
                return f"{env.payload} is missing"
            what = "JSON" if state == JSON else "not JSON"
            return f"{env.payload} is {what}, but the pattern takes it as {_format(wants)}: Lambda drops the record"
        found = self.metadata_only(seen)  # Kafka, MQ: the payload rules are set aside
        return None if found is None else found.describe()


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

    def evaluate(self, record: dict) -> Verdict:
        if not self._filters:  # no FilterCriteria: every record goes to the function
            return Verdict(True, [])
        seen, state = envelopes.view(self.env, record)
        matched, reasons = [], []
        for i, f in enumerate(self._filters):
            why = f.miss(seen, state)
            if why is None:
                matched.append(i)
            elif not matched:
                reasons.append(why)
        return Verdict(bool(matched), matched, reasons if not matched else [])

    def run(self, records: Iterable[dict]) -> Iterator[Verdict]:
        evaluate = self.evaluate
        for record in records:
            yield evaluate(record)


def summary(verdicts: list[Verdict]) -> dict[str, Any]:
    kept = sum(v.kept for v in verdicts)
    return {"kept": kept, "dropped": len(verdicts) - kept}
