"""Load on a real server (2 uvicorn workers, loopback): about 20 s at 200 connections mixing
match reads, creates and updates, on SQLite and PostgreSQL. No 5xx, no client timeout,
/healthz within 1 s throughout and after, every acknowledged write in the database, and no
server process left behind."""

from __future__ import annotations

from pathlib import Path

import httpx2 as httpx
import pytest

from app.benchmarks.load import (
    LoadPlan,
    agency_key_headers,
    missing_writes,
    run_load,
    running_server,
    seed_database,
    seeded_ids,
)
from app.db import create_db_engine
from tests.proc import descendants, group_members, still_alive

# Real processes or large inputs: more than ~5 s each in a full run on two cores.
pytestmark = pytest.mark.slow

CONNECTIONS = 200
DURATION_S = 20.0
# Far above any answer seen under this load: a request stuck behind a lock-up hits it.
CLIENT_TIMEOUT_S = 60.0


def test_mixed_load_on_two_workers(live_database_url: str, tmp_path: Path) -> None:
    seed_database(live_database_url, jobs=60, graduates=300)
    engine = create_db_engine(live_database_url)
    try:
        job_ids, graduate_ids = seeded_ids(engine)
        with running_server(live_database_url, tmp_path, workers=2) as (base, server):
            started = [server.pid, *descendants(server.pid)]
            assert len(started) >= 3, "two uvicorn workers should run beside the supervisor"
            plan = LoadPlan(
                base_url=base,
                connections=CONNECTIONS,
                duration_s=DURATION_S,
                request_timeout_s=CLIENT_TIMEOUT_S,
                job_ids=job_ids,
                graduate_ids=graduate_ids,
                headers=agency_key_headers(live_database_url),
            )
            report = run_load(plan)
            after = httpx.get(f"{base}/healthz", timeout=plan.health_timeout_s)
            ready = httpx.get(f"{base}/readyz", timeout=10)
        assert after.status_code == 200
        assert ready.status_code == 200, ready.text

        assert report.server_errors == 0, report.server_error_samples
        assert report.client_timeouts == 0
        assert report.transport_errors == 0, report.server_error_samples
        assert set(report.statuses) <= {200, 201}, report.statuses
        # The mix really ran: reads, creates and updates all answered.
        operations = set(report.latencies_ms)
        assert {"job matches", "graduate matches", "create graduate", "update graduate"} <= (
            operations
        )
        assert report.created and report.updated
        # /healthz answered within its 1 s client timeout every time it was asked.
        assert report.health_failures == []
        assert len(report.health_ms) >= DURATION_S / plan.health_every_s / 2
        assert missing_writes(engine, report) == []
    finally:
        engine.dispose()
    # The supervisor and its workers are gone, not orphaned.
    assert still_alive(started) == []
    assert still_alive(group_members(server.pid)) == []
