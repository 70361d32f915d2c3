"""Changes to call-log rows (pure). Rows are plain JSON-able lists so the spool can keep them.

A row is ``["call", [...]]`` (columns of ``queries.CALL_COLUMNS``) or ``["event", [...]]``
(columns of ``queries.EVENT_COLUMNS``; ``"event_once"`` for one learnt from a snapshot, kept
only if the call has no such event yet); times are epoch seconds, turned into timestamps only
when written. Per-call events carry what KPIs are recomputed from; events with no time (a
snapshot replayed offline) are left out since their moment is unknown.
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

Row = list[Any]


def call_row(record: CallRecord, region: str) -> Row:
    return [
        record.linkedid,
        record.caller_number,
        to_e164(record.caller_number, region),
        record.caller_name,
        record.dialed,
        "inbound" if record.queue else "other",
        record.queue,
        record.agent,
        record.agent_name,
        str(record.outcome),
        record.started_at,
        record.queued_at,
        record.answered_at,
        record.ended_at,
        record.wait_s,
        record.talk_s,
        record.hold_s,
        record.abandon_position,
        record.hangup_cause,
        record.no_answer_count,
        record.consent,
        record.consent_method,
        record.consent_at,
        record.recording,
        record.ended_while_disconnected,
        record.through_gap,
    ]


def _event(
    linkedid: str,
    at: float | None,
    kind: str,
    queue: str = "",
    interface: str = "",
    seconds: int | None = None,
    position: int | None = None,
    resynced: bool = False,
) -> list[Row]:
    if at is None:
        return []
    # "event_once": written only if the call has no such event yet (queries.INSERT_EVENT_ONCE)
    row_kind = "event_once" if resynced else "event"
    return [[row_kind, [linkedid, at, kind, queue, interface, seconds, position]]]


def rows_for(changes: Sequence[Change], region: str) -> list[Row]:
    rows: list[Row] = []
    for change in changes:
        match change:
            case CallOffered(ts, linkedid, queue, _, _, position, resynced):
                rows += _event(
                    linkedid, ts, "queue_join", queue, position=position, resynced=resynced
                )
            case AgentRinging(ts, interface, _, linkedid, queue, _, _, _, resynced):
                rows += _event(linkedid, ts, "agent_ring", queue, interface, resynced=resynced)
            case AgentRingEnded(ts, interface, linkedid, queue, "no_answer"):
                rows += _event(linkedid, ts, "agent_no_answer", queue, interface)
            case CallAnswered(ts, linkedid, queue, interface, _, wait_s):
                rows += _event(linkedid, ts, "agent_connect", queue, interface, wait_s)
            case CallAbandoned(ts, linkedid, queue, position, wait_s):
                rows += _event(linkedid, ts, "queue_abandon", queue, "", wait_s, position)
            case CallEnded(ts, record):
                rows.append(["call", call_row(record, region)])
                if record.outcome is Outcome.TIMED_OUT:
                    rows += _event(
                        record.linkedid, ts, "queue_leave", record.queue or "", "", record.wait_s
                    )
                rows += _event(
                    record.linkedid,
                    record.ended_at,
                    "call_end",
                    record.queue or "",
                    record.agent or "",
                    record.talk_s,
                )
    return rows
