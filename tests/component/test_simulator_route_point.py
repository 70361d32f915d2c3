"""The simulator's ACD route point ([cti-route] in dialplan/extensions_cti.conf), over real TCP
both ways: an AMI client reads its events and sends Setvar/Redirect, and a scripted FastAGI
peer answers the route point's AGI as the daemon would (or refuses, or never answers)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from harness import Frame, RawAmi, free_port

from cti.simulator import MemberConfig, QueueConfig, RoutePointConfig, SimConfig, Simulator

ROUTE = "collections-tr"
ENV_KEYS = [
    "agi_network",
    "agi_network_script",
    "agi_request",
    "agi_channel",
    "agi_language",
    "agi_type",
    "agi_uniqueid",
    "agi_version",
    "agi_callerid",
    "agi_calleridname",
    "agi_callingpres",
    "agi_callingani2",
    "agi_callington",
    "agi_callingtns",
    "agi_dnid",
    "agi_rdnis",
    "agi_context",
    "agi_extension",
    "agi_priority",
    "agi_enhanced",
    "agi_accountcode",
    "agi_threadid",
    "agi_arg_1",
]


class AgiPeer:
    """The daemon's FastAGI, scripted: each conversation reads the environment, then sets
    the next script's variables (None: accepts and never answers) and closes."""

    def __init__(self, *scripts: dict[str, str] | None) -> None:
        self.scripts = list(scripts)
        self.environments: list[list[str]] = []  # the raw lines, in order
        self.replies: list[bytes] = []
        self.server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        lines = []
        while (line := await reader.readline()) not in (b"\n", b""):
            lines.append(line.decode())
        self.environments.append(lines)
        script = self.scripts.pop(0) if self.scripts else {}
        if script is None:
            await reader.read()  # silent until the simulator gives up and closes
        else:
            for name, value in script.items():
                writer.write(f'SET VARIABLE {name} "{value}"\n'.encode())
                await writer.drain()
                self.replies.append(await reader.readline())
        writer.close()

    def environment(self, index: int = 0) -> dict[str, str]:
        return dict(line.rstrip("\n").split(": ", 1) for line in self.environments[index])


def config(agi_port: int, hold_s: float = 30.0, agi_timeout_s: float = 3.0) -> SimConfig:
    support = QueueConfig(
        "support",
        "4440",
        (MemberConfig("SIP/1001", "Agent 1001"), MemberConfig("SIP/1002", "Agent 1002")),
        "rrmemory",
        consent="none",
        ring_timeout_s=1.0,
        retry_s=0.1,
    )
    collections = QueueConfig("collections", "4449", (), consent="none")
    point = RoutePointConfig(
        ROUTE,
        "4442",
        "collections",
        "support",
        hold_s=hold_s,
        agi_timeout_s=agi_timeout_s,
        ring_s=1.0,
    )
    return SimConfig(
        queues=(support, collections),
        route_points=(point,),
        announcement_s=0.05,
        arrival_rate=0,
        agi_port=agi_port,
    )


@contextlib.asynccontextmanager
async def running(peer: AgiPeer | None, **options: Any) -> AsyncIterator[tuple[Simulator, RawAmi]]:
    """The simulator (its AGI pointed at ``peer``, or at a port nobody listens on) and a
    logged-in AMI client."""
    if peer is not None:
        peer.server = await asyncio.start_server(peer.handle, "127.0.0.1", 0)
    sim = Simulator(config(peer.port if peer else free_port(), **options), port=0)
    await sim.start()
    ami = await RawAmi.login(sim.port)
    try:
        yield sim, ami
    finally:
        await ami.close()
        await sim.stop()
        if peer is not None and peer.server is not None:
            peer.server.close()


def names(events: list[Frame]) -> list[str]:
    return [f.get("UserEvent") or f["Event"] for f in events if "Event" in f]


