-- The last "Test connection" of each account (issue 17): what Gorgias answered, in plain words,
-- and when. Gone with its account.
CREATE TABLE account_health (
    integrated_account_id TEXT PRIMARY KEY REFERENCES integrated_accounts (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    detail TEXT NOT NULL,
    checked_at BIGINT NOT NULL
);
