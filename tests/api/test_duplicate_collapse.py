"""Near-duplicate collapse in matches, from the signatures the index keeps: the same entries
and `also_in` as the comparison of each company's stored postings (company_duplicates, what
every request ran before), and every write shown in the next query."""

from __future__ import annotations

from typing import Any

from fastapi.encoders import jsonable_encoder
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.demo import generate_jobs
from app.services.duplicates import company_duplicates
from app.settings import Settings
from tests.factories import make_graduate, make_job, post_record

# Where copies of a posting are published again (city, district).
OTHER_PLACES = [("杭州", "西湖"), ("绍兴", "越城"), ("嘉兴", "南湖")]


def rotated(description: str, shift: int) -> str:
    """The description's lines in another order: the same words, a few new word pairs."""
    lines = description.split("\n")
    shift %= len(lines)
    return "\n".join(lines[shift:] + lines[:shift])


def postings_with_copies() -> list[dict[str, Any]]:
    """Synthetic postings (about 1.7 per employer, different roles) and, for a dozen of them,
    copies: one to three in other cities with their description's lines rotated (one copy
    closed, so never named); one under another role's title with the same text (the titles
    keep them apart); one with the first one to three lines of its description cut (near
    the similarity threshold, on either side of it)."""
    jobs: list[dict[str, Any]] = jsonable_encoder(generate_jobs(40, seed=7))
    copies = []
    for number, job in enumerate(jobs[:12]):
        for copy, (city, district) in enumerate(OTHER_PLACES[: 1 + number % 3]):
            copies.append(
                {
                    **job,
                    "external_id": f"{job['external_id']}-copy-{copy}",
                    "city": city,
                    "district": district,
                    "description": rotated(job["description"], 1 + number + copy),
                }
            )
        copies.append(
            {
                **job,
                "external_id": f"{job['external_id']}-role",
                "title": jobs[-1 - number]["title"],
            }
        )
        lines = job["description"].split("\n")
        copies.append(
            {
                **job,
                "external_id": f"{job['external_id']}-cut",
                "description": "\n".join(lines[1 + number % 3 :]),
            }
        )
    copies[0]["status"] = "closed"
    return jobs + copies


def collapsed_before(
    session: Session, settings: Settings, pool: list[dict[str, Any]], k: int
) -> list[dict[str, Any]]:
    """The collapse as it was computed before signatures were kept: each matched company's
    open postings read and compared, then one entry per posting not already named."""
    groups: dict[int, list[tuple[int, str | None]]] = {}
    for company in sorted({match["company"] for match in pool}):
        groups.update(
            company_duplicates(session, tenant="default", company=company, settings=settings)
        )
    shown: list[dict[str, Any]] = []
    covered: set[int] = set()
    for match in pool:
        if match["job_id"] in covered:
            continue
        others = groups.get(match["job_id"], [])
        covered.update(other for other, _ in others)
        shown.append(
            {
                "job_id": match["job_id"],
                "rank": len(shown) + 1,
                "also_in": [{"job_id": other, "city": city} for other, city in others],
            }
        )
        if len(shown) == k:
            break
    return shown


