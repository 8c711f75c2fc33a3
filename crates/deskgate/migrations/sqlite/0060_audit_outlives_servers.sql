-- The audit log outlives what it records (issue 16, item 6): deleting or expiring a server (or
-- its account) no longer deletes its call records; a retention sweep removes records by age
-- (`--audit-retention-days`, default 90). SQLite cannot drop a foreign key, so the table is
-- rebuilt without it; nothing references tool_calls.
CREATE TABLE tool_calls_kept (
    id TEXT PRIMARY KEY,
    mcp_server_id TEXT NOT NULL,
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
    error TEXT,
    policy_decision TEXT,
    policy_rule TEXT
);
INSERT INTO tool_calls_kept (id, mcp_server_id, integrated_account_id, at, tool, client_name,
    client_version, upstream_method, upstream_path, upstream_status, duration_ms, outcome, error,
    policy_decision, policy_rule)
SELECT id, mcp_server_id, integrated_account_id, at, tool, client_name, client_version,
    upstream_method, upstream_path, upstream_status, duration_ms, outcome, error, policy_decision,
    policy_rule
FROM tool_calls;
DROP TABLE tool_calls;
ALTER TABLE tool_calls_kept RENAME TO tool_calls;
CREATE INDEX tool_calls_by_server ON tool_calls (mcp_server_id, id);
CREATE INDEX tool_calls_by_account ON tool_calls (integrated_account_id, id);
CREATE INDEX tool_calls_by_time ON tool_calls (at);
