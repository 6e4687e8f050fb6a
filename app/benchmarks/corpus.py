"""The benchmark corpus: the real postings of ../shared/data, scaled to any size by deterministic
perturbation, and query profiles from ../shared/eval.

A scaled corpus of N postings takes posting `n % R` of the R real ones for row n. The first R
rows are the real postings as they are; every later copy is perturbed, seeded by its row:

- city and district come from another real posting (a donor drawn for the row);
- one skill is dropped and the donor's first skill added, so the copy's vector differs;
- the description's sentences (split at 。) are rotated: the same words in a new string, so
  the copy costs the memory a distinct posting would;
- the salary range is scaled by a factor in [0.9, 1.1], rounded to 100.

Ids are the row numbers from 1. Copies keep the donor's text statistics, so idf, posting
lengths and query costs scale like a larger corpus of the same market would.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from app.ranking import GraduateDocument, JobDocument

JOBS_FILE = "data/jobs_zhaopin.jsonl"
QUERIES_FILE = "eval/dev/graduates.jsonl"


def read_postings(shared_dir: Path, limit: int | None = None) -> list[JobDocument]:
    """The real postings as JobDocuments, ids 1…R in file order."""
    from app.evaluation.records import job_from_record, read_jsonl

    jobs: list[JobDocument] = []
    for number, record in enumerate(read_jsonl(shared_dir / JOBS_FILE)):
        if limit is not None and number >= limit:
            break
        jobs.append(job_from_record(number + 1, record))
    return jobs


def read_query_profiles(shared_dir: Path, jobs: Sequence[JobDocument]) -> list[GraduateDocument]:
    """The dev-set profiles with a major, two desired cities and a salary drawn (seeded) from
    the postings' own, so the structured part of the score matters (the profiles state none)."""
    from app.evaluation.records import graduate_from_record, read_jsonl

    profiles = [
        graduate_from_record(n, record)
        for n, record in enumerate(read_jsonl(shared_dir / QUERIES_FILE))
    ]
    return with_stated_fit(profiles, jobs)


def with_stated_fit(
    graduates: Sequence[GraduateDocument], jobs: Sequence[JobDocument]
) -> list[GraduateDocument]:
    """The profiles with a major, two desired cities and an expected salary, drawn (seeded)
    from the postings' own majors and cities."""
    majors = [m for m, _ in Counter(m for j in jobs for m in j.majors).most_common(50)]
    cities = [c for c, _ in Counter(j.city for j in jobs if j.city).most_common(30)]
    rng = np.random.default_rng(0)
    return [
        dataclasses.replace(
            graduate,
            major=str(rng.choice(majors)) if majors else None,
            desired_cities=tuple(str(c) for c in rng.choice(cities, 2)) if cities else (),
            expected_salary=int(rng.choice([5000, 8000, 12000])),
        )
        for graduate in graduates
    ]


def scale_postings(
    real: Sequence[JobDocument], size: int, *, seed: int = 0, first_id: int = 1
) -> list[JobDocument]:
    """`size` postings: the real ones, then perturbed copies (see the module docstring)."""
    return list(iter_scaled_postings(real, size, seed=seed, first_id=first_id))


def iter_scaled_postings(
    real: Sequence[JobDocument], size: int, *, seed: int = 0, first_id: int = 1
) -> Iterator[JobDocument]:
    """scale_postings' postings one at a time, made as they are asked for: a million postings'
    documents (about 1 GB) need never be alive at once."""
    count = len(real)
    if count == 0:
        raise ValueError("no postings to scale")
    rng = np.random.default_rng(seed)
    donors = rng.integers(0, count, size=size)
    factors = rng.uniform(0.9, 1.1, size=size)
    drops = rng.integers(0, 1 << 30, size=size)
    rotations = rng.integers(0, 1 << 30, size=size)
    sentences = [_sentences(job.description) for job in real]
    for row in range(size):
        base_row = row % count
        base = real[base_row]
        if row < count:
            yield dataclasses.replace(base, id=first_id + row)
            continue
        donor = real[int(donors[row])]
        yield dataclasses.replace(
            base,
            id=first_id + row,
            city=donor.city,
            district=donor.district,
            skills=_swap_skill(base.skills, donor.skills, int(drops[row])),
            description=_rotated(sentences[base_row], int(rotations[row])),
            salary_min=_scaled(base.salary_min, float(factors[row])),
            salary_max=_scaled(base.salary_max, float(factors[row])),
        )


def scaled_records(records: Sequence[dict[str, Any]], size: int) -> list[dict[str, Any]]:
    """Import-format records scaled like scale_postings (same perturbation), with external_ids
    made unique, for loading through the API's import path."""
    from app.evaluation.records import job_from_record

    jobs = scale_postings([job_from_record(n, r) for n, r in enumerate(records)], size)
    out: list[dict[str, Any]] = []
    for row, job in enumerate(jobs):
        record = dict(records[row % len(records)])
        copy = row // len(records)
        if copy:
            record["external_id"] = f"{record['external_id']}-x{copy}"
            record.update(
                city=job.city,
                district=job.district,
                skills=list(job.skills),
                description=job.description,
                salary_min=job.salary_min,
                salary_max=job.salary_max,
            )
        out.append(record)
    return out


def _sentences(text: str) -> list[str]:
    return [part for part in text.split("。") if part]


def _rotated(sentences: list[str], shift: int) -> str:
    if len(sentences) < 2:
        # One sentence cannot rotate; a new string object all the same (memory like a copy).
        return "".join(["", *sentences])
    shift %= len(sentences)
    return "。".join(sentences[shift:] + sentences[:shift])


def _swap_skill(skills: tuple[str, ...], donor: tuple[str, ...], draw: int) -> tuple[str, ...]:
    kept = list(skills)
    if kept:
        del kept[draw % len(kept)]
    if donor and donor[0] not in kept:
        kept.append(donor[0])
    return tuple(kept)


def _scaled(value: int | None, factor: float) -> int | None:
    if value is None:
        return None
    return max(0, round(value * factor / 100) * 100)
