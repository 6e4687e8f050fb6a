"""`jobmatch rerank` and signals, on real processes: SIGTERM stops a run at a chunk boundary
(resumable), and SIGKILL of a run with Dask worker processes leaves none of them running."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.db import create_db_engine
from app.migrations import upgrade_database
from app.tables import MatchRunChunk, MatchRunRow
from tests.factories import load_demo
from tests.proc import descendants, still_alive
from tests.support import CHUNK_ROWS, jobmatch, newest_run

# Real processes or large inputs: more than ~5 s each in a full run on two cores.
pytestmark = pytest.mark.slow


def _environment(database_url: str, folder: Path) -> dict[str, str]:
    return {
        **os.environ,
        "JOBMATCH_DATABASE_URL": database_url,
        "JOBMATCH_MODELS_DIR": str(folder / "models"),
        "JOBMATCH_LOG_LEVEL": "WARNING",
    }


def _wait_for_chunks(
    process: subprocess.Popen[bytes], engine: object, done: int, log: Path
) -> None:
    deadline = time.monotonic() + 180
    while True:
        run = newest_run(engine)  # type: ignore[arg-type]
        if run is not None and run.chunks_done >= done:
            return
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "the run did not get going"
        time.sleep(0.05)


def test_sigterm_stops_at_a_chunk_boundary_and_resume_completes(
    live_database_url: str, tmp_path: Path
) -> None:
    engine = create_db_engine(live_database_url)
    load_demo(engine)
    env = _environment(live_database_url, tmp_path)
    log = tmp_path / "rerank.log"
    try:
        process = jobmatch(["--chunk-rows", CHUNK_ROWS], env, log)
        _wait_for_chunks(process, engine, 3, log)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=120) == 128 + signal.SIGTERM, log.read_text()

        stopped = newest_run(engine)
        assert stopped is not None and stopped.status == "failed"
        assert "stopped on request at a chunk boundary" in (stopped.error or "")
        assert 3 <= stopped.chunks_done < stopped.chunks_total
        with engine.connect() as connection:
            rows = connection.scalar(select(func.count()).where(MatchRunRow.run_id == stopped.id))
            marked = connection.scalar(
                select(func.sum(MatchRunChunk.rows)).where(MatchRunChunk.run_id == stopped.id)
            )
        assert rows == marked == stopped.rows  # every stored chunk whole, none half
        assert f"--resume {stopped.id}" in log.read_text()

        resumed = jobmatch(["--resume", str(stopped.id)], env, log)
        assert resumed.wait(timeout=300) == 0, log.read_text()
        done = newest_run(engine)
        assert done is not None and done.id == stopped.id and done.status == "complete"
        assert done.chunks_done == done.chunks_total
    finally:
        engine.dispose()


def test_sigkill_of_a_dask_rerank_leaves_no_worker_process(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rerank.db'}"
    upgrade_database(url=url)
    engine = create_db_engine(url)
    load_demo(engine)
    log = tmp_path / "rerank.log"
    process = jobmatch(
        ["--engine", "dask", "--workers", "2", "--chunk-rows", CHUNK_ROWS],
        _environment(url, tmp_path),
        log,
    )
    children: list[int] = []
    try:
        _wait_for_chunks(process, engine, 2, log)
        children = descendants(process.pid)
        # At least the two worker processes (nannies and multiprocessing helpers besides).
        assert len(children) >= 2, children
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        assert still_alive(children) == []
    finally:
        # Never leave anything running, whatever failed above.
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        for pid in still_alive(children, within_s=0):
            os.kill(pid, signal.SIGKILL)
        engine.dispose()
