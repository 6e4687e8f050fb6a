"""The SQLite change signal: it moves on every commit by another connection, and only then."""

from __future__ import annotations

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
