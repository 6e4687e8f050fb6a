from fastapi.testclient import TestClient


def test_healthz_reports_the_backend(client: TestClient, database_url: str) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    expected = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    body = response.json()
    assert (body["status"], body["database"]) == ("ok", expected)
    assert body["worker_pid"] > 0