def test_collapse_matches_the_comparison_of_stored_postings(
    client: TestClient,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    jobs = postings_with_copies()
    response = client.post("/v1/jobs/bulk", json=jobs)
    assert response.status_code == 200, response.text
    graduates = [
        post_record(
            client,
            "/v1/graduates",
            make_graduate(
                f"g-{number}",
                major=job["majors"][0] if job["majors"] else None,
                skills=job["skills"][:3],
                desired_roles=[job["title"]],
                desired_cities=[job["city"]],
            ),
        )
        for number, job in enumerate(jobs[:12])
    ]
    named = 0
    with session_factory() as session:
        for graduate in graduates:
            path = f"/v1/graduates/{graduate}/matches"
            # The pool a collapsed query of k=10 ranks (COLLAPSE_POOL = 3 candidates per entry).
            pool = client.get(path, params={"k": 30, "collapse": "false"}).json()["matches"]
            collapsed = client.get(path, params={"k": 10}).json()["matches"]
            shown = [
                {key: match[key] for key in ("job_id", "rank", "also_in")} for match in collapsed
            ]
            assert shown == collapsed_before(session, settings, pool, 10)
            named += sum(len(match["also_in"]) for match in collapsed)
    # The corpus's copies are found: the comparison above is not one of empty lists.
    assert named >= 10


def test_writes_show_in_the_next_queries_also_in(client: TestClient) -> None:
    description = (
        "公司简介：本公司是一家生产伺服电机与运动控制系统的高新技术企业。\n"
        "岗位职责：负责自动化产线的电气原理图设计、PLC程序编写与现场调试。\n"
        "参与设备安装、技术改造和故障分析，编写调试记录与电气图纸。\n"
        "任职要求：电气工程及其自动化、自动化等相关专业，熟悉西门子或三菱PLC。\n"
        "福利待遇：五险一金、员工宿舍、年终奖、带薪年假。"
    )
    company = "宁波伺服测试科技有限公司"

    def posting(external_id: str, city: str, shift: int) -> dict[str, Any]:
        return make_job(
            external_id,
            company=company,
            city=city,
            district=None,
            description=rotated(description, shift),
        )

    ningbo = post_record(client, "/v1/jobs", posting("w-1", "宁波", 0))
    hangzhou = post_record(client, "/v1/jobs", posting("w-2", "杭州", 1))
    graduate = post_record(client, "/v1/graduates", make_graduate("w-g"))
    written = {ningbo, hangzhou}

    def entry() -> tuple[int, list[tuple[int, str]]]:
        """The shown posting of the group and its also_in, as (id, city)."""
        body = client.get(f"/v1/graduates/{graduate}/matches", params={"k": 10}).json()
        found = [match for match in body["matches"] if match["job_id"] in written]
        assert len(found) == 1, found
        return found[0]["job_id"], [(a["job_id"], a["city"]) for a in found[0]["also_in"]]

    shown, also_in = entry()
    assert also_in == [
        (other, city) for other, city in ((ningbo, "宁波"), (hangzhou, "杭州")) if other != shown
    ]

    # A new near-duplicate is named by the next query.
    shaoxing = post_record(client, "/v1/jobs", posting("w-3", "绍兴", 2))
    written.add(shaoxing)
    shown, also_in = entry()
    cities = {ningbo: "宁波", hangzhou: "杭州", shaoxing: "绍兴"}
    assert also_in == [(other, cities[other]) for other in sorted(written - {shown})]

    # A closed posting is named no more (and not shown: matches are of open postings).
    closed = shown if shown != ningbo else hangzhou
    assert client.patch(f"/v1/jobs/{closed}", json={"status": "closed"}).status_code == 200
    written.discard(closed)
    shown, also_in = entry()
    assert also_in == [(other, cities[other]) for other in sorted(written - {shown})]

    # A posting rewritten as another role is no near-duplicate any more.
    other_role = next(iter(written - {shown}))
    rewritten = client.patch(
        f"/v1/jobs/{other_role}",
        json={
            "title": "财务会计",
            "skills": ["用友", "报税"],
            "description": "岗位职责：负责总账、报表与纳税申报，审核原始凭证，编制预算。"
            "任职要求：会计学专业，熟悉税务申报流程与财务软件。",
        },
    )
    assert rewritten.status_code == 200, rewritten.text
    written.discard(other_role)
    assert entry() == (shown, [])

    # Reopened, the closed posting is named again.
    assert client.patch(f"/v1/jobs/{closed}", json={"status": "open"}).status_code == 200
    written.add(closed)
    shown, also_in = entry()
    assert also_in == [(other, cities[other]) for other in sorted(written - {shown})]
