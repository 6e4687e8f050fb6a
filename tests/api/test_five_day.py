"""The five-day demo on a reduced pool: its printed figures recomputed from what it stored, its
simulated events consistent and in the past, and its pool deterministic; SQLite and PostgreSQL."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import select

from app.db import create_db_engine, create_session_factory
from app.demo.beilun import BEILUN_INDUSTRIES
from app.demo.five_day import (
    OutcomeModel,
    build_pool,
    is_target_major,
    precision_by_major,
    read_real_postings,
)
from app.services.pipeline import allowed_next
from app.services.progress import LOCAL_TIME, requisition_progress
from app.tables import Candidacy, Graduate, Job, PipelineEvent, Requisition, utcnow

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "five_day_case.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("five_day_case", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_the_demo_prints_what_it_stored(
    live_database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chart = tmp_path / "chart.png"
    status = load_script().main(
        [
            "--graduates",
            "2000",
            "--positions",
            "300",
            "--real-postings",
            "0",
            "--database-url",
            live_database_url,
            "--models-dir",
            str(tmp_path / "models"),
            "--chart",
            str(chart),
            "--json",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0, out
    figures: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    assert (figures["graduates"], figures["positions"], figures["real_positions"]) == (2000, 300, 0)
    assert f"time-to-shortlist: {figures['time_to_shortlist_ms']:.1f} ms" in out
    assert f"precision@30 by major: {figures['precision_by_major']:.3f}" in out
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    engine = create_db_engine(live_database_url)
    try:
        with create_session_factory(engine)() as session:
            requisition = session.get_one(Requisition, figures["requisition_id"])
            assert requisition.time_to_shortlist_ms == pytest.approx(
                figures["time_to_shortlist_ms"]
            )
            # Precision@30 by major, from the stored shortlist: ranks 1-30 and their majors.
            top = session.execute(
                select(Candidacy.graduate_id, Graduate.major)
                .join(Graduate, Graduate.id == Candidacy.graduate_id)
                .where(Candidacy.requisition_id == requisition.id, Candidacy.rank <= 30)
                .order_by(Candidacy.rank)
            ).all()
            assert [graduate_id for graduate_id, _ in top] == figures["top_graduate_ids"]
            share = sum(is_target_major(major) for _, major in top) / len(top)
            assert figures["precision_by_major"] == pytest.approx(share)
            assert len(top) == 30

            progress = requisition_progress(
                session, requisition=requisition, today=requisition.deadline
            )
            assert figures["funnel"] == progress.reached
            assert figures["at_stage"] == progress.at_stage
            assert figures["hires"] == progress.hires <= requisition.headcount
            assert figures["status"] == requisition.status
            if progress.hires == requisition.headcount:
                assert requisition.status == "filled"

            # Every simulated event lies in the past, within the five days, and follows the
            # allowed transitions in time order.
            last_day = requisition.deadline.toordinal()
            events = session.scalars(
                select(PipelineEvent)
                .join(Candidacy, Candidacy.id == PipelineEvent.candidacy_id)
                .where(Candidacy.requisition_id == requisition.id)
                .order_by(PipelineEvent.candidacy_id, PipelineEvent.occurred_at, PipelineEvent.id)
            ).all()
            now = utcnow()
            previous: dict[int, str] = {}
            for event in events:
                assert event.occurred_at < now
                local_day = event.occurred_at.astimezone(LOCAL_TIME).date().toordinal()
                assert last_day - 4 <= local_day <= last_day
                if event.candidacy_id in previous:
                    assert event.to_stage in allowed_next(previous[event.candidacy_id])
                    assert event.from_stage == previous[event.candidacy_id]
                else:
                    assert (event.from_stage, event.to_stage) == (None, "recommended")
                previous[event.candidacy_id] = event.to_stage
            stages = dict(
                session.execute(
                    select(Candidacy.id, Candidacy.stage).where(
                        Candidacy.requisition_id == requisition.id
                    )
                ).all()
            )
            assert previous == stages
            placed = session.scalars(select(Graduate.id).where(Graduate.status == "placed")).all()
            assert len(placed) == progress.hires

            # The Beilun drive ranked unplaced graduates against open jobs of three industries.
            assert figures["beilun_graduates"] == 718
            assert 0 < figures["beilun_matched"] <= 718
            jobs = session.scalar(
                select(Job.id)
                .where(Job.industry.in_(BEILUN_INDUSTRIES), Job.status == "open")
                .limit(1)
            )
            assert jobs is not None and figures["beilun_jobs"] > 0
    finally:
        engine.dispose()
    assert "Beilun drive: 718 unplaced graduates" in out
    assert "funnel (candidacies that reached each stage)" in out


def test_the_pool_is_deterministic_and_mixes_in_real_postings(tmp_path: Path) -> None:
    real = tmp_path / "jobs.jsonl"
    lines = [
        {"external_id": f"zp-{n}", "title": f"电气工程师{n}", "company": "某公司", "city": "杭州"}
        for n in range(10)
    ]
    real.write_text(
        "\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\nnot json\n",
        "utf-8",
    )
    picked = read_real_postings(real, 4, seed=1)
    assert picked == read_real_postings(real, 4, seed=1)
    assert [line for line, _ in picked] == sorted(line for line, _ in picked)
    assert all(data["external_id"].startswith("zp-") for _, data in picked)
    pool = build_pool(graduates=50, positions=20, real_postings=real, real_count=4, seed=1)
    assert len(pool.jobs) + len(pool.real_jobs) == 20 and len(pool.real_jobs) == 4
    assert pool.jobs[0]["external_id"] == "syn-job-keyongtai-0001"
    again = build_pool(graduates=50, positions=20, real_postings=real, real_count=4, seed=1)
    assert (again.jobs, again.graduates) == (pool.jobs, pool.graduates)
    without = build_pool(graduates=50, positions=20, real_postings=tmp_path / "absent.jsonl")
    assert (len(without.jobs), without.real_jobs, without.real_source) == (20, [], None)


def test_outcome_decisions_depend_on_the_graduate_not_on_the_order() -> None:
    model = OutcomeModel(seed=3)
    graduates = [
        Graduate(
            external_id=f"g-{n}",
            major="自动化" if n % 2 else "会计学",
            desired_cities=["宁波"],
            skills=["PLC", "CAD"],
            graduation_year=2027,
            expected_salary=8000,
        )
        for n in range(200)
    ]
    forward = [model.passes_interview(graduate) for graduate in graduates]
    backward = [model.passes_interview(graduate) for graduate in reversed(graduates)]
    assert forward == backward[::-1]
    # Listed majors get offers far more often than unrelated ones.
    listed = sum(f for f, g in zip(forward, graduates, strict=True) if g.major == "自动化")
    other = sum(f for f, g in zip(forward, graduates, strict=True) if g.major == "会计学")
    assert listed > 2 * other
    assert precision_by_major(["自动化", "电气工程及其自动化", "会计学", None]) == 0.5
