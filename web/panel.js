// What every page of the panel shares. Caller ID and customer data are attacker-controlled
// text: these helpers only ever set textContent, never HTML.

export const $ = (selector, root = document) => root.querySelector(selector);

export function text(node, value) {
  node.textContent = value == null ? "" : String(value);
  return node;
}

export function el(tag, value, className) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  return text(node, value);
}

// An ISO time from the API in the browser's locale; "" when there is none.
export const when = (iso) => (iso ? new Date(iso).toLocaleString() : "");

let csrf = "";

// The signed-in user; also keeps the session's CSRF token for the changes that follow.
export async function whoAmI() {
  const me = await api("/api/me");
  csrf = me.csrf;
  return me;
}

// GET, or POST a JSON body; an error carries the server's own message.
export async function api(path, body) {
  const options = { credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    options.method = "POST";
    options.headers["Content-Type"] = "application/json";
    options.headers["X-CSRF-Token"] = csrf;
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  if (response.status === 401) {
    window.location.assign("/login");
    throw new Error("signed out");
  }
  if (!response.ok) throw new Error(await response.text());
  return response.json();
}

// The page's one websocket: a snapshot, then changes; reconnects by itself with backoff.
export function connect(onMessage, onClosed = () => {}) {
  let retry = 0;
  const open = () => {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws`);
    socket.addEventListener("open", () => { retry = 0; });
    socket.addEventListener("message", (event) => onMessage(JSON.parse(event.data)));
    socket.addEventListener("close", () => {
      onClosed();
      retry = Math.min(retry + 1, 5);
      setTimeout(open, 500 * 2 ** retry);
    });
  };
  open();
}
