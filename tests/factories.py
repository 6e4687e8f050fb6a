"""Builders of test inputs: API payloads, records posted through the API, ranking documents
and fitted rankers on random data, and the synthetic demo loaded into a database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import numpy as np
from fastapi.encoders import jsonable_encoder
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.db import create_session_factory
from app.demo import generate_demo, generate_graduates, generate_jobs
from app.importing.load import load_records
from app.ranking import (
    GraduateDocument,
    JobDocument,
    MajorFitLevels,
    Ranker,
    RankerParams,
    StructuredFitWeights,
    Tokenizer,
)
from app.schemas.graduates import GraduateCreate
from app.schemas.jobs import JobCreate
from app.services.progress import local_today
from app.tables import Graduate, Job

# API payloads: the Keyongtai posting and an electrical graduate, overridable field by field.


def make_job(external_id: str = "kyt-001", **overrides: Any) -> dict[str, Any]:
    """A JobCreate payload: Keyongtai's electrical posting unless overridden."""
    job: dict[str, Any] = {
        "external_id": external_id,
        "title": "电气自动化工程师（应届生）",
        "company": "浙江科甬泰自动化科技有限公司",
        "city": "宁波",
        "district": "北仑",
        "industry": "工业自动化",
        "education": "本科",
        "experience": "应届生",
        "majors": ["电气工程及其自动化", "自动化"],
        "skills": ["PLC", "电气设计", "CAD"],
        "description": "负责自动化产线的电气设计与PLC编程。",
        "salary_min": 6000,
        "salary_max": 9000,
        "headcount": 30,
        "posted_at": "2026-11-01",
    }
    job.update(overrides)
    return job


def make_graduate(external_id: str = "g-001", **overrides: Any) -> dict[str, Any]:
    """A GraduateCreate payload: an electrical-engineering graduate unless overridden."""
    graduate: dict[str, Any] = {
        "external_id": external_id,
        "name": "李明",
        "phone": "13800000001",
        "email": "li.ming@example.com",
        "school": "宁波工程学院",
        "major": "电气工程及其自动化",
        "education": "本科",
        "graduation_year": 2026,
        "city": "宁波",
        "desired_cities": ["宁波", "杭州"],
        "desired_roles": ["电气工程师"],
        "skills": ["PLC", "AutoCAD", "电气设计"],
        "summary": "在北仑某自动化企业实习，参与产线PLC调试。",
        "expected_salary": 7000,
    }
    graduate.update(overrides)
    return graduate


def make_requisition(job_ids: list[int], **overrides: Any) -> dict[str, Any]:
    """A RequisitionCreate payload for these postings, due in five days."""
    body: dict[str, Any] = {
        "employer": "浙江科甬泰自动化科技有限公司",
        "title": "电气自动化工程师30名",
        "headcount": 2,
        "deadline": (local_today() + timedelta(days=5)).isoformat(),
        "job_ids": job_ids,
    }
    body.update(overrides)
    return body


def post_record(client: TestClient, path: str, body: dict[str, Any]) -> int:
    """POST a record and return its id (asserting 201)."""
    response = client.post(path, json=body)
    assert response.status_code == 201, response.text
    record_id: int = response.json()["id"]
    return record_id


def post_synthetic_pool(client: TestClient) -> dict[str, list[int]]:
    """Synthetic postings and graduates, a few of them closed or placed, posted in bulk."""
    jobs = jsonable_encoder(generate_jobs(40, seed=5))
    graduates = jsonable_encoder(generate_graduates(120, seed=5))
    for index in range(0, 40, 9):
        jobs[index]["status"] = "closed"
    for index in range(0, 120, 11):
        graduates[index]["status"] = "placed"
    ids: dict[str, list[int]] = {}
    for kind, records in (("jobs", jobs), ("graduates", graduates)):
        response = client.post(f"/v1/{kind}/bulk", json=records)
        assert response.status_code == 200, response.text
        ids[kind] = [result["id"] for result in response.json()["results"]]
    # The first live query builds the index (fitting and publishing a version) as a server does.
    assert client.get(f"/v1/jobs/{ids['jobs'][1]}/matches").status_code == 200
    return ids


# Ranking documents on random data with many ties (small word, city and major lists).

