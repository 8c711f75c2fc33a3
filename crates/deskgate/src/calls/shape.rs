//! The shape stage: whatever happened, turned into a result a model can act on. Successes are
//! shown as the upstream sent them; every failure says what happened and what to do next.

use base64::Engine;
use integration_spec::{ArgumentError, RateLimit, ResponseFormat, ShapeContext, Tool};
use serde_json::{Map, Value, json};

use super::result::{CallResult, Structured};
use super::send::CallFailure;
use crate::audit::Outcome;
use crate::integration::Integration;
use crate::upstream::{self, UpstreamError};

/// The body as text when it is exactly one JSON object (checked without building a tree).
fn json_object(body: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(body).ok()?;
    let starts_as_object = text.trim_start().starts_with('{');
    (starts_as_object && serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok())
        .then_some(text)
}

/// The body as JSON, if it is JSON.
fn parsed(body: &[u8]) -> Option<Value> {
    if body.is_empty() {
        None
    } else {
        serde_json::from_slice(body).ok()
    }
}

/// The structured content of a success that is not one JSON object: an array or scalar, an
/// empty body, or a file.
fn wrapped_success(response: &upstream::Response) -> Value {
    let status = response.status.as_u16();
    let content_type = response
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream");
    match parsed(&response.body) {
        // `structuredContent` must be an object for older peers: wrap anything else.
        Some(other) => json!({ "data": other }),
        None if response.body.is_empty() => json!({ "status": status, "done": true }),
        // A file (downloads): text as text, anything else as base64, with its type.
        None => match std::str::from_utf8(&response.body) {
            Ok(text) => {
                json!({ "content_type": content_type, "size": response.body.len(), "text": text })
            }
            Err(_) => json!({
                "content_type": content_type,
                "size": response.body.len(),
                "content_base64": base64::engine::general_purpose::STANDARD.encode(&response.body),
            }),
        },
    }
}

pub(super) fn rate_limit_of(
    integration: &Integration,
    headers: &http::HeaderMap,
) -> Option<RateLimit> {
    integration.connection().rate_limit(&|name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    })
}

/// Arguments the tool refused: nothing was sent.
pub(super) fn invalid_arguments(
    integration: &Integration,
    tool: &str,
    error: &ArgumentError,
) -> CallResult {
    let message = error.to_string();
    CallResult::error(
        Outcome::InvalidArguments,
        format!(
            "Invalid arguments for {tool}: {message}. Nothing was sent to {}; fix the argument and call again.",
            integration.title()
        ),
        json!({"error": {"kind": "invalid_arguments", "field": error.field(), "message": message}}),
    )
}

/// A call the server's policy refused: the rule that refused it, and that nothing was sent.
pub(super) fn denied(
    integration: &Integration,
    tool: &str,
    rule: &str,
    reason: &str,
) -> CallResult {
    CallResult::error(
        Outcome::Refused,
        format!(
            "Refused by this server's policy: {reason}. Nothing was sent to {}. This server's operator set the rule; do not try to get around it with another tool.",
            integration.title()
        ),
        json!({"error": {"kind": "policy_denied", "tool": tool, "rule": rule, "message": reason}}),
    )
}

/// A success in the form the call asked for: the tool's concise answer (its view, or a short
/// confirmation of a write), or the upstream's body exactly as sent.
pub(super) fn success(
    integration: &Integration,
    tool: &Tool,
    arguments: &Map<String, Value>,
    response: upstream::Response,
    app_base: &str,
) -> CallResult {
    if tool.response_format(arguments) == ResponseFormat::Detailed {
        return self::response(integration, response);
    }
    // Only what the concise form reads is built (issue 18: a whole tree of the answer was over
    // half of a call's work); `detailed` above keeps the bytes as sent.
    let answer = tool.concise_answer(&response.body);
    if answer.is_none() && !response.body.is_empty() {
        // Not JSON (a file): there is nothing to make concise.
        return self::response(integration, response);
    }
    let concise = match tool.concise(arguments, answer.as_ref(), &ShapeContext { app_base }) {
        object @ Value::Object(_) => object,
        // `structuredContent` must be an object for older peers.
        other => json!({ "data": other }),
    };
    CallResult {
        outcome: Outcome::Ok,
        is_error: false,
        // `Value`'s `Display` is its compact JSON, the bytes `write_json` would produce.
        text: concise.to_string(),
        structured: Structured::Tree(concise),
        rate_limit: rate_limit_of(integration, &response.headers),
        upstream_status: Some(response.status.as_u16()),
    }
}

