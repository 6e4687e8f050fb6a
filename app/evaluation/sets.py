"""Labelled sets for the suite: a set read from files (dev, or any --jobs/--graduates/--qrels),
and two sets built at run time against the zhaopin postings: the seekers set (zhilian job
seekers) and the campus set (campus postings of another board made into profiles).

The seekers set, and why its labels are not circular: each query is a real job seeker's profile
as the ranker sees it (desired roles and keyword tags, education; no free text, no city), and a
posting is relevant when its company's industry, as the zhaopin board files it, is one of the
industries the seeker asked for on the zhilian board. Neither label field is text the ranker
or a baseline scores: the seeker's desired industries are not part of a graduate document, and
a posting's industry has weight 0 among the job's text fields (the suite warns if that changes).
The two boards name industries differently, so a crosswalk pairs their labels by the label
names alone (see industries_match), never by the postings' text.

The campus set is the same idea from the other side: a campus posting (shixiseng) becomes a
profile of its skills and description (no title, no company) that wants to work in the
posting's city, and a zhaopin posting is relevant when its industry matches the campus
posting's industry on its own board. The city makes the filters bite: each profile sees only
the postings of its city.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from app.evaluation.records import (
    graduate_from_record,
    job_from_record,
    read_jsonl,
    read_qrels,
    strings,
)
from app.ranking import GraduateDocument, JobDocument, normalize_text

# Queries of each built set: about the size of the second set (480), so its metrics
# move by a few hundredths at most when a handful of queries change, and it ranks in seconds.
BUILT_SET_QUERIES = 500
SEEKERS_SEED = "jobmatch-eval:seekers"
CAMPUS_SEED = "jobmatch-eval:campus"
# Label segments: the boards join several industries in one label with these.
_SEPARATORS = re.compile(r"[/|、,，()（）]|及")
# Segments that name no industry by themselves ("服务" would pair 法律服务 with 旅游服务).
_GENERIC_SEGMENTS = frozenset(
    {"其他", "不限", "服务", "服务业", "加工", "制造", "设备", "跨领域经营"}
)


@dataclass(frozen=True, slots=True)
class LabelledSet:
    """Queries (graduate profiles), the postings they are ranked against, and judgements."""

    name: str
    jobs: list[JobDocument]
    job_ids: list[str]
    queries: list[GraduateDocument]
    query_ids: list[str]
    qrels: dict[str, dict[str, int]]
    labels: str


def read_labelled_set(
    name: str, jobs_path: str | Path, graduates_path: str | Path, qrels_path: str | Path
) -> LabelledSet:
    """A set from an import-format jobs JSONL, a profiles JSONL and a judgements TSV."""
    job_records = list(read_jsonl(jobs_path))
    graduate_records = list(read_jsonl(graduates_path))
    qrels = read_qrels(qrels_path)
    query_ids = [str(r.get("external_id", n)) for n, r in enumerate(graduate_records)]
    return LabelledSet(
        name=name,
        jobs=[job_from_record(n, r) for n, r in enumerate(job_records)],
        job_ids=[str(r.get("external_id", n)) for n, r in enumerate(job_records)],
        queries=[graduate_from_record(n, r) for n, r in enumerate(graduate_records)],
        query_ids=query_ids,
        qrels={q: qrels.get(q, {}) for q in query_ids},
        labels=f"judgements of {Path(qrels_path).name}",
    )


@cache
def industry_segments(label: str | None) -> frozenset[str]:
    """The parts of an industry label that name an industry: the label split at the boards'
    separators, a trailing 等 dropped, one-character and generic parts left out; a label made
    only of one-character parts (农/林/牧/渔) is one segment, its characters joined."""
    text = normalize_text(label or "")
    pieces = [piece.strip().removesuffix("等") for piece in _SEPARATORS.split(text)]
    pieces = [piece for piece in pieces if piece and piece not in _GENERIC_SEGMENTS]
    segments = {piece for piece in pieces if len(piece) >= 2}
    if not segments and len("".join(pieces)) >= 2:
        segments = {"".join(pieces)}
    return frozenset(segments)


def industries_match(first: str | None, second: str | None) -> bool:
    """Whether two boards' industry labels name the same industry: a segment of one equals a
    segment of the other or begins it (房地产 / 房地产开发, 医药 / 医药制造)."""
    return any(
        a.startswith(b) or b.startswith(a)
        for a in industry_segments(first)
        for b in industry_segments(second)
    )


def postings_by_industry(posting_industries: Sequence[str | None]) -> dict[str | None, list[int]]:
    """Industry label → positions of the postings filed under it."""
    by_label: dict[str | None, list[int]] = {}
    for position, industry in enumerate(posting_industries):
        by_label.setdefault(industry, []).append(position)
    return by_label


def relevant_postings(
    desired: Iterable[str], by_label: Mapping[str | None, Sequence[int]]
) -> list[int]:
    """Positions of the postings whose industry matches one of the desired industries."""
    chosen: set[int] = set()
    for want in desired:
        for label, positions in by_label.items():
            if industries_match(want, label):
                chosen.update(positions)
    return sorted(chosen)


def seeker_profile(number: int, record: Mapping[str, Any]) -> GraduateDocument:
    """What the ranker sees of a zhilian seeker: desired roles, keyword tags and education
    (the desired industries are the label, age and the rest are never read)."""
    return GraduateDocument(
        id=number,
        education=record.get("education") or "不限",
        desired_roles=strings(record.get("desired_roles")),
        skills=strings(record.get("skills")),
    )


def build_seekers_set(
    seekers_path: str | Path,
    jobs_path: str | Path,
    *,
    size: int = BUILT_SET_QUERIES,
    seed: str = SEEKERS_SEED,
) -> LabelledSet:
    """The seekers set (see the module docstring): `size` seekers drawn with a fixed seed from
    those with roles or tags and at least one relevant posting, every posting of the file."""
    job_records, by_label = _read_postings(jobs_path)
    relevant_cache: dict[str, list[int]] = {}
    candidates: list[tuple[str, dict[str, Any], list[int]]] = []
    for number, record in enumerate(read_jsonl(seekers_path)):
        if not (record.get("desired_roles") or record.get("skills")):
            continue
        relevant: set[int] = set()
        for want in strings(record.get("desired_industries")):
            if want not in relevant_cache:
                relevant_cache[want] = relevant_postings([want], by_label)
            relevant.update(relevant_cache[want])
        if relevant:
            query_id = str(record.get("external_id", number))
            candidates.append((query_id, record, sorted(relevant)))
    return _sampled_set(
        "seekers",
        "posting industry (zhaopin) among the seeker's desired industries (zhilian)",
        job_records,
        random.Random(seed).sample(candidates, min(size, len(candidates))),
        seeker_profile,
    )


def campus_profile(number: int, record: Mapping[str, Any]) -> GraduateDocument:
    """A campus posting as a profile: its skills and description, its education, wanting to
    work in its city (the title, company and industry are never read)."""
    city = record.get("city")
    return GraduateDocument(
        id=number,
        education=record.get("education") or "不限",
        desired_cities=(city,) if city else (),
        skills=strings(record.get("skills")),
        summary=record.get("description") or "",
    )


def build_campus_set(
    campus_path: str | Path,
    jobs_path: str | Path,
    *,
    size: int = BUILT_SET_QUERIES,
    seed: str = CAMPUS_SEED,
) -> LabelledSet:
    """The campus set (see the module docstring): `size` campus postings drawn with a fixed
    seed from those in a city of the corpus with a relevant posting there, against every
    posting of the corpus."""
    job_records, by_label = _read_postings(jobs_path)
    cities = [record.get("city") for record in job_records]
    relevant_cache: dict[str | None, list[int]] = {}
    candidates: list[tuple[str, dict[str, Any], list[int]]] = []
    for number, record in enumerate(read_jsonl(campus_path)):
        industry = record.get("industry")
        if industry not in relevant_cache:
            relevant_cache[industry] = relevant_postings([industry] if industry else [], by_label)
        relevant = relevant_cache[industry]
        city = record.get("city")
        if city and any(cities[p] == city for p in relevant) and record.get("skills"):
            query_id = str(record.get("external_id", number))
            candidates.append((query_id, record, relevant))
    return _sampled_set(
        "campus",
        "posting industry (zhaopin) matching the campus posting's industry (shixiseng)",
        job_records,
        random.Random(seed).sample(candidates, min(size, len(candidates))),
        campus_profile,
    )


def _read_postings(
    jobs_path: str | Path,
) -> tuple[list[dict[str, Any]], dict[str | None, list[int]]]:
    """The corpus's records, and the positions of its postings by industry label."""
    job_records = list(read_jsonl(jobs_path))
    return job_records, postings_by_industry([record.get("industry") for record in job_records])


def _sampled_set(
    name: str,
    labels: str,
    job_records: Sequence[dict[str, Any]],
    chosen: list[tuple[str, dict[str, Any], list[int]]],
    profile: Callable[[int, Mapping[str, Any]], GraduateDocument],
) -> LabelledSet:
    """A built set from its chosen (query id, record, relevant positions), in query id order."""
    chosen = sorted(chosen, key=lambda item: item[0])
    job_ids = [str(r.get("external_id", n)) for n, r in enumerate(job_records)]
    return LabelledSet(
        name=name,
        jobs=[job_from_record(n, r) for n, r in enumerate(job_records)],
        job_ids=job_ids,
        queries=[profile(n, record) for n, (_, record, _) in enumerate(chosen)],
        query_ids=[query_id for query_id, _, _ in chosen],
        qrels={
            query_id: {job_ids[position]: 1 for position in positions}
            for query_id, _, positions in chosen
        },
        labels=labels,
    )