def queue_exit(ami: RawAmi, linkedid: str, joined: int, left: int) -> list[str]:
    """The caller's hang-up requests and app_queue's exit events, from joining to leaving:
    Asterisk sends QueueCallerAbandon for every exit without an agent, and a caller who
    hung up shows a HangupRequest first (ring-no-answer.ami)."""
    wanted = {"HangupRequest", "SoftHangupRequest", "QueueCallerAbandon", "QueueCallerLeave"}
    return [
        f["Event"]
        for f in ami.frames[joined + 1 : left + 1]
        if f.get("Uniqueid") == linkedid and f.get("Event") in wanted
    ]


AGENT = {
    "CTI_ROUTE": "agent",
    "CTI_ROUTE_AGENT": "SIP/1001",
    "CTI_ROUTE_RING_S": "5",
    "CTI_ROUTE_PRIORITY": "1",
}
HOSTILE = 'Evil "Caller"\r\nagi_arg_1: forged\n<script>alert(1)</script>'


async def test_agi_says_agent_and_the_agent_answers() -> None:
    peer = AgiPeer(AGENT)
    async with running(peer) as (sim, ami):
        linkedid = await sim.place_call(
            "15557654321", HOSTILE, ROUTE, consent="granted", answer_after=0.1, talk_s=0.2
        )
        await ami.event("Cdr", Linkedid=linkedid)
        await ami.event("Hangup", Linkedid=linkedid, Uniqueid=linkedid)
        events = ami.of(linkedid)
    got = names(events)
    assert (
        got.index("RecordingConsent")
        < got.index("CtiRoute")
        < got.index("DialBegin")
        < got.index("DialState")
        < got.index("DialEnd")
        < got.index("BridgeEnter")
    )
    assert not {"AgentCalled", "AgentConnect", "AgentComplete", "QueueCallerJoin"} & set(got)
    route = next(f for f in events if f.get("UserEvent") == "CtiRoute")
    assert (route["Route"], route["Queue"], route["Uniqueid"]) == (ROUTE, "collections", linkedid)
    begin = next(f for f in events if f["Event"] == "DialBegin")
    assert begin["DialString"] == "SIP/1001" and begin["DestChannel"].startswith("SIP/1001-")
    assert begin["DestLinkedid"] == linkedid and begin["Uniqueid"] == linkedid
    assert [f["DialStatus"] for f in events if f["Event"] == "DialEnd"] == ["ANSWER"]
    assert len([f for f in events if f["Event"] == "Hangup"]) == 2
    cdr = next(f for f in events if f["Event"] == "Cdr")
    assert (cdr["LastApplication"], cdr["LastData"], cdr["Disposition"]) == (
        "Dial",
        "SIP/1001,5",
        "ANSWERED",
    )
    # What the daemon's FastAGI heard: Asterisk's environment, one line per variable, the
    # hostile caller name on its own line; and each SET VARIABLE was answered.
    (lines,) = peer.environments
    assert [line.split(": ", 1)[0] for line in lines] == ENV_KEYS
    env = peer.environment()
    assert env["agi_arg_1"] == ROUTE and env["agi_uniqueid"] == linkedid
    assert env["agi_calleridname"] == 'Evil "Caller"  agi_arg_1: forged <script>alert(1)</script>'
    assert (env["agi_callerid"], env["agi_dnid"], env["agi_context"], env["agi_priority"]) == (
        "15557654321",
        "4442",
        "cti-route",
        "4",
    )
    assert env["agi_network_script"] == "route" and env["agi_request"].endswith("/route")
    assert peer.replies == [b"200 result=1\n"] * len(AGENT)
    assert not sim.pbx.devices["SIP/1001"].busy_with and not sim.pbx.devices["SIP/1001"].ringing


