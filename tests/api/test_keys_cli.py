"""`jobmatch tenants` and `jobmatch keys`: a key is printed once, only its hash is stored, it
works until revoked; `serve` refuses a remote address while auth is off; the OpenAPI
declares the bearer scheme."""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.cli import main
from app.commands.serve import is_loopback
from app.db import create_db_engine
from app.main import create_app
from app.settings import Settings
from app.tables import ApiKey
from tests.factories import make_job


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_tenants_and_keys_from_the_command_line(
    live_database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ("--database-url", live_database_url)
    assert _run(capsys, "tenants", "create", "zhongbo", "--name", "宁波中博", *db)[0] == 0
    code, out = _run(capsys, "tenants", "create", "zhongbo", *db)
    assert code == 1 and "already exists" in out
    for hostile in ("..", "../models", "Zhongbo", "a" * 33, "%2e%2e"):
        code, out = _run(capsys, "tenants", "create", hostile, *db)
        assert code == 1 and "does not match" in out, hostile
    assert "宁波中博" in _run(capsys, "tenants", "list", *db)[1]

    code, out = _run(capsys, "keys", "create", "--tenant", "nosuch", "--role", "agency", *db)
    assert code == 1 and "not found" in out
    code, out = _run(
        capsys, "keys", "create", "--tenant", "zhongbo", "--role", "agency", "--name", "ops", *db
    )
    assert code == 0
    secret = next(line for line in out.splitlines() if line.startswith("jm_"))
    assert len(secret) == 3 + 43  # 32 random bytes, URL-safe base64

    engine = create_db_engine(live_database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(ApiKey)).mappings().all()
    finally:
        engine.dispose()
    assert len(rows) == 1
    assert rows[0]["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert all(secret not in str(value) for value in rows[0].values())  # only the hash

    listing = _run(capsys, "keys", "list", *db)[1]
    assert "ops" in listing and "active" in listing and secret not in listing

    settings = Settings(database_url=live_database_url, models_dir=tmp_path / "models")
    with TestClient(create_app(settings)) as client:
        bearer = {"Authorization": f"Bearer {secret}"}
        created = client.post("/v1/jobs", json=make_job("cli-key"), headers=bearer)
        assert created.status_code == 201 and created.json()["tenant"] == "zhongbo"
        assert _run(capsys, "keys", "revoke", str(rows[0]["id"]), *db)[0] == 0
        assert client.get("/v1/jobs", headers=bearer).status_code == 401
    assert "revoked" in _run(capsys, "keys", "list", "--tenant", "zhongbo", *db)[1]


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.5", False),
        ("example.org", False),
    ],
)
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_serve_refuses_a_remote_address_while_auth_is_off(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "JOBMATCH_AUTH": "off",
        "JOBMATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
    }
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--host", "0.0.0.0", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "refusing to serve on 0.0.0.0 with JOBMATCH_AUTH=off" in done.stdout


def test_auth_off_is_announced_loudly(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        create_app(settings.model_copy(update={"auth": "off"}))
    assert any("AUTHENTICATION IS OFF" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        create_app(settings)
    assert not any("AUTHENTICATION IS OFF" in r.getMessage() for r in caplog.records)


def test_auth_is_on_unless_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOBMATCH_AUTH", raising=False)
    assert Settings(_env_file=None).auth == "on"


def test_openapi_declares_the_bearer_scheme(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["ApiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["ApiKey"]["description"],
    }
    assert spec["paths"]["/v1/jobs"]["get"]["security"] == [{"ApiKey": []}]
    assert "security" not in spec["paths"]["/healthz"]["get"]
