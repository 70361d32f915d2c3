// The supervisor's page: queue wallboard, agents and calls now, and actions on agents. On
// every (re)connect of the websocket the page takes a snapshot (/api/wallboard, /api/state);
// then the server pushes what changed, at most once a second ("wall" messages). Caller ID is attacker-controlled
// text: every value reaches the page through textContent, never as HTML.

import { $, api, connect, el, text, whoAmI } from "/static/panel.js";

let config = { pause_reasons: [] };

function notice(message) {
  text($("#notice"), message);
}


const pct = (value) => (value == null ? "—" : `${Math.round(value * 100)}%`);
const secs = (value) => (value == null ? "—" : `${Math.round(value)} s`);

function since(ts) {
  return ts == null ? "" : secs(Date.now() / 1000 - ts);
}

// --- queues ----------------------------------------------------------------------------

// The chart is 96 slots of 15 minutes, 10 units wide each, 100 high above a 10-unit margin.
const SVG = "http://www.w3.org/2000/svg";
const slotX = (iso) => {
  const start = new Date(iso);
  return (start.getHours() * 4 + Math.floor(start.getMinutes() / 15)) * 10;
};
const chartY = (ratio) => 110 - ratio * 100;

function svg(tag, attributes, title) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (title) node.append(text(document.createElementNS(SVG, "title"), title));
  return node;
}

function chart(box, buckets, targetRatio) {
  const max = Math.max(1, ...buckets.map((b) => b.offered));
  const parts = [];
  for (const bucket of buckets) {
    for (const [i, key] of ["offered", "answered", "abandoned"].entries()) {
      const height = (bucket[key] / max) * 100;
      parts.push(svg("rect", { x: slotX(bucket.start) + i * 3, y: 110 - height, width: 3, height, class: key },
        `${new Date(bucket.start).toLocaleTimeString()} ${key} ${bucket[key]}; SL ${pct(bucket.service_level)}`));
    }
  }
  // The day's service level so far, as a line over the bars (0–100% on the same height),
  // with the target as a dashed line.
  parts.push(svg("line", { x1: 0, x2: 960, y1: chartY(targetRatio), y2: chartY(targetRatio), class: "sl-target" }));
  const points = buckets.filter((b) => b.service_level_to_date != null)
    .map((b) => `${slotX(b.start) + 5},${chartY(b.service_level_to_date)}`);
  if (points.length) {
    parts.push(svg("polyline", { points: points.join(" "), class: "sl-line" }, "service level of the day so far"));
  }
  box.replaceChildren(...parts);
}

function queueCard(queue) {
  let card = $(`.queue-card[data-queue="${CSS.escape(queue.queue)}"]`);
  if (!card) {
    card = $("#queue-template").content.firstElementChild.cloneNode(true);
    card.dataset.queue = queue.queue;
    $("#queue-cards").append(card);
  }
  const today = queue.windows.today;
  text($(".queue-name", card), queue.queue);
  text($(".waiting", card), queue.waiting);
  text($(".longest", card), secs(queue.longest_wait_s));
  text($(".sl-label", card), `SL (${queue.threshold_s} s, target ${pct(queue.target)})`);
  text($(".sl", card), pct(today.service_level));
  text($(".sl2", card), pct(today.service_level_2));
  text($(".abandon", card), `${pct(today.abandon_rate)} (${today.short_abandoned} short)`);
  text($(".asa", card), secs(today.asa_s));
  text($(".aht", card), secs(today.aht_s));
  const a = queue.agents;
  text($(".agents-line", card), `Agents: ${a.logged_in} logged in · ${a.ready} ready · ${a.on_call} on call · ` +
    `${a.ringing} ringing · ${a.paused} paused · ${a.wrap_up} wrap-up`);
  text($(".alerts", card), queue.alerts.map((a) => a.text).join(" · "));
  card.classList.toggle("breach", queue.alerts.length > 0);
  const rows = ["today", "60m", "15m"].map((name) => {
    const w = queue.windows[name];
    const tr = document.createElement("tr");
    for (const value of [name === "today" ? "since midnight" : `last ${name}`, w.offered, w.answered,
      `${w.abandoned} (${w.short_abandoned})`, pct(w.service_level), pct(w.service_level_2), secs(w.asa_s), secs(w.aht_s)]) {
      tr.append(el("td", value));
    }
    return tr;
  });
  $(".windows tbody", card).replaceChildren(...rows);
  chart($(".chart", card), queue.buckets, queue.target);
}

