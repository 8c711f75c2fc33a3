-- The audit log outlives what it records (issue 16, item 6): deleting or expiring a server (or
-- its account) no longer deletes its call records; a retention sweep removes records by age
-- (`--audit-retention-days`, default 90).
ALTER TABLE tool_calls DROP CONSTRAINT IF EXISTS tool_calls_mcp_server_id_fkey;
CREATE INDEX tool_calls_by_time ON tool_calls (at);
