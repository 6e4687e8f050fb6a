"""`jobmatch serve`: run the HTTP service with uvicorn."""

from __future__ import annotations

import argparse

import uvicorn

from app.settings import get_settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `serve` command."""
    settings = get_settings()
    parser = subparsers.add_parser("serve", help="run the HTTP API (OpenAPI page at /docs)")
    parser.add_argument(
        "--host", default=settings.host, help="default: JOBMATCH_HOST or %(default)s"
    )
    parser.add_argument(
        "--port", type=int, default=settings.port, help="default: JOBMATCH_PORT or %(default)s"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=settings.workers,
        help="worker processes (default %(default)s)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    settings = get_settings()
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=settings.log_level.lower(),
    )
    return 0
