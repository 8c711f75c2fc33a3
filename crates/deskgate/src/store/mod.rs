//! The store: one interface over SQLite (the embedded default) and PostgreSQL (for several
//! replicas).
//!
//! - `queries.rs`: the portable SQL, written once and instantiated for each backend by a macro
//!   (both backends accept `$N` placeholders, BIGINT times, TEXT ids, booleans and blobs).
//! - `sqlite.rs`, `postgres.rs`: connecting, migrating and the backend-only parts (pragmas,
//!   advisory locks, LISTEN/NOTIFY).
//!
//! What several replicas need from each other goes through the database, and only PostgreSQL
//! is shared: [`Store::notices`] (changes and relayed SSE messages), [`Store::run_exclusive`]
//! (background work once across replicas) and [`Store::shared`] (the SSE session registry).
//! On SQLite there is one process, so these are no-ops or `None`.
//!
//! Queries are runtime sqlx queries (no compile-time database needed to build).

pub mod postgres;
mod queries;
pub mod sqlite;

use crate::accounts::{AccountContext, AccountStatus, AuthType, IntegratedAccount, StoredAccount};
use crate::audit::{Outcome, ToolCallRecord};
use crate::mcp_servers::{McpServer, McpServerConfig};
use crate::timestamp::Timestamp;
use crate::tokens::TokenHash;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("a stored row cannot be read: {0}")]
    Corrupt(String),
    #[error("unsupported database URL (expected sqlite:… or postgres://…)")]
    UnsupportedUrl,
    /// A read-only command was pointed at a SQLite file that does not exist: it is the wrong
    /// directory, and creating an empty database there would only hide that.
    #[error(
        "no database here: {path} does not exist. Run the command where `deskgate serve` keeps \
         its database, or point --database-url (DESKGATE_DATABASE_URL) at it"
    )]
    NoDatabase { path: String },
    #[error("cannot create the SQLite database {path}: its directory {dir} does not exist")]
    MissingDirectory { path: String, dir: String },
    #[error("cannot open the SQLite database {path}: {source}")]
    SqliteOpen { path: String, source: sqlx::Error },
    #[error("cannot connect to PostgreSQL at {host}: {cause}")]
    PostgresUnreachable { host: String, cause: String },
}

/// How long connecting to PostgreSQL at start-up may take before deskgate gives up and says
/// where it tried (the pool's own wait, for requests, is longer).
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Whether connecting may create the database (SQLite: the file) when it is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// `serve`, `token create`: a missing SQLite file is created.
    CreateIfMissing,
    /// Read-only commands (`token list`, `token revoke`): a missing SQLite file is an error.
    MustExist,
}

#[derive(Debug, Clone)]
pub enum Store {
    Sqlite(sqlite::SqliteStore),
    Postgres(postgres::PgStore),
}

/// A management API token as stored (never its value: only the hash is kept).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    /// `admin`: the management API and the console. `mcp`: only MCP requests.
    pub scope: TokenScope,
    /// For an `mcp` token: the MCP servers it may call (absent: no limit by server).
    pub mcp_server_ids: Option<Vec<String>>,
    /// For an `mcp` token: the integrated accounts whose servers it may call (absent: no limit
    /// by account).
    pub integrated_account_ids: Option<Vec<String>>,
    /// Registered from `DESKGATE_ADMIN_TOKEN`; retired when the variable changes.
    pub bootstrap: bool,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

pub use crate::tokens::TokenScope;

/// Runs the same call on whichever backend this store is.
macro_rules! on_backend {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            Store::Sqlite($s) => $call,
            Store::Postgres($s) => $call,
        }
    };
}

// After `on_backend!`, which they use.
pub mod account_health;
pub mod oauth_grants;
pub mod people;

