//! Fault injection for tests: make the next N requests (or a fraction of them) answer with an
//! error status, answer slowly, or lose their connection; or make outgoing replies fail to send.
//!
//! Faults are posted to `POST /_sandbox/faults` (see `control`) or `SandboxState::inject_fault`.
//! A dropped connection is carried out by the server loop (`server`): the response is marked with
//! [`DropConnection`] and the connection is closed without writing it.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::app::App;
use crate::errors::ApiError;
use crate::seed::Rng;

/// A fault as posted to `/_sandbox/faults`. Exactly one effect: `status`, `delay_ms` (may be
/// combined with `status`), `drop_connection` or `message_send_failure`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// Answer with this status (429 gets `Retry-After`, 500/503 Gorgias's bodies).
    #[serde(default)]
    pub status: Option<u16>,
    /// Wait this long before answering (then answer normally, or with `status`).
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// Close the TCP connection without an HTTP response.
    #[serde(default)]
    pub drop_connection: bool,
    /// Make the next outgoing replies fail to send (`failed_datetime`, `last_sending_error`).
    #[serde(default)]
    pub message_send_failure: bool,
    /// Error text for `message_send_failure`.
    #[serde(default)]
    pub error: Option<String>,
    /// How many requests (or sends) to affect. Default 1, or unlimited with `fraction`.
    #[serde(default)]
    pub count: Option<u64>,
    /// Affect this fraction of matching requests (deterministic for the seed).
    #[serde(default)]
    pub fraction: Option<f64>,
    /// `Retry-After` seconds on an injected 429 (default 1).
    #[serde(default)]
    pub retry_after: Option<u64>,
    /// Only requests whose path starts with this (default `/api/`; `/oauth/` reaches the
    /// token endpoint).
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// Only requests with this method.
    #[serde(default)]
    pub method: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FaultError {
    #[error("a fault needs one of status, delay_ms, drop_connection or message_send_failure")]
    NoEffect,
    #[error("status must be 400..=599")]
    BadStatus,
    #[error("fraction must be in (0, 1]")]
    BadFraction,
    #[error("count must be at least 1")]
    BadCount,
}

impl Fault {
    pub fn validate(&self) -> Result<(), FaultError> {
        let effects = usize::from(self.status.is_some() || self.delay_ms.is_some())
            + usize::from(self.drop_connection)
            + usize::from(self.message_send_failure);
        if effects != 1 {
            return Err(FaultError::NoEffect);
        }
        if self.status.is_some_and(|s| !(400..=599).contains(&s)) {
            return Err(FaultError::BadStatus);
        }
        if self.fraction.is_some_and(|f| !(f > 0.0 && f <= 1.0)) {
            return Err(FaultError::BadFraction);
        }
        if self.count == Some(0) {
            return Err(FaultError::BadCount);
        }
        Ok(())
    }
}

/// Response marker: the server loop closes the connection instead of answering.
#[derive(Debug, Clone, Copy)]
pub struct DropConnection;

#[derive(Debug)]
struct ActiveFault {
    fault: Fault,
    remaining: Option<u64>,
}

/// The queue of active request faults.
#[derive(Debug)]
pub struct Faults {
    active: Vec<ActiveFault>,
    rng: Rng,
    seed: u64,
}

pub enum FaultAction {
    Proceed,
    Respond(Response),
}

enum Effect {
    Status(u16, Option<u64>),
    Delay(Duration, Option<u16>, Option<u64>),
    Drop,
}

impl Faults {
    pub fn new(seed: u64) -> Self {
        Faults {
            active: Vec::new(),
            rng: Rng::new(seed ^ 0xFA17),
            seed,
        }
    }

    /// Adds a request fault (send failures go to the store instead; see `control`).
    pub fn push(&mut self, fault: Fault) {
        let remaining = match (fault.count, fault.fraction) {
            (Some(n), _) => Some(n),
            (None, Some(_)) => None,
            (None, None) => Some(1),
        };
        self.active.push(ActiveFault { fault, remaining });
    }

    pub fn clear(&mut self) {
        self.active.clear();
        self.rng = Rng::new(self.seed ^ 0xFA17);
    }

    pub fn active_count(&self) -> usize {
        self.active.len()
    }