async def test_agent_does_not_answer_so_the_call_holds() -> None:
    async with running(AgiPeer({**AGENT, "CTI_ROUTE_RING_S": "1"})) as (sim, ami):
        linkedid = await sim.place_call("905321112233", "Fatma Demir", ROUTE, answer_after=None)
        joined = await ami.event("QueueCallerJoin", Linkedid=linkedid)
        events = ami.of(linkedid)
        assert events[-1]["Queue"] == "collections"
        got = names(events)
        assert (
            got.index("DialBegin")
            < got.index("DialEnd")
            < got.index("CtiRouteNoAnswer")
            < got.index("QueueCallerJoin")
        )
        assert [f["DialStatus"] for f in events if f["Event"] == "DialEnd"] == ["NOANSWER"]
        missed = next(f for f in events if f.get("UserEvent") == "CtiRouteNoAnswer")
        assert (missed["Agent"], missed["DialStatus"], missed["Uniqueid"]) == (
            "SIP/1001",
            "NOANSWER",
            linkedid,
        )
        # The leg is gone and the phone free again; nobody rings in the hold queue.
        assert [f["Channel"] for f in events if f["Event"] == "Hangup"] == [
            next(f["DestChannel"] for f in events if f["Event"] == "DialBegin")
        ]
        assert "AgentCalled" not in got
        await sim.hangup(linkedid)
        await ami.event("QueueCallerAbandon", joined, Linkedid=linkedid, Queue="collections")
        left = await ami.event("QueueCallerLeave", joined, Linkedid=linkedid)
        assert queue_exit(ami, linkedid, joined, left) == [
            "HangupRequest",
            "QueueCallerAbandon",
            "QueueCallerLeave",
        ]


async def test_hold_then_the_daemon_moves_the_call_to_an_agent() -> None:
    async with running(AgiPeer({"CTI_ROUTE": "hold", "CTI_ROUTE_PRIORITY": "2"})) as (sim, ami):
        linkedid = await sim.place_call("905321112233", "Fatma Demir", ROUTE, answer_after=None)
        joined = await ami.event("QueueCallerJoin", Linkedid=linkedid, Queue="collections")
        channel = ami.frames[joined]["Channel"]
        assert "AgentCalled" not in names(ami.of(linkedid))
        # The daemon's two actions, answered as Asterisk answers them.
        answer = await ami.action(
            Action="Setvar", Channel=channel, Variable="CTI_ROUTE_AGENT", Value="SIP/1002"
        )
        assert (answer["Response"], answer["Message"]) == ("Success", "Variable Set")
        answer = await ami.action(
            Action="Redirect", Channel=channel, Context="cti-route", Exten="agent", Priority="1"
        )
        assert (answer["Response"], answer["Message"]) == ("Success", "Redirect successful")
        left = await ami.event("QueueCallerLeave", joined, Linkedid=linkedid, Queue="collections")
        assert queue_exit(ami, linkedid, joined, left) == ["QueueCallerAbandon", "QueueCallerLeave"]
        begin = await ami.event("DialBegin", left, Linkedid=linkedid)
        assert ami.frames[begin]["DialString"] == "SIP/1002"
        assert sim.answer(linkedid, "SIP/1002")  # the test's agent picks up
        await ami.event("DialEnd", begin, Linkedid=linkedid, DialStatus="ANSWER")
        assert sim.is_answered(linkedid)
        assert sim.pbx.devices["SIP/1002"].busy_with == linkedid
        await sim.hangup(linkedid)
        cdr = await ami.event("Cdr", begin, Linkedid=linkedid)
        assert ami.frames[cdr]["LastApplication"] == "Dial"
        assert not {"AgentCalled", "AgentConnect", "AgentComplete"} & set(names(ami.of(linkedid)))
        assert sim.pbx.devices["SIP/1002"].busy_with is None


async def test_redirect_to_another_queue_leaves_the_first_like_asterisk() -> None:
    async with running(None) as (sim, ami):
        # The holding queue has no members: the caller waits there until moved.
        linkedid = await sim.place_call(
            "905321112233", "Fatma Demir", "collections", answer_after=0.1, talk_s=0.2
        )
        held = await ami.event("QueueCallerJoin", Linkedid=linkedid, Queue="collections")
        answer = await ami.action(
            Action="Redirect",
            Channel=ami.frames[held]["Channel"],
            Context="from-trunk",
            Exten="4440",
            Priority="1",
        )
        assert answer["Response"] == "Success"
        left = await ami.event("QueueCallerLeave", held, Linkedid=linkedid, Queue="collections")
        assert queue_exit(ami, linkedid, held, left) == ["QueueCallerAbandon", "QueueCallerLeave"]
        await ami.event("QueueCallerJoin", left, Linkedid=linkedid, Queue="support")
        await ami.event("AgentComplete", left, Linkedid=linkedid, Queue="support")


