//! Account health (issue 17): does the helpdesk still answer this account's credentials?
//!
//! Two sources, the newer one wins: "Test connection" (one cheap, real request — the same one
//! that checks a key before it is saved — with the stored credentials), and the account's
//! latest tool call that reached, or tried to reach, Gorgias (read from the audit log). Each is
//! classified here, in pure code, into a state an operator can act on, in plain words.

use crate::accounts::{AccountStatus, StoredAccount};
use crate::app::App;
use crate::audit::Outcome;
use crate::timestamp::Timestamp;
use crate::upstream::{Response, UpstreamError};
use integration_spec::RateLimit;

/// What the last sign of life says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthState {
    /// Gorgias answered the credentials.
    Ok,
    /// Gorgias refused the credentials (401/403) or the OAuth grant is gone.
    Rejected,
    /// No Gorgias account answers at the address (404).
    NotFound,
    /// Gorgias answered 429.
    RateLimited,
    /// Gorgias answered with a server error or something unexpected.
    UpstreamError,
    /// Gorgias could not be reached: DNS, connection refused, timeout.
    Unreachable,
    /// The stored credentials cannot be used (vault key lost): they must be entered again.
    NeedsCredentials,
}

impl HealthState {
    const ALL: [HealthState; 7] = [
        HealthState::Ok,
        HealthState::Rejected,
        HealthState::NotFound,
        HealthState::RateLimited,
        HealthState::UpstreamError,
        HealthState::Unreachable,
        HealthState::NeedsCredentials,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HealthState::Ok => "ok",
            HealthState::Rejected => "rejected",
            HealthState::NotFound => "not_found",
            HealthState::RateLimited => "rate_limited",
            HealthState::UpstreamError => "upstream_error",
            HealthState::Unreachable => "unreachable",
            HealthState::NeedsCredentials => "needs_credentials",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|h| h.as_str() == s)
    }

    /// The badge's words.
    pub fn label(self) -> &'static str {
        match self {
            HealthState::Ok => "Active",
            HealthState::Rejected => "Credentials refused",
            HealthState::NotFound => "No such helpdesk",
            HealthState::RateLimited => "Rate limited",
            HealthState::UpstreamError => "Gorgias failing",
            HealthState::Unreachable => "Unreachable",
            HealthState::NeedsCredentials => "Needs credentials",
        }
    }
}

/// A connection test's result, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredHealth {
    pub state: HealthState,
    /// Plain words, never a secret.
    pub detail: String,
    pub checked_at: Timestamp,
}

/// An account's latest call that says something about the upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastCall {
    pub outcome: Outcome,
    pub upstream_status: Option<u16>,
    pub at: Timestamp,
}

/// What the console shows: the state, why, when, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub state: HealthState,
    pub detail: String,
    pub at: Timestamp,
    pub source: Source,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Test,
    LastCall,
}

/// What a test request's answer (or failure) says, in words for the operator. `limit` is the
/// rate-limit bucket the answer reported: an accepted test with less than a tenth of it left
/// reads as rate-limit pressure, since the next calls are about to be refused.
pub fn classify(
    base_url: &str,
    answer: Result<&Response, &UpstreamError>,
    limit: Option<RateLimit>,
) -> StoredHealth {
    let (state, detail) = match answer {
        Err(UpstreamError::Timeout(after)) => (
            HealthState::Unreachable,
            format!("{base_url} did not answer within {} s.", after.as_secs()),
        ),
        Err(e) => (
            HealthState::Unreachable,
            format!("Could not reach {base_url}: {e}."),
        ),
        Ok(response) => {
            let status = response.status.as_u16();
            match status {
                200..=299 => match limit {
                    Some(l) if l.remaining * 10 < l.limit => (
                        HealthState::RateLimited,
                        format!(
                            "Gorgias accepted the stored credentials, but only {} of its {} calls are left in the rate-limit bucket; it refills fully in {} s.",
                            l.remaining, l.limit, l.reset
                        ),
                    ),
                    Some(l) => (
                        HealthState::Ok,
                        format!(
                            "Gorgias accepted the stored credentials; {} of {} calls are left in its rate-limit bucket.",
                            l.remaining, l.limit
                        ),
                    ),
                    None => (
                        HealthState::Ok,
                        "Gorgias accepted the stored credentials.".to_owned(),
                    ),
                },
                401 | 403 => (
                    HealthState::Rejected,
                    format!(
                        "Gorgias refused the stored credentials (HTTP {status}): the API key was revoked or is wrong, or its user lost access. Enter a new key."
                    ),
                ),
                404 => (
                    HealthState::NotFound,
                    format!(
                        "No Gorgias helpdesk answers at {base_url} (HTTP 404): check the subdomain."
                    ),
                ),
                429 => {
                    let reset = response
                        .headers
                        .get(http::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok());
                    (
                        HealthState::RateLimited,
                        match reset {
                            Some(secs) => format!(
                                "Gorgias is rate limiting this account (HTTP 429); it accepts calls again in {secs} s."
                            ),
                            None => "Gorgias is rate limiting this account (HTTP 429); calls are refused until its bucket refills.".to_owned(),
                        },
                    )
                }
                _ => (
                    HealthState::UpstreamError,
                    format!("Gorgias answered HTTP {status}; try again later."),
                ),
            }
        }
    };
    StoredHealth {
        state,
        detail,
        checked_at: Timestamp::now(),
    }
}

