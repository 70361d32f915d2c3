"""Routing as a feature: the ACD (skills, priority, last agent) and the agents' wrap-up.

- Wrap-up (cti/routing/wrapup.py), a sink: after a queue call the agent stays paused in
  Asterisk's queues for the center's wrap-up time. It runs when a wrap-up time is set, and
  always with the ACD: its calls need Asterisk's wrapuptime held by a pause.
- The ACD (``CTI_ROUTING_FILE``), a sink with its task for the routing rounds, and the
  FastAGI server Asterisk's route points ask (cti/routing/route_point.py).

The dialplan's contract for moving a held call to an agent lives here too (``move``): set
``CTI_ROUTE_AGENT`` on the caller's channel, then Redirect it to ``[cti-route] agent``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from cti.ami import actions
from cti.keys import AMI, CLOCK, DATABASE, METRICS, SETTINGS, SINKS, STATE, TASKS
from cti.routing.acd import Acd
from cti.routing.config import RoutingConfigError, load_routing
from cti.routing.route_point import ENVIRONMENT_LIMIT, RoutePoint
from cti.routing.wrapup import WrapUp
from cti.settings import SettingsError


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(routing_ctx)


async def routing_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    config = None
    if settings.routing_file:
        try:
            config = load_routing(Path(settings.routing_file))
        except RoutingConfigError as exc:
            raise SettingsError(str(exc)) from None
    wrapup = None
    if (
        config is not None
        or settings.center_wrapup_s > 0
        or any(s > 0 for s in settings.wrapup_s_by_queue.values())
    ):

        async def pause_for_wrapup(interface: str, paused: bool, reason: str) -> None:
            await actions.queue_pause(app[AMI], interface, paused, reason=reason)

        wrapup = WrapUp(
            app[STATE],
            pause_for_wrapup,
            app[TASKS],
            settings.center_wrapup_s,
            settings.wrapup_s_by_queue,
        )
        app[SINKS].append(wrapup)
    if config is None:
        yield
        if wrapup is not None:
            await wrapup.close()
        return
    metrics = app[METRICS]

    def observe(route: str, outcome: str, seconds: float | None) -> None:
        metrics.routing_decisions.labels(metrics.route_label(route), outcome).inc()
        if seconds is not None:
            metrics.routing_seconds.observe(seconds)

    async def move(channel: str, agent: str) -> None:
        # One AMI session runs its actions in order: the variable is set before the
        # Redirect makes [cti-route] agent dial it.
        await actions.setvar(app[AMI], channel, "CTI_ROUTE_AGENT", agent)
        await actions.redirect(app[AMI], channel, "cti-route", "agent")

    async def pause(interface: str, reason: str) -> None:
        await actions.queue_pause(app[AMI], interface, True, reason=reason)

    app[STATE].routed_wrapup_s = config.wrapup_s
    acd = Acd(config, app[STATE], app[DATABASE], move, pause, app[CLOCK], app[TASKS], observe)
    route_point = RoutePoint(
        acd,
        app[DATABASE],
        settings.center_region,
        settings.routing_agi_allowed,
        settings.routing_agi_secret,
    )
    try:
        server = await asyncio.start_server(
            route_point.handle,
            settings.routing_agi_host,
            settings.routing_agi_port,
            limit=ENVIRONMENT_LIMIT,
        )
    except OSError as exc:
        raise SettingsError(
            f"cannot listen for FastAGI on {settings.routing_agi_host}:"
            f"{settings.routing_agi_port} ({exc}); set CTI_ROUTING_AGI_PORT"
        ) from None
    app[SINKS].append(acd)
    app[TASKS].start("ACD", acd.run())
    yield
    server.close()
    await server.wait_closed()
    await app[TASKS].stop("ACD")
    await acd.close()
    if wrapup is not None:
        await wrapup.close()
