"""Upper bounds that let the batch top-k score a few candidates per query: each group's
candidate mask and bound U(c), the bound folded into the sparse product as an extra term, and
each query's best eligible cosine (its text scale)."""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any

import numpy as np
import scipy.sparse as sp
from sparse_dot_topn import sp_matmul_topn, zip_sp_matmul_topn

from app.batch.pair_scores import arrange, exact_text, full_row
from app.batch.sides import CandidateSide, Features, Float64Array, FloatArray, RankSpec, Subset
from app.ranking import FilterSpec
from app.ranking.arrays import BoolArray
from app.ranking.components import score_components
from app.ranking.features import MISSING
from app.ranking.filters import pair_mask

# Cosines from the product within this of a query's best eligible one are computed exactly to
# find that best (the text scale), as the online path computes it.
BEST_SLACK = 1e-5


def group_mask(side: CandidateSide, query: Features, filters: FilterSpec) -> BoolArray:
    """Candidates passing the education and city pair filters for one query row (salary and
    major vary within a group and are applied when scoring)."""
    job, graduate = arrange(side.direction, side.features, query)
    group_filters = dataclasses.replace(filters, salary=False, major_required=False)
    return np.asarray(pair_mask(job, graduate, group_filters))


def group_bound(
    side: CandidateSide,
    subset: Subset,
    members: list[tuple[Features, bytes]],
    query_ranges: Float64Array,
    spec: RankSpec,
) -> Float64Array:
    """U(c) per candidate: the education and city contribution (exact for every query with the
    same key; the largest over the members' keys) plus the most the major and salary parts can
    add for a pair within the members' sub-score ranges."""

    def education_and_city(query: Features) -> Float64Array:
        job, graduate = arrange(side.direction, subset.features, query)
        # The major part is not used here: with no graduate major stated score_components
        # skips the major comparison (education and city do not read majors).
        graduate = dataclasses.replace(
            graduate,
            major=np.full_like(graduate.major, MISSING),
            major_class=np.full_like(graduate.major_class, MISSING),
        )
        parts = score_components(job, graduate, side.related, spec.levels)
        weights = spec.weights
        fixed = weights.education * parts.education.astype(np.float64)
        return np.asarray(fixed + weights.city * parts.city.astype(np.float64))

    fixed = [
        side.cached(
            ("fixed", subset.key, key, spec.weights, spec.levels),
            partial(education_and_city, query),
        )
        for query, key in members
    ]
    bound = np.maximum.reduce(fixed) if len(fixed) > 1 else fixed[0].copy()
    candidate_ranges = side.ranges[subset.rows]
    for index, weight in ((0, spec.weights.major), (3, spec.weights.salary)):
        # A pair's sub-score lies in both documents' ranges.
        low = np.maximum(query_ranges[index, 0], candidate_ranges[:, index, 0])
        high = np.maximum(np.minimum(query_ranges[index, 1], candidate_ranges[:, index, 1]), low)
        bound += np.maximum(weight * low, weight * high)
    return np.asarray(bound, dtype=np.float64)


def with_extra(subset: Subset, extra: FloatArray) -> tuple[sp.csr_matrix, ...]:
    """The subset's blocks (terms × candidates) with one last term: `extra` where positive."""
    filled = []
    for block, start in zip(subset.blocks, subset.starts, strict=True):
        part = extra[start : start + block.shape[1]]
        columns = np.flatnonzero(part > 0).astype(block.indices.dtype)
        filled.append(
            sp.csr_matrix(
                (
                    np.concatenate([block.data, part[columns]]),
                    np.concatenate([block.indices, columns]),
                    np.append(block.indptr, block.indptr[-1] + columns.shape[0]),
                ),
                shape=(block.shape[0] + 1, block.shape[1]),
            )
        )
    return tuple(filled)


def product_top(
    queries: sp.csr_matrix,
    blocks: tuple[sp.csr_matrix, ...],
    spec: RankSpec,
    *,
    top_n: int,
    threshold: float,
) -> sp.csr_matrix:
    """Each query's best `top_n` candidates above `threshold` by its product with the blocks
    (terms × candidates), merged across blocks."""
    threads = spec.threads if spec.threads >= 2 else None
    # The result's memory is reserved up front for `density` × top_n per row.
    density = min(1.0, 4.0 * spec.pool / top_n)
    products = [
        sp_matmul_topn(
            queries,
            block,
            top_n=min(top_n, block.shape[1]),
            threshold=threshold,
            density=density,
            n_threads=threads,
        )
        for block in blocks
    ]
    if len(products) == 1:
        return sp.csr_matrix(products[0])
    return sp.csr_matrix(zip_sp_matmul_topn(top_n=top_n, C_mats=products))


def bounded_top(
    queries: sp.csr_matrix,
    blocks: tuple[sp.csr_matrix, ...],
    spec: RankSpec,
    *,
    top_n: int,
    threshold: float,
) -> sp.csr_matrix:
    """Each query's best `top_n` candidates above `threshold` by cosine + extra (the blocks'
    last term, which each query has with weight 1: at least its best eligible cosine, so the
    product still bounds the score without knowing that cosine first)."""
    # Each row keeps its terms, then the extra term (the last, so it is added last).
    extended = sp.hstack(
        [queries, sp.csr_matrix(np.ones((queries.shape[0], 1), dtype=np.float32))],
        format="csr",
        dtype=np.float32,
    )
    return product_top(extended, blocks, spec, top_n=top_n, threshold=threshold)


