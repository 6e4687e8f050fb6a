"""Roles and the permissions each grants; the principal a request (or a command) acts as."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import Literal, get_args

Role = Literal["admin", "agency", "employer", "viewer"]
ROLE_NAMES: tuple[Role, ...] = get_args(Role)

Permission = Literal[
    "jobs:read",
    "jobs:write",
    "jobs:bulk",
    "jobs:review",
    "graduates:read",
    "graduates:write",
    "contact:read",
    "matches:preview",
    "requisitions:read",
    "requisitions:write",
    "index:read",
    "index:refit",
    "audit:read",
    "tenants:read",
]

_READ: frozenset[Permission] = frozenset(
    {
        "jobs:read",
        "jobs:review",
        "graduates:read",
        "matches:preview",
        "requisitions:read",
        "index:read",
    }
)
_AGENCY: frozenset[Permission] = _READ | {
    "jobs:write",
    "jobs:bulk",
    "graduates:write",
    "contact:read",
    "requisitions:write",
    "index:refit",
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    # Everything, in every tenant (X-Tenant chooses which).
    "admin": _AGENCY | {"audit:read", "tenants:read"},
    # Its own tenant's graduates, jobs, requisitions, matches, imports and refits.
    "agency": _AGENCY,
    # Only the postings its key created, and their matches; no graduates, no contact data.
    "employer": frozenset({"jobs:read", "jobs:write"}),
    # Read-only; contact data masked.
    "viewer": _READ,
}


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: its key (None when auth is off or on the command line), role and tenant."""

    role: Role
    tenant: str
    key_id: int | None = None
    actor: str = "local"

    def can(self, permission: Permission) -> bool:
        """Whether the role grants `permission`."""
        return permission in ROLE_PERMISSIONS[self.role]

    @property
    def owner_key_id(self) -> int | None:
        """The key whose postings are the only ones visible, for an employer; else None."""
        return self.key_id if self.role == "employer" else None


def command_line_principal(tenant: str) -> Principal:
    """Who acts when an operator runs a command on the server: an admin, named by OS user."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        user = "unknown"
    return Principal(role="admin", tenant=tenant, actor=f"cli:{user}")
