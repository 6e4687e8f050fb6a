"""Pools for postings the ranker was not tuned on: each shared pool's graduates ranked for every
other pool's posting, and for two postings written here for the five-day case's company.

The three shared pools each pair a posting with graduates written to be hard for it. A ranker
can be right on those three postings and wrong on a fourth, as the issue's hidden 电气工程师
pool showed (plain TF-IDF P@90 0.48). Crossing them gives postings of other kinds over the same
hard graduates: a mechanical pool's 电气类 and 自动化类 graduates are its distractors, and now
they are the right answers.

Labels follow the pools' own rule (eval/pools/README.md): a graduate is a right answer when
their major is in the official class of a major the posting lists, by the majors catalogue of
the shared folder. The graduates and the shared postings are read at run time; the postings
below are this project's own text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from app.demo.generator import KEYONGTAI_COMPANY
from app.evaluation.pools import AgencyPool
from app.ranking import MajorTable

_ELECTRICAL_DUTIES = (
    "岗位职责：1. 负责自动化设备电气部分的设计，绘制电气原理图与接线图；2. 完成PLC程序编写与"
    "现场调试，编写调试记录；3. 配合装配车间处理电气故障。"
)

# Two postings of the five-day case's company, one per strictness of the majors it lists:
# with 自动化 listed, 自动化类 graduates are right answers too; with 电气工程及其自动化 alone,
# only 电气类 ones are, and the related 自动化类 ones become the nearest wrong answers.
OWN_POSTINGS: Mapping[str, Mapping[str, Any]] = {
    "keyongtai-elec-auto": {
        "external_id": "cross-elec-auto",
        "title": "电气自动化工程师（2026届）",
        "company": KEYONGTAI_COMPANY,
        "city": "宁波",
        "district": "北仑区",
        "industry": "工业自动化",
        "education": "本科",
        "majors": ["电气工程及其自动化", "自动化"],
        "skills": ["PLC", "电气原理图", "变频器", "低压电器", "EPLAN"],
        "description": _ELECTRICAL_DUTIES
        + "任职要求：电气工程及其自动化、自动化相关专业本科应届生，熟悉西门子或三菱PLC。",
        "salary_min": 6000,
        "salary_max": 9000,
        "headcount": 30,
    },
    "keyongtai-elec": {
        "external_id": "cross-elec",
        "title": "电气设计工程师（2026届）",
        "company": KEYONGTAI_COMPANY,
        "city": "宁波",
        "district": "北仑区",
        "industry": "工业自动化",
        "education": "本科",
        "majors": ["电气工程及其自动化"],
        "skills": ["电气设计", "电气原理图", "PLC", "低压配电", "CAD"],
        "description": _ELECTRICAL_DUTIES
        + "任职要求：电气工程及其自动化专业本科应届生，熟悉低压配电与电气制图规范。",
        "salary_min": 6500,
        "salary_max": 9500,
        "headcount": 10,
    },
}


def right_answers(
    job: Mapping[str, Any], graduates: Sequence[Mapping[str, Any]], majors: MajorTable
) -> dict[str, int]:
    """external_id → 1 when the graduate's major is in the official class of a listed major."""
    classes = {majors.major_class(majors.canonical(m)) for m in job.get("majors") or []}
    classes.discard("")
    return {
        str(g["external_id"]): int(
            majors.major_class(majors.canonical(g.get("major"))) in classes if g.get("major") else 0
        )
        for g in graduates
    }


def cross_pools(
    pools: Sequence[AgencyPool],
    majors: MajorTable,
    own_postings: Mapping[str, Mapping[str, Any]] = OWN_POSTINGS,
) -> list[AgencyPool]:
    """Every pool's graduates for every other pool's posting and for each own posting, named
    graduates×posting; a crossing with no right answer is left out (it measures nothing)."""
    postings: list[tuple[str, Mapping[str, Any], AgencyPool | None]]
    postings = [(pool.name, pool.job, pool) for pool in pools]
    postings += [(name, job, None) for name, job in own_postings.items()]
    crossed = []
    for pool in pools:
        for name, job, source in postings:
            if source is pool:
                continue
            labels = right_answers(job, pool.graduates, majors)
            if any(labels.values()):
                crossed.append(
                    AgencyPool(
                        name=f"{pool.name}×{name}",
                        job=dict(job),
                        graduates=pool.graduates,
                        labels=labels,
                    )
                )
    return crossed
