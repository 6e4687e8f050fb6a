"""Exact batch top-k: one chunk of queries against a whole candidate side.

`rank_chunk` is pure (numpy, scipy, sparse_dot_topn and the ranking core's scoring functions),
so the same call runs in-process and on a Dask worker. For every query it returns the ids the
online ranker returns (`Ranker.jobs_for_graduates` / `graduates_for_jobs`), in the same order
(ties by the smaller id), with scores equal to float tolerance (≤ ~1e-6).

How it stays exact while scoring a few candidates per query in full:

1. Queries are grouped by the columns the education and city pair filters read, and by the
   ranges their own sub-scores can take. A group's candidates are pre-masked with those two
   filters (a candidate failing them for one member fails them for all), and for every
   candidate the education and city sub-scores are the same for all members: they are computed
   once per group, exactly, with the ranking core's `score_components`.
2. One sparse product per group, with `sp_matmul_topn` on all threads, gives each query its
   `pool` best candidates by an upper bound of the final score: cosine + U(c)/w, U(c) being the
   exact education and city contribution plus the largest major and salary contribution the
   pair can still get (an extra term every candidate has). Candidate blocks are merged with
   `zip_sp_matmul_topn` when a group's candidates are many.
3. The best of those by bound are scored with the ranking core's structured fit and filters;
   then only those whose bound still reaches the k-th best score. Every candidate outside the
   pool has a bound ≤ the pool's smallest, so when the k-th best beats it the top-k is exact.
   Otherwise (rare) the query is recomputed over its group's candidates like the online path.
4. Scores use the cosine recovered from the product (within ~1e-7 of the online one); where two
   candidates are that close, the row is re-scored with cosines computed exactly as the online
   path computes them, so the order and the tie-breaks are the online ones.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import scipy.sparse as sp
from sparse_dot_topn import sp_matmul_topn, zip_sp_matmul_topn

from app.ranking import FilterSpec, MajorFitLevels, StructuredFitWeights
from app.ranking.components import Components, score_components, sub_score_ranges
from app.ranking.features import MISSING, BoolArray, Direction, GraduateFeatures, JobFeatures
from app.ranking.filters import pair_mask
from app.ranking.scoring import (
    PairScores,
    bound_slack,
    calibrated_text,
    exact_top,
    pair_scores,
    structured_reach,
)

Features = JobFeatures | GraduateFeatures
IdArray = np.ndarray[Any, np.dtype[np.int64]]
IntpArray = np.ndarray[Any, np.dtype[np.intp]]
FloatArray = np.ndarray[Any, np.dtype[np.float32]]
Float64Array = np.ndarray[Any, np.dtype[np.float64]]

# Arrays a candidate side derives per group (masks, sub-scores), kept per process up to this.
CACHE_BYTES = 64 << 20
# Pairs scored at once: bounds the feature gathers of one step (≈ 200 bytes per pair).
PAIRS_PER_STEP = 1 << 17
# Scores closer than this share of the bound allowance (RankSpec.slack) are re-scored with
# exactly computed cosines before ordering.
TIE_SHARE = 4e-3
# Cosines from the product within this of a query's best eligible one are computed exactly to
# find that best (the text scale), as the online path computes it.
BEST_SLACK = 1e-5
# The share of a group's candidates whose bound enters the product as an extra term (1 − this):
# a sparser extra term makes the product faster, a looser bound for the others more fallbacks.
BASE_QUANTILE = 0.8
# Groups with fewer queries share one product with others that get the same candidates.
MIN_GROUP_ROWS = 64
# Queries a pool of `pool` cannot settle are retried with this many times the pool, together.
WIDE_POOL = 16
COMPONENTS = ("major", "education", "city", "salary")


@dataclass(frozen=True, slots=True)
class RankSpec:
    """Everything that shapes a batch top-k besides the data.

    `pool` is the candidates per query the sparse product keeps (by bound); the larger, the
    fewer queries fall back to a full recomputation. `block_rows` splits a group's candidates
    into blocks whose products are merged, bounding the product's working memory.
    """

    k: int = 20
    pool: int = 80
    weights: StructuredFitWeights = field(default_factory=StructuredFitWeights)
    levels: MajorFitLevels = field(default_factory=MajorFitLevels)
    filters: FilterSpec = field(default_factory=FilterSpec)
    threads: int = 2
    block_rows: int = 1 << 18

    def slack(self) -> float:
        """The float rounding allowance of bounds (scoring.bound_slack)."""
        return bound_slack(self.weights, self.levels)


def document_ranges(features: Features, levels: MajorFitLevels) -> Float64Array:
    """(rows × 4 × 2): the lowest and highest (major, education, city, salary) sub-score each
    document can get against any counterpart, by the ranking core's own rules."""
    n = int(features.status.shape[0])
    out = np.empty((n, 4, 2), dtype=np.float64)
    for row in range(n):
        out[row] = sub_score_ranges(features.take(slice(row, row + 1)), levels)
    return out


