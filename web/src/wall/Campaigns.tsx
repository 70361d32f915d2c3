// The outbound campaigns (cti/campaigns/http.py): per campaign, running or paused in words
// and color, its agents by name with their state now, its list and today's figures, and
// (not on the TV) the button that pauses or resumes it, the server's refusal beside it. The
// wall's websocket does not carry campaigns: GET /api/campaigns on opening and every 10 s
// while the page is open, and at once after a pause or a resume. No campaign: no section.

import { useEffect, useState } from "preact/hooks";
import { api, messageOf } from "../api";
import { amount, count, percent } from "../format";
import { t, term, type Key } from "../i18n";
import { Status, useSubmit } from "../ui";
import { displayName, type People } from "./Agents";
import type { AgentRow } from "./model";
import { Figure } from "./QueueCard";

export interface Campaign {
  id: number;
  name: string;
  paused: boolean;
  agents: string[]; // member interfaces
  listed: number;
  open: number;
  due_now: number;
  attempts_today: number;
  contacts_today: number;
  right_party_today: number;
  promises_today: number;
  promised_today_by_currency: { currency: string; amount: string }[];
}

export const REFRESH_MS = 10_000;

export interface Campaigns {
  campaigns: Campaign[] | null; // null until first read
  error: string; // the last refresh's failure, "" when it worked
  refresh: () => Promise<void>;
}

/** The campaigns and their figures, read now and every REFRESH_MS while mounted. */
export function useCampaigns(): Campaigns {
  const [campaigns, setCampaigns] = useState<Campaign[] | null>(null);
  const [error, setError] = useState("");
  const refresh = async () => {
    try {
      setCampaigns(await api<Campaign[]>("/api/campaigns"));
      setError("");
    } catch (e) {
      setError(messageOf(e));
    }
  };
  useEffect(() => {
    void refresh();
    const timer = setInterval(() => void refresh(), REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
  return { campaigns, error, refresh };
}

interface Props extends Campaigns {
  people: People;
  agents: Record<string, AgentRow>; // the wall's, by interface: their state now
  tv: boolean; // no buttons, no definitions
}

export function CampaignsPanel({ campaigns, error, refresh, people, agents, tv }: Props) {
  if (!campaigns || campaigns.length === 0) return null;
  return (
    <section class="panel campaigns" aria-labelledby="campaigns-title">
      <h2 id="campaigns-title">{t("campaigns.title")}</h2>
      {error && (
        <p class="form-status error" role="status">
          {t("campaigns.stale", { message: error })}
        </p>
      )}
      <div id="campaign-cards" class="campaign-cards">
        {campaigns.map((campaign) => (
          <CampaignCard key={campaign.id} campaign={campaign} people={people} agents={agents} tv={tv} onChanged={refresh} />
        ))}
      </div>
      {!tv && <Terms />}
    </section>
  );
}

function CampaignCard({
  campaign,
  people,
  agents,
  tv,
  onChanged,
}: {
  campaign: Campaign;
  people: People;
  agents: Record<string, AgentRow>;
  tv: boolean;
  onChanged: () => Promise<void>;
}) {
  const running = !campaign.paused;
  const promised = campaign.promised_today_by_currency.map((p) => amount(p.amount, p.currency)).join(" + ");
  const rate = campaign.attempts_today ? campaign.contacts_today / campaign.attempts_today : null;
  return (
    <article class={`campaign-card ${running ? "running" : "paused"}`} data-campaign={campaign.id}>
      <header class="campaign-head">
        <h3>{campaign.name}</h3>
        <span class={`campaign-state ${running ? "running" : "paused"}`}>
          {t(running ? "campaigns.running" : "campaigns.paused")}
        </span>
        {!tv && <PauseButton campaign={campaign} onChanged={onChanged} />}
      </header>
      <p class="agents-line campaign-agents">
        <span>{t("campaigns.agents")}:</span>
        {campaign.agents.length === 0 ? (
          <span class="muted">{t("campaigns.noAgents")}</span>
        ) : (
          campaign.agents.map((iface) => {
            const live = agents[iface];
            return (
              <span key={iface} class={`badge${live ? ` state-${live.state}` : ""}`} data-interface={iface}>
                {displayName(iface, people, live)}
                {live && <span class="agent-state"> · {term("state", live.state)}</span>}
              </span>
            );
          })
        )}
      </p>
      <dl class="campaign-figures">
        <Figure name="listed" label={t("campaigns.figure.listed")} value={count(campaign.listed)} />
        <Figure name="open" label={t("campaigns.figure.open")} value={count(campaign.open)} />
        <Figure name="dueNow" label={t("campaigns.figure.dueNow")} value={count(campaign.due_now)} />
        <Figure name="attempts" label={t("campaigns.figure.attempts")} value={count(campaign.attempts_today)} />
        <Figure
          name="contacts"
          label={t("campaigns.figure.contacts")}
          value={count(campaign.contacts_today)}
          detail={t("campaigns.contactRate", { rate: percent(rate), rightParty: count(campaign.right_party_today) })}
        />
        <Figure
          name="promises"
          label={t("campaigns.figure.promises")}
          value={count(campaign.promises_today)}
          detail={promised || undefined}
        />
      </dl>
    </article>
  );
}

// What each figure means (the figure's name, then its meaning), and the abandon rate the
// issue asks for, which progressive dialing keeps at none.
const TERMS: [Key, Key][] = [
  ["campaigns.figure.listed", "campaigns.def.listed"],
  ["campaigns.figure.open", "campaigns.def.open"],
  ["campaigns.figure.dueNow", "campaigns.def.dueNow"],
  ["campaigns.figure.attempts", "campaigns.def.attempts"],
  ["campaigns.figure.contacts", "campaigns.def.contacts"],
  ["campaigns.figure.promises", "campaigns.def.promises"],
  ["campaigns.def.abandoned.name", "campaigns.def.abandoned"],
];

function Terms() {
  return (
    <dl class="terms campaign-terms">
      {TERMS.map(([name, meaning]) => (
        <div key={name}>
          <dt>{t(name)}</dt>
          <dd>{t(meaning)}</dd>
        </div>
      ))}
    </dl>
  );
}

function PauseButton({ campaign, onChanged }: { campaign: Campaign; onChanged: () => Promise<void> }) {
  const [outcome, busy, run] = useSubmit();
  const pausing = !campaign.paused;
  const toggle = () =>
    run(async () => {
      await api(`/api/campaigns/${campaign.id}/paused`, { paused: pausing });
      await onChanged();
      return t(pausing ? "campaigns.pausedDone" : "campaigns.resumedDone");
    });
  return (
    <div class="campaign-actions">
      <button type="button" class={pausing ? "secondary" : ""} disabled={busy} onClick={toggle}>
        {t(pausing ? "campaigns.pause" : "campaigns.resume")}
        <span class="visually-hidden"> {campaign.name}</span>
      </button>
      <Status outcome={outcome} />
    </div>
  );
}
