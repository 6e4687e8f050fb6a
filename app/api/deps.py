"""Typed dependencies: the request's session (commit or rollback), tenant, and record lookups.

Dependencies that only read the request are `async def`: FastAPI runs a sync dependency in
the thread pool, and a thread hop per parameter costs more than the work itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, Header, Path, Query, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from app.api.middleware import READ_ONLY_METHODS
from app.api.principals import PrincipalCache
from app.auth.roles import Permission, Principal
from app.db import begin_write
from app.errors import BadRequest, Forbidden, NotFoundError, Unauthorized, ValidationFailed
from app.matching.engine import MatchEngine
from app.schemas.common import MAX_PAGE_SIZE, MAX_RECORD_ID, Education, Page, clean_text
from app.services import graduates as graduate_service
from app.services import jobs as job_service
from app.services import keys as key_service
from app.services import tenants as tenant_service
from app.services.match_query import MatchQuery
from app.settings import Settings
from app.tables import DEFAULT_TENANT, Graduate, Job
from app.tenant_paths import TENANT_ID_PATTERN
from app.vocabulary import GraduateStatus, JobStatus

T = TypeVar("T")


@contextmanager
def request_session(request: Request, *, write: bool) -> Iterator[Session]:
    """One session for a request's work: committed when it is done, rolled back on error."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    settings: Settings = request.app.state.settings
    with factory() as session:
        try:
            if write:
                # A writer takes its connection (and SQLite's write lock) before any route
                # code runs: it never fails halfway on "database is locked".
                begin_write(session, attempts=settings.sqlite_write_attempts)
            yield session
            # Commit before the response is sent, so an acknowledged write is durable.
            session.commit()
        except BaseException:
            session.rollback()
            raise


def get_session(request: Request) -> Iterator[Session]:
    """One session per request (see request_session)."""
    with request_session(request, write=request.method not in READ_ONLY_METHODS) as session:
        yield session


async def get_settings_from_app(request: Request) -> Settings:
    """The settings the application was built with."""
    settings: Settings = request.app.state.settings
    return settings


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
JobIdPath = Annotated[int, Path(ge=1, le=MAX_RECORD_ID, description="Job id.")]
GraduateIdPath = Annotated[int, Path(ge=1, le=MAX_RECORD_ID, description="Graduate id.")]
RequisitionIdPath = Annotated[int, Path(ge=1, le=MAX_RECORD_ID, description="Requisition id.")]
SettingsDep = Annotated[Settings, Depends(get_settings_from_app)]

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key, created with `jobmatch keys create --tenant T --role R`.",
)


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
    x_tenant: Annotated[
        str | None,
        Header(
            pattern=TENANT_ID_PATTERN,
            description="Admins only: the tenant (agency) to act in; every other key acts in "
            "its own tenant.",
        ),
    ] = None,
) -> Principal:
    """Who is calling: the key's role and tenant (with auth off, a local admin)."""
    settings: Settings = request.app.state.settings
    if settings.auth == "off" and x_tenant in (None, DEFAULT_TENANT):
        # Nothing to look up: no session and no thread hop (most of a cached match's cost).
        return Principal(role="admin", tenant=DEFAULT_TENANT, actor="local (auth off)")
    if settings.auth != "off" and credentials is None:
        return await run_in_threadpool(_principal_from_database, request, None, x_tenant)
    principals: PrincipalCache = request.app.state.principals
    key = (
        None if credentials is None else key_service.hash_secret(credentials.credentials),
        x_tenant,
    )
    kept = principals.get(key, principals.version())
    if kept is not None:
        return kept
    return await run_in_threadpool(_principal_to_keep, request, credentials, x_tenant, key)


def _principal_to_keep(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None,
    x_tenant: str | None,
    key: tuple[str | None, str | None],
) -> Principal:
    principals: PrincipalCache = request.app.state.principals
    # Read before the lookup, so a commit during it invalidates what it finds; waiting is
    # allowed here, off the event loop, and is what makes PostgreSQL's signal exact.
    version = principals.version(wait=True)
    kept = principals.get(key, version)
    if kept is not None:
        return kept
    principal = _principal_from_database(request, credentials, x_tenant)
    principals.put(key, principal, version)
    return principal


