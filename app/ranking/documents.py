"""Plain-value documents for the two sides of a match, and which fields make up their text."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Protocol

# Re-exported for the rest of the core; app.vocabulary is their one definition.
from app.vocabulary import EDUCATION_LEVELS as EDUCATION_LEVELS
from app.vocabulary import GraduateStatus as GraduateStatus
from app.vocabulary import JobStatus as JobStatus
from app.vocabulary import education_level as education_level


@dataclass(frozen=True, slots=True)
class JobDocument:
    """A job posting as the ranking core sees it (field names follow the database model)."""

    id: int
    title: str = ""
    company: str = ""
    city: str | None = None
    district: str | None = None
    industry: str | None = None
    education: str = "不限"
    experience: str | None = None
    majors: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    description: str = ""
    salary_min: int | None = None
    salary_max: int | None = None
    headcount: int | None = None
    status: JobStatus = "open"


# Name, phone, email, gender, age, ethnicity, household registration and marital status are
# deliberately absent: nothing outside this dataclass can reach a score.
@dataclass(frozen=True, slots=True)
class GraduateDocument:
    """A graduate profile as the ranking core sees it: no personal or protected attributes."""

    id: int
    school: str | None = None
    major: str | None = None
    education: str = "不限"
    graduation_year: int | None = None
    city: str | None = None
    desired_cities: tuple[str, ...] = ()
    desired_roles: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    summary: str = ""
    expected_salary: int | None = None
    status: GraduateStatus = "seeking"


class DocumentSource(Protocol):
    """Documents by id, for explaining matches of a ranker that keeps none
    (`keep_documents=False`): a service reads them from its database instead of holding every
    document's text in each worker. An id it cannot find (erased meanwhile) is left out."""

    def jobs(self, ids: Collection[int]) -> Mapping[int, JobDocument]: ...

    def graduates(self, ids: Collection[int]) -> Mapping[int, GraduateDocument]: ...


# Each field is vectorised and l2-normalised on its own and the fields are summed by these
# weights, so a weight is the field's share of the text vector whatever the field's length.
# The *_ngrams fields are character n-grams rather than words: a job's title against a
# profile's desired roles and skills, which are short and often cut wrongly by the segmenter
# (游戏策划 as a skill, 游戏系统策划（2022届）as a title).
@dataclass(frozen=True, slots=True)
class JobTextFields:
    """Weight of each job field in its text vector (0 leaves the field out)."""

    title: float = 1
    skills: float = 1
    majors: float = 1
    description: float = 1
    industry: float = 0
    title_ngrams: float = 0


@dataclass(frozen=True, slots=True)
class GraduateTextFields:
    """Weight of each graduate field in its text vector (0 leaves the field out)."""

    major: float = 1
    skills: float = 1
    desired_roles: float = 1
    summary: float = 1
    role_ngrams: float = 0


@dataclass(frozen=True, slots=True)
class TextFields:
    """Field weights for both sides."""

    job: JobTextFields = field(default_factory=JobTextFields)
    graduate: GraduateTextFields = field(default_factory=GraduateTextFields)


def job_field_texts(job: JobDocument) -> dict[str, str]:
    """The text of each weighted job field."""
    return {
        "title": job.title or "",
        "skills": " ".join(job.skills),
        "majors": " ".join(job.majors),
        "description": job.description or "",
        "industry": job.industry or "",
        "title_ngrams": job.title or "",
    }


def graduate_field_texts(graduate: GraduateDocument) -> dict[str, str]:
    """The text of each weighted graduate field."""
    return {
        "major": graduate.major or "",
        "skills": " ".join(graduate.skills),
        "desired_roles": " ".join(graduate.desired_roles),
        "summary": graduate.summary or "",
        "role_ngrams": " ".join([*graduate.desired_roles, *graduate.skills]),
    }
