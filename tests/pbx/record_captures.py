"""Record real AMI captures of the tier's scenarios, for the simulator's conformance test.

    CTI_TEST_ASTERISK=~/.cache/cti/asterisk-22.10.1 \\
        .venv/bin/python tests/pbx/record_captures.py tests/captures/real [scenario ...]

Run by hand, not by pytest. It starts the real Asterisk with the project's asterisk-conf/
and dialplan/ (the tier's overlay, its own run folder and free ports: a tier running at the
same time is left alone), the tier's SIPp phones, and, where a scenario needs it (the ACD's
route point asks the daemon's FastAGI), the daemon in this process. Each scenario is played
as the tier's test of it plays it, and ``<scenario>.ami`` is the exact byte stream that one
raw AMI client (tests/pbx/ami_reader.py) received, from the banner to a moment after the
last channel hung up. The client's own actions (Login, QueuePause, Originate) were sent on
that connection, so their responses are in the stream (ActionIDs ``raw-<n>``). The folder's
README.md lists the scenarios, what each must yield, and what Asterisk's queue_log said.

The tests/captures/real/ files in the repository were made by this script. Recording again
changes ids and times; the sequences tests/component/test_simulator_conformance.py compares
stayed the same over three recordings (where the daemon took part, as long as the daemon does
the same: the route point's captures include its wrap-up pause).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # the tier's modules and tests/harness.py

import phones  # noqa: E402
from ami_reader import Event, RawAmi  # noqa: E402
from conftest import Pbx, daemon_for  # noqa: E402
from facts import pause, reset_calls_and_pauses, seen  # noqa: E402

from cti.keys import STATE  # noqa: E402

SUPPORT_DID, SALES_DID, ACD_DID = "4440", "4441", "4442"  # dialplan/extensions_cti.conf
SETTLE_S = 2.0  # after the last hang-up: Cdr, member status and device state still come
# The daemon's wrap-up after a call it routed (the routing file's wrapup_s, 5 s) ends in the
# capture.
SETTLE_ACD_S = 7.0


@dataclass
class Run:
    """What a scenario plays with: the PBX and its phones, and the capturing reader."""

    pbx: Pbx
    ami: RawAmi

    async def pause(self, queue: str, *interfaces: str) -> None:
        await pause(self.ami, queue, *interfaces)

    async def unpause(self, queue: str, interface: str) -> None:
        await self.ami.action("QueuePause", Queue=queue, Interface=interface, Paused="false")

    async def call(
        self, number: str, name: str, did: str, stay_s: float, dtmf: str | None = None
    ) -> phones.Caller:
        return await self.pbx.call(number, name, did, stay_s, dtmf, 2.0 if dtmf else 0.0)

    async def seen(self, name: str, what: str, timeout: float = 60, **match: str) -> Event:
        return await seen(self.ami, name, what, timeout, **match)

    async def linkedid(self, number: str) -> str:
        event = await self.seen("Newchannel", f"a channel for {number}", CallerIDNum=number)
        return event["Linkedid"]


@dataclass(frozen=True)
class Scenario:
    name: str
    how: str  # how it is played
    yields: str  # what it must yield
    play: Callable[[Run], Awaitable[None]]
    daemon: bool = False
    silent_phones: tuple[str, ...] = ()  # phones that ring and never answer


# --- the scenarios (as tests/pbx/test_*.py play them) --------------------------------------


async def consent_granted(run: Run) -> None:
    caller = await run.call("905329900001", "Ayşe Çağrı Yılmaz", SUPPORT_DID, 16, dtmf="1")
    await caller.finished()


async def consent_declined(run: Run) -> None:
    caller = await run.call("905329900002", "Mehmet Öztürk", SUPPORT_DID, 16, dtmf="2")
    await caller.finished()


async def implied_consent(run: Run) -> None:
    caller = await run.call("905329900003", "José Müller", SALES_DID, 12)
    await caller.finished()


async def caller_abandon(run: Run) -> None:
    await run.pause("sales", "PJSIP/1003", "PJSIP/1004")
    caller = await run.call("905329900004", "Fatma Demir", SALES_DID, 9)
    await caller.finished()


async def queue_timeout(run: Run) -> None:
    await run.pause("sales", "PJSIP/1003", "PJSIP/1004")
    caller = await run.call("905329900005", "Mehmet Öztürk", SALES_DID, 40)
    await caller.finished()  # Asterisk hangs up after Queue()'s 16 s


async def ring_no_answer(run: Run) -> None:
    await run.pause("support", "PJSIP/1001")
    caller = await run.call("905329900006", "Ali Kaya", SUPPORT_DID, 30, dtmf="1")
    await caller.finished()


async def route_point_answered(run: Run) -> None:
    await run.pause("support", "PJSIP/1002")
    caller = await run.call("905329900007", "Zeynep Arslan", ACD_DID, 10)
    await caller.finished()


async def route_point_hold_then_move(run: Run) -> None:
    await run.pause("support", "PJSIP/1001", "PJSIP/1002")
    caller = await run.call("905329900008", "Emre Şahin", ACD_DID, 16)
    linkedid = await run.linkedid("905329900008")
    await run.seen("QueueCallerJoin", "the call on hold", Queue="collections", Uniqueid=linkedid)
    await asyncio.sleep(2)
    await run.unpause("support", "PJSIP/1001")  # the daemon moves the call to PJSIP/1001
    await caller.finished()


async def supervisor_listen(run: Run) -> None:
    await run.pause("support", "PJSIP/1002")
    await run.pause("sales", "PJSIP/1004")  # the supervisor's phone
    caller = await run.call("905329900009", "Elif Koç", SUPPORT_DID, 12, dtmf="1")
    linkedid = await run.linkedid("905329900009")
    await run.seen("AgentConnect", "the agent answering", Uniqueid=linkedid)
    # What cti/ami/actions.py spy() sends for a listen on PJSIP/1001 from PJSIP/1004.
    answer = await run.ami.action(
        "Originate",
        Channel="PJSIP/1004",
        Context="cti-spy-listen",
        Exten="1001",
        Priority="1",
        CallerID='"listen 1001" <1001>',
        Timeout="30000",
        Async="true",
    )
    if answer.get("Response") != "Success":
        raise RuntimeError(f"Originate: {answer}")
    await run.seen("ChanSpyStart", "ChanSpy starting")
    await caller.finished()
    await run.seen("ChanSpyStop", "ChanSpy stopping")


async def blind_transfer(run: Run) -> None:
    await run.pause("support", "PJSIP/1002")
    await run.pause("sales", "PJSIP/1004")  # PJSIP/1003 takes it, whatever rrmemory says
    caller = await run.call("905329900010", "Ece Tan", SUPPORT_DID, 16, dtmf="1")
    linkedid = await run.linkedid("905329900010")
    connect = await run.seen("AgentConnect", "the agent answering", Uniqueid=linkedid)
    await asyncio.sleep(1)
    # What cti/ami/actions.py blind_transfer() sends for a transfer to the sales queue.
    answer = await run.ami.action(
        "BlindTransfer", Channel=connect["DestChannel"], Context="cti-transfer-queue", Exten="sales"
    )
    if answer.get("Response") != "Success":
        raise RuntimeError(f"BlindTransfer: {answer}")
    await run.seen("AgentConnect", "a sales agent answering", Queue="sales", Uniqueid=linkedid)
    await caller.finished()


async def click_to_dial(run: Run) -> None:
    await run.pause("support", "PJSIP/1001")  # the agent dials out, not taking queue calls
    # What cti/ami/actions.py dial_out() sends for Ayla (PJSIP/1001) calling a customer.
    answer = await run.ami.action(
        "Originate",
        Channel="PJSIP/1001",
        Context="cti-outbound",
        Exten="905329900011",
        Priority="1",
        CallerID='"Deniz Aksoy" <905329900011>',
        Timeout="30000",
        Async="true",
        ChannelId="1796000000.1000000001",
    )
    if answer.get("Response") != "Success":
        raise RuntimeError(f"Originate: {answer}")
    await run.seen("MixMonitorStart", "the customer's consent and recording")
    await asyncio.sleep(4)
    # The agent hangs up (cti/ami/actions.py hang_up on the agent's leg).
    await run.ami.action("Hangup", Channel="/^PJSIP/1001-.*/")


async def attended_transfer(run: Run) -> None:
    await run.pause("support", "PJSIP/1002")  # PJSIP/1001 answers; 1002 is consulted
    caller = await run.call("905329900012", "Sena Yurt", SUPPORT_DID, 30, dtmf="1")
    linkedid = await run.linkedid("905329900012")
    connect = await run.seen("AgentConnect", "the agent answering", Uniqueid=linkedid)
    await asyncio.sleep(1)
    # What cti/ami/actions.py attended_transfer() sends to consult PJSIP/1002.
    answer = await run.ami.action(
        "Atxfer", Channel=connect["DestChannel"], Context="cti-transfer-agent", Exten="1002"
    )
    if answer.get("Response") != "Success":
        raise RuntimeError(f"Atxfer: {answer}")
    await run.ami.wait_for(
        lambda events: any(
            e.get("Event") == "DialEnd"
            and e.get("DestChannel", "").startswith("PJSIP/1002-")
            and e.get("DialStatus") == "ANSWER"
            for e in events
        ),
        "PJSIP/1002 answering the consultation",
        60,
    )
    await asyncio.sleep(2)
    # The agent completes it by hanging up their own leg (the panel's Complete).
    answer = await run.ami.action("Hangup", Channel=connect["DestChannel"])
    await run.seen("AttendedTransfer", "the transfer done")
    await caller.finished()


SCENARIOS = (
    Scenario(
        "consent-granted",
        "DID 4440 (support, explicit consent); the caller presses 1 after 2 s and hangs "
        "up 16 s after Asterisk answered; both support agents ready.",
        "one call: RecordingConsent granted/dtmf, MixMonitorStart, answered by the agent "
        "app_queue rang (AgentConnect), caller hangs up (AgentComplete Reason caller); "
        "outcome answered, recorded.",
        consent_granted,
    ),
    Scenario(
        "consent-declined",
        "As consent-granted, the caller presses 2.",
        "one call: RecordingConsent declined/dtmf, no MixMonitorStart; answered; outcome "
        "answered, not recorded.",
        consent_declined,
    ),
    Scenario(
        "implied-consent",
        "DID 4441 (sales, implied consent); the caller hangs up 12 s after the answer.",
        "one call: RecordingConsent granted/implied, MixMonitorStart; answered by a sales "
        "agent; outcome answered, recorded.",
        implied_consent,
    ),
    Scenario(
        "caller-abandon",
        "Both sales agents paused; DID 4441; the caller hangs up 9 s after the answer.",
        "one call: consent granted/implied, QueueCallerJoin sales, the caller's "
        "HangupRequest, QueueCallerAbandon, QueueCallerLeave; outcome abandoned.",
        caller_abandon,
    ),
    Scenario(
        "queue-timeout",
        "Both sales agents paused; DID 4441; the caller would stay 40 s, Queue()'s "
        "timeout (16 s in the tier's overlay) comes first and the dialplan hangs up.",
        "one call: QueueCallerAbandon and QueueCallerLeave with no HangupRequest of the "
        "caller before them (queue_log EXITWITHTIMEOUT); outcome timed_out.",
        queue_timeout,
    ),
    Scenario(
        "ring-no-answer",
        "PJSIP/1002's phone never answers, PJSIP/1001 paused; DID 4440, the caller "
        "presses 1 and would stay 30 s.",
        "one call: AgentCalled PJSIP/1002, AgentRingNoAnswer after 12 s, rung again, "
        "then Queue()'s timeout (16 s); outcome timed_out, no_answer_count 1.",
        ring_no_answer,
        silent_phones=("1002",),
    ),
    Scenario(
        "route-point-answered",
        "The daemon runs (its FastAGI); PJSIP/1002 paused in support; DID 4442 (ACD "
        "route point collections-tr); the caller hangs up 10 s after the answer.",
        "one call: CtiRoute, the daemon's answer dials PJSIP/1001 (DialBegin/DialEnd "
        "ANSWER, no app_queue events); outcome answered by PJSIP/1001; then the "
        "daemon's wrap-up of a call it routed: PJSIP/1001 paused with reason Wrap-up "
        "and unpaused 5 s later (the routing file's wrapup_s).",
        route_point_answered,
        daemon=True,
    ),
    Scenario(
        "route-point-hold-then-move",
        "The daemon runs; both support agents paused; DID 4442; the call holds in "
        "collections; 2 s later PJSIP/1001 is unpaused in support and the daemon "
        "moves the call (Setvar, Redirect to cti-route,agent); the caller hangs up 16 s "
        "after the answer.",
        "one call: CtiRoute, QueueCallerJoin collections, QueueCallerAbandon and "
        "QueueCallerLeave without a HangupRequest (the Redirect), DialBegin/DialEnd "
        "ANSWER to PJSIP/1001; outcome answered (not abandoned), wait from CtiRoute; "
        "then the daemon's Wrap-up pause and unpause of PJSIP/1001.",
        route_point_hold_then_move,
        daemon=True,
    ),
    Scenario(
        "supervisor-listen",
        "PJSIP/1002 paused in support, PJSIP/1004 (the supervisor) in sales; DID 4440, "
        "the caller presses 1 and hangs up 12 s after the answer; once PJSIP/1001 "
        "answered, the AMI Originate of cti/ami/actions.py spy() (PJSIP/1004 into "
        "cti-spy-listen, 1001).",
        "two calls: the customer's call answered by PJSIP/1001; the supervisor's leg "
        "(its own Linkedid): OriginateResponse Success, ChanSpyStart on PJSIP/1001, "
        "ChanSpyStop when the customer's call ends; the spy leg is never a call.",
        supervisor_listen,
    ),
    Scenario(
        "blind-transfer",
        "PJSIP/1002 paused in support, PJSIP/1004 in sales; DID 4440, the caller presses 1 "
        "and hangs up 16 s "
        "after the answer; 1 s after PJSIP/1001 answered, the AMI BlindTransfer of "
        "cti/ami/actions.py blind_transfer() (PJSIP/1001's leg to cti-transfer-queue, sales).",
        "one call: answered in support by PJSIP/1001; BlindTransfer Success; the caller "
        "joins sales before AgentComplete Reason transfer; PJSIP/1001's leg hangs up "
        "without a HangupRequest; PJSIP/1003 answers; outcome transferred, the row naming "
        "sales and PJSIP/1003, both passages in call_events.",
        blind_transfer,
    ),
    Scenario(
        "click-to-dial",
        "PJSIP/1001 paused in support; the AMI Originate of cti/ami/actions.py dial_out() "
        "(PJSIP/1001 into cti-outbound, the customer's number, ChannelId chosen by the "
        "daemon); the customer's phone behind the trunk answers after 1.5 s; 4 s after "
        "their recording started, the agent's leg is hung up (AMI Hangup).",
        "one call, its Linkedid the ChannelId: PJSIP/1001's leg rings and answers, Dial to "
        "PJSIP/trunk (DialBegin, DialEnd ANSWER), the consent notice on the customer's leg "
        "(RecordingConsent granted/implied, MixMonitorStart), both legs bridged; outcome "
        "answered, direction outbound, agent PJSIP/1001, recorded.",
        click_to_dial,
    ),
    Scenario(
        "attended-transfer",
        "PJSIP/1002 paused in support; DID 4440, the caller presses 1 and hangs up 30 s after "
        "the answer; 1 s after PJSIP/1001 answered, the AMI Atxfer of cti/ami/actions.py "
        "attended_transfer() (PJSIP/1001's leg, cti-transfer-agent, 1002); 2 s after PJSIP/1002 "
        "answered the consultation, PJSIP/1001's leg is hung up (AMI Hangup), which completes it.",
        "one call: answered in support by PJSIP/1001; the consultation dialled from 1001's "
        "leg to PJSIP/1002 (DialBegin/DialEnd ANSWER) while the caller holds; AttendedTransfer "
        "Success when 1001 hangs up; the caller then talks to PJSIP/1002; outcome transferred.",
        attended_transfer,
    ),
)


# --- the PBX ---------------------------------------------------------------------------


class Recorder:
    def __init__(self, home: Path, run: Path, database_url: str) -> None:
        self.database_url = database_url
        self.pbx = Pbx.prepared(home, run, database_url)
        self.asterisk, self.phones = self.pbx.asterisk, self.pbx.phones
        self.facts: dict[str, list[str]] = {}

    async def reset(self, silent: tuple[str, ...]) -> None:
        """No call left, every member unpaused, the phones as the scenario wants them, and
        every agent's wrap-up over (queues.conf wrapuptime = 5 s)."""
        control = self.pbx.reader()
        await control.connect()
        try:
            await reset_calls_and_pauses(control)
        finally:
            await control.close()
        restarted = False
        for ext, phone in self.phones.items():
            wanted = None if ext in silent else 1500
            if phone.answer_after_ms != wanted or phone.process is None:
                phone.start(answer_after_ms=wanted)
                restarted = True
        if restarted:
            await asyncio.sleep(2.5)  # a qualify round, so Asterisk sees the new phone
            await asyncio.to_thread(self.asterisk.wait_phones_reachable, 30)
        await asyncio.sleep(6)

    async def record(self, scenario: Scenario, folder: Path, data_dir: Path) -> None:
        await self.reset(scenario.silent_phones)
        queue_log_before = len(self.asterisk.queue_log())
        errors_before = len(self.asterisk.errors())
        async with AsyncExitStack() as stack:
            if scenario.daemon:
                data_dir.mkdir(parents=True, exist_ok=True)
                daemon = daemon_for(self.pbx, self.database_url, data_dir)
                live = await stack.enter_async_context(daemon)
                state = live.app[STATE]
                deadline = time.monotonic() + 60
                while not state.agents:  # logged in and resynced
                    if time.monotonic() > deadline:
                        raise RuntimeError("the daemon did not log in within 60 s")
                    await asyncio.sleep(0.05)
            ami = self.pbx.reader()
            await ami.connect()
            stack.push_async_callback(ami.close)
            started = time.monotonic()
            await asyncio.wait_for(scenario.play(Run(self.pbx, ami)), 180)
            await ami.wait_for(_all_hung_up, "every channel hung up", 60)
            await asyncio.sleep(SETTLE_ACD_S if scenario.daemon else SETTLE_S)
            (folder / f"{scenario.name}.ami").write_bytes(bytes(ami.raw))
            took = time.monotonic() - started
        errors = self.asterisk.errors()[errors_before:]
        if errors:
            raise RuntimeError(f"{scenario.name}: Asterisk logged errors:\n" + "\n".join(errors))
        lines = self.asterisk.queue_log()[queue_log_before:]
        self.facts[scenario.name] = [
            f"{line.queue} {line.agent} {line.event} ({', '.join(line.data)})"
            for line in lines
            if line.event not in ("PAUSE", "UNPAUSE", "PAUSEALL", "UNPAUSEALL", "ADDMEMBER")
        ]
        size = (folder / f"{scenario.name}.ami").stat().st_size
        print(
            f"{scenario.name}: {size:,} bytes, {len(ami.events)} events, {took:.0f} s", flush=True
        )


