"""Shortlists judged by what became of them: labels from pipeline stages, and precision@k and
recall of each requisition's shortlist against its hires, per requisition and pooled.

Labels (see `label_of`): a hire is positive; a candidacy that left the pipeline (rejected, or
withdrawn) is negative, except a withdrawal caused by the graduate's hire through another
requisition, which says nothing against the fit. Candidacies still moving have no label yet.
With `positive="interviewed"` reaching the interview counts as positive instead: an earlier,
weaker signal (the employer's screen, not the hire) that arrives days sooner and in greater
numbers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.tables import Candidacy, PipelineEvent, Requisition

Positive = Literal["hired", "interviewed"]
POSITIVES: tuple[Positive, ...] = ("hired", "interviewed")
EXITS = frozenset({"rejected", "withdrawn"})
INTERVIEWED_OR_LATER = frozenset({"interviewed", "offered", "hired"})


@dataclass(frozen=True, slots=True)
class Outcome:
    """One candidacy as it stands: where the shortlist put it and what became of it."""

    requisition_id: int
    requisition_status: str
    candidacy_id: int
    graduate_id: int
    rank: int
    score: float
    parts: dict[str, float]
    stage: str
    reached: frozenset[str]
    placed_elsewhere: bool

    @property
    def hired(self) -> bool:
        """Whether this candidacy ended in a hire."""
        return self.stage == "hired"


def label_of(outcome: Outcome, positive: Positive = "hired") -> int | None:
    """1 for a positive outcome, 0 for a negative one, None while undecided."""
    if positive == "interviewed" and outcome.reached & INTERVIEWED_OR_LATER:
        return 1
    if positive == "hired" and outcome.hired:
        return 1
    if outcome.stage in EXITS and not outcome.placed_elsewhere:
        return 0
    return None


def read_outcomes(
    session: Session, *, tenant: str, requisition_ids: Sequence[int] | None = None
) -> list[Outcome]:
    """Every candidacy of the agency's requisitions (or of the given ones), by requisition and
    rank, with the stages it reached."""
    query = (
        select(Candidacy, Requisition.status)
        .join(Requisition, Requisition.id == Candidacy.requisition_id)
        .where(Requisition.tenant == tenant)
        .order_by(Candidacy.requisition_id, Candidacy.rank, Candidacy.id)
    )
    events = (
        select(PipelineEvent.candidacy_id, PipelineEvent.to_stage)
        .join(Candidacy, Candidacy.id == PipelineEvent.candidacy_id)
        .join(Requisition, Requisition.id == Candidacy.requisition_id)
        .where(Requisition.tenant == tenant)
    )
    if requisition_ids is not None:
        query = query.where(Candidacy.requisition_id.in_(list(requisition_ids)))
        events = events.where(Candidacy.requisition_id.in_(list(requisition_ids)))
    reached: dict[int, set[str]] = defaultdict(set)
    for candidacy_id, to_stage in session.execute(events):
        reached[candidacy_id].add(to_stage)
    # All the agency's hires, not only the selected requisitions': a graduate hired anywhere
    # else was withdrawn from here for that reason.
    hired_in = dict(
        session.execute(
            select(Candidacy.graduate_id, Candidacy.requisition_id)
            .join(Requisition, Requisition.id == Candidacy.requisition_id)
            .where(Requisition.tenant == tenant, Candidacy.stage == "hired")
        ).all()
    )
    outcomes = []
    for candidacy, status in session.execute(query):
        hired_at = hired_in.get(candidacy.graduate_id)
        outcomes.append(
            Outcome(
                requisition_id=candidacy.requisition_id,
                requisition_status=status,
                candidacy_id=candidacy.id,
                graduate_id=candidacy.graduate_id,
                rank=candidacy.rank,
                score=candidacy.score,
                parts={name: float(value) for name, value in (candidacy.parts or {}).items()},
                stage=candidacy.stage,
                reached=frozenset(reached.get(candidacy.id, set()) | {candidacy.stage}),
                placed_elsewhere=(
                    candidacy.stage == "withdrawn"
                    and hired_at is not None
                    and hired_at != candidacy.requisition_id
                ),
            )
        )
    return outcomes


@dataclass(frozen=True, slots=True)
class ShortlistOutcome:
    """How one requisition's shortlist fared: of its `top_k` best-ranked candidacies (at most
    k), `hires_in_top_k` were hired, out of `hires` hires in all."""

    requisition_id: int
    status: str
    candidacies: int
    hires: int
    top_k: int
    hires_in_top_k: int

    @property
    def precision(self) -> float | None:
        """Share of the top-k that were hired; None for an empty shortlist."""
        return self.hires_in_top_k / self.top_k if self.top_k else None

    @property
    def recall(self) -> float | None:
        """Share of the hires that were in the top-k; None before the first hire."""
        return self.hires_in_top_k / self.hires if self.hires else None


@dataclass(frozen=True, slots=True)
class OutcomeReport:
    """Precision@k and recall per requisition, pooled over all of them, and their mean."""

    k: int
    requisitions: tuple[ShortlistOutcome, ...]

    @property
    def candidacies(self) -> int:
        """Candidacies in every shortlist."""
        return sum(item.candidacies for item in self.requisitions)

    @property
    def hires(self) -> int:
        """Hires in every requisition."""
        return sum(item.hires for item in self.requisitions)

    @property
    def top_k(self) -> int:
        """Candidacies ranked within k, summed."""
        return sum(item.top_k for item in self.requisitions)

    @property
    def hires_in_top_k(self) -> int:
        """Hires ranked within k, summed."""
        return sum(item.hires_in_top_k for item in self.requisitions)

    @property
    def precision(self) -> float | None:
        """Pooled precision@k: hires in the top-k of all shortlists over their size."""
        return self.hires_in_top_k / self.top_k if self.top_k else None

    @property
    def recall(self) -> float | None:
        """Pooled recall: hires that were in their shortlist's top-k over all hires."""
        return self.hires_in_top_k / self.hires if self.hires else None

    @property
    def mean_precision(self) -> float | None:
        """Precision@k averaged over requisitions (each shortlist counts once)."""
        values = [item.precision for item in self.requisitions if item.precision is not None]
        return sum(values) / len(values) if values else None


def shortlist_outcomes(outcomes: Iterable[Outcome], *, k: int) -> OutcomeReport:
    """Precision@k and recall of each requisition's shortlist, its candidacies taken by rank
    (the rank the shortlist gave them, across every shortlist call of the requisition)."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    by_requisition: dict[int, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_requisition[outcome.requisition_id].append(outcome)
    items = []
    for requisition_id in sorted(by_requisition):
        rows = sorted(by_requisition[requisition_id], key=lambda row: (row.rank, row.candidacy_id))
        top = rows[:k]
        items.append(
            ShortlistOutcome(
                requisition_id=requisition_id,
                status=rows[0].requisition_status,
                candidacies=len(rows),
                hires=sum(row.hired for row in rows),
                top_k=len(top),
                hires_in_top_k=sum(row.hired for row in top),
            )
        )
    return OutcomeReport(k=k, requisitions=tuple(items))
