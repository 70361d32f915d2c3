-- Quality review: supervisors score recorded calls on the configured form; each week a
-- random sample of every agent's recorded calls is proposed for review.

CREATE TABLE quality_reviews (
    id          bigserial PRIMARY KEY,
    linkedid    text NOT NULL,
    agent       text NOT NULL,            -- the interface that answered, as in calls.agent
    reviewer_id bigint NOT NULL REFERENCES users (id),
    form        jsonb NOT NULL,           -- criteria and weights as they were when scored,
                                          -- so changing the form later keeps old scores true
    marks       jsonb NOT NULL,           -- criterion -> 0..5
    score       numeric(4, 1) NOT NULL CHECK (score BETWEEN 0 AND 100),
    comment     text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX quality_reviews_agent ON quality_reviews (agent, created_at);
CREATE INDEX quality_reviews_linkedid ON quality_reviews (linkedid);

CREATE TABLE quality_samples (
    week        date NOT NULL,            -- the Monday of the week, in the center's time zone
    linkedid    text NOT NULL,
    agent       text NOT NULL,
    proposed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (week, linkedid)
);
