"""CLI sub-commands: each module exposes `register(subparsers)` and sets `func` on its parser."""

from __future__ import annotations

import argparse

from app.tables import DEFAULT_TENANT
from app.tenant_paths import TENANT_ID_PATTERN, is_valid_tenant_id


def tenant_id_argument(value: str) -> str:
    """argparse type of a --tenant option: a well-formed tenant id, never a path."""
    if not is_valid_tenant_id(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a tenant id ({TENANT_ID_PATTERN})")
    return value


def add_tenant_option(parser: argparse.ArgumentParser) -> None:
    """--tenant: the agency whose records a command works on (default: the default tenant)."""
    parser.add_argument(
        "--tenant",
        type=tenant_id_argument,
        default=DEFAULT_TENANT,
        help="owning agency (%(default)s)",
    )
