"""CRUD, filters, pagination and bulk upsert of /v1/jobs, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.factories import make_job
from tests.support import KeyHeaders


def test_create_read_update_delete(client: TestClient) -> None:
    created = client.post("/v1/jobs", json=make_job())
    assert created.status_code == 201, created.text
    job = created.json()
    assert job["id"] >= 1
    assert job["tenant"] == "default"
    assert job["status"] == "open"
    assert job["majors"] == ["电气工程及其自动化", "自动化"]
    assert job["created_at"].endswith(("Z", "+00:00"))

    read = client.get(f"/v1/jobs/{job['id']}")
    assert read.status_code == 200
    assert read.json() == job

    patched = client.patch(f"/v1/jobs/{job['id']}", json={"headcount": 25, "skills": ["PLC"]})
    assert patched.status_code == 200, patched.text
    assert patched.json()["headcount"] == 25
    assert patched.json()["skills"] == ["PLC"]
    assert patched.json()["title"] == job["title"]  # untouched fields stay

    deleted = client.delete(f"/v1/jobs/{job['id']}")
    assert deleted.status_code == 204
    gone = client.get(f"/v1/jobs/{job['id']}")
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "not_found"


def test_text_is_nfkc_normalised_and_trimmed(client: TestClient) -> None:
    response = client.post(
        "/v1/jobs",
        json=make_job(
            title="  ＰＬＣ工程师２０２６ ", skills=[" ＡｕｔｏＣＡＤ ", "PLC", "PLC", " "]
        ),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["title"] == "PLC工程师2026"
    assert body["skills"] == ["AutoCAD", "PLC"]


def test_education_aliases_fold_to_stored_levels(client: TestClient) -> None:
    response = client.post("/v1/jobs", json=make_job(education="学士"))
    assert response.status_code == 201
    assert response.json()["education"] == "本科"


def test_list_filters_and_pagination(client: TestClient) -> None:
    jobs = [
        make_job("a1", city="宁波", education="本科", title="PLC工程师"),
        make_job("a2", city="宁波", education="大专", title="设备维修技术员"),
        make_job(
            "a3", city="杭州", education="本科", title="嵌入式软件工程师", company="杭州某科技"
        ),
        make_job("a4", city="宁波", education="本科", title="电气设计师", status="closed"),
    ]
    for job in jobs:
        assert client.post("/v1/jobs", json=job).status_code == 201

    def ids(**params: Any) -> list[str]:
        response = client.get("/v1/jobs", params=params)
        assert response.status_code == 200, response.text
        return [item["external_id"] for item in response.json()["items"]]

    assert ids(city="宁波") == ["a1", "a2", "a4"]
    assert ids(city="宁波", education="本科") == ["a1", "a4"]
    assert ids(city="宁波", status="open") == ["a1", "a2"]
    assert ids(q="PLC") == ["a1"]
    assert ids(q="plc") == ["a1"]  # case-insensitive on both backends
    assert ids(q="杭州某") == ["a3"]  # company is searched too
    assert ids(city="ｇｕａｎｇｚｈｏｕ") == []

    page = client.get("/v1/jobs", params={"limit": 2, "offset": 1}).json()
    assert page["total"] == 4
    assert [item["external_id"] for item in page["items"]] == ["a2", "a3"]
    assert (page["limit"], page["offset"]) == (2, 1)


def test_list_limit_is_capped(client: TestClient) -> None:
    response = client.get("/v1/jobs", params={"limit": 201})
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "query.limit"


def test_duplicate_external_id_conflicts(client: TestClient) -> None:
    assert client.post("/v1/jobs", json=make_job("dup")).status_code == 201
    response = client.post("/v1/jobs", json=make_job("dup"))
    assert response.status_code == 409
    assert response.json()["error"]["fields"] == [
        {"field": "external_id", "message": "already exists"}
    ]


def test_patch_to_taken_external_id_conflicts(client: TestClient) -> None:
    client.post("/v1/jobs", json=make_job("one"))
    other = client.post("/v1/jobs", json=make_job("two")).json()
    response = client.patch(f"/v1/jobs/{other['id']}", json={"external_id": "one"})
    assert response.status_code == 409


def test_tenants_do_not_see_each_other(client: TestClient, key_headers: KeyHeaders) -> None:
    zhongbo = key_headers(tenant="zhongbo")
    job = client.post("/v1/jobs", json=make_job("t1"), headers=zhongbo).json()
    assert job["tenant"] == "zhongbo"
    assert client.get(f"/v1/jobs/{job['id']}").status_code == 404
    assert client.get(f"/v1/jobs/{job['id']}", headers=zhongbo).status_code == 200
    assert client.get("/v1/jobs").json()["total"] == 0
    # The same external_id may be used by another tenant.
    assert client.post("/v1/jobs", json=make_job("t1")).status_code == 201


def test_bulk_upsert_reports_each_record_and_keeps_the_good_ones(client: TestClient) -> None:
    records = [
        make_job("b1"),
        make_job("b2", salary_min=9000, salary_max=5000),
        make_job("b3", education="中专"),
        {"external_id": "b4", "title": "", "company": "某公司"},
        make_job("b5", headcount="三十"),
        make_job("b6"),
    ]
    response = client.post("/v1/jobs/bulk", json=records)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["created"], body["updated"], body["failed"]) == (2, 0, 4)
    results = body["results"]
    assert [r["status"] for r in results] == [
        "created",
        "failed",
        "failed",
        "failed",
        "failed",
        "created",
    ]
    assert [r["index"] for r in results] == list(range(6))
    assert results[1]["errors"][0]["field"] == "salary_max"
    assert results[2]["errors"][0]["field"] == "education"
    assert results[3]["errors"][0]["field"] == "title"
    assert results[4]["errors"][0]["field"] == "headcount"
    stored = client.get("/v1/jobs").json()
    assert sorted(item["external_id"] for item in stored["items"]) == ["b1", "b6"]

    again = client.post("/v1/jobs/bulk", json=[make_job("b1", headcount=5), make_job("b7")])
    assert again.json()["created"] == 1
    assert again.json()["updated"] == 1
    first = next(
        item for item in client.get("/v1/jobs").json()["items"] if item["external_id"] == "b1"
    )
    assert first["headcount"] == 5
    assert first["id"] == results[0]["id"]


def test_bulk_refuses_duplicate_external_ids_whole(client: TestClient) -> None:
    response = client.post("/v1/jobs/bulk", json=[make_job("d1"), make_job("d2"), make_job("d1")])
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["fields"] == [
        {"field": "[2].external_id", "message": "duplicate of record [0] ('d1')"}
    ]
    assert client.get("/v1/jobs").json()["total"] == 0


def test_bulk_caps_the_record_count(client: TestClient) -> None:
    response = client.post("/v1/jobs/bulk", json=[make_job(f"c{i}") for i in range(1001)])
    assert response.status_code == 422
    assert "at most 1000 records" in response.json()["error"]["message"]


def test_bulk_body_must_be_an_array(client: TestClient) -> None:
    response = client.post("/v1/jobs/bulk", json=make_job())
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == [
        {"field": "body", "message": "expected a JSON array"}
    ]
