"""`jobmatch rerank` killed with SIGKILL in the middle of a run, then `--resume RUN_ID`, ends
with exactly the rows of an uninterrupted run (SQLite and PostgreSQL, real processes)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from app.db import create_db_engine, create_session_factory
from app.tables import MatchRun, MatchRunChunk, MatchRunRow
from tests.factories import load_demo
from tests.support import CHUNK_ROWS, jobmatch, newest_run

# Real processes or large inputs: more than ~5 s each in a full run on two cores.
pytestmark = pytest.mark.slow


def stored_rows(engine: Engine, run_id: int) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
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


def test_kill_9_then_resume_equals_an_uninterrupted_run(
    live_database_url: str, tmp_path: Path
) -> None:
    engine = create_db_engine(live_database_url)
    load_demo(engine)
    env = {
        **os.environ,
        "JOBMATCH_DATABASE_URL": live_database_url,
        "JOBMATCH_MODELS_DIR": str(tmp_path / "models"),
        "JOBMATCH_LOG_LEVEL": "WARNING",
    }
    log = tmp_path / "rerank.log"
    try:
        process = jobmatch(["--chunk-rows", CHUNK_ROWS], env, log)
        deadline = time.monotonic() + 120
        while True:
            run = newest_run(engine)
            if run is not None and run.chunks_done >= 5:
                break
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the run did not get going"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)  # no handler runs, no transaction is finished
        process.wait(timeout=30)

        killed = newest_run(engine)
        assert killed is not None
        assert killed.status == "running", "the run finished before it could be killed"
        assert 5 <= killed.chunks_done < killed.chunks_total
        # Rows and done marks were committed together: the marks account for every row.
        with engine.connect() as connection:
            rows = connection.scalar(select(func.count()).where(MatchRunRow.run_id == killed.id))
            marked = connection.scalar(
                select(func.sum(MatchRunChunk.rows)).where(MatchRunChunk.run_id == killed.id)
            )
            marks = connection.scalar(select(func.count()).where(MatchRunChunk.run_id == killed.id))
        assert rows == marked == killed.rows and marks == killed.chunks_done

        resumed = jobmatch(["--resume", str(killed.id)], env, log)
        assert resumed.wait(timeout=300) == 0, log.read_text()
        fresh = jobmatch(["--chunk-rows", CHUNK_ROWS], env, log)
        assert fresh.wait(timeout=300) == 0, log.read_text()

        done = newest_run(engine)
        assert done is not None and done.id != killed.id and done.status == "complete"
        with create_session_factory(engine)() as session:
            again = session.get(MatchRun, killed.id)
            assert again is not None and again.status == "complete"
            assert again.chunks_done == again.chunks_total
        resumed_rows = stored_rows(engine, killed.id)
        assert len(resumed_rows) > 1000
        assert resumed_rows == stored_rows(engine, done.id)
        assert f"match run {killed.id} resuming" in log.read_text()
    finally:
        engine.dispose()
