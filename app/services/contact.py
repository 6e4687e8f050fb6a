"""What a caller sees of a graduate's name, phone and e-mail: all of it (audited), masked, or
nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from sqlalchemy.orm import Session

from app.auth.roles import Principal
from app.privacy import mask_email, mask_name, mask_phone
from app.schemas.graduates import GraduatePublic
from app.services.audit import record_contact_reads
from app.tables import Graduate

ContactView = Literal["full", "masked", "none"]


def present_graduates(
    session: Session,
    *,
    principal: Principal,
    graduates: Sequence[Graduate],
    view: ContactView,
) -> list[GraduatePublic]:
    """The public shapes; a full view is recorded in the audit trail, one event per graduate."""
    shown = [GraduatePublic.model_validate(graduate) for graduate in graduates]
    if view == "full":
        record_contact_reads(session, principal=principal, graduates=graduates)
        return shown
    if view == "masked":
        return [
            item.model_copy(
                update={
                    "name": mask_name(item.name),
                    "phone": mask_phone(item.phone),
                    "email": mask_email(item.email),
                }
            )
            for item in shown
        ]
    return [item.model_copy(update={"name": None, "phone": None, "email": None}) for item in shown]


def single_view(principal: Principal) -> ContactView:
    """One profile: in full for a role with the contact right, else masked."""
    return "full" if principal.can("contact:read") else "masked"
