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
   `pool` best candidates by cosine + extra, extra = max(U(c) − base, 0)/w, U(c) being the
   exact education and city contribution plus the largest major and salary contribution the
   pair can still get (an extra term every candidate has, with weight 1 in every query).
   Candidate blocks are merged with `zip_sp_matmul_topn` when a group's candidates are many.
   The same pool gives each query's best eligible cosine (the text scale: text = cosine /
   best) where every candidate left out has cosine + extra below the best found; the other
   rows (few) get it from a product by cosine alone. An eligible candidate's score is at most
   w·(scale·cosine + extra) + base with scale·cosine ≤ 1, which bounds every candidate left
   out of the pool by the pool's smallest product.
3. The best of those by bound are scored with the ranking core's structured fit and filters;
   then only those whose bound still reaches the k-th best score. Every candidate outside the
   pool has a bound ≤ the pool's smallest, so when the k-th best beats it the top-k is exact.
   Otherwise (rare) the query is recomputed over its group's candidates like the online path.
4. Scores use the cosine recovered from the product (within ~1e-7 of the online one); where two
   candidates are that close, the row is re-scored with cosines computed exactly as the online
   path computes them, so the order and the tie-breaks are the online ones.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import partial

import numpy as np
import scipy.sparse as sp

from app.batch.bounds import (
    bounded_top,
    group_bound,
    group_mask,
    pool_best,
    row_reduce,
    text_scales,
    with_extra,
)
from app.batch.pair_scores import (
    RankedRows,
    exact_text,
    kth_best,
    rank_in_full,
    score_aligned,
    score_cells,
)
from app.batch.sides import (
    COMPONENTS,
    CandidateSide,
    ChunkResult,
    Features,
    Float64Array,
    FloatArray,
    IdArray,
    IntpArray,
    QueryChunk,
    RankSpec,
    Subset,
    group_labels,
    pair_keys,
)
from app.ranking.arrays import BoolArray
from app.ranking.components import Components
from app.ranking.scoring import calibrated_text

# Scores closer than this share of the bound allowance (RankSpec.slack) are re-scored with
# exactly computed cosines before ordering.
TIE_SHARE = 4e-3

# The share of a group's candidates whose bound enters the product as an extra term (1 − this):
# a sparser extra term makes the product faster, a looser bound for the others more fallbacks.
BASE_QUANTILE = 0.8

# Groups with fewer queries share one product with others that get the same candidates.
MIN_GROUP_ROWS = 64

# Queries a pool of `pool` cannot settle are retried with this many times the pool, together.
WIDE_POOL = 16


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
            partial(group_mask, side, chunk.features.take(rows[:1]), spec.filters),
        )
        digest = hashlib.blake2b(np.packbits(mask).tobytes(), digest_size=16).digest()
        if rows.shape[0] >= MIN_GROUP_ROWS:
            units[digest + key] = (mask, [(rows, key)])
        else:
            units.setdefault(digest, (mask, []))[1].append((rows, key))
    pieces = [_rank_unit(side, chunk, mask, members, spec) for mask, members in units.values()]
    return _assemble(chunk, pieces)


def _assemble(chunk: QueryChunk, pieces: list[RankedRows]) -> ChunkResult:
    ranked = RankedRows.concat(pieces)
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


