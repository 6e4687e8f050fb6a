"""Bad input gets a clear 4xx naming the field, never a 500, and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import make_job
from tests.support import error_fields


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"headcount": "many"}, "headcount"),
        ({"headcount": 0}, "headcount"),
        ({"skills": "PLC"}, "skills"),
        ({"education": "中专"}, "education"),
        ({"salary_min": 9000, "salary_max": 6000}, "salary_max"),
        ({"salary_min": -1}, "salary_min"),
        ({"title": "   "}, "title"),
        ({"title": "工" * 201}, "title"),
        ({"description": "字" * 20_001}, "description"),
        ({"skills": [f"技能{i}" for i in range(101)]}, "skills"),
        ({"majors": ["自动化" + "化" * 100]}, "majors[0]"),
        ({"status": "archived"}, "status"),
        ({"posted_at": "2026-13-45"}, "posted_at"),
        ({"external_id": "has space"}, "external_id"),
        ({"salary": 8000}, "salary"),
    ],
)
def test_invalid_job_is_rejected_naming_the_field(
    client: TestClient, overrides: dict[str, Any], field: str
) -> None:
    response = client.post("/v1/jobs", json=make_job(**overrides))
    assert response.status_code == 422, response.text
    body = response.json()["error"]
    assert body["code"] == "validation_error"
    assert field in error_fields(response)
    assert field in body["message"]
    assert client.get("/v1/jobs").json()["total"] == 0


def test_missing_required_fields_are_all_named(client: TestClient) -> None:
    response = client.post("/v1/jobs", json={"external_id": "x"})
    assert response.status_code == 422
    assert set(error_fields(response)) == {"title", "company"}


def test_malformed_json_is_a_400(client: TestClient) -> None:
    response = client.post(
        "/v1/jobs",
        content=b'{"external_id": "x", "title": ',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"
    bulk = client.post(
        "/v1/jobs/bulk", content=b"[{,]", headers={"content-type": "application/json"}
    )
    assert bulk.status_code == 400
    assert bulk.json()["error"]["code"] == "bad_request"


def test_body_over_the_cap_is_a_413(client: TestClient) -> None:
    # The test settings cap bodies at 2 MiB.
    huge = [make_job(f"h{i}", description="字" * 19_000) for i in range(60)]
    response = client.post("/v1/jobs/bulk", json=huge)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_streamed_body_over_the_cap_is_a_413(client: TestClient) -> None:
    def chunks() -> Any:
        yield b"["
        for _ in range(3000):
            yield b'{"external_id": "s", "description": "' + b"x" * 1000 + b'"},'
        yield b"{}]"

    response = client.post(
        "/v1/jobs/bulk", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_patch_that_breaks_the_salary_range_is_rejected(client: TestClient) -> None:
    job = client.post("/v1/jobs", json=make_job(salary_min=6000, salary_max=9000)).json()
    response = client.patch(f"/v1/jobs/{job['id']}", json={"salary_max": 5000})
    assert response.status_code == 422
    assert error_fields(response) == ["salary_max"]
    assert client.get(f"/v1/jobs/{job['id']}").json()["salary_max"] == 9000


def test_bad_path_and_query_parameters(client: TestClient) -> None:
    # A path whose id is not a number names no resource.
    assert client.get("/v1/jobs/abc").status_code == 404
    assert "path.job_id" in error_fields(client.get(f"/v1/jobs/{2**63}"))
    assert "query.education" in error_fields(client.get("/v1/jobs", params={"education": "小学"}))
    assert client.get("/v1/jobs/0").status_code == 422
    assert client.get("/v1/nothing").json()["error"]["code"] == "not_found"
    assert client.put("/v1/jobs").status_code == 405


def test_bad_tenant_header_is_rejected(client: TestClient) -> None:
    response = client.get("/v1/jobs", headers={"X-Tenant": "no spaces allowed"})
    assert response.status_code == 422
    assert error_fields(response) == ["header.x-tenant"]