def pool_best(
    side: CandidateSide,
    subset: Subset,
    vectors: sp.csr_matrix,
    queries: Features,
    top: sp.csr_matrix,
    extra: FloatArray,
    spec: RankSpec,
    *,
    top_n: int,
) -> FloatArray:
    """Each query's best eligible cosine (as `best_cosines`) from its pool by cosine + extra
    (`bounded_top` with `top_n`): exact where every candidate left out has cosine + extra
    below the best found, `best_cosines` for the other rows."""
    positions = top.indices.astype(np.intp)
    raw = np.asarray(top.data, dtype=np.float32)
    approx = np.maximum(raw - extra[positions], np.float32(0.0))
    best, unsure = _best_in_pool(
        side, subset, vectors, queries, top, approx, raw, spec, top_n=top_n
    )
    rows = np.flatnonzero(unsure).astype(np.intp)
    if rows.shape[0]:
        best[rows] = best_cosines(side, subset, vectors[rows], queries.take(rows), spec)
    return best


def best_cosines(
    side: CandidateSide,
    subset: Subset,
    vectors: sp.csr_matrix,
    queries: Features,
    spec: RankSpec,
) -> FloatArray:
    """Each query's best cosine among the subset's candidates that pass every pair filter
    (0 when none shares a term), to the bit as the online path finds it: the best by the
    product are checked against the filters and the near-best recomputed exactly; a query
    whose best by the product all fail gets its full row."""
    n_candidates = int(subset.rows.shape[0])
    top_n = min(max(spec.pool, 4 * spec.k), n_candidates)
    top = product_top(vectors, subset.blocks, spec, top_n=top_n, threshold=0.0)
    approx = np.asarray(top.data, dtype=np.float32)
    best, unsure = _best_in_pool(
        side, subset, vectors, queries, top, approx, approx, spec, top_n=top_n
    )
    for row in np.flatnonzero(unsure):
        text = full_row(vectors[int(row)], subset)
        job, graduate = arrange(
            side.direction, subset.features, queries.take(slice(int(row), int(row) + 1))
        )
        eligible = np.asarray(pair_mask(job, graduate, spec.filters), dtype=bool)
        best[row] = text[eligible].max() if eligible.any() else np.float32(0.0)
    return best


def _best_in_pool(
    side: CandidateSide,
    subset: Subset,
    vectors: sp.csr_matrix,
    queries: Features,
    top: sp.csr_matrix,
    approx: FloatArray,
    reach: FloatArray,
    spec: RankSpec,
    *,
    top_n: int,
) -> tuple[FloatArray, BoolArray]:
    """The best eligible cosine in each row's pool `top` (`approx`: the cosines the product
    gives; `reach`: what the product ordered by, at least the cosine), and the rows where a
    candidate left out of the pool may still have a better one."""
    n_rows = vectors.shape[0]
    n_candidates = int(subset.rows.shape[0])
    counts = np.diff(top.indptr)
    pair_rows = np.repeat(np.arange(n_rows), counts).astype(np.intp)
    positions = top.indices.astype(np.intp)
    job, graduate = arrange(
        side.direction, subset.features.take(positions), queries.take(pair_rows)
    )
    passing = np.asarray(pair_mask(job, graduate, spec.filters), dtype=bool)
    wide = approx.astype(np.float64)
    best_approx = row_reduce(np.maximum, np.where(passing, wide, -np.inf), top.indptr, -np.inf)
    near = passing & (approx >= best_approx[pair_rows] - BEST_SLACK)
    exact = np.zeros(positions.shape[0], dtype=np.float32)
    exact[near] = exact_text(vectors, subset, pair_rows[near], positions[near])
    best = row_reduce(np.maximum, exact, top.indptr, np.float32(0.0))
    # Where the product was cut at top_n, a candidate left out may still be the best eligible:
    # when none passed, or when the best that passed is within rounding of the cut.
    lowest = row_reduce(np.minimum, reach.astype(np.float64), top.indptr, np.inf)
    cut_short = counts >= min(top_n, n_candidates)
    unsure = cut_short & (best_approx - BEST_SLACK <= lowest) & (counts < n_candidates)
    return best, np.asarray(unsure, dtype=bool)


def row_reduce(
    reduce: np.ufunc, values: np.ndarray[Any, Any], indptr: np.ndarray[Any, Any], empty: Any
) -> np.ndarray[Any, Any]:
    """`reduce` over each CSR row's `values` (`empty` for a row without any): one reduceat,
    where `ufunc.at` would loop per element."""
    out = np.full(indptr.shape[0] - 1, empty, dtype=values.dtype)
    filled = np.flatnonzero(np.diff(indptr) > 0)
    if filled.shape[0]:
        out[filled] = reduce.reduceat(values, indptr[filled])
    return out


def text_scales(best: FloatArray) -> FloatArray:
    """scoring.text_scale of each best cosine, elementwise in float32."""
    scales = np.zeros(best.shape[0], dtype=np.float32)
    positive = best > 0
    scales[positive] = np.float32(1.0) / best[positive]
    return scales
