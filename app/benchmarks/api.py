"""`jobmatch bench api`: match queries over HTTP under load, next to /healthz in the same run.

Loads the real postings (scaled up as app.benchmarks.corpus describes), a few thousand
synthetic graduates, starts `jobmatch serve --workers N` on loopback and drives it with
app.benchmarks.loadgen (another process) at each connection count: req/s and latency
percentiles for GET /v1/graduates/{id}/matches?k=10 and for the trivial /healthz as the
ceiling. Also times JSON serialisation of 1,000 matches: stdlib json, orjson and pydantic.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from app.benchmarks.corpus import JOBS_FILE, scaled_records

DEFAULT_JOBS = f"../shared/{JOBS_FILE}"
# Each worker indexes every posting before it answers: minutes at 100k on a busy machine.
START_TIMEOUT_S = 1800


def register(kinds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `bench api`."""
    parser = kinds.add_parser("api", help="match queries over HTTP under load")
    parser.add_argument("--jobs", default=DEFAULT_JOBS, help="real postings JSONL (%(default)s)")
    parser.add_argument("--scale", type=int, default=100_000, help="postings after scaling up")
    parser.add_argument("--graduates", type=int, default=2_000, help="synthetic graduates")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers (%(default)s)")
    parser.add_argument(
        "--connections",
        type=int,
        nargs="+",
        default=[16],
        help="connection counts to drive, one run each (%(default)s)",
    )
    parser.add_argument("--duration", type=float, default=15, help="seconds per run")
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temp folder")
    parser.set_defaults(func=run)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _load(database_url: str, jobs_path: Path, scale: int, graduates: int) -> list[int]:
    from sqlalchemy import select

    from app.db import create_db_engine, create_session_factory
    from app.demo import generate_graduates
    from app.evaluation.records import read_jsonl
    from app.importing.load import load_records
    from app.migrations import upgrade_database
    from app.schemas.graduates import GraduateCreate
    from app.schemas.jobs import JobCreate
    from app.tables import Graduate, Job

    logging.getLogger("alembic").setLevel(logging.WARNING)
    upgrade_database(url=database_url)
    engine = create_db_engine(database_url)
    factory = create_session_factory(engine)
    records = scaled_records(list(read_jsonl(jobs_path)), scale)
    load_records(
        factory,
        Job,
        JobCreate,
        tenant="default",
        records=((n + 1, record, None) for n, record in enumerate(records)),
        batch_size=2000,
    )
    load_records(
        factory,
        Graduate,
        GraduateCreate,
        tenant="default",
        records=((i + 1, g, None) for i, g in enumerate(generate_graduates(graduates))),
    )
    with factory() as session:
        ids = list(session.scalars(select(Graduate.id).order_by(Graduate.id)))
    engine.dispose()
    return ids


def _agency_key(database_url: str) -> str:
    """A new agency key of the default tenant: the load asks as an agency would, through auth."""
    from app.db import create_db_engine, create_session_factory
    from app.services.keys import create_key

    engine = create_db_engine(database_url)
    try:
        with create_session_factory(engine)() as session:
            secret = create_key(session, tenant="default", role="agency", name="bench").secret
            session.commit()
    finally:
        engine.dispose()
    return secret


def _get_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            status: int = response.status
            return status
    except (urllib.error.URLError, OSError):
        return None


@contextmanager
def serving(database_url: str, workers: int, folder: Path) -> Iterator[int]:
    """`jobmatch serve --workers N` on a free loopback port, until /healthz answers; yields
    the port and stops the server (and its workers) on exit."""
    port = _free_port()
    env = {
        **os.environ,
        "JOBMATCH_DATABASE_URL": database_url,
        "JOBMATCH_MODELS_DIR": str(folder / "models"),
        "JOBMATCH_LOG_LEVEL": "WARNING",
        # As it would be deployed: every match request carries an agency key.
        "JOBMATCH_AUTH": "on",
    }
    command = [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(workers)]
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        started = time.perf_counter()
        while _get_status(f"http://127.0.0.1:{port}/healthz") != 200:
            if process.poll() is not None or time.perf_counter() - started > START_TIMEOUT_S:
                log.flush()
                tail = (folder / "server.log").read_text("utf-8", errors="replace")[-2000:]
                raise RuntimeError(f"server did not start; its log ends:\n{tail}")
            time.sleep(0.5)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def drive(
    port: int,
    paths_file: Path,
    connections: int,
    duration: float,
    *,
    once: bool = False,
    headers: Sequence[str] = (),
) -> dict[str, Any]:
    """One load-generator run in its own process (with `once`: each path asked once)."""
    command = [sys.executable, "-m", "app.benchmarks.loadgen", "--port", str(port)]
    command += ["--paths", str(paths_file), "--connections", str(connections)]
    command += ["--duration", str(duration)] + (["--once"] if once else [])
    for header in headers:
        command += ["--header", header]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result: dict[str, Any] = json.loads(output)
    return result


