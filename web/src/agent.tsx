// The agent's screen: the current call on top, always in view (ringing with sound and a
// browser notification, live timers, the customer card and its forms), and the agent's day
// beside it. One websocket brings the calls (a snapshot on each connect, so a reload keeps
// the call and its card); the HTTP API saves what the agent does.

import { useEffect, useReducer, useRef, useState } from "preact/hooks";
import { api, messageOf, type Me } from "./api";
import { clock, count, phone } from "./format";
import { t, term } from "./i18n";
import { connect, type LiveMessage } from "./live";
import { LanguageSwitch, mount, PauseReason, SignOut, useNow } from "./ui";
import { CallCard } from "./agent/CallCard";
import { done, fold, handedOn, NO_CALLS, withCustomer, withNote, type Calls, type Call } from "./agent/calls";
import { Home, type HomePage, type Review } from "./agent/Home";
import { Search } from "./agent/Search";
import { Ringer } from "./agent/ring";

interface Config {
  pause_reasons: string[];
  dispositions: string[];
  wrapup_s: number;
  wrapup_s_by_queue: Record<string, number>;
  disposition_required: string[]; // queues
}

interface AgentState {
  state: string;
  reason: string;
  since: number | null;
  queues: string[]; // the queues the agent is a member of
}

interface QueueWait {
  queue: string;
  waiting: number;
  oldest_queued_at: number | null; // epoch seconds: since when the longest offered caller waits
}

type Action =
  | { live: LiveMessage }
  | { done: string }
  | { handedOn: string }
  | { note: [string, string] }
  | { customers: [string, (c: Call["customers"] & {}) => Call["customers"] & {}] };

function reduce(calls: Calls, action: Action): Calls {
  const now = Date.now() / 1000;
  if ("live" in action) return fold(calls, action.live, now);
  if ("done" in action) return done(calls, action.done);
  if ("handedOn" in action) return handedOn(calls, action.handedOn);
  if ("note" in action) return withNote(calls, ...action.note);
  return withCustomer(calls, action.customers[0], action.customers[1]);
}

function App({ me, config }: { me: Me; config: Config }) {
  const [, setLanguageTurn] = useState(0); // the language changed: everything is drawn again
  const relabel = () => setLanguageTurn((n) => n + 1);
  const [calls, dispatch] = useReducer(reduce, NO_CALLS);
  const [link, setLink] = useState<"live" | "down" | "offline">("offline");
  const [agent, setAgent] = useState<AgentState>({ state: "logged_out", reason: "", since: null, queues: [] });
  const [home, setHome] = useState<HomePage | null>(null);
  const [reviews, setReviews] = useState<Review[]>([]);
  const [error, setError] = useState("");
  const [customerOpen, setCustomerOpen] = useState(false); // a searched customer's card
  const [waits, setWaits] = useState<QueueWait[]>([]);
  const ringer = useRef(new Ringer());

  const loadHome = () => {
    api<HomePage>("/api/agent/home").then(setHome, (e) => setError(messageOf(e)));
    api<Review[]>("/api/agent/reviews").then(setReviews, () => undefined);
  };

  useEffect(() => {
    loadHome();
    const own = new Set(me.user.interfaces);
    return connect(
      (message) => {
        dispatch({ live: message });
        if (message.type === "snapshot") {
          setLink(message.ami_connected ? "live" : "down");
          const row = (message.agents as { state: string; reason: string; state_since: number | null; queues: string[] }[])[0];
          if (row) setAgent({ state: row.state, reason: row.reason, since: row.state_since, queues: row.queues ?? [] });
          setWaits((message.queue_waits as QueueWait[]) ?? []);
        } else if (message.type === "agent_state" && own.has(String(message.interface))) {
          const queues = Array.isArray(message.queues) ? (message.queues as string[]) : [];
          setAgent({ state: String(message.state), reason: String(message.reason), since: (message.at as number) ?? Date.now() / 1000, queues });
        } else if (message.type === "queue_waits") {
          setWaits((message.queues as QueueWait[]) ?? []);
        } else if (message.type === "link") {
          setLink(message.up ? "live" : "down");
        } else if (message.type === "call_ended") {
          loadHome();
        }
      },
      (open) => {
        if (!open) setLink("offline");
      },
    );
  }, []);

  const current = calls.current ? calls.byId[calls.current] : null;
  // The agent's own outbound call rings their desk phone, not this page.
  const ringing = current?.phase === "ringing" && !current.outbound ? current : null;
  useEffect(() => {
    if (ringing) ringer.current.start(t("call.notify", { caller: ringing.caller_name || phone(ringing.caller_number) }));
    else ringer.current.stop();
  }, [ringing?.linkedid]);

  return (
    <>
      <header class="top">
        <h1>{t("app.name")}</h1>
        <span class="who">{me.user.name}</span>
        <span class={`link link-${link}`} role="status">
          {link === "live" ? t("link.live") : link === "down" ? t("link.down") : t("link.offline")}
        </span>
        <span class="spacer" />
        <StateControls agent={agent} reasons={config.pause_reasons} onError={setError} onUse={() => ringer.current.unlock()} />
        <LanguageSwitch onChange={relabel} />
        <SignOut />
      </header>
      {error && (
        <p class="page-error" role="alert">
          {t("error.generic", { message: error })}
        </p>
      )}
      {me.user.interfaces.length === 0 && <p class="page-error">{t("error.noPhone")}</p>}
      <main class="agent">
        <section class="current" aria-live="polite">
          {current ? (
            <CallCard
              key={current.linkedid}
              call={current}
              wrapUpEnds={wrapUpEnd(agent, current, config)}
              dispositions={config.dispositions}
              dispositionRequired={config.disposition_required.includes(current.queue)}
              onCustomers={(change) => dispatch({ customers: [current.linkedid, change] })}
              onNote={(note) => dispatch({ note: [current.linkedid, note] })}
              onDone={() => dispatch({ done: current.linkedid })}
              onTransferred={() => dispatch({ handedOn: current.linkedid })}
              onSaved={loadHome}
            />
          ) : (
            <p class="no-call">{t("call.none")}</p>
          )}
        </section>
        <aside class="day">
          <QueueWaits waits={waits.filter((w) => agent.queues.includes(w.queue))} />
          <Search onOpen={setCustomerOpen} />
          {!customerOpen && <Home home={home} reviews={reviews} />}
        </aside>
      </main>
    </>
  );
}

