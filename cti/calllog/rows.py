"""Changes to call-log rows (pure). Rows are plain JSON-able values so the spool can keep them.

A row is ``[kind, {column: value}]``: kind ``"call"`` (the columns of ``queries.CALL_COLUMNS``)
or ``"event"`` (``queries.EVENT_COLUMNS``; ``"event_once"`` for one learnt from a snapshot,
kept only if the call has no such event yet). Values are named, so this module, the SQL and
the writer never have to keep columns in the same order. Times are epoch seconds, turned into
timestamps only when written. Per-call events carry what KPIs are recomputed from; events with
no time (a snapshot replayed offline) are left out since their moment is unknown.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cti.phone import to_e164
from cti.state.changes import (
    AgentRingEnded,
    AgentRinging,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallOffered,
    CallRecord,
    Change,
    Outcome,
)

Row = list[Any]  # [kind, {column: value}]


def call_row(record: CallRecord, region: str) -> Row:
    return [
        "call",
        {
            "linkedid": record.linkedid,
            "caller_number": record.caller_number,
            "caller_e164": to_e164(record.caller_number, region),
            "caller_name": record.caller_name,
            "dialed": record.dialed,
            "direction": record.direction,
            "queue": record.queue,
            "agent": record.agent,
            "agent_name": record.agent_name,
            "outcome": str(record.outcome),
            "started_at": record.started_at,
            "queued_at": record.queued_at,
            "answered_at": record.answered_at,
            "ended_at": record.ended_at,
            "wait_s": record.wait_s,
            "talk_s": record.talk_s,
            "hold_s": record.hold_s,
            "abandon_position": record.abandon_position,
            "hangup_cause": record.hangup_cause,
            "no_answer_count": record.no_answer_count,
            "consent": record.consent,
            "consent_method": record.consent_method,
            "consent_at": record.consent_at,
            "recording": record.recording,
            "ended_while_disconnected": record.ended_while_disconnected,
            "through_gap": record.through_gap,
            "campaign_id": record.campaign_id,
            "attempt": record.attempt,
        },
    ]


def event_row(
    *,
    linkedid: str,
    at: float | None,
    kind: str,
    queue: str = "",
    interface: str = "",
    seconds: int | None = None,
    position: int | None = None,
    once: bool = False,
) -> list[Row]:
    """The event's row, or none for an event with no known time. ``once``: written only if
    the call has no such event yet (queries.INSERT_EVENT_ONCE), for facts learnt from a
    snapshot or from Asterisk's records."""
    if at is None:
        return []
    values = {
        "linkedid": linkedid,
        "at": at,
        "kind": kind,
        "queue": queue,
        "interface": interface,
        "seconds": seconds,
        "position": position,
    }
    return [["event_once" if once else "event", values]]


def rows_for(changes: Sequence[Change], region: str) -> list[Row]:
    rows: list[Row] = []
    for change in changes:
        match change:
            case CallOffered(ts=ts, linkedid=linkedid, queue=queue, position=position):
                rows += event_row(
                    linkedid=linkedid,
                    at=ts,
                    kind="queue_join",
                    queue=queue,
                    position=position,
                    once=change.resynced,
                )
            case AgentRinging(ts=ts, interface=interface, linkedid=linkedid, queue=queue):
                rows += event_row(
                    linkedid=linkedid,
                    at=ts,
                    kind="agent_ring",
                    queue=queue,
                    interface=interface,
                    once=change.resynced,
                )
            case AgentRingEnded(reason="no_answer"):
                rows += event_row(
                    linkedid=change.linkedid,
                    at=change.ts,
                    kind="agent_no_answer",
                    queue=change.queue,
                    interface=change.interface,
                )
            case CallAnswered():
                rows += event_row(
                    linkedid=change.linkedid,
                    at=change.ts,
                    kind="agent_connect",
                    queue=change.queue,
                    interface=change.interface,
                    seconds=change.wait_s,
                )
            case CallAbandoned():
                rows += event_row(
                    linkedid=change.linkedid,
                    at=change.ts,
                    kind="queue_abandon",
                    queue=change.queue,
                    seconds=change.wait_s,
                    position=change.position,
                )
            case CallEnded(record=record):
                rows.append(call_row(record, region))
                if record.outcome is Outcome.TIMED_OUT:
                    rows += event_row(
                        linkedid=record.linkedid,
                        at=change.ts,
                        kind="queue_leave",
                        queue=record.queue or "",
                        seconds=record.wait_s,
                    )
                rows += event_row(
                    linkedid=record.linkedid,
                    at=record.ended_at,
                    kind="call_end",
                    queue=record.queue or "",
                    interface=record.agent or "",
                    seconds=record.talk_s,
                )
    return rows
