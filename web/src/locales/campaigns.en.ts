// English texts of the supervisor's campaigns (web/src/wall/Campaigns.tsx); campaigns.tr.ts
// has the same keys.
export const campaignsEn = {
  "campaigns.title": "Campaigns",
  "campaigns.running": "Running",
  "campaigns.paused": "Paused",
  "campaigns.pause": "Pause",
  "campaigns.resume": "Resume",
  "campaigns.pausedDone": "Paused: no new calls; calls under way finish.",
  "campaigns.resumedDone": "Resumed: calling for its ready agents.",
  "campaigns.agents": "Agents",
  "campaigns.noAgents": "No agent assigned",
  "campaigns.stale": "Figures not refreshed: {message}",
  "campaigns.figure.listed": "List",
  "campaigns.figure.open": "Still open",
  "campaigns.figure.dueNow": "Due now",
  "campaigns.figure.attempts": "Attempts today",
  "campaigns.figure.contacts": "Contacts",
  "campaigns.figure.promises": "Promises",
  "campaigns.contactRate": "contact rate {rate} · the debtor themselves {rightParty}",
  "campaigns.def.listed": "customers on the campaign's list",
  "campaigns.def.open": "on the list and not yet reached, out of attempts or taken off it",
  "campaigns.def.dueNow":
    "open and neither waiting for a retry delay nor being called; calling hours, the do-not-call list and promises not yet due are checked when dialling",
  "campaigns.def.attempts": "the campaign's calls today, counted when they end",
  "campaigns.def.contacts": "attempts the customer answered; contact rate: contacts ÷ attempts; the debtor themselves: contacts whose disposition is not a wrong number or an answering machine",
  "campaigns.def.promises": "payment promises made on today's campaign calls, and their amount in each currency",
  "campaigns.def.abandoned.name": "Abandoned by us",
  "campaigns.def.abandoned":
    "none: progressive dialing calls a customer only for an agent who is ready, so no customer who answers waits for one",
} as const;
