-- Console sign-ins: a session is opened with an API token and dies with it (revoking the token
-- signs its sessions out at once). Only hashes of the session id are stored.
CREATE TABLE console_sessions (
    id_hash TEXT PRIMARY KEY,
    api_token_id TEXT NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at);
