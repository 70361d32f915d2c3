"""Customer records from the agent's pop, and the agent's home page.

Any agent may read and create customers (whoever answers may need them); notes belong to a
call the agent took or is taking; unmasking a national ID number is tied to such a call, only
for the customer who is that call's caller (one of the customer's numbers is the call's
caller number), and audited. Validation errors are 400 with the reason, in the agent's words.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from cti.customers import records
from cti.customers.records import CustomerError
from cti.http.agent import call_id, json_body, require_call
from cti.http.security import route, session_of
from cti.keys import CLOCK, DATABASE, SETTINGS, STATE
from cti.phone import to_e164
from cti.state import views

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _refusing_bad_input(handler: Handler) -> Handler:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except CustomerError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None

    return wrapped


def _customer_id(request: web.Request) -> int:
    return int(request.match_info["customer_id"])


def _linkedid(body: dict[str, Any]) -> str | None:
    value = body.get("linkedid")
    return None if value is None or value == "" else call_id(value)


async def home(request: web.Request) -> web.Response:
    user = session_of(request).user
    now = datetime.now(UTC)
    day_start = request.app[CLOCK].midnight(now)
    pool = await request.app[DATABASE].pool()
    page = await records.agent_home(pool, user.id, list(user.interfaces), day_start, now)
    return web.json_response(page)


@_refusing_bad_input
async def add_note(request: web.Request) -> web.Response:
    user = session_of(request).user
    linkedid = request.match_info["linkedid"]
    await require_call(request, user, linkedid)
    body = await json_body(request)
    customer_id = body.get("customer_id")
    if customer_id is not None and not isinstance(customer_id, int):
        raise web.HTTPBadRequest(text="customer_id must be a number or null")
    pool = await request.app[DATABASE].pool()
    await records.add_note(
        pool,
        linkedid,
        user.id,
        customer_id,
        body.get("disposition"),
        body.get("text"),
        request.app[SETTINGS].center_dispositions,
        datetime.now(UTC),
    )
    return web.json_response({"saved": True}, status=201)


@_refusing_bad_input
async def create_customer(request: web.Request) -> web.Response:
    body = await json_body(request)
    pool = await request.app[DATABASE].pool()
    card = await records.create_customer(pool, request.app[SETTINGS].center_region, body)
    return web.json_response(card, status=201)


@_refusing_bad_input
async def add_promise(request: web.Request) -> web.Response:
    user = session_of(request).user
    body = await json_body(request)
    zone = ZoneInfo(request.app[SETTINGS].center_timezone)
    pool = await request.app[DATABASE].pool()
    promise = await records.add_promise(
        pool,
        _customer_id(request),
        user.id,
        body.get("amount"),
        body.get("due_date"),
        _linkedid(body),
        datetime.now(zone),
    )
    return web.json_response(promise, status=201)


@_refusing_bad_input
async def add_callback(request: web.Request) -> web.Response:
    user = session_of(request).user
    body = await json_body(request)
    pool = await request.app[DATABASE].pool()
    callback = await records.add_callback(
        pool,
        _customer_id(request),
        user.id,
        body.get("due_at"),
        body.get("reason"),
        _linkedid(body),
        datetime.now(UTC),
    )
    return web.json_response(callback, status=201)


@_refusing_bad_input
async def verify(request: web.Request) -> web.Response:
    """The agent has verified the caller's identity: show the full ID number (audited)."""
    user = session_of(request).user
    linkedid = _linkedid(await json_body(request))
    if linkedid is None:
        raise web.HTTPBadRequest(text="identity is verified on a call: linkedid is required")
    await require_call(request, user, linkedid)
    customer_id = _customer_id(request)
    pool = await request.app[DATABASE].pool()
    # The call in progress (its caller is not in the call log yet), else the logged call.
    live = views.call(request.app[STATE], linkedid)
    if live is not None:
        caller = to_e164(live.caller_number, request.app[SETTINGS].center_region)
    else:
        caller = await pool.fetchval("SELECT caller_e164 FROM calls WHERE linkedid = $1", linkedid)
    if not await records.has_number(pool, customer_id, caller):
        raise web.HTTPForbidden(
            text="this customer is not the caller of that call; verify a customer's identity "
            "on a call from one of their own numbers"
        )
    national_id = await records.reveal_national_id(pool, customer_id, user.id, linkedid)
    return web.json_response({"national_id": national_id})


@_refusing_bad_input
async def find_customers(request: web.Request) -> web.Response:
    """Customers by name part, phone number, national ID's last digits or customer number."""
    text = request.query.get("q", "")
    if len(text) > 200:
        raise web.HTTPBadRequest(text="the search is longer than 200 characters")
    pool = await request.app[DATABASE].pool()
    found = await records.search(pool, text, request.app[SETTINGS].center_region)
    return web.json_response(found)


async def customer_card(request: web.Request) -> web.Response:
    """One customer's card outside a call (the ID number masked)."""
    pool = await request.app[DATABASE].pool()
    try:
        return web.json_response(await records.card(pool, _customer_id(request)))
    except CustomerError:
        raise web.HTTPNotFound(text="no such customer; search again") from None


def add_routes(app: web.Application) -> None:
    customer = r"/api/customers/{customer_id:[0-9]{1,18}}"
    app.router.add_get("/api/agent/home", route("agent", home))
    app.router.add_post(r"/api/calls/{linkedid:[0-9.]{1,40}}/notes", route("agent", add_note))
    app.router.add_get("/api/customers", route("agent", find_customers))
    app.router.add_post("/api/customers", route("agent", create_customer))
    app.router.add_get(customer, route("agent", customer_card))
    app.router.add_post(customer + "/promises", route("agent", add_promise))
    app.router.add_post(customer + "/callbacks", route("agent", add_callback))
    app.router.add_post(customer + "/verify", route("agent", verify))
