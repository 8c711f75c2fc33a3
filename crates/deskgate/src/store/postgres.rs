//! PostgreSQL: how deskgate scales out to several stateless replicas sharing one database.
//!
//! Besides the portable queries, the backend-only parts replicas coordinate through (the tables
//! and triggers are in `migrations/postgres/0004_replicas.sql`):
//! - [`Notices`]: one LISTEN connection per replica, hearing change notices (so cached tenants
//!   are dropped at once everywhere) and "messages queued for your SSE session" notices.
//! - the legacy SSE session registry and its message queue, so any replica can take a POST for
//!   a stream another replica holds.
//! - [`PgStore::run_exclusive`]: background jobs run on one replica per period.
//!
//! Times that replicas compare with each other (session lapses, job periods) are read from the
//! database's clock, so a replica whose clock drifts cannot take over work early.

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};

use super::account_health::account_health_queries;
use super::oauth_grants::oauth_grant_queries;
use super::people::people_queries;
use super::queries::{portable_queries, tool_call_columns, tool_call_upsert};
use super::{Change, Job, Notice, StoreError};

/// The database's clock, in the epoch milliseconds every stored time uses.
macro_rules! db_now_ms {
    () => {
        "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"
    };
}

/// The channel the change triggers announce on.
const CHANGES_CHANNEL: &str = "deskgate_changes";
/// First key of the advisory locks background jobs take (the second is the job's name hashed),
/// so they cannot collide with locks another application takes in the same database.
const JOB_LOCK_CLASS: i32 = 0x6465_736b; // "desk"

#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// A one-connection pool for [`Notices`], so that listening never takes a connection from
    /// the requests' pool (and so the listener can reconnect on its own).
    listener_pool: PgPool,
}

/// A session of the legacy SSE transport as the registry knows it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SseSessionRow {
    pub mcp_server_id: String,
    pub replica_id: String,
}

impl PgStore {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        let listener_pool = PgPoolOptions::new()
            .max_connections(1)
            .max_lifetime(None)
            .idle_timeout(None)
            .acquire_timeout(Duration::from_secs(10))
            .connect_lazy_with(options);
        Ok(Self {
            pool,
            listener_pool,
        })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Starts listening for what other replicas (and the database's triggers) announce to
    /// this one, `replica_id`.
    pub async fn notices(&self, replica_id: &str) -> Result<Notices, StoreError> {
        let channels = vec![CHANGES_CHANNEL.to_owned(), sse_channel(replica_id)];
        let listener = listen(&self.listener_pool, &channels).await?;
        Ok(Notices {
            pool: self.listener_pool.clone(),
            listener: Some(listener),
            channels,
        })
    }

    /// Runs `work` as `job` unless another replica is running it now or started it less than
    /// `min_gap` ago; returns `None` when it did not run.
    ///
    /// The claim is a row update (`background_jobs.last_started_at`, database clock) made while
    /// holding a transaction-scoped advisory lock that is kept until `work` is done: a run that
    /// outlasts its period still never overlaps another, and a replica that dies mid-run
    /// releases the lock with its connection. Gaps between runs fall between `min_gap` and the
    /// caller's own period, however the replicas' timers line up.
    pub async fn run_exclusive<T>(
        &self,
        job: Job,
        min_gap: Duration,
        work: impl Future<Output = T>,
    ) -> Result<Option<T>, StoreError> {
        let mut claim = self.pool.begin().await?;
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1, hashtext($2))")
            .bind(JOB_LOCK_CLASS)
            .bind(job.name())
            .fetch_one(&mut *claim)
            .await?;
        if !locked {
            return Ok(None);
        }
        let due = sqlx::query(concat!(
            "INSERT INTO background_jobs AS j (name, last_started_at) VALUES ($1, ",
            db_now_ms!(),
            ")
             ON CONFLICT (name) DO UPDATE SET last_started_at = EXCLUDED.last_started_at
             WHERE j.last_started_at <= EXCLUDED.last_started_at - $2"
        ))
        .bind(job.name())
        .bind(i64::try_from(min_gap.as_millis()).unwrap_or(i64::MAX))
        .execute(&mut *claim)
        .await?
        .rows_affected()
            == 1;
        if !due {
            // Rolled back here, not on drop: sqlx rolls a dropped transaction back only when its
            // connection is next used, and until then the advisory lock stays held, so a run
            // due right after (another call, on another pooled connection) was refused.
            claim.rollback().await?;
            return Ok(None);
        }
        let out = work.await;
        // Committing records the claim and releases the lock. If it fails, the claim is lost
        // and another replica may run the job a little early; the work itself is done.
        if let Err(e) = claim.commit().await {
            tracing::warn!(job = job.name(), error = %e, "could not record a background job's run");
        }
        Ok(Some(out))
    }

