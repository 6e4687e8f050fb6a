"""`jobmatch bench load`: mixed reads and writes at many connections against a real server.

Seeds a fresh database with synthetic postings and graduates, starts `jobmatch serve` with N
workers on loopback and drives it with C concurrent connections for D seconds: 50 % match
reads (graduates for a job, jobs for a graduate), 30 % creates, 20 % updates of records the
same connection created. A separate thread probes /healthz meanwhile. Prints req/s, p50/p99
per kind of request, 5xx and other errors, client timeouts, and checks afterwards that every
acknowledged write is in the database. The load test in `make test` runs the same driver,
shorter (tests/api/test_load.py).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx2 as httpx
import numpy as np
from sqlalchemy import Engine, select

from app.benchmarks.load_server import (
    agency_key_headers,
    running_server,
    scratch_database,
    seed_database,
    seeded_ids,
)
from app.db import (
    create_db_engine,
    create_session_factory,
)

Kind = Literal["job", "graduate"]
# Share of each operation in the mix (reads, creates; updates take the rest).
READ_SHARE = 0.5
CREATE_SHARE = 0.3


@dataclass(frozen=True, slots=True)
class LoadPlan:
    """Where to send load, how much, for how long."""

    base_url: str
    connections: int
    duration_s: float
    request_timeout_s: float
    job_ids: list[int]
    graduate_ids: list[int]
    seed: int = 0
    health_every_s: float = 0.2
    health_timeout_s: float = 1.0
    # The API key every request carries (`agency_key_headers`).
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class LoadReport:
    """What the driver saw: statuses, latencies, acknowledged writes, health probes."""

    elapsed_s: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    latencies_ms: dict[str, list[float]] = field(default_factory=dict)
    client_timeouts: int = 0
    transport_errors: int = 0
    server_error_samples: list[str] = field(default_factory=list)
    # external_id -> (kind, id) of every create the server acknowledged (201).
    created: dict[str, tuple[Kind, int]] = field(default_factory=dict)
    # (kind, id) -> the value of the last acknowledged update (200).
    updated: dict[tuple[Kind, int], int] = field(default_factory=dict)
    health_ms: list[float] = field(default_factory=list)
    health_failures: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        """Requests that got an answer."""
        return sum(self.statuses.values())

    @property
    def server_errors(self) -> int:
        """Answers with a 5xx status."""
        return sum(count for status, count in self.statuses.items() if status >= 500)

    def percentile_ms(self, q: float, operation: str | None = None) -> float:
        """The q-th percentile latency of one operation, or of all."""
        values = (
            self.latencies_ms.get(operation, [])
            if operation
            else [v for values in self.latencies_ms.values() for v in values]
        )
        return float(np.percentile(values, q)) if values else 0.0


def _graduate_body(external_id: str, rng: random.Random) -> dict[str, Any]:
    major, skills = rng.choice(
        [
            ("电气工程及其自动化", ["PLC", "电气设计", "CAD"]),
            ("自动化", ["PLC", "单片机", "C语言"]),
            ("机械设计制造及其自动化", ["SolidWorks", "CAD"]),
            ("会计学", ["会计", "Excel"]),
        ]
    )
    return {
        "external_id": external_id,
        "school": "宁波工程学院",
        "major": major,
        "education": "本科",
        "graduation_year": 2026,
        "city": "宁波",
        "skills": skills,
        "summary": f"{major}专业应届生，熟悉{'、'.join(skills)}。",
        "expected_salary": rng.randrange(5000, 12000, 500),
    }


def _job_body(external_id: str, rng: random.Random) -> dict[str, Any]:
    title, majors, skills = rng.choice(
        [
            ("电气工程师", ["电气工程及其自动化"], ["PLC", "电气设计"]),
            ("自动化工程师", ["自动化"], ["PLC", "单片机"]),
            ("机械设计助理", ["机械设计制造及其自动化"], ["SolidWorks"]),
            ("会计助理", ["会计学"], ["会计", "Excel"]),
        ]
    )
    return {
        "external_id": external_id,
        "title": title,
        "company": "宁波负载测试有限公司",
        "city": "宁波",
        "education": "本科",
        "majors": majors,
        "skills": skills,
        "description": f"招聘{title}，要求熟悉{'、'.join(skills)}。",
        "salary_min": 6000,
        "salary_max": 9000,
        "headcount": rng.randint(1, 30),
    }


UPDATED_FIELD: dict[Kind, str] = {"job": "headcount", "graduate": "expected_salary"}


async def _connection(
    number: int, client: httpx.AsyncClient, plan: LoadPlan, report: LoadReport, end: float
) -> None:
    """One client connection's loop: a request at a time until the end."""
    rng = random.Random(plan.seed * 1_000_003 + number)
    mine: list[tuple[Kind, int]] = []
    made = 0
    while time.monotonic() < end:
        draw = rng.random()
        kind: Kind = "job" if rng.random() < 0.3 else "graduate"
        body: dict[str, Any] | None = None
        if draw < READ_SHARE:
            if rng.random() < 0.5:
                operation, method = "job matches", "GET"
                path = f"/v1/jobs/{rng.choice(plan.job_ids)}/matches?k=10"
            else:
                operation, method = "graduate matches", "GET"
                path = f"/v1/graduates/{rng.choice(plan.graduate_ids)}/matches?k=10"
        elif draw < READ_SHARE + CREATE_SHARE or not mine:
            made += 1
            external_id = f"load-{plan.seed}-{number}-{made}"
            operation, method, path = f"create {kind}", "POST", f"/v1/{kind}s"
            body = (_job_body if kind == "job" else _graduate_body)(external_id, rng)
        else:
            kind, record_id = rng.choice(mine)
            value = rng.randint(1, 30) if kind == "job" else rng.randrange(5000, 12000, 500)
            operation, method, path = f"update {kind}", "PATCH", f"/v1/{kind}s/{record_id}"
            body = {UPDATED_FIELD[kind]: value}
        started = time.perf_counter()
        try:
            response = await client.request(method, path, json=body)
        except httpx.TimeoutException:
            report.client_timeouts += 1
            continue
        except httpx.TransportError as exc:
            report.transport_errors += 1
            report.server_error_samples.append(f"{operation}: {type(exc).__name__}: {exc}")
            continue
        report.latencies_ms.setdefault(operation, []).append((time.perf_counter() - started) * 1000)
        report.statuses[response.status_code] += 1
        if response.status_code >= 500 and len(report.server_error_samples) < 20:
            report.server_error_samples.append(
                f"{operation} {response.status_code}: {response.text[:300]}"
            )
        if method == "POST" and response.status_code == 201:
            record_id = response.json()["id"]
            report.created[body["external_id"] if body else ""] = (kind, record_id)
            mine.append((kind, record_id))
        elif method == "PATCH" and response.status_code == 200 and body is not None:
            report.updated[(kind, int(path.rsplit("/", 1)[1]))] = body[UPDATED_FIELD[kind]]


