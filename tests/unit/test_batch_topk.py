"""The batch top-k returns, for every query, the online ranker's ids in the online order, with
scores equal to float tolerance: on random data with many ties, both directions, several
weightings and filters, tiny pools (the wider and exhaustive passes) and candidate blocks
merged with zip_sp_matmul_topn."""

from __future__ import annotations

import itertools
import pickle
from typing import Any

import numpy as np
import pytest

from app.batch.bounds import best_cosines, bounded_top, pool_best, with_extra
from app.batch.inputs import candidate_side, query_set, rank_spec
from app.batch.sides import ChunkResult, RankSpec
from app.batch.topk import rank_chunk
from app.ranking import (
    FilterSpec,
    Ranker,
    Tokenizer,
)
from app.ranking.features import Direction
from tests.factories import RANKER_WEIGHTINGS, make_ranker


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer(backend="jieba")


Ranking = dict[int, list[tuple[int, float, tuple[float, ...]]]]


def batch_results(
    ranker: Ranker, direction: Direction, spec: RankSpec, chunk_rows: int, paths: list[int]
) -> Ranking:
    """Every query's batch top-k; `paths` accumulates (widened, fallbacks) counts."""
    side = candidate_side(ranker, direction, spec.filters)
    queries = query_set(ranker, direction, spec.filters)
    out: Ranking = {int(q): [] for q in queries.ids}
    for number in range(queries.chunk_count(chunk_rows)):
        result = rank_chunk(side, queries.chunk(number, chunk_rows), spec)
        paths[0] += result.widened
        paths[1] += result.fallbacks
        _collect(result, out)
    return out


def _collect(result: ChunkResult, out: Ranking) -> None:
    parts = result.parts
    for i in range(len(result)):
        entry = (
            int(result.candidate_ids[i]),
            float(result.scores[i]),
            (
                float(result.text[i]),
                float(parts.major[i]),
                float(parts.education[i]),
                float(parts.city[i]),
                float(parts.salary[i]),
            ),
        )
        assert result.ranks[i] == len(out[int(result.query_ids[i])]) + 1
        out[int(result.query_ids[i])].append(entry)


def online_results(
    ranker: Ranker, direction: Direction, query_ids: list[int], k: int, filters: FilterSpec
) -> Ranking:
    if direction == "jobs":
        ranked = ranker.jobs_for_graduates(query_ids, k, filters=filters, explain=False)
    else:
        ranked = ranker.graduates_for_jobs(query_ids, k, filters=filters, explain=False)
    return {
        query: [
            (
                m.id,
                m.score,
                (m.parts.text, m.parts.major, m.parts.education, m.parts.city, m.parts.salary),
            )
            for m in matches
        ]
        for query, matches in zip(query_ids, ranked, strict=True)
    }


def assert_same(batch: Ranking, online: Ranking) -> None:
    assert batch.keys() == online.keys()
    for query, expected in online.items():
        got = batch[query]
        assert [c for c, _, _ in got] == [c for c, _, _ in expected], f"query {query}"
        for (_, score, parts), (_, want, want_parts) in zip(got, expected, strict=True):
            assert score == pytest.approx(want, abs=1e-6)
            assert parts == pytest.approx(want_parts, abs=1e-6)


FILTERS = [
    FilterSpec(),
    FilterSpec(education=False, city=False, salary=False),
    FilterSpec(city=False, min_education="本科", candidate_city="浙江"),
    FilterSpec(major_required=True),
]


PATHS_SEEN = [0, 0]


@pytest.mark.slow
@pytest.mark.parametrize("direction", ["jobs", "graduates"])
@pytest.mark.parametrize("weighting", range(len(RANKER_WEIGHTINGS)))
def test_batch_equals_online(tokenizer: Tokenizer, direction: Direction, weighting: int) -> None:
    ranker = make_ranker(tokenizer, RANKER_WEIGHTINGS[weighting], seed=weighting)
    for number, filters in enumerate(FILTERS):
        # A pool of 5 for a top-5 over ~200 candidates with many copies: the wider passes and
        # the full recomputation run; blocks of 64 candidates are merged by zip_sp_matmul_topn.
        for k, pool, chunk_rows, block_rows in ((10, 20, 37, 1 << 18), (5, 5, 500, 64)):
            spec = rank_spec(ranker, k=k, pool=pool, threads=2, filters=filters)
            spec = RankSpec(**{**_slots(spec), "block_rows": block_rows})
            batch = batch_results(ranker, direction, spec, chunk_rows, PATHS_SEEN)
            online = online_results(ranker, direction, list(batch), k, filters)
            assert_same(batch, online)
            assert any(batch.values()), f"filters {number} left nothing to compare"


