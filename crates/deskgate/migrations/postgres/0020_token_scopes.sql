-- API token scopes and the bootstrap token (issue 16).
-- `scope`: `admin` (the management API and the console) or `mcp` (only MCP requests to servers
-- minted with require_api_token_auth). An `mcp` token may be limited to some MCP servers and/or
-- the servers of some integrated accounts: JSON arrays of ids, NULL meaning no limit.
-- `bootstrap`: registered from DESKGATE_ADMIN_TOKEN; retired at start-up when the variable
-- changes or is removed. Earlier versions named that token, which is how it is recognized here.
ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'admin';
ALTER TABLE api_tokens ADD COLUMN mcp_server_ids TEXT;
ALTER TABLE api_tokens ADD COLUMN integrated_account_ids TEXT;
ALTER TABLE api_tokens ADD COLUMN bootstrap BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE api_tokens SET bootstrap = TRUE WHERE name = 'bootstrap admin (DESKGATE_ADMIN_TOKEN)';