// What the page shows, keyed as the server's "wall" deltas replace it.
const wall = { queues: new Map(), agents: new Map(), calls: new Map() };

function showLink(connected) {
  const link = $("#link");
  text(link, connected ? "Asterisk connected" : "Asterisk link down");
  link.className = connected ? "link up" : "link down";
}

async function loadWall() {
  const [board, state] = await Promise.all([api("/api/wallboard"), api("/api/state")]);
  wall.queues = new Map(board.queues.map((q) => [q.queue, q]));
  wall.agents = new Map(state.agents.map((a) => [a.interface, a]));
  wall.calls = new Map(state.calls.map((c) => [c.linkedid, c]));
  const defs = Object.entries(board.definitions).flatMap(([name, meaning]) => [el("dt", name), el("dd", meaning)]);
  $("#definitions").replaceChildren(...defs);
  for (const card of document.querySelectorAll(".queue-card")) {
    if (!wall.queues.has(card.dataset.queue)) card.remove();
  }
  for (const queue of wall.queues.values()) queueCard(queue);
  showLink(state.ami_connected);
  showAgentsAndCalls();
}

function applyWall(message) {
  const replace = (map, items, gone, key) => {
    for (const item of items) map.set(item[key], item);
    for (const name of gone) map.delete(name);
  };
  replace(wall.queues, message.queues, message.queues_gone, "queue");
  replace(wall.agents, message.agents, message.agents_gone, "interface");
  replace(wall.calls, message.calls, message.calls_gone, "linkedid");
  for (const name of message.queues_gone) {
    $(`.queue-card[data-queue="${CSS.escape(name)}"]`)?.remove();
  }
  for (const queue of message.queues) queueCard(queue);
  showLink(message.ami_connected);
  showAgentsAndCalls();
}

// --- agents and calls ------------------------------------------------------------------

function actionCell(agent) {
  const td = document.createElement("td");
  const reason = el("select", "");
  reason.setAttribute("aria-label", `Pause reason for ${agent.interface}`);
  reason.replaceChildren(...config.pause_reasons.map((r) => el("option", r)));
  const act = (label, run) => {
    const button = el("button", label, "secondary small");
    button.type = "button";
    button.addEventListener("click", async () => {
      try {
        await run();
        notice(`${label}: ${agent.name || agent.interface} — done`);
      } catch (error) {
        notice(`${label}: ${error.message}`);
      }
    });
    return button;
  };
  td.append(reason,
    act("Pause", () => api("/api/supervisor/pause", { interface: agent.interface, paused: true, reason: reason.value })),
    act("Ready", () => api("/api/supervisor/pause", { interface: agent.interface, paused: false })));
  if (agent.talking) {
    for (const mode of ["listen", "whisper", "barge"]) {
      td.append(act(mode[0].toUpperCase() + mode.slice(1), () => api("/api/supervisor/spy", { interface: agent.interface, mode })));
    }
  }
  return td;
}

