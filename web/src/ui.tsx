// Small pieces every page shares: the language switch, a status line beside a form, a
// ticking clock. Text from the server (caller ID, customer data) is rendered as text by
// Preact, never as HTML.

import { render, type ComponentChildren, type FunctionComponent } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, messageOf, whoAmI, type Me } from "./api";
import { setCenter } from "./format";
import { lang, setLang, t, type Lang } from "./i18n";

/** A page of the signed-in user: who they are (the center's formats with it) and the agent
 * settings, then ``App`` in #app; a failure is said there instead. */
export async function mount<Config>(App: FunctionComponent<{ me: Me; config: Config }>): Promise<void> {
  const root = document.getElementById("app")!;
  try {
    const me = await whoAmI();
    setCenter(me.center);
    const config = await api<Config>("/api/agent/config");
    render(<App me={me} config={config} />, root);
  } catch (error) {
    root.textContent = t("error.generic", { message: messageOf(error) });
  }
}

/** The pause reasons (CTI_CENTER_PAUSE_REASONS) to choose from, named for a screen reader:
 * the agent's own Pause, and a supervisor's for an agent. */
export function PauseReason(props: { label: string; reasons: string[]; value: string; onChange: (reason: string) => void }) {
  return (
    <label>
      <span class="visually-hidden">{props.label}</span>
      <select value={props.value} onChange={(e) => props.onChange((e.currentTarget as HTMLSelectElement).value)}>
        {props.reasons.map((r) => (
          <option key={r} value={r}>
            {r}
          </option>
        ))}
      </select>
    </label>
  );
}

export function LanguageSwitch({ onChange }: { onChange: () => void }) {
  return (
    <label class="lang">
      <span class="visually-hidden">{t("app.language")}</span>
      <select
        value={lang()}
        onChange={(event) => {
          setLang((event.currentTarget as HTMLSelectElement).value as Lang);
          onChange();
        }}
      >
        <option value="tr">Türkçe</option>
        <option value="en">English</option>
      </select>
    </label>
  );
}

/** Ends the session, then to the sign-in page (a failed sign-out still leaves the page). */
export function SignOut() {
  return (
    <button
      type="button"
      class="secondary"
      onClick={async () => {
        await api("/api/logout", {}).catch(() => undefined);
        window.location.assign("/login");
      }}
    >
      {t("app.signOut")}
    </button>
  );
}

/** Seconds since the epoch, moving once a second while mounted. */
export function useNow(): number {
  const [now, setNow] = useState(() => Date.now() / 1000);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now() / 1000), 1000);
    return () => clearInterval(timer);
  }, []);
  return now;
}

export interface Outcome {
  ok: boolean;
  text: string;
}

/** A form's state: busy while saving, then what happened, shown beside the form. */
export function useSubmit(): [Outcome | null, boolean, (work: () => Promise<string>) => Promise<void>] {
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (work: () => Promise<string>) => {
    setBusy(true);
    setOutcome(null);
    try {
      setOutcome({ ok: true, text: await work() });
    } catch (error) {
      setOutcome({ ok: false, text: messageOf(error) });
    } finally {
      setBusy(false);
    }
  };
  return [outcome, busy, run];
}

export function Status({ outcome }: { outcome: Outcome | null }) {
  return (
    <p class={`form-status ${outcome ? (outcome.ok ? "ok" : "error") : ""}`} role="status" aria-live="polite">
      {outcome?.text ?? ""}
    </p>
  );
}

export function Field({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <label class="field">
      <span>{label}</span>
      {children}
    </label>
  );
}
