"""Campaigns over HTTP: supervisors see each campaign's day, pause and resume it, fill its
list and keep the do-not-call list; admins create campaigns.

  GET  /api/campaigns                      each campaign with its figures today (supervisor)
  POST /api/campaigns                      a new campaign, paused (admin)
  POST /api/campaigns/{id}/paused          {"paused": bool} (supervisor)
  POST /api/campaigns/{id}/list            {"filter": ...} or {"csv": "..."} (supervisor)
  POST /api/do-not-call                    {"number", "reason"} (supervisor)
  POST /api/do-not-call/remove             {"number"} (supervisor)

A filter is one of {"balance_over": "1000.00"}, {"promise_due_today": true},
{"promise_broken": true}, {"not_reached_for_days": 30}. A refusal says what to change (400).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import asyncpg
from aiohttp import web

from cti.campaigns import lists
from cti.campaigns.rules import AttemptOutcome, CallingHours, RetryDelays
from cti.http.agent import json_body
from cti.http.security import route, session_of
from cti.keys import CLOCK, DATABASE, SETTINGS

# Dispositions (CTI_CENTER_DISPOSITIONS) of an answered call that did not reach the debtor.
NOT_THE_RIGHT_PARTY = ("Wrong number", "Answering machine")

# The outcomes a campaign gives a retry delay for (RetryDelays' fields).
RETRY_OUTCOMES = tuple(str(o) for o in AttemptOutcome if o is not AttemptOutcome.ANSWERED)

# Today's figures of every campaign, for the supervisor (the center's day: $1 its start, $2
# now, $3 NOT_THE_RIGHT_PARTY).
_FIGURES = """
SELECT c.id, c.name, c.paused, c.agents,
  (SELECT count(*) FROM campaign_entries e WHERE e.campaign_id = c.id) AS listed,
  (SELECT count(*) FROM campaign_entries e WHERE e.campaign_id = c.id AND e.status = 'open')
    AS still_open,
  (SELECT count(*) FROM campaign_entries e WHERE e.campaign_id = c.id AND e.status = 'open'
     AND coalesce(e.next_attempt_at, '-infinity') <= $2
     AND coalesce(e.taken_until, '-infinity') <= $2) AS due_now,
  k.attempts, k.contacts, k.right_party, k.promises, k.promised_by_currency
