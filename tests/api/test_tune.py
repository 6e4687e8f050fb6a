"""Outcomes read from the database, `jobmatch tune` end to end (refusal, dry run, saved weights
and the new ranking version they make), `evaluate --outcomes`' report, and the engine fitting
with tuned weights; on SQLite and PostgreSQL."""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.cli import main as jobmatch
from app.db import create_db_engine, create_session_factory
from app.learning.outcomes import read_outcomes
from app.learning.report import add_outcome_arguments, run_outcomes
from app.matching.documents import DatabaseDocuments
from app.matching.engine import MatchEngine
from app.model_store import ModelStore
from app.ranking import StructuredFitWeights
from app.tables import Candidacy, Graduate, IndexChange, Job, PipelineEvent, Requisition

TENANT = "zhongbo"
PATH = ("recommended", "contacted", "interviewed", "offered", "hired")


def add_requisition(session: Session, tenant: str = TENANT) -> Requisition:
    job = Job(
        tenant=tenant,
        external_id=f"job-{session.scalar(select(Job.id).order_by(Job.id.desc())) or 0}",
        title="电气自动化工程师",
        company="浙江科甬泰自动化科技有限公司",
        city="宁波",
        majors=["电气工程及其自动化"],
        skills=["PLC"],
        description="PLC编程，电气设计",
    )
    session.add(job)
    session.flush()
    requisition = Requisition(
        tenant=tenant,
        employer=job.company,
        title="电气自动化工程师",
        headcount=30,
        deadline=date(2026, 12, 1),
        job_ids=[job.id],
        status="filled",
    )
    session.add(requisition)
    session.flush()
    return requisition


def add_candidacy(
    session: Session,
    requisition: Requisition,
    *,
    rank: int,
    stage: str,
    parts: dict[str, float] | None = None,
    graduate: Graduate | None = None,
) -> Candidacy:
    if graduate is None:
        graduate = Graduate(
            tenant=requisition.tenant,
            external_id=f"g-{requisition.id}-{rank}",
            major="电气工程及其自动化",
            education="本科",
            city="宁波",
            desired_cities=["宁波"],
            skills=["PLC", "CAD"],
            summary="电气工程及其自动化专业，熟悉PLC编程和电气设计。",
            status="placed" if stage == "hired" else "seeking",
        )
        session.add(graduate)
        session.flush()
    candidacy = Candidacy(
        requisition_id=requisition.id,
        graduate_id=graduate.id,
        job_id=requisition.job_ids[0],
        stage=stage,
        rank=rank,
        score=0.0,
        parts=parts or {"text": 0.6, "major": 1.0, "education": 1.0, "city": 1.0, "salary": 1.0},
    )
    session.add(candidacy)
    session.flush()
    path = list(PATH[: PATH.index(stage) + 1]) if stage in PATH else ["recommended", stage]
    for before, after in zip([None, *path], path, strict=False):
        session.add(
            PipelineEvent(
                candidacy_id=candidacy.id, from_stage=before, to_stage=after, recorded_by="test"
            )
        )
    session.flush()
    return candidacy


def add_major_decided_outcomes(session: Session, requisitions: int, per: int, seed: int) -> None:
    """Shortlists whose hires follow the major fit: the right answer is a higher major weight."""
    rng = np.random.default_rng(seed)
    for _ in range(requisitions):
        requisition = add_requisition(session)
        for rank in range(1, per + 1):
            text = float(rng.uniform(0.55, 0.85))
            major = float(rng.choice([0.25, 0.5, 0.7, 1.0]))
            hired = rng.uniform() < 1 / (1 + np.exp(-(-4.0 + 3.0 * text + 4.0 * major)))
            add_candidacy(
                session,
                requisition,
                rank=rank,
                stage="hired" if hired else "rejected",
                parts={"text": text, "major": major, "education": 1.0, "city": 1.0, "salary": 1.0},
            )


