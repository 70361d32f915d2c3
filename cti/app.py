"""Build the aiohttp application; aiohttp owns the process and every resource's lifetime.

Each resource enters through ``cleanup_ctx`` as an async generator with one ``yield``: what
comes before starts it, what comes after stops it, in reverse order. Every background task
is started here through the one owner, ``Tasks`` (cti/tasks.py), under a name, and stopped by
name on shutdown; a task that dies makes the daemon unready and, under ``cti serve``, stops it
with a non-zero status. Shutdown drains: the pipeline hands its last changes to the sinks,
and the call-log writer puts what it holds into the database or the spool.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from aiohttp import web

from cti.ami import actions
from cti.ami.connection import AmiAuthError, AmiClient, AmiConfig
from cti.ami.events import Tick
from cti.auth.ratelimit import AttemptLimiter
from cti.auth.users import SessionStore
from cti.calllog.reconcile import Reconciler
from cti.calllog.spool import Spool
from cti.calllog.writer import CallLogWriter
from cti.clock import CenterClock
from cti.customers.crm import Crm
from cti.customers.records import find_by_number
from cti.database import Database
from cti.http import agent, auth, customers, supervisor
from cti.http import quality as quality_routes
from cti.http.security import add_security_headers, authorize
from cti.http.status import add_routes
from cti.keys import (
    AMI,
    CALL_LOG,
    CLOCK,
    DATABASE,
    HUB,
    LOGIN_LIMITER,
    METRICS,
    PIPELINE,
    RECONCILER,
    SESSIONS,
    SETTINGS,
    STATE,
    TASKS,
)
from cti.metrics import LiveSources, Metrics
from cti.pipeline import Pipeline, Sink
from cti.push import ws
from cti.push.hub import Hub
from cti.routing.acd import Acd
from cti.routing.config import RoutingConfigError, load_routing
from cti.routing.route_point import ENVIRONMENT_LIMIT, RoutePoint
from cti.settings import Settings, SettingsError
from cti.state.store import CtiState
from cti.tasks import Tasks
from cti.wallboard import Alert, watch_alerts
from cti.wrapup import WrapUp

log = logging.getLogger(__name__)

CleanupCtx = Callable[[web.Application], AsyncIterator[None]]
# How long startup waits for the first AMI login, so a wrong secret stops `cti serve`
# at once while an Asterisk that is merely not up yet is retried in the background.
AMI_STARTUP_WAIT_S = 5.0
TICK_INTERVAL_S = 1.0


async def database_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    database = await Database.open(settings.database_url, settings.data_dir)
    app[DATABASE] = database
    app[SESSIONS] = SessionStore(database, settings.session_hours * 3600)
    writer = CallLogWriter(
        database,
        Spool(settings.data_dir / "call-log.spool"),
        settings.center_region,
        on_write=app[METRICS].db_write.observe,
    )
    app[CALL_LOG] = writer

    async def lookup(number: str) -> list[dict[str, Any]]:
        return await find_by_number(await database.pool(), number, settings.center_region)

    app[HUB].lookup = lookup  # the pop shows at once; the customer card follows it
    if not await database.reachable():
        log.error("PostgreSQL is not reachable; calls are kept in the spool until it is")
    app[TASKS].start("call-log writer", writer.run())
    yield
    await app[TASKS].stop("call-log writer")
    await writer.drain()  # the pipeline has handed over its last changes by now
    await database.close()


async def crm_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    if not settings.crm_url:
        yield
        return
    try:
        crm = Crm(
            settings.crm_url, settings.crm_timeout_s, settings.crm_token, settings.center_region
        )
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    app[HUB].crm = crm.lookup
    yield
    await crm.close()


async def pipeline_ctx(app: web.Application) -> AsyncIterator[None]:
    metrics = app[METRICS]
    hub = app[HUB]
    # The hub first: a screen-pop must not wait behind the call log or the metrics.
    sinks: list[Sink] = [hub, app[CALL_LOG], metrics]
    wrapup = None
    settings = app[SETTINGS]
    wrapup_by_queue = settings.wrapup_s_by_queue
    # With the ACD on, even with no wrap-up set: its calls need Asterisk's wrapuptime held
    # by a pause (cti/wrapup.py).
    if (
        settings.routing_file
        or settings.center_wrapup_s > 0
        or any(s > 0 for s in wrapup_by_queue.values())
    ):

        async def pause(interface: str, paused: bool, reason: str) -> None:
            await actions.queue_pause(app[AMI], interface, paused, reason=reason)

        wrapup = WrapUp(app[STATE], pause, app[TASKS], settings.center_wrapup_s, wrapup_by_queue)
        sinks.append(wrapup)
    state = app[STATE]

    def interface_of(member_name: str) -> str:
        """The interface of the queue member Asterisk's queue_log names by member name."""
        for member in state.agents.values():
            if member.member_name == member_name:
                return member.interface
        return member_name

    # After every resync: calls that ended while we were away, from Asterisk's own records.
    writer = app[CALL_LOG]
    reconciler = Reconciler(
        app[DATABASE],
        settings.center_region,
        app[CLOCK].now,
        interface_of,
        lambda: writer.spool_depth,
    )
    app[RECONCILER] = reconciler
    sinks.append(reconciler)
    pipeline = Pipeline(state, sinks, on_lag=metrics.event_lag.observe)
    app[PIPELINE] = pipeline

    async def tick() -> None:
        while True:
            await asyncio.sleep(TICK_INTERVAL_S)
            pipeline.submit_event(Tick(ts=app[CLOCK].now()))

    app[TASKS].start("pipeline", pipeline.run())
    app[TASKS].start("clock tick", tick())
    app[TASKS].start("reconciler", reconciler.run())
    yield
    await app[TASKS].stop("reconciler", "pipeline", "clock tick")
    await pipeline.drain()  # what arrived before shutdown still reaches the sinks
    await hub.close()
    if wrapup is not None:
        await wrapup.close()


