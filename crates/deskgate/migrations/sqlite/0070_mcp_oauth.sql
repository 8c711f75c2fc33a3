-- MCP authorization (issue 19): servers minted in `oauth` mode, and deskgate as the OAuth 2.1
-- authorization server for them. Every code and token is stored as its SHA-256 only, and
-- every single-use step (a code exchanged, a refresh token rotated) is one conditional UPDATE,
-- so it holds across replicas sharing a database.

-- `url_token` (the secret is in the URL, as before) or `oauth` (the URL carries the server id;
-- every request needs an access token deskgate issued for that server).
ALTER TABLE mcp_servers ADD COLUMN auth_mode TEXT NOT NULL DEFAULT 'url_token';

-- Clients registered through dynamic client registration (RFC 7591): public clients only,
-- so no secret is kept.
CREATE TABLE oauth_clients (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    -- JSON array of exact redirect URIs.
    redirect_uris TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- One approval by an operator: one client, one server, one code, then the tokens issued from
-- it (a refresh-token family). Deleting the grant revokes everything issued under it.
CREATE TABLE oauth_grants (
    id TEXT PRIMARY KEY,
    mcp_server_id TEXT NOT NULL REFERENCES mcp_servers (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    -- The API token whose console session approved it.
    approved_by TEXT NOT NULL,
    scope TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    code_hash TEXT NOT NULL UNIQUE,
    code_challenge TEXT NOT NULL,
    code_expires_at BIGINT NOT NULL,
    -- When the code was exchanged; NULL while it has not been.
    redeemed_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX oauth_grants_by_server ON oauth_grants (mcp_server_id, id);
CREATE INDEX oauth_grants_by_code_expiry ON oauth_grants (code_expires_at) WHERE redeemed_at IS NULL;

-- Access and refresh tokens. A refresh token is used once (`used_at`); presenting it again
-- revokes its grant.
CREATE TABLE oauth_tokens (
    token_hash TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX oauth_tokens_by_grant ON oauth_tokens (grant_id);
CREATE INDEX oauth_tokens_by_expiry ON oauth_tokens (expires_at);
