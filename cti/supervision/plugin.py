"""Supervision as a feature: the supervisors' pages and API, today's figures and the wall.

Today's tallies are a pipeline sink, seeded from the call log before the pipeline starts.
The wall task builds the wallboard from them once a second: each alert raised or cleared goes
to every supervisor's page and into the metrics, and what changed goes to the pages open.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
from aiohttp import web

from cti.calllog import tallies
from cti.database import DatabaseUnavailable
from cti.keys import CLOCK, DATABASE, HUB, METRICS, SETTINGS, SINKS, STATE, TASKS, TODAY
from cti.push.messages import AlertMessage
from cti.supervision import http
from cti.supervision.today import WINDOW_MINUTES, TodayTallies
from cti.supervision.wallboard import Alert, feed_the_wall

log = logging.getLogger(__name__)


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(wall_ctx)
    http.add_routes(app)


async def wall_ctx(app: web.Application) -> AsyncIterator[None]:
    hub, metrics, clock = app[HUB], app[METRICS], app[CLOCK]
    now = clock.now()
    today = TodayTallies(clock.zone, now)
    since = min(today.day_start, datetime.fromtimestamp(now, UTC)) - timedelta(
        minutes=WINDOW_MINUTES + 1
    )
    try:
        rows, still_open = await tallies.seed(
            await app[DATABASE].pool(), since, datetime.fromtimestamp(now + 60, UTC)
        )
    except (DatabaseUnavailable, OSError, TimeoutError, asyncpg.PostgresError) as exc:
        log.error("today's figures start from zero: the call log is unreachable (%s)", exc)
    else:
        today.seed(rows, still_open)
    app[TODAY] = today
    app[SINKS].append(today)

    def publish(alert: Alert) -> None:
        if alert.raised:
            metrics.alerts_raised.labels(metrics.queue_label(alert.queue), alert.kind).inc()
        hub.to_supervisors(
            AlertMessage(
                queue=alert.queue,
                kind=alert.kind,
                text=alert.text,
                raised=alert.raised,
                at=alert.at,
            )
        )

    app[TASKS].start("wall", feed_the_wall(app[SETTINGS], app[STATE], today, clock, hub, publish))
    yield
    await app[TASKS].stop("wall")
