"""Every input that gave a 500 (issue 11's fuzzing and import findings) gets a 4xx naming the
field, or is accepted as documented; on SQLite and PostgreSQL (NUL matters on PostgreSQL)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session, sessionmaker

from app.importing.load import load_records
from app.main import create_app
from app.schemas.jobs import JobCreate
from app.settings import Settings
from app.tables import Job
from tests.factories import make_job
from tests.support import IMPORT_TENANT, error_fields, run_import

GRADUATE = {"external_id": "g-1", "major": "自动化", "education": "本科"}


def assert_unprocessable(response: Any, field: str) -> None:
    assert response.status_code == 422, response.text
    assert field in error_fields(response), response.text


# ---------------------------------------------------------------- null and "" in optional text


@pytest.mark.parametrize("blank", [None, ""])
def test_optional_text_accepts_null_and_empty(client: TestClient, blank: str | None) -> None:
    job = client.post("/v1/jobs", json=make_job(city=blank, district=blank, experience=blank))
    assert job.status_code == 201, job.text
    assert (job.json()["city"], job.json()["district"]) == (None, None)
    graduate = client.post(
        "/v1/graduates", json={**GRADUATE, "name": blank, "phone": blank, "city": blank}
    )
    assert graduate.status_code == 201, graduate.text
    assert graduate.json()["phone"] is None


def test_optional_text_null_in_bulk_stores_the_batch(client: TestClient) -> None:
    records = [make_job("b-1", city=None), make_job("b-2", district=""), make_job("b-3")]
    response = client.post("/v1/jobs/bulk", json=records)
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 3
    graduates = [{**GRADUATE, "external_id": "g-2", "name": None, "email": ""}]
    assert client.post("/v1/graduates/bulk", json=graduates).json()["created"] == 1


def test_patch_null_clears_optional_fields(client: TestClient) -> None:
    job = client.post("/v1/jobs", json=make_job()).json()
    patched = client.patch(
        f"/v1/jobs/{job['id']}", json={"city": None, "description": None, "skills": None}
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["city"], body["description"], body["skills"]) == (None, "", [])
    assert body["title"] == job["title"]
    graduate = client.post("/v1/graduates", json={**GRADUATE, "phone": "13800000000"}).json()
    cleared = client.patch(f"/v1/graduates/{graduate['id']}", json={"phone": None})
    assert cleared.json()["phone"] is None


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/jobs/{job}", {"title": None}, "title"),
        ("/v1/jobs/{job}", {"external_id": None}, "external_id"),
        ("/v1/jobs/{job}", {"headcount": None}, "headcount"),
        ("/v1/jobs/{job}", {"status": None}, "status"),
        ("/v1/graduates/{graduate}", {"education": None}, "education"),
        ("/v1/requisitions/{requisition}", {"deadline": None}, "deadline"),
    ],
)
def test_patch_null_in_a_required_field_is_a_422(
    client: TestClient, path: str, body: dict[str, Any], field: str
) -> None:
    job = client.post("/v1/jobs", json=make_job()).json()
    graduate = client.post("/v1/graduates", json=GRADUATE).json()
    requisition = client.post(
        "/v1/requisitions",
        json={
            "employer": "甲公司",
            "title": "PLC工程师",
            "headcount": 1,
            "deadline": "2030-01-01",
            "job_ids": [job["id"]],
        },
    ).json()
    url = path.format(job=job["id"], graduate=graduate["id"], requisition=requisition["id"])
    assert_unprocessable(client.patch(url, json=body), field)
    assert client.get(url).json()[field] is not None


# ---------------------------------------------------------------- bounds, NUL, surrogates


@pytest.mark.parametrize(
    ("url", "field"),
    [
        (f"/v1/jobs/{2**63}", "path.job_id"),
        (f"/v1/graduates/{2**63}/matches", "path.graduate_id"),
        (f"/v1/requisitions/{2**64}", "path.requisition_id"),
        (f"/v1/jobs?offset={2**63}", "query.offset"),
        (f"/v1/graduates?offset={2**31}", "query.offset"),
    ],
)
def test_huge_ids_and_offsets_are_a_422(client: TestClient, url: str, field: str) -> None:
    assert_unprocessable(client.get(url), field)


def test_a_requisition_naming_a_huge_job_id_is_a_422(client: TestClient) -> None:
    body = {
        "employer": "甲公司",
        "title": "PLC",
        "headcount": 1,
        "deadline": "2030-01-01",
        "job_ids": [2**40],
    }
    assert_unprocessable(client.post("/v1/requisitions", json=body), "job_ids[0]")


@pytest.mark.parametrize("bad", ["电气\x00工程师", "\udb1e"])
def test_nul_and_lone_surrogates_are_a_422_naming_the_field(client: TestClient, bad: str) -> None:
    # json.dumps escapes both, as a client's JSON would carry them.
    def post(url: str, body: Any) -> Any:
        return client.post(
            url, content=json.dumps(body), headers={"content-type": "application/json"}
        )

    assert_unprocessable(post("/v1/jobs", make_job(title=bad)), "title")
    assert_unprocessable(post("/v1/jobs", make_job(skills=["PLC", bad])), "skills[1]")
    assert_unprocessable(post("/v1/graduates", {**GRADUATE, "city": bad}), "city")
    bulk = post("/v1/jobs/bulk", [make_job("n-1"), make_job("n-2", company=bad)]).json()
    assert (bulk["created"], bulk["failed"]) == (1, 1)
    assert bulk["results"][1]["errors"][0]["field"] == "company"
    assert client.get("/v1/jobs", params={"q": "n"}).status_code == 200


def test_nul_in_a_query_parameter_is_a_422(client: TestClient) -> None:
    assert_unprocessable(client.get("/v1/jobs", params={"q": "PLC\x00"}), "query.q")
    assert_unprocessable(client.get("/v1/graduates", params={"city": "宁\x00波"}), "query.city")


def test_a_date_written_as_a_number_is_a_422(client: TestClient) -> None:
    assert_unprocessable(client.post("/v1/jobs", json=make_job(posted_at=0)), "posted_at")


# ---------------------------------------------------------------- deep JSON, bulk conflicts


@pytest.mark.parametrize("url", ["/v1/jobs", "/v1/jobs/bulk", "/v1/match"])
def test_json_nested_100000_deep_is_a_400(client: TestClient, url: str) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    response = client.post(url, content=deep, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_json"
    assert "nested deeper" in response.json()["error"]["message"]


def test_brackets_inside_strings_are_not_nesting(client: TestClient) -> None:
    response = client.post("/v1/jobs", json=make_job(description="[" * 1000 + "{" * 1000))
    assert response.status_code == 201, response.text


def test_a_whole_number_external_id_is_its_digits(client: TestClient) -> None:
    for number, digits in ((3142, "3142"), (3142.0, "3142")):
        job = client.post("/v1/jobs", json=make_job("x") | {"external_id": number})
        assert job.status_code == 201, job.text
        assert job.json()["external_id"] == digits
        client.delete(f"/v1/jobs/{job.json()['id']}")
    assert_unprocessable(
        client.post("/v1/jobs", json=make_job("x") | {"external_id": 1.5}), "external_id"
    )


def test_external_id_7_and_string_7_in_one_bulk_is_a_422(client: TestClient) -> None:
    records = [make_job("7") | {"external_id": 7}, make_job("x-1"), make_job("7")]
    response = client.post("/v1/jobs/bulk", json=records)
    assert response.status_code == 422, response.text
    assert error_fields(response) == ["[2].external_id"]
    assert "[0]" in response.json()["error"]["fields"][0]["message"]
    assert client.get("/v1/jobs").json()["total"] == 0


# ---------------------------------------------------------------- LIKE wildcards


def test_q_matches_percent_and_underscore_literally(client: TestClient) -> None:
    for external_id, title in (("w-1", "PLC工程师"), ("w-2", "100%应届"), ("w-3", "C_plus")):
        client.post("/v1/jobs", json=make_job(external_id, title=title))
    titles = {
        q: [job["title"] for job in client.get("/v1/jobs", params={"q": q}).json()["items"]]
        for q in ("%", "_", "PLC")
    }
    assert titles == {"%": ["100%应届"], "_": ["C_plus"], "PLC": ["PLC工程师"]}


# ---------------------------------------------------------------- OpenAPI and 405


def test_openapi_documents_every_error_status_with_the_error_shape(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    reference = {"$ref": "#/components/schemas/ErrorBody"}
    for path, operations in paths.items():
        for method, operation in operations.items():
            expected = {"400", "422", "503"}
            expected |= {"404"} if "{" in path else set()
            expected |= {"409"} if method in ("post", "patch", "delete") else set()
            expected |= {"408", "413"} if "requestBody" in operation else set()
            responses = operation["responses"]
            assert expected <= set(responses), (method, path)
            for status in expected:
                schema = responses[status]["content"]["application/json"]["schema"]
                assert schema == reference, (method, path, status)
    assert "Retry-After" in paths["/v1/jobs"]["get"]["responses"]["503"]["headers"]


def test_405_lists_every_method_of_the_path(client: TestClient) -> None:
    response = client.put("/v1/jobs")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert client.get("/v1/jobs/bulk").headers["allow"] == "POST"
    chart = client.post("/v1/requisitions/1/progress.png")
    assert (chart.status_code, chart.headers["allow"]) == (405, "GET")


# ---------------------------------------------------------------- a body shorter than declared


@pytest.fixture
def live_server(app: FastAPI, settings: Settings) -> Iterator[int]:
    """The app under uvicorn in a thread on 127.0.0.1 (a real socket, no child process)."""
    impatient = create_app(
        settings.model_copy(update={"body_read_timeout": 0.5}),
        engine=app.state.engine,
        session_factory=app.state.session_factory,
    )
    server = uvicorn.Server(
        uvicorn.Config(impatient, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.05)
        assert thread.is_alive(), "uvicorn did not start"
    port: int = server.servers[0].sockets[0].getsockname()[1]
    yield port
    server.should_exit = True
    thread.join()


def test_content_length_larger_than_the_body_is_a_408(live_server: int) -> None:
    head = (
        "POST /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Content-Length: 1000\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", live_server), timeout=30) as connection:
        connection.sendall(head.encode() + b'{"external_id": ')
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = connection.recv(65536)
            if not chunk:
                break
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 408"), answer
    body = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert body["error"]["code"] == "request_timeout"


# ---------------------------------------------------------------- import


@pytest.fixture
def import_tenant(engine: Engine) -> Iterator[str]:
    """Imports commit for real: the import tests' tenant, emptied before and after."""
    with Session(engine) as session, session.begin():
        session.execute(delete(Job).where(Job.tenant == IMPORT_TENANT))
    yield IMPORT_TENANT
    with Session(engine) as session, session.begin():
        session.execute(delete(Job).where(Job.tenant == IMPORT_TENANT))


