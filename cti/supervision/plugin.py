"""Supervision as a feature: the supervisors' pages and API, and the wallboard's alerts.

The alert watcher is this feature's task; each alert raised or cleared goes to every
supervisor's page and into the metrics.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from cti.keys import DATABASE, HUB, METRICS, SETTINGS, STATE, TASKS
from cti.push.messages import AlertMessage
from cti.supervision import http
from cti.supervision.wallboard import Alert, watch_alerts


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(alerts_ctx)
    http.add_routes(app)


async def alerts_ctx(app: web.Application) -> AsyncIterator[None]:
    hub, metrics = app[HUB], app[METRICS]

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

    app[TASKS].start(
        "alert watcher", watch_alerts(app[SETTINGS], app[STATE], app[DATABASE], publish)
    )
    yield
    await app[TASKS].stop("alert watcher")
