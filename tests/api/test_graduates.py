"""CRUD, filters and bulk upsert of /v1/graduates."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.factories import make_graduate


def test_create_read_update_delete(client: TestClient) -> None:
    created = client.post("/v1/graduates", json=make_graduate())
    assert created.status_code == 201, created.text
    graduate = created.json()
    assert graduate["status"] == "seeking"
    assert graduate["desired_cities"] == ["宁波", "杭州"]
    assert client.get(f"/v1/graduates/{graduate['id']}").json() == graduate

    patched = client.patch(f"/v1/graduates/{graduate['id']}", json={"status": "placed"})
    assert patched.json()["status"] == "placed"
    assert patched.json()["major"] == "电气工程及其自动化"

    assert client.delete(f"/v1/graduates/{graduate['id']}").status_code == 204
    assert client.get(f"/v1/graduates/{graduate['id']}").status_code == 404


def test_list_filters_on_major_and_school(client: TestClient) -> None:
    client.post("/v1/graduates", json=make_graduate("g1"))
    client.post("/v1/graduates", json=make_graduate("g2", major="自动化", city="杭州"))
    client.post("/v1/graduates", json=make_graduate("g3", major="会计学", school="浙江大学"))
    client.post("/v1/graduates", json=make_graduate("g4", education="大专", status="withdrawn"))

    def ids(**params: Any) -> list[str]:
        return [
            g["external_id"] for g in client.get("/v1/graduates", params=params).json()["items"]
        ]

    assert ids(q="自动化") == ["g1", "g2", "g4"]
    assert ids(q="浙江大学") == ["g3"]
    assert ids(city="杭州") == ["g2"]
    assert ids(education="大专") == ["g4"]
    assert ids(status="seeking") == ["g1", "g2", "g3"]


def test_invalid_graduate_fields_are_named(client: TestClient) -> None:
    cases = {
        "phone": make_graduate(phone="call me"),
        "email": make_graduate(email="not-an-email"),
        "graduation_year": make_graduate(graduation_year=1800),
        "status": make_graduate(status="hired"),
        "skills": make_graduate(skills=[f"s{i}" for i in range(401)]),
        "desired_cities": make_graduate(desired_cities="宁波"),
    }
    for field, body in cases.items():
        response = client.post("/v1/graduates", json=body)
        assert response.status_code == 422, (field, response.text)
        assert field in [f["field"] for f in response.json()["error"]["fields"]]


def test_protected_attributes_are_not_accepted(client: TestClient) -> None:
    # Gender, age and the like never enter jobmatch: the API refuses them outright.
    protected: dict[str, Any] = {"gender": "女", "age": 22, "marital_status": "未婚"}
    for field, value in protected.items():
        response = client.post("/v1/graduates", json={**make_graduate(), field: value})
        assert response.status_code == 422
        assert response.json()["error"]["fields"][0]["field"] == field


def test_bulk_upsert(client: TestClient) -> None:
    records = [make_graduate("g1"), make_graduate("g2", email="bad"), make_graduate("g3")]
    body = client.post("/v1/graduates/bulk", json=records).json()
    assert (body["created"], body["updated"], body["failed"]) == (2, 0, 1)
    assert body["results"][1]["errors"][0]["field"] == "email"
    again = client.post("/v1/graduates/bulk", json=[make_graduate("g1", major="自动化")]).json()
    assert again["updated"] == 1
    listed = client.get("/v1/graduates", params={"q": "自动化"}).json()
    assert [g["external_id"] for g in listed["items"]] == ["g1", "g3"]
    assert listed["items"][0]["major"] == "自动化"
