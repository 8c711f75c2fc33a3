-- What the helpdesk's rate-limit header said on a call's answer (issue 17: the console charts
-- an account's headroom over time from the audit log); NULL when no answer carried it.
ALTER TABLE tool_calls ADD COLUMN ratelimit_limit BIGINT;
ALTER TABLE tool_calls ADD COLUMN ratelimit_remaining BIGINT;