def _probe_health(plan: LoadPlan, report: LoadReport, stop: threading.Event) -> None:
    """/healthz on a connection of its own, in a thread of its own, throughout the load."""
    with httpx.Client(base_url=plan.base_url, timeout=plan.health_timeout_s) as client:
        while not stop.wait(plan.health_every_s):
            started = time.perf_counter()
            try:
                response = client.get("/healthz")
            except httpx.TransportError as exc:  # timeouts included
                report.health_failures.append(f"{type(exc).__name__}: {exc}")
                continue
            report.health_ms.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                report.health_failures.append(f"status {response.status_code}")


async def _drive(plan: LoadPlan, report: LoadReport) -> None:
    limits = httpx.Limits(
        max_connections=plan.connections, max_keepalive_connections=plan.connections
    )
    timeout = httpx.Timeout(plan.request_timeout_s)
    async with httpx.AsyncClient(
        base_url=plan.base_url, limits=limits, timeout=timeout, headers=plan.headers
    ) as client:
        end = time.monotonic() + plan.duration_s
        await asyncio.gather(
            *(_connection(n, client, plan, report, end) for n in range(plan.connections))
        )


def run_load(plan: LoadPlan) -> LoadReport:
    """Drive the server as planned and report what happened (health probed meanwhile)."""
    report = LoadReport()
    stop = threading.Event()
    prober = threading.Thread(target=_probe_health, args=(plan, report, stop), name="health")
    prober.start()
    started = time.perf_counter()
    try:
        asyncio.run(_drive(plan, report))
    finally:
        report.elapsed_s = time.perf_counter() - started
        stop.set()
        prober.join()
    return report


