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
use super::queries::portable_queries;

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
            .busy_timeout(Duration::from_secs(10));
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

    /// Inserts audit records in one transaction (one alone needs none).
    pub async fn insert_tool_calls(
        &self,
        records: &[crate::audit::ToolCallRecord],
    ) -> Result<(), StoreError> {
        if let [record] = records {
            return Self::insert_tool_call(&self.pool, record).await;
        }
        let mut tx = self.pool.begin().await?;
        for record in records {
            Self::insert_tool_call(&mut *tx, record).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

portable_queries!(SqliteStore, sqlx::Sqlite);
oauth_grant_queries!(SqliteStore, sqlx::Sqlite);
account_health_queries!(SqliteStore, sqlx::Sqlite);
people_queries!(SqliteStore, sqlx::Sqlite);
