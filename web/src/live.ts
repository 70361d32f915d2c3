// The page's one websocket: a snapshot on every (re)connect, then changes. It reconnects by
// itself with backoff; a session that ended (close code 4401) goes to the sign-in page.

import { signIn } from "./api";

export type LiveMessage = { type: string } & Record<string, unknown>;

const SIGNED_OUT = 4401;

export function connect(
  onMessage: (message: LiveMessage) => void,
  onLink: (open: boolean) => void,
): () => void {
  let retry = 0;
  let stopped = false;
  let socket: WebSocket | null = null;
  const open = () => {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/ws`);
    socket.addEventListener("open", () => {
      retry = 0;
      onLink(true);
    });
    socket.addEventListener("message", (event) => onMessage(JSON.parse(String(event.data))));
    socket.addEventListener("close", (event) => {
      onLink(false);
      if (stopped) return;
      if (event.code === SIGNED_OUT) {
        signIn();
        return;
      }
      retry = Math.min(retry + 1, 5);
      setTimeout(open, 500 * 2 ** retry);
    });
  };
  open();
  return () => {
    stopped = true;
    socket?.close();
  };
}
