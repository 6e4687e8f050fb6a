"""The rules engine: each rule's patterns run over each field of a posting; a match that an
allowed phrase overlaps, or whose clause marks it a preference, is not a flag."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

# A clause ends at a full stop, semicolon, exclamation or line end; a waiver must be in it.
_CLAUSE_END = re.compile(r"[。；;!！\n]")
_CLAUSE_START = re.compile(r"[。；;!！\n][^。；;!！\n]*$")
# Each pattern's first matches only: a reviewer needs to see that a rule is broken and where,
# not every repetition, and checking each match scans its clause, so an unbounded count would
# make one long repetitive description cost quadratic time (a request held for seconds).
MAX_MATCHES_PER_PATTERN = 20


@dataclass(frozen=True, slots=True)
class Rule:
    """One family of forbidden conditions."""

    id: str
    explanation: str
    patterns: tuple[re.Pattern[str], ...]
    allow: tuple[re.Pattern[str], ...] = ()
    waived_after: re.Pattern[str] | None = None
    waived_before: re.Pattern[str] | None = None


@dataclass(frozen=True, slots=True)
class Flag:
    """A forbidden condition found in a posting: the rule, the field and the words."""

    rule: str
    field: str
    span: str
    start: int
    end: int
    explanation: str


def _compile_rule(raw: Mapping[str, object]) -> Rule:
    def patterns(key: str) -> tuple[re.Pattern[str], ...]:
        values = raw.get(key, [])
        assert isinstance(values, list)
        return tuple(re.compile(str(value)) for value in values)

    def optional(key: str) -> re.Pattern[str] | None:
        value = raw.get(key)
        return re.compile(str(value)) if value else None

    return Rule(
        id=str(raw["id"]),
        explanation=str(raw["explanation"]),
        patterns=patterns("patterns"),
        allow=patterns("allow"),
        waived_after=optional("waived_after"),
        waived_before=optional("waived_before"),
    )


@cache
def load_rules() -> tuple[Rule, ...]:
    """The shipped rules (app/compliance/rules.toml), compiled once."""
    text = resources.files("app.compliance").joinpath("rules.toml").read_text("utf-8")
    return tuple(_compile_rule(raw) for raw in tomllib.loads(text)["rule"])


def _clause_after(text: str, end: int) -> str:
    stop = _CLAUSE_END.search(text, end)
    return text[end : stop.start() if stop else len(text)]


def _clause_before(text: str, start: int) -> str:
    head = text[:start]
    found = _CLAUSE_START.search(head)
    return head[found.start() + 1 :] if found else head


def _rule_flags(rule: Rule, field: str, text: str) -> list[Flag]:
    allowed = [match.span() for pattern in rule.allow for match in pattern.finditer(text)]
    found = []
    for pattern in rule.patterns:
        for seen, match in enumerate(pattern.finditer(text)):
            if seen == MAX_MATCHES_PER_PATTERN:
                break
            start, end = match.span()
            if start == end or any(s < end and start < e for s, e in allowed):
                continue
            if rule.waived_after and rule.waived_after.search(_clause_after(text, end)):
                continue
            if rule.waived_before and rule.waived_before.search(_clause_before(text, start)):
                continue
            found.append((start, end))
    # Overlapping matches of several patterns are one condition: keep the longest wording.
    taken: list[tuple[int, int]] = []
    for start, end in sorted(found, key=lambda span: (span[0] - span[1], span[0])):
        if not any(s < end and start < e for s, e in taken):
            taken.append((start, end))
    return [Flag(rule.id, field, text[s:e], s, e, rule.explanation) for s, e in sorted(taken)]


def check_posting(
    fields: Mapping[str, str | Sequence[str] | None], rules: Sequence[Rule] | None = None
) -> list[Flag]:
    """Every forbidden condition in the given fields (lists are joined with 、), ordered by
    field, then position. Text is NFKC-normalised first, as the API stores it."""
    flags: list[Flag] = []
    for field, value in fields.items():
        if not value:
            continue
        text = value if isinstance(value, str) else "、".join(value)
        text = unicodedata.normalize("NFKC", text)
        for rule in load_rules() if rules is None else rules:
            flags.extend(_rule_flags(rule, field, text))
    return sorted(flags, key=lambda flag: (list(fields).index(flag.field), flag.start, flag.rule))
