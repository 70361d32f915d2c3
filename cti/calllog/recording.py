"""Muting a call's recording while the customer reads card data, with who and when.

Asterisk has no PauseMixMonitor action: ``MixMonitorMute`` silences the running recording.
We send it on the caller's channel (where the dialplan started MixMonitor after consent)
and store every mute/unmute; a call whose caller declined has no recording to mute.
"""

from __future__ import annotations

from cti.ami import actions
from cti.ami.connection import AmiClient
from cti.calllog import queries
from cti.database import Database
from cti.state import views
from cti.state.store import CtiState


class NothingToMute(Exception):
    pass


async def set_recording_muted(
    ami: AmiClient,
    database: Database,
    state: CtiState,
    linkedid: str,
    muted: bool,
    by_user: str,
) -> None:
    call = views.call(state, linkedid)
    if call is None:
        raise NothingToMute(f"call {linkedid} is not in progress")
    if call.consent == "declined" or not call.recorded:
        raise NothingToMute(f"call {linkedid} is not being recorded")
    if call.caller_channel is None:
        raise NothingToMute(f"the caller of {linkedid} has hung up")
    await actions.mixmonitor_mute(ami, call.caller_channel, muted)
    pool = await database.pool()
    await pool.execute(queries.INSERT_MUTE, linkedid, muted, by_user)