let lastAgents = "";
function showAgentsAndCalls() {
  const calls = wall.calls;
  const agents = [...wall.agents.values()].sort((a, b) => (a.interface < b.interface ? -1 : 1));
  // Rebuild the agents' rows only when they changed, so an open reason list stays open.
  const key = JSON.stringify(agents.map((a) => [a.interface, a.state, a.reason, a.talking, a.calls_taken]));
  if (key !== lastAgents) {
    lastAgents = key;
    $("#agents tbody").replaceChildren(...agents.map((agent) => {
      const tr = document.createElement("tr");
      tr.dataset.interface = agent.interface;
      const call = agent.talking ? calls.get(agent.talking) : null;
      const nameCell = document.createElement("td");
      const open = el("button", agent.name || agent.interface, "link-button");
      open.type = "button";
      open.title = "Show this agent's day";
      open.addEventListener("click", () => showAgentDay(agent.interface).catch((error) => notice(error.message)));
      nameCell.append(open);
      tr.append(nameCell);
      for (const value of [agent.interface, agent.reason ? `${agent.state} (${agent.reason})` : agent.state]) {
        tr.append(el("td", value));
      }
      tr.append(el("td", since(agent.state_since), "since"));
      tr.lastChild.dataset.since = agent.state_since ?? "";
      for (const value of [call ? call.caller_name || call.caller_number : "", agent.queues.join(", "), agent.calls_taken]) {
        tr.append(el("td", value));
      }
      tr.append(actionCell(agent));
      return tr;
    }));
  }
  tickTimers();
  $("#calls tbody").replaceChildren(...[...calls.values()].map((c) => {
    const tr = document.createElement("tr");
    for (const value of [c.caller_name, c.caller_number, c.queue, c.agent, since(c.answered_at), c.consent ?? "not asked"]) {
      tr.append(el("td", value));
    }
    return tr;
  }));
}

function tickTimers() {
  for (const cell of document.querySelectorAll("td.since")) {
    if (cell.dataset.since) text(cell, since(Number(cell.dataset.since)));
  }
}

// --- one agent's day ------------------------------------------------------------------

function rows(tbody, items, columns) {
  tbody.replaceChildren(...items.map((item) => {
    const tr = document.createElement("tr");
    for (const column of columns) tr.append(el("td", column(item)));
    return tr;
  }));
}

async function showAgentDay(iface) {
  const day = await api(`/api/supervisor/agent-day?interface=${encodeURIComponent(iface)}`);
  const box = $("#agent-day");
  box.hidden = false;
  text($(".who", box), `${day.name} (${day.username}, ${day.interfaces.join(", ")})`);
  text($(".day-figures", box), `${day.day.calls} calls · talk ${secs(day.day.talk_s)} · AHT ${secs(day.day.aht_s)} · ${day.day.promises} promises`);
  const when = (iso) => (iso ? new Date(iso).toLocaleTimeString() : "");
  rows($(".day-calls tbody", box), day.recent_calls, [(c) => when(c.started_at), (c) => c.customer_name || c.caller_name, (c) => c.caller_number, (c) => c.outcome, (c) => secs(c.talk_s)]);
  rows($(".day-notes tbody", box), day.notes, [(n) => when(n.created_at), (n) => n.customer_name, (n) => n.disposition, (n) => n.text]);
  rows($(".day-promises tbody", box), day.promises, [(p) => when(p.created_at), (p) => p.customer_name, (p) => `${p.amount} ${p.currency}`, (p) => p.due_date, (p) => p.status]);
  box.scrollIntoView({ block: "nearest" });
}

// --- alerts: raised by the daemon even when no page is open, pushed over the websocket ---

function showAlert(alert) {
  const item = el("li", `${new Date(alert.at * 1000).toLocaleTimeString()} ${alert.queue}: ` +
    (alert.raised ? alert.text : `cleared (${alert.kind.replace("_", " ")})`), alert.raised ? "raised" : "cleared");
  $("#alert-feed").prepend(item);
  while ($("#alert-feed").children.length > 50) $("#alert-feed").lastElementChild.remove();
}

// --- start -----------------------------------------------------------------------------

async function start() {
  await whoAmI();
  config = await api("/api/agent/config");
  if (new URLSearchParams(location.search).has("wall")) document.body.classList.add("wall");
  $("#wall").addEventListener("click", () => document.body.classList.toggle("wall"));
  $("#logout").addEventListener("click", async () => {
    await api("/api/logout", {});
    window.location.assign("/login");
  });
  connect((message) => {
    if (message.type === "snapshot") loadWall().catch((error) => notice(error.message));
    else if (message.type === "wall") applyWall(message);
    else if (message.type === "alert") showAlert(message);
  }, () => {
    text($("#link"), "offline: reconnecting");
    $("#link").className = "link down";
  });
  setInterval(tickTimers, 1000);
}

start().catch((error) => notice(String(error.message || error)));
