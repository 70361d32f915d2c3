-- Customers behind the screen-pop, and what agents record about them during calls.

CREATE TABLE customers (
    id           bigserial PRIMARY KEY,
    external_ref text UNIQUE,                      -- the CSV's customer_id: re-imports update
    full_name    text NOT NULL CHECK (length(full_name) BETWEEN 1 AND 200),
    national_id  text,                             -- shown masked until identity is verified
    balance      numeric(14, 2) NOT NULL DEFAULT 0,  -- positive: the customer owes us
    currency     char(3) NOT NULL DEFAULT 'TRY',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE customer_phones (
    customer_id bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    e164        text NOT NULL,                     -- what caller ID is matched on
    raw         text NOT NULL,                     -- as given
    PRIMARY KEY (customer_id, e164)
);
CREATE INDEX customer_phones_e164 ON customer_phones (e164);

CREATE TABLE customer_addresses (
    id          bigserial PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    line1       text NOT NULL,
    line2       text,
    postal_code text,
    city        text,
    country     text
);
CREATE INDEX customer_addresses_customer ON customer_addresses (customer_id);

CREATE TABLE call_notes (
    id          bigserial PRIMARY KEY,
    linkedid    text NOT NULL,
    customer_id bigint REFERENCES customers (id) ON DELETE SET NULL,
    user_id     bigint NOT NULL REFERENCES users (id),
    disposition text,
    text        text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX call_notes_linkedid ON call_notes (linkedid);

CREATE TABLE promises (
    id          bigserial PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    user_id     bigint NOT NULL REFERENCES users (id),
    linkedid    text,
    amount      numeric(14, 2) NOT NULL CHECK (amount > 0),
    currency    char(3) NOT NULL,
    due_date    date NOT NULL,
    status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'kept', 'broken')),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX promises_customer ON promises (customer_id) WHERE status = 'open';
CREATE INDEX promises_user_due ON promises (user_id, due_date) WHERE status = 'open';

CREATE TABLE callbacks (
    id          bigserial PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    user_id     bigint NOT NULL REFERENCES users (id),
    linkedid    text,
    due_at      timestamptz NOT NULL,
    reason      text NOT NULL DEFAULT '',
    done_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX callbacks_user_due ON callbacks (user_id, due_at) WHERE done_at IS NULL;

-- Who saw a full national ID number, when, on which call: unmasking is audited.
CREATE TABLE identity_checks (
    id          bigserial PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    user_id     bigint NOT NULL REFERENCES users (id),
    linkedid    text,
    at          timestamptz NOT NULL DEFAULT now()
);
