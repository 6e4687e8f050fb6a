"""The OpenAPI page is usable as it is: every field described, Chinese examples present."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from app.main import create_app
from app.settings import Settings


def test_every_request_field_has_a_description_and_examples_exist(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    for name in ("JobCreate", "JobUpdate", "GraduateCreate", "GraduateUpdate"):
        properties = components[name]["properties"]
        undescribed = [field for field, spec in properties.items() if not spec.get("description")]
        assert undescribed == [], f"{name}: {undescribed}"
    examples = components["JobCreate"]["properties"]["company"]["examples"]
    assert examples == ["浙江科甬泰自动化科技有限公司"]


def test_bulk_bodies_document_their_record_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path, schema_name in (
        ("/v1/jobs/bulk", "JobCreate"),
        ("/v1/graduates/bulk", "GraduateCreate"),
    ):
        body = paths[path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert body["items"] == {"$ref": f"#/components/schemas/{schema_name}"}
        assert body["maxItems"] == client.app.state.settings.max_bulk_records  # type: ignore[attr-defined]
        assert "x-bulk-records" not in body


def test_bulk_body_limit_follows_the_setting(
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker,  # type: ignore[type-arg]
) -> None:
    app = create_app(
        settings.model_copy(update={"max_bulk_records": 7}),
        engine=engine,
        session_factory=session_factory,
    )
    body = app.openapi()["paths"]["/v1/jobs/bulk"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"]["maxItems"] == 7


def test_docs_page_is_served(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower()
