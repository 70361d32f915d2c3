// The agent's workspace: live screen-pops over one websocket, notes and follow-ups over the
// HTTP API (with the session's CSRF token), and the day's home page.
// Caller ID and customer data are attacker-controllable text: they only ever reach the page
// through textContent / value, never as HTML.

import { $, api as request, connect, el, text, when, whoAmI } from "/static/panel.js";

let config = { pause_reasons: [], dispositions: [] };
const pops = new Map(); // linkedid -> card element

function notice(message) {
  $("#notice").textContent = message;
}

// The page's calls show the server's refusal where the agent looks.
async function api(path, body) {
  try {
    return await request(path, body);
  } catch (error) {
    notice(error.message);
    throw error;
  }
}

function seconds(value) {
  if (value == null) return "";
  const s = Math.round(value);
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}

// --- home page -------------------------------------------------------------------------

async function loadHome() {
  const home = await api("/api/agent/home");
  const day = $("#day");
  day.replaceChildren();
  for (const [label, value] of [
    ["Calls handled", home.day.calls],
    ["Talk time", seconds(home.day.talk_s)],
    ["Average handle time", seconds(home.day.aht_s)],
    ["Promises made", home.day.promises],
  ]) {
    day.append(el("dt", label), el("dd", String(value)));
  }
  const list = $("#followups");
  list.replaceChildren();
  for (const item of home.followups) {
    const li = el("li", "", item.overdue_s > 0 ? "overdue" : "");
    const what = item.kind === "promise"
      ? `Promise ${item.amount} ${item.currency} due ${item.due}`
      : `Callback ${when(item.due)}${item.reason ? ` — ${item.reason}` : ""}`;
    li.append(el("strong", item.customer_name || item.phone || ""), el("span", ` ${what}`));
    if (item.overdue_s > 0) li.append(el("span", ` (${seconds(item.overdue_s)} late)`, "late"));
    list.append(li);
  }
  if (!home.followups.length) list.append(el("li", "Nothing due today.", "muted"));
  const rows = home.recent_calls.map((call) => {
    const tr = document.createElement("tr");
    for (const value of [when(call.started_at), call.customer_name || call.caller_name || call.caller_number,
      call.outcome, seconds(call.talk_s)]) tr.append(el("td", value));
    return tr;
  });
  $("#recent tbody").replaceChildren(...rows);
  const reviews = await api("/api/agent/reviews");
  $("#reviews").replaceChildren(...reviews.map((review) => {
    const li = el("li", "");
    const marks = review.form.map((c) => `${c.name} ${review.marks[c.name]}/5`).join(" · ");
    li.append(el("strong", `${review.score}%`), el("span", ` call of ${when(review.started_at)} (${review.caller_number || "unknown"}), by ${review.reviewer}: ${marks}`));
    if (review.comment) li.append(el("p", review.comment, "muted"));
    return li;
  }));
  if (!reviews.length) $("#reviews").append(el("li", "No review yet.", "muted"));
}

// --- pops ------------------------------------------------------------------------------

