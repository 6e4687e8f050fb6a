"""Every route × every role × own and other tenant (OWASP API1 BOLA, API5 BFLA).

The routes come from the application's route table: a route added without a line in EXPECTED
fails `test_every_route_has_an_expectation`, so none can slip past the matrix. Each request
runs inside a savepoint rolled back afterwards, so every case starts from the same records.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Connection
from sqlalchemy.orm import sessionmaker

from app.auth.roles import ROLE_NAMES
from tests.factories import make_graduate, make_job, make_requisition
from tests.support import add_key

ALL = frozenset(ROLE_NAMES)
READERS = frozenset({"admin", "agency", "viewer"})
WRITERS = frozenset({"admin", "agency"})
JOB_READERS = ALL
JOB_WRITERS = frozenset({"admin", "agency", "employer"})
ADMIN = frozenset({"admin"})
PUBLIC = None  # no key needed

# (method, path) → the roles allowed; PUBLIC routes answer without a key.
EXPECTED: dict[tuple[str, str], frozenset[str] | None] = {
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,  # route templates and counts only, for the scraper
    ("GET", "/v1/jobs"): JOB_READERS,
    ("POST", "/v1/jobs"): JOB_WRITERS,
    ("POST", "/v1/jobs/bulk"): WRITERS,
    ("GET", "/v1/jobs/{job_id:int}/matches"): JOB_READERS,
    ("GET", "/v1/jobs/{job_id:int}"): JOB_READERS,
    ("GET", "/v1/jobs/{job_id:int}/compliance"): JOB_READERS,
    ("GET", "/v1/jobs/{job_id:int}/duplicates"): READERS,
    ("PATCH", "/v1/jobs/{job_id:int}"): JOB_WRITERS,
    ("DELETE", "/v1/jobs/{job_id:int}"): JOB_WRITERS,
    ("GET", "/v1/graduates"): READERS,
    ("POST", "/v1/graduates"): WRITERS,
    ("POST", "/v1/graduates/bulk"): WRITERS,
    ("POST", "/v1/graduates/erase"): WRITERS,
    ("GET", "/v1/graduates/{graduate_id:int}/matches"): READERS,
    ("GET", "/v1/graduates/{graduate_id:int}"): READERS,
    ("GET", "/v1/graduates/{graduate_id:int}/duplicates"): READERS,
    ("PATCH", "/v1/graduates/{graduate_id:int}"): WRITERS,
    ("DELETE", "/v1/graduates/{graduate_id:int}"): WRITERS,
    ("POST", "/v1/match"): READERS,
    ("POST", "/v1/requisitions"): WRITERS,
    ("GET", "/v1/requisitions"): READERS,
    ("GET", "/v1/requisitions/{requisition_id:int}"): READERS,
    ("PATCH", "/v1/requisitions/{requisition_id:int}"): WRITERS,
    ("POST", "/v1/requisitions/{requisition_id:int}/shortlist"): WRITERS,
    ("GET", "/v1/requisitions/{requisition_id:int}/pipeline"): READERS,
    ("POST", "/v1/requisitions/{requisition_id:int}/pipeline/{graduate_id:int}/events"): WRITERS,
    ("GET", "/v1/requisitions/{requisition_id:int}/progress"): READERS,
    ("GET", "/v1/requisitions/{requisition_id:int}/progress.png"): READERS,
    ("GET", "/v1/admin/index"): READERS,
    ("POST", "/v1/admin/refit"): WRITERS,
    ("GET", "/v1/admin/audit"): ADMIN,
    ("GET", "/v1/admin/tenants"): ADMIN,
}


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route the application serves, included routers flattened."""
    return {
        (method, str(route.path))
        for route in iter_route_contexts(app.routes)
        for method in route.methods or ()
        if method != "HEAD"
    }


def test_every_route_has_an_expectation(app: FastAPI) -> None:
    routes = app_routes(app)
    assert routes - EXPECTED.keys() == set(), "a route without an access expectation"
    assert EXPECTED.keys() - routes == set(), "an expectation for a route that is gone"


@dataclass
class TenantRecords:
    """One tenant's keys (by role) and records."""

    headers: dict[str, dict[str, str]]
    job: int
    graduate: int
    graduate_external_id: str
    requisition: int