impl Store {
    /// Connects (creating a SQLite file when missing) and migrates.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::open(url, OpenMode::CreateIfMissing).await
    }

    /// Connects and migrates; errors name the file or host and the cause, and an unreachable
    /// PostgreSQL fails within [`CONNECT_TIMEOUT`].
    pub async fn open(url: &str, mode: OpenMode) -> Result<Self, StoreError> {
        let store =
            if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                postgres_reachable(url).await?;
                Store::Postgres(postgres::PgStore::connect(url).await?)
            } else if url.starts_with("sqlite:") {
                let path = sqlite_file(url, mode)?;
                Store::Sqlite(sqlite::SqliteStore::connect(url).await.map_err(|e| {
                    match (e, path) {
                        (StoreError::Database(source), Some(path)) => {
                            StoreError::SqliteOpen { path, source }
                        }
                        (e, _) => e,
                    }
                })?)
            } else {
                return Err(StoreError::UnsupportedUrl);
            };
        Ok(store)
    }

    /// Connections of the pool in use and idle (for the metrics).
    pub fn pool_usage(&self) -> (u32, u32) {
        let (size, idle) = match self {
            Store::Sqlite(s) => (s.pool().size(), s.pool().num_idle()),
            Store::Postgres(s) => (s.pool().size(), s.pool().num_idle()),
        };
        let idle = u32::try_from(idle).unwrap_or(u32::MAX);
        (size.saturating_sub(idle), idle)
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        on_backend!(self, s => s.ping().await)
    }

    // --- replicas ---

    /// The database several replicas share, if this is one (PostgreSQL).
    pub fn shared(&self) -> Option<&postgres::PgStore> {
        match self {
            Store::Sqlite(_) => None,
            Store::Postgres(s) => Some(s),
        }
    }

    /// What other replicas announce to `replica_id`; `None` on SQLite, where there are none.
    pub async fn notices(&self, replica_id: &str) -> Result<Option<postgres::Notices>, StoreError> {
        match self {
            Store::Sqlite(_) => Ok(None),
            Store::Postgres(s) => s.notices(replica_id).await.map(Some),
        }
    }

    /// Runs `work` as `job` unless another replica is running it or started it less than
    /// `min_gap` ago (see [`postgres::PgStore::run_exclusive`]); returns `None` when it did not
    /// run. On SQLite it always runs: the one process has no one to share with.
    pub async fn run_exclusive<T>(
        &self,
        job: Job,
        min_gap: std::time::Duration,
        work: impl std::future::Future<Output = T>,
    ) -> Result<Option<T>, StoreError> {
        match self {
            Store::Sqlite(_) => Ok(Some(work.await)),
            Store::Postgres(s) => s.run_exclusive(job, min_gap, work).await,
        }
    }

    // --- API tokens ---

    pub async fn insert_api_token(
        &self,
        token: &ApiToken,
        hash: &TokenHash,
    ) -> Result<(), StoreError> {
        on_backend!(self, s => s.insert_api_token(token, hash).await)
    }

    /// Makes the bootstrap token the one given (inserted unless a token with its hash exists),
    /// or none; every other bootstrap token is deleted. Returns (inserted, retired).
    pub async fn sync_bootstrap_token(
        &self,
        token: Option<(&ApiToken, &TokenHash)>,
    ) -> Result<(bool, u64), StoreError> {
        on_backend!(self, s => s.sync_bootstrap_token(token).await)
    }

    pub async fn find_api_token(&self, hash: &TokenHash) -> Result<Option<ApiToken>, StoreError> {
        on_backend!(self, s => s.find_api_token(hash).await)
    }

    pub async fn list_api_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        on_backend!(self, s => s.list_api_tokens().await)
    }

    pub async fn delete_api_token(&self, id: &str) -> Result<bool, StoreError> {
        on_backend!(self, s => s.delete_api_token(id).await)
    }

    // --- integrated accounts ---

    pub async fn insert_account(&self, account: &StoredAccount) -> Result<(), StoreError> {
        on_backend!(self, s => s.insert_account(account).await)
    }

    pub async fn get_account(&self, id: &str) -> Result<Option<StoredAccount>, StoreError> {
        on_backend!(self, s => s.get_account(id).await)
    }

    /// Newest first; `before_id` pages on.
    pub async fn list_accounts(
        &self,
        before_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<StoredAccount>, StoreError> {
        on_backend!(self, s => s.list_accounts(before_id, limit).await)
    }

    pub async fn rename_account(
        &self,
        id: &str,
        name: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        on_backend!(self, s => s.rename_account(id, name, now).await)
    }

    pub async fn set_account_status(
        &self,
        id: &str,
        status: AccountStatus,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        on_backend!(self, s => s.set_account_status(id, status, now).await)
    }

    /// Replaces the credentials when they are still at `expected_version` (compare-and-swap, so
    /// two writers never both win); returns whether this write won.
    pub async fn replace_credentials(
        &self,
        update: &CredentialsUpdate<'_>,
    ) -> Result<bool, StoreError> {
        on_backend!(self, s => s.replace_credentials(update).await)
    }

    pub async fn delete_account(&self, id: &str) -> Result<bool, StoreError> {
        on_backend!(self, s => s.delete_account(id).await)
    }

    /// How many rows hold sealed secrets that must outlive a restart (account credentials, the
    /// OAuth app's secret).
    pub async fn sealed_row_count(&self) -> Result<i64, StoreError> {
        on_backend!(self, s => s.sealed_row_count().await)
    }

    pub async fn mcp_server_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        on_backend!(self, s => s.mcp_server_counts().await)
    }

    // --- MCP servers ---

    pub async fn insert_mcp_server(
        &self,
        server: &McpServer,
        token: &TokenHash,
    ) -> Result<(), StoreError> {
        on_backend!(self, s => s.insert_mcp_server(server, token).await)
    }

    pub async fn get_mcp_server(
        &self,
        account_id: &str,
        id: &str,
    ) -> Result<Option<McpServer>, StoreError> {
        on_backend!(self, s => s.get_mcp_server(account_id, id).await)
    }

    pub async fn list_mcp_servers(&self, account_id: &str) -> Result<Vec<McpServer>, StoreError> {
        on_backend!(self, s => s.list_mcp_servers(account_id).await)
    }

    pub async fn update_mcp_server(&self, server: &McpServer) -> Result<bool, StoreError> {
        on_backend!(self, s => s.update_mcp_server(server).await)
    }

    pub async fn delete_mcp_server(&self, account_id: &str, id: &str) -> Result<bool, StoreError> {
        on_backend!(self, s => s.delete_mcp_server(account_id, id).await)
    }

    /// The servers among `ids` that exist (expired or not).
    pub async fn find_mcp_servers(&self, ids: &[String]) -> Result<Vec<McpServer>, StoreError> {
        on_backend!(self, s => s.find_mcp_servers(ids).await)
    }

    /// A server by its id alone (whatever its account).
    pub async fn find_mcp_server(&self, id: &str) -> Result<Option<McpServer>, StoreError> {
        on_backend!(self, s => s.find_mcp_server(id).await)
    }

    pub async fn find_mcp_server_by_token(
        &self,
        token: &TokenHash,
    ) -> Result<Option<McpServer>, StoreError> {
        on_backend!(self, s => s.find_mcp_server_by_token(token).await)
    }

    /// Deletes servers whose expiry has passed (their tool-call records go with them); returns
    /// the deleted ids.
    pub async fn delete_expired_mcp_servers(
        &self,
        now: Timestamp,
    ) -> Result<Vec<String>, StoreError> {
        on_backend!(self, s => s.delete_expired_mcp_servers(now).await)
    }

    // --- audit log ---

    /// Inserts audit records, all or none, or completes those whose id is stored (a write's
    /// intent). The log outlives servers and accounts: a record whose server is gone is kept.
    pub async fn insert_tool_calls(&self, records: &[ToolCallRecord]) -> Result<(), StoreError> {
        on_backend!(self, s => s.insert_tool_calls(records).await)
    }

    pub async fn insert_pending_action(
        &self,
        action: &crate::approvals::PendingActionRow,
    ) -> Result<(), StoreError> {
        on_backend!(self, s => s.insert_pending_action(action).await)
    }

    pub async fn list_pending_actions(
        &self,
        account_id: &str,
        limit: i64,
    ) -> Result<Vec<crate::approvals::PendingActionRow>, StoreError> {
        on_backend!(self, s => s.list_pending_actions(account_id, limit).await)
    }

    pub async fn get_pending_action(
        &self,
        account_id: &str,
        id: &str,
    ) -> Result<Option<crate::approvals::PendingActionRow>, StoreError> {
        on_backend!(self, s => s.get_pending_action(account_id, id).await)
    }

    /// Takes the decision on a pending, unexpired action, once across replicas.
    pub async fn decide_pending_action(
        &self,
        id: &str,
        status: &str,
        decided_by: &str,
        reason: Option<&str>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        on_backend!(self, s => s.decide_pending_action(id, status, decided_by, reason, now.millis()).await)
    }

    /// Marks pending actions past their expiry as expired.
    pub async fn expire_pending_actions(&self, now: Timestamp) -> Result<u64, StoreError> {
        on_backend!(self, s => s.expire_pending_actions(now.millis()).await)
    }

    pub async fn set_pending_action_result(
        &self,
        id: &str,
        outcome: &str,
        text: &str,
    ) -> Result<(), StoreError> {
        on_backend!(self, s => s.set_pending_action_result(id, outcome, text).await)
    }

    /// Replaces a decided action's sealed arguments with what was actually sent (edited).
    pub async fn set_pending_action_arguments(
        &self,
        id: &str,
        sealed: &[u8],
    ) -> Result<(), StoreError> {
        on_backend!(self, s => s.set_pending_action_arguments(id, sealed).await)
    }

    /// Actions of an account still waiting for a decision.
    pub async fn count_pending_actions(
        &self,
        account_id: &str,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        on_backend!(self, s => s.count_pending_actions(account_id, now.millis()).await)
    }

    /// Held actions' ids, statuses and sealed arguments, a page at a time (the vault check).
    pub async fn list_sealed_actions(
        &self,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<(String, String, Vec<u8>)>, StoreError> {
        on_backend!(self, s => s.list_sealed_actions(after, limit).await)
    }

    pub async fn insert_webhook(&self, w: &crate::webhooks::WebhookRow) -> Result<(), StoreError> {
        on_backend!(self, s => s.insert_webhook(w).await)
    }

    pub async fn get_webhook(
        &self,
        server_id: &str,
    ) -> Result<Option<crate::webhooks::WebhookRow>, StoreError> {
        on_backend!(self, s => s.get_webhook(server_id).await)
    }

    /// Every server's webhook (few: at most one per server).
    pub async fn list_webhooks(&self) -> Result<Vec<crate::webhooks::WebhookRow>, StoreError> {
        on_backend!(self, s => s.list_webhooks().await)
    }

    pub async fn set_webhook_url(&self, server_id: &str, url: &str) -> Result<bool, StoreError> {
        on_backend!(self, s => s.set_webhook_url(server_id, url).await)
    }

    pub async fn set_webhook_secret(
        &self,
        server_id: &str,
        sealed_secret: &[u8],
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        on_backend!(self, s => s.set_webhook_secret(server_id, sealed_secret, now.millis()).await)
    }

    pub async fn delete_webhook(&self, server_id: &str) -> Result<bool, StoreError> {
        on_backend!(self, s => s.delete_webhook(server_id).await)
    }

    pub async fn record_webhook_delivery(
        &self,
        server_id: &str,
        at: Timestamp,
        result: &str,
    ) -> Result<(), StoreError> {
        on_backend!(self, s => s.record_webhook_delivery(server_id, at.millis(), result).await)
    }

    /// Counts one use of a server's budget window (`kind`, starting at `window_start` in
    /// Unix seconds); returns the uses so far, this one included.
    pub async fn spend_budget(
        &self,
        server_id: &str,
        kind: &str,
        window_start: i64,
    ) -> Result<i64, StoreError> {
        on_backend!(self, s => s.spend_budget(server_id, kind, window_start).await)
    }

    /// Forgets budget windows that started before `before` (Unix seconds).
    pub async fn delete_budget_windows_before(&self, before: i64) -> Result<u64, StoreError> {
        on_backend!(self, s => s.delete_budget_windows_before(before).await)
    }

    /// Sets (or clears) an account's rate-limit reserve.
    pub async fn set_rate_limit_reserve(
        &self,
        id: &str,
        reserve: Option<u32>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        on_backend!(self, s => s.set_rate_limit_reserve(id, reserve, now).await)
    }

    /// Deletes audit records older than `before` (the retention sweep).
    pub async fn delete_tool_calls_before(&self, before: Timestamp) -> Result<u64, StoreError> {
        on_backend!(self, s => s.delete_tool_calls_before(before).await)
    }

    pub async fn list_tool_calls(
        &self,
        account_id: &str,
        query: &crate::audit::ToolCallQuery,
    ) -> Result<Vec<ToolCallRecord>, StoreError> {
        on_backend!(self, s => s.list_tool_calls(account_id, query).await)
    }

    // --- OAuth ---

    pub async fn upsert_oauth_app(&self, app: &OAuthAppRow) -> Result<(), StoreError> {
        on_backend!(self, s => s.upsert_oauth_app(app).await)
    }

    pub async fn get_oauth_app(
        &self,
        integration: &str,
    ) -> Result<Option<OAuthAppRow>, StoreError> {
        on_backend!(self, s => s.get_oauth_app(integration).await)
    }

    pub async fn insert_oauth_state(&self, state: &OAuthStateRow) -> Result<(), StoreError> {
        on_backend!(self, s => s.insert_oauth_state(state).await)
    }

    pub async fn take_oauth_state(
        &self,
        state_hash: &str,
    ) -> Result<Option<OAuthStateRow>, StoreError> {
        on_backend!(self, s => s.take_oauth_state(state_hash).await)
    }

    pub async fn delete_expired_oauth_states(&self, now: Timestamp) -> Result<u64, StoreError> {
        on_backend!(self, s => s.delete_expired_oauth_states(now).await)
    }

    pub async fn acquire_refresh_lease(
        &self,
        account_id: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool, StoreError> {
        on_backend!(self, s => s.acquire_refresh_lease(account_id, now, until).await)
    }

    /// Releases the lease taken until `until`, unless it lapsed and someone else took it since.
    pub async fn release_refresh_lease(
        &self,
        account_id: &str,
        until: Timestamp,
    ) -> Result<(), StoreError> {
        on_backend!(self, s => s.release_refresh_lease(account_id, until).await)
    }

    pub async fn oauth_accounts_expiring(
        &self,
        before: Timestamp,
    ) -> Result<Vec<String>, StoreError> {
        on_backend!(self, s => s.oauth_accounts_expiring(before).await)
    }

    // --- console sessions ---

    pub async fn insert_console_session(
        &self,
        session: &ConsoleSessionRow,
    ) -> Result<(), StoreError> {
        on_backend!(self, s => s.insert_console_session(session).await)
    }

    pub async fn find_console_session(
        &self,
        id_hash: &str,
        now: Timestamp,
    ) -> Result<Option<ConsoleSessionRow>, StoreError> {
        on_backend!(self, s => s.find_console_session(id_hash, now).await)
    }

    pub async fn delete_console_session(&self, id_hash: &str) -> Result<(), StoreError> {
        on_backend!(self, s => s.delete_console_session(id_hash).await)
    }

    pub async fn delete_expired_console_sessions(&self, now: Timestamp) -> Result<u64, StoreError> {
        on_backend!(self, s => s.delete_expired_console_sessions(now).await)
    }

    /// Calls per MCP server of one account since `since`.
    pub async fn tool_call_counts_since(
        &self,
        account_id: &str,
        since: Timestamp,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        on_backend!(self, s => s.tool_call_counts_since(account_id, since).await)
    }
}

/// Background work that must run on one replica at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Deleting what expired: MCP servers, OAuth flows, console sessions, lapsed SSE sessions.
    Sweep,
    /// Refreshing OAuth access tokens ahead of their expiry.
    OAuthRefresh,
}

