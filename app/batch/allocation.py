"""Allocation over a Session: the candidate pairs of batch runs, the open jobs' headcounts and
the seeking graduates → an assignment stored as an allocation. Plain functions; they flush,
the caller commits."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.batch import store
from app.batch.assign import EXACT_LIMIT, Assignment, Pairs, assign
from app.errors import NotFoundError, ValidationFailed
from app.repositories import tenant_graduate_ids, tenant_job_ids
from app.tables import Allocation, AllocationRow, Graduate, Job, MatchRunRow, utcnow

SIDES = ("jobs", "graduates")


@dataclass(frozen=True, slots=True)
class AllocationOutcome:
    """A stored allocation and what it achieved."""

    allocation_id: int | None
    assignment: Assignment
    run_ids: list[int]
    pairs: int
    places: int
    jobs_filled: int
    seconds: float


def candidate_pairs(
    session: Session,
    *,
    tenant: str,
    run_ids: Sequence[int],
    job_ids: Sequence[int] | None = None,
) -> Pairs:
    """The (graduate, job) pairs the runs ranked, from either side, once each, between open
    jobs and seeking graduates as they are now (optionally only `job_ids`)."""
    # Plain lookups filtered here rather than a join: the plan cannot go wrong on a table
    # whose statistics predate a bulk load.
    open_jobs = np.asarray(
        tenant_job_ids(session, tenant=tenant, where=[Job.status == "open"]), dtype=np.int64
    )
    seeking = np.asarray(
        tenant_graduate_ids(session, tenant=tenant, where=[Graduate.status == "seeking"]),
        dtype=np.int64,
    )
    if job_ids is not None:
        open_jobs = np.intersect1d(open_jobs, np.asarray(list(job_ids), dtype=np.int64))
    graduates: list[np.ndarray[Any, np.dtype[np.int64]]] = []
    jobs: list[np.ndarray[Any, np.dtype[np.int64]]] = []
    scores: list[np.ndarray[Any, np.dtype[np.float64]]] = []
    for side in SIDES:
        rows = session.execute(
            select(MatchRunRow.query_id, MatchRunRow.candidate_id, MatchRunRow.score).where(
                MatchRunRow.run_id.in_(list(run_ids)), MatchRunRow.side == side
            )
        ).all()
        if not rows:
            continue
        table = np.array([(q, c) for q, c, _ in rows], dtype=np.int64)
        # Side "jobs" ranks jobs (candidates) for graduates (queries); "graduates" the reverse.
        graduate, job = (table[:, 0], table[:, 1]) if side == "jobs" else (table[:, 1], table[:, 0])
        keep = np.isin(job, open_jobs) & np.isin(graduate, seeking)
        graduates.append(graduate[keep])
        jobs.append(job[keep])
        scores.append(np.array([score for _, _, score in rows], dtype=np.float64)[keep])
    if not graduates:
        empty = np.empty(0, dtype=np.int64)
        return Pairs(empty, empty, np.empty(0, dtype=np.float64))
    graduate_ids, pair_jobs = np.concatenate(graduates), np.concatenate(jobs)
    # A pair ranked from both sides has the same score both times: keep it once.
    _, first = np.unique(np.stack([graduate_ids, pair_jobs]), axis=1, return_index=True)
    return Pairs(graduate_ids[first], pair_jobs[first], np.concatenate(scores)[first])


def headcounts(session: Session, *, tenant: str, job_ids: Sequence[int]) -> dict[int, int]:
    """Places of each open job."""
    rows = session.execute(
        select(Job.id, Job.headcount).where(
            Job.tenant == tenant, Job.status == "open", Job.id.in_(list(job_ids))
        )
    )
    return {int(job_id): int(headcount) for job_id, headcount in rows}


def current_run_ids(session: Session, *, tenant: str) -> list[int]:
    """The tenant's current run of each side (one or two runs)."""
    ids = {store.current_run_id(session, tenant=tenant, side=side) for side in SIDES}
    return sorted(run_id for run_id in ids if run_id is not None)


def allocate(
    session: Session,
    *,
    tenant: str,
    run_id: int | None = None,
    job_ids: Sequence[int] | None = None,
    per_graduate: int = 1,
    method: Literal["auto", "exact", "greedy"] = "auto",
    exact_limit: int = EXACT_LIMIT,
    save: bool = True,
) -> AllocationOutcome:
    """Assign seeking graduates to open jobs within headcounts, each graduate at most
    `per_graduate` times, maximising the total score over the pairs of the current batch runs
    (or of `run_id`); exact up to `exact_limit` pairs with method auto. Stored unless
    save=False."""
    if per_graduate < 1:
        raise ValidationFailed(
            "per_graduate must be at least 1",
            details=[{"field": "per_graduate", "message": "must be at least 1"}],
        )
    if run_id is not None:
        if store.get_run(session, run_id=run_id).tenant != tenant:
            raise NotFoundError(f"match run {run_id} not found")
        run_ids = [run_id]
    else:
        run_ids = current_run_ids(session, tenant=tenant)
        if not run_ids:
            raise NotFoundError(
                f"no complete batch run for tenant {tenant}; run `jobmatch rerank` first"
            )
    started = time.perf_counter()
    pairs = candidate_pairs(session, tenant=tenant, run_ids=run_ids, job_ids=job_ids)
    capacity = headcounts(session, tenant=tenant, job_ids=np.unique(pairs.job_ids).tolist())
    assignment = assign(pairs, capacity, per_graduate, method=method, exact_limit=exact_limit)
    seconds = time.perf_counter() - started
    jobs_filled = sum(
        1
        for job, count in zip(*np.unique(assignment.job_ids, return_counts=True), strict=True)
        if count >= capacity[int(job)]
    )
    allocation_id = None
    if save:
        allocation = Allocation(
            tenant=tenant,
            run_ids=run_ids,
            method=assignment.method,
            per_graduate=per_graduate,
            assigned=len(assignment),
            total_score=assignment.total,
            params={
                "method_asked": method,
                "exact_limit": exact_limit,
                "pairs": len(pairs),
                "places": sum(capacity.values()),
                "job_ids": list(job_ids) if job_ids is not None else None,
                "seconds": round(seconds, 3),
            },
            created_at=utcnow(),
        )
        session.add(allocation)
        session.flush()
        allocation_id = allocation.id
        if len(assignment):
            session.execute(
                insert(AllocationRow),
                [
                    {"allocation_id": allocation_id, "job_id": j, "graduate_id": g, "score": s}
                    for g, j, s in zip(
                        assignment.graduate_ids.tolist(),
                        assignment.job_ids.tolist(),
                        assignment.scores.tolist(),
                        strict=True,
                    )
                ],
            )
        session.flush()
    return AllocationOutcome(
        allocation_id=allocation_id,
        assignment=assignment,
        run_ids=run_ids,
        pairs=len(pairs),
        places=sum(capacity.values()),
        jobs_filled=jobs_filled,
        seconds=seconds,
    )