    // --- audit log ---

    /// Inserts audit records with one statement however many there are: the columns go as
    /// arrays and `unnest` turns them into rows. One round trip and one prepared statement per
    /// batch (a statement per record cost the database about as much CPU as the rest of a read
    /// call; issue 18). A single statement is atomic, so no transaction is needed. Should a
    /// batch hold the same id twice (never done today: a write's intent is committed on its own
    /// before its completion is queued), PostgreSQL refuses the statement and `audit::commit`
    /// writes the records one by one.
    pub async fn insert_tool_calls(
        &self,
        records: &[crate::audit::ToolCallRecord],
    ) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        let text = |f: fn(&crate::audit::ToolCallRecord) -> Option<&str>| -> Vec<Option<&str>> {
            records.iter().map(f).collect()
        };
        let number = |f: fn(&crate::audit::ToolCallRecord) -> Option<i64>| -> Vec<Option<i64>> {
            records.iter().map(f).collect()
        };
        sqlx::query(concat!(
            "INSERT INTO tool_calls (",
            tool_call_columns!(),
            ") SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[],
                $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[], $11::bigint[],
                $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[],
                $18::text[], $19::bigint[], $20::bigint[])",
            tool_call_upsert!()
        ))
        .bind(text(|r| Some(r.id.as_str())))
        .bind(text(|r| Some(r.mcp_server_id.as_str())))
        .bind(text(|r| Some(r.integrated_account_id.as_str())))
        .bind(number(|r| Some(r.at.millis())))
        .bind(text(|r| Some(r.tool.as_str())))
        .bind(text(|r| r.client_name.as_deref()))
        .bind(text(|r| r.client_version.as_deref()))
        .bind(text(|r| r.upstream_method.as_deref()))
        .bind(text(|r| r.upstream_path.as_deref()))
        .bind(number(|r| r.upstream_status.map(i64::from)))
        .bind(number(|r| {
            Some(i64::try_from(r.duration_ms).unwrap_or(i64::MAX))
        }))
        .bind(text(|r| Some(r.outcome.as_str())))
        .bind(text(|r| r.error.as_deref()))
        .bind(text(|r| r.policy_decision.map(|d| d.as_str())))
        .bind(text(|r| r.policy_rule.as_deref()))
        .bind(text(|r| r.person_id.as_deref()))
        .bind(text(|r| r.person_email.as_deref()))
        .bind(text(|r| r.oauth_client_id.as_deref()))
        .bind(number(|r| {
            r.ratelimit_limit.and_then(|v| i64::try_from(v).ok())
        }))
        .bind(number(|r| {
            r.ratelimit_remaining.and_then(|v| i64::try_from(v).ok())
        }))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    // --- legacy SSE sessions ---

    /// Registers (or keeps alive) sessions whose streams `replica_id` holds, for `lease`.
    pub async fn keep_sse_sessions(
        &self,
        replica_id: &str,
        sessions: &[(String, String)],
        lease: Duration,
    ) -> Result<(), StoreError> {
        if sessions.is_empty() {
            return Ok(());
        }
        let (ids, servers): (Vec<&str>, Vec<&str>) = sessions
            .iter()
            .map(|(id, server)| (id.as_str(), server.as_str()))
            .unzip();
        sqlx::query(concat!(
            "INSERT INTO sse_sessions (id, mcp_server_id, replica_id, alive_until)
             SELECT id, server, $3, ",
            db_now_ms!(),
            " + $4 FROM unnest($1::text[], $2::text[]) AS s (id, server)
             ON CONFLICT (id) DO UPDATE SET alive_until = EXCLUDED.alive_until,
                replica_id = EXCLUDED.replica_id"
        ))
        .bind(ids)
        .bind(servers)
        .bind(replica_id)
        .bind(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A session that is registered and has not lapsed.
    pub async fn sse_session(&self, id: &str) -> Result<Option<SseSessionRow>, StoreError> {
        Ok(sqlx::query_as::<_, SseSessionRow>(concat!(
            "SELECT mcp_server_id, replica_id FROM sse_sessions WHERE id = $1 AND alive_until > ",
            db_now_ms!()
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Queues messages for a session held by `replica_id` and tells that replica; returns
    /// false when the session is gone.
    pub async fn enqueue_sse_messages(
        &self,
        session_id: &str,
        replica_id: &str,
        messages: &[String],
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        for message in messages {
            let queued =
                sqlx::query("INSERT INTO sse_messages (session_id, payload) VALUES ($1, $2)")
                    .bind(session_id)
                    .bind(message)
                    .execute(&mut *tx)
                    .await;
            match queued {
                Ok(_) => {}
                Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => return Ok(false),
                Err(e) => return Err(e.into()),
            }
        }
        // Heard at commit, when the messages are there to take.
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(sse_channel(replica_id))
            .bind(session_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Takes the messages queued for a session, oldest first.
    pub async fn take_sse_messages(&self, session_id: &str) -> Result<Vec<String>, StoreError> {
        let mut rows = sqlx::query_as::<_, (i64, String)>(
            "DELETE FROM sse_messages WHERE session_id = $1 RETURNING id, payload",
        )
        .bind(session_id)
        .fetch_all(&self.pool)
        .await?;
        rows.sort_unstable_by_key(|(id, _)| *id);
        Ok(rows.into_iter().map(|(_, payload)| payload).collect())
    }

    /// Forgets a session (its stream ended), with anything still queued for it.
    pub async fn delete_sse_session(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sse_sessions WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Forgets every session a replica holds (it is shutting down).
    pub async fn delete_sse_sessions_of(&self, replica_id: &str) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sse_sessions WHERE replica_id = $1")
            .bind(replica_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Deletes sessions that lapsed (their replica died or lost the database for too long).
    pub async fn delete_lapsed_sse_sessions(&self) -> Result<u64, StoreError> {
        let done = sqlx::query(concat!(
            "DELETE FROM sse_sessions WHERE alive_until <= ",
            db_now_ms!()
        ))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}

/// The channel a replica hears about messages queued for its SSE sessions on. Replica ids are
/// generated (hex), so this is a valid channel name.
fn sse_channel(replica_id: &str) -> String {
    format!("deskgate_sse_{replica_id}")
}

async fn listen(pool: &PgPool, channels: &[String]) -> Result<PgListener, StoreError> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener
        .listen_all(channels.iter().map(String::as_str))
        .await?;
    Ok(listener)
}

/// What the database announces to one replica, in commit order.
pub struct Notices {
    pool: PgPool,
    /// `None` after a failure: the next call listens afresh on a new connection.
    listener: Option<PgListener>,
    channels: Vec<String>,
}

impl Notices {
    /// The next notice. After a lost connection this is [`Notice::Missed`]: notices sent in the
    /// meantime are gone, so whatever they would have said must be assumed.
    pub async fn next(&mut self) -> Result<Notice, StoreError> {
        let Some(listener) = &mut self.listener else {
            // The failed listener (and its connection, the pool's only one) is gone by now.
            self.listener = Some(listen(&self.pool, &self.channels).await?);
            return Ok(Notice::Missed);
        };
        loop {
            let notification = match listener.try_recv().await {
                Ok(Some(notification)) => notification,
                // Lost and re-established (with its LISTENs) by sqlx.
                Ok(None) => return Ok(Notice::Missed),
                // Whatever failed, start over on a new connection rather than trust this one.
                Err(e) => {
                    self.listener = None;
                    return Err(e.into());
                }
            };
            if let Some(notice) = parse_notice(notification.channel(), notification.payload()) {
                return Ok(notice);
            }
        }
    }
}

fn parse_notice(channel: &str, payload: &str) -> Option<Notice> {
    if channel == CHANGES_CHANNEL {
        return Some(Notice::Changed(match payload.split_once(':') {
            Some(("integrated_accounts", id)) => Change::Account(id.to_owned()),
            // `mcp_servers`, or anything a later version announces: forget everything.
            _ => Change::McpServers,
        }));
    }
    channel
        .starts_with("deskgate_sse_")
        .then(|| Notice::SseMessages(payload.to_owned()))
}

portable_queries!(PgStore, sqlx::Postgres);
oauth_grant_queries!(PgStore, sqlx::Postgres);
account_health_queries!(PgStore, sqlx::Postgres);
people_queries!(PgStore, sqlx::Postgres);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_are_read_from_their_channels() {
        assert_eq!(
            parse_notice(CHANGES_CHANNEL, "integrated_accounts:abc"),
            Some(Notice::Changed(Change::Account("abc".into())))
        );
        assert_eq!(
            parse_notice(CHANGES_CHANNEL, "mcp_servers"),
            Some(Notice::Changed(Change::McpServers))
        );
        assert_eq!(
            parse_notice(&sse_channel("r1"), "session"),
            Some(Notice::SseMessages("session".into()))
        );
        assert_eq!(parse_notice("elsewhere", "x"), None);
    }
}