async def test_setvar_and_redirect_errors_are_answered_like_asterisk() -> None:
    async with running(None) as (_sim, ami):
        answer = await ami.action(
            Action="Setvar",
            Channel="SIP/nosuch-00000001",
            Variable="CTI_ROUTE_AGENT",
            Value="SIP/1001",
        )
        assert (answer["Response"], answer["Message"]) == ("Error", "No such channel")
        answer = await ami.action(Action="Setvar", Channel="SIP/nosuch-00000001")
        assert (answer["Response"], answer["Message"]) == ("Error", "No variable specified")
        answer = await ami.action(
            Action="Redirect",
            Channel="SIP/nosuch-00000001",
            Context="cti-route",
            Exten="agent",
            Priority="1",
        )
        assert (answer["Response"], answer["Message"]) == (
            "Error",
            "Channel does not exist: SIP/nosuch-00000001",
        )


async def test_held_too_long_goes_to_the_fallback_queue() -> None:
    async with running(AgiPeer({"CTI_ROUTE": "hold"}), hold_s=1.0) as (sim, ami):
        linkedid = await sim.place_call(
            "905321112233", "Fatma Demir", ROUTE, answer_after=0.1, talk_s=0.2
        )
        held = await ami.event("QueueCallerJoin", Linkedid=linkedid, Queue="collections")
        left = await ami.event("QueueCallerLeave", held, Linkedid=linkedid, Queue="collections")
        assert queue_exit(ami, linkedid, held, left) == ["QueueCallerAbandon", "QueueCallerLeave"]
        joined = await ami.event("QueueCallerJoin", left, Linkedid=linkedid, Queue="support")
        called = await ami.event("AgentCalled", joined, Linkedid=linkedid, Queue="support")
        assert ami.frames[called]["Interface"] in ("SIP/1001", "SIP/1002")
        await ami.event("AgentConnect", called, Linkedid=linkedid, Queue="support")
        await ami.event("AgentComplete", called, Linkedid=linkedid, Queue="support")


@pytest.mark.parametrize("peer", [None, AgiPeer(None)], ids=["nobody-listens", "silent-peer"])
async def test_agi_failure_goes_to_the_fallback_queue(peer: AgiPeer | None) -> None:
    async with running(peer, agi_timeout_s=0.5) as (sim, ami):
        linkedid = await sim.place_call(
            "905321112233", "Fatma Demir", ROUTE, answer_after=0.1, talk_s=0.2
        )
        route = await ami.event("UserEvent", Linkedid=linkedid, UserEvent="CtiRoute")
        failed = await ami.event("VarSet", route, Linkedid=linkedid, Variable="AGISTATUS")
        assert ami.frames[failed]["Value"] == "FAILURE"
        joined = await ami.event("QueueCallerJoin", failed, Linkedid=linkedid, Queue="support")
        await ami.event("AgentConnect", joined, Linkedid=linkedid, Queue="support")
        await ami.event("AgentComplete", joined, Linkedid=linkedid, Queue="support")
        got = names(ami.of(linkedid))
        assert "DialBegin" in got and got.count("DialBegin") == got.count("AgentCalled")
        assert [f["Queue"] for f in ami.of(linkedid) if f["Event"] == "QueueCallerJoin"] == [
            "support"
        ]
    if peer is not None:
        assert peer.environment()["agi_arg_1"] == ROUTE


