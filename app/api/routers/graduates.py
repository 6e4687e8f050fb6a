"""/v1/graduates: create, read, update, delete, list and bulk-upsert graduate profiles."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from app.api.deps import (
    CityQuery,
    EducationQuery,
    EngineDep,
    GraduateDep,
    GraduateIdPath,
    JobMatchQueryDep,
    JsonArrayDep,
    PageDep,
    SessionDep,
    SettingsDep,
    TenantDep,
    TextQuery,
    bulk_request_body,
)
from app.schemas.common import BulkResponse, Page
from app.schemas.duplicates import DuplicateGraduate, GraduateDuplicates
from app.schemas.graduates import GraduateCreate, GraduatePublic, GraduateStatus, GraduateUpdate
from app.schemas.matches import JobMatches
from app.services import graduates as graduate_service
from app.services import matching
from app.services.bulk import bulk_upsert
from app.services.duplicates import duplicate_graduates
from app.services.records import RecordFilters
from app.tables import Graduate

router = APIRouter(prefix="/v1/graduates", tags=["graduates"])


@router.get("", summary="List graduate profiles")
def list_graduates(
    session: SessionDep,
    tenant: TenantDep,
    page: PageDep,
    city: CityQuery = None,
    education: EducationQuery = None,
    status: Annotated[
        GraduateStatus | None, Query(description="seeking, placed or withdrawn.")
    ] = None,
    q: Annotated[TextQuery, Query(description="Substring of major or school.")] = None,
) -> Page[GraduatePublic]:
    """Graduate profiles matching every filter given, ordered by id."""
    filters = RecordFilters(city=city, education=education, status=status, q=q)
    items, total = graduate_service.list_graduates(
        session, tenant=tenant, filters=filters, limit=page.limit, offset=page.offset
    )
    return Page[GraduatePublic](
        items=[GraduatePublic.model_validate(graduate) for graduate in items],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a graduate profile")
def create_graduate(session: SessionDep, tenant: TenantDep, data: GraduateCreate) -> GraduatePublic:
    """Store a new profile; its external_id must be new for the tenant (409 otherwise)."""
    return GraduatePublic.model_validate(
        graduate_service.create_graduate(session, tenant=tenant, data=data)
    )


@router.post(
    "/bulk",
    summary="Upsert up to 1,000 graduate profiles by external_id",
    openapi_extra=bulk_request_body("GraduateCreate"),
)
def bulk_upsert_graduates(
    session: SessionDep, tenant: TenantDep, raw: JsonArrayDep
) -> BulkResponse:
    """Create or update each profile; invalid ones fail alone with the field named."""
    return bulk_upsert(session, Graduate, GraduateCreate, tenant=tenant, raw_records=raw)


@router.get("/{graduate_id:int}/matches", summary="Open jobs that fit this graduate best")
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


@router.get("/{graduate_id:int}/duplicates", summary="Near-identical profiles of the same major")
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


@router.get("/{graduate_id:int}", summary="Read a graduate profile")
def read_graduate(graduate: GraduateDep) -> GraduatePublic:
    """One profile by id."""
    return GraduatePublic.model_validate(graduate)


@router.patch("/{graduate_id:int}", summary="Update a graduate profile")
def update_graduate(
    session: SessionDep, graduate: GraduateDep, data: GraduateUpdate
) -> GraduatePublic:
    """Change the fields sent; the others stay as they are."""
    return GraduatePublic.model_validate(
        graduate_service.update_graduate(session, graduate=graduate, data=data)
    )


@router.delete(
    "/{graduate_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a graduate profile",
)
def delete_graduate(session: SessionDep, graduate: GraduateDep) -> None:
    """Remove a profile."""
    graduate_service.delete_graduate(session, graduate=graduate)