/// What the upstream answered, as it answered it.
pub(super) fn response(integration: &Integration, response: upstream::Response) -> CallResult {
    let rate_limit = rate_limit_of(integration, &response.headers);
    let status = response.status.as_u16();
    let title = integration.title();
    if response.status.is_success() {
        // The common case, a JSON object, is shown to the model as the upstream sent it: the
        // text block and the structured content are those very bytes.
        let (text, structured) = match json_object(&response.body) {
            Some(json) => (json.to_owned(), Structured::SameAsText),
            None => {
                let structured = wrapped_success(&response);
                let text = if response.body.is_empty() {
                    format!("Done: {title} answered HTTP {status} with no body.")
                } else {
                    structured.to_string()
                };
                (text, Structured::Value(structured))
            }
        };
        return CallResult {
            outcome: Outcome::Ok,
            is_error: false,
            text,
            structured,
            rate_limit,
            upstream_status: Some(status),
        };
    }

    let body = parsed(&response.body);
    let upstream_message = integration
        .error_message(&response.body)
        .unwrap_or_else(|| {
            response
                .status
                .canonical_reason()
                .unwrap_or("error")
                .to_owned()
        });
    let mut error = json!({
        "kind": "upstream_error",
        "status": status,
        "message": upstream_message,
    });
    if let Some(body) = &body {
        error["upstream_body"] = body.clone();
    }
    let (outcome, advice) = match status {
        429 => (
            Outcome::RateLimited,
            match rate_limit {
                Some(rl) => format!(
                    "{title}'s rate limit is reached (ratelimit-limit {}, ratelimit-remaining {}, ratelimit-reset {} s). \
                     deskgate does not retry: wait {} seconds before calling {title} again.",
                    rl.limit, rl.remaining, rl.reset, rl.reset
                ),
                None => format!(
                    "{title}'s rate limit is reached. deskgate does not retry: wait before calling again."
                ),
            },
        ),
        401 => (
            Outcome::UpstreamClientError,
            format!(
                "{title} refused the account's credentials; an operator must reconnect the account in deskgate."
            ),
        ),
        403 => (
            Outcome::UpstreamClientError,
            format!(
                "{title} says the connected user may not do this (permissions, scopes or a quota)."
            ),
        ),
        404 => (
            Outcome::UpstreamClientError,
            "Nothing exists at that id. Check the id, e.g. with the matching list tool.".to_owned(),
        ),
        409 => (
            Outcome::UpstreamClientError,
            "The change conflicts with the current state of the resource.".to_owned(),
        ),
        400..=499 => (
            Outcome::UpstreamClientError,
            format!("{title} rejected the request; fix the arguments named below and call again."),
        ),
        _ => (
            Outcome::UpstreamFailure,
            format!("{title} failed on its side; the call may be tried again later."),
        ),
    };
    let fields = body
        .as_ref()
        .and_then(|b| b.pointer("/error/data"))
        .filter(|d| d.is_object())
        .map(|d| format!(" Field errors: {d}."))
        .unwrap_or_default();
    let text = format!(
        "{title} answered HTTP {status}: {}.{fields} {advice}",
        upstream_message.trim_end_matches('.')
    );
    let mut structured = json!({ "error": error });
    if let Some(rl) = rate_limit {
        add_rate_limit(&mut structured, &rl);
    }
    CallResult {
        outcome,
        is_error: true,
        text,
        structured: Structured::Value(structured),
        rate_limit,
        upstream_status: Some(status),
    }
}

/// No answer came back (or the call could not be made).
pub(super) fn failure(integration: &Integration, failure: &CallFailure) -> CallResult {
    let title = integration.title();
    let (outcome, kind, text) = match failure {
        CallFailure::Upstream(UpstreamError::Timeout(after)) => (
            Outcome::UpstreamFailure,
            "timeout",
            format!(
                "{title} did not answer within {} s. A write may or may not have been applied: check before repeating it.",
                after.as_secs()
            ),
        ),
        CallFailure::Upstream(UpstreamError::Interrupted) => (
            Outcome::UpstreamFailure,
            "interrupted",
            format!(
                "The connection to {title} broke before an answer arrived. A write may or may not have been applied: check before repeating it."
            ),
        ),
        CallFailure::Upstream(UpstreamError::BadBody(why)) => (
            Outcome::InvalidArguments,
            "invalid_arguments",
            format!("The request could not be built: {why}. Nothing was sent to {title}."),
        ),
        CallFailure::Upstream(UpstreamError::Unreachable(why)) => (
            Outcome::UpstreamFailure,
            "unreachable",
            format!("{title} could not be reached ({why}); try again later."),
        ),
        CallFailure::NeedsReauth(why) => (
            Outcome::NeedsReauth,
            "needs_reauth",
            format!(
                "This {title} account must be reconnected in deskgate before tools work again: {why}. Tell the user; retrying will not help."
            ),
        ),
        CallFailure::Internal(why) => {
            tracing::error!(error = %why, "tool call failed inside deskgate");
            (
                Outcome::UpstreamFailure,
                "internal",
                "deskgate failed to run this call; try again later.".to_owned(),
            )
        }
    };
    CallResult::error(
        outcome,
        text.clone(),
        json!({ "error": { "kind": kind, "message": text } }),
    )
}