function renderCustomers(card, customers, linkedid) {
  const box = $(".customers", card);
  box.replaceChildren();
  const known = customers.length > 0;
  $(".new-customer", card).hidden = known;
  $(".promise", card).hidden = !known;
  $(".callback", card).hidden = !known;
  card.dataset.customerId = known ? String(customers[0].id) : "";
  for (const customer of customers) {
    const section = el("section", "", "customer");
    section.append(el("h3", customer.full_name));
    const facts = el("dl", "", "figures");
    const idValue = el("dd", customer.national_id_masked || "—", "national-id");
    facts.append(el("dt", "ID number"), idValue);
    facts.append(el("dt", "Balance"), el("dd", `${customer.balance} ${customer.currency}`,
      Number(customer.balance) > 0 ? "debt" : ""));
    section.append(facts);
    if (customer.national_id_masked) {
      const verify = el("button", "Identity verified", "secondary");
      verify.type = "button";
      verify.addEventListener("click", async () => {
        const result = await api(`/api/customers/${customer.id}/verify`, { linkedid });
        text(idValue, result.national_id);
        verify.remove();
      });
      section.append(verify);
    }
    for (const address of customer.addresses) {
      section.append(el("p", [address.line1, address.line2, address.postal_code, address.city,
        address.country].filter(Boolean).join(", "), "address"));
    }
    if (customer.open_promises.length) {
      section.append(el("h4", "Open promises"));
      const ul = el("ul", "", "list");
      for (const p of customer.open_promises) ul.append(el("li", `${p.amount} ${p.currency} due ${p.due_date}`));
      section.append(ul);
    }
    if (customer.open_callbacks.length) {
      section.append(el("h4", "Callbacks"));
      const ul = el("ul", "", "list");
      for (const c of customer.open_callbacks) ul.append(el("li", `${when(c.due_at)} ${c.reason || ""}`));
      section.append(ul);
    }
    if (customer.last_calls.length) {
      section.append(el("h4", "Last calls"));
      const ul = el("ul", "", "list history");
      for (const call of customer.last_calls) {
        const li = el("li", `${when(call.started_at)} · ${call.agent || "—"} · ${call.outcome}`);
        for (const note of call.notes) {
          li.append(el("div", `${note.agent_username}: ${note.disposition || ""} ${note.text || ""}`, "note-text"));
        }
        ul.append(li);
      }
      section.append(ul);
    }
    box.append(section);
  }
  if (!known) box.append(el("p", "Unknown caller: no customer has this number.", "muted"));
}

function addPop(pop) {
  let card = pops.get(pop.linkedid);
  if (!card) {
    card = $("#pop-template").content.firstElementChild.cloneNode(true);
    card.dataset.linkedid = pop.linkedid;
    pops.set(pop.linkedid, card);
    $("#pops").append(card);
    wireForms(card, pop);
  }
  text($(".caller-name", card), pop.caller_name || "Unknown name");
  text($(".caller-number", card), pop.caller_number || "no number");
  text($(".queue", card), pop.queue || "direct");
  text($(".waited", card), pop.queued_at ? seconds(Date.now() / 1000 - pop.queued_at) : "—");
  text($(".pop-status", card), pop.answered ? "on call" : "ringing");
  $(".call-tools", card).hidden = !pop.answered;
  $(".new-customer input[name=phone]", card).value = pop.caller_number || "";
  $("#no-pops").hidden = pops.size > 0;
}

function removePop(linkedid) {
  const card = pops.get(linkedid);
  if (card) card.remove();
  pops.delete(linkedid);
  $("#no-pops").hidden = pops.size > 0;
}

function formData(form) {
  return Object.fromEntries(new FormData(form).entries());
}

function wireForms(card, pop) {
  const linkedid = pop.linkedid;
  const dispositions = $(".note select", card);
  dispositions.replaceChildren(...config.dispositions.map((d) => el("option", d)));
  const customerId = () => (card.dataset.customerId ? Number(card.dataset.customerId) : null);
  $(".note", card).addEventListener("submit", async (event) => {
    event.preventDefault();
    await api(`/api/calls/${encodeURIComponent(linkedid)}/notes`, { ...formData(event.target), customer_id: customerId() });
    event.target.reset();
    notice("Note saved.");
  });
  $(".promise", card).addEventListener("submit", async (event) => {
    event.preventDefault();
    await api(`/api/customers/${customerId()}/promises`, { ...formData(event.target), linkedid });
    event.target.reset();
    notice("Promise saved.");
    loadHome();
  });
  $(".callback", card).addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = formData(event.target);
    await api(`/api/customers/${customerId()}/callbacks`, { due_at: new Date(data.due_at).toISOString(), reason: data.reason, linkedid });
    event.target.reset();
    notice("Callback saved.");
    loadHome();
  });
  $(".new-customer", card).addEventListener("submit", async (event) => {
    event.preventDefault();
    const created = await api("/api/customers", { ...formData(event.target), linkedid });
    renderCustomers(card, [created], linkedid);
    notice("Customer created.");
  });
  const mute = $(".mute", card);
  mute.addEventListener("click", async () => {
    const muted = mute.dataset.muted !== "true";
    await api(`/api/calls/${encodeURIComponent(linkedid)}/recording`, { muted });
    mute.dataset.muted = String(muted);
    text(mute, muted ? "Unmute recording" : "Mute recording");
  });
  $(".dismiss", card).addEventListener("click", () => removePop(linkedid));
}

