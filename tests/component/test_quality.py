"""Quality review on the live daemon: the weekly sample of recorded calls (per agent, kept,
topped up), scoring on the configured form, and each agent reading only their own reviews."""

from __future__ import annotations

from typing import Any

from harness import Daemon, handled_call, signed_in

from cti.keys import DATABASE

ALL_FIVE = {
    "Greeting and identification": 5,
    "Identity checked before account details": 5,
    "Accurate and complete information": 5,
    "Courtesy and empathy": 5,
    "Disposition and notes recorded": 5,
}


async def sample(session: Any) -> dict[str, set[str]]:
    async with session.get("/api/quality/sample") as r:
        assert r.status == 200, await r.text()
        calls = (await r.json())["calls"]
    by_agent: dict[str, set[str]] = {}
    for call in calls:
        by_agent.setdefault(call["agent"], set()).add(call["linkedid"])
    return by_agent


async def test_weekly_sample_reviews_and_who_sees_them(daemon: Daemon) -> None:
    ayla = [await handled_call(daemon, "SIP/1001") for _ in range(4)]
    declined = await handled_call(daemon, "SIP/1001", consent="declined")
    burak = [await handled_call(daemon, "SIP/1002")]
    boss, csrf = await signed_in(daemon, "boss")
    headers = {"X-CSRF-Token": csrf, "Origin": daemon.url}
    async with boss:
        first = await sample(boss)
        assert len(first["SIP/1001"]) == 3 and first["SIP/1001"] <= set(ayla)  # never declined
        assert first["SIP/1002"] == set(burak)
        assert await sample(boss) == first  # kept for the week, not redrawn on each look
        burak.append(await handled_call(daemon, "SIP/1002"))
        topped_up = await sample(boss)
        assert topped_up["SIP/1002"] == set(burak) and topped_up["SIP/1001"] == first["SIP/1001"]

        async with boss.get("/api/quality/form") as r:
            form = await r.json()
        assert {c["name"] for c in form["criteria"]} == set(ALL_FIVE) and form["scale"] == 5
        reviewed = sorted(first["SIP/1001"])[0]

        async def review(linkedid: str, marks: Any, comment: str = "") -> tuple[int, Any]:
            async with boss.post(
                "/api/quality/reviews",
                headers=headers,
                json={"linkedid": linkedid, "marks": marks, "comment": comment},
            ) as r:
                return r.status, await (r.json() if r.status == 201 else r.text())

        missing = dict(ALL_FIVE)
        del missing["Courtesy and empathy"]
        assert (await review(reviewed, missing))[0] == 400
        assert (await review(reviewed, ALL_FIVE | {"Courtesy and empathy": 6}))[0] == 400
        assert (await review(reviewed, ALL_FIVE | {"Courtesy and empathy": True}))[0] == 400
        status, text = await review(declined, ALL_FIVE)
        assert status == 400 and "only a recorded call" in text
        status, saved = await review(
            reviewed,
            ALL_FIVE | {"Courtesy and empathy": 2},
            "Verified identity well; <b>warmer</b> close please",
        )
        # (15·5 + 25·5 + 25·5 + 20·2 + 15·5) ÷ (5 · 100) = 440 ÷ 500
        assert status == 201 and saved["score"] == 88.0 and saved["agent"] == "SIP/1001"
        async with boss.get("/api/quality/sample") as r:
            scores = {c["linkedid"]: c["score"] for c in (await r.json())["calls"]}
        assert scores[reviewed] == 88.0

    ayla_session, _ = await signed_in(daemon, "agent1")
    async with ayla_session:
        async with ayla_session.get("/api/agent/reviews") as r:
            mine = await r.json()
        assert [(m["linkedid"], m["score"], m["reviewer"]) for m in mine] == [
            (reviewed, 88.0, "Selin Aydın")
        ]
        assert mine[0]["comment"].endswith("<b>warmer</b> close please")  # stored as given
        assert mine[0]["marks"]["Courtesy and empathy"] == 2
        async with ayla_session.get("/api/quality/reviews") as r:
            assert r.status == 403  # the whole center's reviews are for supervisors
    burak_session, _ = await signed_in(daemon, "agent2")
    async with burak_session, burak_session.get("/api/agent/reviews") as r:
        assert await r.json() == []


async def test_a_review_without_every_mark_is_refused_and_calls_are_named(daemon: Daemon) -> None:
    """The server refuses a review whose marks are missing, whatever the form sent (an
    untouched form, a criterion left out, a mark left empty): a missing mark is not a zero.
    Calls and reviews carry the agent's name as people know it, not the phone."""
    linkedid = await handled_call(daemon, "SIP/1001")
    boss, csrf = await signed_in(daemon, "boss")
    headers = {"X-CSRF-Token": csrf, "Origin": daemon.url}
    pool = await daemon.app[DATABASE].pool()
    async with boss:
        for body, complaint in [
            ({"linkedid": linkedid, "comment": ""}, "marks must give each criterion"),
            ({"linkedid": linkedid, "marks": {}}, "not marked: Greeting and identification,"),
            (
                {"linkedid": linkedid, "marks": {"Courtesy and empathy": 3}},
                "not marked: Greeting and identification, Identity checked before account"
                " details, Accurate and complete information, Disposition and notes recorded",
            ),
            (
                {"linkedid": linkedid, "marks": ALL_FIVE | {"Courtesy and empathy": None}},
                "mark every criterion; not marked: Courtesy and empathy",
            ),
            (
                {"linkedid": linkedid, "marks": ALL_FIVE | {"Smile": 5}},
                "not criteria of the form: Smile",
            ),
            (
                {"linkedid": linkedid, "marks": ALL_FIVE | {"Courtesy and empathy": ""}},
                "must be a whole number from 0 to 5",
            ),
        ]:
            async with boss.post("/api/quality/reviews", headers=headers, json=body) as r:
                assert (r.status, complaint in await r.text()) == (400, True), body
        assert await pool.fetchval("SELECT count(*) FROM quality_reviews") == 0

        async with boss.get("/api/quality/sample") as r:
            (sampled,) = (await r.json())["calls"]
        assert (sampled["agent"], sampled["agent_name"]) == ("SIP/1001", "Ayla Demir")
        assert (sampled["caller_name"], sampled["caller_number"]) == ("Fatma Demir", "905321112233")
        async with boss.get(f"/api/quality/calls/{linkedid}") as r:
            call = await r.json()
        assert call["agent_name"] == "Ayla Demir" and call["has_recording"] is True
        assert call["started_at"] == sampled["started_at"]
        async with boss.get("/api/quality/calls/1.2345") as r:
            assert r.status == 404 and "no call" in await r.text()

        async with boss.post(
            "/api/quality/reviews", headers=headers, json={"linkedid": linkedid, "marks": ALL_FIVE}
        ) as r:
            saved = await r.json()
        assert (r.status, saved["agent_name"], saved["score"]) == (201, "Ayla Demir", 100.0)
        async with boss.get("/api/quality/reviews") as r:
            (review,) = await r.json()
        assert (review["agent_name"], review["caller_name"]) == ("Ayla Demir", "Fatma Demir")
