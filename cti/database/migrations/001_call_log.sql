-- The call log: one row per call, and the per-call events every KPI is recomputed from
-- (so a service-level threshold can change after the fact).

CREATE TABLE calls (
    linkedid                 text PRIMARY KEY,      -- Asterisk's Linkedid: all legs of the call
    caller_number            text NOT NULL,         -- as received (attacker-controlled text)
    caller_e164              text,                  -- normalised, NULL when not a phone number
    caller_name              text NOT NULL,
    dialed                   text NOT NULL,         -- DID / extension the caller dialled
    direction                text NOT NULL,         -- inbound | other
    queue                    text,
    agent                    text,                  -- member interface that answered
    agent_name               text,
    outcome                  text NOT NULL CHECK (outcome IN
        ('answered', 'abandoned', 'transferred', 'timed_out', 'unanswered', 'failed', 'unknown')),
    started_at               timestamptz,
    queued_at                timestamptz,
    answered_at              timestamptz,
    ended_at                 timestamptz,
    wait_s                   integer,
    talk_s                   integer,
    hold_s                   integer NOT NULL DEFAULT 0,
    wrapup_s                 integer,
    abandon_position         integer,
    hangup_cause             integer,
    no_answer_count          integer NOT NULL DEFAULT 0,
    consent                  text CHECK (consent IN ('granted', 'declined')),  -- NULL: not asked
    consent_method           text,
    consent_at               timestamptz,
    recording                text,                  -- file reference; never set when declined
    ended_while_disconnected boolean NOT NULL DEFAULT false,
    CHECK (consent IS DISTINCT FROM 'declined' OR recording IS NULL)
);
CREATE INDEX calls_started_at ON calls (started_at);
CREATE INDEX calls_caller_e164 ON calls (caller_e164);
CREATE INDEX calls_agent_started ON calls (agent, started_at);
CREATE INDEX calls_queue_started ON calls (queue, started_at);

CREATE TABLE call_events (
    linkedid   text NOT NULL,
    at         timestamptz NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('queue_join', 'agent_ring', 'agent_no_answer',
        'agent_connect', 'queue_abandon', 'queue_leave', 'call_end')),
    queue      text NOT NULL DEFAULT '',
    interface  text NOT NULL DEFAULT '',
    seconds    integer,          -- wait for connect/abandon, ring for no-answer, talk for end
    position   integer,
    -- the same fact replayed twice is the same row: replays and spool re-drains are idempotent
    PRIMARY KEY (linkedid, kind, at, interface)
);
CREATE INDEX call_events_queue_at ON call_events (queue, at);

CREATE TABLE recording_mutes (
    id        bigserial PRIMARY KEY,
    linkedid  text NOT NULL,
    muted     boolean NOT NULL,
    by_user   text NOT NULL,
    at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recording_mutes_linkedid ON recording_mutes (linkedid);
