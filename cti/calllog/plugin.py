"""The call log as a feature: every call in PostgreSQL, with nothing lost.

Two pipeline sinks, each with its task: the writer (rows, batched, spooled to disk while the
database is away) and the reconciler (calls that ended while the daemon was away, from
Asterisk's own records). Its context runs after the database's and before the pipeline's, so
at shutdown the writer drains only once the pipeline has handed over its last changes.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from cti.calllog.reconcile import Reconciler
from cti.calllog.spool import Spool
from cti.calllog.writer import CallLogWriter
from cti.keys import CALL_LOG, CLOCK, DATABASE, METRICS, RECONCILER, SETTINGS, SINKS, STATE, TASKS
from cti.state import views

log = logging.getLogger(__name__)


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(call_log_ctx)


async def call_log_ctx(app: web.Application) -> AsyncIterator[None]:
    settings, database, tasks = app[SETTINGS], app[DATABASE], app[TASKS]
    writer = CallLogWriter(
        database,
        Spool(settings.data_dir / "call-log.spool"),
        settings.center_region,
        on_write=app[METRICS].db_write.observe,
    )
    reconciler = Reconciler(
        database,
        settings.center_region,
        app[CLOCK].now,
        lambda member_name: views.interface_of(app[STATE], member_name),
        lambda: writer.spool_depth,
        lambda linkedids: (
            writer.ends_held(linkedids)
            | {linkedid for linkedid in linkedids if views.follows(app[STATE], linkedid)}
        ),
    )
    app[CALL_LOG], app[RECONCILER] = writer, reconciler
    app[SINKS].extend([writer, reconciler])
    if not await database.reachable():
        log.error("PostgreSQL is not reachable; calls are kept in the spool until it is")
    tasks.start("call-log writer", writer.run())
    tasks.start("reconciler", reconciler.run())
    yield
    await tasks.stop("reconciler", "call-log writer")
    await writer.drain()
