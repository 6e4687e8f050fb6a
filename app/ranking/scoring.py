"""How a (job, graduate) pair is scored, and the exact pruned top-k of one query: the one home
of the blend, the calibrated text part, the structured bound, the pruning and the shared terms
that explain a cosine, called by the live ranker, batch re-ranking, shortlists and evaluation
alike.

final = w_text · t + w_major · major + w_education · education + w_city · city + w_salary · salary

where t = cosine / (the best cosine among the query's eligible candidates): the text part is
measured against the best match this query can be offered, so 1.0 means "as close as the
closest eligible candidate" whatever the corpus, the field weights or the query's length, and
the blend weights mean the same everywhere (README, "The blend").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

import numpy as np

from app.ranking.arrays import BoolArray, IntpArray
from app.ranking.arrays import Float32Array as FloatArray
from app.ranking.components import Components, score_components, sub_score_ranges
from app.ranking.features import MISSING, Direction, GraduateFeatures, JobFeatures
from app.ranking.filters import FilterSpec, pair_mask
from app.ranking.index import SparseIndex, topk_rows
from app.ranking.weights import MajorFitLevels, StructuredFitWeights

# Candidates by text scored in full first, to learn a k-th best score that prunes the rest.
POOL = 64
# How much further down the text order to look when the filters reject most of the best.
POOL_GROWTH = 16
# Scores sampled to place the cut-off of the best rows by text.
SAMPLE = 4096
# Room for float32 rounding in a bound, times (1 + Σ|weight|·|level|): a cosine sums up to a
# few hundred float32 products, the final score five more.
BOUND_SLACK = 1e-4


class PairScores(NamedTuple):
    """Final scores of some pairs (filtered pairs at -inf), their calibrated text part and
    the structured sub-scores."""

    scores: FloatArray
    text: FloatArray
    parts: Components


class TopK(NamedTuple):
    """One query's top-k: candidate rows best first, their scores, calibrated text parts,
    sub-scores, the query's text scale and how many pairs were scored."""

    rows: IntpArray
    scores: FloatArray
    text: FloatArray
    parts: Components
    scale: np.float32
    scored: int


def text_scale(best_cosine: float) -> np.float32:
    """1 / the best eligible cosine (float32); 0 when no eligible candidate shares a term, so
    the text part is then 0 for all and the structured part alone orders them."""
    if not best_cosine > 0:
        return np.float32(0.0)
    return np.float32(1.0) / np.float32(best_cosine)


def calibrated_text(cosine: FloatArray, scale: Any) -> FloatArray:
    """The text part: cosine × scale in float32, elementwise (so every path gets the same
    bits for the same pair)."""
    return np.asarray(
        np.asarray(cosine, dtype=np.float32) * np.asarray(scale, dtype=np.float32),
        dtype=np.float32,
    )


def combine(text: FloatArray, parts: Components, weights: StructuredFitWeights) -> FloatArray:
    """The final score from the calibrated text part and the sub-scores."""
    f32 = np.float32
    total = f32(weights.text) * text
    total = total + f32(weights.major) * parts.major
    total = total + f32(weights.education) * parts.education
    total = total + f32(weights.city) * parts.city
    total = total + f32(weights.salary) * parts.salary
    return np.asarray(total, dtype=f32)


def pair_scores(
    job: JobFeatures,
    graduate: GraduateFeatures,
    cosine: FloatArray,
    scale: Any,
    *,
    related: BoolArray,
    weights: StructuredFitWeights,
    levels: MajorFitLevels,
    filters: FilterSpec,
    allowed: BoolArray | None = None,
) -> PairScores:
    """Scores of broadcast (job, graduate) pairs with their cosines and the query's text
    scale (one, or one per pair); pairs failing the pair filters (or not `allowed`) at -inf.

    Every step is elementwise, so a pair's score does not depend on which other pairs are
    scored with it: the pruned and exhaustive top-k, one query and a batch agree to the bit.
    """
    parts = score_components(job, graduate, related, levels)
    text = calibrated_text(cosine, scale)
    scores = combine(text, parts, weights)
    passed = pair_mask(job, graduate, filters)
    if allowed is not None:
        passed = passed & allowed
    scores[~passed] = -np.inf
    return PairScores(scores, text, parts)


def bound_slack(weights: StructuredFitWeights, levels: MajorFitLevels) -> float:
    """The float rounding allowance of bounds. A cosine's rounding error is relative to its
    size, which is at most the best eligible one, so after the text scale it is relative to
    1: the allowance does not depend on the query."""
    top_level = max(max(abs(float(v)) for v in dataclasses.astuple(levels)), 1.0)
    structured = top_level * (
        abs(weights.major) + abs(weights.education) + abs(weights.city) + abs(weights.salary)
    )
    return BOUND_SLACK * (1.0 + abs(weights.text) + structured)


