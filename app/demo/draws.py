"""Seeded random draws shared by the demo generators."""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate
from typing import Generic, TypeVar

T = TypeVar("T")

DEFAULT_SEED = 2026


class Weighted(Generic[T]):
    """Weighted draw by bisection on cumulative weights, cheaper than rng.choices per call."""

    def __init__(self, pairs: Sequence[tuple[T, int]]) -> None:
        self.items = [item for item, _ in pairs]
        self.cumulative = list(accumulate(weight for _, weight in pairs))
        self.total = self.cumulative[-1]

    def pick(self, rng: random.Random) -> T:
        """Draw one item."""
        return self.items[bisect_right(self.cumulative, rng.random() * self.total)]


def make_rng(stream: str, seed: int) -> random.Random:
    """A generator for one stream of draws, the same on every machine."""
    # random.seed hashes a str with SHA-512, so the stream is the same on every machine and
    # independent of PYTHONHASHSEED; the stream name keeps job and graduate draws apart.
    return random.Random(f"jobmatch-demo:{stream}:{seed}")


def round_to(value: float, step: int) -> int:
    """value rounded to the nearest multiple of step."""
    return int(round(value / step)) * step


def sample_upto(rng: random.Random, pool: Sequence[T], low: int, high: int) -> list[T]:
    """Between low and high distinct items of pool (fewer when pool is smaller)."""
    k = rng.randint(min(low, len(pool)), min(high, len(pool)))
    return rng.sample(pool, k)
