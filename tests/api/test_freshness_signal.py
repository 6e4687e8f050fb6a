"""Freshness without a log query per request (SQLite): two apps on one database file stand for
two workers. A query after no commit reads nothing from the change log; a write through the
other one is in the very next answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from app.main import create_app
from app.ranking import Ranker
from app.settings import Settings
from tests.factories import make_graduate, make_job
from tests.support import fresh_database


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[tuple[TestClient, TestClient, list[str]]]:
    with fresh_database("sqlite", tmp_path) as url:
        # Keys are not what this is about: every caller an admin (auth off, in process).
        settings = Settings(database_url=url, models_dir=tmp_path / "models", auth="off")
        reader_app, writer_app = create_app(settings), create_app(settings)
        log_reads: list[str] = []

        def count_log_reads(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if "FROM index_changes" in statement:
                log_reads.append(statement)

        event.listen(reader_app.state.engine, "before_cursor_execute", count_log_reads)
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
