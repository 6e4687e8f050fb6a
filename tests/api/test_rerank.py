"""Batch re-ranking through the service and the API, on SQLite and PostgreSQL: a stored run
serves GET …/matches?source=batch with the live answer's ids and scores; a run switches to
current only when complete; a resume refuses changed data; exports hold the stored rows."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.batch import store
from app.batch.export import export_run
from app.batch.rerank import (
    LocalExecutor,
    RerankError,
    RerankOptions,
    load_inputs,
)
from app.batch.sides import CandidateSide, ChunkResult, QueryChunk, RankSpec
from app.settings import Settings
from app.tables import MatchRun, MatchRunRow
from tests.factories import post_synthetic_pool
from tests.support import RERANK_OPTIONS, rerank

Factory = sessionmaker[Session]


@pytest.fixture
def pool(client: TestClient) -> dict[str, list[int]]:
    """Synthetic postings and graduates, a few of them closed or placed."""
    return post_synthetic_pool(client)


def ranked(body: dict[str, Any], key: str) -> list[tuple[int, float, dict[str, float]]]:
    return [(m[key], m["score"], m["parts"]) for m in body["matches"]]


def assert_same_matches(live: dict[str, Any], batch: dict[str, Any], key: str) -> None:
    assert [m[key] for m in batch["matches"]] == [m[key] for m in live["matches"]]
    for got, want in zip(batch["matches"], live["matches"], strict=True):
        assert got["score"] == pytest.approx(want["score"], abs=1e-6)
        assert got["parts"] == pytest.approx(want["parts"], abs=1e-6)
        assert got["external_id"] == want["external_id"]


def test_batch_matches_are_the_live_ones(
    client: TestClient, pool: dict[str, list[int]], session_factory: Factory, settings: Settings
) -> None:
    job = pool["jobs"][1]
    missing = client.get(f"/v1/jobs/{job}/matches", params={"source": "batch"})
    assert missing.status_code == 404
    assert "jobmatch rerank" in missing.json()["error"]["message"]

    run_id = rerank(session_factory, settings)
    compared = 0
    for job in pool["jobs"]:
        live = client.get(f"/v1/jobs/{job}/matches", params={"k": RERANK_OPTIONS.k})
        batch = client.get(
            f"/v1/jobs/{job}/matches", params={"k": RERANK_OPTIONS.k, "source": "batch"}
        )
        assert batch.status_code == 200, batch.text
        if client.get(f"/v1/jobs/{job}").json()["status"] == "closed":
            assert batch.json()["matches"] == []  # only open jobs are ranked in batch
            continue
        assert_same_matches(live.json(), batch.json(), "graduate_id")
        compared += len(batch.json()["matches"])
        index = batch.json()["index"]
        assert index["source"] == "batch" and index["run_id"] == run_id
        assert index["version"] == live.json()["index"]["version"]
    for graduate in pool["graduates"][1::7]:
        if client.get(f"/v1/graduates/{graduate}").json()["status"] != "seeking":
            continue
        live = client.get(f"/v1/graduates/{graduate}/matches", params={"k": RERANK_OPTIONS.k})
        batch = client.get(
            f"/v1/graduates/{graduate}/matches", params={"k": RERANK_OPTIONS.k, "source": "batch"}
        )
        assert_same_matches(live.json(), batch.json(), "job_id")
        compared += len(batch.json()["matches"])
    assert compared > 100

    fewer = client.get(f"/v1/jobs/{pool['jobs'][1]}/matches", params={"k": 3, "source": "batch"})
    assert [m["rank"] for m in fewer.json()["matches"]] == [1, 2, 3]


def test_batch_refuses_filters_it_was_not_ranked_with(
    client: TestClient, pool: dict[str, list[int]], session_factory: Factory, settings: Settings
) -> None:
    rerank(session_factory, settings)
    job, graduate = pool["jobs"][1], pool["graduates"][1]
    for path, params in (
        (f"/v1/jobs/{job}/matches", {"city": "宁波"}),
        (f"/v1/jobs/{job}/matches", {"explain": True}),
        (f"/v1/graduates/{graduate}/matches", {"status": "any"}),
    ):
        response = client.get(path, params={**params, "source": "batch"})
        assert response.status_code == 422, response.text
        assert response.json()["error"]["fields"][0]["field"] == "query.source"
    assert client.get("/v1/jobs/999999/matches", params={"source": "batch"}).status_code == 404
    assert client.get(f"/v1/jobs/{job}/matches", params={"source": "cached"}).status_code == 422


class StopAfter:
    """An executor that ranks `n` chunks, then fails like a crash would."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.threads = 2

    def run(
        self, side: CandidateSide, chunks: list[tuple[int, QueryChunk]], spec: RankSpec
    ) -> Iterator[tuple[int, ChunkResult]]:
        for count, item in enumerate(LocalExecutor(threads=2).run(side, chunks, spec)):
            if count == self.n:
                raise RuntimeError("worker lost")
            yield item


