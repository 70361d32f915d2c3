"""Who sees what on the panel (``route`` in cti/push/hub.py): a security rule, as a table.

One row per kind of change: the audience of the message it makes, and the message's type.
Then the rules that must hold whatever the table says (an agent's pop reaches only the users
of the ringing phone; a call's end its agent and supervisors; the link everyone), the hub
resolving audiences to real clients, what a page gets on connecting, and the wire format of
each message, key by key, as the panel has always received it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import pytest
from feeding import ami_event

from cti.ami.events import to_event
from cti.ami.frames import FrameSplitter
from cti.auth.users import User
from cti.push.hub import (
    AGENTS_PER_TURN,
    FAN_OUT_BYTES,
    FAN_OUT_SLICE,
    UNSENT_LIMIT,
    AgentsOf,
    Client,
    Everyone,
    Hub,
    overview_in_turns,
    route,
)
from cti.push.messages import (
    AgentStateMessage,
    AlertMessage,
    CallAnsweredMessage,
    CallEndedMessage,
    ConsentMessage,
    LinkMessage,
    PopCrmMessage,
    PopCustomersMessage,
    PopKeptMessage,
    PopMessage,
    PopWithdrawnMessage,
    QueueWaitsMessage,
)
from cti.replay import capture_bytes, replay
from cti.state import views
from cti.state.changes import (
    AgentRingEnded,
    AgentRinging,
    AgentState,
    AgentStateChanged,
    Anomaly,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallOffered,
    CallRecord,
    CallsMerged,
    Change,
    ConsentRecorded,
    LinkChanged,
    Outcome,
    QueueChanged,
    Resynced,
    RoutedRingMissed,
    RouteFellBack,
)
from cti.state.store import CtiState
from cti.tasks import Tasks

T = 1_795_343_730.5
CALL = "1795343720.0"
AGENT = "SIP/1001"
OTHER_AGENT = "SIP/1002"


def ring_ended(reason: str) -> AgentRingEnded:
    return AgentRingEnded(ts=T, interface=AGENT, linkedid=CALL, queue="support", reason=reason)


def ended(agent: str | None, outcome: Outcome) -> CallEnded:
    answered = agent is not None
    record = CallRecord(
        linkedid=CALL,
        caller_number="905321234567",
        caller_name="Ayşe Çağrı Yılmaz",
        dialed="4440",
        direction="inbound",
        queue="support",
        agent=agent,
        agent_name="Ali Kaya" if answered else None,
        outcome=outcome,
        started_at=T - 20,
        queued_at=T - 15,
        answered_at=T - 10 if answered else None,
        ended_at=T,
        wait_s=5,
        talk_s=10 if answered else None,
        hold_s=0,
        abandon_position=None if answered else 1,
        consent="granted",
        consent_method="dtmf",
        consent_at=T - 17,
        recorded=answered,
        recording=f"{CALL}.wav" if answered else None,
        hangup_cause=16,
        no_answer_count=0,
        ended_while_disconnected=False,
    )
    return CallEnded(ts=T, record=record)


RING = AgentRinging(
    ts=T,
    interface=AGENT,
    member_name="Ali Kaya",
    linkedid=CALL,
    queue="support",
    caller_number="905321234567",
    caller_name="Ayşe Çağrı Yılmaz",
    queued_at=T - 8,
    consent="granted",
)
ANSWERED = CallAnswered(
    ts=T, linkedid=CALL, queue="support", interface=AGENT, member_name="Ali Kaya", wait_s=8
)
AGENT_STATE = AgentStateChanged(
    ts=T,
    interface=AGENT,
    member_name="Ali Kaya",
    state=AgentState.PAUSED,
    reason="Lunch",
    queues=("sales", "support"),
)
QUEUE = QueueChanged(ts=T, queue="support", waiting=2, oldest_queued_at=T - 30)
OFFERED = CallOffered(
    ts=T,
    linkedid=CALL,
    queue="support",
    caller_number="905321234567",
    caller_name="Ayşe Çağrı Yılmaz",
    position=1,
)
ABANDONED = CallAbandoned(ts=T, linkedid=CALL, queue="support", position=2, wait_s=31)
LINK_DOWN = LinkChanged(ts=T, up=False, reason="connection reset")

AGENT_ONLY = {AgentsOf(AGENT)}

# (change, the audience of its message, the message's type); None: nothing is sent.
ROWS: list[tuple[str, Change, set[Any] | None, type | None]] = [
    ("ringing", RING, AGENT_ONLY, PopMessage),
    ("ring answered", ring_ended("answered"), AGENT_ONLY, PopKeptMessage),
    ("ring not answered", ring_ended("no_answer"), AGENT_ONLY, PopWithdrawnMessage),
    ("answered elsewhere", ring_ended("answered_elsewhere"), AGENT_ONLY, PopWithdrawnMessage),
    ("caller gone", ring_ended("caller_gone"), AGENT_ONLY, PopWithdrawnMessage),
    ("call answered", ANSWERED, AGENT_ONLY, CallAnsweredMessage),
    ("answered call ended", ended(AGENT, Outcome.ANSWERED), AGENT_ONLY, CallEndedMessage),
    # Supervisors follow these through the wall (a delta a second), not one by one.
    ("unanswered call ended", ended(None, Outcome.ABANDONED), None, None),
    ("agent state", AGENT_STATE, AGENT_ONLY, AgentStateMessage),
    ("queue figures", QUEUE, None, None),
    ("call offered", OFFERED, None, None),
    ("call abandoned", ABANDONED, None, None),
    ("link down", LINK_DOWN, {Everyone()}, LinkMessage),
    ("link up", LinkChanged(ts=T, up=True, reason=""), {Everyone()}, LinkMessage),
    (
        "routed ring missed",
        RoutedRingMissed(
            ts=T, linkedid=CALL, interface=AGENT, route="collections", dial_status="NOANSWER"
        ),
        None,
        None,
    ),
    (
        "route fell back",
        RouteFellBack(ts=T, linkedid=CALL, route="collections", queue="support"),
        None,
        None,
    ),
    ("calls merged", CallsMerged(ts=T, absorbed="1795343721.3", into=CALL), None, None),
    # The consent of a call on no phone yet (the caller hears the notice before the queue)
    # goes to no one; one decided while an agent is on it goes to that agent.
    (
        "consent",
        ConsentRecorded(
            ts=T, linkedid=CALL, consent="granted", method="dtmf", recording=f"{CALL}.wav"
        ),
        None,
        None,
    ),
    (
        "consent on an agent's call",
        ConsentRecorded(
            ts=T,
            linkedid=CALL,
            consent="granted",
            method="implied",
            recording=f"{CALL}.wav",
            on_phones=(AGENT,),
        ),
        AGENT_ONLY,
        ConsentMessage,
    ),
    ("resynced", Resynced(ts=T), None, None),
    ("anomaly", Anomaly(ts=T, kind="hangup_of_unknown_channel", detail="SIP/x-1"), None, None),
]


@pytest.mark.parametrize(
    ("change", "audience", "kind"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS]
)
def test_route(change: Change, audience: set[Any] | None, kind: type | None) -> None:
    routed = [(set(to), type(message)) for to, message in route(change)]
    assert routed == ([] if audience is None else [(audience, kind)])


def test_the_table_has_every_kind_of_change() -> None:
    assert {type(row[1]) for row in ROWS} == set(get_args(Change))


@pytest.mark.parametrize(
    "change",
    [
        RING,
        *(ring_ended(r) for r in ("answered", "no_answer", "answered_elsewhere", "caller_gone")),
    ],
)
def test_an_agents_pop_reaches_that_agent_only(change: Change) -> None:
    # Not another agent, not supervisors (a pop carries the caller's number), not everyone.
    for audience, _ in route(change):
        assert audience == {AgentsOf(AGENT)}


def test_a_call_end_reaches_its_agent_only() -> None:
    for change in (ended(AGENT, Outcome.ANSWERED), ended(AGENT, Outcome.TRANSFERRED)):
        assert [audience for audience, _ in route(change)] == [{AgentsOf(AGENT)}]
    assert route(ended(None, Outcome.ABANDONED)) == []


def test_only_the_link_reaches_everyone() -> None:
    for _, change, _, _ in ROWS:
        reaches_everyone = any(Everyone() in audience for audience, _ in route(change))
        assert reaches_everyone == isinstance(change, LinkChanged), change


# --- the hub resolving audiences to clients ----------------------------------------------


def user(id_: int, role: str, *interfaces: str) -> User:
    return User(
        id=id_, username=f"u{id_}", display_name=f"U {id_}", role=role, interfaces=interfaces
    )


@dataclass
class PageSeen:
    """A page's transport as the hub uses it (asyncio's): the frames written to it, and how
    many bytes it holds unsent."""

    frames: list[bytes] = field(default_factory=list)
    unsent: int = 0
    closing: bool = False

    def write(self, data: bytes) -> None:
        self.frames.append(data)

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return self.unsent


def joined(hub: Hub, who: User) -> Client:
    return hub.join(who, page=PageSeen())


def page_of(client: Client) -> PageSeen:
    assert isinstance(client.page, PageSeen)
    return client.page


def received(client: Client) -> list[str]:
    """The types of the messages written to the client's page since the last look; each
    frame must be one unmasked text frame (tests/component/test_panel_frames.py reads them
    with aiohttp's reader)."""
    types = []
    for frame in page_of(client).frames:
        assert frame[0] == 0x81, frame[:2]  # FIN, text
        length, start = frame[1], 2
        if length == 126:  # a 16-bit length (these messages are under 64 KiB)
            length, start = int.from_bytes(frame[2:4]), 4
        assert len(frame) == start + length  # unmasked: the payload follows the length
        types.append(json.loads(frame[start:])["type"])
    page_of(client).frames.clear()
    return types


def test_the_hub_sends_each_message_to_its_audience_once() -> None:
    hub = Hub(CtiState(), Tasks())
    agent = joined(hub, user(1, "agent", AGENT))
    other = joined(hub, user(2, "agent", OTHER_AGENT))
    # A supervisor whose own phone is the agent's: in two groups, one copy of each message.
    supervisor = joined(hub, user(3, "supervisor", AGENT))
    admin = joined(hub, user(4, "admin"))
    hub.offer([RING, ring_ended("answered"), ANSWERED, ended(AGENT, Outcome.ANSWERED)])
    hub.offer([QUEUE, LINK_DOWN])
    assert received(agent) == ["pop", "pop_kept", "call_answered", "call_ended", "link"]
    assert received(other) == ["link"]
    assert received(supervisor) == ["pop", "pop_kept", "call_answered", "call_ended", "link"]
    assert received(admin) == ["link"]


def test_a_message_is_framed_once_and_a_pop_is_timed_from_its_frames_arrival() -> None:
    # The pop-latency metric starts when the AgentCalled frame arrived on the AMI socket,
    # not when the hub got round to it; every page gets the one frame of a message, written
    # as the change is offered (no task, no turn of the loop in between).
    arrived = time.time() - 0.25
    pop_latencies: list[float] = []
    hub = Hub(CtiState(), Tasks(), on_pop_written=pop_latencies.append, arrival=lambda: arrived)
    first = joined(hub, user(1, "agent", AGENT))
    second = joined(hub, user(2, "supervisor", AGENT))
    hub.offer([RING])
    [frame], [same_frame] = page_of(first).frames, page_of(second).frames
    assert frame is same_frame and received(first) == ["pop"]
    assert len(pop_latencies) == 2 and all(seconds >= 0.25 for seconds in pop_latencies)
    hub.offer([ANSWERED])
    assert received(second)[-1] == "call_answered" and len(pop_latencies) == 2  # pops only


async def test_a_message_for_everyone_goes_out_a_slice_per_turn_of_the_event_loop() -> None:
    # Written to 2,050 pages at once, the queues' waits held the loop, and a pop arriving
    # meanwhile waited ~70 ms (bench/pop_latency.py).
    hub = Hub(CtiState(), Tasks())
    clients = [joined(hub, user(i, "agent", f"PJSIP/{i}")) for i in range(2 * FAN_OUT_SLICE + 1)]
    sending = asyncio.ensure_future(hub.to_everyone(QueueWaitsMessage(waits=[])))
    await asyncio.sleep(0)  # one turn of the loop: the first slice only
    assert sum(bool(page_of(client).frames) for client in clients) == FAN_OUT_SLICE
    await sending
    assert all(received(client) == ["queue_waits"] for client in clients)


async def test_a_large_message_goes_out_to_fewer_clients_per_turn() -> None:
    # A wall delta carries every changed queue card with its day chart: written to 50
    # supervisors in one turn, tens of kilobytes each, it held the loop too.
    hub = Hub(CtiState(), Tasks())
    supervisors = [joined(hub, user(i, "supervisor")) for i in range(5)]
    large = AlertMessage(
        queue="q", kind="long_wait", text="x" * (FAN_OUT_BYTES // 3), raised=True, at=T
    )
    sending = asyncio.ensure_future(hub.to_supervisors(large))
    await asyncio.sleep(0)
    assert sum(bool(page_of(client).frames) for client in supervisors) == 2
    await sending
    assert all(len(page_of(client).frames) == 1 for client in supervisors)


async def test_the_keepalive_is_a_pong_to_each_page() -> None:
    hub = Hub(CtiState(), Tasks())
    clients = [joined(hub, user(i, "agent", f"PJSIP/{i}")) for i in range(3)]
    await hub.keep_alive(clients[:2])
    assert [page_of(client).frames for client in clients] == [[b"\x8a\x00"], [b"\x8a\x00"], []]


def test_a_page_going_away_is_not_written_to() -> None:
    hub = Hub(CtiState(), Tasks())
    client = joined(hub, user(1, "agent", AGENT))
    page_of(client).closing = True  # its handler leaves the hub when the socket is closed
    hub.offer([RING])
    assert page_of(client).frames == [] and client in hub.clients


def test_a_page_that_cannot_be_written_to_is_let_go_and_the_others_still_get_it() -> None:
    class Broken(PageSeen):
        def write(self, data: bytes) -> None:
            raise RuntimeError("Cannot call write() after write_eof()")

    hub = Hub(CtiState(), Tasks())
    broken = hub.join(user(1, "supervisor", AGENT), page=Broken())
    agent = joined(hub, user(2, "agent", AGENT))
    hub.offer([RING])
    assert broken.closed.is_set() and broken not in hub.clients
    assert received(agent) == ["pop"]


def test_a_page_too_slow_to_follow_is_let_go() -> None:
    hub = Hub(CtiState(), Tasks())
    client = joined(hub, user(1, "agent", AGENT))
    page_of(client).unsent = UNSENT_LIMIT
    hub.offer([ANSWERED])
    assert received(client) == ["call_answered"] and client in hub.clients
    page_of(client).unsent = UNSENT_LIMIT + 1
    hub.offer([ANSWERED])
    assert received(client) == [] and client.closed.is_set() and client not in hub.clients


async def test_a_supervisors_overview_is_built_a_slice_of_agents_per_turn() -> None:
    # Built at once for 2,000 agents it held the loop ~40 ms on each supervisor's page
    # opening; in turns, it must still be the same overview.
    state = CtiState()
    for number in range(2 * AGENTS_PER_TURN + 1):
        interface = f"PJSIP/{1000 + number}"
        state.apply(
            ami_event(
                "QueueMemberAdded",
                1.0,
                Queue="sales" if number % 2 else "support",
                Interface=interface,
                MemberName=f"Agent {number}",
                StateInterface=interface,
                Status="1",
                Paused="1" if number % 3 == 0 else "0",
            )
        )
    building = asyncio.ensure_future(overview_in_turns(state))
    turns = 0
    while not building.done():
        await asyncio.sleep(0)
        turns += 1
    assert turns == 3
    assert building.result() == views.overview(state)
    assert len(building.result()["agents"]) == 2 * AGENTS_PER_TURN + 1


# --- what a page gets on connecting -------------------------------------------------------


def ringing_state(captures: Path) -> CtiState:
    """The center of basic-queue-calls.ami when the first call rings SIP/1001."""
    state = CtiState()
    for message in FrameSplitter().feed(capture_bytes(captures / "basic-queue-calls.ami")):
        event = to_event(message)
        if event is not None and any(isinstance(c, AgentRinging) for c in state.apply(event)):
            return state
    raise AssertionError("the capture never rings an agent")


async def test_a_page_is_given_its_own_pops_and_agents_only(captures: Path) -> None:
    hub = Hub(ringing_state(captures), Tasks())
    mine = (await hub.snapshot_for(user(1, "agent", AGENT))).to_json()
    assert [(p["linkedid"], p["interface"], p["answered"]) for p in mine["pops"]] == [
        (CALL, AGENT, False)
    ]
    assert [a["interface"] for a in mine["agents"]] == [AGENT]
    assert "overview" not in mine
    theirs = (await hub.snapshot_for(user(2, "agent", OTHER_AGENT))).to_json()
    assert theirs["pops"] == [] and [a["interface"] for a in theirs["agents"]] == [OTHER_AGENT]
    supervising = (await hub.snapshot_for(user(3, "supervisor"))).to_json()
    assert supervising["pops"] == []  # a supervisor sees calls in the overview, not pops
    assert len(supervising["agents"]) > 1
    # One agent shape in both places, with the keys each consumer has always read.
    by_interface = sorted(supervising["agents"], key=lambda a: a["interface"])
    assert by_interface == supervising["overview"]["agents"]
    assert list(by_interface[0]) == [
        "interface",
        "state_interface",
        "name",  # what the overview has always sent
        "member_name",  # what the websocket snapshot has always sent
        "state",
        "reason",
        "queues",
        "talking",
        "state_since",
        "calls_taken",
    ]


# --- the wire -----------------------------------------------------------------------------


def wire_of(change: Change) -> list[tuple[str, Any]]:
    [(_, message)] = route(change)
    return list(message.to_json().items())  # a list: the keys' order is compared too


def test_the_wire_format_of_the_changes_messages() -> None:
    assert wire_of(RING) == [
        ("type", "pop"),
        ("interface", AGENT),
        ("member_name", "Ali Kaya"),
        ("linkedid", CALL),
        ("queue", "support"),
        ("caller_number", "905321234567"),
        ("caller_name", "Ayşe Çağrı Yılmaz"),
        ("queued_at", T - 8),
        ("resynced", False),
        ("consent", "granted"),
        ("at", T),
        ("outbound", False),
    ]
    assert wire_of(ring_ended("answered")) == [
        ("type", "pop_kept"),
        ("linkedid", CALL),
        ("reason", "answered"),
    ]
    assert wire_of(ring_ended("caller_gone")) == [
        ("type", "pop_withdrawn"),
        ("linkedid", CALL),
        ("reason", "caller_gone"),
    ]
    assert wire_of(ANSWERED) == [
        ("type", "call_answered"),
        ("linkedid", CALL),
        ("queue", "support"),
        ("interface", AGENT),
        ("member_name", "Ali Kaya"),
        ("wait_s", 8),
        ("at", T),
    ]
    assert wire_of(ended(AGENT, Outcome.ANSWERED)) == [
        ("type", "call_ended"),
        ("linkedid", CALL),
        ("outcome", "answered"),
        ("agent", AGENT),
        ("talk_s", 10),
        ("wait_s", 5),
    ]
    assert wire_of(AGENT_STATE) == [
        ("type", "agent_state"),
        ("interface", AGENT),
        ("member_name", "Ali Kaya"),
        ("state", "paused"),
        ("reason", "Lunch"),
        ("queues", ["sales", "support"]),
        ("at", T),
    ]
    assert wire_of(LINK_DOWN) == [("type", "link"), ("up", False), ("reason", "connection reset")]


def test_the_wire_format_of_the_other_messages() -> None:
    customers = [{"id": 7, "name": "Ayşe"}]
    found = PopCustomersMessage(linkedid=CALL, customers=customers).to_json()
    assert found == {"type": "pop_customers", "linkedid": CALL, "customers": customers}
    crm = PopCrmMessage(linkedid=CALL, crm={"name": "Ayşe"}).to_json()
    assert list(crm.items()) == [("type", "pop_crm"), ("linkedid", CALL), ("crm", {"name": "Ayşe"})]
    failed = PopCrmMessage(
        linkedid=CALL, crm=None, error="timed out", failure={"kind": "timeout", "seconds": 2}
    ).to_json()
    assert list(failed.items()) == [
        ("type", "pop_crm"),
        ("linkedid", CALL),
        ("crm", None),
        ("error", "timed out"),
        ("failure", {"kind": "timeout", "seconds": 2}),
    ]
    unexplained = PopCrmMessage(linkedid=CALL, crm=None, error="a bug").to_json()
    assert unexplained["failure"] == {"kind": "other"}
    alert = AlertMessage(queue="support", kind="long_wait", text="...", raised=True, at=T)
    assert list(alert.to_json().items()) == [
        ("type", "alert"),
        ("queue", "support"),
        ("kind", "long_wait"),
        ("text", "..."),
        ("raised", True),
        ("at", T),
    ]


def test_a_pop_carries_the_consent_the_caller_gave_before_the_ring(captures: Path) -> None:
    """On a real Asterisk the consent is asked before the queue: the agent's pop says it."""
    rings: list[AgentRinging] = []

    class Rings:
        def offer(self, changes: Sequence[Change]) -> None:
            rings.extend(c for c in changes if isinstance(c, AgentRinging))

    for name, consent in (("consent-granted.ami", "granted"), ("consent-declined.ami", "declined")):
        rings.clear()
        replay(capture_bytes(captures / "real" / name), sinks=[Rings()])
        assert rings and {r.consent for r in rings} == {consent}, name
