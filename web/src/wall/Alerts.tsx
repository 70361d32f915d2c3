// Today's alerts, newest first: those raised before the page opened too (the daemon raises
// them whether or not a page is open). One still holding is marked so; a cleared one says
// what came back to normal. The words are the page's language, not the server's text.

import { timeOfDay } from "../format";
import { t, type Key } from "../i18n";
import { stillRaised, type Alert } from "./model";

const KINDS = ["service_level", "abandon_rate", "long_wait"];

export function alertWords(alert: Alert): string {
  if (!KINDS.includes(alert.kind)) return alert.text; // a kind this page does not know yet
  return alert.raised
    ? t(`wall.alert.${alert.kind}` as Key)
    : t("wall.alert.cleared", { what: t(`wall.alertName.${alert.kind}` as Key) });
}

export function Alerts({ alerts, limit }: { alerts: Alert[]; limit?: number }) {
  const holding = stillRaised(alerts);
  const shown = limit == null ? alerts : alerts.slice(0, limit);
  return (
    <section class="panel alerts" aria-labelledby="alerts-title">
      <h2 id="alerts-title">{t("wall.alerts.title")}</h2>
      {alerts.length === 0 ? (
        <p class="muted no-alerts">{t("wall.alerts.none")}</p>
      ) : (
        <ol id="alert-feed" class="alert-feed" tabIndex={limit == null ? 0 : undefined} aria-labelledby="alerts-title">
          {shown.map((alert) => (
            <li
              key={`${alert.queue}|${alert.kind}|${alert.raised}|${alert.at}`}
              class={`${alert.raised ? "raised" : "cleared"}${holding.has(alert) ? " holding" : ""}`}
              data-queue={alert.queue}
              data-kind={alert.kind}
            >
              <time>{timeOfDay(alert.at)}</time> <strong class="alert-queue">{alert.queue}</strong>{" "}
              <span class="alert-words">{alertWords(alert)}</span>
              {holding.has(alert) && <span class="alert-holding">{t("wall.alerts.holding")}</span>}
            </li>
          ))}
        </ol>
      )}
      {shown.length < alerts.length && (
        <p class="muted more">{t("wall.alerts.more", { n: alerts.length - shown.length })}</p>
      )}
    </section>
  );
}
