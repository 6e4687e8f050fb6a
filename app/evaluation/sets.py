"""Labelled sets for the suite: a set read from files (dev, or any --jobs/--graduates/--qrels),
and the seekers set built at run time from the zhilian job seekers and the zhaopin postings.

The seekers set, and why its labels are not circular: each query is a real job seeker's profile
as the ranker sees it (desired roles and keyword tags, education; no free text, no city), and a
posting is relevant when its company's industry, as the zhaopin board files it, is one of the
industries the seeker asked for on the zhilian board. Neither label field is text the ranker
or a baseline scores: the seeker's desired industries are not part of a graduate document, and
a posting's industry has weight 0 among the job's text fields (the suite warns if that changes).
The two boards name industries differently, so a crosswalk pairs their labels by the label
names alone (see industries_match), never by the postings' text.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
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

# The seekers set's queries: about the size of the second set (480), so its metrics
# move by a few hundredths at most when a handful of queries change, and it ranks in seconds.
SEEKER_QUERIES = 500
SEEKERS_SEED = "jobmatch-eval:seekers"
# Label segments: the boards join several industries in one label with these.
_SEPARATORS = re.compile(r"[/|、,，()（）]|及")
# Segments that name no industry by themselves ("服务" would pair 法律服务 with 旅游服务).
_GENERIC_SEGMENTS = frozenset({"其他", "服务", "服务业", "加工", "制造", "设备", "跨领域经营"})


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


def relevant_postings(
    desired: Iterable[str], posting_industries: Sequence[str | None]
) -> list[int]:
    """Positions of the postings whose industry matches one of the desired industries."""
    by_label: dict[str | None, list[int]] = {}
    for position, industry in enumerate(posting_industries):
        by_label.setdefault(industry, []).append(position)
    wanted = list(desired)
    chosen = [
        position
        for label, positions in by_label.items()
        if any(industries_match(want, label) for want in wanted)
        for position in positions
    ]
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
    size: int = SEEKER_QUERIES,
    seed: str = SEEKERS_SEED,
) -> LabelledSet:
    """The seekers set (see the module docstring): `size` seekers drawn with a fixed seed from
    those with roles or tags and at least one relevant posting, every posting of the file."""
    job_records = list(read_jsonl(jobs_path))
    industries = [record.get("industry") for record in job_records]
    job_ids = [str(r.get("external_id", n)) for n, r in enumerate(job_records)]
    relevant_cache: dict[tuple[str, ...], list[int]] = {}
    candidates: list[tuple[str, dict[str, Any], list[int]]] = []
    for number, record in enumerate(read_jsonl(seekers_path)):
        if not (record.get("desired_roles") or record.get("skills")):
            continue
        desired = tuple(sorted(strings(record.get("desired_industries"))))
        if desired not in relevant_cache:
            relevant_cache[desired] = relevant_postings(desired, industries)
        if relevant_cache[desired]:
            query_id = str(record.get("external_id", number))
            candidates.append((query_id, record, relevant_cache[desired]))
    chosen = random.Random(seed).sample(candidates, min(size, len(candidates)))
    chosen.sort(key=lambda item: item[0])
    return LabelledSet(
        name="seekers",
        jobs=[job_from_record(n, r) for n, r in enumerate(job_records)],
        job_ids=job_ids,
        queries=[seeker_profile(n, record) for n, (_, record, _) in enumerate(chosen)],
        query_ids=[query_id for query_id, _, _ in chosen],
        qrels={
            query_id: {job_ids[position]: 1 for position in positions}
            for query_id, _, positions in chosen
        },
        labels="posting industry (zhaopin) among the seeker's desired industries (zhilian)",
    )
