"""Match runs in the database: create, store a chunk with its done mark, switch the current
run, read the current run's rows, export, prune. Plain functions over a Session; they flush,
the caller commits."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from app.errors import ConflictError, NotFoundError
from app.tables import CurrentMatchRun, MatchRun, MatchRunChunk, MatchRunRow, utcnow

if TYPE_CHECKING:  # the web process reads runs without loading the ranking libraries
    from app.batch.sides import ChunkResult

ROW_COLUMNS = (
    "run_id",
    "side",
    "query_id",
    "rank",
    "candidate_id",
    "score",
    "text",
    "major",
    "education",
    "city",
    "salary",
)
# Complete runs kept per tenant besides the current ones: a reader that looked up the pointer
# just before a switch still finds its rows.
RUNS_KEPT = 2


def create_run(
    session: Session,
    *,
    tenant: str,
    sides: Sequence[str],
    params: dict[str, Any],
    chunks_total: int,
) -> MatchRun:
    """A new run in status running."""
    run = MatchRun(
        tenant=tenant,
        sides=",".join(sides),
        params=params,
        status="running",
        chunks_total=chunks_total,
        chunks_done=0,
        rows=0,
        started_at=utcnow(),
    )
    session.add(run)
    session.flush()
    return run


def get_run(session: Session, *, run_id: int) -> MatchRun:
    """A run by id, else NotFoundError."""
    run = session.get(MatchRun, run_id)
    if run is None:
        raise NotFoundError(f"match run {run_id} not found")
    return run


def list_runs(session: Session, *, tenant: str, limit: int = 20) -> list[MatchRun]:
    """The tenant's newest runs first."""
    query = select(MatchRun).where(MatchRun.tenant == tenant).order_by(MatchRun.id.desc())
    return list(session.scalars(query.limit(limit)))


def done_chunks(session: Session, *, run_id: int) -> set[tuple[str, int]]:
    """(side, chunk) of every chunk of the run whose rows are stored."""
    rows = session.execute(
        select(MatchRunChunk.side, MatchRunChunk.chunk).where(MatchRunChunk.run_id == run_id)
    )
    return {(side, chunk) for side, chunk in rows}


def store_chunk(
    session: Session, *, run_id: int, side: str, chunk: int, result: ChunkResult
) -> None:
    """A chunk's rows and its done mark (one transaction, the caller's)."""
    n = len(result)
    if n:
        parts = result.parts
        columns = (
            [run_id] * n,
            [side] * n,
            result.query_ids.tolist(),
            result.ranks.tolist(),
            result.candidate_ids.tolist(),
            result.scores.tolist(),
            result.text.tolist(),
            parts.major.tolist(),
            parts.education.tolist(),
            parts.city.tolist(),
            parts.salary.tolist(),
        )
        _insert_rows(session, list(zip(*columns, strict=True)))
    session.add(
        MatchRunChunk(
            run_id=run_id,
            side=side,
            chunk=chunk,
            queries=result.queries,
            rows=n,
            finished_at=utcnow(),
        )
    )
    session.execute(
        update(MatchRun)
        .where(MatchRun.id == run_id)
        .values(chunks_done=MatchRun.chunks_done + 1, rows=MatchRun.rows + n)
    )
    session.flush()


