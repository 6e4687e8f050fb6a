"""/v1/graduates: create, read, update, delete, erase, list and bulk-upsert graduate profiles."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, Field

from app.api.deps import (
    CityQuery,
    EducationQuery,
    EngineDep,
    GraduateDep,
    GraduateIdPath,
    JobMatchQueryDep,
    JsonArrayDep,
    PageDep,
    PrincipalDep,
    SessionDep,
    SettingsDep,
    TenantDep,
    TextQuery,
    bulk_request_body,
    requires,
)
from app.errors import Forbidden
from app.schemas.common import BulkResponse, ExternalId, Page
from app.schemas.duplicates import DuplicateGraduate, GraduateDuplicates
from app.schemas.graduates import GraduateCreate, GraduatePublic, GraduateUpdate
from app.schemas.matches import JobMatches
from app.services import erasure, matching
from app.services import graduates as graduate_service
from app.services.bulk import bulk_upsert
from app.services.contact import ContactView, present_graduates, single_view
from app.services.duplicates import duplicate_graduates
from app.services.records import RecordFilters
from app.tables import Graduate
from app.vocabulary import GraduateStatus

router = APIRouter(prefix="/v1/graduates", tags=["graduates"])

MAX_ERASURES = 1000


class ErasureRequest(BaseModel):
    """Graduates to erase, by external_id."""

    model_config = {"extra": "forbid"}

    external_ids: list[ExternalId] = Field(min_length=1, max_length=MAX_ERASURES)


class ErasureResult(BaseModel):
    """What an erasure removed."""

    erased_ids: list[int] = Field(description="Ids of the graduates erased.")
    not_found: list[str] = Field(description="external_ids with no graduate in this tenant.")
    model_versions_removed: int = Field(description="Older model versions deleted.")
    export_rows_removed: int = Field(description="Rows removed from exported files.")
    wal_checkpoint: str = Field(
        description="SQLite: complete, or busy when another transaction held the log; "
        "PostgreSQL: not sqlite."
    )


def _erase(
    request: Request, session: SessionDep, principal: PrincipalDep, graduates: list[Graduate]
) -> erasure.ErasureOutcome:
    return erasure.erase_graduates(
        session,
        principal=principal,
        graduates=graduates,
        match_engine=request.app.state.match_engine,
        database=request.app.state.engine,
    )


@router.get("", summary="List graduate profiles", dependencies=[requires("graduates:read")])
def list_graduates(
    session: SessionDep,
    principal: PrincipalDep,
    page: PageDep,
    city: CityQuery = None,
    education: EducationQuery = None,
    status: Annotated[
        GraduateStatus | None, Query(description="seeking, placed or withdrawn.")
    ] = None,
    q: Annotated[TextQuery, Query(description="Substring of major or school.")] = None,
    include: Annotated[
        Literal["contact"] | None,
        Query(
            description="`contact` adds name, phone and e-mail (roles with the contact right; "
            "each record shown is audited). Without it they are null."
        ),
    ] = None,
) -> Page[GraduatePublic]:
    """Graduate profiles matching every filter given, ordered by id."""
    if include == "contact" and not principal.can("contact:read"):
        raise Forbidden(
            f"include=contact: a {principal.role} key may not read contact data",
            details=[{"field": "query.include", "message": "contact data not allowed"}],
        )
    filters = RecordFilters(city=city, education=education, status=status, q=q)
    items, total = graduate_service.list_graduates(
        session, tenant=principal.tenant, filters=filters, limit=page.limit, offset=page.offset
    )
    view: ContactView = "full" if include == "contact" else "none"
    return page.of(
        present_graduates(session, principal=principal, graduates=items, view=view), total
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a graduate profile",
    dependencies=[requires("graduates:write")],
)
def create_graduate(
    session: SessionDep, principal: PrincipalDep, data: GraduateCreate
) -> GraduatePublic:
    """Store a new profile; its external_id must be new for the tenant (409 otherwise)."""
    graduate = graduate_service.create_graduate(session, tenant=principal.tenant, data=data)
    return present_graduates(session, principal=principal, graduates=[graduate], view="full")[0]


@router.post(
    "/bulk",
    summary="Upsert graduate profiles by external_id (at most JOBMATCH_MAX_BULK_RECORDS)",
    openapi_extra=bulk_request_body("GraduateCreate"),
    dependencies=[requires("graduates:write")],
)
def bulk_upsert_graduates(
    session: SessionDep, tenant: TenantDep, raw: JsonArrayDep
) -> BulkResponse:
    """Create or update each profile; invalid ones fail alone with the field named."""
    return bulk_upsert(session, Graduate, GraduateCreate, tenant=tenant, raw_records=raw)


@router.post(
    "/erase",
    summary="Erase graduates by external_id (PIPL art. 47)",
    dependencies=[requires("graduates:write")],
)
def erase_graduates(
    request: Request, session: SessionDep, principal: PrincipalDep, body: ErasureRequest
) -> ErasureResult:
    """Delete each graduate and every copy of their data: rows, batch runs, exported files,
    older model versions; SQLite's log is checkpointed. Unknown external_ids are listed."""
    graduates, not_found = erasure.find_graduates_by_external_id(
        session, tenant=principal.tenant, external_ids=body.external_ids
    )
    outcome = _erase(request, session, principal, graduates)
    outcome.not_found = not_found
    # The file-level purge runs after the commit: the session is committed here, so the
    # outcome is complete when the response is rendered.
    session.commit()
    return ErasureResult.model_validate(outcome, from_attributes=True)