@dataclass(frozen=True, slots=True)
class Subset:
    """The candidates one group of queries can get: rows of the side, ids, features, vectors
    (rows, for exact cosines) and, per block, the vectors transposed (terms × candidates)."""

    key: bytes
    rows: IntpArray
    ids: IdArray
    features: Features
    vectors: sp.csr_matrix
    blocks: tuple[sp.csr_matrix, ...]
    starts: tuple[int, ...]


class CandidateSide:
    """One side's candidates that pass the candidate-side filters: ids, l2-normalised text
    vectors (rows), structured features and sub-score ranges, and the major relation table.

    Shipped once to every Dask worker; what it derives per group (masked subsets, education and
    city sub-scores) is a per-process cache and is not pickled.
    """

    def __init__(
        self,
        *,
        direction: Direction,
        ids: IdArray,
        vectors: sp.csr_matrix,
        features: Features,
        related: BoolArray,
        levels: MajorFitLevels,
        ranges: Float64Array | None = None,
    ) -> None:
        if vectors.shape[0] != ids.shape[0]:
            raise ValueError("one vector per candidate id")
        self.direction: Direction = direction
        self.ids = np.asarray(ids, dtype=np.int64)
        self.vectors = sp.csr_matrix(vectors, dtype=np.float32)
        self.vectors.sort_indices()
        self.features = features
        self.related = related
        self.levels = levels
        self.ranges = document_ranges(features, levels) if ranges is None else ranges
        self._cache: dict[Any, np.ndarray[Any, Any]] = {}
        self._cached_bytes = 0
        self._subsets: dict[bytes, Subset] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_cache"] = {}
        state["_cached_bytes"] = 0
        state["_subsets"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def cached(self, key: Any, compute: Callable[[], np.ndarray[Any, Any]]) -> np.ndarray[Any, Any]:
        """An array derived from this side, computed once per process while the arrays kept
        stay under CACHE_BYTES (oldest dropped first)."""
        found = self._cache.get(key)
        if found is not None:
            return found
        value = compute()
        while self._cache and self._cached_bytes + value.nbytes > CACHE_BYTES:
            self._cached_bytes -= self._cache.pop(next(iter(self._cache))).nbytes
        self._cache[key] = value
        self._cached_bytes += value.nbytes
        return value

    def subset(self, mask: BoolArray, block_rows: int) -> Subset:
        """The candidates under `mask`, kept while the subsets held stay within about twice
        the side's own vectors (oldest dropped first)."""
        key = hashlib.blake2b(np.packbits(mask).tobytes(), digest_size=16).digest()
        key += block_rows.to_bytes(8, "little")
        found = self._subsets.get(key)
        if found is not None:
            return found
        rows = np.flatnonzero(mask).astype(np.intp)
        vectors = self.vectors[rows]
        starts = tuple(range(0, max(rows.shape[0], 1), block_rows))
        blocks = tuple(vectors[start : start + block_rows].T.tocsr() for start in starts)
        subset = Subset(
            key, rows, self.ids[rows], self.features.take(rows), vectors, blocks, starts
        )
        budget = max(self.vectors.nnz, 1)
        while (
            self._subsets
            and sum(s.vectors.nnz for s in self._subsets.values()) + vectors.nnz > budget
        ):
            self._subsets.pop(next(iter(self._subsets)))
        self._subsets[key] = subset
        return subset


@dataclass(frozen=True, slots=True)
class QueryChunk:
    """Query rows of one chunk: ids, text vectors, structured features and sub-score ranges."""

    ids: IdArray
    vectors: sp.csr_matrix
    features: Features
    ranges: Float64Array

    def __len__(self) -> int:
        return int(self.ids.shape[0])


@dataclass(frozen=True, slots=True)
class ChunkResult:
    """The top-k of every query of a chunk, one entry per (query, rank), in chunk order with
    ranks from 1; `widened` counts queries settled by a wider pool, `fallbacks` queries
    recomputed over every candidate, `pairs_scored` the pairs whose structured fit was
    computed."""

    query_ids: IdArray
    ranks: np.ndarray[Any, np.dtype[np.int32]]
    candidate_ids: IdArray
    scores: FloatArray
    text: FloatArray
    parts: Components
    queries: int
    fallbacks: int
    widened: int
    pairs_scored: int

    def __len__(self) -> int:
        return int(self.query_ids.shape[0])


def pair_keys(direction: Direction, queries: Features) -> np.ndarray[Any, np.dtype[np.int64]]:
    """One row per query such that equal rows pass the education and city pair filters with the
    same candidates and get the same education and city sub-scores from each (the columns
    `pair_mask` and `score_components` read for those)."""
    if direction == "jobs":
        assert isinstance(queries, GraduateFeatures)
        # Desired places as a multiset of (place, province) slots: their order does not matter.
        slots = (queries.desired.astype(np.int64) << 32) | (
            queries.desired_province.astype(np.int64) & 0xFFFFFFFF
        )
        columns = [
            queries.education[:, None].astype(np.int64),
            queries.anywhere[:, None].astype(np.int64),
            np.sort(slots, axis=1),
        ]
    else:
        assert isinstance(queries, JobFeatures)
        columns = [
            queries.education[:, None].astype(np.int64),
            queries.anywhere[:, None].astype(np.int64),
            queries.city[:, None].astype(np.int64),
            queries.province[:, None].astype(np.int64),
        ]
    return np.ascontiguousarray(np.hstack(columns))


def group_labels(keys: np.ndarray[Any, np.dtype[np.int64]]) -> IntpArray:
    """A label per row of `pair_keys`, equal for equal rows (in the keys' sort order)."""
    if keys.shape[0] == 0:
        return np.empty(0, dtype=np.intp)
    _, labels = np.unique(keys, axis=0, return_inverse=True)
    return np.asarray(labels, dtype=np.intp).reshape(-1)


def rank_chunk(side: CandidateSide, chunk: QueryChunk, spec: RankSpec) -> ChunkResult:
    """The exact top-`spec.k` candidates of `side` for every query of `chunk`."""
    if side.levels != spec.levels:
        raise ValueError("the candidate side was built with other major levels than the spec")
    keys = pair_keys(side.direction, chunk.features)
    labels = group_labels(keys)
    # Groups in order of their first row (a chunk sorted by group is one group at a time);
    # small groups with the same candidates share one sparse product.
    _, first = np.unique(labels, return_index=True)
    units: dict[bytes, tuple[BoolArray, list[tuple[IntpArray, bytes]]]] = {}
    for label in labels[np.sort(first)]:
        rows = np.flatnonzero(labels == label).astype(np.intp)
        key = keys[rows[0]].tobytes()
        mask = side.cached(
            ("mask", key, spec.filters),
            partial(_group_mask, side, chunk.features.take(rows[:1]), spec.filters),
        )
        digest = hashlib.blake2b(np.packbits(mask).tobytes(), digest_size=16).digest()
        if rows.shape[0] >= MIN_GROUP_ROWS:
            units[digest + key] = (mask, [(rows, key)])
        else:
            units.setdefault(digest, (mask, []))[1].append((rows, key))
    pieces = [_rank_unit(side, chunk, mask, members, spec) for mask, members in units.values()]
    return _assemble(chunk, pieces)


@dataclass(slots=True)
class _Ranked:
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
    def empty() -> _Ranked:
        return _Ranked(
            np.empty(0, dtype=np.intp),
            np.empty(0, dtype=np.int32),
            np.empty(0, dtype=np.int64),
            np.empty(0, dtype=np.float32),
            np.empty(0, dtype=np.float32),
            _empty_components(),
        )

    @staticmethod
    def concat(pieces: list[_Ranked]) -> _Ranked:
        if not pieces:
            return _Ranked.empty()
        return _Ranked(
            query_rows=np.concatenate([p.query_rows for p in pieces]),
            ranks=np.concatenate([p.ranks for p in pieces]),
            candidate_ids=np.concatenate([p.candidate_ids for p in pieces]),
            scores=np.concatenate([p.scores for p in pieces]),
            text=np.concatenate([p.text for p in pieces]),
            parts=_concat_components([p.parts for p in pieces]),
            fallbacks=sum(p.fallbacks for p in pieces),
            widened=sum(p.widened for p in pieces),
            pairs=sum(p.pairs for p in pieces),
        )


def _empty_components() -> Components:
    empty = np.empty(0, dtype=np.float32)
    return Components(empty, empty, empty, empty)


def _concat_components(parts: list[Components]) -> Components:
    if not parts:
        return _empty_components()
    return Components(*(np.concatenate([getattr(p, name) for p in parts]) for name in COMPONENTS))


def _assemble(chunk: QueryChunk, pieces: list[_Ranked]) -> ChunkResult:
    ranked = _Ranked.concat(pieces)
    order = np.lexsort((ranked.ranks, ranked.query_rows))
    return ChunkResult(
        query_ids=chunk.ids[ranked.query_rows[order]].astype(np.int64),
        ranks=ranked.ranks[order].astype(np.int32),
        candidate_ids=ranked.candidate_ids[order].astype(np.int64),
        scores=ranked.scores[order].astype(np.float32),
        text=ranked.text[order].astype(np.float32),
        parts=ranked.parts.take(order),
        queries=len(chunk),
        fallbacks=ranked.fallbacks,
        widened=ranked.widened,
        pairs_scored=ranked.pairs,
    )


def _arrange(
    direction: Direction, candidates: Features, queries: Features
) -> tuple[JobFeatures, GraduateFeatures]:
    job, graduate = (candidates, queries) if direction == "jobs" else (queries, candidates)
    assert isinstance(job, JobFeatures) and isinstance(graduate, GraduateFeatures)
    return job, graduate


def _score(
    side: CandidateSide,
    candidates: Features,
    queries: Features,
    text: FloatArray,
    scale: Any,
    spec: RankSpec,
) -> PairScores:
    """Scores of aligned (or broadcast) query–candidate pairs at the queries' text scales,
    filtered pairs at -inf: scoring.pair_scores, as the online path."""
    job, graduate = _arrange(side.direction, candidates, queries)
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


def _score_pairs(
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
        scored = _score(
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


def _exact_text(
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


def _group_mask(side: CandidateSide, query: Features, filters: FilterSpec) -> BoolArray:
    """Candidates passing the education and city pair filters for one query row (salary and
    major vary within a group and are applied when scoring)."""
    job, graduate = _arrange(side.direction, side.features, query)
    group_filters = dataclasses.replace(filters, salary=False, major_required=False)
    return np.asarray(pair_mask(job, graduate, group_filters))


def _group_bound(
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
        job, graduate = _arrange(side.direction, subset.features, query)
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


def _with_extra(subset: Subset, extra: FloatArray) -> tuple[sp.csr_matrix, ...]:
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


def _product_top(
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


def _bounded_top(
    queries: sp.csr_matrix,
    blocks: tuple[sp.csr_matrix, ...],
    best: FloatArray,
    spec: RankSpec,
    *,
    top_n: int,
    threshold: float,
) -> sp.csr_matrix:
    """Each query's best `top_n` candidates above `threshold` by cosine + best·extra (the
    blocks' last term, which each query has with its best eligible cosine as weight)."""
    # Each row keeps its terms, then the extra term (the last, so it is added last).
    extended = sp.hstack(
        [queries, sp.csr_matrix(best.reshape(-1, 1).astype(np.float32))],
        format="csr",
        dtype=np.float32,
    )
    return _product_top(extended, blocks, spec, top_n=top_n, threshold=threshold)


def _best_cosines(
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
    n_rows = vectors.shape[0]
    n_candidates = int(subset.rows.shape[0])
    top_n = min(max(spec.pool, 4 * spec.k), n_candidates)
    top = _product_top(vectors, subset.blocks, spec, top_n=top_n, threshold=0.0)
    counts = np.diff(top.indptr)
    pair_rows = np.repeat(np.arange(n_rows), counts).astype(np.intp)
    positions = top.indices.astype(np.intp)
    approx = np.asarray(top.data, dtype=np.float32)
    job, graduate = _arrange(
        side.direction, subset.features.take(positions), queries.take(pair_rows)
    )
    passing = np.asarray(pair_mask(job, graduate, spec.filters), dtype=bool)
    best_approx = np.full(n_rows, -np.inf, dtype=np.float64)
    np.maximum.at(best_approx, pair_rows[passing], approx[passing])
    near = passing & (approx >= best_approx[pair_rows] - BEST_SLACK)
    exact = _exact_text(vectors, subset, pair_rows[near], positions[near])
    best = np.zeros(n_rows, dtype=np.float32)
    np.maximum.at(best, pair_rows[near], exact)
    # Where the product was cut at top_n, a candidate left out may still be the best eligible:
    # when none passed, or when the best that passed is within rounding of the cut.
    lowest = np.full(n_rows, np.inf, dtype=np.float64)
    np.minimum.at(lowest, pair_rows, approx)
    cut_short = counts >= top_n
    unsure = cut_short & (best_approx - BEST_SLACK <= lowest) & (counts < n_candidates)
    for row in np.flatnonzero(unsure):
        text = _full_row(vectors[int(row)], subset)
        job, graduate = _arrange(
            side.direction, subset.features, queries.take(slice(int(row), int(row) + 1))
        )
        eligible = np.asarray(pair_mask(job, graduate, spec.filters), dtype=bool)
        best[row] = text[eligible].max() if eligible.any() else np.float32(0.0)
    return best


def _scales(best: FloatArray) -> FloatArray:
    """scoring.text_scale of each best cosine, elementwise in float32."""
    scales = np.zeros(best.shape[0], dtype=np.float32)
    positive = best > 0
    scales[positive] = np.float32(1.0) / best[positive]
    return scales


def _full_row(vector: sp.csr_matrix, subset: Subset) -> FloatArray:
    """One query's cosine with every candidate of the subset, as the online path computes it."""
    return np.concatenate(
        [np.asarray((vector @ block).toarray()).ravel() for block in subset.blocks]
    ).astype(np.float32)


def _rank_unit(
    side: CandidateSide,
    chunk: QueryChunk,
    mask: BoolArray,
    members: list[tuple[IntpArray, bytes]],
    spec: RankSpec,
) -> _Ranked:
    """Rank the rows of one or more groups that can get the same candidates (`mask`)."""
    rows = np.concatenate([member_rows for member_rows, _ in members])
    queries = chunk.features.take(rows)
    subset = side.subset(mask, spec.block_rows)
    n_candidates = int(subset.rows.shape[0])
    if n_candidates == 0 or spec.k <= 0:
        return _Ranked.empty()
    vectors = chunk.vectors[rows]
    everyone = np.arange(rows.shape[0], dtype=np.intp)
    if spec.weights.text <= 0 or spec.pool <= 0:
        # The cosine does not lead the score: no bound from it, every query in full.
        return _fallback(side, subset, vectors, queries, rows, everyone, spec)

    weight = spec.weights.text
    slack = spec.slack()
    best = _best_cosines(side, subset, vectors, queries, spec)
    scales = _scales(best)
    # A query whose eligible candidates share no term with it is ordered by the structured
    # part alone (or has no candidate): no bound from the text.
    textless = everyone[scales == 0]
    everyone = everyone[scales > 0]
    # The members' sub-score ranges, merged: the bound holds for each of them.
    ranges = chunk.ranges[rows]
    merged = np.stack([ranges[:, :, 0].min(axis=0), ranges[:, :, 1].max(axis=0)], -1)
    representatives = [(chunk.features.take(member_rows[:1]), key) for member_rows, key in members]
    bound = _group_bound(side, subset, representatives, merged, spec)
    # final ≤ w·scale·(cosine + best·extra) + base for every candidate (scale·best = 1). A
    # high base keeps the extra term sparse (a cheaper product) at the price of a looser
    # bound for the rest.
    base = float(np.quantile(bound, BASE_QUANTILE))
    extra = (np.maximum(bound - base, 0.0) / weight).astype(np.float32)
    blocks = _with_extra(subset, extra)
    context = _Context(
        side, subset, blocks, vectors, queries, rows, extra, base, slack, best, scales, spec
    )

    results = []
    if textless.shape[0]:
        results.append(_fallback(side, subset, vectors, queries, rows, textless, spec))
    if everyone.shape[0] == 0:
        return _Ranked.concat(results)
    done, pending, kth = _pooled(context, everyone, top_n=spec.pool, threshold=-np.inf)
    results.append(done)
    # Queries whose pool could not prove its top-k (ties, or many near-equal candidates): take
    # every candidate whose bound reaches the k-th best found, first up to a wider pool for all
    # of them at once, then without a cap one by one. Only queries with fewer than k passing
    # candidates in the pool are recomputed over every candidate.
    can_reach = np.isfinite(kth) & (kth - 2 * slack >= base)
    rows_left = pending[can_reach]
    # The cut in product units (cosine + best·extra) per query.
    cuts = (kth[can_reach] - 2 * slack - base) / (weight * scales[rows_left].astype(np.float64))
    done.widened = int(rows_left.shape[0])
    for top_n in (WIDE_POOL * spec.pool, n_candidates):
        if rows_left.shape[0] == 0:
            break
        if top_n == n_candidates:
            for row, cut in zip(rows_left, cuts, strict=True):
                single = np.array([row], dtype=np.intp)
                again, left, _ = _pooled(context, single, top_n=top_n, threshold=float(cut))
                assert left.shape[0] == 0, "every candidate that can reach the k-th was scored"
                results.append(again)
            break
        again, left, _ = _pooled(context, rows_left, top_n=top_n, threshold=float(cuts.min()))
        results.append(again)
        cuts = cuts[np.isin(rows_left, left)]
        rows_left = left
    rest = pending[~can_reach]
    if rest.shape[0]:
        results.append(_fallback(side, subset, vectors, queries, rows, rest, spec))
    return _Ranked.concat(results)


@dataclass(frozen=True, slots=True)
class _Context:
    """What ranking the rows of one unit needs (`best` and `scales` per unit row)."""

    side: CandidateSide
    subset: Subset
    blocks: tuple[sp.csr_matrix, ...]
    vectors: sp.csr_matrix
    queries: Features
    rows: IntpArray
    extra: FloatArray
    base: float
    slack: float
    best: FloatArray
    scales: FloatArray
    spec: RankSpec


def _pooled(
    context: _Context, local: IntpArray, *, top_n: int, threshold: float
) -> tuple[_Ranked, IntpArray, FloatArray]:
    """Rank the unit's rows `local` from their `top_n` best candidates by bound (above
    `threshold`): the rows proven exact, the rows not proven, and those rows' k-th best."""
    side, subset, spec = context.side, context.subset, context.spec
    base, slack, extra = context.base, context.slack, context.extra
    vectors = context.vectors[local]
    queries = context.queries.take(local)
    best, scales = context.best[local], context.scales[local]
    # Each row's text weight: w · its text scale.
    weight = (spec.weights.text * scales.astype(np.float64))[:, None]
    n_rows = local.shape[0]
    top = _bounded_top(vectors, context.blocks, best, spec, top_n=top_n, threshold=threshold)
    counts = np.diff(top.indptr)
    width = max(int(counts.max()), 1)
    pair_rows = np.repeat(np.arange(n_rows), counts).astype(np.intp)
    slot = np.arange(top.indices.shape[0]) - top.indptr[pair_rows]

    # Per row, candidates by bound, best first (padded: rows × width).
    raw = np.full((n_rows, width), -np.inf, dtype=np.float32)
    position = np.zeros((n_rows, width), dtype=np.intp)
    raw[pair_rows, slot] = top.data
    position[pair_rows, slot] = top.indices
    by_bound = np.argsort(-raw, axis=1, kind="stable")
    raw = np.take_along_axis(raw, by_bound, axis=1)
    position = np.take_along_axis(position, by_bound, axis=1)
    present = np.isfinite(raw)
    upper = weight * raw.astype(np.float64) + base
    # Cosines recovered from the product: (cosine + best·extra) − best·extra, exact where
    # extra is 0.
    text = np.zeros((n_rows, width), dtype=np.float32)
    offset = best[:, None] * extra[position]
    text[present] = np.maximum(raw[present] - offset[present], np.float32(0.0))

    # Score the best by bound first, then whatever can still reach the k-th best of those.
    scores = np.full((n_rows, width), -np.inf, dtype=np.float32)
    parts = np.zeros((4, n_rows, width), dtype=np.float32)
    first_pass = present & (np.arange(width) < spec.k + spec.k // 2 + 2)
    _score_cells(side, subset, queries, scales, first_pass, position, text, scores, parts, spec)
    floor = _kth(scores, spec.k)
    second_pass = present & ~first_pass & (upper + slack >= floor[:, None])
    _score_cells(side, subset, queries, scales, second_pass, position, text, scores, parts, spec)
    scored = first_pass | second_pass

    ids = np.where(present, subset.ids[position], np.iinfo(np.int64).max)
    chosen = np.lexsort((ids, -scores), axis=-1)[:, : spec.k + 1]
    chosen = _settle_near_ties(
        side,
        subset,
        vectors,
        queries,
        scales,
        chosen,
        ids,
        position,
        extra,
        text,
        scores,
        parts,
        spec,
    )[:, : spec.k]
    kth = _kth(scores, spec.k)

    # The largest bound of a candidate left out: the pool's smallest when it was cut at top_n,
    # the threshold, and `base` for candidates the product never touched (cosine 0, no extra).
    truncated = counts >= min(top_n, subset.rows.shape[0])
    cut = weight[:, 0] * max(threshold, 0.0) + base
    last = upper[np.arange(n_rows), np.maximum(counts - 1, 0)]
    cut = np.where(truncated & (counts > 0), np.maximum(cut, last), cut)
    outside = counts < subset.rows.shape[0]
    exact_rows = ~outside | (kth.astype(np.float64) > cut + slack)

    chosen_rows, chosen_ranks = np.nonzero(
        np.isfinite(np.take_along_axis(scores, chosen, axis=1)) & exact_rows[:, None]
    )
    cells = chosen[chosen_rows, chosen_ranks]
    done = _Ranked(
        query_rows=context.rows[local[chosen_rows]],
        ranks=(chosen_ranks + 1).astype(np.int32),
        candidate_ids=subset.ids[position[chosen_rows, cells]],
        scores=scores[chosen_rows, cells],
        text=calibrated_text(text[chosen_rows, cells], scales[chosen_rows]),
        parts=Components(*(parts[i, chosen_rows, cells] for i in range(4))),
        pairs=int(scored.sum()),
    )
    return done, local[~exact_rows], kth[~exact_rows]


def _settle_near_ties(
    side: CandidateSide,
    subset: Subset,
    vectors: sp.csr_matrix,
    queries: Features,
    scales: FloatArray,
    best: IntpArray,
    ids: IdArray,
    position: IntpArray,
    extra: FloatArray,
    text: FloatArray,
    scores: FloatArray,
    parts: FloatArray,
    spec: RankSpec,
) -> IntpArray:
    """Where two of a row's top-(k+1) scores are within rounding of each other, re-score every
    candidate of the row that can still compete for the top-k with cosines computed exactly
    as online (where the recovered one is not already exact), and re-order the row. Returns
    the new `best`."""
    ranked = np.take_along_axis(scores, best, axis=1)
    tie = TIE_SHARE * spec.slack()
    with np.errstate(invalid="ignore"):  # -inf − -inf past the last finite score
        close = np.abs(np.diff(ranked, axis=1)) <= tie
    flagged: BoolArray = np.asarray((close & np.isfinite(ranked[:, 1:])).any(axis=1))
    if not flagged.any():
        return best
    # In a flagged row every candidate that can still compete for the top-k is re-scored: a tie
    # can extend past the (k+1)-th.
    finite = np.where(np.isfinite(ranked), ranked, np.inf)
    floor = finite.min(axis=1) - tie
    near = flagged[:, None] & np.isfinite(scores) & (scores >= floor[:, None])
    near &= extra[position] > 0  # where extra is 0 the cosine is the online one already
    rows, columns = np.nonzero(near)
    if rows.shape[0] == 0:
        return best
    exact = _exact_text(vectors, subset, rows.astype(np.intp), position[rows, columns])
    rescored = _score(
        side,
        subset.features.take(position[rows, columns]),
        queries.take(rows),
        exact,
        scales[rows],
        spec,
    )
    text[rows, columns] = exact
    scores[rows, columns] = rescored.scores
    for index, name in enumerate(COMPONENTS):
        parts[index, rows, columns] = getattr(rescored.parts, name)
    changed = np.unique(rows)
    best[changed] = np.lexsort((ids[changed], -scores[changed]), axis=-1)[:, : best.shape[1]]
    return best


def _kth(scores: FloatArray, k: int) -> FloatArray:
    """Each row's k-th best score (-inf when fewer than k are finite)."""
    if scores.shape[1] < k:
        return np.full(scores.shape[0], -np.inf, dtype=np.float32)
    return np.asarray(-np.partition(-scores, k - 1, axis=1)[:, k - 1], dtype=np.float32)


def _score_cells(
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
    values, components = _score_pairs(
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


def _fallback(
    side: CandidateSide,
    subset: Subset,
    vectors: sp.csr_matrix,
    queries: Features,
    rows: IntpArray,
    which: IntpArray,
    spec: RankSpec,
) -> _Ranked:
    """The exact top-k of some rows over all their group's candidates, by the ranking core's
    pruned top-k (scoring.exact_top), as the online path."""
    out: list[_Ranked] = []
    n = int(subset.rows.shape[0])
    every = np.ones(n, dtype=bool)
    every_row = np.arange(n, dtype=np.intp)
    for row in which:
        query = queries.take(slice(int(row), int(row) + 1))
        text = _full_row(vectors[int(row)], subset)

        def eligible(positions: IntpArray, query: Features = query) -> BoolArray:
            job, graduate = _arrange(side.direction, subset.features.take(positions), query)
            return np.asarray(pair_mask(job, graduate, spec.filters), dtype=bool)

        def score(
            positions: IntpArray,
            scale: np.float32,
            query: Features = query,
            text: FloatArray = text,
        ) -> PairScores:
            return _score(
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
            _Ranked(
                query_rows=np.full(top.rows.shape[0], rows[int(row)], dtype=np.intp),
                ranks=np.arange(1, top.rows.shape[0] + 1, dtype=np.int32),
                candidate_ids=subset.ids[top.rows],
                scores=top.scores,
                text=top.text,
                parts=top.parts,
                pairs=top.scored,
            )
        )
    result = _Ranked.concat(out)
    result.fallbacks = int(which.shape[0])
    return result