def _rank_unit(
    side: CandidateSide,
    chunk: QueryChunk,
    mask: BoolArray,
    members: list[tuple[IntpArray, bytes]],
    spec: RankSpec,
) -> RankedRows:
    """Rank the rows of one or more groups that can get the same candidates (`mask`)."""
    rows = np.concatenate([member_rows for member_rows, _ in members])
    queries = chunk.features.take(rows)
    subset = side.subset(mask, spec.block_rows)
    n_candidates = int(subset.rows.shape[0])
    if n_candidates == 0 or spec.k <= 0:
        return RankedRows.empty()
    vectors = chunk.vectors[rows]
    everyone = np.arange(rows.shape[0], dtype=np.intp)
    if spec.weights.text <= 0 or spec.pool <= 0:
        # The cosine does not lead the score: no bound from it, every query in full.
        return rank_in_full(side, subset, vectors, queries, rows, everyone, spec)

    weight = spec.weights.text
    slack = spec.slack()
    # The members' sub-score ranges, merged: the bound holds for each of them.
    ranges = chunk.ranges[rows]
    merged = np.stack([ranges[:, :, 0].min(axis=0), ranges[:, :, 1].max(axis=0)], -1)
    representatives = [(chunk.features.take(member_rows[:1]), key) for member_rows, key in members]
    bound = group_bound(side, subset, representatives, merged, spec)
    # final ≤ w·(scale·cosine + extra) + base for every candidate, and scale·cosine ≤ 1 for an
    # eligible one. A high base keeps the extra term sparse (a cheaper product) at the price
    # of a looser bound for the rest.
    base = float(np.quantile(bound, BASE_QUANTILE))
    extra = (np.maximum(bound - base, 0.0) / weight).astype(np.float32)
    blocks = with_extra(subset, extra)
    # One product by cosine + extra gives both each query's pool and (mostly) its best
    # eligible cosine, which the text scale needs.
    top = bounded_top(vectors, blocks, spec, top_n=spec.pool, threshold=-np.inf)
    best = pool_best(side, subset, vectors, queries, top, extra, spec, top_n=spec.pool)
    scales = text_scales(best)
    # A query whose eligible candidates share no term with it is ordered by the structured
    # part alone (or has no candidate): no bound from the text.
    textless = everyone[scales == 0]
    everyone = everyone[scales > 0]
    context = _Context(
        side, subset, blocks, vectors, queries, rows, extra, base, slack, best, scales, spec
    )

    results = []
    if textless.shape[0]:
        results.append(rank_in_full(side, subset, vectors, queries, rows, textless, spec))
    if everyone.shape[0] == 0:
        return RankedRows.concat(results)
    done, pending, kth = _pooled(
        context, everyone, top_n=spec.pool, threshold=-np.inf, top=top[everyone]
    )
    results.append(done)
    # Queries whose pool could not prove its top-k (ties, or many near-equal candidates): take
    # every candidate whose bound reaches the k-th best found, first up to a wider pool for all
    # of them at once, then without a cap one by one. Only queries with fewer than k passing
    # candidates in the pool are recomputed over every candidate.
    can_reach = np.isfinite(kth) & (kth - 2 * slack >= base)
    rows_left = pending[can_reach]
    # The cut in product units (cosine + extra) per query: the smallest t where
    # reach(t) = (kth − 2·slack − base) / w.
    cuts = _product_cut(
        np.asarray((kth[can_reach] - 2 * slack - base) / weight, dtype=np.float64),
        best[rows_left].astype(np.float64),
    )
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
        results.append(rank_in_full(side, subset, vectors, queries, rows, rest, spec))
    return RankedRows.concat(results)


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


def _reach(products: Float64Array, best: Float64Array) -> Float64Array:
    """The most (final − base) / w a candidate with cosine + extra ≤ `products` can get when
    eligible: its cosine is at most the query's best eligible one, where scale·cosine = 1,
    and past that only the extra term grows (w·scale·cosine + w·extra, scale = 1 / best)."""
    return np.asarray(np.minimum(products / best, 1.0) + np.maximum(products - best, 0.0))


def _product_cut(reach: Float64Array, best: Float64Array) -> Float64Array:
    """The product value (cosine + extra) whose `_reach` is `reach`: its inverse."""
    return np.asarray(np.where(reach <= 1.0, reach * best, best + reach - 1.0))


