//! SQLite: the embedded default. One file, WAL so readers never wait for the writer, and a
//! busy timeout so concurrent writers queue instead of failing.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::StoreError;
use super::account_health::account_health_queries;
use super::oauth_grants::oauth_grant_queries;
use super::people::people_queries;
use super::queries::{portable_queries, tool_call_columns, tool_call_upsert};

/// Rows per audit insert: 20 bound values each, well under SQLite's 32,766 per statement.
const ROWS_PER_INSERT: usize = 500;

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // SQLite's default page cache is up to 2 MiB per connection, 16 MiB over the pool,
            // kept for the process's life. In WAL mode a connection drops its whole cache when
            // another one has committed since its last read (under load the audit writer
            // commits at least every 50 ms), so the cache rarely holds what a read could reuse,
            // and the kernel's page cache holds the file anyway. 512 KiB per connection
            // (issue 18's memory target).
            .pragma("cache_size", "-512");
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Inserts audit records with one multi-row statement per [`ROWS_PER_INSERT`] (in one
    /// transaction when there are more): sqlx hands every statement to SQLite's worker thread,
    /// so a statement per record cost a batch one hand-off per record (issue 18).
    pub async fn insert_tool_calls(
        &self,
        records: &[crate::audit::ToolCallRecord],
    ) -> Result<(), StoreError> {
        match records {
            [] => Ok(()),
            few if few.len() <= ROWS_PER_INSERT => Self::insert_rows(&self.pool, few).await,
            many => {
                let mut tx = self.pool.begin().await?;
                for chunk in many.chunks(ROWS_PER_INSERT) {
                    Self::insert_rows(&mut *tx, chunk).await?;
                }
                tx.commit().await?;
                Ok(())
            }
        }
    }

    async fn insert_rows<'e>(
        executor: impl sqlx::Executor<'e, Database = sqlx::Sqlite>,
        records: &[crate::audit::ToolCallRecord],
    ) -> Result<(), StoreError> {
        let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(concat!(
            "INSERT INTO tool_calls (",
            tool_call_columns!(),
            ") "
        ));
        insert.push_values(records, |mut row, r| {
            row.push_bind(&r.id)
                .push_bind(&r.mcp_server_id)
                .push_bind(&r.integrated_account_id)
                .push_bind(r.at.millis())
                .push_bind(&r.tool)
                .push_bind(&r.client_name)
                .push_bind(&r.client_version)
                .push_bind(&r.upstream_method)
                .push_bind(&r.upstream_path)
                .push_bind(r.upstream_status.map(i64::from))
                .push_bind(i64::try_from(r.duration_ms).unwrap_or(i64::MAX))
                .push_bind(r.outcome.as_str())
                .push_bind(&r.error)
                .push_bind(r.policy_decision.map(|d| d.as_str()))
                .push_bind(&r.policy_rule)
                .push_bind(&r.person_id)
                .push_bind(&r.person_email)
                .push_bind(&r.oauth_client_id)
                .push_bind(r.ratelimit_limit.and_then(|v| i64::try_from(v).ok()))
                .push_bind(r.ratelimit_remaining.and_then(|v| i64::try_from(v).ok()));
        });
        insert.push(tool_call_upsert!());
        // Not kept prepared: every batch size is its own statement text, and sqlx's cache
        // kept up to 100 of them per connection, each a compiled program of up to 500 rows
        // (SQLite's share of the heap at issue 18's 1,000 calls in flight, heaptrack: 11.8 MB
        // with the cache, 7.0 without). Compiling is paid once per batch, not per record.
        insert.build().persistent(false).execute(executor).await?;
        Ok(())
    }
}

portable_queries!(SqliteStore, sqlx::Sqlite);
oauth_grant_queries!(SqliteStore, sqlx::Sqlite);
account_health_queries!(SqliteStore, sqlx::Sqlite);
people_queries!(SqliteStore, sqlx::Sqlite);
