"""A batch re-ranking run from start to finish: fix the inputs (documents, ranking version, data
hash), cut the queries into chunks, rank the chunks in-process or on Dask, store each chunk
with its done mark in one transaction, switch the run to current when every chunk is stored.

Killed at any point, a run resumes from its stored chunks (`resume_run_id`) and ends with
exactly the rows of an uninterrupted run: the chunks are cut from the same data in the same
order, and each chunk's rows depend on that chunk alone.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson
from sqlalchemy.orm import Session, sessionmaker

from app.batch import store
from app.batch.inputs import (
    SIDES,
    QuerySet,
    candidate_side,
    other,
    query_set,
    rank_spec,
    side_documents,
)
from app.batch.sides import CandidateSide, ChunkResult, QueryChunk, RankSpec
from app.batch.topk import rank_chunk
from app.errors import AppError
from app.matching.documents import graduate_document, job_document
from app.matching.engine import MatchEngine
from app.model_store import ModelStore
from app.ranking import FilterSpec, GraduateDocument, JobDocument, MajorTable, Ranker
from app.ranking.features import Direction
from app.repositories import tenant_graduates, tenant_jobs
from app.tables import Graduate, MatchRun

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int], None]


def default_threads() -> int:
    """Threads for the sparse product in-process: every core, at least 2."""
    return max(2, os.cpu_count() or 2)


class RerankError(AppError):
    """A run cannot start or resume as asked."""

    status_code = 409
    code = "rerank_refused"


class RerankStopped(Exception):
    """A run stopped on request at a chunk boundary; `--resume` continues it."""

    def __init__(self, run_id: int) -> None:
        super().__init__(f"match run {run_id} stopped on request at a chunk boundary")
        self.run_id = run_id


@dataclass(frozen=True, slots=True)
class RerankOptions:
    """What a run computes and how it cuts the work (fixed for the run, kept in its params)."""

    sides: tuple[Direction, ...] = SIDES
    k: int = 20
    pool: int = 80
    chunk_rows: int = 2048

    def to_params(self) -> dict[str, Any]:
        """The options as stored in a run's params."""
        return {
            "sides": list(self.sides),
            "k": self.k,
            "pool": self.pool,
            "chunk_rows": self.chunk_rows,
        }

    @staticmethod
    def from_params(params: dict[str, Any]) -> RerankOptions:
        """The options a run was started with."""
        sides = tuple(side for side in SIDES if side in params["sides"])
        return RerankOptions(
            sides=sides, k=params["k"], pool=params["pool"], chunk_rows=params["chunk_rows"]
        )


@dataclass(slots=True)
class RerankInputs:
    """The fixed inputs of a run: the ranker (version + the tenant's documents) and a hash of
    every document as the ranking sees it."""

    ranker: Ranker
    version: str
    fitted_at: str
    data_hash: str
    jobs: int
    graduates: int


def data_hash(jobs: Sequence[JobDocument], graduates: Sequence[GraduateDocument]) -> str:
    """A content hash of every document (all fields the ranking reads), in id order."""
    digest = hashlib.sha256()
    for label, documents in (("job", jobs), ("graduate", graduates)):
        for document in sorted(documents, key=lambda d: d.id):
            digest.update(label.encode())
            digest.update(orjson.dumps(document))
    return digest.hexdigest()


def _documents(session: Session, tenant: str) -> tuple[list[JobDocument], list[GraduateDocument]]:
    jobs = tenant_jobs(session, tenant=tenant)
    # A graduate who opted out of personalised recommendations is neither ranked nor
    # offered by a batch run (PIPL art. 24); only an explicit request shortlists them.
    graduates = tenant_graduates(session, tenant=tenant, where=[Graduate.personalised.is_(True)])
    return [job_document(j) for j in jobs], [graduate_document(g) for g in graduates]


def load_inputs(
    session_factory: sessionmaker[Session],
    *,
    tenant: str,
    models_dir: Path,
    majors: MajorTable | None = None,
    version: str | None = None,
) -> RerankInputs:
    """The tenant's documents indexed with ranking `version` (default: the version its servers
    use; fitted and published first when there is none), as the online path ranks them."""
    store = ModelStore(models_dir)
    if version is None:
        version = store.current_version(tenant)
        if version is None:
            engine = MatchEngine(
                session_factory=session_factory, models_dir=models_dir, majors=majors
            )
            version = engine.refit(tenant)
            if version is None:
                raise RerankError(f"tenant {tenant!r} has no jobs or graduates to rank")
    if not store.has_version(tenant, version):
        raise RerankError(f"ranking version {version} is no longer in {store.tenant_dir(tenant)}")
    with session_factory() as session:
        jobs, graduates = _documents(session, tenant)
    ranker = store.load(tenant, version, jobs=jobs, graduates=graduates)
    manifest = store.manifest(tenant, version)
    return RerankInputs(
        ranker=ranker,
        version=version,
        fitted_at=str(manifest.get("created_at", "")),
        data_hash=data_hash(jobs, graduates),
        jobs=len(jobs),
        graduates=len(graduates),
    )


@dataclass(slots=True)
class SidePlan:
    """One side of a run: its candidates, its queries in chunk order, and the spec."""

    side: Direction
    candidates: CandidateSide
    queries: QuerySet
    spec: RankSpec
    chunks: int


