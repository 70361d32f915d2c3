// A queue's day as an SVG chart: per 15-minute slot the calls offered (a light bar) with
// those answered and abandoned stacked inside it, on a count axis at the left; the service
// level of the day so far as a line, with the target dashed, on a percent axis at the right;
// the hours of the day along the bottom, and a legend in words below. Hours are the center's
// (the slots count from the server's day start, so the browser's own zone does not matter).

import { count, percent, timeOfDay } from "../format";
import { t } from "../i18n";
import type { Bucket } from "./model";

// The drawing's size in its own units (its text is 13 high): flatter on the TV, where the
// queues share the screen's height.
const SIZES = { desk: [520, 180], tv: [600, 140] } as const;
const LEFT = 34;
const RIGHT = 46;
const TOP = 10;
const BOTTOM = 24;
const SLOT_MS = 15 * 60 * 1000;
const MIN_HOURS = 8;

/** The first and last hour (0–24 from the day start) the chart spans: the slots with calls
 * and the hour now, at least MIN_HOURS. */
export function hourRange(slots: number[], nowHour: number): [number, number] {
  const hours = [...slots.map((s) => s / 4), Math.min(Math.max(nowHour, 0), 23.99)];
  let first = Math.floor(Math.min(...hours));
  let last = Math.min(24, Math.floor(Math.max(...hours)) + 1);
  if (last - first < MIN_HOURS) {
    last = Math.min(24, first + MIN_HOURS);
    first = Math.max(0, last - MIN_HOURS);
  }
  return [first, last];
}

/** A round top for the count axis, and its step: 4 steps at most. */
export function countAxis(max: number): [number, number] {
  for (const base of [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000]) {
    if (max <= base * 4) return [Math.max(base, Math.ceil(max / base) * base), base];
  }
  const step = 10 ** Math.ceil(Math.log10(max / 4));
  return [Math.ceil(max / step) * step, step];
}

interface Props {
  buckets: Bucket[];
  dayStart: string;
  target: number;
  now: number; // epoch seconds
  size: keyof typeof SIZES;
}

export function DayChart({ buckets, dayStart, target, now, size }: Props) {
  const [W, H] = SIZES[size];
  const PLOT_W = W - LEFT - RIGHT;
  const PLOT_H = H - TOP - BOTTOM;
  const start = new Date(dayStart).getTime();
  const slotOf = (b: Bucket) => Math.round((new Date(b.start).getTime() - start) / SLOT_MS);
  const [first, last] = hourRange(buckets.map(slotOf), (now * 1000 - start) / 3_600_000);
  const slots = (last - first) * 4;
  const slotW = PLOT_W / slots;
  const x = (slot: number) => LEFT + (slot - first * 4) * slotW;
  const [top, step] = countAxis(Math.max(1, ...buckets.map((b) => b.offered)));
  const y = (calls: number) => TOP + PLOT_H - (calls / top) * PLOT_H;
  const yRatio = (ratio: number) => TOP + PLOT_H - ratio * PLOT_H;
  const hourStep = last - first > 12 ? 2 : 1;
  const hours: number[] = [];
  for (let h = first; h <= last; h += hourStep) hours.push(h);
  const ticks: number[] = [];
  for (let c = 0; c <= top; c += step) ticks.push(c);
  const points = buckets
    .filter((b) => b.service_level_to_date != null && slotOf(b) >= first * 4 && slotOf(b) < last * 4)
    .map((b) => [x(slotOf(b)) + slotW / 2, yRatio(b.service_level_to_date!)]);
  const label = (epochMs: number) => timeOfDay(epochMs / 1000);
  return (
    <figure class="day-chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={t("wall.chart.label")}>
        <g class="grid">
          {ticks.map((c) => (
            <line key={c} x1={LEFT} x2={W - RIGHT} y1={y(c)} y2={y(c)} />
          ))}
        </g>
        <g class="axis counts">
          {ticks.map((c) => (
            <text key={c} class="end" x={LEFT - 6} y={y(c) + 4}>
              {count(c)}
            </text>
          ))}
        </g>
        <g class="axis ratio">
          {[0, 0.5, 1].map((r) => (
            <text key={r} x={W - RIGHT + 6} y={yRatio(r) + 4}>
              {percent(r)}
            </text>
          ))}
        </g>
        <g class="axis hours">
          {hours.map((h) => (
            <g key={h}>
              <line x1={x(h * 4)} x2={x(h * 4)} y1={TOP + PLOT_H} y2={TOP + PLOT_H + 4} />
              <text x={x(h * 4)} y={H - 6} class="middle">
                {label(start + h * 3_600_000)}
              </text>
            </g>
          ))}
        </g>
        <line class="baseline" x1={LEFT} x2={W - RIGHT} y1={TOP + PLOT_H} y2={TOP + PLOT_H} />
        {buckets.map((b) => {
          const slot = slotOf(b);
          if (slot < first * 4 || slot >= last * 4) return null;
          const left = x(slot) + slotW * 0.08;
          const width = slotW * 0.84;
          const inner = left + width * 0.2;
          const innerW = width * 0.6;
          const title = t("wall.chart.slot", {
            from: label(start + slot * SLOT_MS),
            to: label(start + (slot + 1) * SLOT_MS),
            offered: count(b.offered),
            answered: count(b.answered),
            abandoned: count(b.abandoned),
            sl: percent(b.service_level),
          });
          return (
            <g key={b.start} class="slot">
              <title>{title}</title>
              <rect class="offered" x={left} width={width} y={y(b.offered)} height={y(0) - y(b.offered)} />
              <rect class="answered" x={inner} width={innerW} y={y(b.answered)} height={y(0) - y(b.answered)} />
              <rect
                class="abandoned"
                x={inner}
                width={innerW}
                y={y(b.answered + b.abandoned)}
                height={y(b.answered) - y(b.answered + b.abandoned)}
              />
            </g>
          );
        })}
        <line class="target" x1={LEFT} x2={W - RIGHT} y1={yRatio(target)} y2={yRatio(target)} />
        {points.length > 0 && (
          <polyline class="sl-line" points={points.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(" ")} />
        )}
        {points.map(([px, py]) => (
          <circle key={px} class="sl-dot" cx={px} cy={py} r={2.5} />
        ))}
      </svg>
      <figcaption>
        <ul class="legend">
          <li>
            <span class="swatch offered" aria-hidden="true" />
            {t("wall.chart.offered")}
          </li>
          <li>
            <span class="swatch answered" aria-hidden="true" />
            {t("wall.chart.answered")}
          </li>
          <li>
            <span class="swatch abandoned" aria-hidden="true" />
            {t("wall.chart.abandoned")}
          </li>
          <li>
            <span class="swatch sl-line" aria-hidden="true" />
            {t("wall.chart.serviceLevel")}
          </li>
          <li>
            <span class="swatch target" aria-hidden="true" />
            {t("wall.chart.target", { target: percent(target) })}
          </li>
        </ul>
      </figcaption>
    </figure>
  );
}
