"""An agent's outbound call, as the daemon places it: for click-to-dial (cti/http/agent.py)
and for a campaign's attempt (cti/campaigns/dialer.py).

The state core is told first (``OutboundRequested``, through the one ordered pipeline), then
Asterisk is asked (AMI Originate with the agent leg's Uniqueid chosen here): so the core
knows the call from the first event of its channel (cti/state/outbound.py).
"""

from __future__ import annotations

import secrets

from cti.ami import actions
from cti.ami import events as ev
from cti.ami.connection import AmiClient
from cti.clock import CenterClock
from cti.pipeline import Pipeline


async def call_out(
    pipeline: Pipeline,
    ami: AmiClient,
    clock: CenterClock,
    phone: str,
    number: str,
    name: str,
    campaign_id: int | None = None,
    attempt: int | None = None,
    shown_number: str | None = None,
) -> str:
    """Ring ``phone``, then ``number`` (E.164 digits, no +); the call's Linkedid. Raises
    AmiError when Asterisk refuses it (the core forgets the request by itself)."""
    now = clock.now()
    channel_id = actions.outbound_channel_id(now, secrets.randbelow(1_000_000))
    pipeline.submit_event(
        ev.OutboundRequested(
            ts=now,
            channel_id=channel_id,
            interface=phone,
            number=number,
            name=name,
            campaign_id=campaign_id,
            attempt=attempt,
        )
    )
    await actions.dial_out(ami, phone, number, name, channel_id, shown_number)
    return channel_id
