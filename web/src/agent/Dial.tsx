// Click-to-dial: the agent's own phone rings first, and once they pick it up the customer is
// called (POST /api/agent/dial; the call then pops on this page like any other).

import { api } from "../api";
import { phone } from "../format";
import { t } from "../i18n";
import { Status, useSubmit } from "../ui";

export function DialButton({ number, customerId }: { number: string; customerId: number | null }) {
  const [outcome, busy, run] = useSubmit();
  return (
    <span class="dial">
      <button
        type="button"
        class="secondary"
        disabled={busy}
        onClick={() =>
          run(async () => {
            await api("/api/agent/dial", { number, customer_id: customerId });
            return t("dial.started");
          })
        }
      >
        {t("dial.call", { number: phone(number) })}
      </button>
      <Status outcome={outcome} />
    </span>
  );
}
