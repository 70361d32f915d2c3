// The agents: each by the name people know them by (the user's display name; the phone's
// interface only as a detail), their state in words with how long they have been in it, the
// caller they talk to, their queues and calls taken. On the supervisor's page each row has
// the actions (pause with a reason, ready, listen, whisper, barge) and opens the agent's day;
// on the TV they are tiles, without controls.

import { useState } from "preact/hooks";
import { api, messageOf } from "../api";
import { clock, count, phone } from "../format";
import { t, term, type Key } from "../i18n";
import { PauseReason } from "../ui";
import type { AgentRow, CallRow } from "./model";

export interface Person {
  username: string;
  name: string;
  interfaces: string[];
}

export type People = Record<string, Person>; // by interface

export function peopleByInterface(people: Person[]): People {
  const found: People = {};
  for (const person of people) for (const iface of person.interfaces) found[iface] = person;
  return found;
}

/** The one name the wall gives an agent: the user's, else Asterisk's member name when it
 * is a name, else the interface. */
export function displayName(iface: string | null, people: People, agent?: AgentRow): string {
  if (!iface) return "";
  const person = people[iface];
  if (person) return person.name;
  if (agent?.name && agent.name !== iface) return agent.name;
  return iface;
}

export function sortedAgents(agents: AgentRow[], people: People, language: string): AgentRow[] {
  const collator = new Intl.Collator(language);
  return [...agents].sort(
    (a, b) =>
      collator.compare(displayName(a.interface, people, a), displayName(b.interface, people, b)) ||
      collator.compare(a.interface, b.interface),
  );
}

function stateWords(agent: AgentRow): string {
  const words = term("state", agent.state);
  return agent.reason && agent.state !== "wrap_up" ? `${words} (${agent.reason})` : words;
}

function callerOf(agent: AgentRow, calls: Record<string, CallRow>): string {
  const call = agent.talking ? calls[agent.talking] : null;
  if (!call) return "";
  return call.caller_name || phone(call.caller_number) || t("call.noNumber");
}

const since = (agent: AgentRow, now: number) => (agent.state_since == null ? "" : clock(now - agent.state_since));

interface GridProps {
  agents: AgentRow[]; // sorted
  calls: Record<string, CallRow>;
  people: People;
  now: number;
  reasons: string[];
  onOpen: (iface: string) => void;
  onNotice: (text: string, ok: boolean) => void;
}

export function AgentsGrid({ agents, calls, people, now, reasons, onOpen, onNotice }: GridProps) {
  if (agents.length === 0) return <p class="muted">{t("wall.agents.none")}</p>;
  return (
    <table id="agents" class="agents">
      <colgroup>
        {["name", "state", "since", "caller", "queues", "taken", "actions"].map((name) => (
          <col key={name} class={name} />
        ))}
      </colgroup>
      <thead>
        <tr>
          <th scope="col">{t("wall.agents.agent")}</th>
          <th scope="col">{t("wall.agents.state")}</th>
          <th scope="col">{t("wall.agents.for")}</th>
          <th scope="col">{t("wall.agents.caller")}</th>
          <th scope="col">{t("wall.agents.queues")}</th>
          <th scope="col">{t("wall.agents.calls")}</th>
          <th scope="col">{t("wall.agents.actions")}</th>
        </tr>
      </thead>
      <tbody>
        {agents.map((agent) => {
          const name = displayName(agent.interface, people, agent);
          return (
            <tr key={agent.interface} data-interface={agent.interface} data-state={agent.state}>
              <th scope="row" class="agent-name">
                <button
                  type="button"
                  class="link-button"
                  title={t("wall.agents.openDay", { name })}
                  onClick={() => onOpen(agent.interface)}
                >
                  {name}
                </button>
                {name !== agent.interface && <span class="interface">{agent.interface}</span>}
              </th>
              <td class="state">
                <span class={`badge state-${agent.state}`}>{stateWords(agent)}</span>
              </td>
              <td class="since timer">{since(agent, now)}</td>
              <td class="caller">{callerOf(agent, calls)}</td>
              <td class="queues">{agent.queues.join(", ")}</td>
              <td class="taken">{count(agent.calls_taken)}</td>
              <td class="actions">
                <Actions agent={agent} name={name} reasons={reasons} onNotice={onNotice} />
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

const SPY: [string, Key][] = [
  ["listen", "wall.action.listen"],
  ["whisper", "wall.action.whisper"],
  ["barge", "wall.action.barge"],
];

function Actions({
  agent,
  name,
  reasons,
  onNotice,
}: {
  agent: AgentRow;
  name: string;
  reasons: string[];
  onNotice: (text: string, ok: boolean) => void;
}) {
  const [reason, setReason] = useState(reasons[0] ?? "");
  const [busy, setBusy] = useState(false);
  const act = async (action: Key, path: string, body: object) => {
    setBusy(true);
    try {
      await api(path, { interface: agent.interface, ...body });
      onNotice(t("wall.action.done", { action: t(action), name }), true);
    } catch (error) {
      onNotice(t("wall.action.failed", { action: t(action), name, error: messageOf(error) }), false);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="agent-actions">
      <PauseReason label={t("wall.action.reasonFor", { name })} reasons={reasons} value={reason} onChange={setReason} />
      <button type="button" class="secondary" disabled={busy} onClick={() => act("wall.action.pause", "/api/supervisor/pause", { paused: true, reason })}>
        {t("wall.action.pause")}
      </button>
      <button
        type="button"
        class="secondary"
        disabled={busy || agent.state === "ready"}
        onClick={() => act("wall.action.ready", "/api/supervisor/pause", { paused: false })}
      >
        {t("wall.action.ready")}
      </button>
      {agent.talking &&
        SPY.map(([mode, label]) => (
          <button key={mode} type="button" class="secondary" disabled={busy} onClick={() => act(label, "/api/supervisor/spy", { mode })}>
            {t(label)}
          </button>
        ))}
    </div>
  );
}

/** The TV's agents: a tile each, two lines high whatever it says (the page is sized once for
 * them): the name, then the state in words and color, how long, and the caller. */
export function AgentTiles({ agents, calls, people, now }: Omit<GridProps, "reasons" | "onOpen" | "onNotice">) {
  if (agents.length === 0) return <p class="muted">{t("wall.agents.none")}</p>;
  return (
    <ul id="agents" class="agent-tiles">
      {agents.map((agent) => {
        const caller = callerOf(agent, calls);
        return (
          <li key={agent.interface} class={`tile state-${agent.state}`} data-interface={agent.interface} data-state={agent.state}>
            <span class="tile-name">{displayName(agent.interface, people, agent)}</span>
            <span class="tile-state">
              {stateWords(agent)} <span class="timer">{since(agent, now)}</span>
              {caller && <span class="tile-caller"> · {caller}</span>}
            </span>
          </li>
        );
      })}
    </ul>
  );
}
