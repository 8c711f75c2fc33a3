-- OAuth2: the app registered with the integration (its secret sealed like any credential), the
-- short-lived states of connect flows in progress, and the lease that makes one replica at a
-- time refresh an account's tokens.
CREATE TABLE oauth_apps (
    integration TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    client_secret BYTEA NOT NULL,
    redirect_url TEXT,
    updated_at BIGINT NOT NULL
);

CREATE TABLE oauth_states (
    state_hash TEXT PRIMARY KEY,
    -- The browser session the flow was started from (a hash of its binding cookie).
    binding_hash TEXT NOT NULL,
    integration TEXT NOT NULL,
    subdomain TEXT NOT NULL,
    api_base_url TEXT,
    -- PKCE verifier, sealed.
    code_verifier BYTEA NOT NULL,
    -- Set when the flow re-authorizes an existing account.
    account_id TEXT,
    expires_at BIGINT NOT NULL
);
CREATE INDEX oauth_states_by_expiry ON oauth_states (expires_at);

ALTER TABLE integrated_accounts ADD COLUMN refresh_lease_until BIGINT;
