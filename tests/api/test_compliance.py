"""Posting checks, near-duplicates and the opt-out through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.batch.rerank import load_inputs
from app.main import create_app
from app.settings import Settings
from tests.support import KeyHeaders

DUTIES = (
    "岗位职责：负责自动化产线的电气设计与PLC编程，参与设备安装调试和技术改造，"
    "编写电气图纸与调试记录，配合工艺部门完成产线升级。任职要求：电气类专业，熟悉西门子PLC。"
)


def posting(external_id: str, **overrides: Any) -> dict[str, Any]:
    job: dict[str, Any] = {
        "external_id": external_id,
        "title": "电气自动化工程师",
        "company": "宁波测试装备有限公司",
        "city": "宁波",
        "education": "本科",
        "majors": ["电气工程及其自动化"],
        "skills": ["PLC", "电气设计"],
        "description": DUTIES,
        "posted_at": "2026-11-01",
    }
    job.update(overrides)
    return job


def test_flags_are_stored_listed_and_rechecked_on_update(client: TestClient) -> None:
    flagged = client.post(
        "/v1/jobs", json=posting("c-1", description=DUTIES + "限男性，年龄35周岁以下。")
    )
    assert flagged.status_code == 201, flagged.text
    clean = client.post("/v1/jobs", json=posting("c-2", title="PLC工程师"))
    assert clean.json()["flag_count"] == 0
    job_id = flagged.json()["id"]
    assert flagged.json()["flag_count"] == 2

    report = client.get(f"/v1/jobs/{job_id}/compliance").json()
    assert report["flagged"] is True
    assert [(f["rule"], f["field"], f["span"]) for f in report["flags"]] == [
        ("gender", "description", "限男性"),
        ("age", "description", "年龄35周岁以下"),
    ]
    description = flagged.json()["description"]
    for flag in report["flags"]:
        assert description[flag["start"] : flag["end"]] == flag["span"]
        assert flag["explanation"]

    only_flagged = client.get("/v1/jobs", params={"flagged": "true"}).json()
    assert [job["id"] for job in only_flagged["items"]] == [job_id]
    unflagged = client.get("/v1/jobs", params={"flagged": "false"}).json()
    assert [job["id"] for job in unflagged["items"]] == [clean.json()["id"]]

    patched = client.patch(f"/v1/jobs/{job_id}", json={"description": DUTIES})
    assert patched.json()["flag_count"] == 0
    assert client.get(f"/v1/jobs/{job_id}/compliance").json() == {
        "job_id": job_id,
        "flagged": False,
        "flags": [],
    }
    # A change to another field keeps the check on the text as it now reads.
    retitled = client.patch(f"/v1/jobs/{job_id}", json={"title": "电气工程师（仅招女生）"})
    assert retitled.json()["flag_count"] == 1


def test_bulk_counts_flagged_postings(client: TestClient) -> None:
    response = client.post(
        "/v1/jobs/bulk",
        json=[
            posting("b-1", description="要求本地户籍，已婚已育。"),
            posting("b-2"),
            posting("b-3", skills=["PLC", "汉族"]),
        ],
    )
    body = response.json()
    assert (body["created"], body["failed"], body["flagged"]) == (3, 0, 2)
    assert [r["flag_rules"] for r in body["results"]] == [
        ["household_registration", "marital_childbearing"],
        [],
        ["ethnicity"],
    ]


@pytest.fixture
def reject_client(
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker[Session],
    key_headers: KeyHeaders,
) -> Any:
    app: FastAPI = create_app(
        settings.model_copy(update={"compliance_mode": "reject"}),
        engine=engine,
        session_factory=session_factory,
    )
    with TestClient(app, headers=key_headers()) as test_client:
        yield test_client


def test_reject_mode_refuses_with_422_naming_the_field(reject_client: TestClient) -> None:
    refused = reject_client.post("/v1/jobs", json=posting("r-1", description="仅限985院校"))
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "validation_error"
    assert error["fields"][0]["field"] == "description"
    assert "school_tier" in error["fields"][0]["message"]
    assert reject_client.post("/v1/jobs", json=posting("r-2")).status_code == 201

    bulk = reject_client.post(
        "/v1/jobs/bulk", json=[posting("r-3", title="男性优先"), posting("r-4")]
    ).json()
    assert (bulk["created"], bulk["failed"], bulk["flagged"]) == (1, 1, 1)
    assert bulk["results"][0]["errors"][0]["field"] == "title"
    job_id = reject_client.get("/v1/jobs", params={"q": "电气"}).json()["items"][0]["id"]
    patched = reject_client.patch(f"/v1/jobs/{job_id}", json={"description": "乙肝携带者勿投"})
    assert patched.status_code == 422
    assert patched.json()["error"]["fields"][0]["field"] == "description"


def test_duplicate_postings_are_found_and_collapsed(client: TestClient) -> None:
    cities = ["宁波", "杭州", "绍兴"]
    ids = [
        client.post(
            "/v1/jobs", json=posting(f"d-{n}", city=city, title=f"电气自动化工程师-{city}")
        ).json()["id"]
        for n, city in enumerate(cities)
    ]
    other_company = client.post(
        "/v1/jobs", json=posting("d-x", company="另一家装备有限公司")
    ).json()["id"]
    other_role = client.post(
        "/v1/jobs",
        json=posting(
            "d-y",
            title="财务会计",
            skills=["用友", "报税"],
            description="岗位职责：负责总账、报表与纳税申报，审核原始凭证。任职要求：会计学专业。",
        ),
    ).json()["id"]

    found = client.get(f"/v1/jobs/{ids[0]}/duplicates").json()
    assert sorted(d["job_id"] for d in found["duplicates"]) == ids[1:]
    assert {d["city"] for d in found["duplicates"]} == {"杭州", "绍兴"}
    assert all(0.7 <= d["similarity"] <= 1 for d in found["duplicates"])
    assert client.get(f"/v1/jobs/{other_company}/duplicates").json()["duplicates"] == []
    assert client.get(f"/v1/jobs/{other_role}/duplicates").json()["duplicates"] == []

    graduate = client.post(
        "/v1/graduates",
        json={
            "external_id": "g-dup",
            "major": "电气工程及其自动化",
            "education": "本科",
            "skills": ["PLC", "电气设计"],
            "desired_roles": ["电气自动化工程师"],
            "summary": "PLC编程与电气设计实习。",
        },
    ).json()["id"]
    collapsed = client.get(f"/v1/graduates/{graduate}/matches", params={"k": 10}).json()
    shown = [m["job_id"] for m in collapsed["matches"]]
    assert len(set(ids) & set(shown)) == 1
    entry = next(m for m in collapsed["matches"] if m["job_id"] in ids)
    assert sorted(a["job_id"] for a in entry["also_in"]) == sorted(set(ids) - {entry["job_id"]})
    assert [m["rank"] for m in collapsed["matches"]] == list(range(1, len(shown) + 1))

    everything = client.get(
        f"/v1/graduates/{graduate}/matches", params={"k": 10, "collapse": "false"}
    ).json()
    assert set(ids) <= {m["job_id"] for m in everything["matches"]}
    assert all(m["also_in"] == [] for m in everything["matches"])


def test_duplicate_profiles_are_found(client: TestClient) -> None:
    profile = {
        "major": "自动化",
        "school": "宁波工程学院",
        "education": "本科",
        "skills": ["PLC", "AutoCAD", "电气设计", "单片机"],
        "desired_roles": ["电气工程师"],
        "summary": "在宁波某自动化企业实习三个月，参与产线PLC程序调试；毕业设计为恒压供水系统。",
    }
    first = client.post("/v1/graduates", json={"external_id": "p-1", **profile}).json()["id"]
    again = client.post(
        "/v1/graduates", json={"external_id": "p-2", **profile, "phone": "13800000000"}
    ).json()["id"]
    other = client.post(
        "/v1/graduates",
        json={**profile, "external_id": "p-3", "skills": ["Python"], "summary": "数据分析实习。"},
    ).json()["id"]
    found = client.get(f"/v1/graduates/{first}/duplicates").json()
    assert [d["graduate_id"] for d in found["duplicates"]] == [again]
    assert "phone" not in found["duplicates"][0]
    assert client.get(f"/v1/graduates/{other}/duplicates").json()["duplicates"] == []


def test_opted_out_graduate_gets_recent_jobs_and_no_batch_rank(
    client: TestClient, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    dates = {"o-old": "2026-10-01", "o-new": "2026-11-20", "o-mid": "2026-11-05"}
    job_ids = {
        eid: client.post(
            "/v1/jobs",
            json=posting(eid, title=f"岗位{n}", company=f"公司{n}", posted_at=day),
        ).json()["id"]
        for n, (eid, day) in enumerate(dates.items())
    }
    client.post("/v1/jobs", json=posting("o-far", title="岗位x", company="公司x", city="杭州"))
    body = {"external_id": "o-g", "major": "自动化", "skills": ["PLC"], "personalised": False}
    created = client.post("/v1/graduates", json=body)
    assert created.json()["personalised"] is False
    graduate = created.json()["id"]

    listed = client.get(f"/v1/graduates/{graduate}/matches", params={"city": "宁波"}).json()
    assert listed["index"]["personalised"] is False
    assert listed["index"]["source"] == "recency"
    assert [m["job_id"] for m in listed["matches"]] == [
        job_ids["o-new"],
        job_ids["o-mid"],
        job_ids["o-old"],
    ]
    assert all(m["score"] == 0 for m in listed["matches"])

    opted_in = client.patch(f"/v1/graduates/{graduate}", json={"personalised": True})
    assert opted_in.json()["personalised"] is True
    ranked = client.get(f"/v1/graduates/{graduate}/matches").json()
    assert ranked["index"]["personalised"] is True and ranked["index"]["source"] == "live"
    assert client.patch(f"/v1/graduates/{graduate}", json={"personalised": None}).status_code == 422

    client.patch(f"/v1/graduates/{graduate}", json={"personalised": False})
    inputs = load_inputs(session_factory, tenant="default", models_dir=settings.models_dir)
    batch_graduates = inputs.ranker.graduates_index_.ids.tolist()
    assert graduate not in batch_graduates
    assert inputs.graduates == 0


def test_protected_attributes_cannot_be_stored_or_move_a_score(client: TestClient) -> None:
    profile = {
        "major": "电气工程及其自动化",
        "education": "本科",
        "skills": ["PLC", "电气设计"],
        "desired_roles": ["电气工程师"],
        "summary": "参与产线PLC程序调试。",
    }
    for extra in ({"gender": "女"}, {"age": 23}, {"ethnicity": "汉族"}, {"marital_status": "未婚"}):
        refused = client.post("/v1/graduates", json={"external_id": "pa-x", **profile, **extra})
        assert refused.status_code == 422
        assert refused.json()["error"]["fields"][0]["field"] == next(iter(extra))
    client.post("/v1/jobs", json=posting("pa-job"))
    plain = client.post("/v1/graduates", json={"external_id": "pa-1", **profile}).json()["id"]
    stated = {
        **profile,
        "external_id": "pa-2",
        "skills": ["PLC", "电气设计", "女", "汉族"],
        "summary": "性别：女。年龄：23岁。民族：回族。户籍：宁波市。婚姻状况：未婚。"
        "参与产线PLC程序调试。",
    }
    stating = client.post("/v1/graduates", json=stated).json()["id"]
    for_plain = client.get(f"/v1/graduates/{plain}/matches").json()["matches"]
    for_stating = client.get(f"/v1/graduates/{stating}/matches").json()["matches"]
    assert for_plain and [(m["job_id"], m["score"]) for m in for_plain] == [
        (m["job_id"], m["score"]) for m in for_stating
    ]
    job_id = for_plain[0]["job_id"]
    ranked = client.get(f"/v1/jobs/{job_id}/matches", params={"k": 50}).json()["matches"]
    scores = {m["graduate_id"]: m["score"] for m in ranked}
    assert scores[plain] == scores[stating]


PROTECTED_STATEMENTS = [
    "性别：男",
    "女",
    "年龄：24岁",
    "22周岁",
    "民族：维吾尔族",
    "土家族",
    "户籍：河南省",
    "宁波户口",
    "籍贯：四川成都",
    "婚姻状况：已婚",
    "未婚未育",
]


@hypothesis_settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    said=st.lists(st.sampled_from(PROTECTED_STATEMENTS), min_size=1, max_size=4),
    where=st.sampled_from(["summary", "skills", "desired_roles"]),
)
def test_protected_statements_through_the_api_leave_scores_identical(
    client: TestClient, said: list[str], where: str
) -> None:
    profile: dict[str, Any] = {
        "major": "自动化",
        "education": "本科",
        "skills": ["PLC", "电气设计"],
        "desired_roles": ["电气工程师"],
        "summary": "参与产线PLC程序调试。",
    }
    if client.get("/v1/jobs", params={"q": "电气自动化"}).json()["total"] == 0:
        client.post("/v1/jobs", json=posting("hp-job"))
        client.post("/v1/graduates", json={"external_id": "hp-plain", **profile})
    plain = client.get("/v1/graduates", params={"q": "自动化"}).json()["items"][0]["id"]
    stated = dict(profile)
    if where == "summary":
        stated["summary"] = "。".join(said) + "。" + profile["summary"]
    else:
        stated[where] = [*profile[where], *said]
    count = client.get("/v1/graduates").json()["total"]
    created = client.post("/v1/graduates", json={"external_id": f"hp-{count}", **stated})
    assert created.status_code == 201, created.text
    stating = created.json()["id"]
    job_id = client.get("/v1/jobs", params={"q": "电气自动化"}).json()["items"][0]["id"]
    # One response, one index snapshot: both profiles are scored by the same vectors.
    ranked = client.get(f"/v1/jobs/{job_id}/matches", params={"k": 200}).json()["matches"]
    scores = {m["graduate_id"]: (m["score"], m["parts"]) for m in ranked}
    assert scores[plain] == scores[stating]
