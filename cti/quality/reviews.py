"""Quality review of recorded calls: the scoring form, reviews, and the weekly sample.

The form comes from the settings as ``"criterion:weight"`` items. Each criterion is marked
0..5; the score is the weighted share of the full marks, 0..100. A review stores the form it
was scored on, so a later change of the form does not rewrite old scores.

Each week a random sample of every agent's recorded calls is proposed for review. It is
drawn when asked for and kept, topped up as the week brings more calls, so every supervisor
sees the same sample and a reload does not reshuffle it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from cti.calllog.reports import agent_name

SCALE = 5
_AGENT = agent_name("k.agent", "k.agent_name")  # the name of the agent who took call k
COMMENT_LIMIT = 4000


class ReviewError(ValueError):
    """A review a supervisor can correct; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class Criterion:
    name: str
    weight: int


def parse_form(items: Sequence[str]) -> tuple[Criterion, ...]:
    form = []
    for item in items:
        name, _, weight = item.rpartition(":")
        name = name.strip()
        if not name or not weight.strip().isdigit() or int(weight) < 1:
            raise ValueError(
                f"QA form item {item!r} must be 'criterion:weight' with a whole "
                "weight of 1 or more, e.g. 'Greeting:10'"
            )
        form.append(Criterion(name, int(weight)))
    if len({c.name for c in form}) != len(form):
        raise ValueError("QA form criteria must have distinct names")
    return tuple(form)


def score(form: Sequence[Criterion], marks: Mapping[str, Any]) -> float:
    """Weighted share of the full marks, 0..100, one decimal. Every criterion must be
    marked: a mark left out is not a zero (a form sent untouched would score 0 %)."""
    if not isinstance(marks, Mapping):
        raise ReviewError("marks must give each criterion of the form its mark")
    unmarked = [c.name for c in form if marks.get(c.name) is None]
    if unmarked:
        raise ReviewError(f"mark every criterion; not marked: {', '.join(unmarked)}")
    unknown = sorted(set(marks) - {c.name for c in form})
    if unknown:
        raise ReviewError(f"these are not criteria of the form: {', '.join(unknown)}")
    for name, mark in marks.items():
        if isinstance(mark, bool) or not isinstance(mark, int) or not 0 <= mark <= SCALE:
            raise ReviewError(f"the mark for {name!r} must be a whole number from 0 to {SCALE}")
    total = sum(c.weight for c in form)
    earned: int = sum(c.weight * marks[c.name] for c in form)
    return round(100 * earned / (SCALE * total), 1)


def week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


async def add_review(
    pool: asyncpg.Pool,
    form: Sequence[Criterion],
    linkedid: str,
    reviewer_id: int,
    marks: Any,
    comment: Any,
) -> dict[str, Any]:
    if not isinstance(comment, str) or len(comment) > COMMENT_LIMIT:
        raise ReviewError(f"the comment must be text of at most {COMMENT_LIMIT} characters")
    value = score(form, marks)
    call = await pool.fetchrow(
        f"SELECT k.agent, {_AGENT} AS agent_name FROM calls k"
        " WHERE k.linkedid = $1 AND k.agent IS NOT NULL AND k.recording IS NOT NULL",
        linkedid,
    )
    if call is None:
        raise ReviewError("only a recorded call an agent answered can be reviewed")
    agent = call["agent"]
    row = await pool.fetchrow(
        "INSERT INTO quality_reviews (linkedid, agent, reviewer_id, form, marks, score, comment)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, created_at",
        linkedid,
        agent,
        reviewer_id,
        json.dumps([asdict(c) for c in form]),
        json.dumps(marks),
        value,
        comment.strip(),
    )
    return {
        "id": row["id"],
        "linkedid": linkedid,
        "agent": agent,
        "agent_name": call["agent_name"],
        "score": value,
        "created_at": row["created_at"].isoformat(),
    }