def _insert_rows(session: Session, rows: list[tuple[Any, ...]]) -> None:
    """Bulk insert into match_run_rows: COPY on PostgreSQL, executemany elsewhere."""
    connection = session.connection()
    names = ", ".join(ROW_COLUMNS)
    if connection.dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        assert raw is not None
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY match_run_rows ({names}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" * len(ROW_COLUMNS))
    connection.exec_driver_sql(f"INSERT INTO match_run_rows ({names}) VALUES ({marks})", rows)


def complete_run(session: Session, *, run: MatchRun) -> None:
    """Mark the run complete and make it the current one of each of its sides, atomically
    with the caller's commit; readers see the previous run until then."""
    if run.chunks_done != run.chunks_total:
        raise ConflictError(
            f"match run {run.id} has {run.chunks_done} of {run.chunks_total} chunks stored"
        )
    now = utcnow()
    run.status = "complete"
    run.finished_at = now
    run.error = None
    for side in run.sides.split(","):
        current = session.get(CurrentMatchRun, (run.tenant, side))
        if current is None:
            session.add(
                CurrentMatchRun(tenant=run.tenant, side=side, run_id=run.id, switched_at=now)
            )
        else:
            current.run_id = run.id
            current.switched_at = now
    session.flush()


def fail_run(session: Session, *, run_id: int, error: str) -> None:
    """Record why a run stopped (it can still be resumed)."""
    session.execute(
        update(MatchRun).where(MatchRun.id == run_id).values(status="failed", error=error[:2000])
    )
    session.flush()


def reopen_run(session: Session, *, run: MatchRun) -> None:
    """A failed or interrupted run goes back to running for a resume."""
    if run.status == "complete":
        raise ConflictError(f"match run {run.id} is already complete")
    run.status = "running"
    run.error = None
    session.flush()


def prune_runs(session: Session, *, tenant: str, keep: int = RUNS_KEPT) -> list[int]:
    """Delete the tenant's complete runs that are not current and not among the `keep`
    newest complete ones; returns their ids. Running and failed runs stay (resumable)."""
    current = set(
        session.scalars(select(CurrentMatchRun.run_id).where(CurrentMatchRun.tenant == tenant))
    )
    complete = list(
        session.scalars(
            select(MatchRun.id)
            .where(MatchRun.tenant == tenant, MatchRun.status == "complete")
            .order_by(MatchRun.id.desc())
        )
    )
    stale = [run_id for run_id in complete[keep:] if run_id not in current]
    if stale:
        session.execute(delete(MatchRunRow).where(MatchRunRow.run_id.in_(stale)))
        session.execute(delete(MatchRunChunk).where(MatchRunChunk.run_id.in_(stale)))
        session.execute(delete(MatchRun).where(MatchRun.id.in_(stale)))
        session.flush()
    return stale


def refresh_statistics(session: Session) -> None:
    """ANALYZE match_run_rows on PostgreSQL after a bulk load, so plans see its real size (the
    autovacuum daemon would only get to it later)."""
    if session.connection().dialect.name == "postgresql":
        session.execute(text("ANALYZE match_run_rows"))


@dataclass(frozen=True, slots=True)
class StoredMatch:
    """One stored candidate of a query in a run."""

    rank: int
    candidate_id: int
    score: float
    text: float
    major: float
    education: float
    city: float
    salary: float


def current_matches(
    session: Session, *, tenant: str, side: str, query_id: int, k: int
) -> tuple[MatchRun | None, list[StoredMatch]]:
    """The current run of a side and the query's best `k` rows in it (one statement, so the
    pointer and the rows are read from the same snapshot)."""
    rows = session.execute(
        select(
            MatchRunRow.run_id,
            MatchRunRow.rank,
            MatchRunRow.candidate_id,
            MatchRunRow.score,
            MatchRunRow.text,
            MatchRunRow.major,
            MatchRunRow.education,
            MatchRunRow.city,
            MatchRunRow.salary,
        )
        .join(
            CurrentMatchRun,
            (CurrentMatchRun.run_id == MatchRunRow.run_id)
            & (CurrentMatchRun.side == MatchRunRow.side),
        )
        .where(
            CurrentMatchRun.tenant == tenant,
            CurrentMatchRun.side == side,
            MatchRunRow.query_id == query_id,
            MatchRunRow.rank <= k,
        )
        .order_by(MatchRunRow.rank)
    ).all()
    if rows:
        run = session.get(MatchRun, rows[0].run_id)
    else:
        run_id = session.scalar(
            select(CurrentMatchRun.run_id).where(
                CurrentMatchRun.tenant == tenant, CurrentMatchRun.side == side
            )
        )
        run = session.get(MatchRun, run_id) if run_id is not None else None
    return run, [StoredMatch(*row[1:]) for row in rows]


def current_run_id(session: Session, *, tenant: str, side: str) -> int | None:
    """The id of the side's current run, if any."""
    return session.scalar(
        select(CurrentMatchRun.run_id).where(
            CurrentMatchRun.tenant == tenant, CurrentMatchRun.side == side
        )
    )


def iter_run_rows(
    session: Session, *, run_id: int, batch_size: int = 100_000
) -> Iterator[list[tuple[Any, ...]]]:
    """The run's rows in (side, query, rank) order, in lists of `batch_size`, keyset-paged."""
    after: tuple[str, int, int] = ("", -1, -1)
    columns = [getattr(MatchRunRow, name) for name in ROW_COLUMNS]
    while True:
        side, query_id, rank = after
        key = (MatchRunRow.side, MatchRunRow.query_id, MatchRunRow.rank)
        newer = (
            (key[0] > side)
            | ((key[0] == side) & (key[1] > query_id))
            | ((key[0] == side) & (key[1] == query_id) & (key[2] > rank))
        )
        rows = session.execute(
            select(*columns)
            .where(MatchRunRow.run_id == run_id, newer)
            .order_by(*key)
            .limit(batch_size)
        ).all()
        if not rows:
            return
        yield [tuple(row) for row in rows]
        last = rows[-1]
        after = (last.side, last.query_id, last.rank)


def count_rows(session: Session, *, run_id: int) -> int:
    """How many rows the run holds."""
    return int(session.scalar(select(func.count()).where(MatchRunRow.run_id == run_id)) or 0)
