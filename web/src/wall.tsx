// The supervisor's wall: the queues (big figures against their targets, colored by how the
// queue is doing, the day chart), today's alerts, the agents with their actions and their
// day, the calls now, the outbound campaigns and what the figures mean. On every (re)connect
// of the websocket the page takes a snapshot (/api/wallboard, /api/state, today's alerts);
// then the server pushes what changed ("wall" messages, at most once a second) and each
// alert ("alert"). The campaigns' figures are read apart, every few seconds (wall/Campaigns).
//
// Wall mode (?wall, or the button) is for a TV: no controls, large type, and the whole page
// sized to the screen (the root font size is the largest at which nothing scrolls).

import { useEffect, useLayoutEffect, useMemo, useReducer, useState } from "preact/hooks";
import { api, messageOf, type Me } from "./api";
import { timeOfDay } from "./format";
import { lang, t } from "./i18n";
import { connect, type LiveMessage } from "./live";
import { LanguageSwitch, mount, SignOut, useNow } from "./ui";
import { AgentDay, type Day } from "./wall/AgentDay";
import { AgentsGrid, AgentTiles, peopleByInterface, sortedAgents, type People, type Person } from "./wall/Agents";
import { Alerts } from "./wall/Alerts";
import { Calls } from "./wall/Calls";
import { CampaignsPanel, useCampaigns } from "./wall/Campaigns";
import { Definitions } from "./wall/Definitions";
import { fitFont, fits, tvColumns } from "./wall/fit";
import { EMPTY, fold, snapshot, type Alert, type Board, type State, type Wall } from "./wall/model";
import { QueueCard } from "./wall/QueueCard";

interface Config {
  pause_reasons: string[];
}

type Action = { live: LiveMessage } | { snapshot: [Board, State, Alert[]] };

function reduce(wall: Wall, action: Action): Wall {
  if ("live" in action) return fold(wall, action.live);
  return snapshot(wall, ...action.snapshot);
}

const TV_ALERTS = 4; // the latest alerts the TV shows

function wallModeInAddress(): boolean {
  return new URLSearchParams(location.search).has("wall");
}

