"""Evaluation metrics on inputs small enough to check by hand, the held-out split, and the
baselines held to the ranker's filters."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from app.evaluation.suite import (
    EVALUATION_FILTERS,
    baseline_runs,
    eligible_candidates,
    evaluation_params,
    graduate_text,
    job_text,
    plain_tokenizer,
    ratios_above_chance,
    ratios_to_best,
)
from app.ranking import FilterSpec, GraduateDocument, JobDocument, Ranker
from app.ranking.evaluation import (
    evaluate_chance,
    evaluate_run,
    expected_at_random,
    expected_precision,
    expected_reciprocal_rank,
    is_held_out,
    ndcg_at,
    precision_at,
    recall_at,
    reciprocal_rank,
    split_held_out,
)


def test_ndcg_by_hand() -> None:
    grades = {"a": 0, "b": 2, "c": 1}
    # DCG = 0/log2(2) + 2/log2(3) + 1/log2(4); ideal order b, c: 2/log2(2) + 1/log2(3).
    expected = (2 / math.log2(3) + 1 / 2) / (2 + 1 / math.log2(3))
    assert ndcg_at(["a", "b", "c"], grades, 3) == pytest.approx(expected)
    assert ndcg_at(["b", "c", "a"], grades, 3) == pytest.approx(1.0)
    assert ndcg_at(["a"], {"a": 0}, 10) == 0.0


def test_recall_precision_and_reciprocal_rank_by_hand() -> None:
    grades = {"b": 1, "c": 1, "d": 1}
    assert recall_at(["a", "b", "c"], grades, 2) == pytest.approx(1 / 3)
    assert recall_at(["a", "b", "c"], grades, 3) == pytest.approx(2 / 3)
    assert precision_at(["a", "b", "c"], grades, 2) == pytest.approx(1 / 2)
    # A list shorter than k counts its missing places as misses.
    assert precision_at(["a", "b", "c"], grades, 5) == pytest.approx(2 / 5)
    assert reciprocal_rank(["a", "b", "c"], grades) == pytest.approx(1 / 2)
    assert reciprocal_rank(["a", "e"], grades) == 0.0


def test_evaluate_run_averages_over_judged_queries_only() -> None:
    run = {"q1": ["x", "y"], "q2": ["y", "x"], "q3": ["x"]}
    qrels = {"q1": {"x": 1}, "q2": {"x": 1}, "q3": {"x": 0}}
    metrics = evaluate_run(run, qrels, k=2, recall_depth=1)
    assert metrics["mrr"] == pytest.approx((1 + 1 / 2) / 2)
    assert metrics["recall@1"] == pytest.approx(1 / 2)
    assert metrics["ndcg@2"] == pytest.approx((1 + 1 / math.log2(3)) / 2)


def test_held_out_split_is_fixed_by_id_and_about_half() -> None:
    ids = [f"query-{n}" for n in range(1000)]
    tune, held = split_held_out(ids)
    assert sorted(tune + held) == sorted(ids)
    assert not set(tune) & set(held)
    assert 400 < len(held) < 600
    # The same id lands on the same side whatever the order or company it comes in.
    _, held_reversed = split_held_out(list(reversed(ids)))
    assert set(held_reversed) == set(held)
    assert all(is_held_out(q) for q in held)


def test_ratio_to_best_baseline() -> None:
    metrics = {
        "ranker": {"mrr": 0.6, "ndcg@10": 0.2},
        "tfidf_word": {"mrr": 0.3, "ndcg@10": 0.0},
        "tfidf_char": {"mrr": 0.5, "ndcg@10": 0.0},
        "bm25": {"mrr": 0.4, "ndcg@10": 0.0},
    }
    assert ratios_to_best(metrics) == {"mrr": pytest.approx(1.2), "ndcg@10": None}


def _mean_over_every_order(
    eligible: dict[str, int], grades: dict[str, int], k: int, depth: int, cut: int | None = None
) -> dict[str, float]:
    """evaluate_run's metrics averaged over every order of the eligible documents, each run
    cut after `cut` documents."""
    orders = list(itertools.permutations(eligible))
    totals = {f"ndcg@{k}": 0.0, "mrr": 0.0, f"recall@{depth}": 0.0}
    for order in orders:
        run = {"q": list(order)[:cut]}
        metrics = evaluate_run(run, {"q": grades}, k=k, recall_depth=depth)
        for key in totals:
            totals[key] += metrics[key]
    return {key: value / len(orders) for key, value in totals.items()}


@pytest.mark.parametrize(
    ("eligible", "ineligible"),
    [
        ({"a": 2, "b": 0, "c": 1, "d": 0, "e": 0, "f": 1}, {}),
        # A relevant document the filters drop still counts in the ideal and in recall.
        ({"a": 0, "b": 1, "c": 0, "d": 0, "e": 0}, {"z": 2}),
        ({"a": 1, "b": 1, "c": 1}, {}),
    ],
)
def test_chance_equals_the_mean_over_every_random_order(
    eligible: dict[str, int], ineligible: dict[str, int]
) -> None:
    grades = {**eligible, **ineligible}
    k, depth = 3, 2
    expected = _mean_over_every_order(eligible, grades, k, depth)
    chance = expected_at_random(
        grades, list(eligible.values()), len(eligible), k=k, recall_depth=depth
    )
    assert chance == pytest.approx(expected)
    # The mean over queries skips unjudged ones, as evaluate_run does.
    qrels = {"q": grades, "unjudged": {"a": 0}}
    means = evaluate_chance(
        qrels,
        {"q": list(eligible.values())},
        {"q": len(eligible), "unjudged": 6},
        k=k,
        recall_depth=depth,
    )
    assert means == pytest.approx(expected)
    # Runs cut after two documents, as the suite's runs are cut at their depth.
    cut = _mean_over_every_order(eligible, grades, k, depth=3, cut=2)
    assert cut["mrr"] < expected["mrr"] or len(eligible) == sum(1 for g in eligible.values() if g)
    chance_cut = expected_at_random(
        grades, list(eligible.values()), len(eligible), k=k, recall_depth=3, run_depth=2
    )
    assert chance_cut == pytest.approx(cut)


def test_chance_of_one_relevant_among_n_and_of_precision() -> None:
    # One relevant among n sits at each rank with chance 1/n: MRR = H(n) / n.
    n = 1000
    harmonic = sum(1 / rank for rank in range(1, n + 1))
    assert expected_reciprocal_rank(1, n) == pytest.approx(harmonic / n)
    assert expected_reciprocal_rank(5, 5) == 1.0
    assert expected_reciprocal_rank(0, 5) == 0.0
    assert expected_precision(10, 40, 30) == pytest.approx(0.25)
    # 35 eligible at depth 90: the 55 missing places are misses.
    assert expected_precision(10, 35, 90) == pytest.approx(10 / 35 * 35 / 90)


def test_ratio_above_chance() -> None:
    metrics = {
        "ranker": {"mrr": 0.5, "ndcg@10": 0.2},
        "tfidf_word": {"mrr": 0.3, "ndcg@10": 0.1},
        "tfidf_char": {"mrr": 0.4, "ndcg@10": 0.1},
        "bm25": {"mrr": 0.35, "ndcg@10": 0.1},
    }
    # mrr: (0.5 - 0.25) / (0.4 - 0.25); no baseline beats chance on ndcg@10.
    ratios = ratios_above_chance(metrics, {"mrr": 0.25, "ndcg@10": 0.1})
    assert ratios == {"mrr": pytest.approx(0.25 / 0.15), "ndcg@10": None}


def _city_corpus() -> tuple[list[JobDocument], list[GraduateDocument]]:
    # Job 0 is the best text match but in another city than the graduate wants.
    jobs = [
        JobDocument(0, title="PLC电气工程师", skills=("PLC", "电气设计"), city="杭州"),
        JobDocument(1, title="电气工程师", skills=("电气设计",), city="宁波"),
        JobDocument(2, title="会计", skills=("财务报表",), city="宁波"),
        JobDocument(3, title="销售代表", skills=("客户开发",), city="宁波"),
    ]
    graduates = [
        GraduateDocument(
            0, city="宁波", desired_cities=("宁波",), skills=("PLC", "电气设计"), desired_roles=()
        ),
        GraduateDocument(1, skills=("PLC", "电气设计"), desired_roles=("电气工程师",)),
    ]
    return jobs, graduates


def test_baselines_never_return_a_candidate_the_ranker_filters_out() -> None:
    jobs, graduates = _city_corpus()
    params = evaluation_params()
    ranker = Ranker(params).fit(jobs, graduates)
    eligible = eligible_candidates(ranker, "jobs", graduates, EVALUATION_FILTERS, len(jobs))
    # The graduate in 宁波 may not see the 杭州 job; one with no city sees every job.
    assert eligible.tolist() == [[False, True, True, True], [True, True, True, True]]
    ranked = ranker.jobs_for_graduates([0, 1], 4, filters=EVALUATION_FILTERS)
    assert [m.id for m in ranked[0]] and 0 not in [m.id for m in ranked[0]]

    texts = ([graduate_text(g) for g in graduates], [job_text(j) for j in jobs])
    tokenizer = plain_tokenizer(params)
    limited = baseline_runs(*texts, tokenizer=tokenizer, depth=4, eligible=eligible)
    free = baseline_runs(*texts, tokenizer=tokenizer, depth=4, eligible=None)
    for name, runs in limited.items():
        assert 0 not in runs[0], name
        assert sorted(runs[0]) == [1, 2, 3], name
        assert runs[1] == free[name][1], name
        # Without the filter the same baseline ranks the 杭州 job first: the check can fail.
        assert free[name][0][0] == 0, name


def test_eligible_candidates_for_graduates_of_a_job() -> None:
    jobs, _ = _city_corpus()
    graduates = [
        GraduateDocument(0, education="大专", skills=("PLC",)),
        GraduateDocument(1, education="本科", skills=("PLC",)),
    ]
    job = JobDocument(9, title="PLC工程师", education="本科")
    ranker = Ranker(evaluation_params()).fit(jobs, graduates)
    mask = eligible_candidates(ranker, "graduates", [job], FilterSpec(), len(graduates))
    # The default filters hold a 本科 posting to graduates with at least 本科.
    assert mask.tolist() == [[False, True]]
    assert mask.dtype == np.bool_
