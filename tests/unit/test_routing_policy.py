"""The pure ACD decision: hand-written cases, then properties over generated situations."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cti.routing.policy import (
    Decision,
    Policy,
    RoutingAgent,
    WaitingCall,
    decide,
    parse_skills,
    skill_levels,
)

NOW = 1_700_000_000.0


def agent(
    interface: str,
    skills: dict[str, int] | None = None,
    *,
    available: bool = True,
    idle_s: float = 0,
    calls: int = 0,
) -> RoutingAgent:
    return RoutingAgent(interface, skill_levels(skills or {}), available, NOW - idle_s, calls)


def call(
    call_id: str,
    needs: dict[str, int] | None = None,
    *,
    priority: int = 0,
    waited_s: float = 0,
    preferred: str | None = None,
    sticky_s: float | None = None,
) -> WaitingCall:
    sticky_until = None if sticky_s is None else NOW + sticky_s
    return WaitingCall(
        call_id, skill_levels(needs or {}), priority, NOW - waited_s, preferred, sticky_until
    )


def only(decisions: tuple[Decision, ...]) -> Decision:
    assert len(decisions) == 1
    return decisions[0]


# --- Hand-written cases ---------------------------------------------------------------


def test_longest_idle_takes_the_agent_free_the_longest() -> None:
    agents = [
        agent("PJSIP/1001", {"turkish": 5}, idle_s=42),
        agent("PJSIP/1002", {"turkish": 9}, idle_s=10),
    ]
    decision = only(decide(agents, [call("c1", {"turkish": 5})], NOW))
    assert decision.agent == "PJSIP/1001"
    assert decision.reason == "longest idle of 2 with turkish>=5: PJSIP/1001 idle 42 s"


def test_fewest_calls_beats_longer_idle() -> None:
    agents = [agent("PJSIP/1001", idle_s=300, calls=7), agent("PJSIP/1002", idle_s=5, calls=2)]
    decision = only(decide(agents, [call("c1")], NOW, Policy.FEWEST_CALLS))
    assert decision.agent == "PJSIP/1002"
    assert "fewest calls" in decision.reason and "PJSIP/1002 handled 2" in decision.reason


def test_highest_skill_sums_the_levels_the_call_needs() -> None:
    agents = [
        agent("PJSIP/1001", {"tr": 9, "en": 2, "collections": 10}, idle_s=100),
        agent("PJSIP/1002", {"tr": 6, "en": 7}, idle_s=1),
    ]
    decision = only(decide(agents, [call("c1", {"tr": 5, "en": 2})], NOW, Policy.HIGHEST_SKILL))
    assert decision.agent == "PJSIP/1002"  # 6 + 7 beats 9 + 2; collections is not asked for
    assert decision.reason == "highest skill of 2 with tr>=5 and en>=2: PJSIP/1002 skill sum 13"


def test_ties_go_to_longest_idle_then_interface_name() -> None:
    agents = [
        agent("PJSIP/1003", calls=1, idle_s=9),
        agent("PJSIP/1002", calls=1, idle_s=9),
        agent("PJSIP/1001", calls=1, idle_s=3),
    ]
    decision = only(decide(agents, [call("c1")], NOW, Policy.FEWEST_CALLS))
    assert decision.agent == "PJSIP/1002"
    assert [c.interface for c in decision.considered] == ["PJSIP/1002", "PJSIP/1003", "PJSIP/1001"]


def test_sticky_agent_gets_the_call_when_free() -> None:
    agents = [agent("PJSIP/1001", idle_s=500), agent("PJSIP/1002", idle_s=1)]
    decision = only(decide(agents, [call("c1", preferred="PJSIP/1002", sticky_s=30)], NOW))
    assert decision.agent == "PJSIP/1002"
    assert decision.reason == "sticky: last agent PJSIP/1002 is free"


def test_sticky_agent_busy_within_the_limit_holds_the_call_without_blocking_others() -> None:
    agents = [agent("PJSIP/1001", idle_s=500), agent("PJSIP/1002", available=False)]
    calls = [call("c1", waited_s=60, preferred="PJSIP/1002", sticky_s=12), call("c2", waited_s=5)]
    held, later = decide(agents, calls, NOW)
    assert held.agent is None
    assert held.reason.startswith("waiting for last agent PJSIP/1002 (not ready) until ")
    assert held.reason.endswith("(12 s left)")
    assert later.agent == "PJSIP/1001"


def test_times_in_a_reason_are_the_centers_wall_clock_not_the_servers() -> None:
    # NOW is 22:13:20 UTC; an Istanbul center reads 01:13:32 for a deadline 12 s later,
    # whatever time zone the server runs in.
    agents = [agent("PJSIP/1002", available=False)]
    sticky = [call("c1", preferred="PJSIP/1002", sticky_s=12)]
    (utc,) = decide(agents, sticky, NOW)
    (istanbul,) = decide(agents, sticky, NOW, zone=ZoneInfo("Europe/Istanbul"))
    assert "until 22:13:32 (12 s left)" in utc.reason
    assert "until 01:13:32 (12 s left)" in istanbul.reason


def test_sticky_hold_ends_at_the_deadline() -> None:
    agents = [agent("PJSIP/1001", idle_s=42), agent("PJSIP/1002", available=False)]
    decision = only(decide(agents, [call("c1", preferred="PJSIP/1002", sticky_s=0)], NOW))
    assert decision.agent == "PJSIP/1001"
    assert decision.reason.startswith("stopped waiting for last agent PJSIP/1002 (not ready) at ")
    assert decision.reason.endswith("longest idle of 1: PJSIP/1001 idle 42 s")


def test_sticky_without_deadline_routes_normally() -> None:
    agents = [agent("PJSIP/1001", idle_s=42), agent("PJSIP/1002", {"tr": 2})]
    decision = only(decide(agents, [call("c1", {"tr": 1}, preferred="PJSIP/1009")], NOW))
    assert decision.agent == "PJSIP/1002"
    assert decision.reason == (
        "last agent PJSIP/1009 not eligible (not among the agents); "
        "longest idle of 1 with tr>=1: PJSIP/1002 idle 0 s"
    )


def test_higher_priority_is_served_first_then_longest_waiting() -> None:
    agents = [agent("PJSIP/1001", idle_s=9), agent("PJSIP/1002", idle_s=1)]
    calls = [
        call("old", waited_s=300),
        call("vip", priority=2, waited_s=1),
        call("older", waited_s=400),
    ]
    decisions = decide(agents, calls, NOW)
    assert [(d.call_id, d.agent) for d in decisions] == [
        ("vip", "PJSIP/1001"),
        ("older", "PJSIP/1002"),
        ("old", None),
    ]
    assert decisions[2].reason == "ready agents were all given calls this round"
    assert {c.why for c in decisions[2].considered} == {
        "already given call vip this round",
        "already given call older this round",
    }


def test_level_too_low_keeps_the_call_waiting_and_says_why() -> None:
    agents = [
        agent("PJSIP/1001", {"collections": 2}),
        agent("PJSIP/1002", {"tr": 9}),
        agent("PJSIP/1003", {"collections": 9}, available=False),
    ]
    decision = only(decide(agents, [call("c1", {"collections": 3})], NOW))
    assert decision.agent is None
    assert decision.reason == "no ready agent has collections>=3"
    assert [(c.interface, c.eligible, c.why) for c in decision.considered] == [
        ("PJSIP/1001", False, "collections level 2 < 3"),
        ("PJSIP/1002", False, "lacks collections"),
        ("PJSIP/1003", False, "not ready"),
    ]


def test_no_agents_and_no_calls() -> None:
    assert decide([], [], NOW) == ()
    assert only(decide([], [call("c1")], NOW)).reason == "no agent is ready"


def test_duplicates_are_refused() -> None:
    with pytest.raises(ValueError, match="agent interface given more than once: PJSIP/1001"):
        decide([agent("PJSIP/1001"), agent("PJSIP/1001", idle_s=3)], [], NOW)
    with pytest.raises(ValueError, match="call id given more than once: c1"):
        decide([], [call("c1"), call("c1", priority=1)], NOW)


def test_skill_levels_are_checked_on_the_way_in() -> None:
    with pytest.raises(ValueError, match="agent PJSIP/1001: skill 'tr' has level 11"):
        agent("PJSIP/1001", {"tr": 11})
    with pytest.raises(ValueError, match="call c1: skill 'tr' is given twice"):
        WaitingCall("c1", (("tr", 2), ("tr", 3)), 0, NOW)


def test_parse_skills() -> None:
    assert parse_skills("turkish:5, collections:3") == {"turkish": 5, "collections": 3}
    assert parse_skills(" tr : 10 ") == {"tr": 10}
    assert parse_skills("  ") == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("turkish", "skill 'turkish' has no level: write it as turkish:5"),
        ("turkish:", "skill 'turkish' has no level"),
        ("turkish:0", "skill 'turkish' has level 0, outside 1..10"),
        ("turkish:11", "skill 'turkish' has level 11, outside 1..10"),
        ("turkish:high", "level 'high' is not a whole number from 1 to 10"),
        (":5", "':5' has no skill name"),
        ("tr:5,,en:3", "empty entry in 'tr:5,,en:3'"),
        ("tr:5,", "empty entry"),
        ("tr:5, tr:7", "skill 'tr' is given twice"),
    ],
)
def test_parse_skills_refuses_bad_input(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_skills(text)


# --- Properties over generated situations ----------------------------------------------

SKILLS = ("tr", "en", "collections")
# More interfaces than agents, so some sticky preferences name an agent who is not there.
INTERFACES = tuple(f"PJSIP/10{n:02d}" for n in range(10))
# Narrow time ranges so that ties in idle time and waiting time are common.
skill_set = st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 10), max_size=3)
# Calls ask for fewer skills than agents have, so that most calls fit someone and the
# interesting part, several calls wanting the same agents, comes up often.
requirement = st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 10), max_size=2)
agents_st = st.lists(
    st.builds(
        RoutingAgent,
        interface=st.sampled_from(INTERFACES),
        skills=skill_set.map(skill_levels),
        available=st.booleans(),
        idle_since=st.integers(0, 30).map(lambda s: NOW - s),
        calls_handled=st.integers(0, 5),
    ),
    max_size=8,
    unique_by=lambda a: a.interface,
)
calls_st = st.lists(
    st.builds(
        WaitingCall,
        call_id=st.integers(0, 99).map(lambda n: f"1700000000.{n}"),
        required_skills=requirement.map(skill_levels),
        priority=st.integers(0, 3),
        waiting_since=st.integers(0, 30).map(lambda s: NOW - s),
        preferred_agent=st.none() | st.sampled_from(INTERFACES),
        sticky_until=st.none() | st.integers(-20, 20).map(lambda s: NOW + s),
    ),
    max_size=8,
    unique_by=lambda c: c.call_id,
)
policies = st.sampled_from(Policy)
fast = settings(max_examples=300, deadline=None)  # shared, noisy machines: no per-example limit


def fits(a: RoutingAgent, c: WaitingCall) -> bool:
    """Ready and at or above every required level (ignores who else got a call)."""
    levels = dict(a.skills)
    return a.available and all(levels.get(s, 0) >= m for s, m in c.required_skills)


def holding(c: WaitingCall) -> bool:
    """Within its sticky window: it may wait for its last agent instead of taking another."""
    return c.preferred_agent is not None and c.sticky_until is not None and c.sticky_until > NOW


# Each check below is one property; they share one generated situation because drawing it
# costs far more than checking it. A failure's traceback names the check that broke.
Outcome = list[tuple[WaitingCall, Decision]]  # in the order decide returned them


def check_each_call_once_in_service_order_and_each_agent_once(
    agents: list[RoutingAgent], calls: list[WaitingCall], outcome: Outcome
) -> None:
    expected_order = sorted(calls, key=lambda c: (-c.priority, c.waiting_since, c.call_id))
    assert [c for c, _ in outcome] == expected_order
    assigned = [d.agent for _, d in outcome if d.agent is not None]
    assert len(assigned) == len(set(assigned))
    by_interface = {a.interface: a for a in agents}
    for c, d in outcome:
        if d.agent is not None:
            assert fits(by_interface[d.agent], c)


def check_no_call_waits_while_a_later_call_took_an_agent_that_fits_it(
    agents: list[RoutingAgent], outcome: Outcome
) -> None:
    # Covers both "higher priority first" and "earlier first among equal priority": the
    # order itself is checked above, so "later" here means later in that order.
    by_interface = {a.interface: a for a in agents}
    for i, (first, first_decision) in enumerate(outcome):
        if first_decision.agent is not None or holding(first):
            continue
        for later, later_decision in outcome[i + 1 :]:
            if later_decision.agent is not None:
                assert not fits(by_interface[later_decision.agent], first), (first, later)


def check_no_call_waits_while_an_agent_that_fits_it_stays_free(
    agents: list[RoutingAgent], outcome: Outcome
) -> None:
    assigned = {d.agent for _, d in outcome}
    left_free = [a for a in agents if a.interface not in assigned]
    for c, d in outcome:
        if d.agent is None and not holding(c):
            assert not [a.interface for a in left_free if fits(a, c)], c


def check_sticky_calls_hold_for_their_agent_and_get_them_when_free(
    agents: list[RoutingAgent], outcome: Outcome
) -> None:
    by_interface = {a.interface: a for a in agents}
    taken: set[str] = set()
    for c, d in outcome:
        if holding(c):
            assert d.agent in (None, c.preferred_agent)
        preferred = by_interface.get(c.preferred_agent or "")
        if preferred and preferred.interface not in taken and fits(preferred, c):
            assert d.agent == preferred.interface
        if d.agent is not None:
            taken.add(d.agent)


def check_policy_picks_the_best_agent_still_free(
    agents: list[RoutingAgent], outcome: Outcome, policy: Policy
) -> None:
    def rank(a: RoutingAgent, c: WaitingCall) -> tuple[int, float, str]:
        levels = dict(a.skills)
        measure = {
            Policy.LONGEST_IDLE: 0,
            Policy.FEWEST_CALLS: a.calls_handled,
            Policy.HIGHEST_SKILL: -sum(levels.get(s, 0) for s, _ in c.required_skills),
        }[policy]
        return measure, a.idle_since, a.interface

    by_interface = {a.interface: a for a in agents}
    taken: set[str] = set()
    for c, d in outcome:
        if d.agent is not None and d.agent != c.preferred_agent:
            still_free = [a for a in agents if a.interface not in taken and fits(a, c)]
            assert still_free, (c, d)
            assert min(still_free, key=lambda a: rank(a, c)) == by_interface[d.agent]
        if d.agent is not None:
            taken.add(d.agent)


def check_considered_lists_every_agent_once_and_agrees_with_the_choice(
    agents: list[RoutingAgent], outcome: Outcome
) -> None:
    by_interface = {a.interface: a for a in agents}
    taken: set[str] = set()
    for c, d in outcome:
        assert sorted(x.interface for x in d.considered) == sorted(by_interface)
        for x in d.considered:
            assert x.eligible == (x.interface not in taken and fits(by_interface[x.interface], c))
            assert x.why
        if d.agent is not None:
            assert d.agent in {x.interface for x in d.considered if x.eligible}
            taken.add(d.agent)
        assert d.reason


@fast
@given(agents_st, calls_st, policies)
def test_properties_of_one_routing_round(
    agents: list[RoutingAgent], calls: list[WaitingCall], policy: Policy
) -> None:
    by_id = {c.call_id: c for c in calls}
    outcome = [(by_id[d.call_id], d) for d in decide(agents, calls, NOW, policy)]
    check_each_call_once_in_service_order_and_each_agent_once(agents, calls, outcome)
    check_no_call_waits_while_a_later_call_took_an_agent_that_fits_it(agents, outcome)
    check_no_call_waits_while_an_agent_that_fits_it_stays_free(agents, outcome)
    check_sticky_calls_hold_for_their_agent_and_get_them_when_free(agents, outcome)
    check_policy_picks_the_best_agent_still_free(agents, outcome, policy)
    check_considered_lists_every_agent_once_and_agrees_with_the_choice(agents, outcome)


@fast
@given(agents_st, calls_st, policies, st.data())
def test_same_situation_same_answer_whatever_the_input_order(
    agents: list[RoutingAgent], calls: list[WaitingCall], policy: Policy, data: st.DataObject
) -> None:
    first = decide(agents, calls, NOW, policy)
    assert decide(agents, calls, NOW, policy) == first
    shuffled_agents = data.draw(st.permutations(agents))
    shuffled_calls = data.draw(st.permutations(calls))
    assert decide(shuffled_agents, shuffled_calls, NOW, policy) == first
