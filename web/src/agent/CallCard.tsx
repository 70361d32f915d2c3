// The current call: who calls, for how long, the recording consent, the customer card and
// the forms that fit (create a customer for an unknown caller; verify, note and
// disposition, payment promise and callback for a known one). What is saved shows at once
// in the card, and each form says beside itself what happened.

import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { api } from "../api";
import { amount, calendarDate, clock, dateTime, phone } from "../format";
import { known, t, term } from "../i18n";
import { Field, Status, useNow, useSubmit } from "../ui";
import type { Call, Customer } from "./calls";
import { DialButton } from "./Dial";

interface Props {
  call: Call;
  wrapUpEnds: number | null; // epoch seconds: the daemon's wrap-up after this call ends then
  dispositions: string[];
  dispositionRequired: boolean; // the call's queue needs one before the agent is ready
  onCustomers: (change: (customers: Customer[]) => Customer[]) => void;
  onNote: (note: string) => void;
  onDone: () => void;
  onTransferred: () => void;
  onSaved: () => void;
}

export function CallCard({ call, wrapUpEnds, dispositions, dispositionRequired, onCustomers, onNote, onDone, onTransferred, onSaved }: Props) {
  const now = useNow();
  const caller = call.caller_name || t("call.unknownName");
  const heading = {
    ringing: call.outbound ? t("call.outboundRinging") : t("call.ringing"),
    dialing: t("call.dialing"),
    on_call: t("call.onCall"),
    ended: t("call.ended"),
  }[call.phase];
  const customer = call.customers?.[0] ?? null;
  // What the agent saved shows in the card at once, and in their day.
  const addTo = <K extends "open_promises" | "open_callbacks">(to: Customer, key: K, item: Customer[K][number]) => {
    onCustomers((all) => all.map((c) => (c.id === to.id ? { ...c, [key]: [...c[key], item] } : c)));
    onSaved();
  };
  return (
    <article class={`call call-${call.phase}`} aria-labelledby="call-heading" data-linkedid={call.linkedid}>
      <header class="call-head">
        <p id="call-heading" class="call-phase">
          {heading}
        </p>
        <h2 class="caller-name">{caller}</h2>
        <p class="caller-number">{call.caller_number ? phone(call.caller_number) : t("call.noNumber")}</p>
        <p class="call-facts">
          <span>{call.queue ? `${t("call.queue")}: ${call.queue}` : call.outbound ? t("call.outbound") : t("call.direct")}</span>
          {call.phase === "ringing" && !call.outbound && (
            <span class="timer">{t("call.waited", { time: clock(now - (call.queued_at ?? call.ring_at)) })}</span>
          )}
          {call.phase === "on_call" && call.answered_at != null && (
            <span class="timer">{t("call.talking", { time: clock(now - call.answered_at) })}</span>
          )}
          {call.phase === "ended" && <span>{t("call.endedAs", { outcome: term("outcome", call.outcome) })}</span>}
          {wrapUpEnds !== null && (
            <span class="timer wrap-up">{t("call.wrapUpLeft", { time: clock(Math.max(0, wrapUpEnds - now)) })}</span>
          )}
        </p>
        <Consent call={call} />
        {(call.phase === "on_call" || call.phase === "dialing") && <CallControls call={call} onTransferred={onTransferred} />}
        {call.phase === "ended" && (
          <button type="button" class="done" onClick={onDone}>
            {t("call.done")}
          </button>
        )}
      </header>
      {call.phase === "ended" && <NoteForm call={call} customer={customer} dispositions={dispositions} required={dispositionRequired && call.phase === "ended"} onNote={onNote} />}
      {call.customers === null ? (
        <p class="muted">{t("customer.looking")}</p>
      ) : call.customers.length === 0 ? (
        <NewCustomer call={call} onCreated={(created) => onCustomers(() => [created])} />
      ) : (
        call.customers.map((found) => <CustomerCard key={found.id} customer={found} linkedid={call.linkedid} />)
      )}
      <Crm call={call} />
      {call.phase !== "ended" && <NoteForm call={call} customer={customer} dispositions={dispositions} required={false} onNote={onNote} />}
      {customer && (
        <div class="forms-row">
          <PromiseForm call={call} customer={customer} onSaved={(p) => addTo(customer, "open_promises", p)} />
          <CallbackForm call={call} customer={customer} onSaved={(c) => addTo(customer, "open_callbacks", c)} />
        </div>
      )}
    </article>
  );
}