def structured_reach(
    ranges: tuple[tuple[float, float], ...], weights: StructuredFitWeights
) -> float:
    """The most the structured part (final − w_text·t) can add for a query whose (major,
    education, city, salary) sub-scores lie within `ranges` (components.sub_score_ranges)."""
    components = (weights.major, weights.education, weights.city, weights.salary)
    return float(
        sum(max(w * low, w * top) for w, (low, top) in zip(components, ranges, strict=True))
    )


Score = Callable[[IntpArray, np.float32], PairScores]
Eligible = Callable[[IntpArray], BoolArray]


def exact_top(
    text: FloatArray,
    ids: np.ndarray[Any, Any],
    k: int,
    *,
    allowed: BoolArray,
    allowed_rows: IntpArray,
    eligible: Eligible,
    score: Score,
    reach: float,
    slack: float,
    text_weight: float,
    boosted: IntpArray | None = None,
    reach_rest: float | None = None,
) -> TopK:
    """The exact top-k of one query from its cosine with every candidate row, scoring in full
    only the candidates that can still reach it.

    `allowed` marks the rows passing the candidate-side constraints, `eligible(rows)` the pair
    filters of some rows, `score(rows, scale)` scores rows (pair_scores), `reach` bounds the
    structured part, `slack` its rounding (bound_slack). The best rows by text that pass every
    filter give the text scale (their best cosine) and a k-th best score `floor` the true one cannot
    be below; only rows with w·scale·cosine + reach ≥ floor can be in the top-k (or tie with
    it). Those are scored like every row of exhaustive_top and cut by topk_rows, so ids and
    scores are the same.

    `boosted` (optional) lists the only rows whose structured part can exceed `reach_rest`
    (those whose major relates to the query's): the others need w·scale·cosine + reach_rest ≥
    floor, a much narrower band when the major weighs a lot, and the boosted rows' best by
    text join the first pool so the floor counts their major fit.
    """
    if k <= 0 or text_weight <= 0:
        return exhaustive_top(
            text, ids, k, allowed_rows=allowed_rows, eligible=eligible, score=score
        )
    wanted = max(POOL, 4 * k)
    pool = best_eligible_rows(
        text, wanted, k, allowed=allowed, allowed_rows=allowed_rows, eligible=eligible
    )
    if pool.shape[0] == 0:
        return _empty_top()
    scale = text_scale(float(text[pool].max()))
    if scale == 0:
        return exhaustive_top(
            text, ids, k, allowed_rows=allowed_rows, eligible=eligible, score=score
        )
    scored = 0
    floor = -np.inf
    if pool.shape[0] > wanted:
        pool = pool[np.argpartition(text[pool], pool.shape[0] - wanted)[-wanted:]]
    if boosted is not None and boosted.shape[0]:
        lifted = boosted[allowed[boosted]]
        lifted = lifted[eligible(lifted)]
        if lifted.shape[0] > wanted:
            lifted = lifted[np.argpartition(text[lifted], lifted.shape[0] - wanted)[-wanted:]]
        pool = np.union1d(pool, lifted)
    if pool.shape[0] >= k:
        first = score(pool, scale).scores
        scored += pool.shape[0]
        finite = first[np.isfinite(first)]
        if finite.shape[0] >= k:
            floor = float(np.partition(finite, finite.shape[0] - k)[finite.shape[0] - k])
    if floor == -np.inf:
        rows = allowed_rows
    else:
        weight = text_weight * float(scale)
        if boosted is None or reach_rest is None:
            rows = np.flatnonzero(text >= _text_cut(floor - reach - slack, weight))
        else:
            rest = np.flatnonzero(text >= _text_cut(floor - reach_rest - slack, weight))
            near = boosted[text[boosted] >= _text_cut(floor - reach - slack, weight)]
            rows = np.union1d(rest, near)
        rows = rows[allowed[rows]]
    rows = rows[eligible(rows)]
    return _best_of(rows, ids, k, scale=scale, score=score, scored=scored + rows.shape[0])


def _text_cut(lowest: float, weight: float) -> np.float32:
    """The cosine a row needs for w·scale·cosine ≥ lowest, rounded down in float32 (a few more
    rows rather than one too few)."""
    return np.float32(np.nextafter(np.float32(lowest / weight), np.float32(-np.inf)))


def exhaustive_top(
    text: FloatArray,
    ids: np.ndarray[Any, Any],
    k: int,
    *,
    allowed_rows: IntpArray,
    eligible: Eligible,
    score: Score,
) -> TopK:
    """The top-k of one query from the scores of every eligible candidate."""
    rows = allowed_rows[eligible(allowed_rows)]
    if k <= 0 or rows.shape[0] == 0:
        return _empty_top()
    scale = text_scale(float(text[rows].max()))
    return _best_of(rows, ids, k, scale=scale, score=score, scored=rows.shape[0])