    fn take(&mut self, method: &Method, path: &str) -> Option<Effect> {
        let mut hit = None;
        for (i, active) in self.active.iter_mut().enumerate() {
            let f = &active.fault;
            let prefix = f.path_prefix.as_deref().unwrap_or("/api/");
            if !path.starts_with(prefix) {
                continue;
            }
            if f.method
                .as_deref()
                .is_some_and(|m| !m.eq_ignore_ascii_case(method.as_str()))
            {
                continue;
            }
            if let Some(fraction) = f.fraction
                && self.rng.unit() >= fraction
            {
                continue;
            }
            let effect = if f.drop_connection {
                Effect::Drop
            } else if let Some(ms) = f.delay_ms {
                Effect::Delay(Duration::from_millis(ms), f.status, f.retry_after)
            } else {
                Effect::Status(f.status.unwrap_or(500), f.retry_after)
            };
            if let Some(n) = active.remaining.as_mut() {
                *n -= 1;
            }
            hit = Some((i, effect));
            break;
        }
        let (i, effect) = hit?;
        if self.active[i].remaining == Some(0) {
            self.active.remove(i);
        }
        Some(effect)
    }
}

fn status_response(status: u16, retry_after: Option<u64>) -> Response {
    match status {
        429 => ApiError::TooManyRequests {
            retry_after_secs: retry_after.unwrap_or(1),
        }
        .into_response(),
        500 => ApiError::Internal.into_response(),
        503 => ApiError::ServiceUnavailable.into_response(),
        other => {
            let code = StatusCode::from_u16(other).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let msg = code.canonical_reason().unwrap_or("Error");
            (
                code,
                axum::Json(json!({"error": {"msg": format!("{msg}.")}})),
            )
                .into_response()
        }
    }
}

/// Applies the first matching fault, if any, to a request about to be handled.
pub async fn before_request(app: &App, method: &Method, path: &str) -> FaultAction {
    let effect = app.faults().take(method, path);
    match effect {
        None => FaultAction::Proceed,
        Some(Effect::Status(status, retry_after)) => {
            FaultAction::Respond(status_response(status, retry_after))
        }
        Some(Effect::Delay(d, status, retry_after)) => {
            tokio::time::sleep(d).await;
            match status {
                Some(s) => FaultAction::Respond(status_response(s, retry_after)),
                None => FaultAction::Proceed,
            }
        }
        Some(Effect::Drop) => {
            // In-process callers (router().oneshot) cannot lose a connection; they get a 502
            // with an empty body. The socket server drops the connection instead.
            let mut r = StatusCode::BAD_GATEWAY.into_response();
            r.extensions_mut().insert(DropConnection);
            FaultAction::Respond(r)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(json: serde_json::Value) -> Fault {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn validates_effects() {
        assert!(fault(json!({"status": 429, "count": 2})).validate().is_ok());
        assert!(
            fault(json!({"delay_ms": 10, "status": 500}))
                .validate()
                .is_ok()
        );
        assert_eq!(
            fault(json!({"count": 2})).validate(),
            Err(FaultError::NoEffect)
        );
        assert_eq!(
            fault(json!({"status": 200})).validate(),
            Err(FaultError::BadStatus)
        );
        assert_eq!(
            fault(json!({"status": 500, "fraction": 1.5})).validate(),
            Err(FaultError::BadFraction)
        );
        assert!(serde_json::from_value::<Fault>(json!({"stauts": 500})).is_err());
    }

    #[test]
    fn counts_down_and_matches_prefix() {
        let mut faults = Faults::new(1);
        faults.push(fault(json!({"status": 503, "count": 2})));
        assert!(faults.take(&Method::GET, "/oauth/token").is_none());
        assert!(matches!(
            faults.take(&Method::GET, "/api/tickets"),
            Some(Effect::Status(503, _))
        ));
        assert!(matches!(
            faults.take(&Method::GET, "/api/tickets"),
            Some(Effect::Status(503, _))
        ));
        assert!(faults.take(&Method::GET, "/api/tickets").is_none());
        assert_eq!(faults.active_count(), 0);
    }

    #[test]
    fn fraction_is_roughly_respected_and_deterministic() {
        let run = || {
            let mut faults = Faults::new(7);
            faults.push(fault(json!({"status": 500, "fraction": 0.5})));
            (0..1000)
                .map(|_| faults.take(&Method::GET, "/api/x").is_some())
                .collect::<Vec<_>>()
        };
        let a = run();
        let hits = a.iter().filter(|h| **h).count();
        assert!((400..600).contains(&hits), "{hits}");
        assert_eq!(a, run());
    }
}
