// The agent's day beside the calls: figures so far, follow-ups due (overdue first), recent
// calls and the quality reviews of their calls.

import { amount, calendarDate, count, dateTime, duration, phone, when } from "../format";
import { t, term } from "../i18n";
import { DialButton } from "./Dial";

export interface HomePage {
  day: { calls: number; talk_s: number; aht_s: number | null; promises: number };
  followups: {
    kind: "promise" | "callback";
    amount: string | null;
    currency: string | null;
    due: string;
    reason: string | null;
    customer_id: number;
    customer_name: string | null;
    phone: string | null;
    overdue_s: number;
  }[];
  recent_calls: {
    linkedid?: string; // the supervisor's view of an agent's day has it
    started_at: string;
    customer_name: string | null;
    caller_name: string | null;
    caller_number: string | null;
    outcome: string;
    talk_s: number | null;
  }[];
}

export interface Review {
  score: number;
  started_at: string;
  caller_number: string | null;
  reviewer: string;
  comment: string | null;
  form: { name: string }[];
  marks: Record<string, number>;
}

/** An agent's figures of the day: on their own page and in the supervisor's view of it. */
export function DayFigures({ day }: { day: HomePage["day"] }) {
  return (
    <dl class="day-figures">
      <div>
        <dt>{t("home.calls")}</dt>
        <dd>{count(day.calls)}</dd>
      </div>
      <div>
        <dt>{t("home.talk")}</dt>
        <dd>{duration(day.talk_s)}</dd>
      </div>
      <div>
        <dt>{t("home.aht")}</dt>
        <dd>{day.aht_s == null ? "—" : duration(day.aht_s)}</dd>
      </div>
      <div>
        <dt>{t("home.promises")}</dt>
        <dd>{count(day.promises)}</dd>
      </div>
    </dl>
  );
}

/** An agent's recent calls: on their own page and in the supervisor's view of their day. */
export function RecentCalls({ calls, className = "" }: { calls: HomePage["recent_calls"]; className?: string }) {
  if (calls.length === 0) return <p class="muted">{t("home.noRecent")}</p>;
  return (
    <table class={`recent ${className}`.trim()}>
      <thead>
        <tr>
          <th scope="col">{t("home.when")}</th>
          <th scope="col">{t("home.caller")}</th>
          <th scope="col">{t("home.outcome")}</th>
          <th scope="col">{t("home.talkTime")}</th>
        </tr>
      </thead>
      <tbody>
        {calls.map((call, index) => (
          <tr key={call.linkedid ?? index}>
            <td>{when(call.started_at)}</td>
            <td>{call.customer_name || call.caller_name || phone(call.caller_number)}</td>
            <td>{term("outcome", call.outcome)}</td>
            <td>{duration(call.talk_s)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Home({ home, reviews }: { home: HomePage | null; reviews: Review[] }) {
  if (!home) return <p class="muted">{t("app.loading")}</p>;
  return (
    <>
      <h2>{t("home.today")}</h2>
      <DayFigures day={home.day} />
      <h3>{t("home.followups")}</h3>
      <ul class="list followups">
        {home.followups.length === 0 && <li class="muted">{t("home.nothingDue")}</li>}
        {home.followups.map((item, index) => (
          <li key={index} class={item.overdue_s > 0 ? "overdue" : ""}>
            <strong>{item.customer_name || phone(item.phone)}</strong>{" "}
            {item.kind === "promise"
              ? t("home.promiseItem", { amount: amount(item.amount, item.currency ?? ""), date: calendarDate(item.due) })
              : t("home.callbackItem", { date: dateTime(item.due) }) + (item.reason ? ` · ${item.reason}` : "")}
            {item.overdue_s > 0 && <span class="late"> {t("home.late", { time: duration(item.overdue_s) })}</span>}
            {item.phone && <DialButton number={item.phone} customerId={item.customer_id} />}
          </li>
        ))}
      </ul>
      <h3>{t("home.recent")}</h3>
      <RecentCalls calls={home.recent_calls} />
      <h3>{t("home.reviews")}</h3>
      <ul class="list reviews">
        {reviews.length === 0 && <li class="muted">{t("home.noReviews")}</li>}
        {reviews.map((review, index) => (
          <li key={index}>
            <strong>{Math.round(review.score)}%</strong>{" "}
            {t("home.reviewOf", {
              date: dateTime(review.started_at),
              caller: phone(review.caller_number) || "—",
              reviewer: review.reviewer,
            })}
            {review.comment && <p class="muted">{review.comment}</p>}
          </li>
        ))}
      </ul>
    </>
  );
}
