-- The call history at ten million calls (issue 16): a page is an index range, whatever the
-- filter, and the customer's name is searched through an index instead of every customer.
--
-- Pages are newest first with linkedid breaking ties (cti/calllog/reports.py, keyset
-- pagination): (started_at, linkedid) and each filter's (column, started_at, linkedid) are
-- read backwards from the cursor and stop after one page; holding linkedid, they give a
-- page's keys without reading the table (index-only), and count a total the same way. Each
-- new index starts with the columns of the one it replaces, so every query that used an old
-- one uses its successor. The number is matched on caller_e164 or caller_number (a BitmapOr
-- of the two); a customer's calls are found by their phones in calls_history_e164.
--
-- On a large call log this migration builds its indexes while holding the calls table
-- against writes (400 s at 10M calls on the 2-core benchmark machine, bench/README.md;
-- 2.8 GB more index there): apply it in a quiet hour.

-- The newest calls, with the columns a filter reads: whichever filters a search combines,
-- their calls are picked out of this index alone, newest first (and counted), where the
-- column indexes below do not serve the combination.
CREATE INDEX calls_history ON calls (started_at, linkedid)
    INCLUDE (caller_e164, caller_number, agent, queue, outcome, consent);
CREATE INDEX calls_history_e164 ON calls (caller_e164, started_at, linkedid);
CREATE INDEX calls_history_number ON calls (caller_number, started_at, linkedid);
CREATE INDEX calls_history_agent ON calls (agent, started_at, linkedid);
CREATE INDEX calls_history_queue ON calls (queue, started_at, linkedid);
CREATE INDEX calls_history_outcome ON calls (outcome, started_at, linkedid);
DROP INDEX IF EXISTS calls_started_at, calls_caller_e164, calls_agent_started,
    calls_queue_started, calls_outcome_started;

-- A part of a customer's name, anywhere in it, case-insensitively. pg_trgm would be the
-- usual answer, but the embedded PostgreSQL (pgserver) ships no contrib extensions, and a
-- managed server may not let us create one. The same idea in plain SQL: every
-- three-character piece of the lowercased name, in a GIN index over text[] (built in). A
-- name holding the part holds all the part's trigrams (@>, the index), and strpos then
-- keeps the names that hold the part itself. Parts shorter than three characters have no
-- trigram: the API asks for at least three.
CREATE FUNCTION cti_trigrams(name text) RETURNS text[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
        SELECT coalesce(array_agg(DISTINCT substr(lowered, i, 3)), '{}')
        FROM lower(name) AS lowered, generate_series(1, length(lowered) - 2) AS i
    $$;
CREATE INDEX customers_name_trigrams ON customers USING gin (cti_trigrams(full_name));
