"""The route point: Asterisk asks over FastAGI which agent takes a call.

The dialplan (dialplan/extensions_cti.conf, [cti-route]) runs
``AGI(agi://<daemon>:4573/route,<route name>)``; we answer by setting channel variables:

- ``CTI_ROUTE``: ``agent`` (dial ``CTI_ROUTE_AGENT`` for ``CTI_ROUTE_RING_S`` seconds),
  ``hold`` (nobody fits now: wait in the route's holding queue until the ACD moves the call
  to an agent, cti/routing/acd.py), or ``queue`` (an unknown route: the plain queue);
- ``CTI_ROUTE_PRIORITY``: the call's priority, which the dialplan also gives the queues
  (``QUEUE_PRIO``), so the safety net keeps the order the ACD would have used.

The decision is the ACD's (``Acd.decide_new``). The customer's last agent (sticky, waited for
up to ``sticky_wait_s``) and debt come from the call log within a short deadline, without
which the call is routed on skills alone. Whatever goes wrong here, the dialplan falls back
to the plain queue: a call is never lost because the daemon is away.

panoramisk's ``Request`` speaks the AGI conversation. Its ``Application.handler`` is not
used: in panoramisk 1.4 it reads the AGI environment in a loop that never ends when the
peer closes before the blank line (``read`` returns b"" forever), and it has no size limit.
"""

from __future__ import annotations

import asyncio
import logging
import time

import asyncpg
from panoramisk.fast_agi import Request

from cti.database import Database, DatabaseUnavailable
from cti.phone import to_e164
from cti.routing.acd import Acd
from cti.routing.policy import WaitingCall

log = logging.getLogger(__name__)

AGI_SCRIPT = "route"
ENVIRONMENT_LIMIT = 16 * 1024  # Asterisk sends about 1 KB of agi_* lines
ENVIRONMENT_TIMEOUT_S = 2.0
CUSTOMER_DEADLINE_S = 0.3  # the caller is waiting: route on skills alone past this
STICKY_DAYS = 30


class RoutePoint:
    def __init__(self, acd: Acd, database: Database, region: str) -> None:
        self.acd = acd
        self.config = acd.config
        self.database = database
        self.region = region

    # --- the AGI conversation -----------------------------------------------------------

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            environment = await self._environment(reader)
            if environment.get("agi_network_script", "").strip("/") != AGI_SCRIPT:
                log.warning("FastAGI request for %r refused: only %r is served here",
                            environment.get("agi_network_script"), AGI_SCRIPT)  # fmt: skip
                return
            started = time.monotonic()
            variables, route, outcome = await self.answer(environment)
            request = Request(None, environment, reader, writer)
            for name, value in variables.items():
                await request.send_command(f'SET VARIABLE {name} "{value}"')
            if self.acd.observe is not None:
                self.acd.observe(route, outcome, time.monotonic() - started)
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ConnectionError, UnicodeDecodeError) as exc:  # fmt: skip
            # Asterisk gave up or the peer is not Asterisk: its dialplan falls back.
            log.warning("FastAGI conversation dropped (%s: %s)", type(exc).__name__, exc)
        finally:
            writer.close()

    @staticmethod
    async def _environment(reader: asyncio.StreamReader) -> dict[str, str]:
        # The server's stream limit (ENVIRONMENT_LIMIT) bounds what readuntil keeps.
        raw = await asyncio.wait_for(reader.readuntil(b"\n\n"), ENVIRONMENT_TIMEOUT_S)
        lines = raw.decode("utf-8").splitlines()
        return dict(line.split(": ", 1) for line in lines if ": " in line)

    # --- the decision -------------------------------------------------------------------

    async def answer(self, environment: dict[str, str]) -> tuple[dict[str, str], str, str]:
        """(variables to set, route name for metrics, outcome)."""
        name = environment.get("agi_arg_1", "")
        route = self.config.routes.get(name)
        if route is None:
            log.warning("route point asked for unknown route %r; the queue takes the call", name)
            return {"CTI_ROUTE": "queue", "CTI_ROUTE_PRIORITY": "0"}, "unknown", "queue"
        linkedid = environment.get("agi_uniqueid", "") or "unknown"
        now = time.time()
        preferred, owes = await self._customer_facts(environment.get("agi_callerid", ""))
        priority = route.priority + (1 if owes else 0)
        sticky_until = now + self.config.sticky_wait_s if preferred else None
        call = WaitingCall(linkedid, route.skills, priority, now, preferred, sticky_until)
        decision = self.acd.decide_new(call, name)
        variables = {"CTI_ROUTE_PRIORITY": str(priority),
                     "CTI_ROUTE_RING_S": str(self.config.ring_s)}  # fmt: skip
        if decision.agent is None:
            return variables | {"CTI_ROUTE": "hold"}, name, "hold"
        return variables | {"CTI_ROUTE": "agent", "CTI_ROUTE_AGENT": decision.agent}, name, "agent"

    async def _customer_facts(self, number: str) -> tuple[str | None, bool]:
        """(the caller's last agent, whether they owe more than the threshold)."""
        e164 = to_e164(number, self.region)
        if not e164:
            return None, False
        try:
            pool = await asyncio.wait_for(self.database.pool(), CUSTOMER_DEADLINE_S)
            row = await pool.fetchrow(
                "SELECT (SELECT agent FROM calls WHERE caller_e164 = $1 AND agent IS NOT NULL"
                "  AND answered_at > now() - make_interval(days => $2)"
                "  ORDER BY answered_at DESC LIMIT 1) AS last_agent,"
                " (SELECT max(c.balance) FROM customers c JOIN customer_phones p"
                "  ON p.customer_id = c.id WHERE p.e164 = $1) AS balance",
                e164, STICKY_DAYS, timeout=CUSTOMER_DEADLINE_S)  # fmt: skip
        except (TimeoutError, DatabaseUnavailable, OSError, asyncpg.PostgresError,
                asyncpg.InterfaceError) as exc:  # fmt: skip
            log.warning("routing without the customer's history: %s", exc)
            return None, False
        threshold = self.config.debt_priority_over
        owes = threshold is not None and row["balance"] is not None and row["balance"] > threshold
        return row["last_agent"], owes
