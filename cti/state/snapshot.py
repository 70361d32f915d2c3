"""A JSON-ready picture of the state for the panel and the API (pure)."""

from __future__ import annotations

from typing import Any

from cti.state.store import CtiState


def snapshot(state: CtiState) -> dict[str, Any]:
    now = state.clock
    return {
        "ami_connected": state.link_up,
        "clock": now,
        "queues": [
            {
                "name": q.name,
                "strategy": q.strategy,
                "service_level_s": q.service_level_s,
                "waiting": len(q.callers),
                "oldest_queued_at": q.oldest_queued_at(),
                "callers": [
                    {
                        "position": c.position,
                        "caller_number": c.caller_number,
                        "caller_name": c.caller_name,
                        "queued_at": c.queued_at,
                        "linkedid": c.linkedid,
                    }
                    for c in sorted(q.callers.values(), key=lambda c: c.position)
                ],
            }
            for q in sorted(state.queues.values(), key=lambda q: q.name)
        ],
        "agents": [
            {
                "interface": a.interface,
                "state_interface": a.state_interface,
                "name": a.member_name,
                "state": str(a.derive_state(now)[0]),
                "reason": a.derive_state(now)[1],
                "queues": sorted(a.memberships),
                "talking": a.talking,
                "state_since": a.state_since,
                "calls_taken": a.calls_taken,
            }
            for a in sorted(state.agents.values(), key=lambda a: a.interface)
        ],
        "calls": [
            {
                "linkedid": c.linkedid,
                "caller_number": c.caller_number,
                "caller_name": c.caller_name,
                "queue": c.queue,
                "agent": c.agent,
                "started_at": c.started_at,
                "answered_at": c.answered_at,
                "consent": c.consent,
            }
            for c in sorted(state.calls.values(), key=lambda c: c.started_at or 0)
            if not c.spy
        ],
    }
