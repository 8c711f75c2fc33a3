-- Admin tools (writes to macros, rules, teams, users, views…, and bulk jobs) are now offered
-- only to servers whose config says `admin_tools: true` (issue 14). Servers minted before
-- offered them whenever their filters allowed writes; they keep doing so. Servers limited to
-- `methods: ["read"]` never offered them and are left as they are.
UPDATE mcp_servers
SET config = jsonb_set(config::jsonb, '{admin_tools}', 'true'::jsonb)::text
WHERE (config::jsonb -> 'methods') IS NULL
   OR (config::jsonb -> 'methods') <> '["read"]'::jsonb;
