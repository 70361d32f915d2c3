// Call history: search the call log, export the same filter as CSV, play recordings
// (served by call id to supervisors only). Every value is set as text, never as HTML.

import { $, api, el, when } from "/static/panel.js";

function query(form) {
  const params = new URLSearchParams();
  for (const [name, value] of new FormData(form)) {
    if (value) params.set(name, value);
  }
  return params;
}

async function search(event) {
  if (event) event.preventDefault();
  const params = query($("#search"));
  $("#csv").href = `/api/history.csv?${params}`;
  const rows = await api(`/api/history?${params}`);
  $("#notice").textContent = `${rows.length} call(s)`;
  $("#history tbody").replaceChildren(...rows.map((call) => {
    const tr = document.createElement("tr");
    tr.dataset.linkedid = call.linkedid;
    for (const value of [when(call.started_at), call.caller_name, call.caller_number, call.customer, call.queue,
      call.agent_name || call.agent, call.outcome, call.wait_s, call.talk_s, call.consent ?? "not asked"]) {
      tr.append(el("td", value));
    }
    const cell = el("td", "", "recording");
    if (call.has_recording) {
      const audio = document.createElement("audio");
      audio.controls = true;
      audio.preload = "none";
      audio.src = `/api/recordings/${encodeURIComponent(call.linkedid)}`;
      const review = el("a", "Review");
      review.href = `/quality?call=${encodeURIComponent(call.linkedid)}`;
      cell.append(audio, review);
    } else {
      cell.textContent = call.consent === "declined" ? "declined" : "none";
    }
    tr.append(cell, el("td", call.routing));
    return tr;
  }));
}

$("#search").addEventListener("submit", (event) => search(event).catch((e) => { $("#notice").textContent = e.message; }));
search().catch((e) => { $("#notice").textContent = e.message; });
