"""Engine and session factory: pool sizing, connect and statement timeouts, SQLite write locks.

SQLite gets WAL, foreign keys and a busy timeout; a write transaction starts with BEGIN
IMMEDIATE, so it waits for the single writer lock up front instead of failing with "database is
locked" when it first writes after reading. PostgreSQL connections of the server carry a
statement timeout, and a client-side deadline on every wait for the server, so a frozen
database answers with an error (503) instead of a hang.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg.abc import PQGen
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger(__name__)

ResultT = TypeVar("ResultT")

# The execution option that makes the SQLite begin hook take the write lock at once.
SQLITE_BEGIN_OPTION = "jobmatch_sqlite_begin"
# Waits for a psycopg answer are sliced this finely, so a deadline is noticed promptly.
_PSYCOPG_WAIT_INTERVAL = 0.1


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """How long to wait for the database, and how many connections to keep."""

    connect_timeout_s: int = 10
    sqlite_busy_timeout_ms: int = 30_000
    # PostgreSQL only; None: no limit (batch commands run long statements on purpose).
    statement_timeout_s: float | None = None
    idle_in_transaction_timeout_s: float | None = None
    pool_size: int = 5
    max_overflow: int = 10
    pool_timeout_s: float = 30.0

    @property
    def server_wait_deadline_s(self) -> float | None:
        """The client's limit on one wait for the server: the server's own limit plus slack.

        The statement timeout is enforced by the server, so it cannot end a wait on a server
        that is frozen (SIGSTOP, a hung host): the client gives up a little later.
        """
        if self.statement_timeout_s is None:
            return None
        return self.statement_timeout_s + self.connect_timeout_s


class DeadlineConnection(psycopg.Connection[Any]):
    """A psycopg connection that gives up waiting for the server after `wait_deadline_s`.

    On expiry the connection is closed (its protocol state is unknown), so SQLAlchemy sees a
    disconnect, drops it from the pool and the request fails with OperationalError.
    """

    wait_deadline_s: float | None = None

    def wait(
        self,
        gen: PQGen[ResultT],
        interval: float = _PSYCOPG_WAIT_INTERVAL,
        timeout: float | None = None,
    ) -> ResultT:
        """Consume `gen`, bounded by the connection's deadline unless a timeout is given."""
        try:
            return super().wait(
                gen, interval=interval, timeout=timeout if timeout else self.wait_deadline_s
            )
        except psycopg.errors._WaitTimeout:
            self.close()
            raise psycopg.OperationalError(
                f"no answer from the database within {self.wait_deadline_s} s"
            ) from None


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _sqlite_connect_hook(busy_timeout_ms: int) -> Callable[[Any, Any], None]:
    def configure(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets readers run beside the writer; synchronous=FULL makes an acknowledged
        # commit survive power loss, not just a process crash; busy_timeout turns a
        # transient write lock into a wait instead of an error.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        # A deleted row's bytes are overwritten, not left in free pages: an erased graduate's
        # phone must not survive in the database file (PIPL art. 47).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    return configure


def _begin_sqlite(connection: Connection) -> None:
    mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "")
    connection.exec_driver_sql("BEGIN IMMEDIATE" if mode == "IMMEDIATE" else "BEGIN")


def _postgres_session_hook(limits: ConnectionLimits) -> Callable[[Any, Any], None]:
    settings = {
        "statement_timeout": limits.statement_timeout_s,
        "idle_in_transaction_session_timeout": limits.idle_in_transaction_timeout_s,
    }

    def configure(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            for name, seconds in settings.items():
                if seconds is not None:
                    cursor.execute(f"SET SESSION {name} = {int(seconds * 1000)}")
        dbapi_connection.commit()

    return configure


def normalize_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain postgresql:// URLs (psycopg2 is not installed)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def create_db_engine(url: str, limits: ConnectionLimits | None = None, **kwargs: Any) -> Engine:
    """Create an engine for `url`, creating the SQLite file's folder on first use."""
    limits = limits or ConnectionLimits()
    url = normalize_database_url(url)
    sqlite_file = _sqlite_file(url)
    if sqlite_file is not None:
        sqlite_file.parent.mkdir(parents=True, exist_ok=True)
    backend = make_url(url).get_backend_name()
    # hide_parameters: an IntegrityError or DataError message would otherwise carry the
    # statement's values (names and phones of a whole bulk) into the logs.
    options: dict[str, Any] = {"pool_pre_ping": True, "hide_parameters": True}
    if backend == "postgresql" or sqlite_file is not None:
        options |= {
            "pool_size": limits.pool_size,
            "max_overflow": limits.max_overflow,
            "pool_timeout": limits.pool_timeout_s,
        }
    if backend == "postgresql":
        options["connect_args"] = {"connect_timeout": limits.connect_timeout_s}
    engine = create_engine(url, **(options | kwargs))
    if engine.dialect.name == "sqlite":
        # pysqlite's own transaction handling breaks SAVEPOINT (used by bulk upserts):
        # SQLAlchemy's documented fix is to switch it off and emit BEGIN ourselves.
        event.listen(engine, "connect", _sqlite_connect_hook(limits.sqlite_busy_timeout_ms))
        event.listen(engine, "begin", _begin_sqlite)
    elif engine.dialect.name == "postgresql":
        deadline = limits.server_wait_deadline_s

        @event.listens_for(engine, "do_connect")
        def connect(_dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
            connection = DeadlineConnection.connect(*cargs, **cparams)
            connection.wait_deadline_s = deadline
            return connection

        event.listen(engine, "connect", _postgres_session_hook(limits))
    return engine


def create_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (responses render after it)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def is_database_locked(exc: OperationalError) -> bool:
    """SQLite's answer when its single writer lock stayed taken past the busy timeout."""
    return "database is locked" in str(exc.orig) or "database is busy" in str(exc.orig)


def begin_write(session: Session, *, attempts: int = 3) -> None:
    """Open the session's transaction as a writer: on SQLite, take the write lock up front.

    Waiting for the lock happens in SQLite (busy_timeout); when even that runs out, the BEGIN
    is retried a bounded number of times, since nothing was done yet that could be lost. On
    other databases, or a session already in a transaction, this just takes a connection.
    """
    bind = session.get_bind()
    if session.in_transaction() or bind.dialect.name != "sqlite" or not isinstance(bind, Engine):
        session.connection()
        return
    for attempt in range(1, attempts + 1):
        try:
            session.connection(execution_options={SQLITE_BEGIN_OPTION: "IMMEDIATE"})
            return
        except OperationalError as exc:
            session.rollback()
            if attempt == attempts or not is_database_locked(exc):
                raise
            # Each attempt waits up to busy_timeout again inside SQLite: no sleep needed here.
            logger.warning("SQLite write lock still taken (attempt %d of %d)", attempt, attempts)


@contextmanager
def write_transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A writer's session (SQLite write lock taken up front), committed or rolled back."""
    with factory() as session:
        begin_write(session)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def transaction_on(url: str) -> Iterator[Session]:
    """A one-off writer's session on `url`, its engine disposed after (commands, scripts)."""
    engine = create_db_engine(url)
    try:
        with write_transaction(create_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()
