"""An inbound call's walk through the dialplan, from the trunk to a queue or a route point.

Each call is one task owned by the ``Pbx`` (``run_call``) that walks the project's dialplan:
[from-trunk] sets the DID's queue and consent mode, [cti-inbound] answers, plays the
recording notice, asks for consent (the consent AGI's variables and UserEvent), starts
MixMonitor when granted, and runs Queue() (``app_queue.py`` takes the caller from there).
A route point's DID goes to [cti-route] after consent instead (``route_point.py``).

The caller's patience starts once, after consent and before the queue or the route point:
moving between extensions or queues never renews it.
"""

from __future__ import annotations

import math
import struct
import time
import uuid
import wave
from pathlib import Path
from typing import TYPE_CHECKING

from cti.simulator import app_queue, route_point
from cti.simulator.model import CONSENT_CONTEXT, INBOUND_CONTEXT, Call, Channel

if TYPE_CHECKING:
    from cti.simulator.pbx import Pbx


async def run_call(pbx: Pbx, call: Call) -> None:
    caller, spec, point = call.caller, call.spec, call.point
    mode = point.consent if point is not None else pbx.queues[spec.queue].config.consent
    try:
        _arrive(pbx, call)
        if spec.consent is not None and mode != "none":
            if await call.hung_up_within(pbx.config.announcement_s):
                return pbx.hang_up_unqueued(call)
            _consent(pbx, call, spec.consent, mode)
        # Patience runs from here whatever the caller then waits in (a Dial, holding,
        # queues): a route point that holds the call again and again cannot renew it.
        if spec.patience_s is not None:
            call.deadline = time.monotonic() + spec.patience_s
        if point is not None:
            return await route_point.walk(pbx, call)
        pbx.exten(caller, 4, "Queue", app_queue.app_data(pbx, spec.queue))
        app_queue.join(pbx, call, spec.queue, pbx.config.queue_timeout_s)
        if await app_queue.wait_in_queue(pbx, call) is None:  # Queue()'s timeout: then Hangup()
            pbx.exten(caller, 5, "Hangup", "")
            pbx.dialplan_end(caller, call)
    finally:
        for attempt in list(call.attempts.values()):
            if attempt.task is not None:
                attempt.task.cancel()
        if call.dial is not None and call.dial.task is not None:
            call.dial.task.cancel()
        pbx.calls.pop(caller.linkedid, None)


def _arrive(pbx: Pbx, call: Call) -> None:
    """[from-trunk] sets the DID's queue and consent mode and goes to [cti-inbound],
    which answers: the caller, born ringing, is Up there (no Newstate to Ring)."""
    c = call.caller
    for variable, value in (
        ("SIPURI", f"sip:{c.caller_num}@203.0.113.10:5060"),
        ("SIPDOMAIN", "203.0.113.10"),
        ("SIPCALLID", f"{uuid.uuid4().hex[:12]}@203.0.113.10"),
    ):
        pbx.varset(c, variable, value)
    pbx.exten(c, 1, "NoOp", f"Inbound {call.spec.queue}")
    pbx.exten(c, 5, "Goto", f"{INBOUND_CONTEXT},s,1")
    c.context, c.exten = INBOUND_CONTEXT, "s"
    pbx.exten(c, 1, "Answer", "")
    pbx.set_state(c, 6)


def _consent(pbx: Pbx, call: Call, consent: str, mode: str) -> None:
    pbx.exten(call.caller, 2, "Gosub", f"{CONSENT_CONTEXT},s,1")
    consent_step(pbx, call.caller, consent, mode)


def consent_step(pbx: Pbx, channel: Channel, consent: str, mode: str, language: str = "en") -> None:
    """[cti-consent] on ``channel``, once the recording notice has played: the consent
    AGI's variables and UserEvent, then MixMonitor when granted (and the stand-in recording
    file). The inbound caller's Gosub and the outbound customer's (Dial's U() option) alike;
    the events of the step name the gosub's context and extension, and its Return takes the
    channel back to where it was."""
    c = channel
    method = "implied" if mode == "implied" else "dtmf"
    back = c.context, c.exten
    c.context, c.exten = CONSENT_CONTEXT, "s"
    pbx.exten(c, 1, "Set", f"CHANNEL(language)={language}")
    c.language = language
    pbx.exten(c, 3, "AGI", f"cti-consent,{mode},declined,5")
    # The consent AGI (cti/agi/consent.py) sets CONSENT and CONSENT_METHOD, then sends
    # the UserEvent; the variables stay on the channel for AMI's Status to show.
    pbx.varset(c, "CONSENT", consent)
    pbx.varset(c, "CONSENT_METHOD", method)
    pbx.emit(
        "UserEvent",
        "user,all",
        c.fields(),
        {
            "UserEvent": "RecordingConsent",
            "Consent": consent,
            "Method": method,
        },
    )
    pbx.exten(c, 4, "GotoIf", "1?consented")
    pbx.exten(c, 10, "GotoIf", f"{int(consent != 'granted')}?done")
    if consent == "granted":
        pbx.exten(c, 12, "MixMonitor", f"{c.uniqueid}.wav,b")
        pbx.varset(c, "MIXMONITOR_FILENAME", f"/var/spool/asterisk/monitor/{c.uniqueid}.wav")
        pbx.emit("MixMonitorStart", "call,all", c.fields())
        if pbx.config.recordings_dir is not None:
            write_tone(pbx.config.recordings_dir / f"{c.uniqueid}.wav")
    pbx.exten(c, 13, "Return", "")
    c.context, c.exten = back


def write_tone(path: Path, seconds: float = 2.0, hertz: float = 440.0) -> None:
    """A stand-in recording: 8 kHz mono 16-bit PCM, as MixMonitor writes .wav files."""
    rate = 8000
    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * hertz * i / rate)))
        for i in range(int(rate * seconds))
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