def rows_of(factory: Factory, run_id: int) -> list[tuple[Any, ...]]:
    with factory() as session:
        return [
            tuple(row)
            for row in session.execute(
                select(
                    MatchRunRow.side,
                    MatchRunRow.query_id,
                    MatchRunRow.rank,
                    MatchRunRow.candidate_id,
                    MatchRunRow.score,
                    MatchRunRow.text,
                    MatchRunRow.major,
                    MatchRunRow.education,
                    MatchRunRow.city,
                    MatchRunRow.salary,
                )
                .where(MatchRunRow.run_id == run_id)
                .order_by(MatchRunRow.side, MatchRunRow.query_id, MatchRunRow.rank)
            )
        ]


def test_readers_see_the_previous_run_until_the_next_completes(
    client: TestClient, pool: dict[str, list[int]], session_factory: Factory, settings: Settings
) -> None:
    first = rerank(session_factory, settings)
    url = f"/v1/jobs/{pool['jobs'][1]}/matches"
    before = client.get(url, params={"source": "batch"}).json()

    with pytest.raises(RuntimeError, match="worker lost"):
        rerank(session_factory, settings, executor=StopAfter(3))
    with session_factory() as session:
        stopped = session.scalars(select(MatchRun).order_by(MatchRun.id.desc())).first()
        assert stopped is not None and stopped.status == "failed"
        assert 3 <= stopped.chunks_done < stopped.chunks_total
        assert "worker lost" in (stopped.error or "")
        second = stopped.id
    during = client.get(url, params={"source": "batch"}).json()
    assert during["index"]["run_id"] == first
    assert during["matches"] == before["matches"]

    assert rerank(session_factory, settings, resume=second) == second
    after = client.get(url, params={"source": "batch"}).json()
    assert after["index"]["run_id"] == second
    assert after["matches"] == before["matches"]
    # The resumed run holds exactly the rows of an uninterrupted one.
    assert rows_of(session_factory, second) == rows_of(session_factory, first)


def test_a_resume_refuses_changed_data(
    client: TestClient, pool: dict[str, list[int]], session_factory: Factory, settings: Settings
) -> None:
    with pytest.raises(RuntimeError):
        rerank(session_factory, settings, executor=StopAfter(1))
    with session_factory() as session:
        run = session.scalars(select(MatchRun).order_by(MatchRun.id.desc())).first()
        assert run is not None
        run_id, version = run.id, run.params["version"]
    client.patch(f"/v1/graduates/{pool['graduates'][2]}", json={"expected_salary": 99000})
    inputs = load_inputs(
        session_factory, tenant="default", models_dir=settings.models_dir, version=version
    )
    with pytest.raises(RerankError, match="the data changed since it started"):
        rerank(session_factory, settings, resume=run_id, inputs=inputs)


def test_export_writes_the_stored_rows(
    pool: dict[str, list[int]], session_factory: Factory, settings: Settings, tmp_path: Path
) -> None:
    run_id = rerank(session_factory, settings, options=RerankOptions(sides=("jobs",), k=5))
    stored = rows_of(session_factory, run_id)
    with session_factory() as session:
        assert export_run(session, run_id=run_id, path=tmp_path / "m.parquet") == len(stored)
        assert export_run(session, run_id=run_id, path=tmp_path / "m.csv") == len(stored)
        assert store.current_run_id(session, tenant="default", side="graduates") is None
    table = pq.read_table(tmp_path / "m.parquet").to_pylist()
    assert [(r["side"], r["query_id"], r["rank"], r["candidate_id"]) for r in table] == [
        row[:4] for row in stored
    ]
    # Scores are float32 on PostgreSQL (real): equal to within float32 precision, which is
    # relative (scores reach 3 with the major weight 2).
    assert [r["score"] for r in table] == pytest.approx([row[4] for row in stored], rel=2**-23)
    assert all(r["candidate_external_id"].startswith("syn-job") for r in table)
    with (tmp_path / "m.csv").open(encoding="utf-8") as handle:
        assert sum(1 for _ in csv.DictReader(handle)) == len(stored)


def test_old_runs_are_pruned(
    pool: dict[str, list[int]], session_factory: Factory, settings: Settings
) -> None:
    options = RerankOptions(sides=("graduates",), k=3, chunk_rows=64)
    runs = [rerank(session_factory, settings, options=options) for _ in range(4)]
    with session_factory() as session:
        kept = set(session.scalars(select(MatchRun.id).where(MatchRun.id.in_(runs))))
        assert kept == set(runs[-2:])
        assert store.current_run_id(session, tenant="default", side="graduates") == runs[-1]
