"""Every ``web.AppKey`` of the application, in one place."""

from __future__ import annotations

from aiohttp import web

from cti.ami.connection import AmiClient
from cti.auth.ratelimit import AttemptLimiter
from cti.auth.users import SessionStore
from cti.calllog.reconcile import Reconciler
from cti.calllog.writer import CallLogWriter
from cti.clock import CenterClock
from cti.customers.dispositions import OwedDispositions
from cti.database import Database
from cti.http.answered import AnsweredLately
from cti.metrics import Metrics
from cti.pipeline import Pipeline, Sink
from cti.push.hub import Hub
from cti.settings import Settings
from cti.state.store import CtiState
from cti.supervision.today import TodayTallies
from cti.supervision.wallboard import AlertLog
from cti.tasks import Tasks

SETTINGS = web.AppKey("settings", Settings)
PIPELINE = web.AppKey("pipeline", Pipeline)
AMI = web.AppKey("ami", AmiClient)
DATABASE = web.AppKey("database", Database)
CALL_LOG = web.AppKey("call_log", CallLogWriter)
STATE = web.AppKey("state", CtiState)
METRICS = web.AppKey("metrics", Metrics)
SESSIONS = web.AppKey("sessions", SessionStore)
LOGIN_LIMITER = web.AppKey("login_limiter", AttemptLimiter)
HUB = web.AppKey("hub", Hub)
TASKS = web.AppKey("tasks", Tasks)
RECONCILER = web.AppKey("reconciler", Reconciler)
CLOCK = web.AppKey("clock", CenterClock)
ANSWERED_LATELY = web.AppKey("answered_lately", AnsweredLately)  # cti/http/agent.py
OWED_DISPOSITIONS = web.AppKey("owed_dispositions", OwedDispositions)  # cti/customers
TODAY = web.AppKey("today", TodayTallies)  # today's queue figures (cti/supervision)
ALERTS = web.AppKey("alerts", AlertLog)  # the wallboard's alerts lately (cti/supervision)
# The features' pipeline sinks, registered as they start (cti/app.py).
SINKS = web.AppKey("sinks", list[Sink])