def _seed(client: TestClient, factory: sessionmaker, tenant: str) -> TenantRecords:  # type: ignore[type-arg]
    headers: dict[str, dict[str, str]] = {
        role: add_key(factory, role=role, tenant=tenant)[1] for role in ROLE_NAMES
    }
    agency = headers["agency"]
    # The employer key creates the posting, so it is the employer's own.
    job = client.post("/v1/jobs", json=make_job(f"{tenant}-job"), headers=headers["employer"])
    assert job.status_code == 201, job.text
    external_id = f"{tenant}-grad"
    graduate = client.post("/v1/graduates", json=make_graduate(external_id), headers=agency)
    assert graduate.status_code == 201, graduate.text
    requisition = client.post(
        "/v1/requisitions", json=make_requisition([job.json()["id"]]), headers=agency
    )
    assert requisition.status_code == 201, requisition.text
    rid = requisition.json()["id"]
    shortlisted = client.post(f"/v1/requisitions/{rid}/shortlist", headers=agency)
    assert [c["graduate_id"] for c in shortlisted.json()["shortlisted"]] == [graduate.json()["id"]]
    return TenantRecords(headers, job.json()["id"], graduate.json()["id"], external_id, rid)


@dataclass
class World:
    """Two tenants with records, and the connection whose savepoints isolate each case."""

    client: TestClient
    connection: Connection
    own: TenantRecords
    other: TenantRecords


@pytest.fixture
def world(
    app: FastAPI,
    session_factory: sessionmaker,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[World]:
    engine = app.state.match_engine

    def refit_in_the_calling_thread(tenant: str) -> bool:
        # Every session here shares the test's one connection, which cannot serve a
        # background thread beside the request: the same refit runs in the request's thread.
        engine.refit(tenant)
        return True

    monkeypatch.setattr(engine, "start_refit", refit_in_the_calling_thread)
    with TestClient(app) as client:
        own = _seed(client, session_factory, "default")
        other = _seed(client, session_factory, "other")
        yield World(client, session_factory.kw["bind"], own, other)


def _request(
    world: World, method: str, path: str, records: TenantRecords, headers: dict[str, str]
) -> int:
    """Send one request to `path` filled with `records`' ids; roll its effects back."""
    url = path.replace(":int}", "}").format(
        job_id=records.job, graduate_id=records.graduate, requisition_id=records.requisition
    )
    body: Any = BODIES.get((method, path))
    if callable(body):
        body = body(records)
    savepoint = world.connection.begin_nested()
    try:
        response = world.client.request(method, url, json=body, headers=headers)
    finally:
        savepoint.rollback()
    return response.status_code


BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/v1/jobs"): make_job("matrix-new"),
    ("POST", "/v1/jobs/bulk"): [make_job("matrix-bulk")],
    ("PATCH", "/v1/jobs/{job_id:int}"): {"headcount": 2},
    ("POST", "/v1/graduates"): make_graduate("matrix-new"),
    ("POST", "/v1/graduates/bulk"): [make_graduate("matrix-bulk")],
    ("POST", "/v1/graduates/erase"): lambda r: {"external_ids": [r.graduate_external_id]},
    ("PATCH", "/v1/graduates/{graduate_id:int}"): {"city": "杭州"},
    ("POST", "/v1/match"): {"job": {"title": "PLC工程师", "company": "宁波某装备", "city": "宁波"}},
    ("POST", "/v1/requisitions"): lambda r: make_requisition([r.job]),
    ("PATCH", "/v1/requisitions/{requisition_id:int}"): {"headcount": 3},
    ("POST", "/v1/requisitions/{requisition_id:int}/pipeline/{graduate_id:int}/events"): {
        "stage": "contacted",
        "recorded_by": "matrix",
    },
}

PROTECTED = sorted(key for key, roles in EXPECTED.items() if roles is not PUBLIC)


def test_public_routes_answer_without_a_key(world: World) -> None:
    for method, path in sorted(key for key, roles in EXPECTED.items() if roles is PUBLIC):
        assert _request(world, method, path, world.own, {}) == 200, path


def test_without_a_valid_key_every_other_route_is_401(world: World) -> None:
    for method, path in PROTECTED:
        for headers in (
            {},
            {"Authorization": "Bearer jm_not-a-real-key"},
            {"Authorization": "Basic YWRtaW46YWRtaW4="},
        ):
            assert _request(world, method, path, world.own, headers) == 401, (method, path)


