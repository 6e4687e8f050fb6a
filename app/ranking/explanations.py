"""Why a candidate ranks where it does: the terms it shares with the query, the major relation
that applied, the filters it passed and the job's skills the graduate lacks."""

from __future__ import annotations

from typing import Any

import scipy.sparse as sp

from app.ranking.documents import GraduateDocument, JobDocument
from app.ranking.results import Explanation, ScoreParts, TermContribution
from app.ranking.vectorize import TextModel
from app.ranking.weights import MajorFitLevels, StructuredFitWeights


def explain_match(
    model: TextModel,
    *,
    job: JobDocument,
    graduate: GraduateDocument,
    query_vector: sp.csr_matrix,
    doc_vector: sp.csr_matrix,
    parts: ScoreParts,
    weights: StructuredFitWeights,
    levels: MajorFitLevels,
    n_terms: int,
    filters_passed: tuple[str, ...],
    best_cosine: float,
) -> Explanation:
    """The explanation of one ranked pair, `best_cosine` the query's best eligible cosine."""
    return Explanation(
        parts=parts,
        weights=weights,
        terms=top_terms(query_vector, doc_vector, model.terms_, n_terms),
        filters_passed=filters_passed,
        missing_skills=missing_skills(model, job, graduate),
        major_level=levels.name_of(parts.major),
        best_cosine=best_cosine,
    )


def missing_skills(
    model: TextModel, job: JobDocument, graduate: GraduateDocument
) -> tuple[str, ...]:
    """The job's skills none of whose tokens appear anywhere in the graduate's text."""
    have = {t for tokens in model.graduate_field_tokens(graduate).values() for t in tokens}
    missing = []
    for skill in job.skills:
        tokens = model.tokenizer_.tokenize(skill)
        if tokens and not all(t in have for t in tokens):
            missing.append(skill)
    return tuple(missing)


def top_terms(
    query: sp.csr_matrix, doc: sp.csr_matrix, terms: Any, n: int
) -> tuple[TermContribution, ...]:
    """Shared terms by contribution to the cosine, largest first, ties by term."""
    q = sp.csr_matrix(query)
    d = sp.csr_matrix(doc)
    q_weights = dict(zip(q.indices.tolist(), q.data.tolist(), strict=True))
    shared = [
        (int(col), q_weights[int(col)], float(w))
        for col, w in zip(d.indices, d.data, strict=True)
        if int(col) in q_weights
    ]
    items = sorted(
        (TermContribution(str(terms[c]), qw, dw, qw * dw) for c, qw, dw in shared),
        key=lambda t: (-t.contribution, t.term),
    )
    return tuple(items[:n])
