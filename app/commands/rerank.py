"""`jobmatch rerank`: every seeking graduate against every open job (and the reverse), top-k
each, stored as a versioned run that becomes current when complete; resumable; in-process or
on a Dask cluster."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from app.batch.inputs import SIDES
from app.batch.rerank import (
    LocalExecutor,
    RerankError,
    RerankOptions,
    RerankStopped,
    default_threads,
    load_inputs,
    run_rerank,
)
from app.commands import tenant_id_argument
from app.db import create_db_engine, create_session_factory
from app.errors import AppError
from app.matching.majors import load_major_table
from app.ranking.features import Direction
from app.settings import get_settings
from app.tables import DEFAULT_TENANT, MatchRun

DEFAULTS = RerankOptions()
# Measured by `jobmatch bench rerank` (tracemalloc, 50,000 graduates × 31,482 postings, top-20,
# pool 80): what one chunk allocates per query row while it is ranked when every pair passes
# the pair filters (the worst case; 2–5 KB with the default education and city filters).
BYTES_PER_QUERY_ROW = 26_000
# Exit status of a run stopped by SIGTERM (128 + the signal, as a shell reports it).
STOPPED_EXIT = 128 + signal.SIGTERM

MEMORY_NOTE = (
    f"Memory: a chunk takes up to about {BYTES_PER_QUERY_ROW // 1000} KB per query row while it "
    f"is ranked (≈ {DEFAULTS.chunk_rows * BYTES_PER_QUERY_ROW / 2**20:.0f} MB at the default "
    f"{DEFAULTS.chunk_rows} rows, top-{DEFAULTS.k}, pool {DEFAULTS.pool}; 2–5 KB per row with "
    "the usual city and education filters; it grows with --top-k and --pool). Each process "
    "also holds the candidate side once (about 8 bytes per stored term plus 170 bytes per "
    "candidate: ≈ 25 MB for 50,000 graduates), up to twice that again in filtered copies of "
    "it, "
    "and at most 64 MB of cached masks."
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `rerank` command."""
    parser = subparsers.add_parser(
        "rerank",
        help="re-rank every graduate against every open job (batch)",
        description=f"{__doc__}\n\n{textwrap.fill(MEMORY_NOTE, 92)}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--side",
        choices=("both", *SIDES),
        default=None,
        help="jobs: the top jobs of every seeking graduate; graduates: the top graduates of "
        "every open job; both (default)",
    )
    parser.add_argument(
        "--top-k", type=int, default=None, help=f"matches per query (default {DEFAULTS.k})"
    )
    parser.add_argument(
        "--pool",
        type=int,
        default=None,
        help="candidates per query the sparse product keeps before exact scoring "
        f"(default {DEFAULTS.pool}); larger means fewer queries re-run wider",
    )
    parser.add_argument(
        "--chunk-rows",
        type=int,
        default=None,
        help=f"queries per chunk, the unit stored and resumed (default {DEFAULTS.chunk_rows}; "
        f"about {BYTES_PER_QUERY_ROW // 1000} KB each while ranked)",
    )
    parser.add_argument("--out", type=Path, help="also write the rows to FILE.parquet or .csv")
    parser.add_argument("--engine", choices=("local", "dask"), default="local")
    parser.add_argument(
        "--scheduler",
        help="Dask scheduler ADDRESS (tcp://host:8786); without it --engine dask starts a "
        "LocalCluster on 127.0.0.1",
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="LocalCluster worker processes (default 2)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads of the in-process sparse product (default: all cores, at least 2)",
    )
    parser.add_argument(
        "--tenant",
        type=tenant_id_argument,
        default=DEFAULT_TENANT,
        help="owning agency (%(default)s)",
    )
    parser.add_argument("--resume", type=int, metavar="RUN_ID", help="continue a stopped run")
    parser.add_argument("--export", type=int, metavar="RUN_ID", help="write a run to --out")
    parser.add_argument("--list", action="store_true", help="show the tenant's recent runs")
    parser.add_argument("--database-url", help="default: JOBMATCH_DATABASE_URL")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def _options(args: argparse.Namespace) -> RerankOptions:
    sides: tuple[Direction, ...] = SIDES if args.side in (None, "both") else (args.side,)
    return RerankOptions(
        sides=sides,
        k=args.top_k if args.top_k is not None else DEFAULTS.k,
        pool=args.pool if args.pool is not None else DEFAULTS.pool,
        chunk_rows=args.chunk_rows if args.chunk_rows is not None else DEFAULTS.chunk_rows,
    )


def _check(args: argparse.Namespace) -> str | None:
    """A usage error, if any."""
    fixed = ("side", "top_k", "pool", "chunk_rows")
    if args.resume is not None and any(getattr(args, name) is not None for name in fixed):
        return "--resume continues a run with its own --side/--top-k/--pool/--chunk-rows"
    if args.export is not None and args.out is None:
        return "--export needs --out FILE"
    if args.out is not None and args.out.suffix.lower() not in (".parquet", ".csv"):
        return "--out must end in .parquet or .csv"
    for name in ("top_k", "pool", "chunk_rows", "threads", "workers"):
        value = getattr(args, name)
        if value is not None and value < 1:
            return f"--{name.replace('_', '-')} must be at least 1"
    if args.scheduler and args.engine != "dask":
        return "--scheduler needs --engine dask"
    return None


