"""Outbound campaigns as a feature: the progressive dialer (cti/campaigns/dialer.py), a sink
with its task, and the campaigns' HTTP API (cti/campaigns/http.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from cti.ami import actions
from cti.campaigns import http
from cti.campaigns.dialer import Dialer
from cti.keys import AMI, CLOCK, DATABASE, METRICS, PIPELINE, SETTINGS, SINKS, STATE, TASKS
from cti.outbound import call_out


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(dialer_ctx)
    http.add_routes(app)


async def dialer_ctx(app: web.Application) -> AsyncIterator[None]:
    async def place(
        phone: str, number: str, name: str, campaign_id: int, attempt: int, shown: str
    ) -> str:
        return await call_out(
            app[PIPELINE], app[AMI], app[CLOCK], phone, number, name, campaign_id, attempt, shown
        )

    async def pause(interface: str, paused: bool, reason: str) -> None:
        await actions.queue_pause(app[AMI], interface, paused, reason=reason)

    metrics = app[METRICS]

    def observe(campaign_id: int, outcome: str) -> None:
        if outcome == "placed":
            metrics.campaign_calls.labels(str(campaign_id)).inc()
        else:
            metrics.campaign_attempts.labels(str(campaign_id), outcome).inc()

    wrapup_s = app[SETTINGS].center_wrapup_s
    dialer = Dialer(
        app[STATE], app[DATABASE], place, pause, app[CLOCK], app[TASKS], observe, wrapup_s
    )
    app[SINKS].append(dialer)
    # Its rounds dial only agents the state core knows ready, which needs the AMI link (and
    # so the pipeline), both started after the features: ``place`` finds them by then.
    app[TASKS].start("campaign dialer", dialer.run())
    yield
    await app[TASKS].stop("campaign dialer")
    await dialer.close()
