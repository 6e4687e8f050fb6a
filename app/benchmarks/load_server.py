"""The server and the data a load run drives: `jobmatch serve` in its own process group on
loopback, a seeded scratch database, and an agency key (split from load.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2 as httpx
from sqlalchemy import Engine, select, text
from sqlalchemy.engine import make_url

from app.db import (
    create_db_engine,
    create_session_factory,
    normalize_database_url,
    transaction_on,
)
from app.services.keys import create_key
from app.tables import DEFAULT_TENANT


def free_port() -> int:
    """A TCP port on loopback nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def stop_process_group(process: subprocess.Popen[bytes], *, grace_s: float) -> None:
    """SIGTERM the process and everything it started, SIGKILL whatever outlives the grace."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            pass
        except ProcessLookupError:
            return
    # Workers whose parent is gone would linger: the whole group goes, every time.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


@contextmanager
def running_server(
    database_url: str,
    folder: Path,
    *,
    workers: int = 2,
    port: int | None = None,
    env: dict[str, str] | None = None,
    start_timeout_s: float = 300,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`jobmatch serve` in a process group of its own on loopback; stopped and reaped after."""
    port = port or free_port()
    environment = {
        **os.environ,
        "JOBMATCH_DATABASE_URL": database_url,
        "JOBMATCH_MODELS_DIR": str(folder / "models"),
        "JOBMATCH_LOG_LEVEL": "WARNING",
        **(env or {}),
    }
    command = [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(workers)]
    log_path = folder / f"server-{port}.log"
    base = f"http://127.0.0.1:{port}"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + start_timeout_s
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield base, process
    finally:
        stop_process_group(process, grace_s=30)


def agency_key_headers(database_url: str) -> dict[str, str]:
    """Request headers with a new agency key of the default tenant (load goes through auth)."""
    with transaction_on(database_url) as session:
        created = create_key(session, tenant=DEFAULT_TENANT, role="agency", name="bench load")
    return {"Authorization": f"Bearer {created.secret}"}


def seed_database(database_url: str, *, jobs: int, graduates: int, seed: int = 7) -> None:
    """Migrate and load synthetic postings and graduates (tenant `default`)."""
    from app.demo import generate_demo
    from app.importing.load import load_records
    from app.migrations import upgrade_database
    from app.schemas.graduates import GraduateCreate
    from app.schemas.jobs import JobCreate
    from app.tables import Graduate, Job

    upgrade_database(url=database_url)
    engine = create_db_engine(database_url)
    factory = create_session_factory(engine)
    dataset = generate_demo(seed=seed, n_jobs=jobs, n_graduates=graduates)
    try:
        for table, schema, rows in (
            (Job, JobCreate, dataset.jobs),
            (Graduate, GraduateCreate, dataset.graduates),
        ):
            load_records(
                factory,
                table,
                schema,
                tenant="default",
                records=((n + 1, dict(row), None) for n, row in enumerate(rows)),
            )
    finally:
        engine.dispose()


def seeded_ids(engine: Engine) -> tuple[list[int], list[int]]:
    """Ids of the seeded jobs and graduates."""
    from app.tables import Graduate, Job

    with create_session_factory(engine)() as session:
        return (
            list(session.scalars(select(Job.id).order_by(Job.id))),
            list(session.scalars(select(Graduate.id).order_by(Graduate.id))),
        )


@contextmanager
def scratch_database(database_url: str | None, folder: Path) -> Iterator[str]:
    """A fresh SQLite file, or a private schema of the PostgreSQL database given (dropped)."""
    if database_url is None or make_url(database_url).get_backend_name() == "sqlite":
        yield database_url or f"sqlite:///{folder / 'load.db'}"
        return
    schema = f"jobmatch_load_{uuid.uuid4().hex[:12]}"
    admin = create_db_engine(database_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = make_url(normalize_database_url(database_url)).update_query_dict(
            {"options": f"-csearch_path={schema}"}
        )
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
