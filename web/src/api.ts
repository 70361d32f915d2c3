// The panel's HTTP calls: GET, or POST a JSON body with the session's CSRF token. A refusal
// becomes an ApiError carrying the server's own message, shown beside what the user did: every
// request says the user's language (Accept-Language), and the server words its refusals in it.

import { lang, t } from "./i18n";
import type { Center } from "./format";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface User {
  username: string;
  name: string;
  role: "agent" | "supervisor" | "admin";
  interfaces: string[];
}

export interface Me {
  user: User;
  csrf: string;
  center: Center;
}

let csrf = "";

export function signIn(): void {
  window.location.assign("/login");
}

export async function api<T>(path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { "Accept-Language": lang() };
  const init: RequestInit = { credentials: "same-origin", headers };
  if (body !== undefined) {
    init.method = "POST";
    headers["Content-Type"] = "application/json";
    headers["X-CSRF-Token"] = csrf;
    init.body = JSON.stringify(body);
  }
  let response: Response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, t("link.offline"));
  }
  if (response.status === 401) {
    signIn();
    throw new ApiError(401, t("error.signedOut"));
  }
  if (!response.ok) throw new ApiError(response.status, (await response.text()) || response.statusText);
  return (await response.json()) as T;
}

/** The signed-in user; keeps the session's CSRF token for the changes that follow. */
export async function whoAmI(): Promise<Me> {
  const me = await api<Me>("/api/me");
  csrf = me.csrf;
  return me;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
