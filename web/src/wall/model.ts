// What the supervisor's wall shows, as the server sends it: a snapshot taken on every
// (re)connect of the websocket (/api/wallboard, /api/state and today's alerts), then "wall"
// messages that replace queues, agents and calls whole (and name those gone), and "alert"
// messages. Pure: the page folds messages into a Wall and draws it.

import type { LiveMessage } from "../live";

export interface Figures {
  offered: number;
  answered: number;
  abandoned: number;
  short_abandoned: number;
  timed_out: number;
  service_level: number | null;
  service_level_2: number | null;
  abandon_rate: number | null;
  asa_s: number | null;
  aht_s: number | null;
}

export interface Bucket {
  start: string; // ISO: the start of a 15-minute slot of today
  offered: number;
  answered: number;
  abandoned: number;
  service_level: number | null;
  service_level_to_date: number | null;
}

export interface QueueCard {
  queue: string;
  threshold_s: number;
  target: number; // service level target, a share
  abandon_limit?: number; // a share of the offered calls
  max_wait_s?: number;
  waiting: number;
  longest_wait_s: number;
  agents: Record<string, number>; // logged_in, and a count per state
  windows: { today: Figures; "60m": Figures; "15m": Figures };
  buckets: Bucket[];
  alerts: { kind: string; text: string }[];
}

export interface AgentRow {
  interface: string;
  name: string; // Asterisk's member name: the wall prefers the user's display name
  state: string;
  reason: string;
  queues: string[];
  talking: string | null; // Linkedid of the call they are on
  state_since: number | null;
  calls_taken: number;
}

export interface CallRow {
  linkedid: string;
  caller_number: string;
  caller_name: string;
  queue: string | null;
  agent: string | null; // interface
  started_at: number | null;
  answered_at: number | null;
  consent: string | null;
}

export interface Alert {
  queue: string;
  kind: string;
  text: string;
  raised: boolean; // false: cleared
  at: number; // epoch seconds
}

export interface Board {
  day_start: string;
  queues: QueueCard[];
  definitions: Record<string, string>;
  ami_connected: boolean;
}

export interface State {
  agents: AgentRow[];
  calls: CallRow[];
  ami_connected: boolean;
}

export interface Wall {
  loaded: boolean;
  link: boolean;
  dayStart: string | null;
  definitions: Record<string, string>;
  queues: Record<string, QueueCard>;
  agents: Record<string, AgentRow>;
  calls: Record<string, CallRow>;
  alerts: Alert[]; // newest first
}

export const EMPTY: Wall = {
  loaded: false,
  link: false,
  dayStart: null,
  definitions: {},
  queues: {},
  agents: {},
  calls: {},
  alerts: [],
};

export const MAX_ALERTS = 200;

const byKey = <T>(items: T[], key: (item: T) => string): Record<string, T> =>
  Object.fromEntries(items.map((item) => [key(item), item]));

const alertKey = (a: Alert) => `${a.queue}\u0000${a.kind}\u0000${a.raised}\u0000${a.at}`;

/** Alerts newest first, each once (one may come both in the list and pushed). */
export function mergeAlerts(...lists: Alert[][]): Alert[] {
  const seen = new Map<string, Alert>();
  for (const alert of lists.flat()) seen.set(alertKey(alert), alert);
  return [...seen.values()].sort((a, b) => b.at - a.at).slice(0, MAX_ALERTS);
}

/** A snapshot replaces everything; alerts pushed since it was asked for stay. */
export function snapshot(wall: Wall, board: Board, state: State, alerts: Alert[]): Wall {
  return {
    loaded: true,
    link: state.ami_connected,
    dayStart: board.day_start,
    definitions: board.definitions,
    queues: byKey(board.queues, (q) => q.queue),
    agents: byKey(state.agents, (a) => a.interface),
    calls: byKey(state.calls, (c) => c.linkedid),
    alerts: mergeAlerts(alerts, wall.alerts),
  };
}

function replaced<T>(before: Record<string, T>, items: T[], gone: string[], key: (item: T) => string) {
  const after = { ...before };
  for (const item of items) after[key(item)] = item;
  for (const name of gone) delete after[name];
  return after;
}

/** A live message: "wall" replaces what changed, "alert" adds to the feed. */
export function fold(wall: Wall, message: LiveMessage): Wall {
  if (message.type === "alert") {
    const alert = message as unknown as Alert;
    return { ...wall, alerts: mergeAlerts([alert], wall.alerts) };
  }
  if (message.type !== "wall" || !wall.loaded) return wall; // before the snapshot: it has it
  const m = message as unknown as {
    queues: QueueCard[];
    queues_gone: string[];
    agents: AgentRow[];
    agents_gone: string[];
    calls: CallRow[];
    calls_gone: string[];
    ami_connected: boolean;
  };
  return {
    ...wall,
    link: m.ami_connected,
    queues: replaced(wall.queues, m.queues, m.queues_gone, (q) => q.queue),
    agents: replaced(wall.agents, m.agents, m.agents_gone, (a) => a.interface),
    calls: replaced(wall.calls, m.calls, m.calls_gone, (c) => c.linkedid),
  };
}

/** Which of today's alerts still hold: the newest event of each queue and kind is a raise. */
export function stillRaised(alerts: Alert[]): Set<Alert> {
  const newest = new Map<string, Alert>();
  for (const alert of alerts) {
    const key = `${alert.queue}\u0000${alert.kind}`;
    if (!newest.has(key)) newest.set(key, alert);
  }
  return new Set([...newest.values()].filter((a) => a.raised));
}