function Consent({ call }: { call: Call }) {
  const [muted, setMuted] = useState(false);
  const [outcome, busy, run] = useSubmit();
  const key = call.consent === "granted" ? "consent.granted" : call.consent === "declined" ? "consent.declined" : "consent.none";
  return (
    <div class={`consent consent-${call.consent ?? "none"}`}>
      <span>{muted ? t("recording.muted") : t(key)}</span>
      {call.phase === "on_call" && call.consent === "granted" && (
        <button
          type="button"
          class="secondary"
          disabled={busy}
          onClick={() =>
            run(async () => {
              await api(`/api/calls/${encodeURIComponent(call.linkedid)}/recording`, { muted: !muted });
              setMuted(!muted);
              return "";
            })
          }
        >
          {muted ? t("recording.unmute") : t("recording.mute")}
        </button>
      )}
      {outcome && !outcome.ok && <Status outcome={outcome} />}
    </div>
  );
}

interface Targets {
  queues: string[];
  agents: { name: string; interface: string; state: string }[];
}

/** Hang up, blind transfer to a queue or another agent, and attended transfer: consult an
agent while the caller holds, then complete (the agent's leg hangs up) or go back to the
caller (the server asks Asterisk; the call's end or its move then comes over the websocket
like any other change). */
function CallControls({ call, onTransferred }: { call: Call; onTransferred: () => void }) {
  const [targets, setTargets] = useState<Targets | null>(null);
  const [consulting, setConsulting] = useState<string | null>(null); // whom, by name
  const [outcome, busy, run] = useSubmit();
  const path = `/api/calls/${encodeURIComponent(call.linkedid)}`;
  const load = () => {
    if (targets === null) void run(async () => (setTargets(await api<Targets>("/api/agent/transfer-targets")), ""));
  };
  if (consulting !== null) {
    return (
      <div class="call-controls consulting">
        <p>{t("call.consulting", { target: consulting })}</p>
        <button
          type="button"
          disabled={busy}
          onClick={() =>
            run(async () => {
              await api(`${path}/hangup`, {}); // hanging up the consultation's side completes it
              onTransferred();
              return t("call.transferred", { target: consulting });
            })
          }
        >
          {t("call.completeTransfer")}
        </button>
        <button
          type="button"
          class="secondary"
          disabled={busy}
          onClick={() => run(async () => (await api(`${path}/transfer/cancel`, {}), setConsulting(null), t("call.backToCaller")))}
        >
          {t("call.cancelTransfer")}
        </button>
        <Status outcome={outcome} />
      </div>
    );
  }
  return (
    <div class="call-controls">
      <button type="button" class="danger hang-up" disabled={busy} onClick={() => run(async () => (await api(`${path}/hangup`, {}), t("call.hungUp")))}>
        {t("call.hangUp")}
      </button>
      <form
        class="transfer"
        onSubmit={(event) => {
          event.preventDefault();
          const chosen = String(new FormData(event.currentTarget).get("target") ?? "");
          const [kind, target] = [chosen.slice(0, chosen.indexOf(":")), chosen.slice(chosen.indexOf(":") + 1)];
          const label = kind === "agent" ? (targets?.agents.find((a) => a.interface === target)?.name ?? target) : target;
          const attended = (event.submitter as HTMLButtonElement | null)?.value === "consult";
          void run(async () => {
            if (attended && kind !== "agent") throw new Error(t("call.consultAgentOnly"));
            await api(`${path}/transfer`, { [kind]: target, attended });
            if (attended) {
              setConsulting(label);
              return "";
            }
            onTransferred();
            return t("call.transferred", { target: label });
          });
        }}
      >
        <Field label={t("call.transferTo")}>
          <select name="target" required onFocus={load} onMouseDown={load}>
            <option value="">{t("call.chooseTarget")}</option>
            {targets && (
              <optgroup label={t("call.queues")}>
                {targets.queues.map((q) => (
                  <option key={q} value={`queue:${q}`}>
                    {q}
                  </option>
                ))}
              </optgroup>
            )}
            {targets && (
              <optgroup label={t("call.agents")}>
                {targets.agents.map((a) => (
                  <option key={a.interface} value={`agent:${a.interface}`}>
                    {`${a.name} · ${term("state", a.state)}`}
                  </option>
                ))}
              </optgroup>
            )}
          </select>
        </Field>
        <button type="submit" class="secondary" value="blind" disabled={busy}>
          {t("call.transfer")}
        </button>
        <button type="submit" class="secondary" value="consult" disabled={busy}>
          {t("call.consult")}
        </button>
      </form>
      <Status outcome={outcome} />
    </div>
  );
}

