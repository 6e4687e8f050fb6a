"""/metrics, request ids and JSON log lines: what an operator sees, and what never shows."""

from __future__ import annotations

import json
import logging
import logging.config
from pathlib import Path

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.benchmarks.load import free_port
from app.logs import REQUEST_ID, RequestIdFilter, logging_config
from tests.factories import make_job
from tests.support import add_live_key, running_server

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(text: str) -> Samples:
    """Every sample of a Prometheus text page, keyed by name and labels (worker pid dropped)."""
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = frozenset((k, v) for k, v in sample.labels.items() if k != "worker")
            key = (sample.name, labels)
            samples[key] = samples.get(key, 0.0) + sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_count_requests_by_route_template_and_record_the_work(
    client: TestClient,
) -> None:
    before = scrape(client.get("/metrics").text)
    job = client.post("/v1/jobs", json=make_job()).json()
    client.post("/v1/graduates", json={"external_id": "g-1", "major": "自动化"})
    for _ in range(3):
        assert client.get(f"/v1/jobs/{job['id']}").status_code == 200
    assert client.get(f"/v1/jobs/{job['id']}/matches").status_code == 200
    client.post("/v1/jobs/bulk", json=[make_job("b-1"), make_job("b-2", title="")])
    response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    after = scrape(response.text)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    route = {"method": "GET", "route": "/v1/jobs/{job_id}"}
    assert grew("jobmatch_http_requests_total", **route, status="200") == 3
    assert grew("jobmatch_http_request_duration_seconds_count", **route) == 3
    assert f'/v1/jobs/{job["id"]}"' not in response.text  # the raw path is never a label
    assert grew("jobmatch_match_duration_seconds_count", direction="graduates_for_job") == 1
    for status, count in (("created", 1), ("failed", 1)):
        assert (
            grew("jobmatch_records_upserted_total", kind="jobs", channel="bulk", status=status)
            == count
        )
    assert value(after, "jobmatch_index_documents", tenant="default", kind="jobs") >= 1
    assert value(after, "jobmatch_index_lag_changes", tenant="default") >= 0
    assert value(after, "jobmatch_metrics_database_up") == 1
    assert any(name == "jobmatch_index_info" for name, _ in after)


def test_request_id_is_echoed_when_well_formed_and_replaced_when_not(client: TestClient) -> None:
    assert client.get("/v1/jobs", headers={"X-Request-ID": "abc-123.x:1"}).headers[
        "x-request-id"
    ] == ("abc-123.x:1")
    for bad in ("has spaces", "x" * 129, "semi;colon", 'quote"d'):
        echoed = client.get("/v1/jobs", headers={"X-Request-ID": bad})
        assert echoed.headers["x-request-id"] != bad
        assert len(echoed.headers["x-request-id"]) == 32
    generated = {client.get("/healthz").headers["x-request-id"] for _ in range(3)}
    assert len(generated) == 3
    # Errors carry it too, the 413 of the body guard included.
    too_big = client.post("/v1/jobs/bulk", content=b"[" + b" " * (3 * 1024 * 1024) + b"]")
    assert too_big.status_code == 413
    assert len(too_big.headers["x-request-id"]) == 32


def test_access_line_has_the_route_not_the_query_string(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(RequestIdFilter())
    with caplog.at_level(logging.INFO, logger="app.access"):
        client.get(
            "/v1/graduates",
            params={"q": "张三13800000000"},
            headers={"X-Request-ID": "trace-1"},
        )
    [line] = [record for record in caplog.records if record.name == "app.access"]
    assert line.__dict__["route"] == "/v1/graduates"
    assert line.__dict__["status"] == 200
    assert line.request_id == "trace-1"  # type: ignore[attr-defined]
    assert all("13800000000" not in str(v) for v in line.__dict__.values())


def test_log_lines_are_json_with_the_request_id(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        logging.config.dictConfig(logging_config("INFO"))
        token = REQUEST_ID.set("trace-2")
        logging.getLogger("app.access").info(
            "request", extra={"method": "GET", "route": "/v1/jobs", "status": 200}
        )
        REQUEST_ID.reset(token)
        logging.getLogger("app.other").warning("outside a request")
    finally:
        root.handlers[:], root.level = saved
        root.setLevel(saved[1])
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert lines[0]["request_id"] == "trace-2"
    assert (lines[0]["route"], lines[0]["status"], lines[0]["level"]) == ("/v1/jobs", 200, "INFO")
    assert lines[1]["request_id"] is None
    assert lines[1]["message"] == "outside a request"


@pytest.mark.slow
def test_metrics_sum_over_two_workers(
    live_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The workers share this folder (serve empties it first); pytest removes it afterwards.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "prometheus"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    headers = add_live_key(live_database_url)
    with running_server(live_database_url, port, tmp_path, workers=2) as server:
        pids: set[int] = set()
        calls = 0
        for _ in range(200):  # fresh connections until both workers have answered
            with httpx.Client(base_url=base, timeout=30, headers=headers) as http:
                pids.add(http.get("/healthz").json()["worker_pid"])
                assert http.get("/v1/jobs").status_code == 200  # same connection, same worker
            calls += 1
            if len(pids) == 2 and calls >= 10:
                break
        assert len(pids) == 2, "both workers should have answered"
        samples = scrape(httpx.get(f"{base}/metrics", timeout=30).text)
        # SIGTERM, not the helper's SIGKILL: uvicorn then stops its workers too.
        server.terminate()
        server.wait(timeout=60)
    # Both workers answered /v1/jobs, so one worker alone counted fewer than all the calls.
    answered = value(
        samples, "jobmatch_http_requests_total", method="GET", route="/v1/jobs", status="200"
    )
    assert answered == calls
