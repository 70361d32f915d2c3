// Customer search beside the calls: by a part of the name, a phone number, the national
// ID's last digits or the customer number; a result opens the customer's card.

import { useState } from "preact/hooks";
import { api, messageOf } from "../api";
import { amount, phone } from "../format";
import { t } from "../i18n";
import { CustomerCard } from "./CallCard";
import type { Customer } from "./calls";

interface Found {
  id: number;
  full_name: string;
  national_id_masked: string | null;
  balance: string;
  currency: string;
  phones: string[];
}

export function Search({ onOpen }: { onOpen: (open: boolean) => void }) {
  const [found, setFound] = useState<Found[] | null>(null);
  const [error, setError] = useState("");
  const [card, setCard] = useState<Customer | null>(null);
  const open = (customer: Customer | null) => {
    setCard(customer);
    onOpen(customer !== null);
  };
  return (
    <section class="search" aria-label={t("search.title")}>
      <form
        role="search"
        class="search-form"
        onSubmit={async (event) => {
          event.preventDefault();
          const query = String(new FormData(event.currentTarget).get("q") ?? "");
          setError("");
          open(null);
          try {
            setFound(await api<Found[]>(`/api/customers?q=${encodeURIComponent(query)}`));
          } catch (failure) {
            setFound(null);
            setError(messageOf(failure));
          }
        }}
      >
        <label class="field">
          <span>{t("search.title")}</span>
          <input name="q" type="search" required maxLength={200} placeholder={t("search.hint")} autoComplete="off" />
        </label>
        <button type="submit">{t("search.submit")}</button>
      </form>
      {error && (
        <p class="form-status error" role="alert">
          {error}
        </p>
      )}
      {card ? (
        <div class="search-card">
          <button type="button" class="secondary" onClick={() => open(null)}>
            {t("search.back")}
          </button>
          <CustomerCard customer={card} linkedid={null} />
        </div>
      ) : (
        found !== null && (
          <ul class="list search-results">
            {found.length === 0 && <li class="muted">{t("search.none")}</li>}
            {found.map((customer) => (
              <li key={customer.id}>
                <button
                  type="button"
                  class="link-button"
                  onClick={async () => {
                    try {
                      open(await api<Customer>(`/api/customers/${customer.id}`));
                    } catch (failure) {
                      setError(messageOf(failure));
                    }
                  }}
                >
                  {customer.full_name}
                </button>{" "}
                <span class="muted">
                  {customer.phones.map((p) => phone(p)).join(", ")} · {customer.national_id_masked ?? "—"} ·{" "}
                  {amount(customer.balance, customer.currency)}
                </span>
              </li>
            ))}
          </ul>
        )
      )}
    </section>
  );
}
