"""`jobmatch bench api`: match queries over HTTP under load, next to /healthz in the same run.

Loads the real postings (scaled up by copying them under new external_ids), a few thousand
synthetic graduates, starts `jobmatch serve --workers N` on loopback and drives it with wrk
(Debian's package) at C connections: req/s and latency percentiles for
GET /v1/graduates/{id}/matches?k=10 and for the trivial /healthz as the ceiling. Also times
JSON serialisation of 1,000 matches: stdlib json, orjson and pydantic, in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx
import orjson

DEFAULT_JOBS = "../shared/data/jobs_zhaopin.jsonl"


def register(kinds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `bench api`."""
    parser = kinds.add_parser("api", help="match queries over HTTP under load (wrk)")
    parser.add_argument("--jobs", default=DEFAULT_JOBS, help="real postings JSONL (%(default)s)")
    parser.add_argument("--scale", type=int, default=100_000, help="postings after scaling up")
    parser.add_argument("--graduates", type=int, default=2_000, help="synthetic graduates")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers (%(default)s)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--duration", type=int, default=15, help="seconds per wrk run")
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temp folder")
    parser.set_defaults(func=run)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _scaled_postings(path: Path, target: int) -> Iterator[tuple[int, dict[str, Any], None]]:
    # split("\n"), not splitlines(): posting text holds U+2028 and friends.
    rows = [json.loads(line) for line in path.read_text("utf-8").split("\n") if line.strip()]
    for number in range(target):
        row = dict(rows[number % len(rows)])
        copy = number // len(rows)
        if copy:
            row["external_id"] = f"{row['external_id']}-x{copy}"
        yield number + 1, row, None


def _load(database_url: str, jobs_path: Path, scale: int, graduates: int) -> list[int]:
    from app.db import create_db_engine, create_session_factory
    from app.demo import generate_graduates
    from app.importing.load import load_records
    from app.migrations import upgrade_database
    from app.schemas.graduates import GraduateCreate
    from app.schemas.jobs import JobCreate
    from app.tables import Graduate, Job

    upgrade_database(url=database_url)
    engine = create_db_engine(database_url)
    factory = create_session_factory(engine)
    started = time.perf_counter()
    jobs = load_records(
        factory,
        Job,
        JobCreate,
        tenant="default",
        records=_scaled_postings(jobs_path, scale),
        batch_size=2000,
    )
    people = load_records(
        factory,
        Graduate,
        GraduateCreate,
        tenant="default",
        records=((i + 1, g, None) for i, g in enumerate(generate_graduates(graduates))),
    )
    print(
        f"loaded {jobs.created + jobs.updated:,} postings and {people.created + people.updated:,} "
        f"synthetic graduates in {time.perf_counter() - started:.1f} s"
    )
    from sqlalchemy import select

    with factory() as session:
        ids = list(session.scalars(select(Graduate.id).order_by(Graduate.id)))
    engine.dispose()
    return ids


@contextmanager
def _server(database_url: str, workers: int, folder: Path) -> Iterator[str]:
    port = _free_port()
    env = {
        **os.environ,
        "JOBMATCH_DATABASE_URL": database_url,
        "JOBMATCH_MODELS_DIR": str(folder / "models"),
        "JOBMATCH_LOG_LEVEL": "WARNING",
    }
    command = [
        sys.executable,
        "-m",
        "app.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        started = time.perf_counter()
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.perf_counter() - started > 600:
                raise RuntimeError(f"server did not start; see {folder / 'server.log'}")
            time.sleep(0.5)
        print(f"server up, {workers} workers, index built: {time.perf_counter() - started:.1f} s")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


LATENCY = re.compile(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
REQUESTS = re.compile(r"Requests/sec:\s+([\d.]+)")
UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _wrk(url: str, script: Path | None, connections: int, duration: int) -> dict[str, float]:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    command = [wrk, "-t", "2", "-c", str(connections), "-d", f"{duration}s", "--latency", url]
    if script is not None:
        command[1:1] = ["-s", str(script)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result = {f"p{p}_ms": float(v) * UNIT_MS[u] for p, v, u in LATENCY.findall(output)}
    match = REQUESTS.search(output)
    result["req_s"] = float(match.group(1)) if match else 0.0
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    result["non_2xx"] = float(errors.group(1)) if errors else 0.0
    return result


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


def run(args: argparse.Namespace) -> int:
    """Load, serve, drive with wrk, print the numbers."""
    jobs_path = Path(args.jobs)
    if not jobs_path.is_file():
        print(f"error: {jobs_path} not found")
        return 2
    print("serialising 1,000 matches (median ms):")
    medians = _serialisation()
    for name, value in medians.items():
        ratio = medians["stdlib json"] / value
        print(f"  {name:<20} {value:7.3f} ms   ×{ratio:.1f} vs stdlib")
    with tempfile.TemporaryDirectory(prefix="jobmatch-bench-") as temporary:
        folder = Path(temporary)
        url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
        graduate_ids = _load(url, jobs_path, args.scale, args.graduates)
        script = folder / "paths.lua"
        paths = ", ".join(f'"/v1/graduates/{gid}/matches?k=10"' for gid in graduate_ids)
        script.write_text(
            f"local paths = {{{paths}}}\nlocal i = 0\n"
            "request = function()\n  i = i % #paths + 1\n"
            "  return wrk.format('GET', paths[i])\nend\n"
        )
        with _server(url, args.workers, folder) as base:
            _wrk(f"{base}/v1/graduates/{graduate_ids[0]}/matches?k=10", None, 2, 3)  # warm-up
            health = _wrk(f"{base}/healthz", None, args.connections, args.duration)
            matches = _wrk(base, script, args.connections, args.duration)
    print(
        f"\nwrk, {args.workers} workers, {args.connections} connections, {args.duration} s each, "
        f"{args.scale:,} postings:"
    )
    for name, result in (("/healthz (ceiling)", health), ("graduate matches k=10", matches)):
        print(
            f"  {name:<24} {result['req_s']:8.0f} req/s   p50 {result.get('p50_ms', 0):6.2f} ms"
            f"   p99 {result.get('p99_ms', 0):6.2f} ms   non-2xx {result['non_2xx']:.0f}"
        )
    print(f"  matches reach {matches['req_s'] / health['req_s']:.0%} of the /healthz ceiling")
    return 0