async def reviews(
    pool: asyncpg.Pool,
    agents: Sequence[str] | None = None,
    linkedid: str | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Newest first; ``agents`` limits them to those interfaces (an agent's own reviews)."""
    rows = await pool.fetch(
        "SELECT r.id, r.linkedid, r.agent, u.display_name AS reviewer, r.form, r.marks, "
        "r.score::float AS score, r.comment, r.created_at, k.started_at, k.caller_number, "
        f"k.caller_name, k.queue, {agent_name('r.agent', 'k.agent_name')} AS agent_name "
        "FROM quality_reviews r JOIN users u ON u.id = r.reviewer_id "
        "LEFT JOIN calls k ON k.linkedid = r.linkedid "
        "WHERE ($1::text[] IS NULL OR r.agent = ANY($1)) AND ($2::text IS NULL OR "
        "r.linkedid = $2) ORDER BY r.created_at DESC, r.id DESC LIMIT $3",
        None if agents is None else list(agents),
        linkedid,
        limit,
    )
    return [
        {
            **dict(r),
            "form": json.loads(r["form"]),
            "marks": json.loads(r["marks"]),
            "created_at": r["created_at"].isoformat(),
            "started_at": r["started_at"].isoformat() if r["started_at"] else None,
        }
        for r in rows
    ]


async def weekly_sample(
    pool: asyncpg.Pool, week: date, zone: ZoneInfo, per_agent: int
) -> list[dict[str, Any]]:
    """The week's proposed calls, drawn now for agents who have fewer than ``per_agent``."""
    start = datetime.combine(week, time(), zone)
    async with pool.acquire() as connection, connection.transaction():
        # One drawer at a time, so two supervisors opening the page never double a sample.
        await connection.execute("SELECT pg_advisory_xact_lock(hashtext('quality_samples'))")
        await connection.execute(
            "INSERT INTO quality_samples (week, linkedid, agent) "
            "SELECT $1, linkedid, agent FROM ("
            "  SELECT k.linkedid, k.agent,"
            "    row_number() OVER (PARTITION BY k.agent ORDER BY random()) AS n,"
            "    (SELECT count(*) FROM quality_samples s"
            "      WHERE s.week = $1 AND s.agent = k.agent) AS have"
            "  FROM calls k WHERE k.answered_at >= $2 AND k.answered_at < $3"
            "    AND k.agent IS NOT NULL AND k.recording IS NOT NULL AND NOT EXISTS ("
            "      SELECT 1 FROM quality_samples s WHERE s.week = $1 AND s.linkedid = k.linkedid)"
            ") drawn WHERE n <= $4 - have",
            week,
            start,
            start + timedelta(days=7),
            per_agent,
        )
        rows = await connection.fetch(
            "SELECT s.linkedid, s.agent, k.started_at, k.caller_number, k.caller_name, k.queue, "
            f"k.talk_s, {_AGENT} AS agent_name, "
            "(SELECT r.score::float FROM quality_reviews r WHERE r.linkedid = s.linkedid"
            " ORDER BY r.created_at DESC LIMIT 1) AS score "
            "FROM quality_samples s JOIN calls k ON k.linkedid = s.linkedid "
            "WHERE s.week = $1 ORDER BY agent_name, s.agent, k.started_at",
            week,
        )
    return [
        {**dict(r), "started_at": r["started_at"].isoformat() if r["started_at"] else None}
        for r in rows
    ]


async def call_to_review(pool: asyncpg.Pool, linkedid: str) -> dict[str, Any] | None:
    """A call as the sample lists it (who answered, who called, when), to review one that
    is not in the sample (from the call history); None when there is no such call."""
    row = await pool.fetchrow(
        "SELECT k.linkedid, k.agent, k.started_at, k.caller_number, k.caller_name, k.queue, "
        f"k.talk_s, {_AGENT} AS agent_name, "
        "k.recording IS NOT NULL AS has_recording, (SELECT r.score::float FROM quality_reviews"
        " r WHERE r.linkedid = k.linkedid ORDER BY r.created_at DESC LIMIT 1) AS score "
        "FROM calls k WHERE k.linkedid = $1",
        linkedid,
    )
    if row is None:
        return None
    return {**dict(row), "started_at": row["started_at"].isoformat() if row["started_at"] else None}
