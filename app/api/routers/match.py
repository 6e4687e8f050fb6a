"""/v1/match: matches for an unsaved job or graduate (preview before publishing)."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import EngineDep, PreviewQueryDep, SessionDep, TenantDep, requires
from app.schemas.matches import MatchPreview, MatchRequest
from app.services import matching

router = APIRouter(prefix="/v1/match", tags=["matching"])


@router.post(
    "", summary="Match an unsaved job or graduate", dependencies=[requires("matches:preview")]
)
def preview_matches(
    session: SessionDep,
    tenant: TenantDep,
    engine: EngineDep,
    request: MatchRequest,
    query: PreviewQueryDep,
) -> MatchPreview:
    """A job draft gets seeking graduates, a graduate draft gets open jobs; nothing is stored."""
    return matching.preview_matches(session, engine, tenant=tenant, request=request, query=query)