impl Job {
    pub fn name(self) -> &'static str {
        match self {
            Job::Sweep => "sweep",
            Job::OAuthRefresh => "oauth_refresh",
        }
    }
}

/// What the database announces to a replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// Something requests are resolved from changed (on any replica, or by hand).
    Changed(Change),
    /// Messages were queued for an SSE session whose stream this replica holds.
    SseMessages(String),
    /// The connection was lost and re-established: notices may have been missed.
    Missed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// One or more MCP servers were created, changed or deleted.
    McpServers,
    /// An integrated account's status, credentials or settings changed, or it was deleted.
    Account(String),
}

/// A credential write: new sealed credentials and what goes with them.
#[derive(Debug)]
pub struct CredentialsUpdate<'a> {
    pub account_id: &'a str,
    pub expected_version: i64,
    pub sealed_credentials: &'a [u8],
    pub auth_type: AuthType,
    pub context: &'a AccountContext,
    pub status: AccountStatus,
    pub access_token_expires_at: Option<Timestamp>,
    pub now: Timestamp,
}

/// Checks a SQLite URL's file before connecting: its directory must exist, and so must the file
/// itself for [`OpenMode::MustExist`]. Returns the file's path (`None` for an in-memory
/// database).
fn sqlite_file(url: &str, mode: OpenMode) -> Result<Option<String>, StoreError> {
    use std::str::FromStr;
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)?;
    let file = options.get_filename();
    if url.contains(":memory:") || url.contains("mode=memory") || file.as_os_str().is_empty() {
        return Ok(None);
    }
    // Named absolute: "deskgate.db does not exist" does not say which directory was searched.
    let file = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    let path = file.display().to_string();
    if file.exists() {
        return Ok(Some(path));
    }
    if mode == OpenMode::MustExist {
        return Err(StoreError::NoDatabase { path });
    }
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => {
            Err(StoreError::MissingDirectory {
                path,
                dir: dir.display().to_string(),
            })
        }
        _ => Ok(Some(path)),
    }
}

