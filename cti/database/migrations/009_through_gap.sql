-- A call that was in progress while the daemon's AMI link was down: some of its events may
-- have been missed (a consent decision, the caller's hang-up), so the reconciliation
-- completes it from Asterisk's records even though the daemon saw it end.
ALTER TABLE calls ADD COLUMN through_gap boolean NOT NULL DEFAULT false;
