-- Each ACD decision with its reason and every agent considered (why each could or could
-- not take the call), so a supervisor can see why a call went where it went.

CREATE TABLE routing_decisions (
    id          bigserial PRIMARY KEY,
    decided_at  timestamptz NOT NULL DEFAULT now(),
    linkedid    text NOT NULL,
    route       text NOT NULL,
    priority    integer NOT NULL,
    agent       text,                     -- NULL: the plain queue took the call
    reason      text NOT NULL,
    considered  jsonb NOT NULL            -- [{interface, eligible, why}]
);
CREATE INDEX routing_decisions_linkedid ON routing_decisions (linkedid);