/// What an account's latest upstream call says; `None` when it says nothing about the account
/// (a 4xx other than 401/403/429 is the call's fault, not the account's).
pub fn from_last_call(call: &LastCall) -> Option<Health> {
    let (state, detail) = match (call.outcome, call.upstream_status) {
        (Outcome::Ok, _) => (HealthState::Ok, "The latest call succeeded.".to_owned()),
        (Outcome::RateLimited, _) => (
            HealthState::RateLimited,
            "The latest call was rate limited by Gorgias (HTTP 429).".to_owned(),
        ),
        (Outcome::NeedsReauth, _) => (
            HealthState::Rejected,
            "Gorgias no longer accepts this account's OAuth grant: reconnect it.".to_owned(),
        ),
        (Outcome::UpstreamClientError, Some(status @ (401 | 403))) => (
            HealthState::Rejected,
            format!(
                "The latest call was refused by Gorgias (HTTP {status}): the key was revoked or is wrong."
            ),
        ),
        (Outcome::UpstreamClientError, _) => return None,
        (Outcome::UpstreamFailure, Some(status)) => (
            HealthState::UpstreamError,
            format!("The latest call failed: Gorgias answered HTTP {status}."),
        ),
        (Outcome::UpstreamFailure, None) => (
            HealthState::Unreachable,
            "The latest call could not reach Gorgias.".to_owned(),
        ),
        _ => return None,
    };
    Some(Health {
        state,
        detail,
        at: call.at,
        source: Source::LastCall,
    })
}

/// The newer of the last test and the last call; the account's own status overrides both
/// when its credentials cannot be used at all.
pub fn combine(
    status: AccountStatus,
    test: Option<&StoredHealth>,
    last_call: Option<&LastCall>,
) -> Option<Health> {
    if status == AccountStatus::NeedsCredentials {
        return Some(Health {
            state: HealthState::NeedsCredentials,
            detail: "The stored credentials cannot be opened with this server's vault key."
                .to_owned(),
            at: Timestamp::now(),
            source: Source::Test,
        });
    }
    let test = test.map(|t| Health {
        state: t.state,
        detail: t.detail.clone(),
        at: t.checked_at,
        source: Source::Test,
    });
    let call = last_call.and_then(from_last_call);
    match (test, call) {
        (Some(t), Some(c)) => Some(if c.at > t.at { c } else { t }),
        (t, c) => t.or(c),
    }
}