/// Opens one connection to PostgreSQL, within [`CONNECT_TIMEOUT`], so that a wrong host, port or
/// password is reported with the host and its cause at once (the pool would retry until its
/// own timeout and report only that it timed out).
async fn postgres_reachable(url: &str) -> Result<(), StoreError> {
    use sqlx::Connection;
    use std::str::FromStr;
    let options = sqlx::postgres::PgConnectOptions::from_str(url)?;
    let host = format!("{}:{}", options.get_host(), options.get_port());
    match tokio::time::timeout(CONNECT_TIMEOUT, sqlx::PgConnection::connect_with(&options)).await {
        Ok(Ok(connection)) => {
            let _ = connection.close().await;
            Ok(())
        }
        Ok(Err(e)) => Err(StoreError::PostgresUnreachable {
            host,
            cause: error_chain(&e),
        }),
        Err(_) => Err(StoreError::PostgresUnreachable {
            host,
            cause: format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
        }),
    }
}

/// An error and its sources on one line (sqlx's I/O errors say "connection refused" only in
/// their source).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

// --- rows: what the portable queries read, turned into domain types here ---

/// An OAuth app as stored: its secret sealed (owner: the integration name).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OAuthAppRow {
    pub integration: String,
    pub client_id: String,
    pub client_secret: Vec<u8>,
    pub redirect_url: Option<String>,
    pub updated_at: i64,
}

