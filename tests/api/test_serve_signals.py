"""`jobmatch serve` and signals, on real processes: the workers of a supervisor killed with
SIGKILL end too (no orphans), and SIGTERM lets a request in flight finish before the exit."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import httpx2 as httpx
import pytest

from app.benchmarks.load import running_server
from app.migrations import upgrade_database
from tests.factories import make_graduate
from tests.proc import descendants, still_alive
from tests.support import add_live_key

# Real processes or large inputs: more than ~5 s each in a full run on two cores.
pytestmark = pytest.mark.slow


def test_workers_end_with_a_supervisor_killed_by_sigkill(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    upgrade_database(url=url)
    with running_server(url, tmp_path, workers=2) as (_base, server):
        workers = descendants(server.pid)
        assert len(workers) >= 2, workers
        os.kill(server.pid, signal.SIGKILL)  # no handler runs: only the kernel can tell them
        server.wait(timeout=30)
        assert still_alive(workers) == []


def test_sigterm_lets_the_request_in_flight_finish(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    upgrade_database(url=url)
    records = [make_graduate(f"g-{i}", summary="自动化专业" * 400) for i in range(1000)]
    answers: list[httpx.Response] = []
    headers = add_live_key(url)
    with running_server(url, tmp_path, workers=1) as (base, server):
        sender = threading.Thread(
            target=lambda: answers.append(
                httpx.post(f"{base}/v1/graduates/bulk", json=records, headers=headers, timeout=120)
            )
        )
        sender.start()
        # The body (about 6 MB) is still uploading or being stored when the signal lands.
        sender.join(timeout=0.5)
        server.send_signal(signal.SIGTERM)
        sender.join()
        # uvicorn re-raises the signal once it has shut down gracefully.
        assert server.wait(timeout=120) in (0, -signal.SIGTERM)
    assert len(answers) == 1
    assert answers[0].status_code == 200, answers[0].text
    assert answers[0].json()["created"] == len(records)
