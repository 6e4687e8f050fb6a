"""Every choice that shapes a score, in one frozen value saved with the artifacts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.ranking.coherence import CoherenceParams
from app.ranking.documents import TextFields
from app.ranking.text import Backend
from app.ranking.vectorize import TermWeighting
from app.ranking.weights import MajorFitLevels, StructuredFitWeights


@dataclass(frozen=True, slots=True)
class RankerParams:
    """Every choice that shapes a score; saved with the artifacts."""

    fields: TextFields = field(default_factory=TextFields)
    weights: StructuredFitWeights = field(default_factory=StructuredFitWeights)
    major_levels: MajorFitLevels = field(default_factory=MajorFitLevels)
    # The plain choices (no max_df cut, raw tf, equal field weights) and coherence weighting
    # are what the ablation over dev, the seekers set and the pools kept (README, "Text
    # choices").
    max_df: float = 1.0
    min_df: int = 1
    sublinear_tf: bool = False
    backend: Backend = "auto"
    explain_terms: int = 8
    feedback_docs: int = 0
    feedback_weight: float = 0.5
    coherence: CoherenceParams = field(default_factory=CoherenceParams)
    normalize_fields: bool = True
    char_channel: bool = False
    term_weighting: TermWeighting = "tfidf"


def text_model_options(params: RankerParams) -> dict[str, Any]:
    """The TextModel arguments the parameters set (all but the tokenizer)."""
    return {
        "fields": params.fields,
        "max_df": params.max_df,
        "min_df": params.min_df,
        "sublinear_tf": params.sublinear_tf,
        "coherence": params.coherence,
        "normalize_fields": params.normalize_fields,
        "char_channel": params.char_channel,
        "term_weighting": params.term_weighting,
    }