def _principal_from_database(
    request: Request, credentials: HTTPAuthorizationCredentials | None, x_tenant: str | None
) -> Principal:
    settings: Settings = request.app.state.settings
    # Its own read session: the route's (a writer's) opens after this one has closed.
    with request_session(request, write=False) as session:
        if settings.auth == "off":
            principal = Principal(role="admin", tenant=DEFAULT_TENANT, actor="local (auth off)")
        elif credentials is None:
            raise Unauthorized(
                "missing `Authorization: Bearer <key>`; an admin creates keys with "
                "`jobmatch keys create --tenant T --role R`"
            )
        else:
            principal = key_service.authenticate(session, secret=credentials.credentials)
        if x_tenant is None or x_tenant == principal.tenant:
            return principal
        if principal.role != "admin":
            raise Forbidden(
                "X-Tenant: only an admin key may choose a tenant; this key acts in its own",
                details=[{"field": "header.x-tenant", "message": "admin keys only"}],
            )
        try:
            tenant_service.get_tenant(session, tenant_id=x_tenant)
        except NotFoundError as exc:
            raise ValidationFailed(
                exc.message, details=[{"field": "header.x-tenant", "message": "unknown tenant"}]
            ) from exc
        return replace(principal, tenant=x_tenant)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def requires(permission: Permission) -> Any:
    """A route dependency: 403 unless the caller's role grants `permission`."""

    async def check_permission(principal: PrincipalDep) -> None:
        if not principal.can(permission):
            raise Forbidden(f"a {principal.role} key may not do this ({permission})")

    return Depends(check_permission)


async def get_tenant(principal: PrincipalDep) -> str:
    """The tenant the request acts in: the key's, or the one an admin chose."""
    return principal.tenant


TenantDep = Annotated[str, Depends(get_tenant)]


def valid_job(session: SessionDep, principal: PrincipalDep, job_id: JobIdPath) -> Job:
    """The addressed job, or 404 (also for an employer's key that does not own it)."""
    return job_service.get_job(
        session, tenant=principal.tenant, job_id=job_id, owner_key_id=principal.owner_key_id
    )


def valid_graduate(session: SessionDep, tenant: TenantDep, graduate_id: GraduateIdPath) -> Graduate:
    """The addressed graduate, or 404."""
    return graduate_service.get_graduate(session, tenant=tenant, graduate_id=graduate_id)


JobDep = Annotated[Job, Depends(valid_job)]
GraduateDep = Annotated[Graduate, Depends(valid_graduate)]


@dataclass(frozen=True, slots=True)
class PageParams:
    """Offset pagination."""

    limit: int
    offset: int

    def of(self, items: list[T], total: int) -> Page[T]:
        """This page of a list whose filters match `total` records."""
        return Page[T](items=items, total=total, limit=self.limit, offset=self.offset)


async def get_page_params(
    limit: Annotated[
        int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"Page size (≤ {MAX_PAGE_SIZE}).")
    ] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_RECORD_ID, description="Records to skip.")] = 0,
) -> PageParams:
    """Pagination parameters of a list request."""
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(get_page_params)]

CityQuery = Annotated[
    str | None,
    Query(max_length=64, description="Only this city, e.g. 宁波."),
    AfterValidator(clean_text),
]
EducationQuery = Annotated[Education | None, Query(description="Only this education level.")]
TextQuery = Annotated[
    str | None,
    Query(min_length=1, max_length=100, description="Substring of the searched text fields."),
    AfterValidator(clean_text),
]


async def read_json_array(request: Request) -> list[Any]:
    """The request body as a JSON array of at most the configured number of records."""
    settings: Settings = request.app.state.settings
    try:
        body = json.loads(await request.body())
    except ValueError as exc:
        raise BadRequest(f"Request body is not valid JSON: {exc}") from exc
    if not isinstance(body, list):
        raise ValidationFailed(
            "body must be a JSON array of records",
            details=[{"field": "body", "message": "expected a JSON array"}],
        )
    if len(body) > settings.max_bulk_records:
        message = f"at most {settings.max_bulk_records} records per request, got {len(body)}"
        raise ValidationFailed(message, details=[{"field": "body", "message": message}])
    return body


JsonArrayDep = Annotated[list[Any], Depends(read_json_array)]


def bulk_request_body(schema_name: str) -> dict[str, Any]:
    """OpenAPI for a bulk body: the raw array is validated per record in the service."""
    # Routes are declared before any settings exist: document_bulk_limit adds the application's
    # maxItems.
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "array",
                        "items": {"$ref": f"#/components/schemas/{schema_name}"},
                        BULK_LIMIT_MARK: True,
                    }
                }
            },
        }
    }


BULK_LIMIT_MARK = "x-bulk-records"


