-- People and roles (issue 19, part A): console users with their own sign-in, servers shared
-- with them, who approved each OAuth grant, and who (and which client) is behind each OAuth
-- call in the audit log.

-- `email` is stored lowercased (one person per address); `password_hash` is an argon2id PHC
-- string; `role` is `admin` (everything) or `agent` (only the servers shared with them).
CREATE TABLE people (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The servers an admin shared with an agent: the agent may see them and let OAuth clients in.
CREATE TABLE server_shares (
    mcp_server_id TEXT NOT NULL REFERENCES mcp_servers (id) ON DELETE CASCADE,
    person_id TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (mcp_server_id, person_id)
);
CREATE INDEX server_shares_by_person ON server_shares (person_id, mcp_server_id);

-- A console session is opened by an API token or by a person (exactly one). SQLite cannot
-- relax a NOT NULL column, so the table is rebuilt; open sessions are kept.
CREATE TABLE console_sessions_people (
    id_hash TEXT PRIMARY KEY,
    api_token_id TEXT REFERENCES api_tokens (id) ON DELETE CASCADE,
    person_id TEXT REFERENCES people (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    CHECK ((api_token_id IS NULL) <> (person_id IS NULL))
);
INSERT INTO console_sessions_people (id_hash, api_token_id, csrf_token, created_at, expires_at)
SELECT id_hash, api_token_id, csrf_token, created_at, expires_at FROM console_sessions;
DROP TABLE console_sessions;
ALTER TABLE console_sessions_people RENAME TO console_sessions;
CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at);
CREATE INDEX console_sessions_by_person ON console_sessions (person_id);

-- The person who approved a grant (NULL when an admin API token's session did). Deleting the
-- person revokes what they approved.
ALTER TABLE oauth_grants ADD COLUMN approved_by_person TEXT REFERENCES people (id) ON DELETE CASCADE;
CREATE INDEX oauth_grants_by_person ON oauth_grants (approved_by_person, id);

-- For calls made with an OAuth access token: the person who approved the client (and their
-- email as it was, since the log outlives people) and the OAuth client's id.
ALTER TABLE tool_calls ADD COLUMN person_id TEXT;
ALTER TABLE tool_calls ADD COLUMN person_email TEXT;
ALTER TABLE tool_calls ADD COLUMN oauth_client_id TEXT;
CREATE INDEX tool_calls_by_person ON tool_calls (person_id, id);
