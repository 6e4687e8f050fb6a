"""Logs never hold personal data: a full API session over real HTTP (uvicorn on loopback,
its access log on) with distinctive names, phones and e-mails, then every captured record,
in uvicorn's access log format too, is searched for them."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2 as httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError
from uvicorn.logging import AccessFormatter

from app.db import create_db_engine
from app.main import create_app
from app.settings import Settings
from app.tables import Graduate
from tests.factories import make_graduate, make_job
from tests.support import add_live_key

NAME = "蔺霁琰"
PHONE = "19912345876"
EMAIL = "lin.distinct-7781@example.org"
SECRETS = (NAME, PHONE, EMAIL, "lin.distinct-7781")
ACCESS_FORMAT = '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s'


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """The app under uvicorn on a free loopback port, in a thread; stopped on exit."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=True)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_a_full_session_leaves_no_personal_data_in_the_logs(
    live_database_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    # `jobmatch serve`'s logging config (applied by other tests in this process) keeps
    # uvicorn's access logger to itself: here its lines must reach the capture.
    for name in ("uvicorn", "uvicorn.access", "uvicorn.error", "app.access"):
        monkeypatch.setattr(logging.getLogger(name), "propagate", True)
        monkeypatch.setattr(logging.getLogger(name), "disabled", False)
        caplog.set_level(logging.DEBUG, logger=name)
    # Statement logging on too: even the SQL echo must show no values.
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    headers = add_live_key(live_database_url)
    settings = Settings(
        database_url=live_database_url, models_dir=tmp_path / "models", log_level="DEBUG"
    )
    app = create_app(settings)
    person = make_graduate("pii-log", name=NAME, phone=PHONE, email=EMAIL)
    with serving(app) as base, httpx.Client(base_url=base, headers=headers, timeout=60) as http:
        assert http.post("/v1/jobs", json=make_job("job-log")).status_code == 201
        created = http.post("/v1/graduates", json=person)
        assert created.status_code == 201
        graduate_id = created.json()["id"]
        assert http.post("/v1/graduates", json=person).status_code == 409
        # Personal data in query strings: kept out of the access log.
        assert http.get("/v1/graduates", params={"q": NAME}).status_code == 200
        assert http.get("/v1/graduates", params={"q": PHONE, "include": "contact"}).is_success
        assert http.get(f"/v1/graduates/{graduate_id}", params={"note": EMAIL}).is_success
        bad = http.patch(f"/v1/graduates/{graduate_id}", json={"phone": f"x{PHONE}x"})
        assert bad.status_code == 422
        # A NUL byte: PostgreSQL refuses the text, a DataError that once logged the whole bulk
        # (its status is the input rules' business; here only what reaches the log counts).
        nul = {**person, "external_id": "pii-nul", "name": f"{NAME}\x00"}
        # Its own connection: a 500 closes the connection it came on.
        httpx.post(f"{base}/v1/graduates/bulk", json=[nul], headers=headers, timeout=60)
        assert http.get(f"/v1/jobs/{1}/matches", params={"city": NAME}).status_code in (200, 404)
        assert (
            http.delete(f"/v1/graduates/{graduate_id}", params={"erase": "true"}).status_code == 204
        )
        unauthenticated = httpx.get(f"{base}/v1/graduates", params={"q": PHONE})
        assert unauthenticated.status_code == 401

    # An IntegrityError's message: SQLAlchemy would put the row's values in it.
    engine = create_db_engine(live_database_url)
    try:
        row = {**person, "tenant": "default", "external_id": "pii-dup"}
        with engine.begin() as connection:
            connection.execute(insert(Graduate), [row])
        with pytest.raises(IntegrityError) as raised, engine.begin() as connection:
            connection.execute(insert(Graduate), [row])
        logging.getLogger("test").warning("integrity error: %s", raised.value)
        with engine.begin() as connection:
            connection.execute(delete(Graduate).where(Graduate.external_id == "pii-dup"))
    finally:
        engine.dispose()

    # The test's own HTTP client logs the URLs it requests; that is the caller, not the service.
    service = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    access = [r for r in service if r.name == "uvicorn.access"]
    assert len(access) >= 10, "the access log was not captured"
    formatter = AccessFormatter(ACCESS_FORMAT, use_colors=False)
    lines = [formatter.format(record) for record in access]
    assert any('"GET /v1/graduates HTTP/1.1" 200' in line for line in lines)
    plain = logging.Formatter("%(levelname)s %(name)s %(message)s")
    everything = "\n".join([*lines, *(plain.format(record) for record in service)])
    assert "integrity error" in everything and "INSERT INTO graduates" in everything
    leaked = [secret for secret in SECRETS if secret in everything]
    assert leaked == [], f"personal data in the logs: {leaked}"
    assert "?" not in "".join(lines), "a query string reached the access log"
