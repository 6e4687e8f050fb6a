"""Processes as /proc sees them: to prove a test left none behind."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, process group) of a live process, None once it is gone or a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    state, parent, group = fields[0], int(fields[1]), int(fields[2])
    return None if state in ("Z", "X") else (state, parent, group)


def _all_pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def group_members(group: int) -> list[int]:
    """Live (not zombie) processes in a process group."""
    return [pid for pid in _all_pids() if (stat := _stat(pid)) is not None and stat[2] == group]


def descendants(pid: int) -> list[int]:
    """Live children, grandchildren … of a process."""
    parents = {p: stat[1] for p in _all_pids() if (stat := _stat(p)) is not None}
    found: list[int] = []
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        children = [child for child, parent in parents.items() if parent == current]
        found += children
        frontier += children
    return found


def still_alive(pids: Iterable[int], *, within_s: float = 15.0) -> list[int]:
    """The pids still alive after up to `within_s` (signals take a moment to land)."""
    deadline = time.monotonic() + within_s
    alive = [pid for pid in pids if _stat(pid) is not None]
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [pid for pid in alive if _stat(pid) is not None]
    return alive
