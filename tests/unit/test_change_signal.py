"""The SQLite change signal: it moves on every commit by another connection, and only then."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import create_engine, text

from app.matching.change_signal import DataVersion


def test_data_version_moves_on_every_commit_and_only_then(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'signal.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    signal = DataVersion(engine)
    first = signal.version()
    assert first is not None
    assert signal.version() == first  # nothing committed: unchanged

    with engine.begin() as connection:
        connection.execute(text("INSERT INTO t VALUES (1)"))
    second = signal.version()
    assert second is not None and second != first

    with engine.connect() as connection:  # a write rolled back is no change
        connection.execute(text("INSERT INTO t VALUES (2)"))
        connection.rollback()
    assert signal.version() == second
    signal.close()
    engine.dispose()


def test_no_signal_where_it_would_not_be_exact(tmp_path: Path) -> None:
    assert DataVersion(create_engine("sqlite://")).version() is None
    assert DataVersion(create_engine("postgresql+psycopg://u@127.0.0.1:1/x")).version() is None
    missing = DataVersion(create_engine(f"sqlite:///{tmp_path / 'absent' / 'x.db'}"))
    assert missing.version() is None


def test_a_commit_moves_the_number_every_thread_reads(tmp_path: Path) -> None:
    """Each thread reads its own connection: a commit after any thread's read moves what
    every thread reads next, a thread new to the signal included."""
    engine = create_engine(f"sqlite:///{tmp_path / 'signal.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    signal = DataVersion(engine)
    seen: dict[str, int | None] = {}

    def read(name: str) -> None:
        seen[name] = signal.version()

    def in_thread(name: str) -> None:
        thread = threading.Thread(target=read, args=(name,))
        thread.start()
        thread.join()

    in_thread("first")
    read("main before")
    assert signal.version() == seen["main before"]  # no commit: this thread's number holds
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO t VALUES (1)"))
    in_thread("first again")  # not the first thread: threads are not reused here
    read("main after")
    assert seen["main after"] not in (seen["first"], seen["main before"])
    assert seen["first again"] not in (seen["first"], seen["main before"])
    signal.close()
    engine.dispose()
