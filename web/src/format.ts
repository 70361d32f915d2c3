// Dates, durations, amounts and phone numbers for the user's language, in the center's time
// zone and country (from /api/me): a number of the center's country in its national format,
// any other with + and its country code.

import { parsePhoneNumberFromString, type CountryCode } from "libphonenumber-js/min";
import { locale, t } from "./i18n";

export interface Center {
  region: string; // ISO 3166 country, e.g. "TR"
  timezone: string; // IANA, e.g. "Europe/Istanbul"
}

let center: Center = { region: "TR", timezone: "UTC" };

export function setCenter(value: Center): void {
  center = value;
}

function toDate(value: string | number): Date {
  return typeof value === "number" ? new Date(value * 1000) : new Date(value);
}

/** An instant (ISO text or epoch seconds) as date and time, without seconds. */
export function dateTime(value: string | number | null | undefined): string {
  if (value == null || value === "") return "";
  return new Intl.DateTimeFormat(locale(), {
    dateStyle: "medium",
    timeStyle: "short",
    timeZone: center.timezone,
  }).format(toDate(value));
}

/** An instant as a time of day (today's list, the wall). */
export function timeOfDay(value: string | number | null | undefined): string {
  if (value == null || value === "") return "";
  return new Intl.DateTimeFormat(locale(), { timeStyle: "short", timeZone: center.timezone }).format(
    toDate(value),
  );
}

/** An instant of today as its time of day; any other with its date too. */
export function when(value: string | number | null | undefined): string {
  if (value == null || value === "") return "";
  const day = (at: Date) => new Intl.DateTimeFormat("en-CA", { timeZone: center.timezone }).format(at);
  return day(toDate(value)) === day(new Date()) ? timeOfDay(value) : dateTime(value);
}

/** A calendar date ("2026-11-30", a promise's due date): no time zone involved. */
export function calendarDate(value: string | null | undefined): string {
  if (!value) return "";
  const [year, month, day] = value.split("-").map(Number);
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeZone: "UTC" }).format(
    new Date(Date.UTC(year, month - 1, day)),
  );
}

/** A running timer: 0:07, 4:12, 1:02:03. */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${rest}` : `${minutes}:${rest}`;
}

/** A length of time in words: 45 s, 4 min 12 s, 2 h 5 min. */
export function duration(seconds: number | null | undefined): string {
  if (seconds == null) return "";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return t("duration.s", { s });
  if (s < 3600) return t("duration.ms", { m: Math.floor(s / 60), s: s % 60 });
  return t("duration.hm", { h: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) });
}

/** Money: "₺1.250,50" in Turkish, "TRY 1,250.50" style in English. */
export function amount(value: string | number | null | undefined, currency: string): string {
  if (value == null || value === "") return "";
  const number = typeof value === "number" ? value : Number(value);
  if (!Number.isFinite(number)) return String(value);
  try {
    return new Intl.NumberFormat(locale(), { style: "currency", currency }).format(number);
  } catch {
    return `${new Intl.NumberFormat(locale()).format(number)} ${currency}`; // unknown currency
  }
}

export function count(value: number): string {
  return new Intl.NumberFormat(locale()).format(value);
}

export function percent(ratio: number | null | undefined): string {
  if (ratio == null) return "—";
  return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 0 }).format(
    ratio,
  );
}

/** A phone number as people of the center write it; text that is no number stays as it is. */
export function phone(value: string | null | undefined): string {
  if (!value) return "";
  const parsed = parsePhoneNumberFromString(value, center.region as CountryCode);
  if (!parsed || !parsed.isPossible()) return value;
  return parsed.country === center.region ? parsed.formatNational() : parsed.formatInternational();
}
