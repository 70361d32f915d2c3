// How each queue is doing, as a level the wall colors (and says in words): its service
// level against the target, its abandons against their limit, its longest wait against the
// limit. A queue is as bad as its worst figure: one whose callers hang up is not fine
// because those it answered were answered fast. Pure.

import type { QueueCard } from "./model";

export type Level = "none" | "good" | "warn" | "bad";

const ORDER: Level[] = ["none", "good", "warn", "bad"];

/** Points under the target that are still "watch", not yet "off target". */
export const SL_MARGIN = 0.1;
/** The server's defaults, for a card from a daemon that does not send its limits. */
const ABANDON_LIMIT = 0.1;
const MAX_WAIT_S = 60;

export function worst(...levels: Level[]): Level {
  return levels.reduce((a, b) => (ORDER.indexOf(b) > ORDER.indexOf(a) ? b : a), "none");
}

export function serviceLevel(sl: number | null, target: number): Level {
  if (sl == null) return "none";
  if (sl >= target) return "good";
  return sl >= target - SL_MARGIN ? "warn" : "bad";
}

/** Above the limit is bad; above half of it, watch. */
export function abandons(rate: number | null, limit: number): Level {
  if (rate == null) return "none";
  if (rate > limit) return "bad";
  return rate > limit / 2 ? "warn" : "good";
}

export function longestWait(seconds: number, limit: number): Level {
  if (seconds > limit) return "bad";
  return seconds > limit / 2 ? "warn" : "good";
}

export interface Health {
  queue: Level;
  serviceLevel: Level;
  abandons: Level;
  wait: Level;
}

export function health(card: QueueCard): Health {
  const today = card.windows.today;
  const levels = {
    serviceLevel: serviceLevel(today.service_level, card.target),
    abandons: abandons(today.abandon_rate, card.abandon_limit ?? ABANDON_LIMIT),
    wait: longestWait(card.longest_wait_s, card.max_wait_s ?? MAX_WAIT_S),
  };
  const raised: Level = card.alerts.length ? "bad" : "none";
  return { ...levels, queue: worst(levels.serviceLevel, levels.abandons, levels.wait, raised) };
}
