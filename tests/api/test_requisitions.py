"""Requisitions: capacity-aware shortlists, pipeline transitions, single placement, progress."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.services.progress import local_today
from app.settings import Settings
from tests.factories import make_graduate, make_job, make_requisition, post_record
from tests.support import KeyHeaders, add_live_key

RECORDER = "中博-王顾问"


@pytest.fixture
def people(client: TestClient) -> dict[str, int]:
    return {
        "job": post_record(client, "/v1/jobs", make_job("kyt")),
        "job2": post_record(client, "/v1/jobs", make_job("kyt2", title="PLC调试工程师")),
        "ele": post_record(client, "/v1/graduates", make_graduate("g-ele")),
        "auto": post_record(
            client,
            "/v1/graduates",
            make_graduate("g-auto", major="自动化", skills=["PLC", "单片机"]),
        ),
        "mech": post_record(
            client,
            "/v1/graduates",
            make_graduate("g-mech", major="机械设计制造及其自动化", skills=["SolidWorks", "CAD"]),
        ),
    }


def stage(client: TestClient, requisition: int, graduate: int, to: str) -> Any:
    return client.post(
        f"/v1/requisitions/{requisition}/pipeline/{graduate}/events",
        json={"stage": to, "recorded_by": RECORDER},
    )


def test_create_list_update_requisition(
    client: TestClient, people: dict[str, int], key_headers: KeyHeaders
) -> None:
    created = client.post("/v1/requisitions", json=make_requisition([people["job"]]))
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["status"], body["headcount"], body["time_to_shortlist_ms"]) == ("open", 2, None)
    assert client.get("/v1/requisitions", params={"status": "open"}).json()["total"] == 1
    assert client.get("/v1/requisitions", params={"status": "closed"}).json()["total"] == 0
    patched = client.patch(f"/v1/requisitions/{body['id']}", json={"headcount": 30})
    assert patched.json()["headcount"] == 30
    other_agency = client.get(f"/v1/requisitions/{body['id']}", headers=key_headers(tenant="other"))
    assert other_agency.status_code == 404
    unknown_job = client.post("/v1/requisitions", json=make_requisition([999_999]))
    assert unknown_job.status_code == 422
    assert unknown_job.json()["error"]["fields"][0]["field"] == "job_ids"


def test_shortlist_is_ranked_explained_and_skips_the_pipeline(
    client: TestClient, people: dict[str, int]
) -> None:
    requisition = client.post("/v1/requisitions", json=make_requisition([people["job"]])).json()
    first = client.post(f"/v1/requisitions/{requisition['id']}/shortlist", params={"size": 2})
    assert first.status_code == 200, first.text
    picks = first.json()
    assert [p["graduate_id"] for p in picks["shortlisted"]] == [people["ele"], people["auto"]]
    assert [p["rank"] for p in picks["shortlisted"]] == [1, 2]
    assert picks["shortlisted"][0]["explanation"]["terms"]
    assert picks["time_to_shortlist_ms"] > 0
    again = client.post(
        f"/v1/requisitions/{requisition['id']}/shortlist", params={"size": 2}
    ).json()
    assert [p["graduate_id"] for p in again["shortlisted"]] == [people["mech"]]
    assert again["shortlisted"][0]["rank"] == 3
    assert again["excluded_in_pipeline"] == 2
    stored = client.get(f"/v1/requisitions/{requisition['id']}").json()
    assert stored["time_to_shortlist_ms"] == pytest.approx(picks["time_to_shortlist_ms"])


def test_a_shortlist_can_require_the_listed_majors(
    client: TestClient, people: dict[str, int]
) -> None:
    requisition = client.post("/v1/requisitions", json=make_requisition([people["job"]])).json()
    picks = client.post(
        f"/v1/requisitions/{requisition['id']}/shortlist", params={"size": 3, "major": "require"}
    ).json()
    # 机械类 is only related to the posting's classes: required majors leave it out.
    assert [p["graduate_id"] for p in picks["shortlisted"]] == [people["ele"], people["auto"]]
    explanation = picks["shortlisted"][1]["explanation"]
    assert explanation["major_level"] == "listed major"
    assert "major=require" in explanation["filters_passed"]
    # The explanation measures the text part as the ranking did: against the job's best.
    assert picks["shortlisted"][0]["parts"]["text"] == pytest.approx(1.0)
    assert picks["shortlisted"][0]["explanation"]["cosine"] == pytest.approx(
        picks["shortlisted"][0]["explanation"]["best_cosine"]
    )
    wrong = client.post(f"/v1/requisitions/{requisition['id']}/shortlist", params={"major": "x"})
    assert wrong.status_code == 422
    assert wrong.json()["error"]["fields"][0]["field"] == "query.major"


def test_a_graduate_is_not_shortlisted_for_two_open_requisitions(
    client: TestClient, people: dict[str, int]
) -> None:
    first = client.post("/v1/requisitions", json=make_requisition([people["job"]])).json()
    second = client.post("/v1/requisitions", json=make_requisition([people["job2"]])).json()
    taken = client.post(f"/v1/requisitions/{first['id']}/shortlist", params={"size": 2}).json()
    assert {p["graduate_id"] for p in taken["shortlisted"]} == {people["ele"], people["auto"]}
    rest = client.post(f"/v1/requisitions/{second['id']}/shortlist", params={"size": 3}).json()
    assert [p["graduate_id"] for p in rest["shortlisted"]] == [people["mech"]]
    assert rest["excluded_at_capacity"] == 2
    # Once the first requisition closes, its candidates are free again.
    client.patch(f"/v1/requisitions/{first['id']}", json={"status": "closed"})
    freed = client.post(f"/v1/requisitions/{second['id']}/shortlist", params={"size": 3}).json()
    assert {p["graduate_id"] for p in freed["shortlisted"]} == {people["ele"], people["auto"]}


def test_transitions_hire_and_progress(client: TestClient, people: dict[str, int]) -> None:
    requisition = client.post("/v1/requisitions", json=make_requisition([people["job"]])).json()
    rid = requisition["id"]
    other = client.post("/v1/requisitions", json=make_requisition([people["job2"]])).json()
    client.post(f"/v1/requisitions/{rid}/shortlist", params={"size": 3})

    skipped = stage(client, rid, people["ele"], "interviewed")
    assert skipped.status_code == 409
    assert "allowed: contacted, rejected, withdrawn" in skipped.json()["error"]["message"]
    for to in ("contacted", "interviewed", "offered", "hired"):
        response = stage(client, rid, people["ele"], to)
        assert response.status_code == 200, response.text
    hired = response.json()
    assert hired["stage"] == "hired" and hired["allowed_next"] == []
    assert [e["to_stage"] for e in hired["events"]] == [
        "recommended",
        "contacted",
        "interviewed",
        "offered",
        "hired",
    ]
    assert hired["events"][-1]["recorded_by"] == RECORDER
    assert stage(client, rid, people["ele"], "withdrawn").status_code == 409
    assert client.get(f"/v1/graduates/{people['ele']}").json()["status"] == "placed"
    # A placed graduate is gone from every match list and cannot be shortlisted elsewhere.
    matches = client.get(f"/v1/jobs/{people['job2']}/matches").json()["matches"]
    assert people["ele"] not in [m["graduate_id"] for m in matches]
    elsewhere = client.post(f"/v1/requisitions/{other['id']}/shortlist", params={"size": 5}).json()
    assert people["ele"] not in [p["graduate_id"] for p in elsewhere["shortlisted"]]

    stage(client, rid, people["auto"], "rejected")
    progress = client.get(f"/v1/requisitions/{rid}/progress").json()
    assert progress["hires"] == 1 and progress["remaining"] == 1
    assert progress["at_stage"]["hired"] == 1
    assert progress["at_stage"]["rejected"] == 1
    assert progress["at_stage"]["recommended"] == 1
    assert progress["reached"] == {
        "recommended": 3,
        "contacted": 1,
        "interviewed": 1,
        "offered": 1,
        "hired": 1,
    }
    assert progress["days_left"] == 5
    assert progress["hires_per_day"] == [
        {"day": local_today().isoformat(), "hires": 1, "cumulative": 1}
    ]
    chart = client.get(f"/v1/requisitions/{rid}/progress.png")
    assert chart.status_code == 200
    assert chart.headers["content-type"] == "image/png"
    assert chart.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_requisition_fills_at_headcount(client: TestClient, people: dict[str, int]) -> None:
    rid = client.post(
        "/v1/requisitions", json=make_requisition([people["job"]], headcount=1)
    ).json()["id"]
    client.post(f"/v1/requisitions/{rid}/shortlist", params={"size": 1})
    for to in ("contacted", "interviewed", "offered", "hired"):
        stage(client, rid, people["ele"], to)
    assert client.get(f"/v1/requisitions/{rid}").json()["status"] == "filled"
    assert client.post(f"/v1/requisitions/{rid}/shortlist").status_code == 409


def test_hire_moves_the_graduate_out_of_other_pipelines(
    client: TestClient, people: dict[str, int], settings: Settings
) -> None:
    settings.max_open_shortlists = 2
    first = client.post("/v1/requisitions", json=make_requisition([people["job"]])).json()["id"]
    second = client.post("/v1/requisitions", json=make_requisition([people["job2"]])).json()["id"]
    client.post(f"/v1/requisitions/{first}/shortlist", params={"size": 1})
    client.post(f"/v1/requisitions/{second}/shortlist", params={"size": 1})
    for to in ("contacted", "interviewed", "offered", "hired"):
        stage(client, first, people["ele"], to)
    pipeline = client.get(f"/v1/requisitions/{second}/pipeline").json()
    assert [(c["graduate_id"], c["stage"]) for c in pipeline] == [(people["ele"], "withdrawn")]
    assert pipeline[0]["events"][-1]["note"] == f"hired through requisition {first}"


def test_future_events_and_unknown_candidates_are_refused(
    client: TestClient, people: dict[str, int]
) -> None:
    rid = client.post("/v1/requisitions", json=make_requisition([people["job"]])).json()["id"]
    client.post(f"/v1/requisitions/{rid}/shortlist", params={"size": 1})
    future = client.post(
        f"/v1/requisitions/{rid}/pipeline/{people['ele']}/events",
        json={"stage": "contacted", "recorded_by": RECORDER, "occurred_at": "2099-01-01T00:00:00Z"},
    )
    assert future.status_code == 422
    assert stage(client, rid, people["mech"], "contacted").status_code == 404
    missing_recorder = client.post(
        f"/v1/requisitions/{rid}/pipeline/{people['ele']}/events", json={"stage": "contacted"}
    )
    assert missing_recorder.status_code == 422


def test_two_concurrent_hires_of_one_graduate_exactly_one_wins(
    live_database_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=live_database_url, models_dir=tmp_path / "models", max_open_shortlists=5
    )
    headers = add_live_key(live_database_url)
    with TestClient(create_app(settings), headers=headers) as client:
        job_a = post_record(client, "/v1/jobs", make_job("a"))
        job_b = post_record(client, "/v1/jobs", make_job("b"))
        graduate = post_record(client, "/v1/graduates", make_graduate("g"))
        requisitions = [
            client.post("/v1/requisitions", json=make_requisition([job])).json()["id"]
            for job in (job_a, job_b)
        ]
        for rid in requisitions:
            client.post(f"/v1/requisitions/{rid}/shortlist", params={"size": 1})
            for to in ("contacted", "interviewed", "offered"):
                assert stage(client, rid, graduate, to).status_code == 200
        barrier = threading.Barrier(2)
        statuses: list[int] = []

        def hire(rid: int) -> None:
            barrier.wait()
            statuses.append(stage(client, rid, graduate, "hired").status_code)

        threads = [threading.Thread(target=hire, args=(rid,)) for rid in requisitions]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [200, 409]
        stages = [
            client.get(f"/v1/requisitions/{rid}/pipeline").json()[0]["stage"]
            for rid in requisitions
        ]
        assert sorted(stages) == ["hired", "withdrawn"] or sorted(stages) == ["hired", "offered"]
        assert stages.count("hired") == 1
        assert client.get(f"/v1/graduates/{graduate}").json()["status"] == "placed"
