"""Regression for the tenant path traversal: `X-Tenant: ..` once deleted models/'s siblings.

Real files in a temporary tree: a models dir with precious files beside and above it. No
hostile tenant name, sent as a header or found in stored rows, touches any of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert
from sqlalchemy.orm import sessionmaker

from app.main import create_app
from app.settings import Settings
from app.tables import Job
from app.tenant_paths import is_valid_tenant_id
from tests.factories import make_job
from tests.support import KeyHeaders

# Every name an HTTP header can carry (NUL and newlines cannot travel in one: the unit tests
# check them against the path functions).
HEADER_NAMES = [
    "..",
    ".",
    "/",
    "../..",
    "../app",
    "%2e%2e",
    "%2e%2e%2f",
    "\uff0e\uff0e",
    "\u2024\u2024",
    "\u3002",
    "x" * 64,
    "Default",
    "..\\..",
]


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, list[Path]]:
    """srv/models (empty) and precious files where a traversal would land."""
    models = tmp_path / "srv" / "models"
    models.mkdir(parents=True)
    precious = [
        tmp_path / "srv" / "app" / "main.py",
        tmp_path / "srv" / ".git" / "HEAD",
        tmp_path / "srv" / "alembic.ini",
        tmp_path / "sibling" / "data.db",
    ]
    for path in precious:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("keep me")
    return models, precious


def _intact(models: Path, precious: list[Path]) -> None:
    assert all(path.read_text() == "keep me" for path in precious)
    # Only tenant folders (other tests' committed tenants may be warmed up here too).
    assert all(is_valid_tenant_id(p.name) and p.is_dir() for p in models.iterdir())


@pytest.fixture
def traversal_app(
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker,  # type: ignore[type-arg]
    tree: tuple[Path, list[Path]],
) -> FastAPI:
    return create_app(
        settings.model_copy(update={"models_dir": tree[0]}),
        engine=engine,
        session_factory=session_factory,
    )


def _encoded(name: str) -> bytes:
    return name.encode("utf-8")


@pytest.mark.parametrize("role", ["admin", "agency"])
def test_hostile_x_tenant_headers_are_refused_and_touch_nothing(
    traversal_app: FastAPI,
    tree: tuple[Path, list[Path]],
    key_headers: KeyHeaders,
    role: str,
) -> None:
    models, precious = tree
    headers = key_headers(role=role)
    with TestClient(traversal_app, headers=headers) as client:
        assert client.post("/v1/jobs", json=make_job("k1")).status_code == 201
        for name in HEADER_NAMES:
            hostile = {b"x-tenant": _encoded(name)}
            for method, url, body in (
                ("POST", "/v1/jobs", make_job("k2")),
                ("GET", "/v1/admin/index", None),
                ("GET", "/v1/jobs", None),
            ):
                response = client.request(method, url, json=body, headers=hostile)
                assert response.status_code in (403, 422), (name, url, response.text)
                fields = [f["field"] for f in response.json()["error"].get("fields", [])]
                assert fields == ["header.x-tenant"], (name, url, fields)
        assert client.get("/v1/admin/index").json()["jobs"] == 1
    _intact(models, precious)


def test_auth_off_still_refuses_hostile_and_unknown_tenants(
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker,  # type: ignore[type-arg]
    tree: tuple[Path, list[Path]],
) -> None:
    models, precious = tree
    app = create_app(
        settings.model_copy(update={"models_dir": models, "auth": "off"}),
        engine=engine,
        session_factory=session_factory,
    )
    with TestClient(app) as client:
        assert client.post("/v1/jobs", json=make_job("k1")).status_code == 201
        for name in [*HEADER_NAMES, "nosuchagency"]:
            response = client.get("/v1/admin/index", headers={b"x-tenant": _encoded(name)})
            assert response.status_code == 422, name
            assert response.json()["error"]["fields"] == [
                {
                    "field": "header.x-tenant",
                    "message": response.json()["error"]["fields"][0]["message"],
                }
            ]
        assert client.get("/v1/admin/index").json()["jobs"] == 1
    _intact(models, precious)


@pytest.mark.parametrize(
    "stored", ["..", ".", "../app", "a/../..", "%2e%2e", "\uff0e\uff0e", "x" * 64]
)
def test_rows_of_an_invalid_stored_tenant_are_never_turned_into_a_path(
    traversal_app: FastAPI,
    tree: tuple[Path, list[Path]],
    session_factory: sessionmaker,  # type: ignore[type-arg]
    key_headers: KeyHeaders,
    stored: str,
) -> None:
    """Data written before tenant ids were checked: start-up (which rebuilds every tenant's
    index) and later refits leave the files around models/ alone."""
    models, precious = tree
    with session_factory() as session:
        legacy = {**make_job("legacy"), "tenant": stored, "posted_at": None}
        session.execute(insert(Job), [legacy])
        session.commit()
    with TestClient(traversal_app, headers=key_headers(role="agency")) as client:
        assert client.post("/v1/jobs", json=make_job("k1")).status_code == 201
        # In the request thread: the test's sessions share one connection.
        assert traversal_app.state.match_engine.refit("default") is not None
    # A second start: warm-up runs again over every stored tenant.
    with TestClient(traversal_app, headers=key_headers(role="agency")) as client:
        assert client.get("/v1/admin/index").json()["jobs"] == 1
    _intact(models, precious)


@pytest.fixture
def many_versions(
    traversal_app: FastAPI, key_headers: KeyHeaders
) -> Iterator[tuple[TestClient, Path]]:
    with TestClient(traversal_app, headers=key_headers(role="agency")) as client:
        yield client, traversal_app.state.settings.models_dir


def test_pruning_old_versions_stays_inside_the_tenant_folder(
    many_versions: tuple[TestClient, Path], tree: tuple[Path, list[Path]]
) -> None:
    client, models = many_versions
    client.post("/v1/jobs", json=make_job("k1"))
    engine = client.app.state.match_engine  # type: ignore[attr-defined]
    for _ in range(5):
        engine.refit("default")
    versions = [p for p in (models / "default").iterdir() if p.is_dir()]
    assert len(versions) == 3  # the three newest kept, the rest removed through the guard
    _intact(models, tree[1])
