"""Scoring query–candidate pairs of a batch exactly as the online path does (the ranking core's
`pair_scores` and exact cosines), and the full recomputation of a query over every candidate of
its group when its pool cannot prove the top-k."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from app.batch.sides import (
    COMPONENTS,
    CandidateSide,
    Features,
    FloatArray,
    IdArray,
    IntpArray,
    RankSpec,
    Subset,
)
from app.ranking.arrays import BoolArray
from app.ranking.components import Components, sub_score_ranges
from app.ranking.features import Direction, GraduateFeatures, JobFeatures
from app.ranking.filters import pair_mask
from app.ranking.scoring import PairScores, exact_top, pair_scores, structured_reach

# Pairs scored at once: bounds the feature gathers of one step (≈ 200 bytes per pair).
PAIRS_PER_STEP = 1 << 17


@dataclass(slots=True)
class RankedRows:
    """Results for some rows of a chunk: each row's chosen candidates, best first."""

    query_rows: IntpArray
    ranks: np.ndarray[Any, np.dtype[np.int32]]
    candidate_ids: IdArray
    scores: FloatArray
    text: FloatArray
    parts: Components
    fallbacks: int = 0
    widened: int = 0
    pairs: int = 0

    @staticmethod
    def empty() -> RankedRows:
        return RankedRows(
            np.empty(0, dtype=np.intp),
            np.empty(0, dtype=np.int32),
            np.empty(0, dtype=np.int64),
            np.empty(0, dtype=np.float32),
            np.empty(0, dtype=np.float32),
            empty_components(),
        )

    @staticmethod
    def concat(pieces: list[RankedRows]) -> RankedRows:
        if not pieces:
            return RankedRows.empty()
        return RankedRows(
            query_rows=np.concatenate([p.query_rows for p in pieces]),
            ranks=np.concatenate([p.ranks for p in pieces]),
            candidate_ids=np.concatenate([p.candidate_ids for p in pieces]),
            scores=np.concatenate([p.scores for p in pieces]),
            text=np.concatenate([p.text for p in pieces]),
            parts=concat_components([p.parts for p in pieces]),
            fallbacks=sum(p.fallbacks for p in pieces),
            widened=sum(p.widened for p in pieces),
            pairs=sum(p.pairs for p in pieces),
        )


def empty_components() -> Components:
    empty = np.empty(0, dtype=np.float32)
    return Components(empty, empty, empty, empty)


def concat_components(parts: list[Components]) -> Components:
    if not parts:
        return empty_components()
    return Components(*(np.concatenate([getattr(p, name) for p in parts]) for name in COMPONENTS))


def arrange(
    direction: Direction, candidates: Features, queries: Features
) -> tuple[JobFeatures, GraduateFeatures]:
    job, graduate = (candidates, queries) if direction == "jobs" else (queries, candidates)
    assert isinstance(job, JobFeatures) and isinstance(graduate, GraduateFeatures)
    return job, graduate


def score_aligned(
    side: CandidateSide,
    candidates: Features,
    queries: Features,
    text: FloatArray,
    scale: Any,
    spec: RankSpec,
) -> PairScores:
    """Scores of aligned (or broadcast) query–candidate pairs at the queries' text scales,
    filtered pairs at -inf: scoring.pair_scores, as the online path."""
    job, graduate = arrange(side.direction, candidates, queries)
    return pair_scores(
        job,
        graduate,
        text,
        scale,
        related=side.related,
        weights=spec.weights,
        levels=spec.levels,
        filters=spec.filters,
    )


def score_pairs(
    side: CandidateSide,
    subset: Subset,
    queries: Features,
    pair_rows: IntpArray,
    positions: IntpArray,
    text: FloatArray,
    scales: FloatArray,
    spec: RankSpec,
) -> tuple[FloatArray, Components]:
    """Scores of (query row, subset position) pairs (`scales` per query row), a bounded
    number at a time."""
    n = positions.shape[0]
    scores = np.empty(n, dtype=np.float32)
    parts = Components(*(np.empty(n, dtype=np.float32) for _ in COMPONENTS))
    for start in range(0, n, PAIRS_PER_STEP):
        step = slice(start, start + PAIRS_PER_STEP)
        scored = score_aligned(
            side,
            subset.features.take(positions[step]),
            queries.take(pair_rows[step]),
            text[step],
            scales[pair_rows[step]],
            spec,
        )
        scores[step] = scored.scores
        for name in COMPONENTS:
            getattr(parts, name)[step] = getattr(scored.parts, name)
    return scores, parts