/// A console sign-in, as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConsoleSessionRow {
    pub id_hash: String,
    /// The API token that opened it, or else
    pub api_token_id: Option<String>,
    /// the person who signed in with their password.
    pub person_id: Option<String>,
    pub csrf_token: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A connect flow in progress, as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OAuthStateRow {
    pub state_hash: String,
    pub binding_hash: String,
    pub integration: String,
    pub subdomain: String,
    pub api_base_url: Option<String>,
    pub code_verifier: Vec<u8>,
    pub account_id: Option<String>,
    pub expires_at: i64,
    /// The scopes asked for, space-separated (`None` in flows started before migration 0150).
    pub scope: Option<String>,
}

#[derive(sqlx::FromRow)]
struct ApiTokenRow {
    id: String,
    name: String,
    scope: String,
    mcp_server_ids: Option<String>,
    integrated_account_ids: Option<String>,
    bootstrap: bool,
    created_at: i64,
}

impl TryFrom<ApiTokenRow> for ApiToken {
    type Error = StoreError;

    fn try_from(r: ApiTokenRow) -> Result<Self, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("API token {}: {what}", r.id));
        let ids = |column: Option<String>| -> Result<Option<Vec<String>>, StoreError> {
            column
                .map(|json| {
                    serde_json::from_str(&json).map_err(|_| corrupt("id list is not valid"))
                })
                .transpose()
        };
        Ok(ApiToken {
            scope: TokenScope::parse(&r.scope).ok_or_else(|| corrupt("unknown scope"))?,
            mcp_server_ids: ids(r.mcp_server_ids)?,
            integrated_account_ids: ids(r.integrated_account_ids)?,
            bootstrap: r.bootstrap,
            id: r.id.clone(),
            name: r.name,
            created_at: Timestamp(r.created_at),
        })
    }
}

