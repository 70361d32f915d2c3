"""SIPp phones for the real-PBX tier: agents' phones (one SIPp UAS each) and callers (one
SIPp UAC per call, from the carrier's address). Scenarios are written per phone or call with
their numbers in them; DTMF is RFC 4733, played from the captures Debian's sip-tester ships
(SIPp's own ``play_dtmf`` sent nothing here)."""

from __future__ import annotations

import asyncio
import itertools
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

SIPP = "sipp"
DTMF_PCAPS = "/usr/share/sip-tester"  # Debian's sip-tester: one RFC 4733 capture per key
_media_ports = itertools.count(40000, 20)  # callers' RTP, away from Asterisk's range

_REPLY_HEADERS = """[last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>"""

_SDP = """v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-16"""


def agent_scenario(answer_after_ms: int | None) -> str:
    """An agent's phone: rings, answers after ``answer_after_ms`` (None: never), and takes
    a CANCEL while ringing (caller gone, another agent answered, ring timeout)."""
    ring_ms = answer_after_ms if answer_after_ms is not None else 3_600_000
    return f"""<?xml version="1.0" encoding="UTF-8" ?>
<scenario name="agent phone">
  <recv request="INVITE" crlf="true"/>
  <send><![CDATA[
      SIP/2.0 180 Ringing
      {_REPLY_HEADERS}
      Content-Length: 0
  ]]></send>
  <recv request="CANCEL" timeout="{ring_ms}" ontimeout="answer"/>
  <send><![CDATA[
      SIP/2.0 200 OK
      {_REPLY_HEADERS}
      Content-Length: 0
  ]]></send>
  <send><![CDATA[
      SIP/2.0 487 Request Terminated
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      CSeq: [last_cseq_number] INVITE
      Content-Length: 0
  ]]></send>
  <recv request="ACK" next="end"/>
  <label id="answer"/>
  <send retrans="500"><![CDATA[
      SIP/2.0 200 OK
      {_REPLY_HEADERS}
      Content-Type: application/sdp
      Content-Length: [len]

      {_SDP}
  ]]></send>
  <recv request="ACK" crlf="true"/>
  <recv request="BYE"/>
  <send><![CDATA[
      SIP/2.0 200 OK
      {_REPLY_HEADERS}
      Content-Length: 0
  ]]></send>
  <label id="end"/>
  <nop/>
</scenario>
"""


def caller_scenario(
    number: str,
    name: str,
    did: str,
    stay_s: float,
    dtmf: str | None = None,
    dtmf_after_s: float = 0.0,
) -> str:
    """A caller: dials ``did`` as "name" <number>, presses ``dtmf`` after ``dtmf_after_s``,
    and hangs up ``stay_s`` after the answer unless Asterisk hangs up first."""
    quoted = escape(name.replace('"', "'"))
    headers = f"""Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "{quoted}" <sip:{escape(number)}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:{did}@[remote_ip]:[remote_port]>"""
    press = ""
    rest_ms = int(stay_s * 1000)
    if dtmf is not None:
        press = (
            f'<pause milliseconds="{int(dtmf_after_s * 1000)}"/>\n'
            f'  <nop><action><exec play_pcap_audio="{DTMF_PCAPS}/dtmf_2833_{dtmf}.pcap"/>'
            "</action></nop>"
        )
        rest_ms = max(1, rest_ms - int(dtmf_after_s * 1000))
    return f"""<?xml version="1.0" encoding="UTF-8" ?>
<scenario name="caller">
  <send retrans="500"><![CDATA[
      INVITE sip:{did}@[remote_ip]:[remote_port] SIP/2.0
      {headers}
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: sip:{escape(number)}@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      {_SDP}
  ]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true"/>
  <send><![CDATA[
      ACK sip:{did}@[remote_ip]:[remote_port] SIP/2.0
      {headers}[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0
  ]]></send>
  {press}
  <recv request="BYE" timeout="{rest_ms}" ontimeout="hangup"/>
  <send next="end"><![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
  ]]></send>
  <label id="hangup"/>
  <send retrans="500"><![CDATA[
      BYE sip:{did}@[remote_ip]:[remote_port] SIP/2.0
      {headers}[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Max-Forwards: 70
      Content-Length: 0
  ]]></send>
  <recv response="200" crlf="true"/>
  <label id="end"/>
  <nop/>
</scenario>
"""


def media_port(host: str) -> int:
    """The next of our RTP ports whose few ports SIPp binds (RTP, RTCP, and the pair after
    them) are free on ``host`` now. The range lies within Linux's ephemeral ports, so another
    socket may hold one: a caller once failed with "Unable to bind audio RTP socket"."""
    while True:
        port = next(_media_ports)
        try:
            for offset in range(4):
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                    probe.bind((host, port + offset))
        except OSError:
            continue
        return port


def free_udp_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass
class AgentPhone:
    """One SIPp UAS on the port its static contact names: an agent's phone, or the customer's
    phone that outbound calls reach through the trunk (``host``: the carrier's address)."""

    extension: str
    port: int
    folder: Path
    process: subprocess.Popen[bytes] | None = None
    answer_after_ms: int | None = 1500
    host: str = "127.0.0.1"

    def start(self, answer_after_ms: int | None = 1500) -> None:
        self.stop()
        self.answer_after_ms = answer_after_ms
        scenario = self.folder / f"agent-{self.extension}.xml"
        scenario.write_text(agent_scenario(answer_after_ms), encoding="utf-8")
        log = (self.folder / f"agent-{self.extension}.log").open("ab")
        media = media_port(self.host)
        self.process = subprocess.Popen(
            [
                SIPP,
                "-sf",
                str(scenario),
                "-i",
                self.host,
                "-p",
                str(self.port),
                "-mp",
                str(media),
                "-aa",
                "-nostdin",
                "-trace_err",
                "-error_file",
                str(self.folder / f"agent-{self.extension}-errors.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
            stdin=subprocess.DEVNULL,
        )
        log.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None


@dataclass
class Caller:
    """One call from the carrier; ``finished()`` waits for SIPp and returns its exit code."""

    process: asyncio.subprocess.Process
    log: Path

    async def finished(self, timeout: float = 120.0) -> int:
        return await asyncio.wait_for(self.process.wait(), timeout)


_calls = itertools.count(1)


async def place_call(
    folder: Path,
    sip_port: int,
    carrier_ip: str,
    number: str,
    name: str,
    did: str,
    stay_s: float,
    dtmf: str | None = None,
    dtmf_after_s: float = 0.0,
) -> Caller:
    n = next(_calls)
    scenario = folder / f"caller-{n}.xml"
    scenario.write_text(
        caller_scenario(number, name, did, stay_s, dtmf, dtmf_after_s), encoding="utf-8"
    )
    media = media_port(carrier_ip)
    log = folder / f"caller-{n}.log"
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            SIPP,
            f"127.0.0.1:{sip_port}",
            "-sf",
            str(scenario),
            "-i",
            carrier_ip,
            "-p",
            str(free_udp_port(carrier_ip)),
            "-mp",
            str(media),
            "-m",
            "1",
            "-nostdin",
            "-timeout",
            "180s",
            "-timeout_error",
            "-error_file",
            str(folder / f"caller-{n}-errors.log"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=out,
            stdin=asyncio.subprocess.DEVNULL,
        )
    return Caller(process, log)
