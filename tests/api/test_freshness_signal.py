"""Freshness without a log query per request (SQLite's data_version, PostgreSQL's NOTIFY): two
apps on one database stand for two workers. A query after no commit reads nothing from the
change log; a write through the other one is in the very next answer, also of an answer kept
as JSON and served on the event loop."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.ranking import Ranker
from app.settings import Settings
from tests.factories import make_graduate, make_job
from tests.support import BACKENDS, fresh_database, statements_seen


@pytest.fixture(params=BACKENDS)
def two_workers(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[TestClient, TestClient, list[str]]]:
    with fresh_database(request.param, tmp_path) as url:
        # Keys are not what this is about: every caller an admin (auth off, in process).
        settings = Settings(database_url=url, models_dir=tmp_path / "models", auth="off")
        reader_app, writer_app = create_app(settings), create_app(settings)
        log_reads = statements_seen(reader_app.state.engine, "FROM index_changes")
        with TestClient(writer_app) as writer:
            job = writer.post("/v1/jobs", json=make_job("kyt")).json()
            writer.post("/v1/graduates", json=make_graduate("first", skills=["PLC", "CAD"]))
            with TestClient(reader_app) as reader:
                reader.headers["x-job-id"] = str(job["id"])
                yield reader, writer, log_reads


def _matched_graduates(reader: TestClient) -> list[int]:
    response = reader.get(f"/v1/jobs/{reader.headers['x-job-id']}/matches", params={"k": 200})
    assert response.status_code == 200, response.text
    return [match["graduate_id"] for match in response.json()["matches"]]


def test_no_log_query_while_nothing_changes(
    two_workers: tuple[TestClient, TestClient, list[str]],
) -> None:
    reader, _writer, log_reads = two_workers
    first = _matched_graduates(reader)
    reads_after_first = len(log_reads)
    for _ in range(5):
        assert _matched_graduates(reader) == first
    assert len(log_reads) == reads_after_first


def test_a_write_through_the_other_worker_is_in_the_next_answer(
    two_workers: tuple[TestClient, TestClient, list[str]],
) -> None:
    reader, writer, log_reads = two_workers
    _matched_graduates(reader)
    for round_number in range(3):
        new = writer.post(
            "/v1/graduates",
            json=make_graduate(f"new-{round_number}", skills=["PLC", "电气设计", "CAD"]),
        ).json()
        before = len(log_reads)
        assert new["id"] in _matched_graduates(reader)
        assert len(log_reads) > before  # the commit was seen and the log read
        placed = writer.patch(f"/v1/graduates/{new['id']}", json={"status": "placed"})
        assert placed.status_code == 200, placed.text
        assert new["id"] not in _matched_graduates(reader)


def test_a_repeated_query_is_ranked_once_until_a_change(
    two_workers: tuple[TestClient, TestClient, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    reader, writer, _log_reads = two_workers
    ranked: list[int] = []
    rank = Ranker.graduates_for_jobs

    def counting(self: Ranker, jobs: Any, *args: Any, **kwargs: Any) -> Any:
        ranked.append(len(jobs))
        return rank(self, jobs, *args, **kwargs)

    monkeypatch.setattr(Ranker, "graduates_for_jobs", counting)
    first = _matched_graduates(reader)
    assert _matched_graduates(reader) == first
    assert len(ranked) == 1  # the second answer came from the snapshot's answers
    job_id = reader.headers["x-job-id"]
    other_k = reader.get(f"/v1/jobs/{job_id}/matches", params={"k": 1})
    assert other_k.status_code == 200 and len(ranked) == 2  # another query is ranked anew
    new = writer.post("/v1/graduates", json=make_graduate("late", skills=["PLC"])).json()
    assert new["id"] in _matched_graduates(reader)
    assert len(ranked) == 3  # the write cleared the answers


def _matched_jobs(reader: TestClient, graduate_id: int) -> list[int]:
    # Not collapsed: the postings written here are near-duplicates of each other.
    response = reader.get(
        f"/v1/graduates/{graduate_id}/matches", params={"k": 50, "collapse": "false"}
    )
    assert response.status_code == 200, response.text
    return [match["job_id"] for match in response.json()["matches"]]


def test_a_kept_answer_is_served_without_ranking_until_a_write_through_the_other_worker(
    two_workers: tuple[TestClient, TestClient, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    reader, writer, log_reads = two_workers
    graduate = writer.post("/v1/graduates", json=make_graduate("kept", skills=["PLC"])).json()
    ranked: list[int] = []
    rank = Ranker.jobs_for_graduate

    def counting(self: Ranker, *args: Any, **kwargs: Any) -> Any:
        ranked.append(1)
        return rank(self, *args, **kwargs)

    monkeypatch.setattr(Ranker, "jobs_for_graduate", counting)
    first = reader.get(f"/v1/graduates/{graduate['id']}/matches", params={"k": 50})
    assert first.status_code == 200, first.text
    reads_after_first = len(log_reads)
    again = reader.get(f"/v1/graduates/{graduate['id']}/matches", params={"k": 50})
    assert again.content == first.content
    assert len(ranked) == 1 and len(log_reads) == reads_after_first  # kept: no rank, no query
    for round_number in range(3):
        job = writer.post("/v1/jobs", json=make_job(f"plc-{round_number}")).json()
        assert job["id"] in _matched_jobs(reader, graduate["id"])
        closed = writer.patch(f"/v1/jobs/{job['id']}", json={"status": "closed"})
        assert closed.status_code == 200, closed.text
        assert job["id"] not in _matched_jobs(reader, graduate["id"])
