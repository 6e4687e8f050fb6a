"""`jobmatch import` on real files: bad rows reported by line number, good rows all stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from app.cli import main
from app.tables import Graduate, Job
from tests.support import IMPORT_TENANT, run_import


@pytest.fixture
def clean_tenant(engine: Engine) -> None:
    """The CLI commits for real: start from an empty tenant and clean up after."""
    with Session(engine) as session, session.begin():
        session.execute(delete(Job).where(Job.tenant == IMPORT_TENANT))
        session.execute(delete(Graduate).where(Graduate.tenant == IMPORT_TENANT))


@pytest.mark.usefixtures("clean_tenant")
def test_jsonl_import_reports_bad_lines_and_keeps_good_rows(
    tmp_path: Path, database_url: str, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        {"external_id": "j1", "title": "PLC工程师", "company": "甲公司", "company_size": "100人"},
        {"external_id": "j2", "title": "", "company": "乙公司"},
        "not json at all",
        {
            "external_id": "j3",
            "title": "电气设计",
            "company": "丙公司",
            "salary_min": 9000,
            "salary_max": 6000,
        },
        {"external_id": "j4", "title": "设备工程师", "company": "丁公司", "education": "硕士"},
        {"external_id": "j1", "title": "PLC工程师(更新)", "company": "甲公司"},
    ]
    path = tmp_path / "jobs.jsonl"
    path.write_text(
        "\n".join(
            row if isinstance(row, str) else json.dumps(row, ensure_ascii=False) for row in rows
        )
        + "\n",
        encoding="utf-8",
    )
    code, out = run_import("jobs", path, database_url, capsys)
    assert code == 1
    assert "2 created, 1 updated, 3 failed" in out
    assert "line 2 (j2): title:" in out
    assert "line 3 (-): " in out
    assert "line 4 (j3): salary_max:" in out
    assert "ignored fields not in the jobs model: company_size" in out
    with Session(engine) as session:
        stored = dict(
            session.execute(
                select(Job.external_id, Job.title).where(Job.tenant == IMPORT_TENANT)
            ).all()
        )
    assert stored == {"j1": "PLC工程师(更新)", "j4": "设备工程师"}


@pytest.mark.usefixtures("clean_tenant")
def test_csv_graduates_import_with_list_columns(
    tmp_path: Path, database_url: str, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "graduates.csv"
    path.write_text(
        "external_id,major,education,skills,desired_cities,age\n"
        "g1,电气工程及其自动化,本科,PLC;CAD,宁波、杭州,22\n"
        "g2,自动化,初中,PLC,宁波,23\n"
        "g3,机械设计制造及其自动化,大专,SolidWorks,宁波,21\n",
        encoding="utf-8",
    )
    code, out = run_import("graduates", path, database_url, capsys)
    assert code == 1
    assert "2 created, 0 updated, 1 failed" in out
    assert "line 3 (g2): education:" in out
    assert "ignored fields not in the graduates model: age" in out
    with Session(engine) as session:
        g1 = session.scalars(
            select(Graduate).where(Graduate.tenant == IMPORT_TENANT, Graduate.external_id == "g1")
        ).one()
        count = session.scalar(select(func.count()).where(Graduate.tenant == IMPORT_TENANT))
    assert g1.skills == ["PLC", "CAD"]
    assert g1.desired_cities == ["宁波", "杭州"]
    assert count == 2


SHARED_ZHAOPIN = Path(__file__).resolve().parents[3] / "shared" / "data" / "jobs_zhaopin.jsonl"


@pytest.mark.skipif(not SHARED_ZHAOPIN.exists(), reason="../shared/data is not present")
@pytest.mark.usefixtures("clean_tenant")
def test_real_postings_sample_imports_cleanly(
    tmp_path: Path, database_url: str, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = tmp_path / "sample.jsonl"
    with SHARED_ZHAOPIN.open(encoding="utf-8") as source:
        sample.write_text(
            "".join(line for _, line in zip(range(300), source, strict=False)), encoding="utf-8"
        )
    code = main(
        ["import", "jobs", str(sample), "--tenant", IMPORT_TENANT, "--database-url", database_url]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "300 created, 0 updated, 0 failed" in out
    with Session(engine) as session:
        cities = set(session.scalars(select(Job.city).where(Job.tenant == IMPORT_TENANT)))
    assert cities <= {"北京", "深圳", "武汉", "郑州", "南京", "杭州", "重庆", "成都", "厦门"}


@pytest.mark.usefixtures("clean_tenant")
def test_import_counts_flags_and_duplicates(
    tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    duties = (
        "岗位职责：负责自动化产线的电气设计与PLC编程，参与设备安装调试和技术改造，"
        "编写电气图纸与调试记录，配合工艺部门完成产线升级。任职要求：电气类专业。"
    )
    posting = {"title": "电气自动化工程师", "company": "宁波测试装备有限公司", "skills": ["PLC"]}
    rows = [
        {**posting, "external_id": "i-1", "city": "宁波", "description": duties + "男性优先。"},
        {**posting, "external_id": "i-2", "city": "杭州", "description": duties},
        {**posting, "external_id": "i-3", "city": "温州", "description": duties},
        {"external_id": "i-4", "title": "会计", "company": "别的公司", "description": "负责报税。"},
    ]
    path = tmp_path / "jobs.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    code, out = run_import("jobs", path, database_url, capsys)
    assert code == 0, out
    assert "compliance: 1 postings flagged (gender 1)" in out
    assert "duplicates: 1 groups of near-identical jobs (3 records); largest 3" in out