function App({ me, config }: { me: Me; config: Config }) {
  const [, setLanguageTurn] = useState(0); // the language changed: everything is drawn again
  const relabel = () => setLanguageTurn((n) => n + 1);
  const [wall, dispatch] = useReducer(reduce, EMPTY);
  const [online, setOnline] = useState(false);
  const [people, setPeople] = useState<People>({});
  const [tv, setTv] = useState(wallModeInAddress);
  const [day, setDay] = useState<Day | null>(null);
  const [notice, setNotice] = useState<{ text: string; ok: boolean } | null>(null);
  const [error, setError] = useState("");
  const now = useNow();
  const campaigns = useCampaigns();

  useEffect(() => {
    const load = async () => {
      try {
        const [board, state, alerts] = await Promise.all([
          api<Board>("/api/wallboard"),
          api<State>("/api/state"),
          api<{ alerts: Alert[] }>("/api/supervisor/alerts"),
        ]);
        dispatch({ snapshot: [board, state, alerts.alerts] });
        setError("");
      } catch (e) {
        setError(messageOf(e));
      }
      // Names may be missing while the database is down: the wall still works without.
      api<Person[]>("/api/supervisor/agents").then((found) => setPeople(peopleByInterface(found)), () => undefined);
    };
    return connect(
      (message) => (message.type === "snapshot" ? void load() : dispatch({ live: message })),
      setOnline,
    );
  }, []);

  const setWallMode = (on: boolean) => {
    setTv(on);
    const address = new URL(location.href);
    if (on) address.searchParams.set("wall", "");
    else address.searchParams.delete("wall");
    history.replaceState(null, "", address);
  };
  useLayoutEffect(() => {
    document.documentElement.classList.toggle("wall-mode", tv); // before the page is fitted
  }, [tv]);
  useEffect(() => {
    if (!tv) return;
    const leave = (event: KeyboardEvent) => event.key === "Escape" && setWallMode(false);
    addEventListener("keydown", leave);
    return () => removeEventListener("keydown", leave);
  }, [tv]);
  useEffect(() => {
    document.title = t("wall.title");
  });

  const queues = Object.values(wall.queues).sort((a, b) => a.queue.localeCompare(b.queue));
  const agents = useMemo(() => sortedAgents(Object.values(wall.agents), people, lang()), [wall.agents, people, lang()]);
  const calls = Object.values(wall.calls).sort((a, b) => (a.started_at ?? 0) - (b.started_at ?? 0));
  const campaignCount = campaigns.campaigns?.length ?? 0;
  useFit(tv, `${queues.length}|${agents.length}|${Math.min(wall.alerts.length, TV_ALERTS)}|${campaignCount}|${lang()}`);

  const openDay = (iface: string) => {
    api<Day>(`/api/supervisor/agent-day?interface=${encodeURIComponent(iface)}`).then(setDay, (e) =>
      setNotice({ text: messageOf(e), ok: false }),
    );
  };
  const link = !online ? "offline" : wall.link ? "live" : "down";

  return (
    <>
      <header class="top wall-header">
        <h1>{t("wall.title")}</h1>
        {!tv && <span class="who">{me.user.name}</span>}
        <span id="link" class={`link link-${link}`} role="status">
          {link === "live" ? t("link.live") : link === "down" ? t("link.down") : t("link.offline")}
        </span>
        <span class="spacer" />
        {tv ? (
          <span class="wall-clock">{timeOfDay(now)}</span>
        ) : (
          <>
            <nav class="wall-nav" aria-label={t("wall.nav")}>
              <a href="/history">{t("wall.nav.history")}</a>
              <a href="/quality">{t("wall.nav.quality")}</a>
            </nav>
            <button type="button" class="secondary" id="wall-mode" onClick={() => setWallMode(true)}>
              {t("wall.mode")}
            </button>
            <LanguageSwitch onChange={relabel} />
            <SignOut />
          </>
        )}
      </header>
      {error && (
        <p class="page-error" role="alert">
          {t("error.generic", { message: error })}
        </p>
      )}
      {!tv && (
        <p id="notice" class={`wall-notice${notice && !notice.ok ? " error" : ""}`} role="status">
          {notice?.text ?? ""}
        </p>
      )}
      <main class={tv ? "wall tv" : "wall"}>
        <div class="wall-top">
          <section class="panel queues" aria-labelledby="queues-title">
            <h2 id="queues-title" class={tv ? "visually-hidden" : ""}>
              {t("wall.queues.title")}
            </h2>
            {!wall.loaded ? (
              <p class="muted">{t("app.loading")}</p>
            ) : queues.length === 0 ? (
              <p class="muted">{t("wall.queues.none")}</p>
            ) : (
              <div
                id="queue-cards"
                class={tv ? `queue-cards cols-${tvColumns(queues.length, innerWidth, innerHeight)}` : "queue-cards"}
              >
                {queues.map((card) => (
                  <QueueCard key={card.queue} card={card} dayStart={wall.dayStart} now={now} wall={tv} />
                ))}
              </div>
            )}
          </section>
          {!tv && <Alerts alerts={wall.alerts} />}
        </div>
        {tv ? (
          <>
            <div class="tv-bottom">
              <section class="panel agents-panel" aria-labelledby="agents-title">
                <h2 id="agents-title">{t("wall.agents.title")}</h2>
                <AgentTiles agents={agents} calls={wall.calls} people={people} now={now} />
              </section>
              <Alerts alerts={wall.alerts} limit={TV_ALERTS} />
            </div>
            <CampaignsPanel {...campaigns} people={people} agents={wall.agents} tv />
          </>
        ) : (
          <>
            <section class="panel agents-panel" aria-labelledby="agents-title">
              <h2 id="agents-title">{t("wall.agents.title")}</h2>
              <AgentsGrid
                agents={agents}
                calls={wall.calls}
                people={people}
                now={now}
                reasons={config.pause_reasons}
                onOpen={openDay}
                onNotice={(text, ok) => setNotice({ text, ok })}
              />
            </section>
            {day && <AgentDay day={day} onClose={() => setDay(null)} />}
            <Calls calls={calls} people={people} now={now} />
            <CampaignsPanel {...campaigns} people={people} agents={wall.agents} tv={false} />
            <Definitions definitions={wall.definitions} />
          </>
        )}
      </main>
    </>
  );
}

/** In wall mode, the root font size at which the page fits the screen: found again when
 * what is on it changes shape or the window is resized, and checked every few seconds in
 * case the page grew (a longer alert, a caller's name). */
function useFit(active: boolean, shape: string): void {
  const [resized, setResized] = useState(0);
  useEffect(() => {
    const resize = () => setResized((n) => n + 1);
    addEventListener("resize", resize);
    return () => removeEventListener("resize", resize);
  }, []);
  useLayoutEffect(() => {
    const root = document.documentElement;
    if (!active) {
      root.style.fontSize = "";
      root.classList.remove("wall-clipped");
      return;
    }
    fitFont(root);
    const check = setInterval(() => fits(root) || fitFont(root), 2000);
    return () => clearInterval(check);
  }, [active, shape, resized]);
}

void mount<Config>(App);