def _all_hung_up(events: list[Event]) -> bool:
    born = {e["Uniqueid"] for e in events if e.get("Event") == "Newchannel"}
    gone = {e["Uniqueid"] for e in events if e.get("Event") == "Hangup"}
    return bool(born) and born <= gone


def write_readme(folder: Path, recorder: Recorder, version: str) -> None:
    lines = [
        "# Real AMI captures of the tier's scenarios",
        "",
        f"Recorded by `tests/pbx/record_captures.py` with {version}, running the project's",
        "`asterisk-conf/` and `dialplan/` with the tier's overlay (tests/pbx/overlay: queue",
        "timeout 16 s, hold 20 s), chan_pjsip endpoints `PJSIP/1001`-`1004` answered by SIPp",
        "(1.5 s of ringing), callers from SIPp at the carrier's address. Each `.ami` file is",
        "the exact byte stream one AMI client (user `cti`, read `call,agent,user,system,cdr`:",
        "no VarSet or Newexten) received, from the banner to 2 s after the last hang-up (7 s",
        "with the daemon, so its wrap-up ends in the file). That client's own actions are in",
        "it as responses (`raw-<n>`): Login, the scenario's QueuePause, the Originate. The",
        "daemon, where it ran, had a connection of its own: its actions' responses are not",
        "here, their events are.",
        "",
        "The scenarios were played in the order below, one after the other on one Asterisk,",
        "each after every member was unpaused, every phone answering again and the queues'",
        "wrap-up over: rrmemory carries over (consent-declined rings PJSIP/1002 because",
        "consent-granted went to PJSIP/1001).",
        "",
        "`tests/component/test_simulator_conformance.py` plays each scenario on the simulator",
        "and compares, per call and channel, the events the daemon consumes and their key",
        "fields, and each member's status and pause events. Two things Asterisk does either",
        "way from one run to the next: a QueueMemberStatus saying the phone is in use comes",
        "before or after AgentConnect (InCall 0 or 1), and OriginateResponse before or after",
        "the DialEnd of the same answer.",
        "",
        "| capture | how it is played | what it must yield | Asterisk's queue_log (queue, "
        "agent, event, data; pauses left out) |",
        "|---|---|---|---|",
    ]
    readme = folder / "README.md"
    earlier = readme.read_text(encoding="utf-8").splitlines() if readme.exists() else []
    for scenario in SCENARIOS:
        row = f"| `{scenario.name}.ami` |"
        if scenario.name in recorder.facts:
            facts = "<br>".join(recorder.facts[scenario.name]) or "none (Dial, not app_queue)"
            lines.append(f"{row} {scenario.how} | {scenario.yields} | {facts} |")
        else:  # not recorded this time: the row of the file that is still there
            lines += [line for line in earlier if line.startswith(row)]
    readme.write_text("\n".join(lines) + "\n", encoding="utf-8")


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("scenarios", nargs="*", help="names (default: all)")
    args = parser.parse_args(argv)
    home = Path(os.environ.get("CTI_TEST_ASTERISK", ""))
    if not (home / "sbin" / "asterisk").is_file():
        parser.error("set CTI_TEST_ASTERISK to a folder with sbin/asterisk")
    chosen = [s for s in SCENARIOS if not args.scenarios or s.name in args.scenarios]
    unknown = set(args.scenarios) - {s.name for s in SCENARIOS}
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    args.folder.mkdir(parents=True, exist_ok=True)
    # Callers' and phones' RTP away from a tier running at the same time (it counts from 40000).
    phones._media_ports = itertools.count(52000, 20)
    work = Path(tempfile.mkdtemp(prefix="cti-record-"))
    print(f"run folder: {work}", flush=True)
    from pgserver import get_server  # type: ignore[attr-defined]

    pg = get_server(work / "pg", cleanup_mode="stop")
    recorder: Recorder | None = None
    try:
        pg.psql("CREATE DATABASE record;")
        recorder = Recorder(home, work / "asterisk", str(pg.get_uri("record")))
        recorder.pbx.start()
        version = recorder.asterisk.cli("core show version").strip().split(" built ")[0]
        for scenario in chosen:
            await recorder.record(scenario, args.folder, work / "daemon" / scenario.name)
        write_readme(args.folder, recorder, version)
    finally:
        if recorder is not None:
            recorder.pbx.stop()
        pg.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
