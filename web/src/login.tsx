// Sign-in: POST the credentials as JSON; the server sets an HttpOnly session cookie. The
// page speaks the browser's language, and says why a sign-in was refused.

import { render } from "preact";
import { useState } from "preact/hooks";
import { lang, t } from "./i18n";
import { LanguageSwitch } from "./ui";

const REFUSALS: Record<number, Parameters<typeof t>[0]> = {
  401: "login.wrong",
  429: "login.tooMany",
  503: "login.databaseDown",
};

function Login() {
  const [, setLanguageTurn] = useState(0);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  return (
    <main class="login">
      <form
        class="login-card"
        onSubmit={async (event) => {
          event.preventDefault();
          const data = new FormData(event.currentTarget);
          setBusy(true);
          setError("");
          try {
            const response = await fetch("/api/login", {
              method: "POST",
              // The language picked on this page: the server's refusals come in it.
              headers: { "Content-Type": "application/json", "Accept-Language": lang() },
              body: JSON.stringify({ username: data.get("username"), password: data.get("password") }),
              credentials: "same-origin",
            });
            if (response.ok) {
              window.location.assign("/");
              return;
            }
            const refusal = REFUSALS[response.status];
            setError(refusal ? t(refusal) : await response.text());
          } catch {
            setError(t("login.unreachable"));
          } finally {
            setBusy(false);
          }
        }}
      >
        <div class="login-head">
          <h1>{t("login.title")}</h1>
          <LanguageSwitch onChange={() => setLanguageTurn((n) => n + 1)} />
        </div>
        <label class="field">
          <span>{t("login.username")}</span>
          <input name="username" autoComplete="username" required autoFocus />
        </label>
        <label class="field">
          <span>{t("login.password")}</span>
          <input name="password" type="password" autoComplete="current-password" required />
        </label>
        <button type="submit" disabled={busy}>
          {t("login.submit")}
        </button>
        <p class="form-status error" role="alert">
          {error}
        </p>
      </form>
    </main>
  );
}

render(<Login />, document.getElementById("app")!);