@router.get(
    "/{graduate_id:int}/matches",
    summary="Open jobs that fit this graduate best",
    dependencies=[requires("graduates:read")],
)
def match_jobs(
    session: SessionDep,
    tenant: TenantDep,
    engine: EngineDep,
    graduate_id: GraduateIdPath,
    query: JobMatchQueryDep,
    settings: SettingsDep,
) -> JobMatches:
    """Ranked jobs with sub-scores; `explain=true` adds the words and filters behind each."""
    return matching.jobs_for_graduate(
        session, engine, tenant=tenant, graduate_id=graduate_id, query=query, settings=settings
    )


@router.get(
    "/{graduate_id:int}/duplicates",
    summary="Near-identical profiles of the same major",
    dependencies=[requires("graduates:read")],
)
def read_duplicates(
    session: SessionDep, settings: SettingsDep, graduate: GraduateDep
) -> GraduateDuplicates:
    """Profiles of the same major whose text is near-identical (the same person entered
    twice), by MinHash of word shingles."""
    found = duplicate_graduates(session, graduate=graduate, settings=settings)
    return GraduateDuplicates(
        graduate_id=graduate.id,
        duplicates=[
            DuplicateGraduate(
                graduate_id=other.id,
                external_id=other.external_id,
                status=other.status,
                similarity=round(similarity, 4),
            )
            for other, similarity in found
        ],
    )


@router.get(
    "/{graduate_id:int}",
    summary="Read a graduate profile",
    dependencies=[requires("graduates:read")],
)
def read_graduate(
    session: SessionDep, principal: PrincipalDep, graduate: GraduateDep
) -> GraduatePublic:
    """One profile by id; name, phone and e-mail masked for roles without the contact right."""
    view = single_view(principal)
    return present_graduates(session, principal=principal, graduates=[graduate], view=view)[0]


@router.patch(
    "/{graduate_id:int}",
    summary="Update a graduate profile",
    dependencies=[requires("graduates:write")],
)
def update_graduate(
    session: SessionDep, principal: PrincipalDep, graduate: GraduateDep, data: GraduateUpdate
) -> GraduatePublic:
    """Change the fields sent; the others stay as they are."""
    updated = graduate_service.update_graduate(session, graduate=graduate, data=data)
    return present_graduates(session, principal=principal, graduates=[updated], view="full")[0]


@router.delete(
    "/{graduate_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete or erase a graduate profile",
    dependencies=[requires("graduates:write")],
)
def delete_graduate(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    graduate: GraduateDep,
    erase: Annotated[
        bool,
        Query(
            description="Erase (PIPL art. 47): also remove the graduate from stored batch "
            "runs, exported files and older model versions, and checkpoint SQLite's log."
        ),
    ] = False,
) -> Response:
    """Remove a profile; with `erase=true`, every copy of it."""
    if erase:
        _erase(request, session, principal, [graduate])
    else:
        graduate_service.delete_graduate(session, graduate=graduate)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
