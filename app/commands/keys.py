"""`jobmatch keys create|list|revoke`: API keys; a new key is printed once, only its hash kept."""

from __future__ import annotations

import argparse

from app.auth.roles import ROLE_NAMES
from app.db import transaction_on
from app.errors import AppError
from app.services import keys as key_service
from app.settings import get_settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `keys` command group."""
    parser = subparsers.add_parser("keys", help="create, list and revoke API keys")
    actions = parser.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="a new key, printed once")
    create.add_argument("--tenant", required=True, help="the tenant the key acts in")
    create.add_argument("--role", required=True, choices=ROLE_NAMES)
    create.add_argument("--name", default="", help="who holds it, e.g. zhongbo-ops")
    create.set_defaults(func=run_create)
    listing = actions.add_parser("list", help="keys (never their secrets)")
    listing.add_argument("--tenant", help="only this tenant's keys")
    listing.set_defaults(func=run_list)
    revoke = actions.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("id", type=int)
    revoke.set_defaults(func=run_revoke)
    for action in (create, listing, revoke):
        action.add_argument("--database-url", help="default: JOBMATCH_DATABASE_URL")


def run_create(args: argparse.Namespace) -> int:
    """Create a key and print its secret (the only time it is shown)."""
    try:
        with transaction_on(args.database_url or get_settings().database_url) as session:
            created = key_service.create_key(
                session, tenant=args.tenant, role=args.role, name=args.name
            )
            key_id = created.record.id
    except AppError as exc:
        print(f"error: {exc.message}")
        return 1
    print(f"key {key_id}: role {args.role} in tenant {args.tenant}")
    print(created.secret)
    print("Store it now: only its hash is kept, it cannot be shown again.")
    return 0


def run_list(args: argparse.Namespace) -> int:
    """Print keys: id, tenant, role, prefix, state, name."""
    with transaction_on(args.database_url or get_settings().database_url) as session:
        for key in key_service.list_keys(session, tenant=args.tenant):
            state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
            print(
                f"{key.id:>5} {key.tenant:<20} {key.role:<9} {key.prefix}…  {state:<18} {key.name}"
            )
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    """Revoke a key; requests with it answer 401 from then on."""
    try:
        with transaction_on(args.database_url or get_settings().database_url) as session:
            key = key_service.revoke_key(session, key_id=args.id)
            print(f"key {key.id} ({key.role} in {key.tenant}) revoked")
    except AppError as exc:
        print(f"error: {exc.message}")
        return 1
    return 0