FROM campaigns c
LEFT JOIN LATERAL (
  SELECT count(*) AS attempts,
         count(*) FILTER (WHERE outcome IN ('answered', 'transferred')) AS contacts,
         count(*) FILTER (WHERE outcome IN ('answered', 'transferred') AND NOT EXISTS (
             SELECT 1 FROM call_notes n WHERE n.linkedid = k.linkedid
             AND n.disposition = ANY($3::text[]))) AS right_party,
         (SELECT count(*) FROM promises p WHERE p.linkedid = ANY(array_agg(k.linkedid)))
           AS promises,
         (SELECT coalesce(json_agg(json_build_object('currency', s.currency,
                   'amount', s.amount::text) ORDER BY s.n DESC, s.currency), '[]')
            FROM (SELECT p.currency, sum(p.amount) AS amount, count(*) AS n FROM promises p
                   WHERE p.linkedid = ANY(array_agg(k.linkedid)) GROUP BY p.currency) s)
           AS promised_by_currency
  FROM calls k WHERE k.campaign_id = c.id AND k.started_at >= $1
) k ON true
ORDER BY c.id
"""


async def campaigns(request: web.Request) -> web.Response:
    clock = request.app[CLOCK]
    now = datetime.fromtimestamp(clock.now(), UTC)
    day_start = clock.midnight(now.astimezone(clock.zone))
    pool = await request.app[DATABASE].pool()
    rows = await pool.fetch(_FIGURES, day_start, now, list(NOT_THE_RIGHT_PARTY))
    return web.json_response(
        [
            {
                "id": r["id"],
                "name": r["name"],
                "paused": r["paused"],
                "agents": list(r["agents"]),
                "listed": r["listed"],
                "open": r["still_open"],
                "due_now": r["due_now"],  # not waiting for a retry; calling hours apart
                "attempts_today": r["attempts"],
                "contacts_today": r["contacts"],
                # contacts with the debtor themselves, by the disposition: not a machine
                # or a wrong number (NOT_THE_RIGHT_PARTY)
                "right_party_today": r["right_party"],
                "promises_today": r["promises"],
                # [{"currency", "amount"}], one a currency (the customers' own may differ),
                # the currency of the most promises first.
                "promised_today_by_currency": json.loads(r["promised_by_currency"]),
            }
            for r in rows
        ]
    )


def _campaign_id(request: web.Request) -> int:
    return int(request.match_info["campaign_id"])


async def set_paused(request: web.Request) -> web.Response:
    paused = (await json_body(request)).get("paused")
    if not isinstance(paused, bool):
        raise web.HTTPBadRequest(text="paused must be true or false")
    pool = await request.app[DATABASE].pool()
    if not await lists.set_paused(pool, _campaign_id(request), paused):
        raise web.HTTPNotFound(text="no such campaign")
    return web.json_response({"paused": paused})


def _time(value: Any, name: str) -> time:
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise web.HTTPBadRequest(text=f"{name} must be a time such as 09:00") from None


def _whole(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise web.HTTPBadRequest(text=f"{name} must be a whole number")
    return value


def _settings(body: dict[str, Any]) -> tuple[CallingHours, RetryDelays, list[str]]:
    """Calling hours, retry delays and agents from a new campaign's body; 400 for values of
    the wrong kind (the rules then say what is out of range)."""
    weekdays, retry_s, agents = (
        body.get("weekdays", [1, 2, 3, 4, 5, 6]),
        body.get("retry_s", {}),
        body.get("agents", []),
    )
    if not isinstance(weekdays, list) or not all(isinstance(d, int) for d in weekdays):
        raise web.HTTPBadRequest(text="weekdays must be a list of days, 1 (Monday) to 7 (Sunday)")
    if not isinstance(retry_s, dict) or not set(retry_s) <= set(RETRY_OUTCOMES):
        outcomes = ", ".join(RETRY_OUTCOMES)
        raise web.HTTPBadRequest(text=f"retry_s may give seconds for: {outcomes}")
    if not isinstance(agents, list) or not all(isinstance(a, str) for a in agents):
        raise web.HTTPBadRequest(text="agents must be a list of phones, such as PJSIP/1001")
    try:
        hours = CallingHours(
            _time(body.get("calls_from", "09:00"), "calls_from"),
            _time(body.get("calls_until", "20:00"), "calls_until"),
            frozenset(weekdays),
        )
        delays = {o: timedelta(seconds=_whole(s, f"retry_s.{o}")) for o, s in retry_s.items()}
        return hours, RetryDelays(**delays), agents
    except ValueError as exc:  # the rules' own words: what is out of range
        raise web.HTTPBadRequest(text=str(exc)) from None


async def create(request: web.Request) -> web.Response:
    body = await json_body(request)
    hours, retry, agents = _settings(body)
    pool = await request.app[DATABASE].pool()
    try:
        campaign = await lists.create_campaign(
            pool,
            name=str(body.get("name", "")),
            caller_id=str(body.get("caller_id", "")),
            agent_interfaces=agents,
            hours=hours,
            max_attempts_per_day=_whole(
                body.get("max_attempts_per_day", 3), "max_attempts_per_day"
            ),
            max_attempts_total=_whole(body.get("max_attempts_total", 10), "max_attempts_total"),
            retry=retry,
        )
    except ValueError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    except asyncpg.UniqueViolationError:
        raise web.HTTPConflict(text="a campaign of that name exists") from None
    return web.json_response({"id": campaign.id, "paused": campaign.paused}, status=201)


def _filter(value: Any) -> lists.ListFilter:
    make = _FILTERS.get(next(iter(value))) if isinstance(value, dict) and len(value) == 1 else None
    if make is None:
        raise web.HTTPBadRequest(text=f"filter must name one of: {', '.join(_FILTERS)}")
    ((_, argument),) = value.items()
    try:
        chosen: lists.ListFilter = make(argument)
    except ValueError as exc:  # the filter's own words
        raise web.HTTPBadRequest(text=str(exc)) from None
    return chosen


def _amount(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError("the balance to exceed must be a number") from None


def _days(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("days not reached must be 1 to 3650")
    return value


_FILTERS: dict[str, Any] = {
    "balance_over": lambda amount: lists.BalanceOver(_amount(amount)),
    "promise_due_today": lambda _: lists.PromiseDueToday(),
    "promise_broken": lambda _: lists.PromiseBroken(),
    "not_reached_for_days": lambda days: lists.NotReachedFor(_days(days)),
}


async def fill_list(request: web.Request) -> web.Response:
    body = await json_body(request)
    settings, clock = request.app[SETTINGS], request.app[CLOCK]
    pool = await request.app[DATABASE].pool()
    campaign_id = _campaign_id(request)
    if await lists.get_campaign(pool, campaign_id) is None:
        raise web.HTTPNotFound(text="no such campaign")
    now = datetime.fromtimestamp(clock.now(), UTC)
    if isinstance(body.get("csv"), str):
        try:
            report = await lists.import_csv(
                pool, campaign_id, body["csv"], settings.center_region, settings.center_timezone
            )
        except ValueError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        errors = [{"line": line, "error": error} for line, error in report.errors]
        return web.json_response({"added": report.inserted, "errors": errors})
    added = await lists.build_list(
        pool, campaign_id, _filter(body.get("filter")), settings.center_timezone, now
    )
    return web.json_response({"added": added})


async def add_dnc(request: web.Request) -> web.Response:
    body = await json_body(request)
    number, reason = body.get("number"), body.get("reason")
    if not isinstance(number, str) or not isinstance(reason, str) or not reason.strip():
        raise web.HTTPBadRequest(text="give the number and the reason")
    pool = await request.app[DATABASE].pool()
    user = session_of(request).user
    try:
        e164 = await lists.add_dnc(
            pool, number, reason, user.id, request.app[SETTINGS].center_region
        )
    except ValueError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    return web.json_response({"number": e164}, status=201)


async def remove_dnc(request: web.Request) -> web.Response:
    number = (await json_body(request)).get("number")
    if not isinstance(number, str):
        raise web.HTTPBadRequest(text="give the number")
    pool = await request.app[DATABASE].pool()
    region = request.app[SETTINGS].center_region
    return web.json_response({"removed": await lists.remove_dnc(pool, number, region)})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/campaigns", route("supervisor", campaigns))
    app.router.add_post("/api/campaigns", route("admin", create))
    app.router.add_post(
        r"/api/campaigns/{campaign_id:\d{1,18}}/paused", route("supervisor", set_paused)
    )
    app.router.add_post(
        r"/api/campaigns/{campaign_id:\d{1,18}}/list", route("supervisor", fill_list)
    )
    app.router.add_post("/api/do-not-call", route("supervisor", add_dnc))
    app.router.add_post("/api/do-not-call/remove", route("supervisor", remove_dnc))
