"""PIPL: contact data masked for roles without the right, absent from lists unless asked,
every read of it audited and queryable by admins."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.privacy import mask_email, mask_name, mask_phone
from tests.factories import make_graduate
from tests.support import KeyHeaders


def test_masks() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+86 138-1234-5678") == "861******5678"
    assert mask_name("王五") == "王*"
    assert mask_name("欧阳小明") == "欧***"
    assert mask_email("zhang.san@example.com") == "z***@example.com"
    assert (mask_phone(None), mask_name(""), mask_email(None)) == (None, "", None)


def _create(client: TestClient) -> int:
    body = make_graduate("pii-1", name="王五", phone="13812345678", email="wang.wu@example.com")
    response = client.post("/v1/graduates", json=body)
    assert response.status_code == 201
    return int(response.json()["id"])


def test_viewer_sees_masked_contact_and_cannot_ask_for_it(
    client: TestClient, key_headers: KeyHeaders
) -> None:
    graduate_id = _create(client)
    viewer = key_headers(role="viewer")
    one = client.get(f"/v1/graduates/{graduate_id}", headers=viewer).json()
    assert (one["name"], one["phone"], one["email"]) == ("王*", "138****5678", "w***@example.com")
    listed = client.get("/v1/graduates", headers=viewer).json()["items"]
    assert [(g["name"], g["phone"], g["email"]) for g in listed] == [(None, None, None)]
    refused = client.get("/v1/graduates", params={"include": "contact"}, headers=viewer)
    assert refused.status_code == 403
    assert refused.json()["error"]["fields"][0]["field"] == "query.include"


def test_employer_cannot_list_or_read_graduates(
    client: TestClient, key_headers: KeyHeaders
) -> None:
    graduate_id = _create(client)
    employer = key_headers(role="employer")
    assert client.get("/v1/graduates", headers=employer).status_code == 403
    assert client.get(f"/v1/graduates/{graduate_id}", headers=employer).status_code == 403


def test_lists_carry_contact_only_when_asked_and_every_read_is_audited(
    client: TestClient, key_headers: KeyHeaders
) -> None:
    graduate_id = _create(client)
    admin = key_headers(role="admin")
    before = client.get("/v1/admin/audit", params={"graduate_id": graduate_id}, headers=admin)
    reads_before = before.json()["total"]  # the create echoed the profile back: one read

    plain = client.get("/v1/graduates").json()["items"]
    assert [(g["name"], g["phone"]) for g in plain] == [(None, None)]
    after_plain = client.get("/v1/admin/audit", params={"graduate_id": graduate_id}, headers=admin)
    assert after_plain.json()["total"] == reads_before  # nothing shown, nothing recorded

    full = client.get("/v1/graduates", params={"include": "contact"}).json()["items"]
    assert [(g["name"], g["phone"]) for g in full] == [("王五", "13812345678")]
    one = client.get(f"/v1/graduates/{graduate_id}").json()
    assert one["email"] == "wang.wu@example.com"

    events = client.get(
        "/v1/admin/audit",
        params={"graduate_id": graduate_id, "action": "read_contact"},
        headers=admin,
    ).json()
    assert events["total"] == reads_before + 2
    newest = events["items"][0]
    assert newest["role"] == "agency" and newest["actor"].startswith("key ")
    assert (newest["entity"], newest["entity_id"], newest["external_id"]) == (
        "graduate",
        graduate_id,
        "pii-1",
    )
    # The trail holds who and which record, never the data read.
    assert "13812345678" not in str(events) and "王五" not in str(events)


def test_only_admins_query_the_audit_trail(client: TestClient, key_headers: KeyHeaders) -> None:
    assert client.get("/v1/admin/audit").status_code == 403
    assert client.get("/v1/admin/audit", headers=key_headers(role="viewer")).status_code == 403
    bad = client.get(
        "/v1/admin/audit", params={"action": "drop"}, headers=key_headers(role="admin")
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"][0]["field"] == "query.action"


def test_audit_is_per_tenant(client: TestClient, key_headers: KeyHeaders) -> None:
    _create(client)
    client.get("/v1/graduates", params={"include": "contact"})
    admin = key_headers(role="admin")
    assert client.get("/v1/admin/audit", headers=admin).json()["total"] >= 1
    other = {**admin, "X-Tenant": "other"}
    key_headers(tenant="other")  # the tenant exists
    assert client.get("/v1/admin/audit", headers=other).json()["total"] == 0
