"""Assigning graduates to jobs within capacities, maximising the total score. Pure: numpy and
scipy only.

Every job has `headcount` places, every graduate takes at most `per_graduate` of them, a pair
can be used once, and only the candidate pairs given can be used. That is a maximum-weight
b-matching on a bipartite graph: its constraint matrix is totally unimodular, so the linear
programme has an integral optimum and HiGHS (scipy.optimize.linprog) solves it exactly; a
greedy (best pair first while both sides have room) is the fallback for sizes where the exact
solve is too slow. The greedy is a ½-approximation in theory; its gap measured on our data is
in the README.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linear_sum_assignment, linprog, milp

IdArray = np.ndarray[Any, np.dtype[np.int64]]
FloatArray = np.ndarray[Any, np.dtype[np.float64]]
Method = Literal["exact", "greedy"]

# Candidate pairs up to which `assign` solves exactly. Measured here on random instances:
# 0.2 M pairs 0.9 s, 0.6 M 3.3 s, but 1.6 M 200 s (the simplex's iterations grow faster than
# the pairs); see the README.
EXACT_LIMIT = 600_000
INTEGRAL_TOLERANCE = 1e-6


@dataclass(frozen=True, slots=True)
class Pairs:
    """Candidate (graduate, job) pairs with their scores; each pair at most once."""

    graduate_ids: IdArray
    job_ids: IdArray
    scores: FloatArray

    def __len__(self) -> int:
        return int(self.scores.shape[0])


@dataclass(frozen=True, slots=True)
class Assignment:
    """The chosen pairs (best first) and their total score."""

    graduate_ids: IdArray
    job_ids: IdArray
    scores: FloatArray
    method: Method

    @property
    def total(self) -> float:
        """Sum of the chosen pairs' scores."""
        return float(self.scores.sum())

    def __len__(self) -> int:
        return int(self.scores.shape[0])


def _usable(pairs: Pairs, capacity: dict[int, int]) -> Pairs:
    """Pairs worth taking: a positive score and a job with room."""
    room = np.array([capacity.get(int(j), 0) > 0 for j in pairs.job_ids], dtype=bool)
    keep = room & (pairs.scores > 0)
    return Pairs(pairs.graduate_ids[keep], pairs.job_ids[keep], pairs.scores[keep])


def _chosen(pairs: Pairs, chosen: np.ndarray[Any, Any], method: Method) -> Assignment:
    graduates, jobs, scores = (
        pairs.graduate_ids[chosen],
        pairs.job_ids[chosen],
        pairs.scores[chosen],
    )
    order = np.lexsort((jobs, graduates, -scores))
    return Assignment(graduates[order], jobs[order], scores[order], method)


def assign_greedy(pairs: Pairs, capacity: dict[int, int], per_graduate: int = 1) -> Assignment:
    """Best pair first (ties by graduate, then job id) while the job and the graduate have
    room."""
    pairs = _usable(pairs, capacity)
    order = np.lexsort((pairs.job_ids, pairs.graduate_ids, -pairs.scores))
    job_room = dict(capacity)
    graduate_room: dict[int, int] = {}
    chosen = []
    for index, graduate, job in zip(
        order.tolist(),
        pairs.graduate_ids[order].tolist(),
        pairs.job_ids[order].tolist(),
        strict=True,
    ):
        if job_room[job] > 0 and graduate_room.get(graduate, per_graduate) > 0:
            job_room[job] -= 1
            graduate_room[graduate] = graduate_room.get(graduate, per_graduate) - 1
            chosen.append(index)
    return _chosen(pairs, np.array(chosen, dtype=np.intp), "greedy")


def assign_exact(pairs: Pairs, capacity: dict[int, int], per_graduate: int = 1) -> Assignment:
    """The maximum total score: HiGHS' dual simplex on the b-matching programme, whose optimal
    vertex is integral (total unimodularity; checked, with a MILP solve if it were not)."""
    pairs = _usable(pairs, capacity)
    n = len(pairs)
    if n == 0:
        return _chosen(pairs, np.empty(0, dtype=np.intp), "exact")
    graduates, graduate_row = np.unique(pairs.graduate_ids, return_inverse=True)
    jobs, job_row = np.unique(pairs.job_ids, return_inverse=True)
    columns = np.arange(n)
    incidence = sp.vstack(
        [
            sp.csr_matrix((np.ones(n), (graduate_row, columns)), shape=(graduates.shape[0], n)),
            sp.csr_matrix((np.ones(n), (job_row, columns)), shape=(jobs.shape[0], n)),
        ],
        format="csr",
    )
    upper = np.concatenate(
        [
            np.full(graduates.shape[0], float(per_graduate)),
            np.array([float(capacity[int(j)]) for j in jobs]),
        ]
    )
    # A vertex of the polytope (dual simplex) is integral: the matrix is totally unimodular.
    result = linprog(-pairs.scores, A_ub=incidence, b_ub=upper, bounds=(0, 1), method="highs-ds")
    if not result.success:
        raise RuntimeError(f"the assignment solver failed: {result.message}")
    x = result.x
    if np.any((x > INTEGRAL_TOLERANCE) & (x < 1 - INTEGRAL_TOLERANCE)):
        # Not expected (a vertex is integral), but then the solver proves it as a MILP.
        result = milp(
            c=-pairs.scores,
            constraints=LinearConstraint(incidence, -np.inf, upper),
            integrality=np.ones(n),
            bounds=Bounds(0, 1),
        )
        if not result.success:
            raise RuntimeError(f"the assignment solver failed: {result.message}")
        x = result.x
    return _chosen(pairs, np.flatnonzero(x > 0.5), "exact")


def assign_slots(pairs: Pairs, capacity: dict[int, int]) -> Assignment:
    """One place per graduate, exactly, by `linear_sum_assignment` on a dense graduates ×
    places matrix (each job repeated `headcount` times): for small checks only."""
    pairs = _usable(pairs, capacity)
    graduates, graduate_row = np.unique(pairs.graduate_ids, return_inverse=True)
    jobs, job_row = np.unique(pairs.job_ids, return_inverse=True)
    slots_of = [capacity[int(j)] for j in jobs]
    first_slot = np.concatenate([[0], np.cumsum(slots_of)])
    gain = np.zeros((graduates.shape[0], int(first_slot[-1])))
    for row, job, score in zip(graduate_row, job_row, pairs.scores, strict=True):
        gain[row, first_slot[job] : first_slot[job + 1]] = score
    rows, slots = linear_sum_assignment(gain, maximize=True)
    slot_job = np.repeat(np.arange(jobs.shape[0]), slots_of)
    lookup = {
        (int(g), int(j)): i for i, (g, j) in enumerate(zip(graduate_row, job_row, strict=True))
    }
    chosen = [
        lookup[(int(r), int(slot_job[s]))]
        for r, s in zip(rows, slots, strict=True)
        if gain[r, s] > 0
    ]
    return _chosen(pairs, np.array(chosen, dtype=np.intp), "exact")


def assign(
    pairs: Pairs,
    capacity: dict[int, int],
    per_graduate: int = 1,
    *,
    method: Literal["auto", "exact", "greedy"] = "auto",
    exact_limit: int = EXACT_LIMIT,
) -> Assignment:
    """The exact assignment up to `exact_limit` pairs (auto), the greedy beyond."""
    if method == "greedy" or (method == "auto" and len(pairs) > exact_limit):
        return assign_greedy(pairs, capacity, per_graduate)
    return assign_exact(pairs, capacity, per_graduate)