@pytest.mark.slow
def test_every_path_was_taken() -> None:
    # Runs after the parametrised test above (file order): both slow paths were exercised.
    widened, fallbacks = PATHS_SEEN
    assert widened > 0 and fallbacks > 0


def _slots(spec: RankSpec) -> dict[str, Any]:
    return {name: getattr(spec, name) for name in spec.__slots__}


def test_queries_are_open_jobs_or_seeking_graduates(tokenizer: Tokenizer) -> None:
    ranker = make_ranker(tokenizer, RANKER_WEIGHTINGS[0], seed=7)
    seeking = {g.id for g in ranker.graduates_.values() if g.status == "seeking"}
    open_jobs = {j.id for j in ranker.jobs_.values() if j.status == "open"}
    assert set(query_set(ranker, "jobs", FilterSpec()).ids.tolist()) == seeking
    assert set(query_set(ranker, "graduates", FilterSpec()).ids.tolist()) == open_jobs
    assert set(candidate_side(ranker, "jobs", FilterSpec()).ids.tolist()) == open_jobs


def test_a_candidate_side_travels_without_its_cache(tokenizer: Tokenizer) -> None:
    ranker = make_ranker(tokenizer, RANKER_WEIGHTINGS[0], seed=8)
    side = candidate_side(ranker, "jobs", FilterSpec())
    queries = query_set(ranker, "jobs", FilterSpec())
    spec = rank_spec(ranker, k=5, pool=10, threads=2, filters=FilterSpec())
    before = rank_chunk(side, queries.chunk(0, 100), spec)
    copy = pickle.loads(pickle.dumps(side))
    assert copy._cache == {} and copy._subsets == {}
    after = rank_chunk(copy, queries.chunk(0, 100), spec)
    assert np.array_equal(before.candidate_ids, after.candidate_ids)
    assert np.array_equal(before.scores, after.scores)


def test_the_query_order_is_fixed_by_the_data(tokenizer: Tokenizer) -> None:
    first = query_set(make_ranker(tokenizer, RANKER_WEIGHTINGS[0], seed=9), "jobs", FilterSpec())
    second = query_set(make_ranker(tokenizer, RANKER_WEIGHTINGS[0], seed=9), "jobs", FilterSpec())
    assert np.array_equal(first.ids, second.ids)


@pytest.mark.parametrize("direction", ["jobs", "graduates"])
def test_the_pool_by_cosine_plus_extra_finds_the_best_eligible_cosine(
    tokenizer: Tokenizer, direction: Direction
) -> None:
    # The single product's pool (cosine + extra, weight 1 on extra) gives each query's best
    # eligible cosine to the bit, as the product by cosine alone does: where the pool settles
    # it and where it falls back.
    ranker = make_ranker(tokenizer, RANKER_WEIGHTINGS[0], seed=11)
    filters = FilterSpec()
    side = candidate_side(ranker, direction, filters)
    queries = query_set(ranker, direction, filters)
    pool = 12
    spec = rank_spec(ranker, k=3, pool=pool, threads=2, filters=filters)
    subset = side.subset(np.ones(len(side), dtype=bool), 64)
    rng = np.random.default_rng(3)
    # Extra terms on a fifth of the candidates (as BASE_QUANTILE leaves), up to a third of
    # the largest cosine.
    extra = np.where(rng.random(len(side)) < 0.2, rng.random(len(side)) / 3, 0.0)
    extra = extra.astype(np.float32)
    vectors = queries.vectors
    top = bounded_top(vectors, with_extra(subset, extra), spec, top_n=pool, threshold=-np.inf)
    found = pool_best(side, subset, vectors, queries.features, top, extra, spec, top_n=pool)
    expected = best_cosines(side, subset, vectors, queries.features, spec)
    assert np.array_equal(found, expected)
    # Both cases occur: pools that were cut short and still hold a best above their smallest
    # product, and pools that could not prove it.
    smallest = np.array(
        [top.data[a:b].min() if b > a else np.inf for a, b in itertools.pairwise(top.indptr)]
    )
    cut = np.diff(top.indptr) >= pool
    assert (cut & (expected > smallest + 1e-3)).any()
    assert (cut & (expected < smallest)).any()
