-- Times are Unix epoch milliseconds (BIGINT) on both backends, so the queries stay portable.
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE integrated_accounts (
    id TEXT PRIMARY KEY,
    integration TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    auth_type TEXT NOT NULL,
    context TEXT NOT NULL,
    credentials BLOB NOT NULL,
    credentials_version BIGINT NOT NULL DEFAULT 0,
    access_token_expires_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE mcp_servers (
    id TEXT PRIMARY KEY,
    integrated_account_id TEXT NOT NULL REFERENCES integrated_accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    require_api_token_auth BOOLEAN NOT NULL,
    expires_at BIGINT,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX mcp_servers_by_account ON mcp_servers (integrated_account_id, id);
CREATE INDEX mcp_servers_by_expiry ON mcp_servers (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE tool_calls (
    id TEXT PRIMARY KEY,
    mcp_server_id TEXT NOT NULL REFERENCES mcp_servers (id) ON DELETE CASCADE,
    integrated_account_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    tool TEXT NOT NULL,
    client_name TEXT,
    client_version TEXT,
    upstream_method TEXT,
    upstream_path TEXT,
    upstream_status BIGINT,
    duration_ms BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    error TEXT
);
CREATE INDEX tool_calls_by_server ON tool_calls (mcp_server_id, id);
CREATE INDEX tool_calls_by_account ON tool_calls (integrated_account_id, id);
