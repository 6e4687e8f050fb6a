"""`jobmatch tenants create|list`: agencies as records (their ids name their folders)."""

from __future__ import annotations

import argparse

from app.db import transaction_on
from app.errors import AppError
from app.services import tenants as tenant_service
from app.settings import get_settings
from app.tenant_paths import TENANT_ID_PATTERN


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `tenants` command group."""
    parser = subparsers.add_parser("tenants", help="create and list tenants (agencies)")
    actions = parser.add_subparsers(dest="tenants_command", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="add a tenant")
    create.add_argument("id", help=f"tenant id, {TENANT_ID_PATTERN}")
    create.add_argument("--name", default="", help="display name, e.g. 宁波中博人力资源")
    create.set_defaults(func=run_create)
    listing = actions.add_parser("list", help="every tenant")
    listing.set_defaults(func=run_list)
    for action in (create, listing):
        action.add_argument("--database-url", help="default: JOBMATCH_DATABASE_URL")


def run_create(args: argparse.Namespace) -> int:
    """Create the tenant; 1 with the reason when the id is invalid or taken."""
    try:
        with transaction_on(args.database_url or get_settings().database_url) as session:
            tenant = tenant_service.create_tenant(
                session, tenant_id=args.id, display_name=args.name
            )
            print(f"tenant {tenant.id} ({tenant.display_name}) created")
    except AppError as exc:
        print(f"error: {exc.message}")
        return 1
    return 0


def run_list(args: argparse.Namespace) -> int:
    """Print every tenant."""
    with transaction_on(args.database_url or get_settings().database_url) as session:
        for tenant in tenant_service.list_tenants(session):
            print(f"{tenant.id:<32} {tenant.display_name}  created {tenant.created_at:%Y-%m-%d}")
    return 0
