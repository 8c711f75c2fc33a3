-- The part of the helpdesk's rate-limit bucket agents must leave to people and other
-- integrations (issue 15, item 4); NULL: no reserve.
ALTER TABLE integrated_accounts ADD COLUMN rate_limit_reserve BIGINT;
