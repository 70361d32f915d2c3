// What each figure means, as the server defines it (cti/kpi.py, DESIGN §6), in the page's
// language; a figure this page has no words for keeps the server's. And what the colors say.

import { t, type Key } from "../i18n";

export const DEFINED = [
  "offered",
  "answered",
  "abandoned",
  "short_abandoned",
  "timed_out",
  "service_level",
  "service_level_2",
  "abandon_rate",
  "abandon_rate_without_short",
  "asa_s",
  "aht_s",
  "longest_answered_wait_s",
];

export function Definitions({ definitions }: { definitions: Record<string, string> }) {
  const names = Object.keys(definitions);
  return (
    <section class="panel definitions" aria-labelledby="definitions-title">
      <h2 id="definitions-title">{t("wall.definitions.title")}</h2>
      <dl id="definitions">
        {names.map((name) => {
          const known = DEFINED.includes(name);
          return (
            <div key={name}>
              <dt>{known ? t(`wall.def.${name}.name` as Key) : name}</dt>
              <dd>{known ? t(`wall.def.${name}.meaning` as Key) : definitions[name]}</dd>
            </div>
          );
        })}
        <div>
          <dt>{t("wall.definitions.colors")}</dt>
          <dd>{t("wall.definitions.colorsMeaning")}</dd>
        </div>
      </dl>
    </section>
  );
}
