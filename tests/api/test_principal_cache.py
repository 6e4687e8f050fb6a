"""A worker keeps who a key is until its change signal moves (SQLite's data_version; on
PostgreSQL, notices from the change log, keys and tenants, counted after a round trip), so a
request with a known key runs no key query; a key revoked elsewhere (`jobmatch keys revoke`,
another worker) is refused on the very next request."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import sessionmaker

from app.db import create_db_engine
from app.main import create_app
from app.matching.change_signal import PostgresNotifications
from app.services.keys import revoke_key
from app.settings import Settings
from tests.factories import make_graduate, make_job
from tests.support import BACKENDS, add_key, fresh_database, statements_seen


@dataclass
class Workers:
    reader: TestClient
    writer: TestClient
    key_queries: list[str]
    cli: sessionmaker  # type: ignore[type-arg]  # what `jobmatch keys` commits through


@pytest.fixture(params=BACKENDS)
def workers(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workers]:
    with fresh_database(request.param, tmp_path) as url:
        settings = Settings(database_url=url, models_dir=tmp_path / "models", auth="on")
        reader_app, writer_app = create_app(settings), create_app(settings)
        key_queries = statements_seen(reader_app.state.engine, "FROM api_keys")
        cli_engine = create_db_engine(url)
        cli = sessionmaker(bind=cli_engine)
        try:
            with TestClient(writer_app) as writer:
                # A database with documents, as a worker meets at start-up.
                seeded = writer.post(
                    "/v1/jobs", json=make_job("seed"), headers=add_key(cli, role="agency")[1]
                )
                assert seeded.status_code == 201, seeded.text
                with TestClient(reader_app) as reader:
                    yield Workers(reader, writer, key_queries, cli)
        finally:
            cli_engine.dispose()


def test_a_known_key_is_looked_up_again_only_after_a_commit(workers: Workers) -> None:
    _key_id, headers = add_key(workers.cli, role="agency")
    for _ in range(3):
        assert workers.reader.get("/v1/jobs", headers=headers).status_code == 200
    assert len(workers.key_queries) == 1
    created = workers.writer.post("/v1/jobs", json=make_job("kyt"), headers=headers)
    assert created.status_code == 201, created.text
    assert workers.reader.get("/v1/jobs", headers=headers).status_code == 200
    assert len(workers.key_queries) == 2  # the other worker's commit moved the signal
    assert workers.reader.get("/v1/jobs", headers=headers).status_code == 200
    assert len(workers.key_queries) == 2


def test_a_key_revoked_elsewhere_is_refused_on_the_next_request(workers: Workers) -> None:
    key_id, headers = add_key(workers.cli, role="agency")
    for _ in range(2):
        assert workers.reader.get("/v1/jobs", headers=headers).status_code == 200
    with workers.cli() as session:
        revoke_key(session, key_id=key_id)
        session.commit()
    refused = workers.reader.get("/v1/jobs", headers=headers)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthorized"


def test_an_unknown_key_is_never_kept(workers: Workers) -> None:
    headers = {"Authorization": "Bearer jm_not-a-key"}
    for _ in range(2):
        assert workers.reader.get("/v1/jobs", headers=headers).status_code == 401
    assert len(workers.key_queries) == 2


def test_an_admin_keeps_each_tenant_it_chose_apart(workers: Workers) -> None:
    _admin, admin = add_key(workers.cli, role="admin")
    add_key(workers.cli, role="agency", tenant="zhongbo")
    own = workers.reader.get("/v1/jobs", headers=admin)
    other = workers.reader.get("/v1/jobs", headers={**admin, "X-Tenant": "zhongbo"})
    unknown = workers.reader.get("/v1/jobs", headers={**admin, "X-Tenant": "nosuch"})
    assert (own.status_code, other.status_code, unknown.status_code) == (200, 200, 422)
    # The same key asking for the other tenant again gets that tenant, not the first answer.
    created = workers.reader.post(
        "/v1/jobs", json=make_job("zb"), headers={**admin, "X-Tenant": "zhongbo"}
    )
    assert created.status_code == 201, created.text
    listed = workers.reader.get("/v1/jobs", headers={**admin, "X-Tenant": "zhongbo"})
    assert [job["id"] for job in listed.json()["items"]] == [created.json()["id"]]
    default_jobs = workers.reader.get("/v1/jobs", headers=admin).json()["items"]
    assert [job["external_id"] for job in default_jobs] == ["seed"]


# SQLite's change signal reads a local file: there is no round trip to count.
@pytest.mark.postgres
@pytest.mark.parametrize("workers", ["postgres"], indirect=True)
def test_a_match_read_costs_one_round_trip_on_postgresql(workers: Workers) -> None:
    """Its key check and its index catch-up share the change signal's round trip."""
    signal = workers.reader.app.state.match_engine.change_signal  # type: ignore[attr-defined]
    assert isinstance(signal, PostgresNotifications)
    _key_id, headers = add_key(workers.cli, role="agency")
    graduate = workers.writer.post(
        "/v1/graduates", json=make_graduate("one-trip"), headers=headers
    ).json()
    path = f"/v1/graduates/{graduate['id']}/matches"
    for _ in range(3):
        before = signal.round_trips
        assert workers.reader.get(path, headers=headers).status_code == 200
        assert signal.round_trips - before == 1
