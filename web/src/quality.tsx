// Quality review: this week's sample of recorded calls, the scoring form, past reviews.
// A call under review is named by who answered, who called and when, never by its id.
// Marks start empty and each must be given: the form says which are missing, and the
// server refuses a review without them too. Caller names and comments are text, never HTML.

import { render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { api, messageOf, whoAmI, type Me } from "./api";
import { calendarDate, dateTime, duration, setCenter, when } from "./format";
import { locale, t } from "./i18n";
import { Header } from "./pages/Header";
import { Player } from "./pages/Player";
import { agentOf, callerOf, callTitle, type CallFacts } from "./pages/calls";
import { Field, Status, useSubmit, type Outcome } from "./ui";

interface Criterion {
  name: string;
  weight: number;
}

interface QaForm {
  scale: number;
  criteria: Criterion[];
}

interface SampleCall extends CallFacts {
  queue: string | null;
  talk_s: number | null;
  score: number | null; // the latest review's, 0..100
  has_recording?: boolean; // a call opened from the history (the sample holds only recorded ones)
}

interface Sample {
  week: string;
  calls: SampleCall[];
}

interface ReviewRow extends CallFacts {
  id: number;
  reviewer: string;
  score: number;
  comment: string;
  created_at: string;
}

interface Saved {
  score: number;
  agent: string;
  agent_name: string;
}

/** A score of 0..100 as a percentage: "88%", "%87,5". */
function scoreText(score: number): string {
  return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 1 }).format(score / 100);
}

