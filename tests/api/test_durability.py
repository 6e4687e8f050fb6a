"""An acknowledged write survives the server being killed (SIGKILL) and restarted, on SQLite."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx2 as httpx
import pytest

from app.benchmarks.load import free_port
from app.migrations import upgrade_database
from tests.factories import make_job
from tests.support import add_live_key, running_server

# Real processes or large inputs: more than ~5 s each in a full run on two cores.
pytestmark = pytest.mark.slow


def test_acknowledged_write_survives_kill_9_and_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'durable.db'}"
    upgrade_database(url=url)
    headers = add_live_key(url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running_server(url, port, tmp_path) as server:
        created = httpx.post(
            f"{base}/v1/jobs", json=make_job("durable-1"), headers=headers, timeout=10
        )
        assert created.status_code == 201
        bulk = httpx.post(
            f"{base}/v1/jobs/bulk",
            json=[make_job(f"durable-b{i}") for i in range(50)],
            headers=headers,
            timeout=10,
        )
        assert bulk.json()["created"] == 50
        server.send_signal(signal.SIGKILL)  # no shutdown hooks, no chance to flush anything
        server.wait(timeout=10)

    with running_server(url, port, tmp_path):
        listed = httpx.get(
            f"{base}/v1/jobs", params={"limit": 200}, headers=headers, timeout=10
        ).json()
        assert listed["total"] == 51
        job = httpx.get(f"{base}/v1/jobs/{created.json()['id']}", headers=headers, timeout=10)
        job = job.json()
        assert job["external_id"] == "durable-1"
        assert job["title"] == "电气自动化工程师(应届生)"  # NFKC folds full-width brackets