def exact_text(
    queries: sp.csr_matrix, subset: Subset, pair_rows: IntpArray, positions: IntpArray
) -> FloatArray:
    """Cosines of pairs computed as the online sparse product computes them: float32 products
    summed in ascending term order (bit-identical)."""
    if positions.shape[0] == 0:
        return np.empty(0, dtype=np.float32)
    products = sp.csr_matrix(queries[pair_rows].multiply(subset.vectors[positions]))
    products.sort_indices()
    ones = np.ones(products.shape[1], dtype=np.float32)
    return np.asarray(products @ ones, dtype=np.float32)


def full_row(vector: sp.csr_matrix, subset: Subset) -> FloatArray:
    """One query's cosine with every candidate of the subset, as the online path computes it."""
    return np.concatenate(
        [np.asarray((vector @ block).toarray()).ravel() for block in subset.blocks]
    ).astype(np.float32)


def kth_best(scores: FloatArray, k: int) -> FloatArray:
    """Each row's k-th best score (-inf when fewer than k are finite)."""
    if scores.shape[1] < k:
        return np.full(scores.shape[0], -np.inf, dtype=np.float32)
    return np.asarray(-np.partition(-scores, k - 1, axis=1)[:, k - 1], dtype=np.float32)


def score_cells(
    side: CandidateSide,
    subset: Subset,
    queries: Features,
    scales: FloatArray,
    cells: BoolArray,
    position: IntpArray,
    text: FloatArray,
    scores: FloatArray,
    parts: FloatArray,
    spec: RankSpec,
) -> None:
    """Score the padded cells marked in `cells`, in place."""
    pair_rows, slots = np.nonzero(cells)
    if pair_rows.shape[0] == 0:
        return
    values, components = score_pairs(
        side,
        subset,
        queries,
        pair_rows.astype(np.intp),
        position[pair_rows, slots],
        text[pair_rows, slots],
        scales,
        spec,
    )
    scores[pair_rows, slots] = values
    for index, name in enumerate(COMPONENTS):
        parts[index, pair_rows, slots] = getattr(components, name)


def rank_in_full(
    side: CandidateSide,
    subset: Subset,
    vectors: sp.csr_matrix,
    queries: Features,
    rows: IntpArray,
    which: IntpArray,
    spec: RankSpec,
) -> RankedRows:
    """The exact top-k of some rows over all their group's candidates, by the ranking core's
    pruned top-k (scoring.exact_top), as the online path."""
    out: list[RankedRows] = []
    n = int(subset.rows.shape[0])
    every = np.ones(n, dtype=bool)
    every_row = np.arange(n, dtype=np.intp)
    for row in which:
        query = queries.take(slice(int(row), int(row) + 1))
        text = full_row(vectors[int(row)], subset)

        def eligible(positions: IntpArray, query: Features = query) -> BoolArray:
            job, graduate = arrange(side.direction, subset.features.take(positions), query)
            return np.asarray(pair_mask(job, graduate, spec.filters), dtype=bool)

        def score(
            positions: IntpArray,
            scale: np.float32,
            query: Features = query,
            text: FloatArray = text,
        ) -> PairScores:
            return score_aligned(
                side, subset.features.take(positions), query, text[positions], scale, spec
            )

        top = exact_top(
            text,
            subset.ids,
            spec.k,
            allowed=every,
            allowed_rows=every_row,
            eligible=eligible,
            score=score,
            reach=structured_reach(sub_score_ranges(query, spec.levels), spec.weights),
            slack=spec.slack(),
            text_weight=spec.weights.text,
        )
        out.append(
            RankedRows(
                query_rows=np.full(top.rows.shape[0], rows[int(row)], dtype=np.intp),
                ranks=np.arange(1, top.rows.shape[0] + 1, dtype=np.int32),
                candidate_ids=subset.ids[top.rows],
                scores=top.scores,
                text=top.text,
                parts=top.parts,
                pairs=top.scored,
            )
        )
    result = RankedRows.concat(out)
    result.fallbacks = int(which.shape[0])
    return result
