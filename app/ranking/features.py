"""Feature rows: the structured columns of jobs and graduates (codes, levels, salaries) that
sub-scores and filters read, on broadcastable arrays so one query and a batch share one path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal, Self, get_args

import numpy as np

from app.ranking.arrays import BoolArray
from app.ranking.arrays import Float32Array as FloatArray
from app.ranking.arrays import Int32Array as IntArray
from app.ranking.documents import GraduateStatus, JobStatus

# Which side is being ranked: "jobs" ranks jobs for a graduate, "graduates" the reverse.
Direction = Literal["jobs", "graduates"]

MISSING = -1
# The code of a filter value no document has: it equals no column value, MISSING included.
ABSENT = -2
JOB_STATUSES: tuple[str, ...] = get_args(JobStatus)
GRADUATE_STATUSES: tuple[str, ...] = get_args(GraduateStatus)
# Words meaning "anywhere": a job there, or a graduate wanting it, passes any city test.
ANYWHERE = frozenset({"全国", "不限", "远程", "异地", "多地", "全国各地"})
MAX_MAJORS = 8
MAX_CITIES = 8


class Catalog:
    """Interns strings (cities, majors, classes) as small integer codes."""

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}

    def code(self, value: str | None) -> int:
        """The code of a value, allocating one if new; MISSING for empty values."""
        if not value:
            return MISSING
        code = self.codes.get(value)
        if code is None:
            code = len(self.codes)
            self.codes[value] = code
        return code

    def find(self, value: str | None) -> int:
        """The code of a known value without allocating one; ABSENT for unknown or empty values."""
        return self.codes.get(value, ABSENT) if value else ABSENT


def status_codes(statuses: Sequence[str], known: Sequence[str]) -> IntArray:
    """Position of each status in `known`, MISSING for others."""
    codes = {status: code for code, status in enumerate(known)}
    return np.array([codes.get(s, MISSING) for s in statuses], dtype=np.int32)


class FeatureRows:
    """Row operations shared by the feature tables (dataclasses of equally long columns)."""

    __slots__ = ()

    def take(self, rows: Any) -> Self:
        """Rows (an index, slice or mask) of every column."""
        return type(self)(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})  # type: ignore[arg-type]

    def expand(self, axis: int) -> Self:
        """Insert a broadcast axis in front of the per-document axis."""
        return type(self)(
            **{f.name: np.expand_dims(getattr(self, f.name), axis) for f in fields(self)}  # type: ignore[arg-type]
        )

    def with_capacity(self, used: int, capacity: int) -> Self:
        """The first `used` rows in new columns with room for `capacity` rows (the rest unset)."""
        columns = {}
        for f in fields(self):  # type: ignore[arg-type]
            column = getattr(self, f.name)
            grown = np.empty((capacity, *column.shape[1:]), dtype=column.dtype)
            grown[:used] = column[:used]
            columns[f.name] = grown
        return type(self)(**columns)

    def write(self, start: int, part: Self) -> None:
        """Put `part`'s rows in place from row `start` (the columns must have room for them)."""
        for f in fields(self):  # type: ignore[arg-type]
            values = getattr(part, f.name)
            getattr(self, f.name)[start : start + values.shape[0]] = values

    @classmethod
    def concat(cls, parts: Sequence[Self]) -> Self:
        """Rows of several feature tables, in order."""
        return cls(
            **{
                f.name: np.concatenate([getattr(p, f.name) for p in parts])
                for f in fields(cls)  # type: ignore[arg-type]
            }
        )


@dataclass(slots=True)
class JobFeatures(FeatureRows):
    """Structured columns of jobs, one row per indexed job (majors[:, 0] is the primary major)."""

    education: IntArray
    city: IntArray
    province: IntArray
    anywhere: BoolArray
    salary_min: FloatArray
    salary_max: FloatArray
    status: IntArray
    majors: IntArray
    classes: IntArray


@dataclass(slots=True)
class GraduateFeatures(FeatureRows):
    """Structured columns of graduates, one row per indexed graduate (home: their own city)."""

    education: IntArray
    major: IntArray
    major_class: IntArray
    home: IntArray
    home_province: IntArray
    desired: IntArray
    desired_province: IntArray
    anywhere: BoolArray
    expected_salary: FloatArray
    graduation_year: IntArray
    status: IntArray