// The external CRM's answer: its text stays text, its link opens apart from the panel.
function renderCrm(card, crm, error) {
  const box = $(".crm", card);
  box.hidden = false;
  if (error) {
    box.replaceChildren(el("p", `CRM: ${error}`, "muted"));
    return;
  }
  if (!crm) {
    box.replaceChildren(el("p", "CRM: no record for this number", "muted"));
    return;
  }
  const title = el("h4", `CRM: ${crm.name || "record"}`);
  const parts = [title];
  if (crm.summary) parts.push(el("p", crm.summary));
  if (crm.fields.length) {
    const facts = el("dl", "", "figures");
    for (const [label, value] of crm.fields) facts.append(el("dt", label), el("dd", value));
    parts.push(facts);
  }
  if (crm.url) {
    const link = el("a", "Open in CRM");
    link.href = crm.url; // the server kept only http(s) links
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    parts.push(link);
  }
  box.replaceChildren(...parts);
}

// --- live updates ----------------------------------------------------------------------

function setLink(up, reason) {
  const link = $("#link");
  text(link, up ? "live" : reason || "Asterisk link down");
  link.className = up ? "link up" : "link down";
}

function setAgentState(state, reason) {
  text($("#agent-state"), reason ? `${state} (${reason})` : state);
  $("#agent-state").dataset.state = state;
}

function handle(message) {
  switch (message.type) {
    case "snapshot":
      setLink(message.ami_connected, "Asterisk link down");
      for (const card of pops.values()) card.remove();
      pops.clear();
      for (const pop of message.pops) addPop(pop);
      for (const agent of message.agents) setAgentState(agent.state, agent.reason);
      $("#no-pops").hidden = pops.size > 0;
      break;
    case "pop":
      addPop(message);
      break;
    case "pop_customers": {
      const card = pops.get(message.linkedid);
      if (card) renderCustomers(card, message.customers, message.linkedid);
      break;
    }
    case "pop_crm": {
      const card = pops.get(message.linkedid);
      if (card) renderCrm(card, message.crm, message.error);
      break;
    }
    case "pop_withdrawn":
      removePop(message.linkedid);
      break;
    case "pop_kept":
    case "call_answered": {
      const card = pops.get(message.linkedid);
      if (card) {
        text($(".pop-status", card), "on call");
        $(".call-tools", card).hidden = false;
      }
      break;
    }
    case "call_ended": {
      const card = pops.get(message.linkedid);
      if (card) {
        text($(".pop-status", card), `ended (${message.outcome})`);
        $(".call-tools", card).hidden = true;
        $(".dismiss", card).hidden = false;
      }
      loadHome();
      break;
    }
    case "agent_state":
      setAgentState(message.state, message.reason);
      break;
    case "link":
      setLink(message.up, message.reason);
      break;
    default:
      break;
  }
}

// --- start -----------------------------------------------------------------------------

async function start() {
  const me = await whoAmI();
  text($("#who"), `${me.user.name} (${me.user.interfaces.join(", ") || "no phone"})`);
  const home = await api("/api/agent/config");
  config = home;
  $("#pause-reason").replaceChildren(...config.pause_reasons.map((r) => el("option", r)));
  $("#ready").addEventListener("click", () => api("/api/agent/state", { paused: false }));
  $("#pause").addEventListener("click", () =>
    api("/api/agent/state", { paused: true, reason: $("#pause-reason").value }));
  $("#logout").addEventListener("click", async () => {
    await api("/api/logout", {});
    window.location.assign("/login");
  });
  connect(handle, () => setLink(false, "offline — reconnecting"));
  await loadHome();
}

start().catch((error) => notice(String(error.message || error)));