async def test_a_phone_rung_by_a_dial_is_not_rung_by_a_queue_and_back() -> None:
    scripts = (AGENT, AGENT)  # both route calls want SIP/1001
    async with running(AgiPeer(*scripts)) as (sim, ami):
        routed = await sim.place_call("905321112233", "Fatma Demir", ROUTE, answer_after=None)
        await ami.event("DialBegin", Linkedid=routed, DialString="SIP/1001")
        queued = await sim.place_call("905551112233", "Mehmet Öztürk", "support", answer_after=None)
        called = await ami.event("AgentCalled", Linkedid=queued)
        assert ami.frames[called]["Interface"] == "SIP/1002"  # SIP/1001 rings for the Dial
        # SIP/1001 still rings: a second route call to it finds the phone busy.
        second = await sim.place_call("905301110001", "Zeynep Arslan", ROUTE, answer_after=None)
        missed = await ami.event("UserEvent", Linkedid=second, UserEvent="CtiRouteNoAnswer")
        assert ami.frames[missed]["DialStatus"] == "BUSY"
        assert "DialBegin" not in names(ami.of(second))
        await sim.hangup(routed)
        await ami.event("DialEnd", Linkedid=routed, DialStatus="CANCEL")
        await ami.event("Hangup", Linkedid=routed, Uniqueid=routed)


async def test_unknown_agent_and_caller_giving_up_while_the_dial_rings() -> None:
    scripts = ({**AGENT, "CTI_ROUTE_AGENT": "SIP/9999"}, AGENT)
    async with running(AgiPeer(*scripts)) as (sim, ami):
        unknown = await sim.place_call("905321112233", "Fatma Demir", ROUTE, answer_after=None)
        missed = await ami.event("UserEvent", Linkedid=unknown, UserEvent="CtiRouteNoAnswer")
        assert (ami.frames[missed]["Agent"], ami.frames[missed]["DialStatus"]) == (
            "SIP/9999",
            "CHANUNAVAIL",
        )
        await ami.event("QueueCallerJoin", missed, Linkedid=unknown, Queue="collections")
        await sim.hangup(unknown)
        impatient = await sim.place_call(
            "905551112233", "Mehmet Öztürk", ROUTE, answer_after=None, patience_s=0.5
        )
        begin = await ami.event("DialBegin", Linkedid=impatient)
        await ami.event("Hangup", begin, Linkedid=impatient, Uniqueid=impatient)
        events = ami.of(impatient, begin)
        assert names(events).index("HangupRequest") < names(events).index("DialEnd")
        assert [f["DialStatus"] for f in events if f["Event"] == "DialEnd"] == ["CANCEL"]
        hangups = [f["Channel"] for f in events if f["Event"] == "Hangup"]
        assert hangups == [ami.frames[begin]["DestChannel"], ami.frames[begin]["Channel"]]
        assert "CtiRouteNoAnswer" not in names(events) and "QueueCallerJoin" not in names(events)
        assert not sim.pbx.devices["SIP/1001"].ringing


def test_route_point_configuration_is_checked() -> None:
    support = QueueConfig("support", "4440", (MemberConfig("SIP/1001", "Agent 1001"),))
    hold = QueueConfig("collections", "4449", ())
    point = RoutePointConfig(ROUTE, "4442", "collections", "support")
    with pytest.raises(ValueError, match="hold queue 'nowhere'"):
        SimConfig(
            queues=(support, hold),
            route_points=(RoutePointConfig(ROUTE, "4442", "nowhere", "support"),),
        )
    with pytest.raises(ValueError, match="must have no members"):
        SimConfig(
            queues=(support, hold),
            route_points=(RoutePointConfig(ROUTE, "4442", "support", "collections"),),
        )
    with pytest.raises(ValueError, match="DID 4440"):
        SimConfig(
            queues=(support, hold),
            route_points=(RoutePointConfig(ROUTE, "4440", "collections", "support"),),
        )
    sim_config = SimConfig(queues=(support, hold), route_points=(point,))
    assert sim_config.destination(ROUTE) is point
    assert [d.name for d in sim_config.destinations()] == ["support", ROUTE]
    with pytest.raises(KeyError, match="route points: collections-tr"):
        sim_config.destination("sales")
