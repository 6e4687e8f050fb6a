"""A failing database: a throwaway PostgreSQL cluster (initdb on a port of its own) is stopped,
started again, then frozen with SIGSTOP, under a real server. While it is away every request
answers 503 with Retry-After (frozen: within the timeouts, not hanging), /healthz stays 200 and
/readyz says 503; once it is back the service recovers with no restart."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2 as httpx
import pytest

from app.benchmarks.load import agency_key_headers, free_port, running_server
from app.migrations import upgrade_database
from tests.factories import make_job
from tests.proc import descendants

# Short limits so the frozen case answers in seconds; the client waits far longer, so a
# hang shows as a client timeout, never as a slow pass.
SERVER_ENV = {
    "JOBMATCH_DB_CONNECT_TIMEOUT_S": "2",
    "JOBMATCH_DB_STATEMENT_TIMEOUT_S": "2",
    "JOBMATCH_DB_POOL_TIMEOUT_S": "3",
    "JOBMATCH_READINESS_TIMEOUT_S": "1",
}
CLIENT_TIMEOUT_S = 60.0


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


class Cluster:
    """A PostgreSQL cluster in a temporary folder, run as the postgres user when we are root."""

    def __init__(self, bin_dir: Path, folder: Path, port: int) -> None:
        self.bin_dir = bin_dir
        self.data = folder / "data"
        self.log = folder / "postgres.log"
        self.port = port
        self.prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str) -> None:
        subprocess.run([*self.prefix, *args], check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        self._run(
            str(self.bin_dir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1"
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def processes(self) -> list[int]:
        """The postmaster and its backends."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        return [postmaster, *descendants(postmaster)]

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"


@contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    bin_dir = _postgres_bin()
    if bin_dir is None:
        pytest.skip("initdb not found under /usr/lib/postgresql/*/bin")
    folder = Path(tempfile.mkdtemp(prefix="jobmatch-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    cluster = Cluster(bin_dir, folder, free_port())
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        if (cluster.data / "postmaster.pid").exists():
            for pid in cluster.processes():  # a frozen cluster cannot even be stopped
                os.kill(pid, signal.SIGCONT)
            cluster.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) >= 1
    assert response.json()["error"]["code"] == "unavailable"


def _wait_until_ready(client: httpx.Client, attempts: int = 100) -> httpx.Response:
    """Poll /readyz until it says ready (bounded): recovery takes a moment, not a restart."""
    for _ in range(attempts):
        ready = client.get("/readyz")
        if ready.status_code == 200:
            return ready
        time.sleep(0.2)
    return ready


# A PostgreSQL cluster of its own (initdb), stopped, restarted and frozen; a few seconds.
@pytest.mark.postgres
@pytest.mark.slow
def test_database_stopped_started_frozen(tmp_path: Path) -> None:
    with throwaway_cluster() as cluster:
        upgrade_database(url=cluster.url)
        headers = agency_key_headers(cluster.url)
        with (
            running_server(cluster.url, tmp_path, workers=1, env=SERVER_ENV) as (base, _),
            httpx.Client(base_url=base, timeout=CLIENT_TIMEOUT_S, headers=headers) as client,
        ):
            job = client.post("/v1/jobs", json=make_job("pg-fail-1"))
            assert job.status_code == 201, job.text
            job_id = job.json()["id"]
            # The first write makes a new tenant index: ready once it is built.
            assert _wait_until_ready(client).status_code == 200

            # 1. Stopped: 503 + Retry-After everywhere, the process itself is alive.
            cluster.stop()
            _assert_unavailable(client.get("/v1/jobs"))
            _assert_unavailable(client.get(f"/v1/jobs/{job_id}"))
            _assert_unavailable(client.post("/v1/jobs", json=make_job("pg-fail-2")))
            _assert_unavailable(client.get(f"/v1/jobs/{job_id}/matches"))
            assert client.get("/healthz").status_code == 200
            not_ready = client.get("/readyz")
            assert not_ready.status_code == 503
            assert not_ready.json()["checks"]["database"] != "ok"
            assert "Retry-After" in not_ready.headers

            # 2. Started again: the same server recovers, reads and writes.
            cluster.start()
            assert _wait_until_ready(client).status_code == 200
            assert client.get(f"/v1/jobs/{job_id}").status_code == 200
            assert client.post("/v1/jobs", json=make_job("pg-fail-3")).status_code == 201

            # 3. Frozen (every PostgreSQL process stopped): answers come, as 503, instead
            #    of hanging; the client's long timeout would fail the test on a hang.
            frozen = cluster.processes()
            for pid in frozen:
                os.kill(pid, signal.SIGSTOP)
            try:
                _assert_unavailable(client.get(f"/v1/jobs/{job_id}"))
                _assert_unavailable(client.post("/v1/jobs", json=make_job("pg-fail-4")))
                assert client.get("/healthz").status_code == 200
                assert client.get("/readyz").status_code == 503
            finally:
                for pid in frozen:
                    os.kill(pid, signal.SIGCONT)

            # 4. Thawed: recovered with no restart; the writes refused meanwhile are absent.
            assert _wait_until_ready(client).status_code == 200
            listed = client.get("/v1/jobs", params={"limit": 200})
            assert listed.status_code == 200
            assert sorted(item["external_id"] for item in listed.json()["items"]) == [
                "pg-fail-1",
                "pg-fail-3",
            ]
