"""The hiring pipeline: stage transitions, and hires that place a graduate exactly once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from app.errors import ConflictError, NotFoundError, ValidationFailed
from app.services.records import record_changes
from app.tables import Candidacy, Graduate, PipelineEvent, Requisition, utcnow
from app.vocabulary import PipelineStage

# The stages (app.vocabulary.PipelineStage) in the order a candidacy moves forward, and the
# ways out of the pipeline.
FORWARD: tuple[PipelineStage, ...] = ("recommended", "contacted", "interviewed", "offered", "hired")
EXITS: tuple[PipelineStage, ...] = ("rejected", "withdrawn")
TERMINAL = frozenset({"hired", *EXITS})
ACTIVE = tuple(stage for stage in FORWARD if stage != "hired")


def allowed_next(stage: str) -> list[str]:
    """Stages a candidacy at `stage` may move to: the next step, or out of the pipeline."""
    if stage in TERMINAL:
        return []
    return [FORWARD[FORWARD.index(stage) + 1], *EXITS]


def get_candidacy(session: Session, *, requisition: Requisition, graduate_id: int) -> Candidacy:
    """The graduate's candidacy in this requisition, else NotFoundError."""
    candidacy = session.scalar(
        select(Candidacy).where(
            Candidacy.requisition_id == requisition.id, Candidacy.graduate_id == graduate_id
        )
    )
    if candidacy is None:
        raise NotFoundError(
            f"graduate {graduate_id} is not in the pipeline of requisition {requisition.id}"
        )
    return candidacy


def events_of(session: Session, candidacy_ids: list[int]) -> dict[int, list[PipelineEvent]]:
    """Each candidacy's events in the order they happened."""
    events: dict[int, list[PipelineEvent]] = {cid: [] for cid in candidacy_ids}
    if candidacy_ids:
        for event in session.scalars(
            select(PipelineEvent)
            .where(PipelineEvent.candidacy_id.in_(candidacy_ids))
            .order_by(PipelineEvent.occurred_at, PipelineEvent.id)
        ):
            events[event.candidacy_id].append(event)
    return events


def _log(
    session: Session,
    candidacy: Candidacy,
    to_stage: str,
    *,
    recorded_by: str,
    note: str,
    occurred_at: datetime,
) -> None:
    session.add(
        PipelineEvent(
            candidacy_id=candidacy.id,
            from_stage=candidacy.stage,
            to_stage=to_stage,
            recorded_by=recorded_by,
            note=note,
            occurred_at=occurred_at,
        )
    )
    candidacy.stage = to_stage
    candidacy.updated_at = utcnow()


def move_candidacy(
    session: Session,
    *,
    requisition: Requisition,
    candidacy: Candidacy,
    stage: str,
    recorded_by: str,
    note: str = "",
    occurred_at: datetime | None = None,
) -> Candidacy:
    """Record a stage change; a hire places the graduate and withdraws their other candidacies."""
    allowed = allowed_next(candidacy.stage)
    if stage not in allowed:
        raise ConflictError(
            f"cannot move from {candidacy.stage} to {stage}; "
            f"allowed: {', '.join(allowed) or 'none'}",
            details=[{"field": "stage", "message": f"allowed: {allowed}"}],
        )
    when = occurred_at or utcnow()
    if when > utcnow():
        raise ValidationFailed(
            "occurred_at is in the future",
            details=[{"field": "occurred_at", "message": "must not be in the future"}],
        )
    if stage == "hired":
        _place(
            session,
            requisition=requisition,
            candidacy=candidacy,
            recorded_by=recorded_by,
            when=when,
        )
    _log(session, candidacy, stage, recorded_by=recorded_by, note=note, occurred_at=when)
    session.flush()
    if stage == "hired":
        _close_if_filled(session, requisition)
    return candidacy


def _place(
    session: Session,
    *,
    requisition: Requisition,
    candidacy: Candidacy,
    recorded_by: str,
    when: datetime,
) -> None:
    # One conditional UPDATE decides the race: of two concurrent hires of one graduate only
    # the first finds status 'seeking'; the partial unique index on hired candidacies backs it.
    placed: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(Graduate)
        .where(Graduate.id == candidacy.graduate_id, Graduate.status == "seeking")
        .values(status="placed", updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if placed.rowcount != 1:
        raise ConflictError(
            f"graduate {candidacy.graduate_id} is not seeking (already placed or withdrawn)",
            details=[{"field": "stage", "message": "graduate already placed"}],
        )
    record_changes(session, Graduate, tenant=requisition.tenant, record_ids=[candidacy.graduate_id])
    others = session.scalars(
        select(Candidacy).where(
            Candidacy.graduate_id == candidacy.graduate_id,
            Candidacy.id != candidacy.id,
            Candidacy.stage.in_(ACTIVE),
        )
    )
    for other in others:
        _log(
            session,
            other,
            "withdrawn",
            recorded_by="jobmatch",
            note=f"hired through requisition {requisition.id}",
            occurred_at=when,
        )


def hires_count(session: Session, requisition_id: int) -> int:
    """Hires recorded for a requisition."""
    count = session.scalar(
        select(func.count()).where(
            Candidacy.requisition_id == requisition_id, Candidacy.stage == "hired"
        )
    )
    return int(count or 0)


def _close_if_filled(session: Session, requisition: Requisition) -> None:
    if (
        requisition.status == "open"
        and hires_count(session, requisition.id) >= requisition.headcount
    ):
        requisition.status = "filled"
        requisition.updated_at = utcnow()
        session.flush()