function Quality({ me, form }: { me: Me; form: QaForm }) {
  const [, setLanguageTurn] = useState(0); // the language changed: everything is drawn again
  const [sample, setSample] = useState<Sample | null>(null);
  const [reviews, setReviews] = useState<ReviewRow[] | null>(null);
  const [reviewing, setReviewing] = useState<SampleCall | null>(null);
  const [notice, setNotice] = useState<Outcome | null>(null);
  const [week, setWeek] = useState("");
  const failed = (error: unknown) => setNotice({ ok: false, text: messageOf(error) });

  const loadSample = (day: string) =>
    api<Sample>(`/api/quality/sample${day ? `?week=${encodeURIComponent(day)}` : ""}`).then(setSample, failed);
  const loadReviews = () => api<ReviewRow[]>("/api/quality/reviews").then(setReviews, failed);

  useEffect(() => {
    void loadSample("");
    void loadReviews();
    // A call sent from the history: open it for review, if it can be reviewed.
    const asked = new URLSearchParams(location.search).get("call");
    if (asked) {
      api<SampleCall>(`/api/quality/calls/${encodeURIComponent(asked)}`).then(
        (call) => (call.has_recording ? setReviewing(call) : setNotice({ ok: false, text: t("quality.notReviewable") })),
        failed,
      );
    }
  }, []);

  const open = (call: SampleCall) => {
    setNotice(null);
    setReviewing(call);
  };

  return (
    <>
      <Header me={me} current="quality" onLanguage={() => setLanguageTurn((n) => n + 1)} />
      <main class="page">
        <p id="notice" class={`notice form-status ${notice ? (notice.ok ? "ok" : "error") : ""}`} role="status" aria-live="polite">
          {notice?.text ?? ""}
        </p>
        {reviewing && (
          <ReviewForm
            key={reviewing.linkedid}
            call={reviewing}
            form={form}
            onCancel={() => setReviewing(null)}
            onSaved={(saved) => {
              setReviewing(null);
              setNotice({ ok: true, text: t("quality.saved", { score: scoreText(saved.score), agent: saved.agent_name }) });
              void loadSample(week);
              void loadReviews();
            }}
          />
        )}
        <section class="panel" aria-labelledby="sample-title">
          <div class="results-head">
            <h2 id="sample-title">{sample ? t("quality.sampleTitle", { week: calendarDate(sample.week) }) : t("app.loading")}</h2>
            <Field label={t("quality.week")}>
              <input
                id="week"
                type="date"
                value={week}
                onChange={(event) => {
                  const day = (event.currentTarget as HTMLInputElement).value;
                  setWeek(day);
                  void loadSample(day);
                }}
              />
            </Field>
          </div>
          <p class="muted">{t("quality.sampleHint")}</p>
          {sample && sample.calls.length === 0 && <p class="muted none">{t("quality.noSample")}</p>}
          {sample && sample.calls.length > 0 && (
            <table id="sample" class="data">
              <thead>
                <tr>
                  <th scope="col">{t("quality.agent")}</th>
                  <th scope="col">{t("quality.started")}</th>
                  <th scope="col">{t("quality.caller")}</th>
                  <th scope="col">{t("quality.queue")}</th>
                  <th scope="col">{t("quality.talk")}</th>
                  <th scope="col">{t("quality.score")}</th>
                  <th scope="col">{t("quality.action")}</th>
                </tr>
              </thead>
              <tbody>
                {sample.calls.map((call) => (
                  <tr key={call.linkedid} data-linkedid={call.linkedid}>
                    <td>{agentOf(call)}</td>
                    <td>{when(call.started_at)}</td>
                    <td class="caller">{callerOf(call)}</td>
                    <td>{call.queue ?? ""}</td>
                    <td>{duration(call.talk_s)}</td>
                    <td class="score">{call.score == null ? t("quality.notReviewed") : scoreText(call.score)}</td>
                    <td>
                      <button
                        type="button"
                        class="secondary small"
                        aria-label={t("quality.reviewLabel", {
                          agent: agentOf(call),
                          caller: callerOf(call),
                          time: dateTime(call.started_at),
                        })}
                        onClick={() => open(call)}
                      >
                        {t("quality.review")}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
        <section class="panel" aria-labelledby="reviews-title">
          <h2 id="reviews-title">{t("quality.reviews")}</h2>
          {reviews && reviews.length === 0 && <p class="muted none">{t("quality.noReviews")}</p>}
          {reviews && reviews.length > 0 && (
            <table id="reviews" class="data">
              <thead>
                <tr>
                  <th scope="col">{t("quality.reviewed")}</th>
                  <th scope="col">{t("quality.call")}</th>
                  <th scope="col">{t("quality.score")}</th>
                  <th scope="col">{t("quality.reviewer")}</th>
                  <th scope="col">{t("quality.commentColumn")}</th>
                </tr>
              </thead>
              <tbody>
                {reviews.map((review) => (
                  <tr key={review.id} data-linkedid={review.linkedid}>
                    <td>{when(review.created_at)}</td>
                    <td class="call">
                      {t("quality.callLine", {
                        agent: agentOf(review),
                        caller: callerOf(review),
                        time: dateTime(review.started_at),
                      })}
                    </td>
                    <td class="score">{scoreText(review.score)}</td>
                    <td>{review.reviewer}</td>
                    <td class="comment">{review.comment}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </main>
    </>
  );
}

function ReviewForm({
  call,
  form,
  onSaved,
  onCancel,
}: {
  call: SampleCall;
  form: QaForm;
  onSaved: (saved: Saved) => void;
  onCancel: () => void;
}) {
  const [marks, setMarks] = useState<Record<string, string>>({}); // criterion -> "0".."5"; none yet
  const [comment, setComment] = useState("");
  const [unmarked, setUnmarked] = useState<string[]>([]);
  const [outcome, busy, run] = useSubmit();
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    heading.current?.scrollIntoView({ block: "start" });
    heading.current?.focus();
  }, []);
  const scale = Array.from({ length: form.scale + 1 }, (_, mark) => form.scale - mark);
  return (
    <section id="review-box" class="panel review-box" aria-labelledby="review-title">
      <h2 id="review-title" ref={heading} tabIndex={-1}>
        {callTitle(call)}
      </h2>
      <p class="muted">
        {[call.queue, call.talk_s == null ? "" : `${t("quality.talk")}: ${duration(call.talk_s)}`].filter(Boolean).join(" · ")}
      </p>
      <Player linkedid={call.linkedid} label={t("quality.recordingOf")} start={false} />
      <form
        id="review"
        class="review-form"
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          const missing = form.criteria.filter((c) => !marks[c.name]).map((c) => c.name);
          setUnmarked(missing);
          void run(async () => {
            if (missing.length) throw new Error(t("quality.unmarked", { names: missing.join(", ") }));
            const given = Object.fromEntries(form.criteria.map((c) => [c.name, Number(marks[c.name])]));
            const saved = await api<Saved>("/api/quality/reviews", { linkedid: call.linkedid, marks: given, comment });
            onSaved(saved);
            return "";
          });
        }}
      >
        <p id="scale-hint" class="muted">
          {t("quality.scale", { max: form.scale })}
        </p>
        <div class="criteria">
          {form.criteria.map((criterion) => (
            <Field key={criterion.name} label={t("quality.criterion", { name: criterion.name, weight: criterion.weight })}>
              <select
                name={criterion.name}
                required
                aria-describedby="scale-hint"
                aria-invalid={unmarked.includes(criterion.name) ? "true" : undefined}
                value={marks[criterion.name] ?? ""}
                onChange={(event) => {
                  const value = (event.currentTarget as HTMLSelectElement).value;
                  setMarks((all) => ({ ...all, [criterion.name]: value }));
                  setUnmarked((all) => all.filter((name) => name !== criterion.name));
                }}
              >
                <option value="">{t("quality.choose")}</option>
                {scale.map((mark) => (
                  <option key={mark} value={String(mark)}>
                    {mark}
                  </option>
                ))}
              </select>
            </Field>
          ))}
        </div>
        <Field label={t("quality.comment")}>
          <textarea
            name="comment"
            maxLength={4000}
            rows={3}
            value={comment}
            onInput={(event) => setComment((event.currentTarget as HTMLTextAreaElement).value)}
          />
        </Field>
        <div class="form-actions">
          <button type="submit" disabled={busy}>
            {t("quality.save")}
          </button>
          <button type="button" class="secondary" onClick={onCancel}>
            {t("quality.cancel")}
          </button>
        </div>
        <Status outcome={outcome} />
      </form>
    </section>
  );
}

async function start(): Promise<void> {
  const root = document.getElementById("app")!;
  try {
    const me = await whoAmI();
    setCenter(me.center);
    const form = await api<QaForm>("/api/quality/form");
    render(<Quality me={me} form={form} />, root);
  } catch (error) {
    root.textContent = t("error.generic", { message: messageOf(error) });
  }
}

void start();
