"""Every SQL statement of the call log, with ``$n`` parameters only."""

from __future__ import annotations

CALL_COLUMNS = (
    "linkedid", "caller_number", "caller_e164", "caller_name", "dialed", "direction", "queue",
    "agent", "agent_name", "outcome", "started_at", "queued_at", "answered_at", "ended_at",
    "wait_s", "talk_s", "hold_s", "abandon_position", "hangup_cause", "no_answer_count",
    "consent", "consent_method", "consent_at", "recording", "ended_while_disconnected",
    "through_gap",
)  # fmt: skip
CALL_TIME_COLUMNS = frozenset({"started_at", "queued_at", "answered_at", "ended_at", "consent_at"})

EVENT_COLUMNS = ("linkedid", "at", "kind", "queue", "interface", "seconds", "position")
EVENT_TIME_COLUMNS = frozenset({"at"})


# Columns the daemon always knows; the others may be unknown (NULL) to it, e.g. the end of a
# call that ended while it was away, which Asterisk's records may have given already.
_ALWAYS_KNOWN = frozenset({"caller_number", "caller_name", "dialed", "direction", "outcome",
                           "hold_s", "no_answer_count", "ended_while_disconnected",
                           "through_gap"})  # fmt: skip


def _upsert_calls() -> str:
    """The daemon's row wins, except where it knows less than the row already there: a NULL
    keeps the stored value, an 'unknown' outcome keeps a known one (reconcile.py may have
    written them from Asterisk's records first)."""
    columns = ", ".join(CALL_COLUMNS)
    params = ", ".join(f"${i}" for i in range(1, len(CALL_COLUMNS) + 1))
    updates = ", ".join(
        f"{c} = EXCLUDED.{c}" if c in _ALWAYS_KNOWN else f"{c} = COALESCE(EXCLUDED.{c}, calls.{c})"
        for c in CALL_COLUMNS[1:] if c != "outcome"
    )
    return (f"INSERT INTO calls ({columns}) VALUES ({params}) "
            f"ON CONFLICT (linkedid) DO UPDATE SET {updates}, "
            "outcome = CASE WHEN EXCLUDED.outcome = 'unknown' THEN calls.outcome "
            "ELSE EXCLUDED.outcome END, "
            "facts_source = CASE WHEN calls.facts_source = 'ami' THEN 'ami' "
            "ELSE 'ami+asterisk' END")  # fmt: skip


UPSERT_CALL = _upsert_calls()

INSERT_EVENT = (
    f"INSERT INTO call_events ({', '.join(EVENT_COLUMNS)}) "
    f"VALUES ({', '.join(f'${i}' for i in range(1, len(EVENT_COLUMNS) + 1))}) "
    "ON CONFLICT DO NOTHING"
)

# An event learnt from a snapshot after a restart or reconnect (a caller already queued, an
# agent already ringing) has only an estimated time: it is written only when the call has no
# such event yet, so a resync never doubles a queue_join or an agent_ring.
INSERT_EVENT_ONCE = (
    f"INSERT INTO call_events ({', '.join(EVENT_COLUMNS)}) "
    "SELECT $1::text, $2::timestamptz, $3::text, $4::text, $5::text, $6::integer, $7::integer "
    "WHERE NOT EXISTS (SELECT 1 FROM call_events WHERE linkedid = $1 AND kind = $3 "
    "AND queue = $4 AND interface = $5) ON CONFLICT DO NOTHING"
)

INSERT_QUARANTINE = (
    "INSERT INTO call_log_quarantine (kind, linkedid, row_json, reason) VALUES ($1, $2, $3, $4)"
)

INSERT_MUTE = "INSERT INTO recording_mutes (linkedid, muted, by_user) VALUES ($1, $2, $3)"
