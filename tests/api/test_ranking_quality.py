"""Issue 9's goals held as tests on the real shared data, where it is there: the shared pools
and the hard crossed pools through the match service with its default filters, and the dev set
against the best of the three baselines on the same queries and candidates.

These are the `jobmatch evaluate --suite` figures the README quotes; a change that loses them
fails here instead of in the next evaluation someone remembers to run."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.evaluation.cross_pools import cross_pools
from app.evaluation.pools import AgencyPool, evaluate_pool, read_pool
from app.evaluation.sets import read_labelled_set
from app.evaluation.suite import evaluate_set
from app.matching.majors import load_major_table
from tests.support import SHARED_DIR

pytestmark = pytest.mark.slow

# Issue 9's "done when": every pool, including pools for postings not seen while tuning.
POOL_GOALS = {"p@30": 0.97, "p@90": 0.90}
# Issue 9's "done when" for a labelled set: NDCG@10 and MRR at least this times the best
# baseline. Dev holds it; the seekers and campus sets do not yet (README, "Ranking quality").
SET_RATIO_GOAL = 1.15


def _shared(relative: str) -> Path:
    path = SHARED_DIR / relative
    if not path.exists():
        pytest.skip(f"{path} is absent: shared data not available on this machine")
    return path


def _pools() -> list[AgencyPool]:
    root = _shared("eval/pools")
    pools = [read_pool(p) for p in sorted(root.iterdir()) if (p / "job.json").is_file()]
    majors = load_major_table(SHARED_DIR)
    if majors is None:
        pytest.skip("the majors catalogue is absent: crossed pools have no labels")
    # The crossings for the posting that lists 电气工程及其自动化 alone are the hard ones: about
    # 100 right answers in each pool, and the related 自动化类 graduates right behind them.
    hard = [p for p in cross_pools(pools, majors.fit()) if p.name.endswith("×keyongtai-elec")]
    assert len(pools) >= 3 and len(hard) == len(pools)
    return [*pools, *hard]


def test_every_pool_reaches_the_goals_or_its_ceiling() -> None:
    misses = []
    for pool in _pools():
        result, _ = evaluate_pool(pool, shared_dir=SHARED_DIR)
        ranker = result.metrics["all"]["ranker"]
        # Fewer eligible right answers than the depth cap what any order can reach.
        ceiling = result.corpus["ceiling"]["all"]
        misses += [
            (pool.name, key, ranker[key], ceiling[key])
            for key, goal in POOL_GOALS.items()
            if ranker[key] < min(goal, ceiling[key]) - 1e-9
        ]
    assert misses == []


def test_dev_set_beats_the_best_baseline_by_the_goal() -> None:
    labelled = read_labelled_set(
        "dev",
        _shared("data/jobs_campus.jsonl"),
        _shared("eval/dev/graduates.jsonl"),
        _shared("eval/dev/qrels.tsv"),
    )
    result = evaluate_set(labelled, majors=load_major_table(SHARED_DIR), baselines_by_corpus={})
    for part in ("all", "held-out"):
        ratios = result.ratios[part]
        assert ratios["ndcg@10"] is not None and ratios["mrr"] is not None
        assert ratios["ndcg@10"] >= SET_RATIO_GOAL, (part, ratios)
        assert ratios["mrr"] >= SET_RATIO_GOAL, (part, ratios)
    # Every system finds far more than a random order of each query's eligible postings.
    chance = result.chance["all"]["ndcg@10"]
    assert 0 < chance
    for name, metrics in result.metrics["all"].items():
        assert metrics["ndcg@10"] > 2 * chance, (name, metrics, chance)
