//! Account health (issue 17): the last "Test connection" per account, and the latest call of
//! each account that reached (or tried to reach) Gorgias, read from the audit log.

use super::{Store, StoreError};
use crate::health::{HealthState, LastCall, StoredHealth};
use crate::timestamp::Timestamp;

/// The audit outcomes that say something about the upstream (a call refused by deskgate itself
/// says nothing about Gorgias).
macro_rules! upstream_outcomes {
    () => {
        "('ok', 'rate_limited', 'upstream_client_error', 'upstream_failure', 'needs_reauth')"
    };
}

macro_rules! account_health_queries {
    ($store:ty, $db:ty) => {
        impl $store {
            pub async fn set_account_health(
                &self,
                account_id: &str,
                health: &$crate::health::StoredHealth,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query(
                    "INSERT INTO account_health (integrated_account_id, state, detail, checked_at)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (integrated_account_id) DO UPDATE
                        SET state = excluded.state, detail = excluded.detail, checked_at = excluded.checked_at",
                )
                .bind(account_id)
                .bind(health.state.as_str())
                .bind(&health.detail)
                .bind(health.checked_at.millis())
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            pub async fn account_healths(
                &self,
            ) -> Result<Vec<(String, String, String, i64)>, $crate::store::StoreError> {
                Ok(sqlx::query_as::<$db, (String, String, String, i64)>(
                    "SELECT integrated_account_id, state, detail, checked_at FROM account_health",
                )
                .fetch_all(&self.pool)
                .await?)
            }

            pub async fn last_upstream_calls(
                &self,
                since: $crate::timestamp::Timestamp,
            ) -> Result<Vec<(String, String, Option<i64>, i64)>, $crate::store::StoreError> {
                Ok(sqlx::query_as::<$db, (String, String, Option<i64>, i64)>(concat!(
                    "SELECT t.integrated_account_id, t.outcome, t.upstream_status, t.at
                     FROM tool_calls t
                     JOIN (SELECT integrated_account_id, MAX(at) AS last_at FROM tool_calls
                           WHERE at >= $1 AND outcome IN ",
                    $crate::store::account_health::upstream_outcomes!(),
                    " GROUP BY integrated_account_id) m
                       ON t.integrated_account_id = m.integrated_account_id AND t.at = m.last_at
                     WHERE t.outcome IN ",
                    $crate::store::account_health::upstream_outcomes!(),
                ))
                .bind(since.millis())
                .fetch_all(&self.pool)
                .await?)
            }
        }
    };
}

pub(crate) use account_health_queries;
pub(crate) use upstream_outcomes;

impl Store {
    /// Saves an account's latest connection test, replacing the previous one.
    pub async fn set_account_health(
        &self,
        account_id: &str,
        health: &StoredHealth,
    ) -> Result<(), StoreError> {
        on_backend!(self, s => s.set_account_health(account_id, health).await)
    }

    /// Every account's latest connection test, by account id. (Unknown states, from a newer
    /// version, are skipped.)
    pub async fn account_healths(
        &self,
    ) -> Result<std::collections::HashMap<String, StoredHealth>, StoreError> {
        let rows = on_backend!(self, s => s.account_healths().await)?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, state, detail, at)| {
                Some((
                    id,
                    StoredHealth {
                        state: HealthState::parse(&state)?,
                        detail,
                        checked_at: Timestamp(at),
                    },
                ))
            })
            .collect())
    }

    /// Each account's newest call since `since` that reached, or tried to reach, the upstream.
    pub async fn last_upstream_calls(
        &self,
        since: Timestamp,
    ) -> Result<std::collections::HashMap<String, LastCall>, StoreError> {
        let rows = on_backend!(self, s => s.last_upstream_calls(since).await)?;
        let mut out = std::collections::HashMap::new();
        for (id, outcome, status, at) in rows {
            let Some(outcome) = crate::audit::Outcome::parse(&outcome) else {
                continue;
            };
            out.entry(id).or_insert(LastCall {
                outcome,
                upstream_status: status.and_then(|s| u16::try_from(s).ok()),
                at: Timestamp(at),
            });
        }
        Ok(out)
    }
}
