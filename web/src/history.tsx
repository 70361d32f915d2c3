// Call history: search the call log a page at a time (newest first, with the total of the
// search), export the same search as CSV, play recordings (served by call id to
// supervisors only) and open a call for quality review. Caller names are attacker-
// controlled: Preact renders them as text, never HTML.
//
// The server gives each page a `next` cursor (opaque); "previous page" goes back through
// the cursors of the pages already seen, kept here in a stack. A search the server refuses
// (a reversed period, an agent no one is called) says why beside the form: it never shows
// as an empty table.

import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, messageOf, whoAmI, type Me } from "./api";
import { count, dateTime, duration, phone, setCenter, when } from "./format";
import { t, type Key } from "./i18n";
import { Header } from "./pages/Header";
import { Player } from "./pages/Player";
import { agentOf, type CallFacts } from "./pages/calls";
import { Field } from "./ui";

const LIMIT = 100;
const OUTCOMES = ["answered", "abandoned", "transferred", "timed_out", "unanswered", "failed", "unknown", "busy"];
const CONSENTS = ["granted", "declined", "none"];

interface HistoryCall extends CallFacts {
  started_at: string;
  customer: string | null;
  queue: string | null;
  outcome: string;
  wait_s: number | null;
  talk_s: number | null;
  consent: "granted" | "declined" | null;
  has_recording: boolean;
  routing: string | null;
  disposition: string | null;
  note: string | null;
}

interface HistoryPage {
  calls: HistoryCall[];
  total: number | null;
  total_capped: boolean;
  next: string | null;
}

interface Agent {
  username: string;
  name: string;
}

/** The page shown: its search, its own cursor, the cursors of the pages before it. */
interface Shown {
  search: string; // the filters, as a query string
  after: string | null;
  before: (string | null)[];
  page: HistoryPage;
}

const outcomeOf = (value: string) => (OUTCOMES.includes(value) ? t(`history.outcome.${value}` as Key) : value);

/** The filters of the form, without the empty ones. */
function searchOf(form: HTMLFormElement): string {
  const params = new URLSearchParams();
  for (const [name, value] of new FormData(form)) {
    const text = String(value).trim();
    if (text) params.set(name, text);
  }
  return params.toString();
}

function totalOf(page: HistoryPage): string {
  if (page.total == null) return t("history.totalUnknown");
  if (page.total_capped) return t("history.totalCapped", { count: count(page.total) });
  return page.total === 1 ? t("history.totalOne") : t("history.total", { count: count(page.total) });
}

function History({ me }: { me: Me }) {
  const [, setLanguageTurn] = useState(0); // the language changed: everything is drawn again
  const [shown, setShown] = useState<Shown | null>(null);
  const [refusal, setRefusal] = useState("");
  const [busy, setBusy] = useState(false);
  const [agents, setAgents] = useState<Agent[]>([]);
  const [playing, setPlaying] = useState<string | null>(null);

  // Shows the page after `after` (null: the first) of `search`; nothing changes unless the
  // page arrives. A refused search empties the table, so that no one reads old results as
  // the answer to the new filters; a page that fails keeps the one shown.
  const load = async (search: string, after: string | null, before: (string | null)[]) => {
    setBusy(true);
    setRefusal("");
    const asked = new URLSearchParams(search);
    asked.set("limit", String(LIMIT));
    if (after) asked.set("after", after);
    try {
      const page = await api<HistoryPage>(`/api/history?${asked}`);
      setShown({ search, after, before, page });
      setPlaying(null);
    } catch (error) {
      setRefusal(messageOf(error));
      if (after === null) setShown(null);
    } finally {
      setBusy(false);
    }
  };

  useEffect(() => {
    void load("", null, []);
    api<Agent[]>("/api/history/agents").then(setAgents, () => undefined);
  }, []);

  const page = shown?.page;
  const first = shown ? shown.before.length * LIMIT + 1 : 0;
  return (
    <>
      <Header me={me} current="history" onLanguage={() => setLanguageTurn((n) => n + 1)} />
      <main class="page">
        <section class="panel" aria-labelledby="search-title">
          <h2 id="search-title">{t("history.search")}</h2>
          <form
            class="history-search"
            role="search"
            aria-describedby="search-status"
            onSubmit={(event) => {
              event.preventDefault();
              void load(searchOf(event.currentTarget), null, []);
            }}
          >
            <Field label={t("history.from")}>
              <input name="from" type="date" aria-describedby="period-hint" />
            </Field>
            <Field label={t("history.to")}>
              <input name="to" type="date" aria-describedby="period-hint" />
            </Field>
            <Field label={t("history.number")}>
              <input name="number" maxLength={40} inputMode="tel" autoComplete="off" />
            </Field>
            <Field label={t("history.customer")}>
              <input name="customer" maxLength={100} placeholder={t("history.customerHint")} autoComplete="off" />
            </Field>
            <Field label={t("history.agent")}>
              <input name="agent" maxLength={80} list="agent-names" placeholder={t("history.agentHint")} autoComplete="off" />
            </Field>
            <datalist id="agent-names">
              {agents.map((agent) => (
                <option key={agent.username} value={agent.name} />
              ))}
            </datalist>
            <Field label={t("history.queue")}>
              <input name="queue" maxLength={80} autoComplete="off" />
            </Field>
            <Field label={t("history.outcome")}>
              <select name="outcome">
                <option value="">{t("history.any")}</option>
                {OUTCOMES.map((outcome) => (
                  <option key={outcome} value={outcome}>
                    {outcomeOf(outcome)}
                  </option>
                ))}
              </select>
            </Field>
            <Field label={t("history.consent")}>
              <select name="consent">
                <option value="">{t("history.any")}</option>
                {CONSENTS.map((consent) => (
                  <option key={consent} value={consent}>
                    {t(`history.consent.${consent}` as Key)}
                  </option>
                ))}
              </select>
            </Field>
            <div class="search-actions">
              <button type="submit" disabled={busy}>
                {t("history.submit")}
              </button>
              {shown && (
                <a class="csv" href={`/api/history.csv?${shown.search}`} download="calls.csv">
                  {t("history.csv")}
                </a>
              )}
            </div>
          </form>
          <p id="period-hint" class="muted hint">
            {t("history.periodHint")}
          </p>
          <p id="search-status" class={`form-status ${refusal ? "error" : ""}`} role="status" aria-live="polite">
            {refusal ? t("history.refused", { message: refusal }) : busy ? t("history.searching") : ""}
          </p>
        </section>
        {shown && page && (
          <section class="panel" aria-labelledby="calls-title">
            <div class="results-head">
              <h2 id="calls-title">{t("history.calls")}</h2>
              <p id="total" role="status">
                {totalOf(page)}
              </p>
            </div>
            {page.calls.length === 0 ? (
              <p class="muted none">{t("history.none")}</p>
            ) : (
              <table id="history" class="data history">
                <thead>
                  <tr>
                    <th scope="col">{t("history.started")}</th>
                    <th scope="col">{t("history.caller")}</th>
                    <th scope="col">{t("history.customer")}</th>
                    <th scope="col">{t("history.queue")}</th>
                    <th scope="col">{t("history.agent")}</th>
                    <th scope="col">{t("history.outcome")}</th>
                    <th scope="col">{t("history.wait")}</th>
                    <th scope="col">{t("history.talk")}</th>
                    <th scope="col">{t("history.disposition")}</th>
                    <th scope="col">{t("history.note")}</th>
                    <th scope="col">{t("history.recording")}</th>
                  </tr>
                </thead>
                <tbody>
                  {page.calls.map((call) => (
                    <Row
                      key={call.linkedid}
                      call={call}
                      playing={playing === call.linkedid}
                      onPlay={(on) => setPlaying(on ? call.linkedid : null)}
                    />
                  ))}
                </tbody>
              </table>
            )}
            <nav class="pager" aria-label={t("history.calls")}>
              <button
                id="previous"
                type="button"
                class="secondary"
                disabled={busy || shown.before.length === 0}
                onClick={() => void load(shown.search, shown.before.at(-1) ?? null, shown.before.slice(0, -1))}
              >
                {t("history.previous")}
              </button>
              <span id="page">
                {page.calls.length > 0 &&
                  t("history.page", { page: shown.before.length + 1, first, last: first + page.calls.length - 1 })}
              </span>
              <button
                id="next"
                type="button"
                class="secondary"
                disabled={busy || !page.next}
                onClick={() => void load(shown.search, page.next, [...shown.before, shown.after])}
              >
                {t("history.next")}
              </button>
            </nav>
          </section>
        )}
      </main>
    </>
  );
}

