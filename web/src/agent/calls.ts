// The agent's calls as their page knows them, folded from the websocket's messages (pure:
// a message in, the next state out). One call is current: the one ringing or talking, else
// the one that just ended, kept until the agent is done with it or the next call rings.

import type { LiveMessage } from "../live";

export interface Note {
  agent: string; // the display name of who wrote it
  disposition: string | null;
  text: string | null;
}

export interface PastCall {
  started_at: string;
  agent: string | null;
  outcome: string;
  notes: Note[];
}

export interface Promise_ {
  amount: string;
  currency: string;
  due_date: string;
}

export interface Callback {
  due_at: string;
  reason: string | null;
}

export interface Customer {
  id: number;
  full_name: string;
  national_id_masked: string | null;
  balance: string;
  currency: string;
  phones: { e164: string }[];
  addresses: { line1: string | null; line2: string | null; postal_code: string | null; city: string | null; country: string | null }[];
  open_promises: Promise_[];
  open_callbacks: Callback[];
  last_calls: PastCall[];
}

export interface Crm {
  record: { name: string | null; summary: string | null; fields: [string, string][]; url: string | null } | null;
  error: string | null; // in English, as the daemon logged it
  failure: CrmFailure | null; // the same, for the agent's language
}

export interface CrmFailure {
  kind: string; // status | timeout | unreachable | not_json | other
  status?: number;
  seconds?: number;
}

// An outbound call (click-to-dial) rings the agent's own phone first ("ringing"), then the
// customer's ("dialing"), then they talk ("on_call").
export type Phase = "ringing" | "dialing" | "on_call" | "ended";

export interface Call {
  linkedid: string;
  queue: string;
  caller_number: string;
  caller_name: string;
  queued_at: number | null; // epoch seconds, Asterisk's clock
  ring_at: number; // epoch seconds, when the page learnt of it
  phase: Phase;
  outbound: boolean; // the agent's own call out
  answered_at: number | null;
  consent: string | null;
  outcome: string | null;
  talk_s: number | null;
  customers: Customer[] | null; // null: still looking
  crm: Crm | null;
  notes: string[]; // what the agent saved on this call, as shown
}

export interface Calls {
  byId: Record<string, Call>;
  current: string | null;
}

export const NO_CALLS: Calls = { byId: {}, current: null };

type Wire = Record<string, unknown>;

const str = (value: unknown): string => (typeof value === "string" ? value : "");
const num = (value: unknown): number | null => (typeof value === "number" ? value : null);

function fromPop(pop: Wire, now: number, answered: boolean): Call {
  return {
    linkedid: str(pop.linkedid),
    queue: str(pop.queue),
    caller_number: str(pop.caller_number),
    caller_name: str(pop.caller_name),
    queued_at: num(pop.queued_at),
    ring_at: num(pop.at) ?? now,
    phase: answered ? "on_call" : "ringing",
    outbound: pop.outbound === true,
    answered_at: num(pop.answered_at),
    consent: typeof pop.consent === "string" ? pop.consent : null,
    outcome: null,
    talk_s: null,
    customers: null,
    crm: null,
    notes: [],
  };
}

function update(calls: Calls, linkedid: string, change: Partial<Call>): Calls {
  const call = calls.byId[linkedid];
  if (!call) return calls;
  return { ...calls, byId: { ...calls.byId, [linkedid]: { ...call, ...change } } };
}

function without(calls: Calls, linkedid: string): Calls {
  const byId = { ...calls.byId };
  delete byId[linkedid];
  const current = calls.current === linkedid ? pickCurrent(byId) : calls.current;
  return { byId, current };
}

/** The call to show: one ringing or talking, the latest first; else the latest ended. */
function pickCurrent(byId: Record<string, Call>): string | null {
  const all = Object.values(byId).sort((a, b) => b.ring_at - a.ring_at);
  return (all.find((c) => c.phase !== "ended") ?? all[0])?.linkedid ?? null;
}

export function fold(calls: Calls, message: LiveMessage, now: number): Calls {
  const linkedid = str(message.linkedid);
  switch (message.type) {
    case "snapshot": {
      // What the server knows now replaces what this page knew; an ended call kept for
      // its wrap-up stays.
      const byId: Record<string, Call> = {};
      for (const call of Object.values(calls.byId)) if (call.phase === "ended") byId[call.linkedid] = call;
      for (const pop of (message.pops as Wire[]) ?? []) {
        const known = calls.byId[str(pop.linkedid)];
        const fresh = fromPop(pop, now, pop.answered === true);
        byId[fresh.linkedid] = known ? { ...known, ...fresh, customers: known.customers, crm: known.crm, notes: known.notes, ring_at: known.ring_at } : fresh;
      }
      return { byId, current: pickCurrent(byId) };
    }
    case "pop": {
      // A new call replaces the ended one the agent had not closed yet.
      const kept = Object.fromEntries(Object.entries(calls.byId).filter(([, c]) => c.phase !== "ended"));
      const call = fromPop(message, now, false);
      const byId = { ...kept, [call.linkedid]: calls.byId[call.linkedid] ?? call };
      return { byId, current: pickCurrent(byId) };
    }
    case "pop_withdrawn":
      return calls.byId[linkedid]?.phase === "ringing" ? without(calls, linkedid) : calls;
    case "pop_kept":
      // The agent took their phone: for an outbound call, the customer's rings now.
      if (calls.byId[linkedid]?.outbound) return update(calls, linkedid, { phase: "dialing" });
      return update(calls, linkedid, { phase: "on_call", answered_at: calls.byId[linkedid]?.answered_at ?? num(message.at) ?? now });
    case "call_answered":
      return update(calls, linkedid, { phase: "on_call", answered_at: num(message.at) ?? now });
    case "consent":
      return update(calls, linkedid, { consent: str(message.consent) || null });
    case "call_ended":
      return update(calls, linkedid, { phase: "ended", outcome: str(message.outcome), talk_s: num(message.talk_s) });
    case "pop_customers":
      return update(calls, linkedid, { customers: (message.customers as Customer[]) ?? [] });
    case "pop_crm":
      return update(calls, linkedid, {
        crm: {
          record: (message.crm as Crm["record"]) ?? null,
          error: typeof message.error === "string" ? message.error : null,
          failure: (message.failure as CrmFailure | undefined) ?? null,
        },
      });
    default:
      return calls;
  }
}

export function done(calls: Calls, linkedid: string): Calls {
  return without(calls, linkedid);
}

/** The agent handed the call on (a transfer Asterisk accepted): their part of it is over,
though the call goes on elsewhere, so no call_ended comes to them. */
export function handedOn(calls: Calls, linkedid: string): Calls {
  return update(calls, linkedid, { phase: "ended", outcome: "transferred" });
}

export function withCustomer(calls: Calls, linkedid: string, change: (customers: Customer[]) => Customer[]): Calls {
  const call = calls.byId[linkedid];
  return call ? update(calls, linkedid, { customers: change(call.customers ?? []) }) : calls;
}

export function withNote(calls: Calls, linkedid: string, note: string): Calls {
  const call = calls.byId[linkedid];
  return call ? update(calls, linkedid, { notes: [...call.notes, note] }) : calls;
}
