"""Test helpers that run the real thing: servers, CLI commands, re-rank runs, error bodies."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from app.batch.rerank import (
    ChunkExecutor,
    LocalExecutor,
    RerankInputs,
    RerankOptions,
    load_inputs,
    run_rerank,
)
from app.benchmarks.load import running_server as serve_in_background
from app.cli import main
from app.db import create_session_factory
from app.settings import Settings
from app.tables import MatchRun

Factory = sessionmaker[Session]


@contextmanager
def running_server(
    database_url: str, port: int, folder: Path, workers: int = 1
) -> Iterator[subprocess.Popen[bytes]]:
    """`jobmatch serve` in a child process group on loopback, until the block ends."""
    with serve_in_background(database_url, folder, workers=workers, port=port) as (_, process):
        yield process


def error_fields(response: Any) -> list[str]:
    """The `field` of each entry of an error body's fields."""
    return [field["field"] for field in response.json()["error"].get("fields", [])]


IMPORT_TENANT = "import-test"


def run_import(
    kind: str, path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    """`jobmatch import KIND PATH` into IMPORT_TENANT in batches of 2: exit code and output."""
    code = main(
        [
            "import",
            kind,
            str(path),
            "--tenant",
            IMPORT_TENANT,
            "--database-url",
            database_url,
            "--batch-size",
            "2",
        ]
    )
    return code, capsys.readouterr().out


RERANK_OPTIONS = RerankOptions(k=8, pool=8, chunk_rows=16)


def rerank(
    factory: Factory,
    settings: Settings,
    *,
    options: RerankOptions = RERANK_OPTIONS,
    executor: ChunkExecutor | None = None,
    resume: int | None = None,
    inputs: RerankInputs | None = None,
) -> int:
    """One re-rank run of the default tenant, in process; returns its id."""
    inputs = inputs or load_inputs(factory, tenant="default", models_dir=settings.models_dir)
    return run_rerank(
        factory,
        tenant="default",
        inputs=inputs,
        executor=executor or LocalExecutor(threads=2),
        options=options,
        resume_run_id=resume,
    )


# Many small chunks, each its own transaction: the kill lands in the middle of the run.
CHUNK_ROWS = "4"


def jobmatch(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`jobmatch rerank ARGS` in a child process, its output appended to log."""
    with log.open("ab") as handle:
        return subprocess.Popen(
            [sys.executable, "-m", "app.cli", "rerank", "--no-progress", *args],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )


def newest_run(engine: Engine) -> MatchRun | None:
    """The latest re-rank run, if any."""
    with create_session_factory(engine)() as session:
        return session.scalars(select(MatchRun).order_by(MatchRun.id.desc())).first()
