"""Supervision as a feature: the supervisors' pages and API, today's figures and the wall.

Today's tallies are a pipeline sink, seeded from the call log before the pipeline starts.
The wall task builds the wallboard from them once a second: each alert raised or cleared goes
to every supervisor's page, into the metrics and into the day's alert log (for the pages
opened later), and what changed goes to the pages open.
The rollup task keeps the KPI API's rolled-up 15-minute slots up to date.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
from aiohttp import web

from cti.calllog import tallies
from cti.database import DatabaseUnavailable
from cti.keys import ALERTS, CLOCK, DATABASE, HUB, METRICS, SETTINGS, SINKS, STATE, TASKS, TODAY
from cti.push.messages import AlertMessage
from cti.supervision import http
from cti.supervision.today import WINDOW_MINUTES, TodayTallies
from cti.supervision.wallboard import Alert, AlertLog, Touched, feed_the_wall

log = logging.getLogger(__name__)

ROLLUP_EVERY_S = 60.0
UNREACHABLE = (
    DatabaseUnavailable,
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(wall_ctx)
    http.add_routes(app)


async def wall_ctx(app: web.Application) -> AsyncIterator[None]:
    hub, metrics, clock = app[HUB], app[METRICS], app[CLOCK]
    now = clock.now()
    today = TodayTallies(clock.zone, now)
    minutes_from = datetime.fromtimestamp(now // 60 * 60, UTC) - timedelta(minutes=WINDOW_MINUTES)
    try:
        rows, still_open = await tallies.seed(
            await app[DATABASE].pool(),
            min(today.day_start, minutes_from),
            minutes_from,
            datetime.fromtimestamp(now + 60, UTC),
        )
    except UNREACHABLE as exc:
        log.error("today's figures start from zero: the call log is unreachable (%s)", exc)
    else:
        today.seed(rows, still_open)
    touched = Touched()
    app[TODAY] = today
    app[SINKS].extend([today, touched])
    alert_log = app[ALERTS] = AlertLog()

    async def publish(alert: Alert) -> None:
        alert_log.add(alert)
        if alert.raised:
            metrics.alerts_raised.labels(metrics.queue_label(alert.queue), alert.kind).inc()
        await hub.to_supervisors(
            AlertMessage(
                queue=alert.queue,
                kind=alert.kind,
                text=alert.text,
                raised=alert.raised,
                at=alert.at,
            )
        )

    app[TASKS].start(
        "wall", feed_the_wall(app[SETTINGS], app[STATE], today, touched, clock, hub, publish)
    )
    app[TASKS].start("KPI rollup", roll_up_every_minute(app))
    yield
    await app[TASKS].stop("wall", "KPI rollup")


async def roll_up_every_minute(app: web.Application) -> None:
    """Keep the KPI rollup (cti/calllog/tallies.py) up to date; the first run after an
    upgrade rolls up the whole call log, a day per transaction, in PostgreSQL."""
    while True:
        try:
            now = datetime.fromtimestamp(app[CLOCK].now(), UTC)
            rolled = await tallies.roll_up(await app[DATABASE].pool(), now)
        except UNREACHABLE as exc:
            log.warning("KPI rollup postponed: the call log is unreachable (%s)", exc)
        else:
            if rolled:
                log.info("KPI rollup: %d slots of 15 minutes rolled up", rolled)
        await asyncio.sleep(ROLLUP_EVERY_S)
