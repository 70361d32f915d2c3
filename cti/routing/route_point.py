"""The route point: Asterisk asks over FastAGI which agent takes a call.

The dialplan (dialplan/extensions_cti.conf, [cti-route]) runs
``AGI(agi://<daemon>:4573/route,<route name>)``; we answer by setting channel variables:

- ``CTI_ROUTE``: ``agent`` (dial ``CTI_ROUTE_AGENT`` for ``CTI_ROUTE_RING_S`` seconds) or
  ``queue`` (nobody fits now: the plain Asterisk queue takes the call);
- ``CTI_ROUTE_PRIORITY``: the call's priority, which the dialplan also gives the queue
  (``QUEUE_PRIO``), so the safety net keeps the order the ACD would have used.

The decision itself is ``cti.routing.policy.decide`` over the live agents; the customer's
last agent (sticky) and debt come from the call log within a short deadline, without which
the call is routed on skills alone. Each decision is stored with its reason and the agents
considered, for supervisors. Whatever goes wrong here, the dialplan falls back to the queue:
a call is never lost because the daemon is away.

panoramisk's ``Request`` speaks the AGI conversation. Its ``Application.handler`` is not
used: in panoramisk 1.4 it reads the AGI environment in a loop that never ends when the
peer closes before the blank line (``read`` returns b"" forever), and it has no size limit.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import asyncpg
from panoramisk.fast_agi import Request

from cti.database import Database, DatabaseUnavailable
from cti.phone import to_e164
from cti.routing.config import RoutingConfig
from cti.routing.policy import Decision, RoutingAgent, WaitingCall, decide
from cti.state.changes import AgentState
from cti.state.store import CtiState

log = logging.getLogger(__name__)

AGI_SCRIPT = "route"
ENVIRONMENT_LIMIT = 16 * 1024  # Asterisk sends about 1 KB of agi_* lines
ENVIRONMENT_TIMEOUT_S = 2.0
CUSTOMER_DEADLINE_S = 0.3  # the caller is waiting: route on skills alone past this
STICKY_DAYS = 30


class RoutePoint:
    def __init__(self, config: RoutingConfig, state: CtiState, database: Database,
                 region: str, on_decision: Callable[[str, str, float], None] | None = None,
                 ) -> None:  # fmt: skip
        self.config = config
        self.state = state
        self.database = database
        self.region = region
        self.on_decision = on_decision  # (route, outcome, seconds) for the metrics
        self._writes: set[asyncio.Task[None]] = set()

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
            if self.on_decision is not None:
                self.on_decision(route, outcome, time.monotonic() - started)
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
        linkedid = environment.get("agi_uniqueid", "")
        number = environment.get("agi_callerid", "")
        now = time.time()
        preferred, owes = await self._customer_facts(number)
        priority = route.priority + (1 if owes else 0)
        # The last agent gets the call when free; waiting for them (sticky_until) needs the
        # holding queue the daemon redirects from, which is not built yet.
        call = WaitingCall(linkedid or "unknown", route.skills, priority, now, preferred)
        decision = decide(self._agents(), [call], now, self.config.policy)[0]
        self._store(linkedid, name, priority, decision)
        log.info("route %s call %s: %s", name, linkedid, decision.reason)
        if decision.agent is None:
            return {"CTI_ROUTE": "queue", "CTI_ROUTE_PRIORITY": str(priority)}, name, "queue"
        return {"CTI_ROUTE": "agent", "CTI_ROUTE_AGENT": decision.agent,
                "CTI_ROUTE_RING_S": str(self.config.ring_s),
                "CTI_ROUTE_PRIORITY": str(priority)}, name, "agent"  # fmt: skip

    def _agents(self) -> list[RoutingAgent]:
        clock = self.state.clock
        return [
            RoutingAgent(agent.interface, self.config.agent_skills.get(agent.interface, ()),
                         agent.derive_state(clock)[0] == AgentState.READY,
                         agent.state_since or 0.0, agent.calls_taken)
            for agent in self.state.agents.values()
        ]  # fmt: skip

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

    # --- the decision log ---------------------------------------------------------------

    def _store(self, linkedid: str, route: str, priority: int, decision: Decision) -> None:
        task = asyncio.get_running_loop().create_task(
            self._write(linkedid, route, priority, decision))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _write(self, linkedid: str, route: str, priority: int, decision: Decision) -> None:
        considered: list[dict[str, Any]] = [asdict(c) for c in decision.considered]
        try:
            pool = await self.database.pool()
            await pool.execute(
                "INSERT INTO routing_decisions (linkedid, route, priority, agent, reason,"
                " considered) VALUES ($1, $2, $3, $4, $5, $6)",
                linkedid, route, priority, decision.agent, decision.reason,
                json.dumps(considered))  # fmt: skip
        except (DatabaseUnavailable, OSError, asyncpg.PostgresError,
                asyncpg.InterfaceError) as exc:  # fmt: skip
            # The call was routed; only the explanation is lost, and the log line keeps it.
            log.warning("routing decision for %s not stored: %s", linkedid, exc)

    async def close(self) -> None:
        await asyncio.gather(*self._writes, return_exceptions=True)


async def decisions_for(pool: asyncpg.Pool, linkedid: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT decided_at, route, priority, agent, reason, considered FROM routing_decisions"
        " WHERE linkedid = $1 ORDER BY id", linkedid)  # fmt: skip
    return [{**dict(r), "decided_at": r["decided_at"].isoformat(),
             "considered": json.loads(r["considered"])} for r in rows]  # fmt: skip
