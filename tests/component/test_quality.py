"""Quality review on the live daemon: the weekly sample of recorded calls (per agent, kept,
topped up), scoring on the configured form, and each agent reading only their own reviews."""

from __future__ import annotations

from typing import Any

from harness import Daemon, handled_call, signed_in

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