def _best_of(
    rows: IntpArray,
    ids: np.ndarray[Any, Any],
    k: int,
    *,
    scale: np.float32,
    score: Score,
    scored: int,
) -> TopK:
    """The k best of the given rows, scored exactly."""
    result = score(rows, scale)
    best = topk_rows(result.scores, ids[rows], k)
    return TopK(
        rows[best], result.scores[best], result.text[best], result.parts.take(best), scale, scored
    )


def best_eligible_rows(
    text: FloatArray,
    wanted: int,
    k: int,
    *,
    allowed: BoolArray,
    allowed_rows: IntpArray,
    eligible: Eligible,
) -> IntpArray:
    """Rows passing every filter that include the best eligible one by text and, when at
    least k pass, at least k of the best (looking POOL_GROWTH times further down the text
    order while the filters reject most of them); empty only when no row is eligible."""
    size = wanted
    n = text.shape[0]
    while True:
        if size < n // 4:
            pool = best_rows(text, size)
            pool = pool[allowed[pool]]
        else:
            pool = allowed_rows
        pool = pool[eligible(pool)]
        if pool.shape[0] >= k or size >= n // 4:
            return pool
        size *= POOL_GROWTH


def best_rows(scores: FloatArray, size: int) -> IntpArray:
    """Rows of roughly the `size` best scores (a few more or fewer), every row above the
    cut-off included."""
    # The cut-off is read off a strided sample: one comparison pass instead of argpartition
    # over every row, and callers only need good candidates, not an exact set.
    stride = max(1, scores.shape[0] // SAMPLE)
    sample = scores[::stride]
    above = min(sample.shape[0] - 1, size // stride)
    cut = np.partition(sample, sample.shape[0] - 1 - above)[sample.shape[0] - 1 - above]
    rows = np.flatnonzero(scores >= cut) if cut > 0 else np.flatnonzero(scores > 0)
    if rows.shape[0] > 4 * size:
        # Many equal scores at the cut: keep the size best of them.
        rows = rows[np.argpartition(scores[rows], rows.shape[0] - size)[-size:]]
    return rows


def _empty_top() -> TopK:
    empty = np.empty(0, dtype=np.float32)
    return TopK(
        np.empty(0, dtype=np.intp),
        empty,
        empty,
        Components(empty, empty, empty, empty),
        np.float32(0.0),
        0,
    )


def major_boost(
    index: SparseIndex[Any],
    direction: Direction,
    query: Any,
    related: BoolArray,
    weights: StructuredFitWeights,
    levels: MajorFitLevels,
) -> dict[str, Any]:
    """The candidate rows whose major part can beat the unknown and unrelated levels for
    this query (a listed major, its class or a related class), and the reach of the rest;
    nothing when the major part cannot vary (exact_top's `boosted` and `reach_rest`)."""
    ranges = sub_score_ranges(query, levels)
    if weights.major == 0 or ranges[0][0] == ranges[0][1]:
        return {}
    if direction == "jobs":
        majors, classes = query.major[:1], query.major_class[:1]
    else:
        majors, classes = query.majors[0], query.classes[0]
    majors, classes = majors[majors != MISSING], classes[classes != MISSING]
    if classes.shape[0]:
        neighbours = np.flatnonzero(related[classes, :-1].any(axis=0))
        classes = np.union1d(classes, neighbours)
    if direction == "jobs":
        major_column, class_column = "majors", "classes"
    else:
        major_column, class_column = "major", "major_class"
    boosted = np.union1d(
        rows_with(
            index.memo(("postings", major_column), partial(postings, index, major_column)),
            majors,
        ),
        rows_with(
            index.memo(("postings", class_column), partial(postings, index, class_column)),
            classes,
        ),
    )
    rest = (min(levels.unknown, levels.unrelated), max(levels.unknown, levels.unrelated))
    reach_rest = structured_reach((rest, *ranges[1:]), weights)
    return {"boosted": boosted.astype(np.intp), "reach_rest": reach_rest}


def postings(
    index: SparseIndex[Any], column: str
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The index's rows by the codes of one feature column (majors or classes): the codes
    sorted, and the row of each."""
    codes = np.asarray(getattr(index.features, column))
    # The width from the shape, not -1: an index of no rows cannot infer it.
    flat = codes.reshape(codes.shape[0], int(np.prod(codes.shape[1:], dtype=np.intp)))
    rows = np.repeat(np.arange(codes.shape[0], dtype=np.intp), flat.shape[1])
    values = flat.ravel()
    known = values != MISSING
    order = np.argsort(values[known], kind="stable")
    return values[known][order], rows[known][order]


def rows_with(
    posting: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]], codes: np.ndarray[Any, Any]
) -> np.ndarray[Any, np.dtype[np.intp]]:
    """The rows holding any of `codes`, from postings()."""
    values, rows = posting
    low = np.searchsorted(values, codes, side="left")
    high = np.searchsorted(values, codes, side="right")
    found = [rows[a:b] for a, b in zip(low.tolist(), high.tolist(), strict=True) if b > a]
    return np.unique(np.concatenate(found)) if found else np.empty(0, dtype=np.intp)