def missing_writes(engine: Engine, report: LoadReport) -> list[str]:
    """Acknowledged writes the database does not hold (empty when every one is there)."""
    from app.tables import Graduate, Job

    tables: list[tuple[Kind, type[Job] | type[Graduate]]] = [("job", Job), ("graduate", Graduate)]
    problems: list[str] = []
    with create_session_factory(engine)() as session:
        for kind, table in tables:
            column = getattr(table, UPDATED_FIELD[kind])
            rows = session.execute(
                select(table.external_id, table.id, column).where(table.external_id.like("load-%"))
            ).all()
            stored = {external_id: record_id for external_id, record_id, _ in rows}
            by_id = {record_id: value for _, record_id, value in rows}
            for external_id, (created_kind, record_id) in report.created.items():
                if created_kind == kind and stored.get(external_id) != record_id:
                    problems.append(f"created {kind} {external_id} (id {record_id}) is missing")
            for (updated_kind, record_id), value in report.updated.items():
                if updated_kind == kind and by_id.get(record_id) != value:
                    problems.append(
                        f"{kind} {record_id}: {UPDATED_FIELD[kind]} is "
                        f"{by_id.get(record_id)}, acknowledged {value}"
                    )
    return problems


# --- the command ------------------------------------------------------------------------


def register(kinds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `bench load`."""
    parser = kinds.add_parser("load", help="mixed reads and writes at many connections")
    parser.add_argument("--connections", type=int, default=200, help="(%(default)s)")
    parser.add_argument("--duration", type=float, default=60, help="seconds (%(default)s)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers (%(default)s)")
    parser.add_argument("--jobs", type=int, default=200, help="seeded postings (%(default)s)")
    parser.add_argument("--graduates", type=int, default=2000, help="seeded graduates")
    parser.add_argument("--timeout", type=float, default=60, help="client timeout, s")
    parser.add_argument(
        "--database-url",
        help="PostgreSQL: the load runs in a private schema, dropped after; "
        "default: a fresh SQLite file in a temporary folder",
    )
    parser.set_defaults(func=run)


def print_report(report: LoadReport, connections: int) -> None:
    """The figures of one run."""
    print(
        f"{report.requests:,} answers in {report.elapsed_s:.1f} s at {connections} connections: "
        f"{report.requests / report.elapsed_s:,.0f} req/s, p50 {report.percentile_ms(50):.0f} ms, "
        f"p99 {report.percentile_ms(99):.0f} ms"
    )
    for operation in sorted(report.latencies_ms):
        count = len(report.latencies_ms[operation])
        print(
            f"  {operation:<18} {count:7,}  p50 {report.percentile_ms(50, operation):6.0f} ms"
            f"  p99 {report.percentile_ms(99, operation):6.0f} ms"
        )
    statuses = ", ".join(f"{status}: {n:,}" for status, n in sorted(report.statuses.items()))
    print(f"  statuses {statuses}")
    print(
        f"  5xx {report.server_errors}, client timeouts {report.client_timeouts}, "
        f"transport errors {report.transport_errors}"
    )
    if report.health_ms:
        print(
            f"  /healthz during the load: {len(report.health_ms)} probes, max "
            f"{max(report.health_ms):.0f} ms, failures {len(report.health_failures)}"
        )
    for failure in report.health_failures[:3]:
        print(f"  /healthz failure: {failure}")
    for sample in report.server_error_samples[:5]:
        print(f"  e.g. {sample}")


def run(args: argparse.Namespace) -> int:
    """Seed, serve, load, verify; print the figures."""
    logging.getLogger("httpx2").setLevel(logging.WARNING)  # a line per request otherwise
    with (
        tempfile.TemporaryDirectory(prefix="jobmatch-load-") as temporary,
        scratch_database(args.database_url, Path(temporary)) as url,
    ):
        folder = Path(temporary)
        started = time.perf_counter()
        seed_database(url, jobs=args.jobs, graduates=args.graduates)
        engine = create_db_engine(url)
        try:
            job_ids, graduate_ids = seeded_ids(engine)
            print(
                f"seeded {len(job_ids)} postings, {len(graduate_ids)} graduates on "
                f"{engine.dialect.name} ({time.perf_counter() - started:.1f} s)"
            )
            with running_server(url, folder, workers=args.workers) as (base, _process):
                plan = LoadPlan(
                    base_url=base,
                    connections=args.connections,
                    duration_s=args.duration,
                    request_timeout_s=args.timeout,
                    job_ids=job_ids,
                    graduate_ids=graduate_ids,
                    headers=agency_key_headers(url),
                )
                report = run_load(plan)
                after = httpx.get(f"{base}/healthz", timeout=plan.health_timeout_s)
            print(f"{args.workers} workers, {engine.dialect.name}:")
            print_report(report, args.connections)
            print(f"  /healthz after the load: {after.status_code}")
            problems = missing_writes(engine, report)
            print(
                f"  acknowledged writes: {len(report.created):,} creates, "
                f"{len(report.updated):,} updated records; missing: {len(problems)}"
            )
            for problem in problems[:10]:
                print(f"  {problem}")
        finally:
            engine.dispose()
    return 0 if not problems and report.server_errors == 0 else 1
