"""API keys: created with a random 256-bit secret shown once, stored as its SHA-256.

Why plain SHA-256 and no salt or slow hash: salts and key stretching defend secrets a person
chose, which an attacker can enumerate from a dictionary. A key here is 32 bytes from the
operating system's CSPRNG, so 2^256 guesses stand between a stolen hash table and a working
key, whatever the hash costs; and an unsalted digest can be looked up through a unique index
in one query per request, where bcrypt or argon2 would spend tens of milliseconds each.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.roles import ROLE_NAMES, Principal, Role
from app.errors import NotFoundError, Unauthorized, ValidationFailed
from app.services.tenants import get_tenant
from app.tables import ApiKey, utcnow

KEY_PREFIX = "jm_"
SECRET_BYTES = 32


class CreatedKey(NamedTuple):
    """A new key's record and its secret (the only time the secret exists in clear)."""

    record: ApiKey
    secret: str


def hash_secret(secret: str) -> str:
    """The stored form of a key: hex SHA-256 of its text."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_key(session: Session, *, tenant: str, role: str, name: str = "") -> CreatedKey:
    """A new key for the tenant and role; the secret is returned, only its hash is stored."""
    if role not in ROLE_NAMES:
        raise ValidationFailed(
            f"unknown role {role!r}; one of {', '.join(ROLE_NAMES)}",
            details=[{"field": "role", "message": f"one of {', '.join(ROLE_NAMES)}"}],
        )
    get_tenant(session, tenant_id=tenant)
    secret = KEY_PREFIX + secrets.token_urlsafe(SECRET_BYTES)
    record = ApiKey(
        tenant=tenant,
        role=role,
        name=name.strip(),
        prefix=secret[: len(KEY_PREFIX) + 6],
        secret_hash=hash_secret(secret),
    )
    session.add(record)
    session.flush()
    return CreatedKey(record, secret)


def list_keys(session: Session, *, tenant: str | None = None) -> list[ApiKey]:
    """Keys (never their secrets), of one tenant or all, by id."""
    query = select(ApiKey).order_by(ApiKey.id)
    if tenant is not None:
        query = query.where(ApiKey.tenant == tenant)
    return list(session.scalars(query))


def revoke_key(session: Session, *, key_id: int) -> ApiKey:
    """Mark a key revoked (kept for the audit trail and posting ownership); idempotent."""
    record = session.get(ApiKey, key_id)
    if record is None:
        raise NotFoundError(f"key {key_id} not found")
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        session.flush()
    return record


def authenticate(session: Session, *, secret: str) -> Principal:
    """The principal of a live key, else Unauthorized (the same answer for every failure)."""
    record = None
    if secret.startswith(KEY_PREFIX):
        record = session.scalar(
            select(ApiKey).where(
                ApiKey.secret_hash == hash_secret(secret), ApiKey.revoked_at.is_(None)
            )
        )
    if record is None:
        raise Unauthorized("invalid or revoked API key")
    role: Role = record.role  # type: ignore[assignment]  # checked by the table constraint
    label = f"key {record.id}" + (f" ({record.name})" if record.name else "")
    return Principal(role=role, tenant=record.tenant, key_id=record.id, actor=label)
