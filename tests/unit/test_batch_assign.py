"""Allocation within capacities: the exact solver reaches linear_sum_assignment's optimum on
expanded places, never breaks a capacity, and the greedy never beats it."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from app.batch.assign import Assignment, Pairs, assign, assign_exact, assign_greedy, assign_slots


def random_instance(seed: int, graduates: int = 40, jobs: int = 12) -> tuple[Pairs, dict[int, int]]:
    rng = np.random.default_rng(seed)
    keys = np.unique(rng.integers(0, graduates * jobs, graduates * 5))
    graduate_ids, job_ids = (
        (keys // jobs + 100).astype(np.int64),
        (keys % jobs + 1).astype(np.int64),
    )
    # Coarse scores: many ties, so the tie-breaking must be deterministic too.
    scores = np.round(rng.random(keys.shape[0]), 1) - 0.05
    capacity = {job: int(rng.integers(0, 4)) for job in range(1, jobs + 1)}
    return Pairs(graduate_ids, job_ids, scores), capacity


def check_feasible(result: Assignment, pairs: Pairs, capacity: dict[int, int], per: int) -> None:
    chosen = list(zip(result.graduate_ids.tolist(), result.job_ids.tolist(), strict=True))
    assert len(set(chosen)) == len(chosen)
    keys = zip(pairs.graduate_ids.tolist(), pairs.job_ids.tolist(), strict=True)
    allowed = dict(zip(keys, pairs.scores.tolist(), strict=True))
    for (graduate, job), score in zip(chosen, result.scores, strict=True):
        assert allowed[(graduate, job)] == score and score > 0
    assert all(n <= capacity[job] for job, n in Counter(result.job_ids.tolist()).items())
    assert all(n <= per for n in Counter(result.graduate_ids.tolist()).values())


@pytest.mark.parametrize("seed", range(12))
def test_exact_equals_linear_sum_assignment_on_expanded_places(seed: int) -> None:
    pairs, capacity = random_instance(seed)
    exact = assign_exact(pairs, capacity, 1)
    reference = assign_slots(pairs, capacity)
    greedy = assign_greedy(pairs, capacity, 1)
    for result in (exact, reference, greedy):
        check_feasible(result, pairs, capacity, 1)
    assert exact.total == pytest.approx(reference.total, abs=1e-9)
    assert greedy.total <= exact.total + 1e-9


@pytest.mark.parametrize("per_graduate", [2, 3])
def test_several_offers_per_graduate(per_graduate: int) -> None:
    pairs, capacity = random_instance(99, graduates=30, jobs=10)
    exact = assign_exact(pairs, capacity, per_graduate)
    greedy = assign_greedy(pairs, capacity, per_graduate)
    check_feasible(exact, pairs, capacity, per_graduate)
    check_feasible(greedy, pairs, capacity, per_graduate)
    assert greedy.total <= exact.total + 1e-9
    assert exact.total >= assign_exact(pairs, capacity, 1).total


def test_greedy_takes_the_best_pair_first_and_can_miss_the_optimum() -> None:
    # A: 1.0 with job 1 or 0.9 with job 2; B: 0.8 with job 1 only. Greedy gives A job 1 and
    # leaves B out (1.0); the optimum is A–2 and B–1 (1.7).
    pairs = Pairs(
        np.array([1, 1, 2], dtype=np.int64),
        np.array([1, 2, 1], dtype=np.int64),
        np.array([1.0, 0.9, 0.8]),
    )
    capacity = {1: 1, 2: 1}
    assert assign_greedy(pairs, capacity).total == pytest.approx(1.0)
    assert assign_exact(pairs, capacity).total == pytest.approx(1.7)
    assert assign(pairs, capacity, exact_limit=2).method == "greedy"
    assert assign(pairs, capacity).method == "exact"


def test_nothing_to_assign() -> None:
    empty = Pairs(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0))
    assert len(assign_exact(empty, {})) == 0 and len(assign_greedy(empty, {})) == 0
