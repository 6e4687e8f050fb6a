"""schemathesis against the app in process, on a real database: no 500, and every answer as
the OpenAPI documents it (status, content type, body schema, Allow on 405, …).

`make test` runs a bounded, derandomised pass (JOBMATCH_FUZZ_EXAMPLES examples per operation
and phase, 20 by default); `make fuzz` runs the same test with many more examples.

Two checks are off, each for a reason the OpenAPI cannot express:
- positive_data_acceptance: rules across fields or records (salary_min ≤ salary_max, job_ids
  that exist, exactly one of job/graduate, source=batch without filters) reject some
  schema-valid requests with a 422 on purpose.
- negative_data_rejection: the same schemas read spreadsheets (`jobmatch import`), so a number
  written as text ("8000") or as 8000.0 is accepted on purpose; and a bulk request answers 200
  with a failed result per bad record, by design.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS

from app.db import create_db_engine
from app.main import create_app
from app.settings import Settings
from tests.factories import make_job
from tests.support import BACKENDS, SHARED_DIR, add_live_key, fresh_database

FUZZ_EXAMPLES = int(os.environ.get("JOBMATCH_FUZZ_EXAMPLES", "20"))
EXCLUDED_CHECKS = {"positive_data_acceptance", "negative_data_rejection"}
REQUIRED_CHECKS = {
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "unsupported_method",
    "allow_header_conformance",
}


def _seed(client: TestClient, headers: dict[str, str]) -> None:
    """Records with id 1, so the documented examples reach real rows, not only 404s."""
    job = client.post("/v1/jobs", json=make_job("fuzz-job-1"), headers=headers)
    assert job.status_code == 201, job.text
    graduate = client.post(
        "/v1/graduates",
        json={"external_id": "fuzz-grad-1", "major": "自动化", "education": "本科", "city": "宁波"},
        headers=headers,
    )
    assert graduate.status_code == 201, graduate.text
    requisition = client.post(
        "/v1/requisitions",
        json={
            "employer": "宁波某装备有限公司",
            "title": "PLC工程师",
            "headcount": 2,
            "deadline": "2030-01-01",
            "job_ids": [job.json()["id"]],
        },
        headers=headers,
    )
    assert requisition.status_code == 201, requisition.text


@pytest.fixture(scope="module")
def fuzz_headers() -> dict[str, str]:
    """Headers every fuzzed request carries: `fuzz_app` adds an admin key of its database."""
    return {}


@pytest.fixture(scope="module", params=BACKENDS)
def fuzz_app(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    fuzz_headers: dict[str, str],
) -> Iterator[FastAPI]:
    """The app on a database of its own whose writes really commit."""
    folder: Path = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    with fresh_database(request.param, folder) as url:
        # An admin key: every route is in reach, so the fuzzer explores them all.
        fuzz_headers.update(add_live_key(url, role="admin"))
        engine = create_db_engine(url)
        settings = Settings(database_url=url, models_dir=folder / "models", shared_dir=SHARED_DIR)
        app = create_app(settings, engine=engine)
        with TestClient(app) as client:  # runs the lifespan: the index is warm
            _seed(client, fuzz_headers)
            yield app
        # Writes start refits in the background: let them return their connections first.
        match_engine = app.state.match_engine
        for tenant in match_engine.snapshots():
            match_engine.wait_for_refit(tenant)
        engine.dispose()


# The operations are collected from the OpenAPI of an app that never opens its database
# (pytest needs them at collection); each case is then sent to `fuzz_app`, on a real one.
_openapi_app = create_app(Settings(database_url="sqlite://", shared_dir=SHARED_DIR))
schema = schemathesis.openapi.from_dict(_openapi_app.openapi())
schema.app = _openapi_app  # in-process transport; each call names the app it goes to


@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_as_documented(
    case: schemathesis.Case[Any], fuzz_app: FastAPI, fuzz_headers: dict[str, str]
) -> None:
    checks = [
        check
        for check in CHECKS.get_all()
        if not isinstance(check, type) and check.__name__ not in EXCLUDED_CHECKS
    ]
    assert REQUIRED_CHECKS <= {check.__name__ for check in checks}
    case.call_and_validate(app=fuzz_app, headers=fuzz_headers, checks=checks)
