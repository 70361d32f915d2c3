// Quality review: this week's sample of recorded calls, the scoring form, past reviews.
// Every value is set as text, never as HTML.

import { $, api, el, when, whoAmI } from "/static/panel.js";

let form = { scale: 5, criteria: [] };
let reviewing = null; // linkedid under review

function notice(message) {
  $("#notice").textContent = message;
}


function openReview(linkedid) {
  reviewing = linkedid;
  const box = $("#review-box");
  box.hidden = false;
  $(".call-id", box).textContent = linkedid;
  $(".player", box).src = `/api/recordings/${encodeURIComponent(linkedid)}`;
  $("#review").reset();
  box.scrollIntoView({ block: "nearest" });
}

function buildForm() {
  $("#review .criteria").replaceChildren(...form.criteria.map((criterion) => {
    const label = el("label", `${criterion.name} (weight ${criterion.weight}) `);
    const select = document.createElement("select");
    select.name = criterion.name;
    for (let mark = form.scale; mark >= 0; mark -= 1) select.append(el("option", mark));
    label.append(select);
    return label;
  }));
}

async function loadSample() {
  const week = $("#week").value;
  const sample = await api(`/api/quality/sample${week ? `?week=${week}` : ""}`);
  $("#week-start").textContent = sample.week;
  $("#sample tbody").replaceChildren(...sample.calls.map((call) => {
    const tr = document.createElement("tr");
    tr.dataset.linkedid = call.linkedid;
    for (const value of [call.agent, when(call.started_at), call.caller_name || call.caller_number, call.queue,
      call.talk_s == null ? "" : `${call.talk_s} s`, call.score == null ? "not reviewed" : `${call.score}%`]) {
      tr.append(el("td", value));
    }
    const cell = document.createElement("td");
    const button = el("button", "Review", "secondary small");
    button.type = "button";
    button.addEventListener("click", () => openReview(call.linkedid));
    cell.append(button);
    tr.append(cell);
    return tr;
  }));
  if (!sample.calls.length) $("#sample tbody").append(el("tr", "No recorded calls this week yet."));
}

async function loadReviews() {
  const reviews = await api("/api/quality/reviews");
  $("#reviews tbody").replaceChildren(...reviews.map((review) => {
    const tr = document.createElement("tr");
    for (const value of [when(review.created_at), review.agent, `${when(review.started_at)} ${review.caller_number || ""}`,
      `${review.score}%`, review.reviewer, review.comment]) tr.append(el("td", value));
    return tr;
  }));
}

async function save(event) {
  event.preventDefault();
  const data = new FormData($("#review"));
  const marks = Object.fromEntries(form.criteria.map((c) => [c.name, Number(data.get(c.name))]));
  const review = await api("/api/quality/reviews", { linkedid: reviewing, marks, comment: data.get("comment") });
  notice(`Saved: ${review.score}% for ${review.agent}`);
  $("#review-box").hidden = true;
  await Promise.all([loadSample(), loadReviews()]);
}

async function start() {
  await whoAmI();
  form = await api("/api/quality/form");
  buildForm();
  $("#review").addEventListener("submit", (event) => save(event).catch((error) => notice(error.message)));
  $("#week").addEventListener("change", () => loadSample().catch((error) => notice(error.message)));
  const call = new URLSearchParams(location.search).get("call");
  if (call) openReview(call);
  await Promise.all([loadSample(), loadReviews()]);
}

start().catch((error) => notice(String(error.message || error)));
