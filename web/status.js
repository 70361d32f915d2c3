// Live status: polls /api/state once a second. Caller ID is attacker-controlled text,
// so every value goes into the page through textContent, never as HTML.

function row(cells) {
  const tr = document.createElement("tr");
  for (const value of cells) {
    const td = document.createElement("td");
    td.textContent = value ?? "";
    tr.append(td);
  }
  return tr;
}

function fill(tableId, rows) {
  const body = document.querySelector(`#${tableId} tbody`);
  body.replaceChildren(...rows.map(row));
}

function since(ts, now) {
  return ts == null || now == null ? "" : `${Math.max(0, Math.round(now - ts))} s`;
}

async function refresh() {
  const link = document.getElementById("link");
  try {
    const response = await fetch("/api/state", { credentials: "same-origin" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const state = await response.json();
    const now = Date.now() / 1000;
    link.textContent = state.ami_connected ? "Asterisk connected" : "Asterisk link down";
    link.className = state.ami_connected ? "link up" : "link down";
    fill("queues", state.queues.map((q) => [
      q.name, q.waiting, since(q.oldest_queued_at, now),
      q.callers.map((c) => `${c.position}. ${c.caller_name || c.caller_number}`).join(", "),
    ]));
    fill("agents", state.agents.map((a) => [
      a.name, a.interface, a.reason ? `${a.state} (${a.reason})` : a.state, a.queues.join(", "),
    ]));
    fill("calls", state.calls.map((c) => [
      c.caller_name, c.caller_number, c.queue, c.agent, c.consent,
    ]));
  } catch (error) {
    link.textContent = `offline (${error.message})`;
    link.className = "link down";
  }
}

refresh();
setInterval(refresh, 1000);