export function CustomerCard({ customer, linkedid }: { customer: Customer; linkedid: string | null }) {
  const [nationalId, setNationalId] = useState<string | null>(null);
  const [outcome, busy, run] = useSubmit();
  const debt = Number(customer.balance) > 0;
  return (
    <section class="customer" aria-label={customer.full_name}>
      <h3>{customer.full_name}</h3>
      <dl class="facts">
        <div>
          <dt>{t("customer.nationalId")}</dt>
          <dd class="national-id">{nationalId ?? customer.national_id_masked ?? "—"}</dd>
        </div>
        <div>
          <dt>{debt ? t("customer.debt") : t("customer.balance")}</dt>
          <dd class={debt ? "debt" : ""}>{amount(customer.balance, customer.currency)}</dd>
        </div>
        {customer.addresses.map((address, index) => (
          <div key={index}>
            <dt>{t("customer.address")}</dt>
            <dd class="address">
              {[address.line1, address.line2, address.postal_code, address.city, address.country].filter(Boolean).join(", ")}
            </dd>
          </div>
        ))}
      </dl>
      {linkedid === null && customer.phones.length > 0 && (
        <p class="dial-numbers">
          {customer.phones.map(({ e164 }) => (
            <DialButton key={e164} number={e164} customerId={customer.id} />
          ))}
        </p>
      )}
      {customer.national_id_masked && nationalId === null && linkedid !== null && (
        <button
          type="button"
          class="secondary"
          disabled={busy}
          onClick={() =>
            run(async () => {
              const result = await api<{ national_id: string }>(`/api/customers/${customer.id}/verify`, { linkedid });
              setNationalId(result.national_id);
              return t("customer.verified");
            })
          }
        >
          {t("customer.verify")}
        </button>
      )}
      <Status outcome={outcome} />
      {customer.open_promises.length > 0 && (
        <>
          <h4>{t("customer.openPromises")}</h4>
          <ul class="list promises">
            {customer.open_promises.map((p, index) => (
              <li key={index}>
                {t("customer.promiseDue", { amount: amount(p.amount, p.currency), date: calendarDate(p.due_date) })}
              </li>
            ))}
          </ul>
        </>
      )}
      {customer.open_callbacks.length > 0 && (
        <>
          <h4>{t("customer.callbacks")}</h4>
          <ul class="list callbacks">
            {customer.open_callbacks.map((c, index) => (
              <li key={index}>
                {dateTime(c.due_at)}
                {c.reason ? ` · ${c.reason}` : ""}
              </li>
            ))}
          </ul>
        </>
      )}
      <h4>{t("customer.lastCalls")}</h4>
      {customer.last_calls.length === 0 ? (
        <p class="muted">{t("customer.noCalls")}</p>
      ) : (
        <ul class="list past-calls">
          {customer.last_calls.map((past, index) => (
            <li key={index}>
              <span>
                {dateTime(past.started_at)} · {past.agent ?? "—"} · {term("outcome", past.outcome)}
              </span>
              {past.notes.map((note, n) => (
                <p key={n} class="note-text">
                  {note.agent}: {[note.disposition, note.text].filter(Boolean).join(" · ")}
                </p>
              ))}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** Why the CRM gave nothing, in the agent's language; its English words for a failure
 * the panel has no text of its own for. */
function crmFailure({ error, failure }: NonNullable<Call["crm"]>): string {
  const key = `crm.failed.${failure?.kind ?? "other"}`;
  if (known(key)) return t(key, { status: failure?.status ?? "", seconds: failure?.seconds ?? "" });
  return t("crm.failed", { error: error ?? "" });
}

function Crm({ call }: { call: Call }) {
  if (!call.crm) return null;
  const { record, error } = call.crm;
  if (error) return <p class="crm muted">{crmFailure(call.crm)}</p>;
  if (!record) return <p class="crm muted">{t("crm.none")}</p>;
  return (
    <section class="crm">
      <h4>{t("crm.title", { name: record.name ?? "" })}</h4>
      {record.summary && <p>{record.summary}</p>}
      {record.fields.length > 0 && (
        <dl class="facts">
          {record.fields.map(([label, value], index) => (
            <div key={index}>
              <dt>{label}</dt>
              <dd>{value}</dd>
            </div>
          ))}
        </dl>
      )}
      {record.url && (
        <a href={record.url} target="_blank" rel="noopener noreferrer">
          {t("crm.open")}
        </a>
      )}
    </section>
  );
}

/** A form that saves through ``save`` (its values by name) and says beside itself what
happened; emptied once saved. */
function SavingForm({
  name,
  title,
  button,
  save,
  children,
}: {
  name: string;
  title: string;
  button: string;
  save: (values: Record<string, string>) => Promise<string>;
  children: ComponentChildren;
}) {
  const [outcome, busy, run] = useSubmit();
  return (
    <form
      class={name}
      onSubmit={(event) => {
        event.preventDefault();
        const form = event.currentTarget;
        const values = Object.fromEntries([...new FormData(form).entries()].map(([k, v]) => [k, String(v)]));
        void run(async () => {
          const said = await save(values);
          form.reset();
          return said;
        });
      }}
    >
      <h3>{title}</h3>
      {children}
      <button type="submit" disabled={busy}>
        {button}
      </button>
      <Status outcome={outcome} />
    </form>
  );
}

function NewCustomer({ call, onCreated }: { call: Call; onCreated: (customer: Customer) => void }) {
  return (
    <>
      <p class="muted unknown-caller">{t("customer.unknown")}</p>
      <SavingForm
        name="new-customer"
        title={t("form.newCustomer")}
        button={t("form.createCustomer")}
        save={async (values) => {
          onCreated(await api<Customer>("/api/customers", { ...values, linkedid: call.linkedid }));
          return t("form.customerCreated");
        }}
      >
        <Field label={t("form.fullName")}>
          <input name="full_name" required maxLength={200} autoComplete="off" />
        </Field>
        <Field label={t("form.phone")}>
          <input name="phone" required maxLength={40} defaultValue={phone(call.caller_number)} autoComplete="off" />
        </Field>
        <Field label={t("form.line1")}>
          <input name="line1" maxLength={200} autoComplete="off" />
        </Field>
        <Field label={t("form.city")}>
          <input name="city" maxLength={100} autoComplete="off" />
        </Field>
      </SavingForm>
    </>
  );
}

function NoteForm({
  call,
  customer,
  dispositions,
  required,
  onNote,
}: {
  call: Call;
  customer: Customer | null;
  dispositions: string[];
  required: boolean;
  onNote: (note: string) => void;
}) {
  return (
    <SavingForm
      name="note"
      title={t("form.note")}
      button={t("form.saveNote")}
      save={async (values) => {
        await api(`/api/calls/${encodeURIComponent(call.linkedid)}/notes`, {
          disposition: values.disposition || null,
          text: values.text,
          customer_id: customer?.id ?? null,
        });
        onNote([values.disposition, values.text].filter(Boolean).join(" · "));
        return t("form.noteSaved");
      }}
    >
      <Field label={required ? t("form.dispositionRequired") : t("form.disposition")}>
        <select name="disposition" required={required}>
          <option value="">{t("form.chooseDisposition")}</option>
          {dispositions.map((d) => (
            <option key={d} value={d}>
              {d}
            </option>
          ))}
        </select>
      </Field>
      <Field label={t("form.noteText")}>
        <textarea name="text" maxLength={4000} rows={3} />
      </Field>
      {call.notes.length > 0 && (
        <ul class="list saved-notes">
          {call.notes.map((note, index) => (
            <li key={index}>{note}</li>
          ))}
        </ul>
      )}
    </SavingForm>
  );
}

type Promised = Customer["open_promises"][number];
type CalledBack = Customer["open_callbacks"][number];

function PromiseForm({ call, customer, onSaved }: { call: Call; customer: Customer; onSaved: (p: Promised) => void }) {
  return (
    <SavingForm
      name="promise"
      title={t("form.promise")}
      button={t("form.savePromise")}
      save={async (values) => {
        onSaved(await api<Promised>(`/api/customers/${customer.id}/promises`, { ...values, linkedid: call.linkedid }));
        return t("form.promiseSaved");
      }}
    >
      <Field label={`${t("form.amount")} (${customer.currency})`}>
        <input name="amount" type="number" min="0.01" step="0.01" required />
      </Field>
      <Field label={t("form.dueDate")}>
        <input name="due_date" type="date" required />
      </Field>
    </SavingForm>
  );
}

function CallbackForm({ call, customer, onSaved }: { call: Call; customer: Customer; onSaved: (c: CalledBack) => void }) {
  return (
    <SavingForm
      name="callback"
      title={t("form.callback")}
      button={t("form.saveCallback")}
      save={async (values) => {
        const due_at = new Date(values.due_at).toISOString();
        const body = { due_at, reason: values.reason, linkedid: call.linkedid };
        onSaved(await api<CalledBack>(`/api/customers/${customer.id}/callbacks`, body));
        return t("form.callbackSaved");
      }}
    >
      <Field label={t("form.when")}>
        <input name="due_at" type="datetime-local" required />
      </Field>
      <Field label={t("form.reason")}>
        <input name="reason" maxLength={200} />
      </Field>
    </SavingForm>
  );
}