/// The answer to a call the gateway had no room for (see `admission`): like a 429, with when
/// to try again; nothing was sent upstream.
pub(super) fn busy(busy: super::admission::Busy, retry_after: std::time::Duration) -> CallResult {
    use super::admission::Busy;
    let (scope, slots) = match busy {
        Busy::Server(n) => ("this MCP server", n),
        Busy::Gateway(n) => ("the gateway", n),
    };
    let secs = retry_after.as_secs().max(1);
    let text = format!(
        "deskgate is busy: {scope} already runs {slots} calls at once. Nothing was sent; try again in {secs} s."
    );
    CallResult::error(
        Outcome::Refused,
        text.clone(),
        serde_json::json!({"error": {"kind": "busy", "message": text, "retry_after": secs}}),
    )
}

/// The answer to a call past its server's budget: a 429's shape (ratelimit-* values, when to
/// retry), said to be deskgate's budget and not the helpdesk's; nothing was sent.
pub(super) fn budget_refused(refusal: &super::budget::Refusal) -> CallResult {
    use super::budget::Refusal;
    match refusal {
        Refusal::Spent { what, limit } => {
            let per = if *what == "calls_per_minute" {
                "calls per minute"
            } else {
                "writes per day"
            };
            let text = format!(
                "This MCP server's budget of {} {per} is spent (ratelimit-limit {}, ratelimit-remaining 0, \
                 ratelimit-reset {} s). Nothing was sent; wait {} seconds, or ask the operator for a larger budget.",
                limit.limit, limit.limit, limit.reset, limit.reset
            );
            let error = json!({"kind": "budget_exhausted", "budget": what, "message": text});
            refused_like_429(error, limit, text)
        }
        Refusal::Reserve { reserve, limit } => {
            let text = format!(
                "The helpdesk's rate limit has {} of {} calls left and the operator keeps {reserve} of them for people \
                 and other integrations (ratelimit-limit {}, ratelimit-remaining {}, ratelimit-reset {} s). Nothing was \
                 sent; wait {} seconds.",
                limit.remaining, limit.limit, limit.limit, limit.remaining, limit.reset, limit.reset
            );
            let error = json!({"kind": "rate_limit_reserve", "reserve": reserve, "message": text});
            refused_like_429(error, limit, text)
        }
        Refusal::Unavailable => CallResult::error(
            Outcome::Refused,
            "This MCP server's budget could not be counted just now, so nothing was sent; try again shortly.".to_owned(),
            json!({"error": {"kind": "budget_unavailable"}}),
        ),
    }
}

/// The `ratelimit-*` values beside a result's error, as every rate-limited answer carries them.
fn add_rate_limit(structured: &mut Value, limit: &RateLimit) {
    structured["ratelimit-limit"] = json!(limit.limit);
    structured["ratelimit-remaining"] = json!(limit.remaining);
    structured["ratelimit-reset"] = json!(limit.reset);
}

/// A call deskgate refused itself, shaped like the helpdesk's 429 (the values also go out as
/// HTTP headers); nothing was sent.
fn refused_like_429(error: Value, limit: &RateLimit, text: String) -> CallResult {
    let mut structured = json!({ "error": error });
    add_rate_limit(&mut structured, limit);
    CallResult {
        outcome: Outcome::RateLimited,
        is_error: true,
        text,
        structured: Structured::Value(structured),
        rate_limit: Some(*limit),
        upstream_status: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_whole_json_object_is_kept_verbatim() {
        assert_eq!(json_object(br#" {"id": 1} "#), Some(r#" {"id": 1} "#));
        assert_eq!(json_object(br#"[{"id": 1}]"#), None);
        assert_eq!(json_object(br#"{"id": 1} {"id": 2}"#), None);
        assert_eq!(json_object(br#"{"id": 1"#), None);
        assert_eq!(json_object(b"{\"a\": \"\xff\"}"), None);
        assert_eq!(json_object(b""), None);
    }
}