def run(args: argparse.Namespace) -> int:
    """Run, resume, list or export; exit 2 when refused."""
    problem = _check(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    settings = get_settings()
    engine = create_db_engine(args.database_url or settings.database_url)
    factory = create_session_factory(engine)
    try:
        if args.list:
            return _list(factory, args.tenant)
        if args.export is not None:
            return _export(factory, args.export, args.out)
        return _rerank(args, factory, settings.models_dir, settings.shared_dir)
    except AppError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()


def _rerank(args: argparse.Namespace, factory: Any, models_dir: Path, shared_dir: Path) -> int:
    started = time.perf_counter()
    version = None
    if args.resume is not None:
        from app.batch import store

        with factory() as session:
            version = store.get_run(session, run_id=args.resume).params["version"]
    inputs = load_inputs(
        factory,
        tenant=args.tenant,
        models_dir=models_dir,
        majors=load_major_table(shared_dir),
        version=version,
    )
    print(
        f"inputs: {inputs.jobs} jobs, {inputs.graduates} graduates, ranking version "
        f"{inputs.version}, data {inputs.data_hash[:12]} ({time.perf_counter() - started:.1f} s)"
    )
    bar: tqdm[Any] | None = None

    def on_start(match_run: MatchRun, total: int, done: int) -> None:
        nonlocal bar
        verb = "resuming" if args.resume is not None else "started"
        print(f"match run {match_run.id} {verb}: {match_run.chunks_total} chunks, {total} queries")
        bar = tqdm(
            total=total,
            initial=done,
            unit="rows",
            desc=f"rerank {match_run.id}",
            disable=args.no_progress,
            smoothing=0.1,
        )

    def on_progress(rows: int) -> None:
        if bar is not None:
            bar.update(rows)

    # SIGTERM (a scheduler's stop, a shutdown) ends the run after the chunk being stored.
    stop_requested = threading.Event()
    previous_handler = signal.signal(signal.SIGTERM, lambda *_: stop_requested.set())
    try:
        if args.engine == "dask":
            from app.batch.dask_executor import DaskExecutor, dask_client

            # Dask's own INFO lines (scheduler and worker start-up) would bury the progress bar.
            logging.getLogger("distributed").setLevel(logging.WARNING)

            with dask_client(args.scheduler, workers=args.workers) as client:
                run_id = run_rerank(
                    factory,
                    tenant=args.tenant,
                    inputs=inputs,
                    executor=DaskExecutor.for_client(client),
                    options=_options(args),
                    resume_run_id=args.resume,
                    on_start=on_start,
                    on_progress=on_progress,
                    should_stop=stop_requested.is_set,
                )
        else:
            run_id = run_rerank(
                factory,
                tenant=args.tenant,
                inputs=inputs,
                executor=LocalExecutor(threads=args.threads or default_threads()),
                options=_options(args),
                resume_run_id=args.resume,
                on_start=on_start,
                on_progress=on_progress,
                should_stop=stop_requested.is_set,
            )
    except RerankStopped as stopped:
        print(f"{stopped}; continue with: jobmatch rerank --resume {stopped.run_id}")
        return STOPPED_EXIT
    finally:
        signal.signal(signal.SIGTERM, previous_handler)
        if bar is not None:
            bar.close()
    with factory() as session:
        from app.batch import store

        match_run = store.get_run(session, run_id=run_id)
        print(
            f"match run {run_id} complete and current: {match_run.rows} rows "
            f"({time.perf_counter() - started:.1f} s)"
        )
    if args.out is not None:
        return _export(factory, run_id, args.out)
    return 0


def _export(factory: Any, run_id: int, out: Path) -> int:
    from app.auth.roles import command_line_principal
    from app.batch import store
    from app.batch.export import export_run
    from app.services.exports import register_export

    with factory.begin() as session:
        written = export_run(session, run_id=run_id, path=out)
        # Audited, and remembered so that an erasure rewrites the file without the graduate.
        tenant = store.get_run(session, run_id=run_id).tenant
        principal = command_line_principal(tenant)
        register_export(session, principal=principal, tenant=tenant, run_id=run_id, path=out)
    print(f"wrote {written} rows of match run {run_id} to {out}")
    return 0


def _list(factory: Any, tenant: str) -> int:
    from app.batch import store

    with factory() as session:
        runs = store.list_runs(session, tenant=tenant)
        current = {side: store.current_run_id(session, tenant=tenant, side=side) for side in SIDES}
    if not runs:
        print(f"no match runs for tenant {tenant}")
        return 0
    for match_run in runs:
        marks = [side for side, run_id in current.items() if run_id == match_run.id]
        flag = f" current for {', '.join(marks)}" if marks else ""
        print(
            f"{match_run.id:>6} {match_run.status:<9} {match_run.sides:<16} "
            f"{match_run.chunks_done}/{match_run.chunks_total} chunks {match_run.rows} rows "
            f"started {match_run.started_at:%Y-%m-%d %H:%M:%S}{flag}"
        )
    return 0


__all__ = ["RerankError", "register", "run"]
