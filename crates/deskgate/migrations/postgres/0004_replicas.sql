-- Several replicas on one database. PostgreSQL only: SQLite serves one process, which keeps
-- all of this in memory.

-- 1. Change notices. Every committed change to what an MCP request is resolved from (a server,
--    its account) is announced on the `deskgate_changes` channel, and every replica drops its
--    cached tenants when it hears one. Triggers rather than application code, so that every
--    writer announces: the API on any replica, the expiry sweeper, cascades, an operator's psql.
--    NOTIFY is transactional: listeners hear it at commit, never for a rolled-back change.
--    API tokens and console sessions are not cached anywhere (looked up on every request), so
--    they need no notice.
CREATE FUNCTION deskgate_announce_server_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('deskgate_changes', 'mcp_servers');
    RETURN NULL;
END;
$$;

-- Per row, not per statement: a statement that touches no row (the expiry sweep, most of the
-- time) must not announce anything, or every sweep would empty every replica's cache. NOTIFY
-- folds identical payloads within a transaction, so a bulk delete is still one notice. A new
-- server needs no notice: nothing can have cached a token nobody had seen.
CREATE TRIGGER mcp_servers_announce
    AFTER UPDATE OR DELETE ON mcp_servers
    FOR EACH ROW EXECUTE FUNCTION deskgate_announce_server_change();
CREATE TRIGGER mcp_servers_announce_truncate
    AFTER TRUNCATE ON mcp_servers
    FOR EACH STATEMENT EXECUTE FUNCTION deskgate_announce_server_change();

-- Per row, so that replicas also forget the account's cached catalog. Only the columns a
-- request reads: taking or releasing the refresh lease is not a change anyone must hear of.
CREATE FUNCTION deskgate_announce_account_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('deskgate_changes', 'integrated_accounts:' || OLD.id);
    ELSE
        PERFORM pg_notify('deskgate_changes', 'integrated_accounts:' || NEW.id);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER integrated_accounts_announce
    AFTER DELETE OR UPDATE OF name, status, auth_type, context, credentials, credentials_version,
        access_token_expires_at
    ON integrated_accounts
    FOR EACH ROW EXECUTE FUNCTION deskgate_announce_account_change();

-- 2. Legacy SSE sessions. The replica holding a session's event stream registers it here and
--    keeps it alive (`alive_until`, database clock, epoch ms); a replica that dies stops doing
--    so and its sessions lapse. A message POSTed to any replica is answered there, its reply is
--    queued in `sse_messages` and the holder is told by NOTIFY on its own channel
--    (`deskgate_sse_<replica>`) to take it: the queue carries the payload because a reply (a
--    tools/list is ~120 KB) does not fit a NOTIFY payload (8000 bytes).
--    UNLOGGED: these rows only matter while their streams are open, which a database crash or
--    failover ends anyway; skipping the WAL keeps every relayed message cheap.
CREATE UNLOGGED TABLE sse_sessions (
    id TEXT PRIMARY KEY,
    mcp_server_id TEXT NOT NULL,
    replica_id TEXT NOT NULL,
    alive_until BIGINT NOT NULL
);
CREATE INDEX sse_sessions_by_replica ON sse_sessions (replica_id);
CREATE INDEX sse_sessions_by_lapse ON sse_sessions (alive_until);

CREATE UNLOGGED TABLE sse_messages (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sse_sessions (id) ON DELETE CASCADE,
    payload TEXT NOT NULL
);
CREATE INDEX sse_messages_by_session ON sse_messages (session_id, id);

-- 3. Background work runs on one replica per period: a replica claims a job by moving its
--    `last_started_at` (database clock, epoch ms) forward, while holding a transaction-scoped
--    advisory lock for as long as the run takes.
CREATE TABLE background_jobs (
    name TEXT PRIMARY KEY,
    last_started_at BIGINT NOT NULL
);
