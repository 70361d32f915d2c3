// How the history and quality pages name a call: who called, who answered, when.

import { dateTime, phone } from "../format";
import { t } from "../i18n";

export interface CallFacts {
  linkedid: string;
  started_at: string | null;
  caller_name: string | null;
  caller_number: string | null;
  agent: string | null; // the interface that answered
  agent_name: string | null; // the user with that phone, as people know them
}

/** Who called: the name and the number, or whichever is known. */
export function callerOf(call: Pick<CallFacts, "caller_name" | "caller_number">): string {
  const name = call.caller_name?.trim();
  const number = phone(call.caller_number);
  if (name && number) return t("quality.callerNamed", { name, number });
  return name || number || t("quality.unknownCaller");
}

/** Who answered: their name, never the phone's interface when a user has that phone. */
export function agentOf(call: Pick<CallFacts, "agent" | "agent_name">): string {
  return call.agent_name || call.agent || t("quality.unknownAgent");
}

/** A review's title: "Ayla Demir's call with Fatma Demir (0532 111 22 33), 30 Nov 2026, 10:02". */
export function callTitle(call: CallFacts): string {
  return t("quality.reviewTitle", { agent: agentOf(call), caller: callerOf(call), time: dateTime(call.started_at) });
}
