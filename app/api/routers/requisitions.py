"""/v1/requisitions: employers' orders, their shortlists, pipelines and progress."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from app.api.deps import (
    EngineDep,
    GraduateIdPath,
    MajorQuery,
    PageDep,
    RequisitionIdPath,
    SessionDep,
    SettingsDep,
    TenantDep,
    requires,
)
from app.schemas.common import Page
from app.schemas.requisitions import (
    CandidacyPublic,
    PipelineEventPublic,
    Progress,
    RequisitionCreate,
    RequisitionPublic,
    RequisitionUpdate,
    Shortlist,
    StageChange,
)
from app.services import pipeline as pipeline_service
from app.services import progress as progress_service
from app.services import requisitions as requisition_service
from app.tables import Candidacy, Requisition
from app.vocabulary import RequisitionStatus

router = APIRouter(prefix="/v1/requisitions", tags=["requisitions"])


def valid_requisition(
    session: SessionDep, tenant: TenantDep, requisition_id: RequisitionIdPath
) -> Requisition:
    """The addressed requisition of the agency, or 404."""
    return requisition_service.get_requisition(
        session, tenant=tenant, requisition_id=requisition_id
    )


RequisitionDep = Annotated[Requisition, Depends(valid_requisition)]


def _candidacy_public(candidacy: Candidacy, events: list[PipelineEventPublic]) -> CandidacyPublic:
    return CandidacyPublic(
        id=candidacy.id,
        requisition_id=candidacy.requisition_id,
        graduate_id=candidacy.graduate_id,
        job_id=candidacy.job_id,
        stage=candidacy.stage,
        rank=candidacy.rank,
        score=candidacy.score,
        created_at=candidacy.created_at,
        updated_at=candidacy.updated_at,
        allowed_next=pipeline_service.allowed_next(candidacy.stage),
        events=events,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a requisition",
    dependencies=[requires("requisitions:write")],
)
def create_requisition(
    session: SessionDep, tenant: TenantDep, data: RequisitionCreate
) -> RequisitionPublic:
    """An order from an employer, for one or more of the agency's postings."""
    requisition = requisition_service.create_requisition(session, tenant=tenant, data=data)
    return RequisitionPublic.model_validate(requisition)


@router.get("", summary="List requisitions", dependencies=[requires("requisitions:read")])
def list_requisitions(
    session: SessionDep,
    tenant: TenantDep,
    page: PageDep,
    status: Annotated[
        RequisitionStatus | None, Query(description="open, filled or closed.")
    ] = None,
) -> Page[RequisitionPublic]:
    """The agency's requisitions (the agency is the X-Tenant), optionally by status."""
    items, total = requisition_service.list_requisitions(
        session, tenant=tenant, status=status, limit=page.limit, offset=page.offset
    )
    return page.of([RequisitionPublic.model_validate(item) for item in items], total)


@router.get(
    "/{requisition_id:int}",
    summary="Read a requisition",
    dependencies=[requires("requisitions:read")],
)
def read_requisition(requisition: RequisitionDep) -> RequisitionPublic:
    """One requisition."""
    return RequisitionPublic.model_validate(requisition)


@router.patch(
    "/{requisition_id:int}",
    summary="Update a requisition",
    dependencies=[requires("requisitions:write")],
)
def update_requisition(
    session: SessionDep, requisition: RequisitionDep, data: RequisitionUpdate
) -> RequisitionPublic:
    """Change headcount, deadline, status, title or postings."""
    changes = data.model_dump(exclude_unset=True)
    updated = requisition_service.update_requisition(
        session, requisition=requisition, changes=changes
    )
    return RequisitionPublic.model_validate(updated)


@router.post(
    "/{requisition_id:int}/shortlist",
    summary="Shortlist graduates for a requisition",
    dependencies=[requires("requisitions:write")],
)
def shortlist(
    session: SessionDep,
    engine: EngineDep,
    settings: SettingsDep,
    requisition: RequisitionDep,
    size: Annotated[int, Query(ge=1, le=200, description="Graduates to add (≤ 200).")] = 30,
    major: MajorQuery = "prefer",
) -> Shortlist:
    """The best graduates not yet in this pipeline, each pick explained; a graduate already
    shortlisted for the configured number of open requisitions is passed over."""
    return requisition_service.shortlist(
        session,
        engine,
        requisition=requisition,
        size=size,
        max_open_shortlists=settings.max_open_shortlists,
        major_required=major == "require",
    )


@router.get(
    "/{requisition_id:int}/pipeline",
    summary="The requisition's pipeline",
    dependencies=[requires("requisitions:read")],
)
def read_pipeline(session: SessionDep, requisition: RequisitionDep) -> list[CandidacyPublic]:
    """Every candidacy with its stage, allowed next stages and event history, by rank."""
    candidacies = sorted(
        session.query(Candidacy).filter(Candidacy.requisition_id == requisition.id),
        key=lambda candidacy: candidacy.rank,
    )
    events = pipeline_service.events_of(session, [c.id for c in candidacies])
    return [
        _candidacy_public(
            candidacy, [PipelineEventPublic.model_validate(e) for e in events[candidacy.id]]
        )
        for candidacy in candidacies
    ]


@router.post(
    "/{requisition_id:int}/pipeline/{graduate_id:int}/events",
    summary="Record a stage change",
    dependencies=[requires("requisitions:write")],
    responses={409: {"description": "Transition not allowed (the allowed ones are named)."}},
)
def record_stage(
    session: SessionDep,
    requisition: RequisitionDep,
    graduate_id: GraduateIdPath,
    change: StageChange,
) -> CandidacyPublic:
    """recommended → contacted → interviewed → offered → hired, or rejected / withdrawn at any
    stage. A hire marks the graduate placed and withdraws them from every other pipeline."""
    candidacy = pipeline_service.get_candidacy(
        session, requisition=requisition, graduate_id=graduate_id
    )
    moved = pipeline_service.move_candidacy(
        session,
        requisition=requisition,
        candidacy=candidacy,
        stage=change.stage,
        recorded_by=change.recorded_by,
        note=change.note,
        occurred_at=change.occurred_at,
    )
    events = pipeline_service.events_of(session, [moved.id])[moved.id]
    return _candidacy_public(moved, [PipelineEventPublic.model_validate(e) for e in events])


@router.get(
    "/{requisition_id:int}/progress",
    summary="Funnel, hires and days left",
    dependencies=[requires("requisitions:read")],
)
def read_progress(session: SessionDep, requisition: RequisitionDep) -> Progress:
    """Funnel counts by stage, hires against headcount, days left, time to shortlist."""
    return progress_service.requisition_progress(session, requisition=requisition)


@router.get(
    "/{requisition_id:int}/progress.png",
    summary="Progress chart",
    dependencies=[requires("requisitions:read")],
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "A PNG chart."}},
)
def read_progress_chart(session: SessionDep, requisition: RequisitionDep) -> Response:
    """The funnel, and hires per day against headcount and deadline, as a PNG."""
    progress = progress_service.requisition_progress(session, requisition=requisition)
    started = requisition.created_at.astimezone(progress_service.LOCAL_TIME).date()
    png = progress_service.progress_chart(progress, started=started)
    return Response(content=png, media_type="image/png")