def _pooled(
    context: _Context,
    local: IntpArray,
    *,
    top_n: int,
    threshold: float,
    top: sp.csr_matrix | None = None,
) -> tuple[RankedRows, IntpArray, FloatArray]:
    """Rank the unit's rows `local` from their `top_n` best candidates by cosine + extra
    (above `threshold`; `top` when already computed): the rows proven exact, the rows not
    proven, and those rows' k-th best."""
    side, subset, spec = context.side, context.subset, context.spec
    base, slack, extra = context.base, context.slack, context.extra
    vectors = context.vectors[local]
    queries = context.queries.take(local)
    best, scales = context.best[local], context.scales[local]
    # Each row's text weight: w · its text scale.
    weight = (spec.weights.text * scales.astype(np.float64))[:, None]
    n_rows = local.shape[0]
    if top is None:
        top = bounded_top(vectors, context.blocks, spec, top_n=top_n, threshold=threshold)
    counts = np.diff(top.indptr)
    width = max(int(counts.max()), 1)
    pair_rows = np.repeat(np.arange(n_rows), counts).astype(np.intp)
    slot = np.arange(top.indices.shape[0]) - top.indptr[pair_rows]

    # Per row, candidates by bound, best first (padded: rows × width).
    raw = np.full((n_rows, width), -np.inf, dtype=np.float32)
    position = np.zeros((n_rows, width), dtype=np.intp)
    raw[pair_rows, slot] = top.data
    position[pair_rows, slot] = top.indices
    present = np.isfinite(raw)
    # Cosines recovered from the product: (cosine + extra) − extra, exact where extra is 0.
    text = np.zeros((n_rows, width), dtype=np.float32)
    offset = extra[position]
    text[present] = np.maximum(raw[present] - offset[present], np.float32(0.0))
    # Each candidate's bound w·scale·cosine + w·extra + base, with room for the rounding of
    # the recovered cosine (the sum's last step, half a float32 spacing each way).
    upper = np.where(
        present,
        weight * (text.astype(np.float64) + np.spacing(np.abs(raw)))
        + spec.weights.text * offset.astype(np.float64)
        + base,
        -np.inf,
    )
    by_bound = np.argsort(-upper, axis=1, kind="stable")
    raw = np.take_along_axis(raw, by_bound, axis=1)
    position = np.take_along_axis(position, by_bound, axis=1)
    text = np.take_along_axis(text, by_bound, axis=1)
    upper = np.take_along_axis(upper, by_bound, axis=1)
    present = np.isfinite(raw)

    # Score the best by bound first, then whatever can still reach the k-th best of those.
    scores = np.full((n_rows, width), -np.inf, dtype=np.float32)
    parts = np.zeros((4, n_rows, width), dtype=np.float32)
    first_pass = present & (np.arange(width) < spec.k + spec.k // 2 + 2)
    score_cells(side, subset, queries, scales, first_pass, position, text, scores, parts, spec)
    floor = kth_best(scores, spec.k)
    second_pass = present & ~first_pass & (upper + slack >= floor[:, None])
    score_cells(side, subset, queries, scales, second_pass, position, text, scores, parts, spec)
    scored = first_pass | second_pass

    ids = np.where(present, subset.ids[position], np.iinfo(np.int64).max)
    chosen = np.lexsort((ids, -scores), axis=-1)[:, : spec.k + 1]
    # Two recovered cosines can each be half a float32 spacing of their product off.
    largest = np.max(np.where(present, np.abs(raw), 0.0), axis=1).astype(np.float32)
    rounding = 2.0 * weight[:, 0] * np.spacing(largest).astype(np.float64)
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
        rounding,
        spec,
    )[:, : spec.k]
    kth = kth_best(scores, spec.k)

    # The largest bound of a candidate left out: from the pool's smallest product when it was
    # cut at top_n, from the threshold, and `base` for candidates the product never touched
    # (cosine 0, no extra).
    truncated = counts >= min(top_n, subset.rows.shape[0])
    smallest = np.asarray(
        row_reduce(np.minimum, np.asarray(top.data, dtype=np.float64), top.indptr, np.inf)
    )
    products = np.full(n_rows, max(threshold, 0.0))
    products = np.where(truncated & (counts > 0), np.maximum(products, smallest), products)
    products += np.spacing(products.astype(np.float32)).astype(np.float64)
    cut = spec.weights.text * _reach(products, best.astype(np.float64)) + base
    outside = counts < subset.rows.shape[0]
    exact_rows = ~outside | (kth.astype(np.float64) > cut + slack)

    chosen_rows, chosen_ranks = np.nonzero(
        np.isfinite(np.take_along_axis(scores, chosen, axis=1)) & exact_rows[:, None]
    )
    cells = chosen[chosen_rows, chosen_ranks]
    done = RankedRows(
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
    rounding: Float64Array,
    spec: RankSpec,
) -> IntpArray:
    """Where two of a row's top-(k+1) scores are within rounding of each other, re-score every
    candidate of the row that can still compete for the top-k with cosines computed exactly
    as online (where the recovered one is not already exact), and re-order the row
    (`rounding`: how far apart each row's recovered cosines may put two equal scores).
    Returns the new `best`."""
    ranked = np.take_along_axis(scores, best, axis=1)
    tie = (TIE_SHARE * spec.slack() + rounding)[:, None]
    with np.errstate(invalid="ignore"):  # -inf − -inf past the last finite score
        close = np.abs(np.diff(ranked, axis=1)) <= tie
    flagged: BoolArray = np.asarray((close & np.isfinite(ranked[:, 1:])).any(axis=1))
    if not flagged.any():
        return best
    # In a flagged row every candidate that can still compete for the top-k is re-scored: a tie
    # can extend past the (k+1)-th.
    finite = np.where(np.isfinite(ranked), ranked, np.inf)
    floor = finite.min(axis=1, keepdims=True) - tie
    near = flagged[:, None] & np.isfinite(scores) & (scores >= floor)
    near &= extra[position] > 0  # where extra is 0 the cosine is the online one already
    rows, columns = np.nonzero(near)
    if rows.shape[0] == 0:
        return best
    exact = exact_text(vectors, subset, rows.astype(np.intp), position[rows, columns])
    rescored = score_aligned(
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