/// An optional id list as stored: a JSON array, or NULL.
fn id_list(ids: &Option<Vec<String>>) -> Option<String> {
    ids.as_ref()
        .map(|ids| serde_json::to_string(ids).expect("a list of strings serializes"))
}

#[derive(sqlx::FromRow)]
struct AccountRow {
    id: String,
    integration: String,
    name: String,
    status: String,
    auth_type: String,
    context: String,
    credentials: Vec<u8>,
    credentials_version: i64,
    access_token_expires_at: Option<i64>,
    rate_limit_reserve: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<AccountRow> for StoredAccount {
    type Error = StoreError;

    fn try_from(r: AccountRow) -> Result<Self, StoreError> {
        let corrupt =
            |what: &str| StoreError::Corrupt(format!("integrated account {}: {what}", r.id));
        let account = IntegratedAccount {
            status: AccountStatus::parse(&r.status).ok_or_else(|| corrupt("unknown status"))?,
            auth_type: AuthType::parse(&r.auth_type).ok_or_else(|| corrupt("unknown auth type"))?,
            context: serde_json::from_str(&r.context)
                .map_err(|_| corrupt("context is not valid"))?,
            id: r.id.clone(),
            integration: r.integration,
            name: r.name,
            credentials_version: r.credentials_version,
            access_token_expires_at: r.access_token_expires_at.map(Timestamp),
            rate_limit_reserve: r.rate_limit_reserve.and_then(|n| u32::try_from(n).ok()),
            created_at: Timestamp(r.created_at),
            updated_at: Timestamp(r.updated_at),
        };
        Ok(StoredAccount {
            account,
            sealed_credentials: r.credentials,
        })
    }
}

#[derive(sqlx::FromRow)]
struct McpServerRow {
    id: String,
    integrated_account_id: String,
    name: String,
    config: String,
    require_api_token_auth: bool,
    expires_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
    auth_mode: String,
}

impl TryFrom<McpServerRow> for McpServer {
    type Error = StoreError;

