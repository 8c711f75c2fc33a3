-- Admin tools (writes to macros, rules, teams, users, views…, and bulk jobs) are now offered
-- only to servers whose config says `admin_tools: true` (issue 14). Servers minted before
-- offered them whenever their filters allowed writes; they keep doing so. Servers limited to
-- `methods: ["read"]` never offered them and are left as they are.
UPDATE mcp_servers
SET config = json_set(config, '$.admin_tools', json('true'))
WHERE json_extract(config, '$.methods') IS NULL
   OR json_extract(config, '$.methods') <> '["read"]';
