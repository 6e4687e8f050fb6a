"""Erasure (PIPL art. 47): after DELETE …?erase=true and the bulk erasure, no byte of the
graduates' personal data is left in any file under the data and models folders: the SQLite
database and its WAL, older model versions' vocabularies, stored batch runs, exported files."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.batch.rerank import LocalExecutor, RerankOptions, load_inputs, run_rerank
from app.cli import main
from app.db import create_db_engine, create_session_factory
from app.main import create_app
from app.settings import Settings
from app.tables import AuditEvent, Graduate, MatchRunRow
from tests.factories import make_graduate, make_job
from tests.support import add_live_key

# Two graduates share a rare word so that it is in the fitted vocabulary (min_df) until both
# are gone; each has its own name, phone and e-mail.
RARE_WORD = "qzvxlumetric"
PEOPLE = [
    make_graduate(
        "erase-1",
        name="龚琰霁",
        phone="19900001111",
        email="gong.erase-1@example.org",
        skills=["PLC", RARE_WORD],
        summary=f"擅长{RARE_WORD}调试与PLC编程。",
    ),
    make_graduate(
        "erase-2",
        name="邝霁琰",
        phone="19900002222",
        email="kuang.erase-2@example.org",
        skills=["CAD", RARE_WORD],
        summary=f"熟悉{RARE_WORD}与电气设计。",
    ),
]
PERSONAL = [
    value.encode("utf-8")
    for person in PEOPLE
    for value in (person["name"], person["phone"], person["email"])
]


def files_holding(folder: Path, needles: list[bytes]) -> dict[str, list[str]]:
    """Which files under `folder` contain which needles (raw bytes)."""
    found: dict[str, list[str]] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            hits = [needle.decode() for needle in needles if needle in data]
            if hits:
                found[str(path.relative_to(folder))] = hits
    return found


def test_erasure_leaves_no_copy_in_any_file(live_database_url: str, tmp_path: Path) -> None:
    sqlite = live_database_url.startswith("sqlite")
    models = tmp_path / "models"
    exports = tmp_path / "exports"
    settings = Settings(database_url=live_database_url, models_dir=models)
    headers = add_live_key(live_database_url)
    app = create_app(settings)
    with TestClient(app, headers=headers) as client:
        jobs = [make_job(f"job-{i}", skills=["PLC", "CAD"]) for i in range(3)]
        assert client.post("/v1/jobs/bulk", json=jobs).json()["created"] == 3
        others = [make_graduate(f"keep-{i}", phone=f"1380000{i:04d}") for i in range(6)]
        assert client.post("/v1/graduates/bulk", json=[*others, *PEOPLE]).json()["created"] == 8
        ids = {
            item["external_id"]: item["id"]
            for item in client.get("/v1/graduates", params={"limit": 200}).json()["items"]
        }
        engine = app.state.match_engine
        for _ in range(3):  # several versions on disk, each vocabulary with the rare word
            engine.refit("default")
        job_id = client.get("/v1/jobs").json()["items"][0]["id"]
        assert client.get(f"/v1/jobs/{job_id}/matches", params={"k": 50}).status_code == 200

        database = create_db_engine(live_database_url)
        factory = create_session_factory(database)
        inputs = load_inputs(factory, tenant="default", models_dir=models)
        run_id = run_rerank(
            factory,
            tenant="default",
            inputs=inputs,
            executor=LocalExecutor(threads=1),
            options=RerankOptions(k=10, pool=10, chunk_rows=4),
        )
        for name in ("run.csv", "run.parquet"):
            argv = ["rerank", "--export", str(run_id), "--out", str(exports / name)]
            assert main([*argv, "--database-url", live_database_url]) == 0

        def rows_naming_them(session: Session) -> int:
            erased = [ids["erase-1"], ids["erase-2"]]
            return int(
                session.scalar(
                    select(func.count()).where(
                        or_(
                            (MatchRunRow.side == "jobs") & MatchRunRow.query_id.in_(erased),
                            (MatchRunRow.side == "graduates")
                            & MatchRunRow.candidate_id.in_(erased),
                        )
                    )
                )
                or 0
            )

        # Before: the data is there, so the searches below can fail.
        with factory() as session:
            assert rows_naming_them(session) > 0
        before = files_holding(tmp_path, [*PERSONAL, RARE_WORD.encode(), b"erase-1"])
        assert any(RARE_WORD in hits for path, hits in before.items() if path.startswith("models"))
        assert {"exports/run.csv", "exports/run.parquet"} <= before.keys()
        if sqlite:
            assert any(PEOPLE[0]["phone"] in hits for hits in before.values())
        versions_before = [p for p in (models / "default").iterdir() if p.is_dir()]
        assert len(versions_before) == 3

        # Erase one by id, the other by external_id in bulk.
        response = client.delete(f"/v1/graduates/{ids['erase-1']}", params={"erase": "true"})
        assert response.status_code == 204
        bulk = client.post("/v1/graduates/erase", json={"external_ids": ["erase-2", "nobody"]})
        assert bulk.status_code == 200, bulk.text
        outcome = bulk.json()
        assert outcome["erased_ids"] == [ids["erase-2"]]
        assert outcome["not_found"] == ["nobody"]
        assert outcome["export_rows_removed"] > 0
        assert outcome["wal_checkpoint"] == ("complete" if sqlite else "not sqlite")

        assert client.get(f"/v1/graduates/{ids['erase-1']}").status_code == 404
        matches = client.get(f"/v1/jobs/{job_id}/matches", params={"k": 50}).json()["matches"]
        matched = {m["graduate_id"] for m in matches}
        assert ids["erase-1"] not in matched and ids["erase-2"] not in matched
        assert matched  # the others are still ranked

        # While the service runs (its connections open, as in production), not after a
        # shutdown that would checkpoint the log anyway.
        with factory() as session:
            assert rows_naming_them(session) == 0
            assert session.scalar(select(func.count()).where(Graduate.tenant == "default")) == 6
            erasures = session.scalars(
                select(AuditEvent.external_id).where(AuditEvent.action == "erase")
            ).all()
            assert sorted(str(e) for e in erasures) == ["erase-1", "erase-2"]
            exported = session.scalar(select(func.count()).where(AuditEvent.action == "export"))
            assert exported == 2

        after = files_holding(tmp_path, [*PERSONAL, RARE_WORD.encode()])
        assert after == {}, f"personal data left in files: {after}"
        for name in ("run.csv", "run.parquet"):
            assert b"erase-1" not in (exports / name).read_bytes()
            assert b"erase-2" not in (exports / name).read_bytes()
            assert (
                b"keep-0" in (exports / name).read_bytes()
                or b"keep-1" in (exports / name).read_bytes()
            )
        assert len([p for p in (models / "default").iterdir() if p.is_dir()]) == 1
        if sqlite:
            with database.connect() as connection:
                # Freed pages are zeroed whatever the SQLite build's default.
                assert connection.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
            wal = Path(live_database_url.removeprefix("sqlite:///") + "-wal")
            assert not wal.exists() or wal.stat().st_size == 0
    database.dispose()
