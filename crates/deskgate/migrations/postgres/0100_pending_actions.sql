-- Writes held for a person's approval (issue 15, item 3). The arguments are sealed with the
-- vault like credentials (they hold the exact text of a note or reply). `status`: pending,
-- approved, rejected; a pending action past `expires_at` is expired. A decision is taken
-- once: the update that takes it requires status = 'pending' and an unexpired row.
CREATE TABLE pending_actions (
    id TEXT PRIMARY KEY,
    mcp_server_id TEXT NOT NULL,
    integrated_account_id TEXT NOT NULL,
    tool TEXT NOT NULL,
    sealed_arguments BYTEA NOT NULL,
    policy_rule TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    decided_at BIGINT,
    decided_by TEXT,
    reason TEXT,
    result_outcome TEXT,
    result_text TEXT
);
CREATE INDEX pending_actions_by_account ON pending_actions (integrated_account_id, id);
