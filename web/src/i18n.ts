// Turkish and English, from the browser's language unless the user picked one (kept in
// localStorage). Every text the panel shows comes from here; `t` fills {name} slots.

import { en } from "./locales/en";
import { tr } from "./locales/tr";

export type Lang = "tr" | "en";
export type Key = keyof typeof en;

const catalogs: Record<Lang, Record<Key, string>> = { en, tr };
const STORED = "cti.lang";

function detected(): Lang {
  const stored = localStorage.getItem(STORED);
  if (stored === "tr" || stored === "en") return stored;
  const first = (navigator.languages ?? [navigator.language]).find(Boolean) ?? "en";
  return first.toLowerCase().startsWith("tr") ? "tr" : "en";
}

let current: Lang = detected();
document.documentElement.lang = current;

export function lang(): Lang {
  return current;
}

/** The BCP 47 locale for Intl formatting. */
export function locale(): string {
  return current === "tr" ? "tr-TR" : "en-GB";
}

export function setLang(chosen: Lang): void {
  localStorage.setItem(STORED, chosen);
  current = chosen;
  document.documentElement.lang = chosen;
}

export function t(key: Key, slots: Record<string, string | number> = {}): string {
  return catalogs[current][key].replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in slots ? String(slots[name]) : whole,
  );
}

/** Whether the panel has a text of its own under this key. */
export function known(key: string): key is Key {
  return key in en;
}

/** A text the server sent (an agent state, an outcome) in the user's language. */
export function term(prefix: "state" | "outcome" | "consent", value: string | null): string {
  const key = `${prefix}.${value ?? "none"}`;
  return known(key) ? t(key) : (value ?? "");
}
