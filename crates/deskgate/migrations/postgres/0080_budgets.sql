-- Server budgets (issue 15, item 4): calls per clock minute and writes per UTC day, counted
-- here so that every replica spends from the same count. One row per server, kind and window;
-- the sweep removes windows older than two days. No foreign key: a window is dropped by age.
CREATE TABLE budget_windows (
    mcp_server_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    used BIGINT NOT NULL,
    PRIMARY KEY (mcp_server_id, kind, window_start)
);