def stored_external_ids(engine: Engine) -> set[str]:
    with Session(engine) as session:
        return set(session.scalars(select(Job.external_id).where(Job.tenant == IMPORT_TENANT)))


JSONL_WITH_EMPTY_CITY_AND_NUL = "".join(
    json.dumps(row) + "\n"
    for row in (
        {"external_id": "j1", "title": "PLC工程师", "company": "甲公司", "city": ""},
        {"external_id": "j2", "title": "电气\u0000设计", "company": "乙公司"},
        {"external_id": "j3", "title": "设备工程师", "company": "丙公司", "district": None},
    )
)
CSV_WITH_UNTERMINATED_QUOTE = (
    "external_id,title,company,city\n"
    "j1,PLC工程师,甲公司,宁波\n"
    'j2,"电气工程师,乙公司,宁波\n'
    'j3,机械工程师,丙公司,"杭州"\n'
)


@pytest.mark.parametrize(
    ("name", "content", "failure"),
    [
        ("jobs.jsonl", JSONL_WITH_EMPTY_CITY_AND_NUL, "line 2 (j2): title: NUL characters"),
        ("jobs.csv", CSV_WITH_UNTERMINATED_QUOTE, "line 3 (-): malformed CSV"),
    ],
)
@pytest.mark.usefixtures("import_tenant")
def test_import_reports_the_bad_row_by_line_and_keeps_the_others(
    tmp_path: Path,
    database_url: str,
    engine: Engine,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: str,
    failure: str,
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    code, out = run_import("jobs", path, database_url, capsys)
    assert code == 1, out
    assert "2 created, 0 updated, 1 failed" in out
    assert failure in out
    assert stored_external_ids(engine) == {"j1", "j3"}


class NullableTitleJob(JobCreate):
    """A schema looser than the table: lets a record reach the database and be refused there."""

    title: str | None = None  # type: ignore[assignment]


def test_a_record_the_database_refuses_fails_alone(
    engine: Engine, import_tenant: str, caplog: pytest.LogCaptureFixture
) -> None:
    records: list[tuple[int, dict[str, Any] | None, str | None]] = [
        (1, {"external_id": "d1", "title": "PLC工程师", "company": "甲公司"}, None),
        (2, {"external_id": "d2", "title": None, "company": "张三的电话13800000000"}, None),
        (3, {"external_id": "d3", "title": "设备工程师", "company": "丙公司"}, None),
    ]
    summary = load_records(
        sessionmaker(bind=engine),
        Job,
        NullableTitleJob,
        tenant=import_tenant,
        records=records,
        batch_size=10,
    )
    assert (summary.created, [failure.line for failure in summary.failures]) == (2, [2])
    message = summary.failures[0].errors[0]["message"]
    assert message.startswith("not stored: ")
    assert "13800000000" not in message and "13800000000" not in caplog.text
    assert stored_external_ids(engine) == {"d1", "d3"}