def document_bulk_limit(schema: dict[str, Any], max_records: int) -> dict[str, Any]:
    """Show the records-per-request limit as maxItems of every bulk body of an OpenAPI schema."""
    for operations in schema["paths"].values():
        for operation in operations.values():
            content = operation.get("requestBody", {}).get("content", {})
            body = content.get("application/json", {}).get("schema", {})
            if body.pop(BULK_LIMIT_MARK, False):
                body["maxItems"] = max_records
    return schema


async def get_match_engine(request: Request) -> MatchEngine:
    """The application's live match engine."""
    engine: MatchEngine = request.app.state.match_engine
    return engine


EngineDep = Annotated[MatchEngine, Depends(get_match_engine)]

_K = Annotated[int, Query(ge=1, le=200, description="How many candidates (≤ 200).")]
_EXPLAIN = Annotated[
    bool, Query(description="Add top terms, filters passed and missing skills to each match.")
]
_CITY = Annotated[
    str | None,
    Query(max_length=64, description="Only candidates in this city."),
    AfterValidator(clean_text),
]
_EDUCATION = Annotated[Education | None, Query(description="Candidates' minimum education.")]
_SOURCE = Annotated[
    Literal["live", "batch"],
    Query(
        description="live: the in-memory index, fresh after every write; batch: the current "
        "stored re-rank run (`jobmatch rerank`), its top-k with the default filters."
    ),
]
MajorQuery = Annotated[
    Literal["prefer", "require"],
    Query(
        description="prefer: major fit is part of the score (a listed major > same class > "
        "related class > no major > unrelated); require: only graduates of the job's listed "
        "majors or their classes (a job listing no majors requires nothing)."
    ),
]


async def get_graduate_match_query(
    k: _K = 10,
    explain: _EXPLAIN = False,
    city: _CITY = None,
    education: _EDUCATION = None,
    graduation_year_min: Annotated[int | None, Query(ge=1950, le=2100)] = None,
    graduation_year_max: Annotated[int | None, Query(ge=1950, le=2100)] = None,
    salary: Annotated[
        int | None, Query(ge=0, le=1_000_000, description="Graduates expecting at most this (CNY).")
    ] = None,
    status: Annotated[
        Literal[GraduateStatus, "any"],
        Query(description="Candidates' status; `any` switches the filter off."),
    ] = "seeking",
    source: _SOURCE = "live",
    major: MajorQuery = "prefer",
) -> MatchQuery:
    """Parameters of a graduates-for-a-job query."""
    if (
        graduation_year_min is not None
        and graduation_year_max is not None
        and graduation_year_min > graduation_year_max
    ):
        message = "graduation_year_min is greater than graduation_year_max"
        raise ValidationFailed(
            message, details=[{"field": "query.graduation_year_min", "message": message}]
        )
    return MatchQuery(
        k=k,
        explain=explain,
        city=city,
        education=education,
        graduation_year_min=graduation_year_min,
        graduation_year_max=graduation_year_max,
        salary=salary,
        status=status,
        source=source,
        major=major,
    )


async def get_job_match_query(
    k: _K = 10,
    explain: _EXPLAIN = False,
    city: _CITY = None,
    education: Annotated[
        Education | None, Query(description="Only jobs requiring at least this education.")
    ] = None,
    salary: Annotated[
        int | None, Query(ge=0, le=1_000_000, description="Jobs paying up to at least this (CNY).")
    ] = None,
    status: Annotated[
        Literal[JobStatus, "any"],
        Query(description="Jobs' status; `any` switches the filter off."),
    ] = "open",
    source: _SOURCE = "live",
    major: MajorQuery = "prefer",
    collapse: Annotated[
        bool,
        Query(
            description="One entry per group of near-duplicate postings (same company, "
            "near-identical text), the others listed in `also_in`; false shows them all."
        ),
    ] = True,
) -> MatchQuery:
    """Parameters of a jobs-for-a-graduate query."""
    return MatchQuery(
        k=k,
        explain=explain,
        city=city,
        education=education,
        salary=salary,
        status=status,
        source=source,
        major=major,
        collapse=collapse,
    )


GraduateMatchQueryDep = Annotated[MatchQuery, Depends(get_graduate_match_query)]
JobMatchQueryDep = Annotated[MatchQuery, Depends(get_job_match_query)]


async def get_preview_query(
    k: _K = 10, explain: _EXPLAIN = False, city: _CITY = None
) -> MatchQuery:
    """Parameters of a draft match: candidates are seeking graduates or open jobs."""
    return MatchQuery(k=k, explain=explain, city=city)


PreviewQueryDep = Annotated[MatchQuery, Depends(get_preview_query)]
