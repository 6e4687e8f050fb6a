"""Requisitions and their capacity-aware shortlists."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import ConflictError, ValidationFailed
from app.matching.documents import DatabaseDocuments
from app.matching.engine import MatchEngine
from app.ranking import FilterSpec, Match
from app.repositories import get_requisition as get_requisition
from app.repositories import tenant_job_ids
from app.schemas.requisitions import RequisitionCreate, Shortlist, ShortlistEntry
from app.services.match_results import explanation_out, graduate_fields, parts_out
from app.services.pipeline import ACTIVE
from app.tables import Candidacy, PipelineEvent, Requisition, utcnow

# Candidates ranked per posting before exclusions; grows when exclusions eat into it.
POOL_FACTOR = 4
MIN_POOL = 100


def list_requisitions(
    session: Session, *, tenant: str, status: str | None, limit: int, offset: int
) -> tuple[list[Requisition], int]:
    """A page of the agency's requisitions, optionally by status."""
    query = select(Requisition).where(Requisition.tenant == tenant)
    if status:
        query = query.where(Requisition.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = session.scalars(query.order_by(Requisition.id).limit(limit).offset(offset))
    return list(items), total


def _check_jobs(session: Session, *, tenant: str, job_ids: list[int]) -> None:
    found = set(tenant_job_ids(session, tenant=tenant, ids=job_ids))
    missing = [job_id for job_id in job_ids if job_id not in found]
    if missing:
        raise ValidationFailed(
            f"unknown job ids: {missing}",
            details=[{"field": "job_ids", "message": f"no such jobs: {missing}"}],
        )


def create_requisition(session: Session, *, tenant: str, data: RequisitionCreate) -> Requisition:
    """Store a requisition for existing postings of the agency."""
    job_ids = list(dict.fromkeys(data.job_ids))
    _check_jobs(session, tenant=tenant, job_ids=job_ids)
    requisition = Requisition(
        tenant=tenant,
        employer=data.employer,
        title=data.title,
        headcount=data.headcount,
        deadline=data.deadline,
        job_ids=job_ids,
        status="open",
    )
    session.add(requisition)
    session.flush()
    return requisition


def update_requisition(
    session: Session, *, requisition: Requisition, changes: Mapping[str, Any]
) -> Requisition:
    """Apply a partial update."""
    if "job_ids" in changes and changes["job_ids"] is not None:
        changes = {**changes, "job_ids": list(dict.fromkeys(changes["job_ids"]))}
        _check_jobs(session, tenant=requisition.tenant, job_ids=changes["job_ids"])
    for field, value in changes.items():
        if value is not None:
            setattr(requisition, field, value)
    requisition.updated_at = utcnow()
    session.flush()
    return requisition


def shortlist(
    session: Session,
    engine: MatchEngine,
    *,
    requisition: Requisition,
    size: int,
    max_open_shortlists: int,
    major_required: bool = False,
) -> Shortlist:
    """Add the `size` best graduates to the pipeline, skipping those already in it and those
    already shortlisted for `max_open_shortlists` open requisitions of the agency."""
    if requisition.status != "open":
        raise ConflictError(f"requisition {requisition.id} is {requisition.status}")
    started = time.perf_counter()
    in_pipeline = set(
        session.scalars(
            select(Candidacy.graduate_id).where(Candidacy.requisition_id == requisition.id)
        )
    )
    busy_counts = dict(
        session.execute(
            select(Candidacy.graduate_id, func.count())
            .join(Requisition, Requisition.id == Candidacy.requisition_id)
            .where(
                Requisition.tenant == requisition.tenant,
                Requisition.status == "open",
                Requisition.id != requisition.id,
                Candidacy.stage.in_(ACTIVE),
            )
            .group_by(Candidacy.graduate_id)
        ).all()
    )
    at_capacity = {gid for gid, count in busy_counts.items() if count >= max_open_shortlists}
    next_rank = (
        session.scalar(
            select(func.max(Candidacy.rank)).where(Candidacy.requisition_id == requisition.id)
        )
        or 0
    )

    best: dict[int, tuple[Match, int]] = {}
    excluded_pipeline: set[int] = set()
    excluded_capacity: set[int] = set()
    documents = DatabaseDocuments(session, requisition.tenant)
    with engine.reading(session, requisition.tenant) as snapshot:
        if snapshot is None:
            raise ConflictError("no graduates or jobs indexed for this agency yet")
        job_ids = [job_id for job_id in requisition.job_ids if job_id in snapshot.jobs]
        pool = max(MIN_POOL, POOL_FACTOR * size)
        filters = FilterSpec(major_required=major_required)
        while True:
            best.clear()
            for job_id in job_ids:
                for match in snapshot.ranker.graduates_for_job(
                    job_id, pool, filters=filters, explain=False
                ):
                    if match.id in in_pipeline:
                        excluded_pipeline.add(match.id)
                    elif match.id in at_capacity:
                        excluded_capacity.add(match.id)
                    elif match.id not in best or match.score > best[match.id][0].score:
                        best[match.id] = (match, job_id)
            exhausted = pool >= len(snapshot.graduates)
            if len(best) >= size or exhausted:
                break
            pool *= 2
        chosen = sorted(best.values(), key=lambda pair: (-pair[0].score, pair[0].id))[:size]
        entries = []
        now = utcnow()
        # Every pair's two documents in one read per side, not two reads per pair.
        documents.jobs({job_id for _, job_id in chosen})
        documents.graduates([match.id for match, _ in chosen])
        for offset, (match, job_id) in enumerate(chosen, start=1):
            explanation = snapshot.ranker.explain(
                job_id, match.id, filters=filters, candidates="graduates", documents=documents
            )
            candidacy = Candidacy(
                requisition_id=requisition.id,
                graduate_id=match.id,
                job_id=job_id,
                stage="recommended",
                rank=next_rank + offset,
                score=match.score,
                parts=parts_out(match).model_dump(),
            )
            session.add(candidacy)
            session.flush()
            session.add(
                PipelineEvent(
                    candidacy_id=candidacy.id,
                    from_stage=None,
                    to_stage="recommended",
                    recorded_by="jobmatch",
                    note=f"shortlisted at rank {candidacy.rank} (score {match.score:.3f})",
                    occurred_at=now,
                )
            )
            entries.append(
                ShortlistEntry(
                    candidacy_id=candidacy.id,
                    rank=candidacy.rank,
                    graduate_id=match.id,
                    job_id=job_id,
                    score=match.score,
                    parts=parts_out(match),
                    explanation=explanation_out(
                        Match(match.id, match.score, match.parts, explanation)
                    ),
                    **graduate_fields(snapshot.graduates[match.id]),
                )
            )
    elapsed_ms = (time.perf_counter() - started) * 1000
    if requisition.time_to_shortlist_ms is None:
        requisition.time_to_shortlist_ms = elapsed_ms
        requisition.first_shortlisted_at = now
    session.flush()
    return Shortlist(
        requisition_id=requisition.id,
        requested=size,
        shortlisted=entries,
        excluded_in_pipeline=len(excluded_pipeline),
        excluded_at_capacity=len(excluded_capacity),
        time_to_shortlist_ms=elapsed_ms,
    )
