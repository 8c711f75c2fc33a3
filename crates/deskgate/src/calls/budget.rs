//! The budget stage (issue 15), before anything is planned or sent:
//!
//! - a server's calls per minute and writes per day. Windows are fixed (the clock minute, the
//!   UTC day) and counted in the database, so every replica spends from one count: replicas
//!   agree exactly, at the cost of one upsert per call on servers that have a budget;
//! - an account's reserve of the helpdesk's own rate-limit bucket, left to people and other
//!   integrations. The bucket is what the helpdesk's usage header said on the last answer this
//!   replica saw, drained since at the bucket's rate (`limit` per window). Each replica reads
//!   the one shared bucket from its own answers, so replicas agree to within the calls made
//!   since their last answer.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use integration_spec::RateLimit;

use crate::app::App;
use crate::mcp_servers::Budget;
use crate::timestamp::Timestamp;

/// Why a call was not allowed to spend.
pub(super) enum Refusal {
    /// A window is spent: its limit and when it resets.
    Spent {
        what: &'static str,
        limit: RateLimit,
    },
    /// The count could not be kept; a budget that cannot be counted is not spent blindly.
    Unavailable,
    /// The call would eat into the account's reserve of the helpdesk's bucket.
    Reserve { reserve: u32, limit: RateLimit },
}

/// The helpdesk's bucket per account, as last seen.
#[derive(Default)]
pub struct Buckets {
    seen: Mutex<HashMap<String, Seen>>,
}

struct Seen {
    limit: u64,
    used: u64,
    at: Instant,
}

impl Buckets {
    /// Notes what an answer's usage header said.
    pub(super) fn observe(&self, account_id: &str, limit: &RateLimit) {
        let seen = Seen {
            limit: limit.limit,
            used: limit.limit.saturating_sub(limit.remaining),
            at: Instant::now(),
        };
        let mut all = self.seen.lock().expect("bucket map poisoned");
        // Every answered call comes here: update in place, allocating only for a new account.
        if let Some(known) = all.get_mut(account_id) {
            *known = seen;
            return;
        }
        // Bounded by the accounts that answer; forget them all rather than grow past a bound.
        if all.len() >= 100_000 {
            all.clear();
        }
        all.insert(account_id.to_owned(), seen);
    }

    /// `Some` (the bucket now, with when enough is free again) when one more call would leave
    /// less than `reserve` of it.
    pub(super) fn would_eat(
        &self,
        account_id: &str,
        reserve: u32,
        window_seconds: u64,
    ) -> Option<RateLimit> {
        let all = self.seen.lock().expect("bucket map poisoned");
        let seen = all.get(account_id)?;
        let rate = seen.limit as f64 / window_seconds.max(1) as f64;
        let used = (seen.used as f64 - seen.at.elapsed().as_secs_f64() * rate).max(0.0);
        let remaining = seen.limit as f64 - used;
        // This call takes one: it may go only if at least `reserve` stays after it.
        let needed = f64::from(reserve) + 1.0;
        if remaining >= needed {
            return None;
        }
        Some(RateLimit {
            limit: seen.limit,
            remaining: remaining.floor().max(0.0) as u64,
            reset: ((needed - remaining) / rate).ceil().max(1.0) as u64,
        })
    }
}

impl App {
    /// Refuses a call that would eat into its account's reserve of the helpdesk's bucket.
    pub(super) fn check_reserve(&self, account_id: &str, reserve: u32) -> Result<(), Refusal> {
        let window = self.integration.connection().rate_limit.window_seconds;
        match self.buckets.would_eat(account_id, reserve, window) {
            None => Ok(()),
            Some(limit) => Err(Refusal::Reserve { reserve, limit }),
        }
    }

    /// Spends one call (and one write, for a tool that is not read-only) of `budget`.
    pub(super) async fn spend_budget(
        &self,
        server_id: &str,
        budget: &Budget,
        writes: bool,
    ) -> Result<(), Refusal> {
        let now = Timestamp::now().millis().div_euclid(1000);
        let windows = [
            ("calls_per_minute", budget.calls_per_minute, 60),
            (
                "writes_per_day",
                budget.writes_per_day.filter(|_| writes),
                86_400,
            ),
        ];
        for (what, limit, length) in windows {
            let Some(limit) = limit else { continue };
            let start = now - now.rem_euclid(length);
            let used = self
                .store
                .spend_budget(server_id, what, start)
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, mcp_server.id = %server_id, "could not count the budget");
                    Refusal::Unavailable
                })?;
            if used > i64::from(limit) {
                return Err(Refusal::Spent {
                    what,
                    limit: RateLimit {
                        limit: u64::from(limit),
                        remaining: 0,
                        reset: u64::try_from(start + length - now).unwrap_or(1).max(1),
                    },
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reserve_holds_until_the_bucket_drains() {
        let buckets = Buckets::default();
        assert!(
            buckets.would_eat("a", 10, 20).is_none(),
            "nothing seen: no refusal"
        );
        // 40 per 20 s; 32 used: 8 left, under a reserve of 10.
        buckets.observe(
            "a",
            &RateLimit {
                limit: 40,
                remaining: 8,
                reset: 16,
            },
        );
        let refused = buckets.would_eat("a", 10, 20).unwrap();
        assert_eq!(refused.limit, 40);
        assert_eq!(refused.remaining, 8);
        // 11 needed free, 8 free, 2 a second: 2 s.
        assert_eq!(refused.reset, 2);
        assert!(
            buckets.would_eat("a", 5, 20).is_none(),
            "8 left leaves a reserve of 5 after one"
        );
        assert!(buckets.would_eat("b", 10, 20).is_none(), "per account");
    }
}