/** The agent's queues: callers waiting, and the longest wait, counting up. */
function QueueWaits({ waits }: { waits: QueueWait[] }) {
  const now = useNow();
  if (waits.length === 0) return null;
  return (
    <section class="queue-waits" aria-label={t("queues.title")}>
      <h2>{t("queues.title")}</h2>
      <ul class="list">
        {waits.map((w) => (
          <li key={w.queue} class={w.waiting > 0 ? "waiting" : ""}>
            <strong>{w.queue}</strong>{" "}
            {w.waiting === 0
              ? t("queues.nobody")
              : t("queues.waiting", { count: count(w.waiting) }) +
                (w.oldest_queued_at != null ? ` · ${t("queues.longest", { time: clock(now - w.oldest_queued_at) })}` : "")}
          </li>
        ))}
      </ul>
    </section>
  );
}

/** When the daemon ends the agent's wrap-up after this call, if it holds one. */
function wrapUpEnd(agent: AgentState, call: Call, config: Config): number | null {
  if (call.phase !== "ended" || agent.state !== "wrap_up" || agent.since == null) return null;
  const seconds = config.wrapup_s_by_queue[call.queue] ?? config.wrapup_s;
  return seconds > 0 ? agent.since + seconds : null;
}

function StateControls({
  agent,
  reasons,
  onError,
  onUse,
}: {
  agent: AgentState;
  reasons: string[];
  onError: (message: string) => void;
  onUse: () => void;
}) {
  const now = useNow();
  const [reason, setReason] = useState(reasons[0] ?? "");
  const label = agent.reason ? `${term("state", agent.state)} (${agent.reason})` : term("state", agent.state);
  const send = (body: object) => {
    onUse();
    api("/api/agent/state", body).catch((e) => onError(messageOf(e)));
  };
  return (
    <div class="state-controls">
      <span class={`badge state-${agent.state}`} data-state={agent.state}>
        {agent.since ? t("agent.stateFor", { state: label, time: clock(now - agent.since) }) : label}
      </span>
      <button type="button" onClick={() => send({ paused: false })} disabled={agent.state === "ready"}>
        {t("agent.ready")}
      </button>
      <PauseReason label={t("agent.pauseReason")} reasons={reasons} value={reason} onChange={setReason} />
      <button type="button" class="secondary" onClick={() => send({ paused: true, reason })}>
        {t("agent.pause")}
      </button>
    </div>
  );
}

void mount<Config>(App);
