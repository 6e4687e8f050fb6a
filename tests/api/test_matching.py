"""Matching over HTTP: ranked, filtered, explained, and fresh after every write."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import make_graduate, make_job, post_record
from tests.support import KeyHeaders


@pytest.fixture
def pool(client: TestClient) -> dict[str, int]:
    """The Keyongtai job, a second job, and graduates of related and unrelated majors."""
    ids = {
        "job": post_record(client, "/v1/jobs", make_job("kyt")),
        "accounting_job": post_record(
            client,
            "/v1/jobs",
            make_job(
                "acc",
                title="财务会计（应届生）",
                company="宁波某贸易有限公司",
                industry="商贸",
                majors=["会计学", "财务管理"],
                skills=["会计", "财务报表", "用友", "Excel"],
                description="负责公司日常账务处理、财务报表编制与税务申报。",
            ),
        ),
        "electrical": post_record(client, "/v1/graduates", make_graduate("g-ele")),
        "automation": post_record(
            client,
            "/v1/graduates",
            make_graduate(
                "g-auto",
                major="自动化",
                skills=["PLC", "组态软件", "单片机"],
                summary="在镇海某石化企业做过仪表与PLC维护实习。",
            ),
        ),
        "accountant": post_record(
            client,
            "/v1/graduates",
            make_graduate(
                "g-acc",
                major="会计学",
                skills=["会计", "Excel", "财务报表"],
                desired_roles=["会计"],
                summary="在会计师事务所实习，参与年报审计与账务处理。",
            ),
        ),
    }
    return ids


def graduate_ids(body: dict[str, Any]) -> list[int]:
    return [match["graduate_id"] for match in body["matches"]]


def test_graduates_for_a_job_are_ranked_and_explained(
    client: TestClient, pool: dict[str, int]
) -> None:
    response = client.get(f"/v1/jobs/{pool['job']}/matches", params={"explain": True})
    assert response.status_code == 200, response.text
    body = response.json()
    ranked = graduate_ids(body)
    assert ranked[:2] == [pool["electrical"], pool["automation"]]
    assert ranked.index(pool["accountant"]) == 2 if pool["accountant"] in ranked else True
    best = body["matches"][0]
    assert best["rank"] == 1
    assert best["external_id"] == "g-ele"
    assert "phone" not in best and "name" not in best  # contact details stay out of matches
    assert set(best["parts"]) == {"text", "major", "education", "city", "salary"}
    assert best["parts"]["major"] == 1.0
    weights = best["explanation"]["weights"]
    expected = sum(weights[part] * value for part, value in best["parts"].items())
    assert best["score"] == pytest.approx(expected, abs=1e-5)
    terms = [term["term"].lower() for term in best["explanation"]["terms"]]
    assert "plc" in terms
    automation = body["matches"][1]
    assert "CAD" in automation["explanation"]["missing_skills"]
    assert body["index"]["source"] == "live"


def test_major_prefer_and_require(client: TestClient, pool: dict[str, int]) -> None:
    # 自动化 is the posting's second listed major: an exact match like the first.
    body = client.get(f"/v1/jobs/{pool['job']}/matches", params={"explain": True, "k": 5}).json()
    by_id = {match["graduate_id"]: match for match in body["matches"]}
    automation = by_id[pool["automation"]]
    assert automation["parts"]["major"] == 1.0
    assert automation["explanation"]["major_level"] == "listed major"
    assert by_id[pool["accountant"]]["explanation"]["major_level"] == "unrelated major"
    assert "major=require" not in automation["explanation"]["filters_passed"]
    # The text part is the cosine over the best eligible one: the best match's is 1.
    best = body["matches"][0]["explanation"]
    assert body["matches"][0]["parts"]["text"] == pytest.approx(1.0)
    assert best["cosine"] == pytest.approx(best["best_cosine"])
    required = client.get(
        f"/v1/jobs/{pool['job']}/matches",
        params={"explain": True, "k": 5, "major": "require"},
    ).json()
    assert graduate_ids(required) == [pool["electrical"], pool["automation"]]
    assert "major=require" in required["matches"][0]["explanation"]["filters_passed"]
    wrong = client.get(f"/v1/jobs/{pool['job']}/matches", params={"major": "must"})
    assert wrong.status_code == 422
    assert wrong.json()["error"]["fields"][0]["field"] == "query.major"
    batch = client.get(
        f"/v1/jobs/{pool['job']}/matches", params={"source": "batch", "major": "require"}
    )
    assert batch.status_code == 422
    assert "major" in batch.json()["error"]["message"]


def test_jobs_for_a_graduate(client: TestClient, pool: dict[str, int]) -> None:
    body = client.get(f"/v1/graduates/{pool['accountant']}/matches").json()
    assert [match["job_id"] for match in body["matches"]][0] == pool["accounting_job"]
    assert body["matches"][0]["title"] == "财务会计(应届生)"


def test_same_input_same_order(client: TestClient, pool: dict[str, int]) -> None:
    first = client.get(f"/v1/jobs/{pool['job']}/matches").json()
    second = client.get(f"/v1/jobs/{pool['job']}/matches").json()
    assert first == second


def test_writes_are_reflected_in_the_next_query(client: TestClient, pool: dict[str, int]) -> None:
    newcomer = post_record(
        client,
        "/v1/graduates",
        make_graduate("g-new", skills=["PLC", "电气设计", "CAD", "EPLAN"], summary="PLC 电气设计"),
    )
    assert newcomer in graduate_ids(client.get(f"/v1/jobs/{pool['job']}/matches").json())

    client.patch(f"/v1/graduates/{newcomer}", json={"status": "placed"})
    assert newcomer not in graduate_ids(client.get(f"/v1/jobs/{pool['job']}/matches").json())
    placed = client.get(f"/v1/jobs/{pool['job']}/matches", params={"status": "placed"}).json()
    assert graduate_ids(placed) == [newcomer]

    client.delete(f"/v1/graduates/{pool['electrical']}")
    after_delete = graduate_ids(client.get(f"/v1/jobs/{pool['job']}/matches").json())
    assert pool["electrical"] not in after_delete

    # An edited job ranks by its new text at once.
    client.patch(
        f"/v1/jobs/{pool['job']}",
        json={
            "title": "会计",
            "skills": ["会计", "财务报表"],
            "majors": ["会计学"],
            "description": "账务",
        },
    )
    assert (
        graduate_ids(client.get(f"/v1/jobs/{pool['job']}/matches").json())[0] == pool["accountant"]
    )

    bulk = client.post(
        "/v1/graduates/bulk", json=[make_graduate("g-bulk", major="会计学", skills=["会计"])]
    )
    bulk_id = bulk.json()["results"][0]["id"]
    assert bulk_id in graduate_ids(client.get(f"/v1/jobs/{pool['job']}/matches").json())


def test_filters(client: TestClient, pool: dict[str, int]) -> None:
    shaoxing = post_record(
        client,
        "/v1/graduates",
        make_graduate("g-sx", city="绍兴", desired_cities=["宁波", "绍兴"]),
    )
    url = f"/v1/jobs/{pool['job']}/matches"
    # Others want 宁波 or 杭州; only this one lives in or wants 绍兴.
    assert graduate_ids(client.get(url, params={"city": "绍兴"}).json()) == [shaoxing]
    masters = post_record(client, "/v1/graduates", make_graduate("g-ms", education="硕士"))
    assert graduate_ids(client.get(url, params={"education": "硕士"}).json()) == [masters]
    post_record(client, "/v1/graduates", make_graduate("g-2025", graduation_year=2025))
    years = client.get(
        url, params={"graduation_year_min": 2025, "graduation_year_max": 2025}
    ).json()
    assert [m["external_id"] for m in years["matches"]] == ["g-2025"]
    cheap = client.get(url, params={"salary": 6000}).json()
    assert cheap["matches"] == []  # every graduate here expects 7000
    assert len(client.get(url, params={"k": 1}).json()["matches"]) == 1


def test_bad_parameters_and_unknown_ids(
    client: TestClient, pool: dict[str, int], key_headers: KeyHeaders
) -> None:
    url = f"/v1/jobs/{pool['job']}/matches"
    for params, field in (
        ({"k": 0}, "query.k"),
        ({"k": 201}, "query.k"),
        ({"status": "hired"}, "query.status"),
        ({"education": "小学"}, "query.education"),
        ({"graduation_year_min": 2027, "graduation_year_max": 2025}, "query.graduation_year_min"),
    ):
        response = client.get(url, params=params)
        assert response.status_code == 422, params
        assert field in [f["field"] for f in response.json()["error"]["fields"]]
    assert client.get("/v1/jobs/999999/matches").status_code == 404
    assert client.get("/v1/graduates/999999/matches").status_code == 404
    other = client.get(f"/v1/jobs/{pool['job']}/matches", headers=key_headers(tenant="other"))
    assert other.status_code == 404


def test_preview_of_an_unsaved_job_and_graduate(client: TestClient, pool: dict[str, int]) -> None:
    draft = make_job()
    del draft["external_id"]
    response = client.post("/v1/match", json={"job": draft}, params={"explain": True})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["jobs"] is None
    assert graduate_ids(body["graduates"])[0] == pool["electrical"]
    assert body["graduates"]["matches"][0]["explanation"]["terms"]
    assert client.get("/v1/jobs").json()["total"] == 2  # nothing stored

    grad = client.post("/v1/match", json={"graduate": {"major": "会计学", "skills": ["会计"]}})
    assert grad.json()["jobs"]["matches"][0]["job_id"] == pool["accounting_job"]

    for bad in ({}, {"job": draft, "graduate": {"major": "自动化"}}):
        response = client.post("/v1/match", json=bad)
        assert response.status_code == 422
        assert "exactly one" in response.json()["error"]["message"]


def test_index_status_and_refit(client: TestClient, pool: dict[str, int]) -> None:
    status = client.get("/v1/admin/index").json()
    assert status["jobs"] == 2 and status["graduates"] == 3
    assert status["version"]
    assert status["pending_changes"] == 0
    old_version = status["version"]

    client.post("/v1/graduates", json=make_graduate("g-later"))
    assert client.get("/v1/admin/index").json()["pending_changes"] == 1
    # Refit in this thread: the test's one connection cannot serve a background thread too
    # (the HTTP 202 path and the swap under concurrent reads run in test_workers.py).
    engine = client.app.state.match_engine  # type: ignore[attr-defined]
    assert engine.refit("default") != old_version
    status = client.get("/v1/admin/index").json()
    assert status["last_refit_error"] is None
    assert status["version"] != old_version
    assert status["graduates"] == 4
    assert status["changes_since_fit"] == 0
    assert status["last_refit_error"] is None
