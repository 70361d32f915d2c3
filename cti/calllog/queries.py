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
    "campaign_id",
    "attempt",
)
# Columns added after rows were first spooled: a spooled row without them has them unknown.
CALL_COLUMNS_ADDED = frozenset({"campaign_id", "attempt"})
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


def _upsert_calls(source: str) -> str:
    """The daemon's row wins, except where it knows less than the row already there: a NULL
    keeps the stored value, an 'unknown' outcome keeps a known one (reconcile.py may have
    written them from Asterisk's records first). ``source``: ``VALUES (...)`` or a SELECT."""
    columns = ", ".join(CALL_COLUMNS)
    updates = ", ".join(
        f"{c} = EXCLUDED.{c}" if c in _ALWAYS_KNOWN else f"{c} = COALESCE(EXCLUDED.{c}, calls.{c})"
        for c in CALL_COLUMNS[1:]
        if c != "outcome"
    )
    return (
        f"INSERT INTO calls ({columns}) {source} "
        f"ON CONFLICT (linkedid) DO UPDATE SET {updates}, "
        "outcome = CASE WHEN EXCLUDED.outcome = 'unknown' THEN calls.outcome "
        "ELSE EXCLUDED.outcome END, "
        "facts_source = CASE WHEN calls.facts_source = 'ami' THEN 'ami' "
        "ELSE 'ami+asterisk' END"
    )


UPSERT_CALL = _upsert_calls(
    "VALUES (" + ", ".join(f"${i}" for i in range(1, len(CALL_COLUMNS) + 1)) + ")"
)

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


# --- the writer's set-based form of the three statements above (cti/calllog/writer.py) ----
#
# A batch is copied (binary COPY) into staging tables private to the connection, then moved
# into the call log by one statement per kind, with the same rules. The tables are made by
# the first transaction of each connection that needs them (IF NOT EXISTS) and emptied at
# every commit; a rolled-back batch leaves nothing in them either.
#
# Times are staged as epoch seconds (float8), as the rows hold them, and made timestamps
# here: the same microsecond as datetime.fromtimestamp (the row-by-row path) gives, which
# plain to_timestamp() is not always (it rounds ``(s - 946684800) * 1e6``: one microsecond
# off for about one double in twenty that is not a whole microsecond, such as a sum of
# times). The whole seconds convert exactly; the fraction is rounded alone, half to even, as
# Python does. Only an interval's time part is added: the session's time zone plays no part.
# tests/component/test_call_log_writer.py checks it.
# (Staging timestamptz values instead cost the writer's process about 20 µs more per call,
# a third more, in bench/calllog_writer.py: asyncpg's encoding of a datetime is slow.)

_INTEGERS = ("wait_s", "talk_s", "hold_s", "abandon_position", "hangup_cause", "no_answer_count")
_STAGED_TYPES = {
    **dict.fromkeys(CALL_TIME_COLUMNS | EVENT_TIME_COLUMNS, "float8"),
    **dict.fromkeys((*_INTEGERS, "seconds", "position"), "integer"),
    **dict.fromkeys(("ended_while_disconnected", "through_gap"), "boolean"),
    "campaign_id": "bigint",
    "attempt": "integer",
}
STAGE_CALLS = "calllog_stage_calls"
STAGE_EVENTS = "calllog_stage_events"
STAGE_EVENTS_ONCE = "calllog_stage_events_once"


def _stage_table(name: str, columns: tuple[str, ...]) -> str:
    typed = ", ".join(f"{c} {_STAGED_TYPES.get(c, 'text')}" for c in columns)
    return f"CREATE TEMP TABLE IF NOT EXISTS {name} ({typed}) ON COMMIT DELETE ROWS;"


CREATE_STAGING = " ".join(
    (
        _stage_table(STAGE_CALLS, CALL_COLUMNS),
        _stage_table(STAGE_EVENTS, EVENT_COLUMNS),
        _stage_table(STAGE_EVENTS_ONCE, EVENT_COLUMNS),
    )
)


def _timestamp(epoch: str) -> str:
    return (
        f"(to_timestamp(trunc({epoch})) + round(({epoch} - trunc({epoch})) * 1000000::float8) "
        "* interval '1 microsecond')"
    )


def _staged(columns: tuple[str, ...], times: frozenset[str], alias: str = "") -> str:
    return ", ".join(_timestamp(alias + c) if c in times else alias + c for c in columns)