WORDS = ["plc", "电气", "java", "autocad", "数控", "销售", "财务", "python", "设计", "调试", "会计"]
CITIES = ["北京", "深圳", "宁波", "杭州", "浙江", "全国", "", "火星"]
MAJORS = ["电气工程及其自动化", "自动化", "会计学", "计算机科学与技术", ""]
LEVELS = ["不限", "大专", "本科", "硕士", "博士"]


def pick(rng: np.random.Generator, values: Sequence[Any]) -> Any:
    """One of values."""
    return values[int(rng.integers(len(values)))]


def words(rng: np.random.Generator, low: int, high: int) -> str:
    """low to high words of WORDS, space-separated."""
    return " ".join(rng.choice(WORDS, int(rng.integers(low, high + 1))))


def random_job(rng: np.random.Generator, job_id: int) -> JobDocument:
    """A job document drawn from the small lists above."""
    low = pick(rng, [None, 3000, 6000])
    return JobDocument(
        id=job_id,
        title=words(rng, 0, 3),
        skills=tuple(words(rng, 0, 2).split()),
        city=pick(rng, CITIES) or None,
        education=pick(rng, LEVELS),
        majors=tuple(m for m in {pick(rng, MAJORS), pick(rng, MAJORS)} if m),
        salary_min=low,
        salary_max=pick(rng, [None, 0, 5000, 9000]) if low is None else low + 2000,
        status=pick(rng, ["open", "open", "open", "closed"]),
    )


def random_graduate(rng: np.random.Generator, graduate_id: int) -> GraduateDocument:
    """A graduate document drawn from the small lists above."""
    return GraduateDocument(
        id=graduate_id,
        skills=tuple(words(rng, 0, 3).split()),
        desired_roles=tuple(words(rng, 0, 1).split()),
        major=pick(rng, MAJORS) or None,
        education=pick(rng, LEVELS),
        graduation_year=pick(rng, [None, 2025, 2026]),
        city=pick(rng, CITIES) or None,
        desired_cities=tuple(c for c in {pick(rng, CITIES), pick(rng, CITIES)} if c),
        expected_salary=pick(rng, [None, 0, 4000, 7000, 12000]),
        status=pick(rng, ["seeking", "seeking", "seeking", "placed"]),
    )


def make_ranker(tokenizer: Tokenizer, params: RankerParams, seed: int) -> Ranker:
    """A ranker fitted on random documents, with exact copies under new ids to force ties."""
    rng = np.random.default_rng(seed)
    jobs = [random_job(rng, int(i)) for i in rng.permutation(5000)[:260]]
    # Copies under new ids: equal scores, so ties must fall to the smaller id in both paths.
    jobs += [
        JobDocument(**{**_fields(jobs[int(rng.integers(len(jobs)))]), "id": 6000 + i})
        for i in range(60)
    ]
    graduates = [random_graduate(rng, 10_000 + i) for i in range(220)]
    graduates += [
        GraduateDocument(**{**_fields(graduates[int(rng.integers(220))]), "id": 20_000 + i})
        for i in range(60)
    ]
    return Ranker(params, tokenizer=tokenizer).fit(jobs, graduates)


def _fields(document: Any) -> dict[str, Any]:
    return {name: getattr(document, name) for name in document.__dataclass_fields__}


RANKER_WEIGHTINGS = [
    RankerParams(max_df=1.0),
    RankerParams(max_df=1.0, weights=StructuredFitWeights(major=1.0, city=0.5, salary=0.3)),
    RankerParams(max_df=1.0, weights=StructuredFitWeights(text=0.5, education=-0.4, city=-0.1)),
    RankerParams(max_df=1.0, weights=StructuredFitWeights(text=0.0)),
    RankerParams(max_df=1.0, major_levels=MajorFitLevels(same_major=3.0, unrelated=-1.0)),
]

# The synthetic demo stored in a database, as `jobmatch demo load` would.


def load_demo(engine: Engine) -> None:
    """Store a small synthetic demo (seed 11: 150 postings, 1000 graduates), default tenant."""
    dataset = generate_demo(seed=11, n_jobs=150, n_graduates=1000)
    factory = create_session_factory(engine)
    for table, schema, rows in (
        (Job, JobCreate, dataset.jobs),
        (Graduate, GraduateCreate, dataset.graduates),
    ):
        summary = load_records(
            factory,
            table,
            schema,
            tenant="default",
            records=((n + 1, dict(row), None) for n, row in enumerate(rows)),
        )
        assert not summary.failures
