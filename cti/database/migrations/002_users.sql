-- People who use the panel, and their server-side sessions.

CREATE TABLE users (
    id            bigserial PRIMARY KEY,
    username      text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9._-]{2,64}$'),
    display_name  text NOT NULL,
    role          text NOT NULL CHECK (role IN ('agent', 'supervisor', 'admin')),
    password_hash text NOT NULL,                -- scrypt, see cti/auth/passwords.py
    interfaces    text[] NOT NULL DEFAULT '{}', -- phone interfaces: PJSIP/1001, Local/1001@agents/n
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sessions (
    token_hash   text PRIMARY KEY,              -- sha256 of the cookie value: a leaked table
                                                -- does not hand out live sessions
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);