def freshness_check_cost(database_url: str, samples: int = 300) -> dict[str, float]:
    """Median µs of the check before each match query, interleaved: the change-log query
    (a session, `id > head` on index_changes, commit: what every request ran before the change
    signal) against the database's change signal (what a request runs now when nothing changed:
    SQLite's data_version; PostgreSQL's round trip on the listening connection, one caller at a
    time, so none shares another's)."""
    from sqlalchemy import func, select

    from app.db import create_db_engine, create_session_factory
    from app.matching.change_signal import change_signal_for
    from app.tables import IndexChange

    engine = create_db_engine(database_url)
    factory = create_session_factory(engine)
    signal = change_signal_for(engine)
    with factory() as session:
        head = session.scalar(select(func.max(IndexChange.id))) or 0
    query = (
        select(IndexChange.id, IndexChange.entity, IndexChange.entity_id, IndexChange.detail)
        .where(IndexChange.tenant == "default", IndexChange.id > head)
        .order_by(IndexChange.id)
    )
    log_us, signal_us = [], []
    for _ in range(samples):
        started = time.perf_counter()
        with factory() as session:
            session.execute(query).all()
            session.commit()
        log_us.append((time.perf_counter() - started) * 1e6)
        started = time.perf_counter()
        signal.version()
        signal_us.append((time.perf_counter() - started) * 1e6)
    signal.close()
    engine.dispose()
    return {
        "log_query_us": statistics.median(log_us),
        "change_signal_us": statistics.median(signal_us),
    }


def key_check_cost(database_url: str, secret: str, samples: int = 300) -> dict[str, float]:
    """Median µs of finding who a key is, interleaved: the database lookup (a session, the
    key query, commit: what every request with a key ran before) against a worker's principal
    cache when nothing was committed since (as read from a thread: on PostgreSQL, with the
    change signal's round trip)."""
    from app.api.principals import PrincipalCache
    from app.db import create_db_engine, create_session_factory
    from app.matching.change_signal import change_signal_for
    from app.services.keys import authenticate, hash_secret

    engine = create_db_engine(database_url)
    factory = create_session_factory(engine)
    signal = change_signal_for(engine)
    principals = PrincipalCache(signal)
    lookup_us, cached_us = [], []
    for _ in range(samples):
        started = time.perf_counter()
        with factory() as session:
            principal = authenticate(session, secret=secret)
            session.commit()
        lookup_us.append((time.perf_counter() - started) * 1e6)
        key = (hash_secret(secret), None)
        version = principals.version(wait=True)
        principals.put(key, principal, version)
        started = time.perf_counter()
        found = principals.get((hash_secret(secret), None), principals.version(wait=True))
        cached_us.append((time.perf_counter() - started) * 1e6)
        if found is None:
            raise RuntimeError("the principal cache missed with nothing committed")
    signal.close()
    engine.dispose()
    return {"lookup_us": statistics.median(lookup_us), "cached_us": statistics.median(cached_us)}


def _serialisation(samples: int = 15) -> dict[str, float]:
    from app.schemas.matches import GraduateMatch, GraduateMatches, ScoreParts

    body = GraduateMatches(
        job_id=1,
        index=None,
        matches=[
            GraduateMatch(
                rank=i + 1,
                graduate_id=i,
                external_id=f"syn-grad-{i:06d}",
                major="电气工程及其自动化",
                education="本科",
                school="宁波工程学院",
                city="宁波",
                score=0.5,
                parts=ScoreParts(text=0.4, major=1.0, education=1.0, city=1.0, salary=0.5),
            )
            for i in range(1000)
        ],
    )
    plain = body.model_dump(mode="json")
    timings: dict[str, list[float]] = {"stdlib json": [], "orjson": [], "pydantic (FastAPI)": []}
    for _ in range(samples):
        for name, dump in (
            ("stdlib json", lambda: json.dumps(plain, ensure_ascii=False).encode()),
            ("orjson", lambda: orjson.dumps(plain)),
            ("pydantic (FastAPI)", body.model_dump_json),
        ):
            started = time.perf_counter()
            dump()
            timings[name].append((time.perf_counter() - started) * 1000)
    return {name: statistics.median(values) for name, values in timings.items()}


