"""A call's phase and its transition table (cti/state/calls.py ``TRANSITIONS``).

The table is checked two ways: every ordered pair of phases against the moves we expect,
each with the Asterisk behaviour behind it; and call journeys, fed as AMI messages shaped like
the captures' (through ``to_event``, as the live stream), against the phases the call passes
through, with no move the table does not expect. A move it does not expect is an ``Anomaly``,
never an exception.
"""

from __future__ import annotations

from itertools import permutations

import pytest
from feeding import ami_event

from cti.state.calls import TRANSITIONS, Call, CallPhase
from cti.state.changes import Anomaly, CallAnswered, Change
from cti.state.store import CtiState

NEW, QUEUED, RINGING, ANSWERED = (
    CallPhase.NEW,
    CallPhase.QUEUED,
    CallPhase.RINGING,
    CallPhase.ANSWERED,
)
ABANDONED, LET_GO, ENDED = CallPhase.ABANDONED, CallPhase.LET_GO, CallPhase.ENDED
DIALING = CallPhase.DIALING

# Every move the table allows, and why Asterisk makes it; any other pair is unexpected.
EXPECTED = {
    (NEW, QUEUED): "QueueCallerJoin, or the route point's CtiRoute",
    (NEW, ANSWERED): "answered before we connected: a snapshot's agent leg, AgentComplete",
    (NEW, ENDED): "a call no queue ever had: a direct call, a supervisor's spy leg",
    (NEW, RINGING): "an agent's outbound call: their own phone rings first",
    (RINGING, DIALING): "outbound: the agent took their phone, the customer's rings",
    (DIALING, ANSWERED): "outbound: the customer answered",
    (DIALING, ENDED): "outbound: the customer was not reached, or the agent gave up",
    (QUEUED, RINGING): "AgentCalled, or the ACD's Dial of the agent it chose",
    (QUEUED, ANSWERED): "AgentConnect after a ring we did not see",
    (QUEUED, ABANDONED): "the caller hung up in the queue",
    (QUEUED, LET_GO): "Queue()'s timeout, a Redirect, an empty queue",
    (QUEUED, ENDED): "the caller hung up outside a queue (at the route point)",
    (RINGING, QUEUED): "no phone rings any more: no answer, refused, busy",
    (RINGING, ANSWERED): "the agent took it",
    (RINGING, ABANDONED): "the caller hung up while a phone rang",
    (RINGING, LET_GO): "the queue's timeout struck while a phone rang",
    (RINGING, ENDED): "the caller hung up while the ACD's chosen agent rang",
    (ANSWERED, QUEUED): "the agent transferred the caller into a queue or a route point",
    (ANSWERED, ENDED): "the conversation ended",
    (ABANDONED, ENDED): "the caller's channel is gone",
    (LET_GO, QUEUED): "the dialplan's next queue, or back on hold at the route",
    (LET_GO, RINGING): "the ACD took the held call out of its queue to dial an agent",
    (LET_GO, ENDED): "timed out: the dialplan hung up",
}


def test_the_table_names_every_phase_and_ended_is_final() -> None:
    assert set(TRANSITIONS) == set(CallPhase)
    assert TRANSITIONS[ENDED] == frozenset()
    assert all(ENDED in TRANSITIONS[p] for p in CallPhase if p is not ENDED)


@pytest.mark.parametrize(("was", "now"), list(permutations(CallPhase, 2)))
def test_each_move_is_expected_or_reported(was: CallPhase, now: CallPhase) -> None:
    call = Call("1.1", 1.0, phase=was)
    assert call.move_to(now) is ((was, now) in EXPECTED)
    assert call.phase is now  # followed either way: Asterisk knows where the call is


@pytest.mark.parametrize("phase", list(CallPhase))
def test_staying_in_a_phase_is_always_expected(phase: CallPhase) -> None:
    assert Call("1.1", 1.0, phase=phase).move_to(phase)


def test_a_merged_call_takes_the_phase_only_if_it_knew_none() -> None:
    fresh, answered = Call("1.1", 1.0), Call("2.2", 2.0, phase=ANSWERED)
    fresh.absorb(answered)
    assert fresh.phase is ANSWERED
    queued = Call("3.3", 3.0, phase=QUEUED)
    queued.absorb(Call("4.4", 4.0, phase=ANSWERED))
    assert queued.phase is QUEUED


# --- journeys ---------------------------------------------------------------------------------

CALLER = {
    "Channel": "SIP/trunk-00000000",
    "Uniqueid": "100.0",
    "Linkedid": "100.0",
    "CallerIDNum": "905321234567",
    "CallerIDName": "Ayşe Çağrı Yılmaz",
    "ChannelStateDesc": "Up",
    "Context": "from-trunk",
    "Exten": "4440",
}

Step = tuple[str, float, tuple[dict[str, str], ...], dict[str, str]]


def step(event: str, ts: float, *parts: dict[str, str], **fields: str) -> Step:
    return event, ts, parts, fields