_CALLS_FROM_STAGE = f"SELECT {_staged(CALL_COLUMNS, CALL_TIME_COLUMNS)} FROM pg_temp.{STAGE_CALLS}"
UPSERT_CALLS_STAGED = _upsert_calls(_CALLS_FROM_STAGE)
INSERT_EVENTS_STAGED = (
    f"INSERT INTO call_events ({', '.join(EVENT_COLUMNS)}) "
    f"SELECT {_staged(EVENT_COLUMNS, EVENT_TIME_COLUMNS)} FROM pg_temp.{STAGE_EVENTS} "
    "ON CONFLICT DO NOTHING"
)
# The same for rows none of which is there yet, the usual case: without ON CONFLICT's
# look-up first, PostgreSQL spent a fifth less on a call's rows (90 against 118 µs, on the
# same batches). One that is there already (a replayed spool) makes it fail with a unique
# violation, and the writer runs the statement above instead.
INSERT_NEW_CALLS_STAGED = f"INSERT INTO calls ({', '.join(CALL_COLUMNS)}) {_CALLS_FROM_STAGE}"
INSERT_NEW_EVENTS_STAGED = INSERT_EVENTS_STAGED.removesuffix(" ON CONFLICT DO NOTHING")
# For a batch in which no two rows are the same event of the same call (the writer keeps
# the first of such twins, the one INSERT_EVENT_ONCE would keep row by row).
INSERT_EVENTS_ONCE_STAGED = (
    f"INSERT INTO call_events ({', '.join(EVENT_COLUMNS)}) "
    f"SELECT {_staged(EVENT_COLUMNS, EVENT_TIME_COLUMNS, 's.')} "
    f"FROM pg_temp.{STAGE_EVENTS_ONCE} s "
    "WHERE NOT EXISTS (SELECT 1 FROM call_events e WHERE e.linkedid = s.linkedid "
    "AND e.kind = s.kind AND e.queue = s.queue AND e.interface = s.interface) "
    "ON CONFLICT DO NOTHING"
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
# A call's consent as its CDRs (``d``, one per leg) hold it: the leg that has it.
_CDR_CONSENT = """max(nullif(d.cti_consent, '')) AS consent,
       max(nullif(d.cti_consent_method, '')) AS consent_method,
       max(nullif(d.recording, '')) AS recording"""
CDR_FACTS = f"""
SELECT d.linkedid, {_CDR_CONSENT}
FROM asterisk_cdr d
WHERE d.linkedid = ANY($1::text[])
GROUP BY d.linkedid
"""


# A closed call without the consent its CDR holds: the daemon missed the consent step (it
# learnt the call after a restart), or a reconciliation read the call as soon as CEL had its
# end, before cdr_pgsql (another thread of Asterisk) wrote the CDR. Filled in, once the CDR
# is there, by every reconciliation (FILL_CONSENT: the calls Asterisk ended since $1) and by
# its follow-ups (FILL_CONSENT_OF: these calls); nothing else of the call is touched, nor its
# events. A call that lived through a gap and was not completed yet is MISSED_CALLS' own.
def _fill_consent(cdrs_of_the_calls: str) -> str:
    return f"""
UPDATE calls c
SET consent = f.consent, consent_method = f.consent_method,
    recording = CASE WHEN f.consent = 'granted' THEN COALESCE(c.recording, f.recording) END,
    facts_source = CASE WHEN c.facts_source = 'asterisk' THEN 'asterisk' ELSE 'ami+asterisk' END
FROM (SELECT d.linkedid, {_CDR_CONSENT}
      FROM {cdrs_of_the_calls}
      GROUP BY d.linkedid) f
WHERE c.linkedid = f.linkedid AND c.consent IS NULL AND c.ended_at IS NOT NULL
  AND NOT (c.through_gap AND c.facts_source = 'ami') AND f.consent IN ('granted', 'declined')
"""


FILL_CONSENT = _fill_consent(
    """asterisk_cel e JOIN asterisk_cdr d ON d.linkedid = e.linkedid
      WHERE e.eventtype = 'LINKEDID_END' AND e.eventtime >= $1 AND e.linkedid <> ''"""
)
FILL_CONSENT_OF = _fill_consent("asterisk_cdr d WHERE d.linkedid = ANY($1::text[])")
# Of these calls, those whose consent may still come: not closed in the call log yet, or
# closed without a consent while Asterisk has written no CDR of them yet.
CONSENT_TO_COME = """
SELECT l.linkedid FROM unnest($1::text[]) AS l(linkedid)
WHERE NOT EXISTS (SELECT 1 FROM calls c WHERE c.linkedid = l.linkedid AND c.ended_at IS NOT NULL
                  AND (c.consent IS NOT NULL
                       OR EXISTS (SELECT 1 FROM asterisk_cdr d WHERE d.linkedid = l.linkedid)))
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
