//! The budget stage: a server's calls per minute and writes per day (issue 15), spent before
//! anything is planned or sent. Windows are fixed (the clock minute, the UTC day) and counted
//! in the database, so every replica spends from one count: replicas agree exactly, at the
//! cost of one upsert per call on servers that have a budget (none on the others).

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
}

impl App {
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
