// A call's recording, fetched by the call's id (the server serves it to supervisors only,
// with Range requests for seeking). The audio element only says that it failed; where a
// recording cannot play, the player asks the server why and shows its answer (a 404's
// text: not recorded, or not in the recordings folder yet).

import { useEffect, useRef, useState } from "preact/hooks";
import { messageOf } from "../api";
import { lang, t } from "../i18n";

/** A call's recording; where it cannot play, the server's reason (a 404's text) says why. */
export function Player({ linkedid, label, start = true }: { linkedid: string; label: string; start?: boolean }) {
  const source = `/api/recordings/${encodeURIComponent(linkedid)}`;
  const audio = useRef<HTMLAudioElement>(null);
  const [problem, setProblem] = useState("");
  useEffect(() => {
    setProblem("");
    if (start) audio.current?.play().catch(() => undefined); // the browser may want a second click
  }, [linkedid]);
  const explain = async () => {
    // The element says only that it failed: ask for the first byte to learn why.
    try {
      const response = await fetch(source, {
        headers: { Range: "bytes=0-0", "Accept-Language": lang() }, // the reason in the user's language
        credentials: "same-origin",
      });
      const reason = response.ok ? t("history.cannotDecode") : (await response.text()) || response.statusText;
      setProblem(t("history.cannotPlay", { message: reason }));
    } catch (error) {
      setProblem(t("history.cannotPlay", { message: messageOf(error) }));
    }
  };
  return (
    <div class="player">
      <audio ref={audio} controls preload={start ? "auto" : "metadata"} src={source} aria-label={label} onError={() => void explain()} />
      {problem && (
        <p class="form-status error" role="alert">
          {problem}
        </p>
      )}
    </div>
  );
}