async def ami_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    settings.require_ami_login()
    pipeline = app[PIPELINE]
    config = AmiConfig(
        settings.ami_host,
        settings.ami_port,
        settings.ami_username,
        settings.ami_secret,
        ping_interval=settings.ami_ping_interval,
        ping_timeout=min(5.0, settings.ami_ping_interval),
    )
    client = AmiClient(
        config, pipeline.submit_message, pipeline.submit_event, exit_on_auth_failure=True
    )
    app[AMI] = client
    writer = app[CALL_LOG]
    app[METRICS].attach(
        LiveSources(
            pipeline_depth=lambda: pipeline.depth,
            pipeline_errors=lambda: pipeline.stats.handler_errors,
            # Both count an "other"; added, not merged, so neither count hides the other.
            events_by_name=lambda: dict(pipeline.stats.by_event + Counter(client.skipped_events())),
            ami_connected=lambda: client.connected,
            ami_sessions=lambda: client.stats.sessions,
            ami_login_failures=lambda: client.stats.login_failures,
            spool_rows=lambda: writer.spool_depth,
            write_errors=lambda: writer.stats.write_errors,
            quarantined_rows=lambda: writer.stats.quarantined,
            reconciled_calls=lambda: app[RECONCILER].reconciled,
            database_up=lambda: writer.healthy,
            websocket_clients=lambda: len(app[HUB].clients),
            service_level_targets={},
        )
    )
    app[TASKS].start("AMI link", client.run())
    try:
        async with asyncio.timeout(AMI_STARTUP_WAIT_S):
            await asyncio.shield(client.first_login)
    except TimeoutError:
        log.warning("not logged in to AMI yet; retrying in the background")
    except AmiAuthError:
        await app[TASKS].stop("AMI link")
        raise
    client.exit_on_auth_failure = False  # from now on a refused login is retried
    yield
    await app[TASKS].stop("AMI link")


async def alerts_ctx(app: web.Application) -> AsyncIterator[None]:
    hub, metrics = app[HUB], app[METRICS]

    def publish(alert: Alert) -> None:
        if alert.raised:
            metrics.alerts_raised.labels(metrics.queue_label(alert.queue), alert.kind).inc()
        hub.to_supervisors({"type": "alert", **asdict(alert)})

    app[TASKS].start(
        "alert watcher", watch_alerts(app[SETTINGS], app[STATE], app[DATABASE], publish)
    )
    yield
    await app[TASKS].stop("alert watcher")


async def routing_ctx(app: web.Application) -> AsyncIterator[None]:
    """The FastAGI server Asterisk's route points ask (only with a routing file)."""
    settings, metrics = app[SETTINGS], app[METRICS]
    if not settings.routing_file:
        yield
        return
    try:
        config = load_routing(Path(settings.routing_file))
    except RoutingConfigError as exc:
        raise SettingsError(str(exc)) from None

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
    app[PIPELINE].sinks.append(acd)
    app[TASKS].start("ACD", acd.run())
    yield
    server.close()
    await server.wait_closed()
    await app[TASKS].stop("ACD")
    app[PIPELINE].sinks.remove(acd)
    await acd.close()


def create_app(
    settings: Settings, before: Sequence[CleanupCtx] = (), after: Sequence[CleanupCtx] = ()
) -> web.Application:
    """The daemon's application; ``before`` runs first (the demo's simulator), ``after``
    once the core is up (the demo's seed data)."""
    app = web.Application(middlewares=[authorize], client_max_size=1 << 20)
    app[SETTINGS] = settings
    tasks = app[TASKS] = Tasks()
    app[CLOCK] = CenterClock.named(settings.center_timezone)

    async def started(app: web.Application) -> None:
        tasks.arm()

    app.on_startup.append(started)  # after every cleanup_ctx has started
    app[LOGIN_LIMITER] = AttemptLimiter()
    state = CtiState()
    app[STATE] = state
    metrics = app[METRICS] = Metrics(state, settings.center_timezone, settings.center_pause_reasons)
    app[HUB] = Hub(state, on_pop_written=metrics.screen_pop_latency.observe)
    app.on_response_prepare.append(add_security_headers)
    app.cleanup_ctx.extend(before)
    app.cleanup_ctx.extend(
        [database_ctx, crm_ctx, pipeline_ctx, ami_ctx, alerts_ctx, routing_ctx, *after]
    )
    add_routes(app)
    auth.add_routes(app)
    agent.add_routes(app)
    customers.add_routes(app)
    supervisor.add_routes(app)
    quality_routes.add_routes(app)
    ws.add_routes(app)
    return app
