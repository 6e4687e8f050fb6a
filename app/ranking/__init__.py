"""Ranking core: Chinese text → TF-IDF → cosine top-k in both directions, with structured fit,
explanations and saved artifacts. Pure: numpy, scipy, scikit-learn and the tokenizer only."""

from app.ranking.coherence import CoherenceParams
from app.ranking.documents import (
    EDUCATION_LEVELS,
    GraduateDocument,
    GraduateTextFields,
    JobDocument,
    JobTextFields,
    TextFields,
    education_level,
)
from app.ranking.index import SparseIndex, topk_rows
from app.ranking.ranker import (
    Explanation,
    Match,
    Ranker,
    RankerParams,
    ScoreParts,
)
from app.ranking.scoring import TermContribution, top_terms
from app.ranking.structured import (
    FilterSpec,
    MajorFitLevels,
    MajorTable,
    StructuredFitWeights,
)
from app.ranking.text import Tokenizer, normalize_text
from app.ranking.vectorize import TextModel

__all__ = [
    "EDUCATION_LEVELS",
    "CoherenceParams",
    "Explanation",
    "FilterSpec",
    "GraduateDocument",
    "GraduateTextFields",
    "JobDocument",
    "JobTextFields",
    "MajorFitLevels",
    "MajorTable",
    "Match",
    "Ranker",
    "RankerParams",
    "ScoreParts",
    "SparseIndex",
    "StructuredFitWeights",
    "TermContribution",
    "TextFields",
    "TextModel",
    "Tokenizer",
    "education_level",
    "normalize_text",
    "top_terms",
    "topk_rows",
]
