"""Allocation from a stored run, on SQLite and PostgreSQL: headcounts and the per-graduate cap
hold, only ranked pairs of open jobs and seeking graduates are used, the result is stored;
`jobmatch allocate` prints the exact–greedy gap and writes the file."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.batch.allocation import allocate, candidate_pairs
from app.batch.rerank import LocalExecutor, RerankOptions, load_inputs, run_rerank
from app.cli import main
from app.db import create_db_engine, create_session_factory
from app.errors import NotFoundError
from app.settings import Settings
from app.tables import Allocation, AllocationRow, Job, MatchRunRow
from tests.factories import load_demo, post_synthetic_pool
from tests.support import rerank

Factory = sessionmaker[Session]


@pytest.fixture
def pool(client: TestClient) -> dict[str, list[int]]:
    """Synthetic postings and graduates, a few of them closed or placed."""
    return post_synthetic_pool(client)


def test_allocation_respects_headcounts_and_the_ranked_pairs(
    client: TestClient,
    pool: dict[str, list[int]],
    session_factory: Factory,
    settings: Settings,
) -> None:
    with session_factory() as session, pytest.raises(NotFoundError, match="jobmatch rerank"):
        allocate(session, tenant="default")
    run_id = rerank(session_factory, settings)
    with session_factory.begin() as session:
        outcome = allocate(session, tenant="default")
        assert outcome.run_ids == [run_id] and outcome.assignment.method == "exact"
        headcount = dict(session.execute(select(Job.id, Job.headcount)).all())
        ranked = {
            (row.query_id, row.candidate_id)
            if row.side == "jobs"
            else (row.candidate_id, row.query_id)
            for row in session.scalars(select(MatchRunRow).where(MatchRunRow.run_id == run_id))
        }
        stored = session.scalars(
            select(AllocationRow).where(AllocationRow.allocation_id == outcome.allocation_id)
        ).all()
        allocation = session.get(Allocation, outcome.allocation_id)
        assert allocation is not None and allocation.assigned == len(stored) > 10
        assert allocation.total_score == pytest.approx(sum(row.score for row in stored))
    assert all((row.graduate_id, row.job_id) in ranked for row in stored)
    assert all(n <= headcount[job] for job, n in Counter(r.job_id for r in stored).items())
    assert max(Counter(row.graduate_id for row in stored).values()) == 1

    # A graduate placed since the run is not offered again; two offers each when allowed.
    placed = stored[0].graduate_id
    assert client.patch(f"/v1/graduates/{placed}", json={"status": "placed"}).status_code == 200
    with session_factory.begin() as session:
        again = allocate(session, tenant="default", per_graduate=2, save=False)
        assert again.allocation_id is None
        pairs = candidate_pairs(session, tenant="default", run_ids=[run_id])
    assert placed not in again.assignment.graduate_ids.tolist()
    assert placed not in pairs.graduate_ids.tolist()
    assert max(Counter(again.assignment.graduate_ids.tolist()).values()) == 2
    greedy = allocate_greedy_total(session_factory)
    assert greedy <= again.assignment.total + 1e-9


def allocate_greedy_total(factory: Factory) -> float:
    with factory() as session:
        outcome = allocate(session, tenant="default", per_graduate=2, method="greedy", save=False)
    return outcome.assignment.total


def test_jobmatch_allocate_prints_the_gap_and_writes_a_file(
    live_database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = create_db_engine(live_database_url)
    try:
        load_demo(engine)
        factory = create_session_factory(engine)
        inputs = load_inputs(factory, tenant="default", models_dir=tmp_path / "models")
        run_rerank(
            factory,
            tenant="default",
            inputs=inputs,
            executor=LocalExecutor(threads=2),
            options=RerankOptions(k=10, chunk_rows=512),
        )
        out = tmp_path / "allocation.csv"
        status = main(
            ["allocate", "--database-url", live_database_url, "--compare", "--out", str(out)]
        )
        printed = capsys.readouterr().out
        assert status == 0, printed
        assert "allocation 1 from match run(s) 1" in printed
        assert "below the optimum" in printed
        with out.open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        with factory() as session:
            stored = session.scalars(select(AllocationRow)).all()
        assert len(rows) == len(stored) > 100
        assert main(["allocate", "--database-url", live_database_url, "--run", "99"]) == 2
    finally:
        engine.dispose()
