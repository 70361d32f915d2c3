// One queue on the wall: its level in words and color, the big figures each beside its
// target or limit (colored by how far it is from them), the agents by state, today and the
// last hour in a table (not on the TV), and the day chart.

import { clock, count, duration, percent } from "../format";
import { t, term, type Key } from "../i18n";
import { DayChart } from "./DayChart";
import { health, type Level } from "./health";
import type { Figures, QueueCard as Card } from "./model";

const STATES = ["ready", "on_call", "ringing", "paused", "wrap_up", "busy", "unavailable"];
const LEVEL_WORDS: Record<Level, Key> = {
  none: "wall.level.none",
  good: "wall.level.good",
  warn: "wall.level.warn",
  bad: "wall.level.bad",
};

const span = (seconds: number | null) => (seconds == null ? "—" : clock(seconds));

interface FigureProps {
  name: string;
  label?: string; // else the wall's words for the name
  value: string;
  detail?: string;
  level?: Level;
}

/** A figure in large type, its name above it and a detail (a target, a limit) below. */
export function Figure({ name, label, value, detail, level }: FigureProps) {
  return (
    <div class={`figure${level ? ` level-${level}` : ""}`} data-figure={name}>
      <dt>{label ?? t(`wall.figure.${name}` as Key)}</dt>
      <dd>
        <span class="value">{value}</span>
        {detail && <span class="detail">{detail}</span>}
      </dd>
    </div>
  );
}

interface Props {
  card: Card;
  dayStart: string | null;
  now: number;
  wall: boolean; // the TV: no table
}

export function QueueCard({ card, dayStart, now, wall }: Props) {
  const today = card.windows.today;
  const level = health(card);
  const limit = card.abandon_limit ?? 0.1;
  const maxWait = card.max_wait_s ?? 60;
  const present = STATES.filter((s) => (card.agents[s] ?? 0) > 0);
  return (
    <article class={`queue-card level-${level.queue}`} data-queue={card.queue}>
      <header class="queue-head">
        <h3>{card.queue}</h3>
        <span class={`queue-level level-${level.queue}`}>{t(LEVEL_WORDS[level.queue])}</span>
      </header>
      <dl class="figures-big">
        <Figure name="waiting" value={count(card.waiting)} level={card.waiting > 0 ? level.wait : undefined} />
        <Figure
          name="longest"
          value={clock(card.longest_wait_s)}
          detail={t("wall.limit", { limit: clock(maxWait) })}
          level={level.wait}
        />
        <Figure
          name="serviceLevel"
          value={percent(today.service_level)}
          detail={t("wall.slTarget", { target: percent(card.target), threshold: duration(card.threshold_s) })}
          level={level.serviceLevel}
        />
        <Figure
          name="abandoned"
          value={percent(today.abandon_rate)}
          detail={t("wall.abandonDetail", {
            count: count(today.abandoned),
            offered: count(today.offered),
            limit: percent(limit),
          })}
          level={level.abandons}
        />
        <Figure name="asa" value={span(today.asa_s)} />
        <Figure name="aht" value={span(today.aht_s)} />
      </dl>
      <p class="agents-line">
        <span>{t("wall.loggedIn", { n: count(card.agents.logged_in ?? 0) })}</span>
        {present.map((s) => (
          <span key={s} class={`badge state-${s}`}>
            {term("state", s)} {count(card.agents[s])}
          </span>
        ))}
      </p>
      {!wall && <Windows card={card} />}
      {dayStart && <DayChart buckets={card.buckets} dayStart={dayStart} target={card.target} now={now} size={wall ? "tv" : "desk"} />}
    </article>
  );
}

/** Today and the last hour, a column each, a row per figure. */
function Windows({ card }: { card: Card }) {
  const periods: [Key, Figures][] = [
    ["wall.window.today", card.windows.today],
    ["wall.window.60m", card.windows["60m"]],
    ["wall.window.15m", card.windows["15m"]],
  ];
  const rows: [Key, (w: Figures) => string][] = [
    ["wall.window.offered", (w) => count(w.offered)],
    ["wall.window.answered", (w) => count(w.answered)],
    ["wall.window.abandoned", (w) => t("wall.window.abandonedShort", { n: count(w.abandoned), short: count(w.short_abandoned) })],
    ["wall.figure.serviceLevel", (w) => percent(w.service_level)],
    ["wall.window.sl2", (w) => percent(w.service_level_2)],
    ["wall.figure.asa", (w) => span(w.asa_s)],
    ["wall.figure.aht", (w) => span(w.aht_s)],
  ];
  return (
    <table class="windows">
      <caption class="visually-hidden">{t("wall.window.caption", { queue: card.queue })}</caption>
      <thead>
        <tr>
          <td />
          {periods.map(([name]) => (
            <th key={name} scope="col">
              {t(name)}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map(([name, value]) => (
          <tr key={name} data-row={name.split(".").pop()}>
            <th scope="row">{t(name)}</th>
            {periods.map(([period, w]) => (
              <td key={period}>{value(w)}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
