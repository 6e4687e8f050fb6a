"""A closed-loop HTTP/1.1 load generator: C keep-alive connections, each sending the next
request as soon as the last answer is read, for D seconds. Standard library only (uvloop when
present), run as its own process so its CPU is not the server's:

    python -m app.benchmarks.loadgen --port 8000 --paths paths.txt --connections 16 --duration 10

Prints one JSON object: requests, req/s, latency percentiles (ms), non-2xx answers, errors.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np


class Tally:
    """Latencies and status counts shared by the connections of one run."""

    def __init__(self) -> None:
        self.latencies_ms: list[float] = []
        self.non_2xx = 0
        self.errors = 0


async def _connection(
    host: str, port: int, paths: Iterable[str], deadline: float, tally: Tally, headers: str
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for path in paths:
            if time.perf_counter() >= deadline:
                break
            request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{headers}\r\n".encode()
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if length:
                await reader.readexactly(length)
            tally.latencies_ms.append((time.perf_counter() - started) * 1e3)
            if not 200 <= status < 300:
                tally.non_2xx += 1
    except (OSError, asyncio.IncompleteReadError, ValueError):
        tally.errors += 1
    finally:
        writer.close()


async def _drive(
    host: str,
    port: int,
    paths: list[str],
    connections: int,
    duration: float,
    once: bool,
    headers: str,
) -> tuple[Tally, float]:
    tally = Tally()
    # The connections share one iterator: with `once` each path is asked exactly once.
    cycle = iter(paths) if once else itertools.cycle(paths)
    started = time.perf_counter()
    deadline = started + duration
    await asyncio.gather(
        *(_connection(host, port, cycle, deadline, tally, headers) for _ in range(connections))
    )
    return tally, time.perf_counter() - started


def drive(
    host: str,
    port: int,
    paths: list[str],
    connections: int,
    duration: float,
    once: bool = False,
    headers: Sequence[str] = (),
) -> dict[str, Any]:
    """Run the load and summarise it; with `once`, until every path was asked once (or the
    duration is up). `headers` ("Name: value") go with every request."""
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    lines = "".join(f"{header}\r\n" for header in headers)
    tally, seconds = runner(_drive(host, port, paths, connections, duration, once, lines))
    latencies = np.asarray(tally.latencies_ms or [0.0])
    return {
        "connections": connections,
        "requests": len(tally.latencies_ms),
        "seconds": seconds,
        "req_s": len(tally.latencies_ms) / seconds,
        "p50_ms": float(np.percentile(latencies, 50)),
        "p90_ms": float(np.percentile(latencies, 90)),
        "p99_ms": float(np.percentile(latencies, 99)),
        "non_2xx": tally.non_2xx,
        "errors": tally.errors,
    }


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, drive the load, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--paths", type=Path, required=True, help="one request path a line")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--once", action="store_true", help="each path once, then stop")
    parser.add_argument(
        "--header", action="append", default=[], help='"Name: value" on every request'
    )
    args = parser.parse_args(argv)
    paths = [line for line in args.paths.read_text("utf-8").split("\n") if line]
    result = drive(
        args.host, args.port, paths, args.connections, args.duration, args.once, args.header
    )
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
