"""Where a requisition stands: the funnel, hires against headcount and deadline, and a chart."""

from __future__ import annotations

import io
from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.schemas.requisitions import HiresOnDay, Progress
from app.services.pipeline import FORWARD
from app.tables import Candidacy, PipelineEvent, Requisition

# Days are the agency's days: hires recorded at 23:30 in Ningbo count for that date.
LOCAL_TIME = ZoneInfo("Asia/Shanghai")
STAGES = (*FORWARD, "rejected", "withdrawn")


def local_today() -> date:
    """Today's date in China."""
    return datetime.now(LOCAL_TIME).date()


def requisition_progress(
    session: Session, *, requisition: Requisition, today: date | None = None
) -> Progress:
    """Funnel counts by stage, hires vs headcount, days left and hires per day."""
    today = today or local_today()
    candidacies = list(
        session.scalars(select(Candidacy).where(Candidacy.requisition_id == requisition.id))
    )
    at_stage = Counter(candidacy.stage for candidacy in candidacies)
    events = session.execute(
        select(PipelineEvent.candidacy_id, PipelineEvent.to_stage, PipelineEvent.occurred_at)
        .join(Candidacy, Candidacy.id == PipelineEvent.candidacy_id)
        .where(Candidacy.requisition_id == requisition.id)
        .order_by(PipelineEvent.occurred_at, PipelineEvent.id)
    ).all()
    reached_by: dict[int, set[str]] = {}
    hires_by_day: Counter[date] = Counter()
    for candidacy_id, to_stage, occurred_at in events:
        reached_by.setdefault(candidacy_id, set()).add(to_stage)
        if to_stage == "hired":
            hires_by_day[occurred_at.astimezone(LOCAL_TIME).date()] += 1
    reached = {
        stage: sum(1 for stages in reached_by.values() if stage in stages) for stage in FORWARD
    }
    hires = at_stage["hired"]
    cumulative = 0
    per_day = []
    for day in sorted(hires_by_day):
        cumulative += hires_by_day[day]
        per_day.append(HiresOnDay(day=day, hires=hires_by_day[day], cumulative=cumulative))
    return Progress(
        requisition_id=requisition.id,
        status=requisition.status,
        headcount=requisition.headcount,
        hires=hires,
        remaining=max(requisition.headcount - hires, 0),
        deadline=requisition.deadline,
        days_left=(requisition.deadline - today).days,
        at_stage={stage: at_stage.get(stage, 0) for stage in STAGES},
        reached=reached,
        time_to_shortlist_ms=requisition.time_to_shortlist_ms,
        hires_per_day=per_day,
    )


def progress_chart(progress: Progress, *, started: date | None = None) -> bytes:
    """A PNG: the funnel, and cumulative hires per day against headcount and deadline."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers
    from matplotlib import dates as mdates
    from matplotlib import pyplot as plt

    figure, (funnel, timeline) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=100)
    stages = list(progress.reached)
    counts = [progress.reached[stage] for stage in stages]
    bars = funnel.barh(stages[::-1], counts[::-1], color="#2f6db5")
    funnel.bar_label(bars, padding=3)
    funnel.set_title("Pipeline funnel (reached each stage)")
    funnel.set_xlabel("candidates")
    funnel.set_xlim(0, max([*counts, 1]) * 1.15)

    days = [point.day for point in progress.hires_per_day]
    cumulative = [point.cumulative for point in progress.hires_per_day]
    first_day = started or (days[0] if days else progress.deadline)
    if days:
        # A day's bar spans that day; the running total steps up when the day is over.
        day_ends = [day + timedelta(days=1) for day in days]
        timeline.bar(
            days,
            [point.hires for point in progress.hires_per_day],
            width=1.0,
            align="edge",
            color="#9cc3e6",
            label="hires that day",
        )
        timeline.step(
            [first_day, *day_ends],
            [0, *cumulative],
            where="post",
            color="#2f6db5",
            label="hires (cumulative)",
        )
    timeline.xaxis.set_major_locator(mdates.DayLocator())  # type: ignore[no-untyped-call]
    timeline.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))  # type: ignore[no-untyped-call]
    timeline.axhline(
        progress.headcount, color="#c0392b", linestyle="--", label=f"headcount {progress.headcount}"
    )
    # A deadline date lasts until the end of that day.
    timeline.axvline(
        progress.deadline + timedelta(days=1),
        color="#7f8c8d",
        linestyle=":",
        label=f"deadline (end of {progress.deadline:%m-%d})",
    )
    timeline.set_title(
        f"Hires {progress.hires}/{progress.headcount}, {progress.days_left} days left"
    )
    timeline.set_ylim(0, progress.headcount * 1.15)
    timeline.legend(loc="upper left", fontsize=8)
    timeline.tick_params(axis="x", labelrotation=30)
    figure.suptitle(f"Requisition #{progress.requisition_id}")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()