def leg(n: int, state: str = "Down") -> dict[str, str]:
    return {
        "Channel": f"SIP/100{n}-0000000{n}",
        "Uniqueid": f"100.{n}",
        "Linkedid": "100.0",
        "CallerIDNum": "<unknown>",
        "CallerIDName": "<unknown>",
        "ChannelStateDesc": state,
        "Context": "agents",
        "Exten": "4440",
    }


def dest(n: int) -> dict[str, str]:
    return {f"Dest{k}": v for k, v in leg(n).items()}


def agent(n: int) -> dict[str, str]:
    return {"Interface": f"SIP/100{n}", "MemberName": f"Agent 100{n}"}


def join(ts: float, queue: str = "support") -> Step:
    return step("QueueCallerJoin", ts, CALLER, Queue=queue, Position="1", Count="1")


def queue_exit(ts: float, queue: str = "support") -> list[Step]:
    """What app_queue sends for any exit without an agent; a caller who hung up has sent a
    HangupRequest before it."""
    return [
        step("QueueCallerAbandon", ts, CALLER, Queue=queue, Position="1", HoldTime="5"),
        step("QueueCallerLeave", ts, CALLER, Queue=queue, Position="1", Count="0"),
    ]


def ring(n: int, ts: float) -> list[Step]:
    return [
        step("Newchannel", ts, leg(n)),
        step("AgentCalled", ts, CALLER, dest(n), agent(n), Queue="support"),
    ]


def connect(n: int, ts: float) -> list[Step]:
    return [
        step("Newstate", ts, leg(n, "Up")),
        step("AgentConnect", ts, CALLER, dest(n), agent(n), Queue="support", HoldTime="5"),
    ]


def route_dial(n: int, ts: float, status: str) -> list[Step]:
    """The ACD's Dial of the agent it chose: DialBegin and DialEnd, no AgentCalled."""
    steps = [
        step("Newchannel", ts, leg(n)),
        step("DialBegin", ts, CALLER, dest(n), DialString=f"SIP/100{n}"),
    ]
    if status == "ANSWER":
        steps.append(step("Newstate", ts + 5, leg(n, "Up")))
    steps.append(step("DialEnd", ts + 5, CALLER, dest(n), DialStatus=status))
    if status != "ANSWER":
        steps.append(step("Hangup", ts + 5, leg(n), Cause="16"))
    return steps


def hang_up(ts: float, *legs: int) -> list[Step]:
    return [step("Hangup", ts, leg(n), Cause="16") for n in legs] + [
        step("Hangup", ts, CALLER, Cause="16")
    ]


def listed(ts: float, channel: dict[str, str], application: str) -> Step:
    """A CoreShowChannel list item (a snapshot after login)."""
    return step("CoreShowChannel", ts, channel, Application=application, Duration="00:00:20")


ROUTE = step("UserEvent", 101.0, CALLER, UserEvent="CtiRoute", Route="r", Queue="collections")
NEWCHANNEL = step("Newchannel", 100.0, CALLER)
HANGUP_REQUEST = step("HangupRequest", 120.0, CALLER)