const COLUMNS = 11;

function Row({ call, playing, onPlay }: { call: HistoryCall; playing: boolean; onPlay: (on: boolean) => void }) {
  const caller = call.caller_name || phone(call.caller_number) || t("history.noName");
  const time = dateTime(call.started_at);
  return (
    <>
      <tr data-linkedid={call.linkedid}>
        <td class="started">{when(call.started_at)}</td>
        <td class="caller">
          <span class="name">{call.caller_name || t("history.noName")}</span>
          <span class="number">{call.caller_number ? phone(call.caller_number) : t("history.withheld")}</span>
        </td>
        <td>{call.customer ?? ""}</td>
        <td>
          {call.queue ?? t("history.direct")}
          {call.routing && <span class="routing">{t("history.routing", { reason: call.routing })}</span>}
        </td>
        <td class="agent">{call.agent ? agentOf(call) : ""}</td>
        <td class="outcome">{outcomeOf(call.outcome)}</td>
        <td class="wait">{duration(call.wait_s)}</td>
        <td class="talk">{duration(call.talk_s)}</td>
        <td class="disposition">{call.disposition ?? ""}</td>
        <td class="note">{call.note ?? ""}</td>
        <td class="recording">
          {call.has_recording ? (
            <div class="recording-actions">
              <button
                type="button"
                class="secondary small play"
                aria-expanded={playing}
                aria-label={playing ? t("history.closePlayer") : t("history.playLabel", { caller, time })}
                onClick={() => onPlay(!playing)}
              >
                {playing ? t("history.closePlayer") : t("history.play")}
              </button>
              {call.agent && (
                <a
                  class="review"
                  href={`/quality?call=${encodeURIComponent(call.linkedid)}`}
                  aria-label={t("history.reviewLabel", { caller, time })}
                >
                  {t("history.review")}
                </a>
              )}
            </div>
          ) : (
            <span class="muted">{t(`history.notRecorded.${call.consent ?? "none"}` as Key)}</span>
          )}
        </td>
      </tr>
      {playing && (
        <tr class="player-row" data-player={call.linkedid}>
          <td colSpan={COLUMNS}>
            <Player linkedid={call.linkedid} label={t("history.playerOf", { caller, time })} />
          </td>
        </tr>
      )}
    </>
  );
}

async function start(): Promise<void> {
  const root = document.getElementById("app")!;
  try {
    const me = await whoAmI();
    setCenter(me.center);
    render(<History me={me} />, root);
  } catch (error) {
    root.textContent = t("error.generic", { message: messageOf(error) });
  }
}

void start();
