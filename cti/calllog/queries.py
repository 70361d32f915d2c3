"""Every SQL statement of the call log, with ``$n`` parameters only."""

from __future__ import annotations

CALL_COLUMNS = (
    "linkedid",
    "caller_number",
    "caller_e164",
    "caller_name",
    "dialed",
    "direction",
    "queue",
    "agent",
    "agent_name",
    "outcome",
    "started_at",
    "queued_at",
    "answered_at",
    "ended_at",
    "wait_s",
    "talk_s",
    "hold_s",
    "abandon_position",
    "hangup_cause",
    "no_answer_count",
    "consent",
    "consent_method",
    "consent_at",
    "recording",
    "ended_while_disconnected",
    "through_gap",
)
CALL_TIME_COLUMNS = frozenset({"started_at", "queued_at", "answered_at", "ended_at", "consent_at"})

EVENT_COLUMNS = ("linkedid", "at", "kind", "queue", "interface", "seconds", "position")
EVENT_TIME_COLUMNS = frozenset({"at"})


# Columns the daemon always knows; the others may be unknown (NULL) to it, e.g. the end of a
# call that ended while it was away, which Asterisk's records may have given already.
_ALWAYS_KNOWN = frozenset(
    {
        "caller_number",
        "caller_name",
        "dialed",
        "direction",
        "outcome",
        "hold_s",
        "no_answer_count",
        "ended_while_disconnected",
        "through_gap",
    }
)


def _upsert_calls() -> str:
    """The daemon's row wins, except where it knows less than the row already there: a NULL
    keeps the stored value, an 'unknown' outcome keeps a known one (reconcile.py may have
    written them from Asterisk's records first)."""
    columns = ", ".join(CALL_COLUMNS)
    params = ", ".join(f"${i}" for i in range(1, len(CALL_COLUMNS) + 1))
    updates = ", ".join(
        f"{c} = EXCLUDED.{c}" if c in _ALWAYS_KNOWN else f"{c} = COALESCE(EXCLUDED.{c}, calls.{c})"
        for c in CALL_COLUMNS[1:]
        if c != "outcome"
    )
    return (
        f"INSERT INTO calls ({columns}) VALUES ({params}) "
        f"ON CONFLICT (linkedid) DO UPDATE SET {updates}, "
        "outcome = CASE WHEN EXCLUDED.outcome = 'unknown' THEN calls.outcome "
        "ELSE EXCLUDED.outcome END, "
        "facts_source = CASE WHEN calls.facts_source = 'ami' THEN 'ami' "
        "ELSE 'ami+asterisk' END"
    )


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


# --- reconciliation from Asterisk's records (cti/calllog/reconcile.py) -------------------

# Calls Asterisk ended (CEL LINKEDID_END) since $1 that the call log has not closed, or that
# lived through a gap and were not completed yet; never a supervisor's spy call.
MISSED_CALLS = """
SELECT e.linkedid, max(e.eventtime) AS ended_at
FROM asterisk_cel e
WHERE e.eventtype = 'LINKEDID_END' AND e.eventtime >= $1 AND e.linkedid <> ''
  AND NOT EXISTS (SELECT 1 FROM calls c WHERE c.linkedid = e.linkedid
                  AND c.ended_at IS NOT NULL AND NOT (c.through_gap AND c.facts_source = 'ami'))
  AND NOT EXISTS (SELECT 1 FROM asterisk_cel s
                  WHERE s.linkedid = e.linkedid AND s.context LIKE 'cti-spy%')
GROUP BY e.linkedid
ORDER BY ended_at
"""
FIRST_LEGS = """
SELECT DISTINCT ON (linkedid) linkedid, eventtime, cid_num, cid_name, exten
FROM asterisk_cel
WHERE linkedid = ANY($1::text[]) AND eventtype = 'CHAN_START'
ORDER BY linkedid, (uniqueid = linkedid) DESC, eventtime
"""
QUEUE_LOG = """
SELECT callid, extract(epoch FROM time::timestamp AT TIME ZONE 'UTC')::float8 AS at,
       queuename, agent, event, data1, data2, data3
FROM asterisk_queue_log
WHERE callid = ANY($1::text[])
ORDER BY id
"""
CDR_FACTS = """
SELECT linkedid, max(nullif(cti_consent, '')) AS consent,
       max(nullif(cti_consent_method, '')) AS consent_method,
       max(nullif(recording, '')) AS recording
FROM asterisk_cdr
WHERE linkedid = ANY($1::text[])
GROUP BY linkedid
"""


def _reconcile_call_sql() -> str:
    columns = ", ".join((*CALL_COLUMNS, "facts_source"))
    params = ", ".join(f"${i}" for i in range(1, len(CALL_COLUMNS) + 1))
    own = ("outcome", "abandon_position", "ended_while_disconnected", "through_gap")
    kept = [c for c in CALL_COLUMNS[1:] if c not in own]
    fills = ", ".join(f"{c} = COALESCE(calls.{c}, EXCLUDED.{c})" for c in kept)
    # Through a gap the daemon may have missed the caller's hang-up: app_queue's own account
    # of how the call left the queue wins over the daemon's guess.
    queue_says = (
        "(calls.outcome = 'unknown' OR (calls.through_gap AND EXCLUDED.outcome "
        "IN ('answered', 'abandoned', 'timed_out') "
        "AND calls.outcome <> 'transferred'))"
    )
    return (
        f"INSERT INTO calls ({columns}) VALUES ({params}, 'asterisk') "
        f"ON CONFLICT (linkedid) DO UPDATE SET {fills}, "
        f"outcome = CASE WHEN {queue_says} THEN EXCLUDED.outcome ELSE calls.outcome END, "
        f"abandon_position = CASE WHEN {queue_says} THEN EXCLUDED.abandon_position "
        "ELSE calls.abandon_position END, facts_source = 'ami+asterisk' "
        "WHERE calls.ended_at IS NULL OR calls.through_gap"
    )


RECONCILE_CALL = _reconcile_call_sql()