def test_route_role_tenant_matrix(world: World) -> None:
    """Allowed roles: 2xx on their tenant's records, 404 on the other tenant's; others 403."""
    failures = []
    for method, path in PROTECTED:
        allowed = EXPECTED[(method, path)]
        assert allowed is not None
        addresses_a_record = "{" in path
        for role in ROLE_NAMES:
            headers = world.own.headers[role]
            own = _request(world, method, path, world.own, headers)
            if role not in allowed:
                expected_own = "403"
                ok = own == 403
            else:
                expected_own = "2xx"
                ok = 200 <= own < 300
            if not ok:
                failures.append(
                    f"{role} {method} {path} own tenant: {own}, expected {expected_own}"
                )
            if not addresses_a_record:
                continue
            other = _request(world, method, path, world.other, headers)
            expected_other = 404 if role in allowed else 403
            if other != expected_other:
                failures.append(
                    f"{role} {method} {path} other tenant: {other}, expected {expected_other}"
                )
    assert failures == []


def test_admin_reaches_another_tenant_only_by_choosing_it(world: World) -> None:
    admin = {**world.own.headers["admin"], "X-Tenant": "other"}
    for method, path in PROTECTED:
        status = _request(world, method, path, world.other, admin)
        assert 200 <= status < 300, (method, path, status)


@pytest.mark.parametrize("role", ["agency", "employer", "viewer"])
def test_only_admins_may_choose_a_tenant(world: World, role: str) -> None:
    headers = {**world.own.headers[role], "X-Tenant": "other"}
    for method, path in PROTECTED:
        assert _request(world, method, path, world.other, headers) == 403, (method, path)
    same = {**world.own.headers[role], "X-Tenant": "default"}
    assert _request(world, "GET", "/v1/jobs", world.own, same) == 200


def test_lists_hold_only_the_callers_tenant(world: World) -> None:
    agency = world.own.headers["agency"]
    for path, own_id, other_id in (
        ("/v1/jobs", world.own.job, world.other.job),
        ("/v1/graduates", world.own.graduate, world.other.graduate),
        ("/v1/requisitions", world.own.requisition, world.other.requisition),
    ):
        ids = [item["id"] for item in world.client.get(path, headers=agency).json()["items"]]
        assert own_id in ids and other_id not in ids, path
    matches = world.client.get(f"/v1/jobs/{world.own.job}/matches", headers=agency).json()
    graduate_ids = [m["graduate_id"] for m in matches["matches"]]
    assert world.own.graduate in graduate_ids and world.other.graduate not in graduate_ids


def test_an_employer_sees_only_the_postings_its_key_created(world: World) -> None:
    agency_job = world.client.post(
        "/v1/jobs", json=make_job("agency-owned"), headers=world.own.headers["agency"]
    ).json()["id"]
    employer = world.own.headers["employer"]
    listed = world.client.get("/v1/jobs", headers=employer).json()
    assert [item["id"] for item in listed["items"]] == [world.own.job]
    for method in ("GET", "PATCH", "DELETE"):
        body = {"headcount": 2} if method == "PATCH" else None
        response = world.client.request(
            method, f"/v1/jobs/{agency_job}", json=body, headers=employer
        )
        assert response.status_code == 404, method
    assert world.client.get(f"/v1/jobs/{agency_job}/matches", headers=employer).status_code == 404
    assert (
        world.client.get(f"/v1/jobs/{world.own.job}/matches", headers=employer).status_code == 200
    )


def test_a_requisition_cannot_name_another_tenants_posting(world: World) -> None:
    response = world.client.post(
        "/v1/requisitions",
        json=make_requisition([world.other.job]),
        headers=world.own.headers["agency"],
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "job_ids"


def test_a_revoked_key_is_refused(world: World, session_factory: sessionmaker) -> None:  # type: ignore[type-arg]
    from app.services.keys import revoke_key

    key_id, headers = add_key(session_factory, role="agency")
    assert world.client.get("/v1/jobs", headers=headers).status_code == 200
    with session_factory() as session:
        revoke_key(session, key_id=key_id)
        session.commit()
    response = world.client.get("/v1/jobs", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
