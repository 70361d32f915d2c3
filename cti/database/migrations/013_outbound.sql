-- Agents' outbound calls (click-to-dial): direction 'outbound', the agent who called out in
-- agent, and one more outcome: the customer's line was busy (cti/state/outbound.py).

ALTER TABLE calls DROP CONSTRAINT calls_outcome_check;
ALTER TABLE calls ADD CONSTRAINT calls_outcome_check CHECK (outcome IN
    ('answered', 'abandoned', 'transferred', 'timed_out', 'unanswered', 'failed', 'unknown',
     'busy'));
COMMENT ON COLUMN calls.direction IS 'inbound (through a queue) | outbound (an agent called out) | other';
