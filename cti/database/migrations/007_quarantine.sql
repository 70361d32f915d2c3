-- Rows PostgreSQL refused (a value it cannot store, a broken constraint): kept here with the
-- reason, so that one bad row never stops the call log and nothing is thrown away. The row is
-- the spool's JSON (ASCII-escaped: a NUL is "\u0000" text, which a text column can hold).
CREATE TABLE call_log_quarantine (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    kind        text NOT NULL,
    linkedid    text,
    row_json    text NOT NULL,
    reason      text NOT NULL
);
CREATE INDEX call_log_quarantine_at ON call_log_quarantine (at);

-- Where a call's facts came from: 'ami' (the daemon followed it live), 'asterisk' (rebuilt
-- from Asterisk's CDR, CEL and queue_log after the daemon missed it), or 'ami+asterisk'
-- (followed in part, completed from Asterisk's records).
ALTER TABLE calls ADD COLUMN facts_source text NOT NULL DEFAULT 'ami';
