// One agent's day, opened from the agents grid: their figures so far, their recent calls,
// and the notes and payment promises they wrote today (GET /api/supervisor/agent-day).

import { useEffect, useRef } from "preact/hooks";
import { amount, calendarDate, when } from "../format";
import { t } from "../i18n";
import { DayFigures, type HomePage, RecentCalls } from "../agent/Home";

export interface Day extends HomePage {
  username: string;
  name: string;
  interfaces: string[];
  notes: { created_at: string; customer_name: string | null; disposition: string | null; text: string | null }[];
  promises: {
    created_at: string;
    customer_name: string | null;
    amount: string;
    currency: string;
    due_date: string;
    status: string;
  }[];
}

export function AgentDay({ day, onClose }: { day: Day; onClose: () => void }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    heading.current?.focus();
    heading.current?.scrollIntoView?.({ block: "nearest" });
  }, [day.username]);
  return (
    <section id="agent-day" class="panel agent-day" aria-labelledby="agent-day-title">
      <header class="panel-head">
        <h2 id="agent-day-title" tabIndex={-1} ref={heading}>
          {t("wall.day.title", { name: day.name })}
        </h2>
        <span class="muted who">
          {day.username} · {day.interfaces.join(", ")}
        </span>
        <button type="button" class="secondary" onClick={onClose}>
          {t("wall.day.close")}
        </button>
      </header>
      <DayFigures day={day.day} />
      <div class="day-lists">
        <div>
          <h3>{t("home.recent")}</h3>
          <RecentCalls calls={day.recent_calls} className="day-calls" />
        </div>
        <div>
          <h3>{t("wall.day.notes")}</h3>
          {day.notes.length === 0 ? (
            <p class="muted">{t("wall.day.noNotes")}</p>
          ) : (
            <ul class="list day-notes">
              {day.notes.map((note, index) => (
                <li key={index}>
                  <span class="muted">{when(note.created_at)}</span>{" "}
                  <strong>{note.customer_name ?? ""}</strong>
                  {note.disposition && <span class="badge">{note.disposition}</span>}
                  {note.text && <p class="note-text">{note.text}</p>}
                </li>
              ))}
            </ul>
          )}
          <h3>{t("wall.day.promises")}</h3>
          {day.promises.length === 0 ? (
            <p class="muted">{t("wall.day.noPromises")}</p>
          ) : (
            <ul class="list day-promises">
              {day.promises.map((promise, index) => (
                <li key={index}>
                  <strong>{promise.customer_name ?? ""}</strong>{" "}
                  {t("home.promiseItem", {
                    amount: amount(promise.amount, promise.currency),
                    date: calendarDate(promise.due_date),
                  })}{" "}
                  <span class="muted">({promise.status})</span>
                </li>
              ))}
            </ul>
          )}
        </div>
      </div>
    </section>
  );
}
