// Call history: search the call log a page at a time, export the same filter as CSV, play
// recordings (served by call id to supervisors only). Every value is set as text, never as
// HTML: caller names are attacker-controlled.
//
// Pages are newest first. The server gives each page a `next` cursor (opaque); "previous
// page" goes back through the cursors of the pages already seen, kept here in a stack.

import { $, api, el, when } from "/static/panel.js";

const LIMIT = 100;
// The search shown: its filters, the cursor of the page shown and of the next one, and the
// cursors of the pages before it (the first page's is null).
const pages = { params: new URLSearchParams(), after: null, next: null, before: [] };

function query(form) {
  const params = new URLSearchParams();
  for (const [name, value] of new FormData(form)) {
    if (value) params.set(name, value);
  }
  return params;
}

// Seconds with their unit: "42 s", "3 min 05 s", "1 h 02 min"; "" when there is none.
function duration(seconds) {
  if (seconds == null) return "";
  const s = Math.round(Number(seconds));
  const pad = (n) => String(n).padStart(2, "0");
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${pad(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${pad(Math.floor(s / 60) % 60)} min`;
}

function row(call) {
  const tr = document.createElement("tr");
  tr.dataset.linkedid = call.linkedid;
  for (const value of [when(call.started_at), call.caller_name, call.caller_number, call.customer, call.queue,
    call.agent_name || call.agent, call.outcome, duration(call.wait_s), duration(call.talk_s),
    call.consent ?? "not asked"]) {
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
}

// The server counts up to 10,000 calls, and gives up (null) when counting takes too long.
function total(page) {
  if (page.total == null) return "many calls (too many to count quickly)";
  const count = page.total.toLocaleString();
  if (page.total_capped) return `more than ${count} calls`;
  return page.total === 1 ? "1 call" : `${count} calls`;
}

// Shows the page after `after` (null: the first) of a search; `before` is the cursors of the
// pages before it. Nothing changes unless the page arrives; the buttons wait meanwhile.
async function load(params, after, before) {
  $("#previous").disabled = $("#next").disabled = true;
  const asked = new URLSearchParams(params);
  asked.set("limit", LIMIT);
  if (after) asked.set("after", after);
  try {
    const page = await api(`/api/history?${asked}`);
    Object.assign(pages, { params, after, before, next: page.next });
    $("#total").textContent = total(page);
    $("#history tbody").replaceChildren(...page.calls.map(row));
    const first = before.length * LIMIT + 1;
    $("#page").textContent = page.calls.length
      ? `page ${before.length + 1}: calls ${first}–${first + page.calls.length - 1}` : "";
    $("#csv").href = `/api/history.csv?${params}`;
    $("#notice").textContent = "";
  } finally {
    $("#previous").disabled = pages.before.length === 0;
    $("#next").disabled = !pages.next;
  }
}

async function search(event) {
  if (event) event.preventDefault();
  await load(query($("#search")), null, []);
}

const report = (e) => { $("#notice").textContent = e.message; };
$("#search").addEventListener("submit", (event) => search(event).catch(report));
$("#next").addEventListener("click",
  () => load(pages.params, pages.next, [...pages.before, pages.after]).catch(report));
$("#previous").addEventListener("click",
  () => load(pages.params, pages.before.at(-1), pages.before.slice(0, -1)).catch(report));
search().catch(report);
