-- The campaigns' figures of today (GET /api/campaigns, cti/campaigns/http.py) at a million
-- calls a day. The supervisor's Campaigns section asks for them every 10 s; each campaign's
-- calls of today were picked out of all of today's calls (a scan of every call since
-- midnight, inbound ones too: 300 ms a campaign at a million calls), and its promises out of
-- every promise ever made (a sequential scan). bench/campaign_figures.py has the figures.
--
-- Only campaign calls enter the first index, so the call-log writer pays nothing for an
-- inbound call; promises are few writes.
CREATE INDEX calls_campaign ON calls (campaign_id, started_at) WHERE campaign_id IS NOT NULL;
CREATE INDEX promises_linkedid ON promises (linkedid) WHERE linkedid IS NOT NULL;