JOURNEYS = [
    (
        "answered in a queue",
        [NEWCHANNEL, join(101.0), *ring(1, 102.0), *connect(1, 105.0), *hang_up(130.0, 1)],
        "new queued ringing answered ended",
    ),
    (
        "rung out, then answered by the next agent",
        [
            NEWCHANNEL,
            join(101.0),
            *ring(1, 102.0),
            step("AgentRingNoAnswer", 117.0, CALLER, dest(1), agent(1), Queue="support"),
            step("Hangup", 117.0, leg(1), Cause="16"),
            *ring(2, 119.0),
            *connect(2, 121.0),
            *hang_up(130.0, 2),
        ],
        "new queued ringing queued ringing answered ended",
    ),
    (
        "the caller hangs up in the queue",
        [NEWCHANNEL, join(101.0), HANGUP_REQUEST, *queue_exit(120.0), *hang_up(120.0)],
        "new queued abandoned ended",
    ),
    (
        "the caller hangs up while a phone rings",
        [
            NEWCHANNEL,
            join(101.0),
            *ring(1, 102.0),
            HANGUP_REQUEST,
            *queue_exit(120.0),
            *hang_up(120.0, 1),
        ],
        "new queued ringing abandoned ended",
    ),
    (
        "the queue times out",
        [NEWCHANNEL, join(101.0), *queue_exit(146.0), *hang_up(146.0)],
        "new queued let_go ended",
    ),
    (
        "the queue times out while a phone rings, then the next queue",
        [
            NEWCHANNEL,
            join(101.0),
            *ring(1, 140.0),
            *queue_exit(146.0),
            step("Hangup", 146.0, leg(1), Cause="16"),
            join(146.5, "billing"),
            *hang_up(150.0),
        ],
        "new queued ringing let_go queued ended",
    ),
    (
        "transferred by the agent into another queue",
        [
            NEWCHANNEL,
            join(101.0),
            *ring(1, 102.0),
            *connect(1, 105.0),
            step("AgentComplete", 130.0, CALLER, agent(1), Queue="support", TalkTime="25"),
            step("Hangup", 130.0, leg(1), Cause="16"),
            join(130.5, "billing"),
            *hang_up(160.0),
        ],
        "new queued ringing answered queued ended",
    ),
    (
        "the route point's chosen agent answers",
        [NEWCHANNEL, ROUTE, *route_dial(1, 102.0, "ANSWER"), *hang_up(130.0, 1)],
        "new queued ringing answered ended",
    ),
    (
        "the route point's agent misses it; held; the ACD moves it to the next agent",
        [
            NEWCHANNEL,
            ROUTE,
            *route_dial(1, 102.0, "NOANSWER"),
            step("UserEvent", 107.0, CALLER, UserEvent="CtiRouteNoAnswer", Agent="SIP/1001"),
            join(107.5, "collections"),
            *queue_exit(110.0, "collections"),  # the ACD's Redirect
            *route_dial(2, 110.5, "ANSWER"),
            *hang_up(140.0, 2),
        ],
        "new queued ringing queued let_go ringing answered ended",
    ),
    (
        "the caller hangs up while the route point's agent rings",
        [NEWCHANNEL, ROUTE, *route_dial(1, 102.0, "CANCEL"), *hang_up(107.0)],
        "new queued ringing queued ended",
    ),
    (
        "held too long at the route: the fallback queue answers",
        [
            NEWCHANNEL,
            ROUTE,
            join(101.5, "collections"),
            *queue_exit(131.5, "collections"),
            join(131.6),
            *ring(1, 132.0),
            *connect(1, 135.0),
            *hang_up(160.0, 1),
        ],
        "new queued let_go queued ringing answered ended",
    ),
    (
        "a direct call, which no queue has",
        [
            NEWCHANNEL,
            step("Newchannel", 100.5, leg(1)),
            step("BridgeEnter", 103.0, leg(1, "Up"), BridgeUniqueid="b-1"),
            *hang_up(130.0, 1),
        ],
        "new ended",
    ),
    (
        "answered before we connected (CoreShowChannels)",
        [
            listed(200.0, CALLER, "Queue"),
            listed(200.0, leg(1, "Up"), "AppQueue"),
            *hang_up(230.0, 1),
        ],
        "new answered ended",
    ),
    (
        "waiting before we connected (QueueStatus, CoreShowChannels), then answered",
        [
            step("QueueEntry", 200.0, CALLER, Queue="support", Position="1", Wait="20"),
            listed(200.0, CALLER, "Queue"),
            listed(200.0, leg(1, "Ringing"), "AppQueue"),
            *connect(1, 205.0),
            *hang_up(230.0, 1),
        ],
        "queued ringing answered ended",
    ),
]


def members(state: CtiState) -> None:
    for n in (1, 2):
        state.apply(
            ami_event(
                "QueueMemberAdded",
                1.0,
                agent(n),
                Queue="support",
                StateInterface=f"SIP/100{n}",
                Status="1",
                Paused="0",
            )
        )


def journey(steps: list[Step]) -> tuple[list[str], list[Change]]:
    """The phases call 100.0 went through (each once in a row), and the changes."""
    state = CtiState()
    members(state)
    phases: list[str] = []
    changes: list[Change] = []
    call: Call | None = None
    for event, ts, parts, fields in steps:
        changes += state.apply(ami_event(event, ts, *parts, **fields))
        call = call or state.calls.get("100.0")  # kept after it ends, to see ENDED
        if call is not None and (not phases or phases[-1] != call.phase):
            phases.append(call.phase)
    return phases, changes


@pytest.mark.parametrize(
    ("steps", "path"), [pytest.param(s, p, id=name) for name, s, p in JOURNEYS]
)
def test_journeys_go_through_the_expected_phases(steps: list[Step], path: str) -> None:
    phases, changes = journey(steps)
    assert phases == path.split()
    assert [
        c for c in changes if isinstance(c, Anomaly) and c.kind == "unexpected_call_phase"
    ] == []


def test_an_unexpected_move_is_an_anomaly_and_the_facts_still_count() -> None:
    # An AgentConnect after the caller hung up in the queue: events crossed, or were lost.
    phases, changes = journey(
        [
            NEWCHANNEL,
            join(101.0),
            *ring(1, 102.0),
            HANGUP_REQUEST,
            *queue_exit(120.0),
            *connect(1, 120.5),
        ]
    )
    assert phases == ["new", "queued", "ringing", "abandoned", "answered"]
    assert [c for c in changes if isinstance(c, Anomaly)] == [
        Anomaly(ts=120.5, kind="unexpected_call_phase", detail="abandoned -> answered 100.0")
    ]
    assert [c.interface for c in changes if isinstance(c, CallAnswered)] == ["SIP/1001"]