def plan_sides(
    inputs: RerankInputs, options: RerankOptions, *, threads: int, filters: FilterSpec
) -> list[SidePlan]:
    """Candidates, queries and chunk count of every side of a run."""
    plans = []
    # Each side's documents are gathered once: they are candidates one way, queries the other.
    documents = {side: side_documents(inputs.ranker, side, filters) for side in SIDES}
    for side in options.sides:
        queries = query_set(inputs.ranker, side, filters, documents[other(side)])
        plans.append(
            SidePlan(
                side=side,
                candidates=candidate_side(inputs.ranker, side, filters, documents[side]),
                queries=queries,
                spec=rank_spec(
                    inputs.ranker, k=options.k, pool=options.pool, threads=threads, filters=filters
                ),
                chunks=queries.chunk_count(options.chunk_rows),
            )
        )
    return plans


class ChunkExecutor(Protocol):
    """Runs `rank_chunk` on numbered chunks of one side; results in any order."""

    threads: int

    def run(
        self, side: CandidateSide, chunks: list[tuple[int, QueryChunk]], spec: RankSpec
    ) -> Iterator[tuple[int, ChunkResult]]: ...


@dataclass(slots=True)
class LocalExecutor:
    """Chunks one after the other in this process, the sparse product on `threads` threads."""

    threads: int = field(default_factory=default_threads)

    def run(
        self, side: CandidateSide, chunks: list[tuple[int, QueryChunk]], spec: RankSpec
    ) -> Iterator[tuple[int, ChunkResult]]:
        """Rank each chunk in order."""
        for number, chunk in chunks:
            yield number, rank_chunk(side, chunk, spec)


def run_rerank(
    session_factory: sessionmaker[Session],
    *,
    tenant: str,
    inputs: RerankInputs,
    executor: ChunkExecutor,
    options: RerankOptions | None = None,
    resume_run_id: int | None = None,
    on_start: Callable[[MatchRun, int, int], None] | None = None,
    on_progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> int:
    """Run (or resume) a batch re-ranking to completion and make it current; returns its id.

    on_start(run, total queries, queries already done) is called once the chunks are known;
    on_progress(queries) after every stored chunk; should_stop() after every stored chunk too:
    True ends the run there with RerankStopped (resumable, nothing half-stored).
    """
    filters = FilterSpec()
    if resume_run_id is None:
        options = options or RerankOptions()
    else:
        with session_factory() as session:
            run = store.get_run(session, run_id=resume_run_id)
            params = dict(run.params)
            if run.tenant != tenant:
                raise RerankError(f"match run {run.id} belongs to tenant {run.tenant!r}")
        options = RerankOptions.from_params(params)
        if (params["version"], params["data_hash"]) != (inputs.version, inputs.data_hash):
            raise RerankError(
                f"match run {resume_run_id} cannot resume: the data changed since it started "
                f"(data hash {params['data_hash'][:12]} then, {inputs.data_hash[:12]} now; "
                f"ranking version {params['version']} then, {inputs.version} now). "
                "Start a new run."
            )
    plans = plan_sides(inputs, options, threads=executor.threads, filters=filters)
    params = {
        **options.to_params(),
        "filters": "default (open jobs, seeking graduates; education, city, salary)",
        "version": inputs.version,
        "fitted_at": inputs.fitted_at,
        "data_hash": inputs.data_hash,
        "documents": {"jobs": inputs.jobs, "graduates": inputs.graduates},
        "queries": {plan.side: len(plan.queries) for plan in plans},
        "candidates": {plan.side: len(plan.candidates) for plan in plans},
        "chunks": {plan.side: plan.chunks for plan in plans},
    }
    with session_factory.begin() as session:
        if resume_run_id is None:
            run = store.create_run(
                session,
                tenant=tenant,
                sides=options.sides,
                params=params,
                chunks_total=sum(plan.chunks for plan in plans),
            )
        else:
            run = store.get_run(session, run_id=resume_run_id)
            store.reopen_run(session, run=run)
        run_id = run.id
        done = store.done_chunks(session, run_id=run_id)
        total = sum(len(plan.queries) for plan in plans)
        finished = sum(
            min(options.chunk_rows, len(plan.queries) - number * options.chunk_rows)
            for plan in plans
            for number in range(plan.chunks)
            if (plan.side, number) in done
        )
        if on_start is not None:
            on_start(run, total, finished)
    logger.info("match run %d: %d of %d queries already stored", run_id, finished, total)
    try:
        for plan in plans:
            todo = [
                (number, plan.queries.chunk(number, options.chunk_rows))
                for number in range(plan.chunks)
                if (plan.side, number) not in done
            ]
            for number, result in executor.run(plan.candidates, todo, plan.spec):
                with session_factory.begin() as session:
                    store.store_chunk(
                        session, run_id=run_id, side=plan.side, chunk=number, result=result
                    )
                if on_progress is not None:
                    on_progress(result.queries)
                if should_stop is not None and should_stop():
                    raise RerankStopped(run_id)
        with session_factory.begin() as session:
            store.complete_run(session, run=store.get_run(session, run_id=run_id))
    except BaseException as exc:
        with session_factory.begin() as session:
            store.fail_run(session, run_id=run_id, error=f"{type(exc).__name__}: {exc}")
        raise
    with session_factory.begin() as session:
        pruned = store.prune_runs(session, tenant=tenant)
        store.refresh_statistics(session)
    if pruned:
        logger.info("pruned match runs %s", pruned)
    return run_id
