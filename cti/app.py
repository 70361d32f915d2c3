"""Build the aiohttp application: the core, and the features composed on it.

aiohttp owns the process and every resource's lifetime. Each resource enters through
``cleanup_ctx`` as an async generator with one ``yield``: what comes before starts it, what
comes after stops it, in reverse order. The order is the data flow:

1. the database (and the sessions kept in it);
2. the features (``FEATURES``), each a package whose ``plugin.setup(app)`` adds its own
   context, routes and pipeline sinks (in the style of wazo-calld's plugins): the call log,
   customers, supervision, quality review, routing. A feature registers its sinks in
   ``app[SINKS]`` while it starts, so the pipeline is built whole, never patched afterwards;
3. the pipeline: the AMI events in order through the state core to the hub (screen-pops
   first), the features' sinks and the metrics;
4. the AMI link, which feeds the pipeline.

Every background task is started through the one owner, ``Tasks`` (cti/tasks.py), under a
name; one that dies makes the daemon unready and, under ``cti serve``, stops it with a
non-zero status. Shutdown runs the list backwards and drains: the AMI link stops, the
pipeline hands its last changes to the sinks, then the call log writes what it holds into
the database or the spool.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence

from aiohttp import web

from cti.ami.connection import AmiAuthError, AmiClient, AmiConfig
from cti.ami.events import Tick
from cti.auth.ratelimit import AttemptLimiter
from cti.auth.users import SessionStore
from cti.calllog import plugin as call_log
from cti.campaigns import plugin as campaigns
from cti.clock import CenterClock
from cti.collection import collect_in_short_walks
from cti.customers import plugin as customers
from cti.database import Database
from cti.http import agent, auth
from cti.http.refusals import refusals_in_the_users_language
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
    SINKS,
    STATE,
    TASKS,
)
from cti.metrics import LiveSources, Metrics
from cti.pipeline import Pipeline
from cti.push import ws
from cti.push.hub import Hub
from cti.quality import plugin as quality
from cti.routing import plugin as routing
from cti.settings import Settings
from cti.state.store import CtiState
from cti.supervision import plugin as supervision
from cti.tasks import Tasks

log = logging.getLogger(__name__)

CleanupCtx = Callable[[web.Application], AsyncIterator[None]]
# In this order their contexts start and their sinks follow the hub in the pipeline.
FEATURES = (call_log, customers, supervision, quality, routing, campaigns)
# How long startup waits for the first AMI login, so a wrong secret stops `cti serve`
# at once while an Asterisk that is merely not up yet is retried in the background.
AMI_STARTUP_WAIT_S = 5.0
TICK_INTERVAL_S = 1.0


async def database_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    database = await Database.open(settings.database_url, settings.data_dir)
    app[DATABASE] = database
    app[SESSIONS] = SessionStore(database, settings.session_hours * 3600)
    yield
    await database.close()


async def pipeline_ctx(app: web.Application) -> AsyncIterator[None]:
    metrics, hub = app[METRICS], app[HUB]
    # The hub first: a screen-pop must not wait behind the call log or the metrics.
    pipeline = Pipeline(app[STATE], [hub, *app[SINKS], metrics], on_lag=metrics.event_lag.observe)
    app[PIPELINE] = pipeline

    async def tick() -> None:
        loop = asyncio.get_running_loop()
        while True:
            asleep = loop.time()
            await asyncio.sleep(TICK_INTERVAL_S)
            metrics.loop_lag.observe(max(0.0, loop.time() - asleep - TICK_INTERVAL_S))
            pipeline.submit_event(Tick(ts=app[CLOCK].now()))

    app[TASKS].start("pipeline", pipeline.run())
    app[TASKS].start("clock tick", tick())
    app[TASKS].start("garbage collection", collect_in_short_walks())
    yield
    await app[TASKS].stop("pipeline", "clock tick", "garbage collection")
    await pipeline.drain()  # what arrived before shutdown still reaches the sinks
    await hub.close()


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


def create_app(
    settings: Settings, before: Sequence[CleanupCtx] = (), after: Sequence[CleanupCtx] = ()
) -> web.Application:
    """The daemon's application; ``before`` runs first (the demo's simulator), ``after``
    once the core is up (the demo's seed data)."""
    # aiohttp runs the middlewares in the order listed, each wrapping the ones after it: the
    # refusals' translation comes first so that it sees authorize's refusals too.
    app = web.Application(
        middlewares=[refusals_in_the_users_language, authorize], client_max_size=1 << 20
    )
    app[SETTINGS] = settings
    tasks = app[TASKS] = Tasks()
    app[CLOCK] = CenterClock.named(settings.center_timezone)

    async def started(app: web.Application) -> None:
        tasks.arm()

    app.on_startup.append(started)  # after every cleanup_ctx has started
    app[LOGIN_LIMITER] = AttemptLimiter()
    state = app[STATE] = CtiState()
    metrics = app[METRICS] = Metrics(state, settings.center_timezone, settings.center_pause_reasons)
    app[HUB] = Hub(
        state,
        tasks,
        on_pop_written=metrics.screen_pop_latency.observe,
        arrival=lambda: app[PIPELINE].received_at,
    )
    app[SINKS] = []
    app.on_response_prepare.append(add_security_headers)
    app.cleanup_ctx.extend([*before, database_ctx])
    add_routes(app)
    auth.add_routes(app)
    agent.add_routes(app)
    ws.add_routes(app)
    for feature in FEATURES:
        feature.setup(app)
    app.cleanup_ctx.extend([pipeline_ctx, ami_ctx, *after])
    return app
