"""What a ranking returns: matches, each score broken into its parts, and explanations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from app.ranking.arrays import Float32Array as FloatArray
from app.ranking.scoring import PairScores, TopK
from app.ranking.weights import StructuredFitWeights


@dataclass(frozen=True, slots=True)
class TermContribution:
    """One shared term: its weight in the query and the document vectors, and their product."""

    term: str
    query_weight: float
    document_weight: float
    contribution: float


@dataclass(frozen=True, slots=True)
class ScoreParts:
    """Unweighted sub-scores of one match, each in [0, 1]: `text` is the calibrated text part
    (the cosine over the best eligible candidate's cosine, see app.ranking.scoring), `cosine`
    the raw cosine it comes from (not part of the blend)."""

    text: float
    major: float
    education: float
    city: float
    salary: float
    cosine: float


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a candidate ranks where it does."""

    parts: ScoreParts
    weights: StructuredFitWeights
    terms: tuple[TermContribution, ...]
    filters_passed: tuple[str, ...]
    missing_skills: tuple[str, ...]
    major_level: str
    best_cosine: float


class Ranked(NamedTuple):
    """Top rows of one query (scoring.TopK) with their raw cosines."""

    top: TopK
    cosine: FloatArray


@dataclass(frozen=True, slots=True)
class Match:
    """One ranked candidate."""

    id: int
    score: float
    parts: ScoreParts
    explanation: Explanation | None = None


def score_parts(scored: PairScores | TopK, position: int, cosine: float) -> ScoreParts:
    """The sub-scores at one position of scored pairs or of a top-k, with the raw cosine."""
    parts = scored.parts
    return ScoreParts(
        text=float(scored.text[position]),
        major=float(parts.major[position]),
        education=float(parts.education[position]),
        city=float(parts.city[position]),
        salary=float(parts.salary[position]),
        cosine=cosine,
    )
