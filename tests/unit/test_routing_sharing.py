"""The ACD shares its agents with Asterisk's plain queues: longest waiting first across both.
An agent owed to a queue caller who has waited longer than a held call is left to app_queue;
a call that has waited at least as long may take them; priorities order held calls only."""

from __future__ import annotations

from cti.routing.policy import (
    Decision,
    Policy,
    QueueWait,
    RoutingAgent,
    WaitingCall,
    decide,
    skill_levels,
)

NOW = 1_700_000_000.0
SKILLS = skill_levels({"collections": 3})


def agent(
    interface: str, *, idle_s: float = 0, queue_wait_s: float | None = None, queue: str = "sales"
) -> RoutingAgent:
    """A ready agent; ``queue_wait_s``: a caller in ``queue`` has waited that long, unrung."""
    wait = None if queue_wait_s is None else QueueWait(queue, NOW - queue_wait_s)
    return RoutingAgent(interface, SKILLS, True, NOW - idle_s, 0, wait)


def call(
    call_id: str,
    *,
    waited_s: float,
    priority: int = 0,
    preferred: str | None = None,
    sticky_s: float | None = None,
) -> WaitingCall:
    sticky_until = None if sticky_s is None else NOW + sticky_s
    return WaitingCall(
        call_id, skill_levels({"collections": 2}), priority, NOW - waited_s, preferred, sticky_until
    )


def given(decisions: tuple[Decision, ...]) -> dict[str, str | None]:
    return {d.call_id: d.agent for d in decisions}


def test_an_agent_owed_to_a_longer_waiting_queue_caller_is_left_to_the_queue() -> None:
    (decision,) = decide([agent("SIP/1003", queue_wait_s=40)], [call("held", waited_s=30)], NOW)
    assert decision.agent is None
    assert decision.reason == (
        "ready agents with collections>=2 are left to callers who waited longer in queue sales"
    )
    (candidate,) = decision.considered
    assert not candidate.eligible
    assert candidate.why.startswith("left to queue sales: a caller there has waited longer")


def test_a_call_that_waited_at_least_as_long_takes_the_agent() -> None:
    for waited_s in (40, 41):
        (decision,) = decide(
            [agent("SIP/1003", queue_wait_s=40)], [call("held", waited_s=waited_s)], NOW
        )
        assert decision.agent == "SIP/1003", waited_s


def test_a_held_call_goes_to_an_agent_no_older_caller_is_owed() -> None:
    # SIP/1003 has been idle longer (the policy's choice) but a sales caller waits for them.
    agents = [agent("SIP/1003", idle_s=90, queue_wait_s=40), agent("SIP/1001", idle_s=5)]
    (decision,) = decide(agents, [call("held", waited_s=30)], NOW, Policy.LONGEST_IDLE)
    assert decision.agent == "SIP/1001"


def test_priority_orders_held_calls_but_does_not_outrank_an_older_queue_caller() -> None:
    # The VIP call comes first among held calls, but the queue caller has waited longer
    # than it; the older held call has waited longer than the queue caller, and may.
    calls = [call("vip", waited_s=10, priority=5), call("old", waited_s=60)]
    decisions = decide([agent("SIP/1003", queue_wait_s=40)], calls, NOW)
    assert [d.call_id for d in decisions] == ["vip", "old"]
    assert given(decisions) == {"vip": None, "old": "SIP/1003"}
    # With an agent nobody else is owed, the VIP call is served first as usual.
    decisions = decide([agent("SIP/1003", queue_wait_s=40), agent("SIP/1001")], calls, NOW)
    assert given(decisions) == {"vip": "SIP/1001", "old": "SIP/1003"}


def test_a_sticky_call_waits_for_its_agent_while_a_queue_caller_has_them() -> None:
    (decision,) = decide(
        [agent("SIP/1003", queue_wait_s=40), agent("SIP/1001")],
        [call("back", waited_s=5, preferred="SIP/1003", sticky_s=20)],
        NOW,
    )
    assert decision.agent is None
    assert decision.reason.startswith("waiting for last agent SIP/1003 (left to queue sales:")
