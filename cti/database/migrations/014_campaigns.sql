-- Outbound collection campaigns (issue 18): a campaign, its list of customers to call, the
-- do-not-call list, and which campaign attempt a logged call was. The rules that decide who
-- may be dialled now are cti/campaigns/rules.py; the query that applies them in SQL is
-- cti/campaigns/lists.py. The CHECKs here repeat the rules' validation so that a row written
-- by hand cannot hold what the dialer would misread (a CR/LF in a number bound for AMI).

CREATE TABLE campaigns (
    id                     bigserial PRIMARY KEY,
    name                   text NOT NULL UNIQUE
        CHECK (length(name) BETWEEN 1 AND 100 AND name !~ '[[:cntrl:]]'),
    caller_id              text NOT NULL CHECK (caller_id ~ '^\+[1-9][0-9]{1,16}$'),
    agents                 text[] NOT NULL DEFAULT '{}'
        CHECK (array_to_string(agents, ' ') !~ '[[:cntrl:]]'),  -- member interfaces
    -- Calling hours on the customer's own clock, [calls_from, calls_until), on these ISO
    -- weekdays (1 Monday .. 7 Sunday), in every time zone the customer's number may be in.
    calls_from             time NOT NULL,
    calls_until            time NOT NULL,
    weekdays               smallint[] NOT NULL
        CHECK (cardinality(weekdays) > 0 AND weekdays <@ '{1,2,3,4,5,6,7}'::smallint[]),
    max_attempts_per_day   integer NOT NULL CHECK (max_attempts_per_day BETWEEN 1 AND 100),
    max_attempts_total     integer NOT NULL CHECK (max_attempts_total BETWEEN 1 AND 1000),
    -- Seconds before the next attempt after each outcome that leaves the customer to call.
    retry_busy_s           integer NOT NULL CHECK (retry_busy_s BETWEEN 0 AND 2592000),
    retry_unanswered_s     integer NOT NULL CHECK (retry_unanswered_s BETWEEN 0 AND 2592000),
    retry_failed_s         integer NOT NULL CHECK (retry_failed_s BETWEEN 0 AND 2592000),
    retry_machine_s        integer NOT NULL CHECK (retry_machine_s BETWEEN 0 AND 2592000),
    retry_callback_later_s integer NOT NULL CHECK (retry_callback_later_s BETWEEN 0 AND 2592000),
    paused                 boolean NOT NULL DEFAULT true,  -- dials nothing until resumed
    created_at             timestamptz NOT NULL DEFAULT now(),
    CHECK (calls_from < calls_until)
);

CREATE TABLE campaign_entries (
    campaign_id     bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    customer_id     bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    number          text NOT NULL CHECK (number ~ '^\+[1-9][0-9]{1,16}$'),
    -- Every time zone the number may be in (phonenumbers): callable when all are in hours.
    zones           text[] NOT NULL CHECK (cardinality(zones) > 0),
    priority        integer NOT NULL DEFAULT 0,
    attempts_total  integer NOT NULL DEFAULT 0 CHECK (attempts_total >= 0),
    attempts_today  integer NOT NULL DEFAULT 0 CHECK (attempts_today >= 0),
    attempts_day    date,          -- the customer's local day attempts_today counts for
    last_attempt_at timestamptz,
    last_outcome    text CHECK (last_outcome IN
        ('answered', 'busy', 'unanswered', 'failed', 'machine', 'callback_later')),
    next_attempt_at timestamptz,   -- not dialled before
    callback_at     timestamptz,   -- "call me back then", as the agent set it
    -- Taken by a dialer for an attempt until then: two agents never get the same customer,
    -- and an entry taken by a daemon that died comes back by itself.
    taken_until     timestamptz,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'excluded')),
    PRIMARY KEY (campaign_id, customer_id)
);
-- The dialer's order among open entries (cti/campaigns/rules.py order_key): a scan of this
-- index stops at the first eligible entry instead of sorting the list.
CREATE INDEX campaign_entries_order ON campaign_entries
    (campaign_id, priority DESC, last_attempt_at ASC NULLS FIRST, customer_id)
    WHERE status = 'open';
-- Callbacks come first when due: few entries have one, so they have an index of their own.
CREATE INDEX campaign_entries_callbacks ON campaign_entries (campaign_id, callback_at)
    WHERE status = 'open' AND callback_at IS NOT NULL;
-- The distinct time-zone sets of a list, read by skipping through this index: when none is
-- within calling hours (the night), the dialer learns it without scanning a million entries.
CREATE INDEX campaign_entries_zones ON campaign_entries (campaign_id, zones)
    WHERE status = 'open';
-- Deleting a customer cascades here: without it, each deletion would scan every list.
CREATE INDEX campaign_entries_customer ON campaign_entries (customer_id);

CREATE TABLE do_not_call (
    number   text PRIMARY KEY CHECK (number ~ '^\+[1-9][0-9]{1,16}$'),
    reason   text NOT NULL CHECK (length(btrim(reason)) BETWEEN 1 AND 500),
    added_at timestamptz NOT NULL DEFAULT now(),
    added_by bigint REFERENCES users (id) ON DELETE SET NULL
);

-- A campaign's call is logged like any other, with which campaign and which attempt it was.
ALTER TABLE calls ADD COLUMN campaign_id bigint REFERENCES campaigns (id);
ALTER TABLE calls ADD COLUMN attempt integer CHECK (attempt >= 1);
ALTER TABLE calls ADD CONSTRAINT calls_campaign_attempt
    CHECK ((campaign_id IS NULL) = (attempt IS NULL));
