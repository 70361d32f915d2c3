// The calls now: who calls (as text: caller ID is the caller's to choose), the queue, the
// agent by name, how long they have waited or talked, and the recording consent.

import { clock, phone } from "../format";
import { t, term } from "../i18n";
import { displayName, type People } from "./Agents";
import type { CallRow } from "./model";

export function Calls({ calls, people, now }: { calls: CallRow[]; people: People; now: number }) {
  return (
    <section class="panel calls-now" aria-labelledby="calls-title">
      <h2 id="calls-title">{t("wall.calls.title")}</h2>
      {calls.length === 0 ? (
        <p class="muted">{t("wall.calls.none")}</p>
      ) : (
        <table id="calls" class="calls">
          <colgroup>
            {["caller", "number", "queue", "agent", "time", "consent"].map((name) => (
              <col key={name} class={name} />
            ))}
          </colgroup>
          <thead>
            <tr>
              <th scope="col">{t("wall.calls.caller")}</th>
              <th scope="col">{t("wall.calls.number")}</th>
              <th scope="col">{t("wall.calls.queue")}</th>
              <th scope="col">{t("wall.calls.agent")}</th>
              <th scope="col">{t("wall.calls.time")}</th>
              <th scope="col">{t("wall.calls.consent")}</th>
            </tr>
          </thead>
          <tbody>
            {calls.map((call) => (
              <tr key={call.linkedid} data-linkedid={call.linkedid}>
                <td class="caller">{call.caller_name || t("call.unknownName")}</td>
                <td>{call.caller_number ? phone(call.caller_number) : t("call.noNumber")}</td>
                <td>{call.queue || t("call.direct")}</td>
                <td>{displayName(call.agent, people)}</td>
                <td class="timer">
                  {call.answered_at != null
                    ? t("wall.calls.talking", { time: clock(now - call.answered_at) })
                    : call.started_at != null
                      ? t("wall.calls.waiting", { time: clock(now - call.started_at) })
                      : ""}
                </td>
                <td>{term("consent", call.consent)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