def measure_http(
    jobs_path: Path,
    *,
    scale: int,
    graduates: int,
    workers: int,
    connections: Sequence[int],
    duration: float,
    goal_connections: int,
    database_url: str | None = None,
) -> dict[str, Any]:
    """Load, serve, and drive /healthz and the matches at each connection count, interleaved
    so machine load falls on both alike."""
    result: dict[str, Any] = {
        "postings": scale,
        "graduates": graduates,
        "workers": workers,
        "duration_s": duration,
        "serialisation_ms": _serialisation(),
    }
    with tempfile.TemporaryDirectory(prefix="jobmatch-bench-") as temporary:
        folder = Path(temporary)
        url = database_url or f"sqlite:///{folder / 'bench.db'}"
        started = time.perf_counter()
        graduate_ids = _load(url, jobs_path, scale, graduates)
        result["load_s"] = time.perf_counter() - started
        result["freshness_check"] = freshness_check_cost(url)
        secret = _agency_key(url)
        result["key_check"] = key_check_cost(url, secret)
        key = [f"Authorization: Bearer {secret}"]
        matches = folder / "matches.txt"
        matches.write_text("".join(f"/v1/graduates/{g}/matches?k=10\n" for g in graduate_ids))
        # Every request a query not asked before in the run (k from 10 to 14 over the
        # graduates: more distinct queries than a snapshot keeps answers), so each is ranked.
        distinct = folder / "distinct.txt"
        distinct.write_text(
            "".join(
                f"/v1/graduates/{g}/matches?k={k}\n" for k in range(10, 15) for g in graduate_ids
            )
        )
        health = folder / "healthz.txt"
        health.write_text("/healthz\n")
        started = time.perf_counter()
        with serving(url, workers, folder) as port:
            result["startup_s"] = time.perf_counter() - started
            # The first pass over every graduate, cold: each answer ranked and each matched
            # company's near-duplicates found (by each worker that takes one of its queries).
            # The workload asks again, so the figures below are after it.
            result["first_pass"] = drive(
                port, matches, max(connections), START_TIMEOUT_S, once=True, headers=key
            )
            sweep: list[dict[str, Any]] = []
            for count in connections:
                ceiling = drive(port, health, count, duration)
                answered = drive(port, matches, count, duration, headers=key)
                ranked = drive(port, distinct, count, duration, headers=key)
                sweep.append(
                    {
                        "connections": count,
                        "healthz": ceiling,
                        "matches": answered,
                        "matches_distinct": ranked,
                    }
                )
    for point in sweep:
        ceiling = max(point["healthz"]["req_s"], 1e-9)
        point["ceiling_share"] = point["matches"]["req_s"] / ceiling
        point["distinct_ceiling_share"] = point["matches_distinct"]["req_s"] / ceiling
    result["sweep"] = sweep
    at_goal = [p for p in sweep if p["connections"] == goal_connections]
    result["goal_point"] = at_goal[0] if at_goal else sweep[-1]
    return result


def run(args: argparse.Namespace) -> int:
    """Load, serve, drive, print the numbers."""
    jobs_path = Path(args.jobs)
    if not jobs_path.is_file():
        print(f"error: {jobs_path} not found")
        return 2
    result = measure_http(
        jobs_path,
        scale=args.scale,
        graduates=args.graduates,
        workers=args.workers,
        connections=args.connections,
        duration=args.duration,
        goal_connections=args.connections[-1],
        database_url=args.database_url,
    )
    medians = result["serialisation_ms"]
    print("serialising 1,000 matches (median ms):")
    for name, value in medians.items():
        print(f"  {name:<20} {value:7.3f} ms   ×{medians['stdlib json'] / value:.1f} vs stdlib")
    print(
        f"loaded {args.scale:,} postings and {args.graduates:,} graduates in "
        f"{result['load_s']:.1f} s; server up in {result['startup_s']:.1f} s"
    )
    for point in result["sweep"]:
        for name in ("healthz", "matches", "matches_distinct"):
            answered = point[name]
            print(
                f"  {point['connections']:>3} connections {name:<8} {answered['req_s']:8.0f} req/s"
                f"   p50 {answered['p50_ms']:6.2f} ms   p99 {answered['p99_ms']:6.2f} ms"
                f"   non-2xx {answered['non_2xx']}   errors {answered['errors']}"
            )
        print(f"      matches reach {point['ceiling_share']:.0%} of the /healthz ceiling")
    return 0
