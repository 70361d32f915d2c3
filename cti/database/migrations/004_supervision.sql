-- What supervisors did to agents and calls (pause, listen, whisper, barge), and whether
-- Asterisk accepted it: who, what, when, on whom.

CREATE TABLE supervisor_actions (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    user_id    bigint NOT NULL REFERENCES users (id),
    action     text NOT NULL,          -- pause | unpause | listen | whisper | barge
    target     text NOT NULL,          -- agent interface
    detail     text NOT NULL DEFAULT '',
    accepted   boolean NOT NULL,
    error      text NOT NULL DEFAULT ''
);
CREATE INDEX supervisor_actions_at ON supervisor_actions (at);

-- Call history is searched by number and by outcome too.
CREATE INDEX calls_outcome_started ON calls (outcome, started_at);
