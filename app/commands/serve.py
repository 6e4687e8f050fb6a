"""`jobmatch serve`: run the HTTP service with uvicorn."""

from __future__ import annotations

import argparse
import ipaddress
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import uvicorn

from app.logs import logging_config
from app.processes import die_with_parent
from app.settings import get_settings

if TYPE_CHECKING:
    from fastapi import FastAPI

SUPERVISOR_PID = "JOBMATCH_SERVE_SUPERVISOR_PID"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


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
    parser.add_argument(
        "--insecure-allow-remote",
        action="store_true",
        help="bind a non-loopback address even with JOBMATCH_AUTH=off (anyone who reaches "
        "the port is then an admin)",
    )
    parser.set_defaults(func=run)


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


def create_worker_app() -> FastAPI:
    """The app of one uvicorn worker process, which ends when the supervisor is killed."""
    die_with_parent(parent_pid=int(os.environ[SUPERVISOR_PID]))
    from app.main import create_app  # after: a worker orphaned while importing ends too

    return create_app()


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; refuse a remote address while authentication is off."""
    settings = get_settings()
    if settings.auth == "off" and not is_loopback(args.host) and not args.insecure_allow_remote:
        print(
            f"refusing to serve on {args.host} with JOBMATCH_AUTH=off: anyone reaching it would "
            "be an admin. Turn auth on (create keys with `jobmatch keys create`), bind "
            "127.0.0.1, or pass --insecure-allow-remote."
        )
        return 2
    os.environ[SUPERVISOR_PID] = str(os.getpid())  # inherited by the spawned workers
    with metrics_folder(args.workers):
        uvicorn.run(
            "app.commands.serve:create_worker_app" if args.workers > 1 else "app.main:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level=settings.log_level.lower(),
            log_config=logging_config(settings.log_level, json_lines=settings.log_json),
            # Its access line holds the raw query string; RequestObserver logs one without.
            access_log=False,
            timeout_graceful_shutdown=int(settings.graceful_shutdown_s),
            timeout_worker_healthcheck=int(settings.worker_healthcheck_s),
        )
    return 0


@contextmanager
def metrics_folder(workers: int) -> Iterator[None]:
    """With several workers, a fresh PROMETHEUS_MULTIPROC_DIR they all write their samples to.

    Set before the workers start (prometheus-client reads it at import); emptied first,
    since samples left by an earlier run would be summed with this one's.
    """
    if workers <= 1:
        yield
        return
    configured = os.environ.get(MULTIPROC_ENV)
    folder = Path(configured) if configured else Path(tempfile.mkdtemp(prefix="jobmatch-metrics-"))
    if configured:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(folder)
    try:
        yield
    finally:
        if not configured:
            shutil.rmtree(folder, ignore_errors=True)
