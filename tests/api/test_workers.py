"""Freshness across processes and threads, on real commits: two uvicorn workers converge after
writes through either one, and a refit swaps in while readers keep reading."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from app.benchmarks.load import free_port
from app.main import create_app
from app.settings import Settings
from tests.factories import make_graduate, make_job
from tests.support import add_live_key, running_server

SEED_GRADUATES = [
    make_graduate(f"seed-{i}", major=major, skills=skills)
    for i, (major, skills) in enumerate(
        [
            ("电气工程及其自动化", ["PLC", "CAD"]),
            ("自动化", ["PLC", "单片机"]),
            ("会计学", ["会计", "Excel"]),
            ("机械设计制造及其自动化", ["SolidWorks", "CAD"]),
        ]
        * 5
    )
]


@pytest.mark.slow
def test_two_workers_converge_after_writes_through_either(
    live_database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    headers = add_live_key(live_database_url)
    with running_server(live_database_url, port, tmp_path, workers=2):
        job = httpx.post(f"{base}/v1/jobs", json=make_job("kyt"), headers=headers, timeout=30)
        job = job.json()
        bulk = httpx.post(
            f"{base}/v1/graduates/bulk", json=SEED_GRADUATES, headers=headers, timeout=30
        )
        assert bulk.json()["created"] == len(SEED_GRADUATES)
        for round_number in range(4):
            # A write through whichever worker accepts this connection …
            new = httpx.post(
                f"{base}/v1/graduates",
                json=make_graduate(f"new-{round_number}", skills=["PLC", "电气设计", "CAD"]),
                headers=headers,
                timeout=30,
            ).json()
            # … is in the very next answer of each worker: fresh connections until both have
            # answered (the kernel spreads connections over the workers; bounded attempts).
            seen_pids: set[int] = set()
            for _ in range(200):
                with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
                    pid = client.get("/healthz").json()["worker_pid"]
                    matches = client.get(f"/v1/jobs/{job['id']}/matches", params={"k": 200}).json()[
                        "matches"
                    ]
                assert new["id"] in [match["graduate_id"] for match in matches]
                seen_pids.add(pid)
                if len(seen_pids) == 2:
                    break
        assert len(seen_pids) == 2, "both workers should have answered"


def test_refit_swaps_in_while_readers_read(live_database_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=live_database_url, models_dir=tmp_path / "models")
    with TestClient(create_app(settings), headers=add_live_key(live_database_url)) as client:
        job_id = client.post("/v1/jobs", json=make_job("kyt")).json()["id"]
        client.post("/v1/graduates/bulk", json=SEED_GRADUATES)
        url = f"/v1/jobs/{job_id}/matches"
        baseline = client.get(url, params={"k": 20}).json()
        old_version = baseline["index"]["version"]

        answers: list[dict[str, Any]] = []
        failures: list[str] = []
        stop = threading.Event()

        def read() -> None:
            while not stop.is_set():
                response = client.get(url, params={"k": 20})
                if response.status_code != 200:
                    failures.append(response.text)
                answers.append(response.json())

        readers = [threading.Thread(target=read) for _ in range(3)]
        for reader in readers:
            reader.start()
        assert client.post("/v1/admin/refit").json()["started"] is True
        client.app.state.match_engine.wait_for_refit("default", timeout=120)  # type: ignore[attr-defined]
        after = client.get(url, params={"k": 20}).json()
        stop.set()
        for reader in readers:
            reader.join()

    assert failures == []
    assert after["index"]["version"] != old_version
    versions = {answer["index"]["version"] for answer in answers}
    assert versions <= {old_version, after["index"]["version"]}
    # Same documents, same vocabulary: every answer, before or after the swap, ranks alike.
    expected = [(m["graduate_id"], round(m["score"], 5)) for m in baseline["matches"]]
    for answer in answers + [after]:
        assert [(m["graduate_id"], round(m["score"], 5)) for m in answer["matches"]] == expected


def test_start_up_loads_the_saved_index_only_when_it_matches_the_database(
    live_database_url: str, tmp_path: Path
) -> None:
    settings = Settings(database_url=live_database_url, models_dir=tmp_path / "models")
    with TestClient(create_app(settings), headers=add_live_key(live_database_url)) as client:
        client.post("/v1/jobs", json=make_job("kyt"))
        client.post("/v1/graduates/bulk", json=SEED_GRADUATES)
        first = client.get("/v1/admin/index").json()
    assert first["source"] == "fitted"

    with TestClient(
        create_app(settings), headers=add_live_key(live_database_url)
    ) as client:  # a restart: nothing changed
        second = client.get("/v1/admin/index").json()
        assert (second["source"], second["version"]) == ("loaded", first["version"])
        assert (second["jobs"], second["graduates"]) == (1, len(SEED_GRADUATES))
        client.post("/v1/graduates", json=make_graduate("while-up"))

    with TestClient(
        create_app(settings), headers=add_live_key(live_database_url)
    ) as client:  # the database moved on: rebuilt
        third = client.get("/v1/admin/index").json()
        assert third["source"] == "fitted"
        assert third["version"] != first["version"]
        assert third["graduates"] == len(SEED_GRADUATES) + 1


def test_an_unreadable_saved_index_is_rebuilt(live_database_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=live_database_url, models_dir=tmp_path / "models")
    with TestClient(create_app(settings), headers=add_live_key(live_database_url)) as client:
        client.post("/v1/jobs", json=make_job("kyt"))
        first = client.get("/v1/admin/index").json()
    manifest = tmp_path / "models" / "default" / first["version"] / "manifest.json"
    manifest.write_text(manifest.read_text("utf-8").replace('"format": ', '"format": 99, "was": '))
    with TestClient(create_app(settings), headers=add_live_key(live_database_url)) as client:
        rebuilt = client.get("/v1/admin/index").json()
        assert rebuilt["source"] == "fitted"
        assert rebuilt["jobs"] == 1