impl App {
    /// One real, cheap request to Gorgias with the account's stored credentials (the request a
    /// key is checked with before it is saved), classified and saved as the account's health.
    pub async fn test_connection(
        &self,
        stored: &StoredAccount,
    ) -> Result<StoredHealth, crate::store::StoreError> {
        let base_url = self.integration.base_url(&stored.account.context);
        let health = match self
            .authorization(&stored.account, &stored.sealed_credentials)
            .await
        {
            Err(e) => StoredHealth {
                state: if stored.account.status == AccountStatus::NeedsCredentials {
                    HealthState::NeedsCredentials
                } else {
                    HealthState::Rejected
                },
                detail: format!("The stored credentials could not be used: {e}."),
                checked_at: Timestamp::now(),
            },
            Ok(authorization) => {
                let target = crate::upstream::Target {
                    base_url: &base_url,
                    authorization: &authorization,
                };
                let answer = self
                    .upstream
                    .send(&target, &self.integration.verify_request())
                    .await;
                let limit = answer.as_ref().ok().and_then(|r| {
                    self.integration.connection().rate_limit(&|name: &str| {
                        r.headers
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned)
                    })
                });
                classify(&base_url, answer.as_ref(), limit)
            }
        };
        tracing::info!(integrated_account.id = %stored.account.id, health = health.state.as_str(), "connection tested");
        self.store
            .set_account_health(&stored.account.id, &health)
            .await?;
        Ok(health)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, HeaderValue, StatusCode};

    fn answer(status: u16, headers: &[(&'static str, &str)]) -> Response {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        Response {
            status: StatusCode::from_u16(status).unwrap(),
            headers: map,
            body: Default::default(),
        }
    }

    #[test]
    fn answers_read_as_plain_words() {
        let base = "https://acme.gorgias.com";
        let ok = classify(base, Ok(&answer(200, &[])), None);
        assert_eq!(ok.state, HealthState::Ok);
        let revoked = classify(base, Ok(&answer(401, &[])), None);
        assert_eq!(revoked.state, HealthState::Rejected);
        assert!(
            revoked.detail.contains("revoked or is wrong"),
            "{revoked:?}"
        );
        let limited = classify(base, Ok(&answer(429, &[("retry-after", "17")])), None);
        assert_eq!(limited.state, HealthState::RateLimited);
        assert!(limited.detail.contains("in 17 s"), "{limited:?}");
        assert_eq!(
            classify(base, Ok(&answer(404, &[])), None).state,
            HealthState::NotFound
        );
        assert_eq!(
            classify(base, Ok(&answer(502, &[])), None).state,
            HealthState::UpstreamError
        );
        let down = classify(
            base,
            Err(&UpstreamError::Unreachable("connection refused".into())),
            None,
        );
        assert_eq!(down.state, HealthState::Unreachable);
        assert!(
            down.detail.contains(base) && down.detail.contains("refused"),
            "{down:?}"
        );
        let bucket = |remaining| {
            Some(RateLimit {
                limit: 40,
                remaining,
                reset: 20,
            })
        };
        let roomy = classify(base, Ok(&answer(200, &[])), bucket(38));
        assert_eq!(roomy.state, HealthState::Ok);
        assert!(roomy.detail.contains("38 of 40"), "{roomy:?}");
        let pressed = classify(base, Ok(&answer(200, &[])), bucket(3));
        assert_eq!(pressed.state, HealthState::RateLimited);
        assert!(pressed.detail.contains("only 3 of its 40"), "{pressed:?}");
        for state in HealthState::ALL {
            assert_eq!(HealthState::parse(state.as_str()), Some(state));
        }
    }

    #[test]
    fn the_newer_sign_wins_and_a_wrong_call_says_nothing() {
        let test = StoredHealth {
            state: HealthState::Ok,
            detail: "ok".into(),
            checked_at: Timestamp(1_000),
        };
        let failed = LastCall {
            outcome: Outcome::UpstreamFailure,
            upstream_status: None,
            at: Timestamp(2_000),
        };
        let h = combine(AccountStatus::Active, Some(&test), Some(&failed)).unwrap();
        assert_eq!(
            (h.state, h.source),
            (HealthState::Unreachable, Source::LastCall)
        );
        let older = LastCall {
            at: Timestamp(500),
            ..failed.clone()
        };
        let h = combine(AccountStatus::Active, Some(&test), Some(&older)).unwrap();
        assert_eq!((h.state, h.source), (HealthState::Ok, Source::Test));
        let not_found_ticket = LastCall {
            outcome: Outcome::UpstreamClientError,
            upstream_status: Some(404),
            at: Timestamp(3_000),
        };
        assert_eq!(
            combine(AccountStatus::Active, None, Some(&not_found_ticket)),
            None
        );
        let revoked = LastCall {
            upstream_status: Some(401),
            ..not_found_ticket
        };
        assert_eq!(
            combine(AccountStatus::Active, None, Some(&revoked))
                .unwrap()
                .state,
            HealthState::Rejected
        );
        assert_eq!(
            combine(AccountStatus::NeedsCredentials, Some(&test), None)
                .unwrap()
                .state,
            HealthState::NeedsCredentials
        );
    }
}
