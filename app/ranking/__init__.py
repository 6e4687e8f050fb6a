"""Ranking core: Chinese text → TF-IDF → cosine top-k in both directions, with structured fit,
explanations and saved artifacts. Pure: numpy, scipy, scikit-learn and the tokenizer only."""

from app.ranking.coherence import CoherenceParams
from app.ranking.documents import (
    EDUCATION_LEVELS,
    DocumentSource,
    GraduateDocument,
    GraduateTextFields,
    JobDocument,
    JobTextFields,
    TextFields,
    education_level,
)
from app.ranking.explanations import top_terms
from app.ranking.filters import FilterSpec
from app.ranking.index import SparseIndex, topk_rows
from app.ranking.majors import MajorTable
from app.ranking.params import RankerParams
from app.ranking.ranker import Ranker
from app.ranking.results import Explanation, Match, ScoreParts, TermContribution
from app.ranking.text import Tokenizer, normalize_text
from app.ranking.vectorize import TextModel
from app.ranking.weights import MajorFitLevels, StructuredFitWeights

__all__ = [
    "EDUCATION_LEVELS",
    "CoherenceParams",
    "DocumentSource",
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
