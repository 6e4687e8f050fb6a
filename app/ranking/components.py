"""Sub-scores of (job, graduate) pairs: major, education, city and salary fit, each in [0, 1],
and the range one query's sub-scores can take (the bound that prunes a top-k)."""

from __future__ import annotations

from dataclasses import astuple, dataclass
from typing import Any

import numpy as np

from app.ranking.arrays import BoolArray
from app.ranking.arrays import Float32Array as FloatArray
from app.ranking.arrays import Int32Array as IntArray
from app.ranking.features import MISSING, GraduateFeatures, JobFeatures
from app.ranking.weights import MajorFitLevels


@dataclass(frozen=True, slots=True)
class Components:
    """Sub-scores in [0, 1] for a broadcast set of (job, graduate) pairs."""

    major: FloatArray
    education: FloatArray
    city: FloatArray
    salary: FloatArray

    def take(self, rows: Any) -> Components:
        """The sub-scores of some pairs."""
        return Components(
            self.major[rows], self.education[rows], self.city[rows], self.salary[rows]
        )


def score_components(
    job: JobFeatures, graduate: GraduateFeatures, related: BoolArray, levels: MajorFitLevels
) -> Components:
    """Sub-scores of every (job, graduate) pair given broadcastable feature views."""
    f32 = np.float32
    shape = np.broadcast_shapes(job.status.shape, graduate.status.shape)
    if (graduate.major == MISSING).all():
        # Shortcut with the same values as the general path: no query major, nothing to compare.
        major = np.full(shape, levels.unknown, dtype=f32)
    else:
        major = major_fit(job, graduate, related, levels)

    required, has = job.education, graduate.education
    education = np.where(
        required == 0, f32(1.0), np.where(has == 0, f32(0.5), (has >= required).astype(f32))
    ).astype(f32)

    if graduate.anywhere.all() or job.anywhere.all():
        city = np.full(shape, 0.5, dtype=f32)
    else:
        city_known = ~graduate.anywhere & ~job.anywhere & (job.city != MISSING)
        city = np.where(city_known, city_match(job, graduate), f32(0.5)).astype(f32)

    expected, high = graduate.expected_salary, job.salary_max
    with np.errstate(invalid="ignore", divide="ignore"):
        shortfall = np.clip(1.0 - (expected - high) / high, 0.0, 1.0).astype(f32)
    # A salary of 0 states nothing (and 0/0 would make the score NaN).
    unknown = np.isnan(expected) | np.isnan(high) | (high <= 0)
    salary = np.where(unknown, f32(0.5), shortfall).astype(f32)
    return Components(
        major=np.broadcast_to(major, shape).astype(f32),
        education=np.broadcast_to(education, shape).astype(f32),
        city=np.broadcast_to(city, shape).astype(f32),
        salary=np.broadcast_to(salary, shape).astype(f32),
    )


def sub_score_ranges(
    query: JobFeatures | GraduateFeatures, levels: MajorFitLevels
) -> tuple[tuple[float, float], ...]:
    """Lowest and highest (major, education, city, salary) sub-score one query row can get
    against any candidate, from the query alone; the cases follow score_components."""
    level_values = [float(level) for level in astuple(levels)]
    major = (min(level_values), max(level_values))
    education = city = salary = (0.0, 1.0)
    if isinstance(query, GraduateFeatures):
        if (query.major == MISSING).all():
            major = (levels.unknown, levels.unknown)
        if (query.education == 0).all():
            education = (0.5, 1.0)
        if query.anywhere.all():
            city = (0.5, 0.5)
        if np.isnan(query.expected_salary).all():
            salary = (0.5, 0.5)
    else:
        if (query.majors[..., 0] == MISSING).all():
            major = (levels.unknown, levels.unknown)
        if (query.education == 0).all():
            education = (1.0, 1.0)
        if (query.anywhere | (query.city == MISSING)).all():
            city = (0.5, 0.5)
        if (np.isnan(query.salary_max) | (query.salary_max <= 0)).all():
            salary = (0.5, 0.5)
    return major, education, city, salary


def major_fit(
    job: JobFeatures, graduate: GraduateFeatures, related: BoolArray, levels: MajorFitLevels
) -> FloatArray:
    """Major relation of each pair, checked from weakest to strongest so the strongest wins:
    every major the job lists is an exact match, whatever its position."""
    f32 = np.float32
    g_class = graduate.major_class[..., None]
    major = np.where(
        related[g_class, job.classes].any(-1), f32(levels.related_class), f32(levels.unrelated)
    )
    major = np.where(listed(job.classes, graduate.major_class), f32(levels.same_class), major)
    major = np.where(listed(job.majors, graduate.major), f32(levels.same_major), major)
    unknown = (graduate.major == MISSING) | (job.majors[..., 0] == MISSING)
    return np.where(unknown, f32(levels.unknown), major).astype(f32)


def listed(values: IntArray, value: IntArray) -> BoolArray:
    """`value` (a graduate's major or class) is one of `values` (a job's majors or their
    classes, on the last axis)."""
    return ((values == value[..., None]) & (values != MISSING)).any(-1)  # type: ignore[no-any-return]


def city_match(job: JobFeatures, graduate: GraduateFeatures) -> BoolArray:
    """A desired place equals the job's city or province, or the job's place is a desired one's
    province."""
    return places_match(job.city, job.province, graduate.desired, graduate.desired_province)


def places_match(
    city: IntArray, province: IntArray, desired: IntArray, desired_province: IntArray
) -> BoolArray:
    """city_match on columns (desired places on the last axis)."""
    if desired.ndim == 2 and desired.shape[0] == 1 and city.ndim == 1:
        # One graduate against many jobs: two lookups per job instead of comparing every slot.
        wanted = desired[0] != MISSING
        places, provinces = desired[0][wanted], desired_province[0][wanted]
        # Index by code + 1 so MISSING lands on 0; codes past the table clip onto a False end.
        size = int(max(places.max(initial=0), provinces.max(initial=0))) + 3
        as_city, as_province = np.zeros(size, dtype=bool), np.zeros(size, dtype=bool)
        as_city[places + 1] = True
        as_city[provinces + 1] = True
        as_province[places + 1] = True
        hit: BoolArray = np.take(as_city, city + 1, mode="clip")
        hit |= np.take(as_province, province + 1, mode="clip")
        return hit
    city, province = city[..., None], province[..., None]
    slots = (desired == city) | (desired == province)
    slots |= desired_province == city
    return (slots & (desired != MISSING)).any(-1)  # type: ignore[no-any-return]