def test_outcomes_carry_rank_parts_reached_stages_and_placements_elsewhere(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as session:
        first, second = add_requisition(session), add_requisition(session)
        hired = add_candidacy(session, first, rank=1, stage="hired")
        graduate = session.get_one(Graduate, hired.graduate_id)
        add_candidacy(session, second, rank=1, stage="withdrawn", graduate=graduate)
        add_candidacy(session, first, rank=2, stage="rejected")
        add_candidacy(session, first, rank=3, stage="contacted")
        add_requisition(session, tenant="other")
        outcomes = read_outcomes(session, tenant=TENANT)
        assert [(o.requisition_id, o.rank, o.stage) for o in outcomes] == [
            (first.id, 1, "hired"),
            (first.id, 2, "rejected"),
            (first.id, 3, "contacted"),
            (second.id, 1, "withdrawn"),
        ]
        assert outcomes[0].reached == frozenset(PATH)
        assert outcomes[0].parts["major"] == 1.0
        assert outcomes[3].placed_elsewhere and not outcomes[1].placed_elsewhere
        assert [o.requisition_id for o in read_outcomes(session, tenant=TENANT)[:1]] == [first.id]
        only_second = read_outcomes(session, tenant=TENANT, requisition_ids=[second.id])
        assert len(only_second) == 1 and only_second[0].placed_elsewhere
        assert read_outcomes(session, tenant="nobody") == []


def test_tune_refuses_too_few_outcomes_and_a_dry_run_saves_nothing(
    live_database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = create_db_engine(live_database_url)
    try:
        with create_session_factory(engine).begin() as session:
            add_major_decided_outcomes(session, requisitions=1, per=30, seed=1)
    finally:
        engine.dispose()
    models = tmp_path / "models"
    argv = ["tune", "--tenant", TENANT, "--database-url", live_database_url]
    assert jobmatch([*argv, "--models-dir", str(models)]) == 1
    out = capsys.readouterr().out
    assert "tune: refused: not enough outcomes to tune" in out
    assert "at least 30 of each are needed" in out
    assert not (models / TENANT).exists()
    assert jobmatch([*argv, "--models-dir", str(models), "--min-outcomes", "5", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dry run: nothing saved" in out and "AUC within requisitions" in out
    assert not (models / TENANT).exists()


def test_tune_saves_weights_and_publishes_a_version_fitted_with_them(
    live_database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = create_db_engine(live_database_url)
    factory = create_session_factory(engine)
    try:
        with factory.begin() as session:
            add_major_decided_outcomes(session, requisitions=6, per=40, seed=2)
        models = tmp_path / "models"
        # Weights in use that underrate the major, so the outcomes have something to correct.
        weak = StructuredFitWeights(text=1.0, major=0.1, education=0.03, city=0.03, salary=0.02)
        store = ModelStore(models)
        store.write_tuned_weights(TENANT, weak, {"fitted_at": "2026-01-01T00:00:00+00:00"})
        status = jobmatch(
            [
                "tune",
                "--tenant",
                TENANT,
                "--database-url",
                live_database_url,
                "--models-dir",
                str(models),
                "--k",
                "10",
                "--json",
            ]
        )
        out = capsys.readouterr().out
        assert status == 0, out
        figures = json.loads(out.strip().splitlines()[-1])
        assert figures["saved"] and figures["after"]["major"] > 0.5
        assert figures["auc_after"] > figures["auc_before"]
        assert "whole requisitions held out (6 requisitions)" in figures["validation"]
        record = store.read_tuned_record(TENANT)
        assert record is not None
        assert record["weights"] == figures["after"]
        assert record["outcomes"]["requisitions"] == 6
        assert record["previous"] == {
            "weights": {"text": 1.0, "major": 0.1, "education": 0.03, "city": 0.03, "salary": 0.02},
            "source": "weights.json (no version fitted yet)",
        }
        version = figures["version"]
        pointer = store.read_pointer(TENANT)
        assert pointer is not None and pointer.version == version
        params = json.loads((models / TENANT / version / "params.json").read_text("utf-8"))
        assert params["weights"] == figures["after"]
        with factory() as session:
            published = session.scalars(
                select(IndexChange.detail).where(
                    IndexChange.tenant == TENANT, IndexChange.entity == "model"
                )
            ).all()
            assert published == [version]
            # A server starting now loads that version and scores with the tuned weights.
            matcher = MatchEngine(session_factory=factory, models_dir=models)
            with matcher.reading(session, TENANT) as snapshot:
                assert snapshot is not None and snapshot.version == version
                assert snapshot.source == "loaded"
                assert snapshot.ranker.params_.weights.major == figures["after"]["major"]
        # Tuning again starts from the live version's weights.
        assert (
            jobmatch(
                [
                    "tune",
                    "--tenant",
                    TENANT,
                    "--database-url",
                    live_database_url,
                    "--models-dir",
                    str(models),
                    "--dry-run",
                ]
            )
            == 0
        )
        assert f"weights before: ranking version {version}" in capsys.readouterr().out
    finally:
        engine.dispose()


def test_every_fit_uses_the_tenants_tuned_weights(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    tuned = StructuredFitWeights(text=1.0, major=0.5, education=0.03, city=0.05, salary=0.02)
    ModelStore(tmp_path).write_tuned_weights(TENANT, tuned, {"fitted_at": "test"})
    with session_factory() as session:
        add_candidacy(session, add_requisition(session), rank=1, stage="recommended")
        add_requisition(session, tenant="other")
        add_candidacy(
            session,
            session.scalars(select(Requisition).where(Requisition.tenant == "other")).one(),
            rank=1,
            stage="recommended",
        )
        matcher = MatchEngine(session_factory=session_factory, models_dir=tmp_path)
        with matcher.reading(session, TENANT) as snapshot:
            assert snapshot is not None and snapshot.source == "fitted"
            assert snapshot.ranker.params_.weights == tuned
            job_id = next(iter(snapshot.jobs))
            # A served ranker keeps no documents: its explanations read the tenant's rows.
            documents = DatabaseDocuments(session, TENANT)
            match = snapshot.ranker.graduates_for_job(job_id, 1, documents=documents)[0]
            assert match.explanation is not None and match.explanation.weights == tuned
        with matcher.reading(session, "other") as snapshot:
            assert snapshot is not None
            assert snapshot.ranker.params_.weights == StructuredFitWeights()


def test_outcome_report_alone_and_inside_a_parser_that_has_k_and_json(
    live_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = create_db_engine(live_database_url)
    try:
        with create_session_factory(engine).begin() as session:
            requisition = add_requisition(session)
            for rank, stage in enumerate(["hired", "rejected", "hired", "offered", "hired"], 1):
                add_candidacy(session, requisition, rank=rank, stage=stage)
    finally:
        engine.dispose()
    # Standalone: the options come from add_outcome_arguments.
    parser = argparse.ArgumentParser()
    add_outcome_arguments(parser)
    args = parser.parse_args(
        ["--outcomes", "--tenant", TENANT, "--database-url", live_database_url, "--k", "4"]
    )
    assert run_outcomes(args) == 0
    out = capsys.readouterr().out
    assert "1 requisition, 5 candidacies, 3 hires" in out
    assert "precision@4" in out and "0.500" in out and "0.667" in out
    # Inside `evaluate`, whose parser already defines --k and --json: no clash, both reused.
    host = argparse.ArgumentParser()
    host.add_argument("--k", type=int, default=10)
    host.add_argument("--json", action="store_true")
    add_outcome_arguments(host)
    args = host.parse_args(
        [
            "--outcomes",
            "--tenant",
            TENANT,
            "--database-url",
            live_database_url,
            "--k",
            "2",
            "--json",
        ]
    )
    assert args.outcomes and run_outcomes(args) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (report["k"], report["hires_in_top_k"], report["precision_at_k"]) == (2, 1, 0.5)
    assert report["recall"] == pytest.approx(1 / 3)
