"""Quality review over HTTP: supervisors score recorded calls and get the weekly sample;
an agent reads the reviews of their own calls."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from aiohttp import web

from cti.http.agent import call_id, json_body
from cti.http.security import route, session_of
from cti.http.status import WEB_DIR
from cti.keys import DATABASE, SETTINGS
from cti.quality import reviews as quality


def _form(request: web.Request) -> tuple[quality.Criterion, ...]:
    return request.app[SETTINGS].qa_form


async def quality_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(WEB_DIR / "quality.html")


async def form(request: web.Request) -> web.Response:
    return web.json_response(
        {"scale": quality.SCALE, "criteria": [asdict(c) for c in _form(request)]}
    )


async def sample(request: web.Request) -> web.Response:
    zone = ZoneInfo(request.app[SETTINGS].center_timezone)
    value = request.query.get("week")
    try:
        day = date.fromisoformat(value) if value else datetime.now(UTC).astimezone(zone).date()
    except ValueError:
        raise web.HTTPBadRequest(text="week must be a date, YYYY-MM-DD") from None
    week = quality.week_of(day)
    per_agent = request.app[SETTINGS].center_qa_sample_per_week
    calls = await quality.weekly_sample(await request.app[DATABASE].pool(), week, zone, per_agent)
    return web.json_response({"week": week.isoformat(), "calls": calls})


async def call_to_review(request: web.Request) -> web.Response:
    """One call to review (from the call history), as the sample lists its calls."""
    pool = await request.app[DATABASE].pool()
    call = await quality.call_to_review(pool, request.match_info["linkedid"])
    if call is None:
        raise web.HTTPNotFound(text="no call has this id")
    return web.json_response(call)


async def list_reviews(request: web.Request) -> web.Response:
    agent, linkedid = request.query.get("agent"), request.query.get("linkedid")
    found = await quality.reviews(
        await request.app[DATABASE].pool(), [agent] if agent else None, linkedid or None
    )
    return web.json_response(found)


async def add_review(request: web.Request) -> web.Response:
    body = await json_body(request)
    linkedid = call_id(body.get("linkedid"))
    try:
        review = await quality.add_review(
            await request.app[DATABASE].pool(),
            _form(request),
            linkedid,
            session_of(request).user.id,
            body.get("marks"),
            body.get("comment", ""),
        )
    except quality.ReviewError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    return web.json_response(review, status=201)


async def my_reviews(request: web.Request) -> web.Response:
    user = session_of(request).user
    found = await quality.reviews(
        await request.app[DATABASE].pool(), list(user.interfaces), limit=20
    )
    return web.json_response(found)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/quality", route("supervisor", quality_page))
    app.router.add_get("/api/quality/form", route("supervisor", form))
    app.router.add_get("/api/quality/sample", route("supervisor", sample))
    app.router.add_get(
        r"/api/quality/calls/{linkedid:[0-9.]{1,40}}", route("supervisor", call_to_review)
    )
    app.router.add_get("/api/quality/reviews", route("supervisor", list_reviews))
    app.router.add_post("/api/quality/reviews", route("supervisor", add_review))
    app.router.add_get("/api/agent/reviews", route("agent", my_reviews))
