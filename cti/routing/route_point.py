"""The route point: Asterisk asks over FastAGI which agent takes a call.

The dialplan (dialplan/extensions_cti.conf, [cti-route]) runs
``AGI(agi://<daemon>:4573/route,<route name>)``; we answer by setting channel variables:

- ``CTI_ROUTE``: ``agent`` (dial ``CTI_ROUTE_AGENT`` for ``CTI_ROUTE_RING_S`` seconds),
  ``hold`` (nobody fits now: wait in the route's holding queue until the ACD moves the call
  to an agent, cti/routing/acd.py), or ``queue`` (an unknown route: the plain queue);
- ``CTI_ROUTE_PRIORITY``: the call's priority, which the dialplan also gives the queues
  (``QUEUE_PRIO``), so the safety net keeps the order the ACD would have used.

Only Asterisk may ask: a connection from an address outside ``allowed``
(CTI_ROUTING_AGI_ALLOWED) is closed unread, and with a ``secret`` (CTI_ROUTING_AGI_SECRET)
the route point first asks Asterisk for the dialplan's global ``CTI_AGI_SECRET`` with
``GET VARIABLE`` and answers only if it matches. The secret is asked for rather than passed
as an AGI argument: arguments are application data, which Asterisk shows in its verbose log,
in AMI Newexten events and in the CDR's lastdata and CEL's appdata. A refused peer gets no
command at all; for Asterisk itself (a misconfigured secret) that means no CTI_ROUTE, so its
dialplan takes the plain queue: a configuration mistake never hangs up a caller.

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
import hmac
import ipaddress
import logging
import re
import time
from collections.abc import Sequence

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
SECRET_VARIABLE = "CTI_AGI_SECRET"  # the dialplan's global (dialplan/extensions_cti.conf)
SECRET_PLACEHOLDER = "change-me-cti-agi-secret"  # as the repository's dialplan ships it
REFUSAL_LOG_EVERY_S = 10.0  # a scan of the port must not flood the log
_VALUE = re.compile(rb"200 result=1 \((.*)\)\r?\n")  # res_agi's answer to GET VARIABLE

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class RoutePoint:
    def __init__(
        self,
        acd: Acd,
        database: Database,
        region: str,
        allowed: Sequence[str] = ("127.0.0.1", "::1"),
        secret: str = "",
    ) -> None:
        self.acd = acd
        self.config = acd.config
        self.database = database
        self.region = region
        self.allowed: tuple[Network, ...] = tuple(
            ipaddress.ip_network(item, strict=False) for item in allowed
        )
        self.secret = secret
        self.refused = 0  # connections refused since start
        self._last_refusal_log = -REFUSAL_LOG_EVERY_S

    # --- the AGI conversation -----------------------------------------------------------

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = _peer_address(writer)
        try:
            if peer is None or not any(peer in network for network in self.allowed):
                self._refuse(peer, "not an address of CTI_ROUTING_AGI_ALLOWED")
                return
            environment = await self._environment(reader)
            if environment.get("agi_network_script", "").strip("/") != AGI_SCRIPT:
                log.warning(
                    "FastAGI request for %r refused: only %r is served here",
                    environment.get("agi_network_script"),
                    AGI_SCRIPT,
                )
                return
            if self.secret:
                problem = await self._secret_problem(reader, writer)
                if problem:
                    self._refuse(peer, problem)
                    return
            started = time.monotonic()
            variables, route, outcome = await self.answer(environment)
            request = Request(None, environment, reader, writer)
            for name, value in variables.items():
                await request.send_command(f'SET VARIABLE {name} "{value}"')
            if self.acd.observe is not None:
                self.acd.observe(route, outcome, time.monotonic() - started)
        except (
            TimeoutError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ConnectionError,
            ValueError,
        ) as exc:
            # ValueError: a line over the stream limit, or not UTF-8 (UnicodeDecodeError).
            # Asterisk gave up or the peer is not Asterisk: its dialplan falls back.
            log.warning("FastAGI conversation dropped (%s: %s)", type(exc).__name__, exc)
        finally:
            writer.close()

    async def _secret_problem(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> str | None:
        """Why the peer's CTI_AGI_SECRET is not ours, or None when it is."""
        writer.write(f"GET VARIABLE {SECRET_VARIABLE}\n".encode())
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), ENVIRONMENT_TIMEOUT_S)
        found = _VALUE.fullmatch(line)
        if found is None:
            return f"no {SECRET_VARIABLE} in its dialplan (set it as CTI_ROUTING_AGI_SECRET)"
        # compare_digest: the time taken does not tell how much of a guess was right.
        if hmac.compare_digest(found[1], self.secret.encode()):
            return None
        if found[1] == SECRET_PLACEHOLDER.encode():
            return f"its dialplan still has the placeholder {SECRET_VARIABLE}"
        return f"a wrong {SECRET_VARIABLE} (it must equal CTI_ROUTING_AGI_SECRET)"

    def _refuse(self, peer: Address | None, why: str) -> None:
        self.refused += 1
        if self.acd.observe is not None:  # the route is not known: its name is the peer's word
            self.acd.observe("unknown", "refused", None)
        now = time.monotonic()
        if now - self._last_refusal_log >= REFUSAL_LOG_EVERY_S:
            self._last_refusal_log = now
            log.warning(
                "FastAGI connection from %s refused: %s (%d refused since start; "
                "one line per %.0f s at most)",
                peer,
                why,
                self.refused,
                REFUSAL_LOG_EVERY_S,
            )

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
        now = self.acd.clock.now()
        preferred, owes = await self._customer_facts(environment.get("agi_callerid", ""))
        priority = route.priority + (1 if owes else 0)
        sticky_until = now + self.config.sticky_wait_s if preferred else None
        call = WaitingCall(linkedid, route.skills, priority, now, preferred, sticky_until)
        decision = self.acd.decide_new(call, name)
        variables = {
            "CTI_ROUTE_PRIORITY": str(priority),
            "CTI_ROUTE_RING_S": str(self.config.ring_s),
        }
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
                e164,
                STICKY_DAYS,
                timeout=CUSTOMER_DEADLINE_S,
            )
        except (
            TimeoutError,
            DatabaseUnavailable,
            OSError,
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
        ) as exc:
            log.warning("routing without the customer's history: %s", exc)
            return None, False
        threshold = self.config.debt_priority_over
        owes = threshold is not None and row["balance"] is not None and row["balance"] > threshold
        return row["last_agent"], owes


def _peer_address(writer: asyncio.StreamWriter) -> Address | None:
    """The peer's IP; an IPv4 peer of a dual-stack socket (::ffff:10.0.0.5) as IPv4."""
    peer = writer.get_extra_info("peername")
    try:
        address = ipaddress.ip_address(peer[0])
    except (TypeError, IndexError, ValueError):  # not a TCP peer
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