    fn try_from(r: McpServerRow) -> Result<Self, StoreError> {
        let config: McpServerConfig = serde_json::from_str(&r.config).map_err(|_| {
            StoreError::Corrupt(format!("MCP server {}: config is not valid", r.id))
        })?;
        let auth = crate::mcp_servers::AuthMode::parse(&r.auth_mode).ok_or_else(|| {
            StoreError::Corrupt(format!("MCP server {}: unknown auth mode", r.id))
        })?;
        Ok(McpServer {
            auth,
            id: r.id,
            integrated_account_id: r.integrated_account_id,
            name: r.name,
            config,
            require_api_token_auth: r.require_api_token_auth,
            expires_at: r.expires_at.map(Timestamp),
            created_at: Timestamp(r.created_at),
            updated_at: Timestamp(r.updated_at),
        })
    }
}

#[derive(sqlx::FromRow)]
struct ToolCallRow {
    id: String,
    mcp_server_id: String,
    integrated_account_id: String,
    at: i64,
    tool: String,
    client_name: Option<String>,
    client_version: Option<String>,
    upstream_method: Option<String>,
    upstream_path: Option<String>,
    upstream_status: Option<i64>,
    duration_ms: i64,
    outcome: String,
    error: Option<String>,
    policy_decision: Option<String>,
    policy_rule: Option<String>,
    person_id: Option<String>,
    person_email: Option<String>,
    oauth_client_id: Option<String>,
    ratelimit_limit: Option<i64>,
    ratelimit_remaining: Option<i64>,
}

impl TryFrom<ToolCallRow> for ToolCallRecord {
    type Error = StoreError;

    fn try_from(r: ToolCallRow) -> Result<Self, StoreError> {
        let policy_decision = r
            .policy_decision
            .as_deref()
            .map(|d| {
                crate::policy::PolicyOutcome::parse(d).ok_or_else(|| {
                    StoreError::Corrupt(format!("tool call {}: unknown policy decision", r.id))
                })
            })
            .transpose()?;
        Ok(ToolCallRecord {
            policy_decision,
            outcome: Outcome::parse(&r.outcome).ok_or_else(|| {
                StoreError::Corrupt(format!("tool call {}: unknown outcome", r.id))
            })?,
            id: r.id,
            mcp_server_id: r.mcp_server_id,
            integrated_account_id: r.integrated_account_id,
            at: Timestamp(r.at),
            tool: r.tool,
            client_name: r.client_name,
            client_version: r.client_version,
            upstream_method: r.upstream_method,
            upstream_path: r.upstream_path,
            upstream_status: r.upstream_status.and_then(|s| u16::try_from(s).ok()),
            duration_ms: u64::try_from(r.duration_ms).unwrap_or(0),
            error: r.error,
            policy_rule: r.policy_rule,
            person_id: r.person_id,
            person_email: r.person_email,
            oauth_client_id: r.oauth_client_id,
            ratelimit_limit: r.ratelimit_limit.and_then(|v| u64::try_from(v).ok()),
            ratelimit_remaining: r.ratelimit_remaining.and_then(|v| u64::try_from(v).ok()),
        })
    }
}
