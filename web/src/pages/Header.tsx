// The top bar of the supervisor's pages (call history, quality review): who is signed in,
// the way to the other pages, the language and signing out.

import type { Me } from "../api";
import { t } from "../i18n";
import { LanguageSwitch, SignOut } from "../ui";

export type PageName = "history" | "quality";

export function Header({ me, current, onLanguage }: { me: Me; current: PageName; onLanguage: () => void }) {
  const title = current === "history" ? t("history.title") : t("quality.title");
  document.title = `${title} · ${t("app.name")}`;
  return (
    <header class="top">
      <h1>{title}</h1>
      <span class="who">{me.user.name}</span>
      <nav class="page-nav" aria-label={t("history.nav")}>
        <a href="/supervisor">{t("history.navWallboard")}</a>
        <a href="/history" aria-current={current === "history" ? "page" : undefined}>
          {t("history.title")}
        </a>
        <a href="/quality" aria-current={current === "quality" ? "page" : undefined}>
          {t("quality.title")}
        </a>
      </nav>
      <span class="spacer" />
      <LanguageSwitch onChange={onLanguage} />
      <SignOut />
    </header>
  );
}
