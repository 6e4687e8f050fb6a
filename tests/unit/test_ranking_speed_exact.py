"""The pruned top-k returns exactly the ids and scores of scoring every candidate."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from app.ranking import (
    FilterSpec,
    GraduateDocument,
    JobDocument,
    MajorFitLevels,
    Match,
    Ranker,
    RankerParams,
    SparseIndex,
    StructuredFitWeights,
    Tokenizer,
    topk_rows,
)
from app.ranking.components import places_match
from app.ranking.features import Direction
from app.ranking.scoring import best_rows
from tests.factories import LEVELS, pick, words

CITIES = ["北京", "深圳", "广州", "宁波", "杭州", "浙江", "广东", "全国", "", "火星"]
MAJORS = [
    "电气工程及其自动化",
    "自动化",
    "会计学",
    "计算机科学与技术",
    "机械设计制造及其自动化",
    "",
]


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer(backend="jieba")


def random_job(rng: np.random.Generator, job_id: int) -> JobDocument:
    low = pick(rng, [None, 3000, 6000])
    return JobDocument(
        id=job_id,
        title=words(rng, 0, 3),
        city=pick(rng, CITIES) or None,
        education=pick(rng, LEVELS),
        majors=tuple(m for m in {pick(rng, MAJORS), pick(rng, MAJORS)} if m),
        salary_min=low,
        salary_max=pick(rng, [None, 0, 5000, 9000]) if low is None else low + 2000,
        status=pick(rng, ["open", "open", "open", "closed"]),
    )


def random_graduate(rng: np.random.Generator, graduate_id: int) -> GraduateDocument:
    return GraduateDocument(
        id=graduate_id,
        skills=tuple(words(rng, 0, 2).split()),
        major=pick(rng, MAJORS) or None,
        education=pick(rng, LEVELS),
        graduation_year=pick(rng, [None, 2024, 2025, 2026]),
        city=pick(rng, CITIES) or None,
        desired_cities=tuple(c for c in {pick(rng, CITIES), pick(rng, CITIES)} if c),
        expected_salary=pick(rng, [None, 0, 4000, 7000, 12000]),
        status=pick(rng, ["seeking", "seeking", "placed", "withdrawn"]),
    )


def random_spec(rng: np.random.Generator) -> FilterSpec:
    return FilterSpec(
        status=bool(rng.random() < 0.7),
        education=bool(rng.random() < 0.5),
        city=bool(rng.random() < 0.5),
        salary=bool(rng.random() < 0.5),
        graduation_years=pick(rng, [None, (2025, 2026)]),
        job_statuses=pick(rng, [("open",), ("open", "closed")]),
        candidate_city=pick(rng, [None, None, "宁波", "广东"]),
        min_education=pick(rng, [None, None, "本科"]),
        max_expected_salary=pick(rng, [None, 8000]),
        min_salary=pick(rng, [None, 6000]),
    )


def brute_force(
    ranker: Ranker, direction: Direction, query: int, k: int, spec: FilterSpec
) -> list[tuple[int, float]]:
    """Every candidate scored, cut by topk_rows: the ranking before pruning existed."""
    queries = ranker.graduates_index_ if direction == "jobs" else ranker.jobs_index_
    candidates = ranker._index(direction)
    row = queries.row_of(query)
    assert row is not None
    text = candidates.cosine(queries.vector(row))[0]
    features = queries.features.take(slice(row, row + 1))
    scores = Ranker.score_rows(ranker, direction, text, features, spec).scores
    top = topk_rows(scores, candidates.ids, k)
    return [(int(candidates.ids[r]), float(scores[r])) for r in top]


def pairs(matches: list[Match]) -> list[tuple[int, float]]:
    return [(m.id, m.score) for m in matches]


# Text-led weights, where the bound prunes; the others check that the bound stays safe when the
# structured part dominates, is negative or the text has no weight at all.
PRUNABLE = (0, 4)
PARAMS = [
    RankerParams(max_df=1.0),
    RankerParams(max_df=1.0, weights=StructuredFitWeights(major=1.0, city=0.5, salary=0.3)),
    RankerParams(max_df=1.0, weights=StructuredFitWeights(text=0.2, education=-0.4, city=-0.1)),
    RankerParams(max_df=1.0, weights=StructuredFitWeights(text=0.0)),
    RankerParams(max_df=1.0, major_levels=MajorFitLevels(same_major=3.0, unrelated=-1.0)),
]


@pytest.mark.parametrize("seed", range(len(PARAMS)))
def test_pruned_top_k_equals_brute_force(tokenizer: Tokenizer, seed: int) -> None:
    params = PARAMS[seed]
    rng = np.random.default_rng(seed)
    # Repeated titles make equal scores, so ties must fall to the smaller id in both paths.
    job_ids = rng.permutation(5000)[:420]
    jobs = [random_job(rng, int(i)) for i in job_ids[:300]]
    jobs += [dataclasses.replace(jobs[int(rng.integers(300))], id=int(i)) for i in job_ids[300:]]
    graduates = [random_graduate(rng, 10_000 + i) for i in range(160)]
    ranker = Ranker(params, tokenizer=tokenizer).fit(jobs, graduates)
    # Writes after the fit live in the delta segment until compaction.
    ranker.upsert_jobs([random_job(rng, 6000 + i) for i in range(30)])
    ranker.upsert_graduates([random_graduate(rng, 20_000 + i) for i in range(20)])
    ranker.remove_jobs([int(i) for i in job_ids[:15]])
    ranker.remove_graduates([10_000 + i for i in range(5)])

    scored = {"rows": 0, "of": 0}
    score_rows = ranker.score_rows

    def counted(
        direction: Direction,
        text: Any,
        query: Any,
        spec: FilterSpec,
        rows: Any = None,
        *,
        scale: Any = None,
    ) -> Any:
        candidates = ranker._index(direction).ids.shape[0]
        scored["rows"] += candidates if rows is None else rows.shape[0]
        return score_rows(direction, text, query, spec, rows, scale=scale)

    ranker.score_rows = counted  # type: ignore[method-assign,assignment]
    graduate_ids = [g for g in ranker.graduates_ if g % 3 == 0]
    job_query_ids = [j for j in ranker.jobs_ if j % 9 == 0]
    for spec in [FilterSpec(), *(random_spec(rng) for _ in range(5))]:
        k = int(pick(rng, [1, 3, 10, 50]))
        batch = ranker.jobs_for_graduates(graduate_ids, k, filters=spec)
        for graduate_id, matches in zip(graduate_ids, batch, strict=True):
            assert pairs(matches) == brute_force(ranker, "jobs", graduate_id, k, spec)
            scored["of"] += len(ranker.jobs_index_.ids)
        batch = ranker.graduates_for_jobs(job_query_ids, k, filters=spec)
        for job_id, matches in zip(job_query_ids, batch, strict=True):
            assert pairs(matches) == brute_force(ranker, "graduates", job_id, k, spec)
            scored["of"] += len(ranker.graduates_index_.ids)
    if seed in PRUNABLE:
        # The pruned path is the one being checked: it scores a fraction of the candidates.
        assert scored["rows"] < scored["of"] / 2


def test_live_rows_kept_across_writes_equal_a_fresh_test(tokenizer: Tokenizer) -> None:
    """Writes between queries: the kept candidate sets (only added rows tested, killed rows
    dropped) equal testing every row again, and so do the rankings."""
    rng = np.random.default_rng(11)
    jobs = [random_job(rng, i) for i in range(200)]
    graduates = [random_graduate(rng, 10_000 + i) for i in range(80)]
    ranker = Ranker(RankerParams(max_df=1.0), tokenizer=tokenizer).fit(jobs, graduates)
    specs = [FilterSpec(), *(random_spec(rng) for _ in range(4))]
    next_job, next_graduate = 1000, 20_000
    for round_number in range(8):
        for spec in specs:
            for direction in ("jobs", "graduates"):
                index = ranker._index(direction)
                mask, rows = ranker._allowed(direction, spec)
                fresh = index.alive & ranker.encoder_.candidate_mask(
                    direction, index.features, spec
                )
                assert mask.tolist() == fresh.tolist()
                assert rows.tolist() == np.flatnonzero(fresh).tolist()
            graduate = int(pick(rng, sorted(ranker.graduates_)))
            got = ranker.jobs_for_graduates([graduate], 10, filters=spec)[0]
            assert pairs(got) == brute_force(ranker, "jobs", graduate, 10, spec)
        live_jobs = sorted(ranker.jobs_)
        ranker.upsert_jobs(
            [random_job(rng, next_job + i) for i in range(5)]  # new
            + [random_job(rng, int(i)) for i in rng.choice(live_jobs, 3, replace=False)]
        )
        ranker.remove_jobs([int(i) for i in rng.choice(live_jobs, 2, replace=False)])
        ranker.upsert_graduates([random_graduate(rng, next_graduate + i) for i in range(3)])
        ranker.remove_graduates([int(pick(rng, sorted(ranker.graduates_)))])
        next_job, next_graduate = next_job + 5, next_graduate + 3
        if round_number == 4:
            ranker.jobs_index_.compact()  # rows numbered anew: the kept sets start again


def test_pruned_single_query_equals_exhaustive_with_parts(tokenizer: Tokenizer) -> None:
    rng = np.random.default_rng(5)
    jobs = [random_job(rng, i) for i in range(400)]
    graduates = [random_graduate(rng, 1000 + i) for i in range(40)]
    ranker = Ranker(RankerParams(max_df=1.0), tokenizer=tokenizer).fit(jobs, graduates)
    fresh = random_graduate(rng, -1)
    for query in [*graduates[:20], fresh, GraduateDocument(id=-2)]:
        for spec in (FilterSpec(), random_spec(rng)):
            fast = ranker.jobs_for_graduate(query, 10, filters=spec)
            slow = ranker.jobs_for_graduate(query, 10, filters=spec, exhaustive=True)
            assert fast == slow
    job = jobs[0]
    assert ranker.graduates_for_job(job, 5) == ranker.graduates_for_job(job, 5, exhaustive=True)


def test_one_graduate_place_lookup_equals_slot_comparison() -> None:
    rng = np.random.default_rng(3)
    city = rng.integers(-1, 40, 500).astype(np.int32)
    province = rng.integers(-1, 40, 500).astype(np.int32)
    for _ in range(50):
        desired = rng.integers(-1, 45, (1, 8)).astype(np.int32)
        desired_province = rng.integers(-1, 45, (1, 8)).astype(np.int32)
        lookup = places_match(city, province, desired, desired_province)
        # A column of cities takes the slot-by-slot comparison.
        slots = places_match(city[:, None], province[:, None], desired, desired_province)
        assert lookup.tolist() == slots[:, 0].tolist()


def test_cosine_is_the_sparse_product_to_the_bit() -> None:
    rng = np.random.default_rng(4)

    def random_rows(n: int) -> sp.csr_matrix:
        dense = rng.random((n, 60), dtype=np.float32) * (rng.random((n, 60)) < 0.15)
        return sp.csr_matrix(dense, dtype=np.float32)

    index: SparseIndex[Any] = SparseIndex(n_features=60, empty_features=_NoFeatures())
    main, delta = random_rows(300), random_rows(40)
    index.upsert(list(range(300)), main, _NoFeatures())
    index.compact()
    # Writes of several sizes, so the recent segments merge (7+1, then 8+1+1 …).
    start = 0
    for size in (7, 1, 1, 5, 3, 1, 2, 20):
        index.upsert(
            list(range(300 + start, 300 + start + size)), delta[start : start + size], _NoFeatures()
        )
        start += size
    queries = random_rows(25)
    everything = sp.vstack([main, delta], format="csr")
    expected = (queries @ everything.T).toarray()
    assert np.array_equal(index.cosine(queries), expected)
    for row in range(340):
        assert (index.vector(row) != everything[row]).nnz == 0


class _NoFeatures:
    def take(self, rows: Any) -> _NoFeatures:
        return self

    def with_capacity(self, used: int, capacity: int) -> _NoFeatures:
        return self

    def write(self, start: int, part: _NoFeatures) -> None:
        pass


def test_best_rows_returns_the_best_by_score() -> None:
    rng = np.random.default_rng(6)
    scores = (rng.random(50_000) * (rng.random(50_000) < 0.6)).astype(np.float32)
    rows = best_rows(scores, 200)
    assert 50 <= rows.shape[0] <= 800
    assert scores[rows].min() >= np.sort(scores)[-rows.shape[0] * 2]
    assert best_rows(np.zeros(1000, dtype=np.float32), 10).tolist() == []
