//! One tool call, from a tenant's point of view: find the tool in the account's catalog (the
//! server's filter applies here, on every call, not only in listings), validate and plan the
//! arguments, call Gorgias once with the account's credentials, and turn whatever happened into
//! a result a model can act on. Every call is written to the audit log before it is answered.
//!
//! Nothing here knows about MCP: `mcp/` maps [`CallResult`] onto the protocol.

use std::time::Instant;

use base64::Engine;
use integration_spec::RateLimit;
use serde_json::{Map, Value, json};

use crate::accounts::{AccountStatus, AuthType};
use crate::app::App;
use crate::audit::{Outcome, ToolCallRecord};
use crate::tenants::Tenant;
use crate::timestamp::Timestamp;
use crate::upstream::{self, Target, UpstreamError};

/// Who is calling, as the client introduced itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    pub name: String,
    pub version: String,
}

/// What a call produced.
#[derive(Debug, Clone)]
pub struct CallResult {
    pub outcome: Outcome,
    pub is_error: bool,
    /// What the model reads.
    pub text: String,
    pub structured: Structured,
    /// Set when the call reached the upstream and it reported its limits.
    pub rate_limit: Option<RateLimit>,
    /// The upstream's HTTP status, when it answered.
    pub upstream_status: Option<u16>,
}

/// A call's structured content: always one JSON object.
#[derive(Debug, Clone, PartialEq)]
pub enum Structured {
    /// Built by deskgate (errors, wrapped arrays, files).
    Value(Value),
    /// The call's text *is* the structured content: the upstream's reply, one JSON object,
    /// checked but never parsed into a tree. Parsing a 5 KB ticket into a `Value` and dropping
    /// it again was about half the instructions of a whole call.
    SameAsText,
}

impl Structured {
    /// The JSON object as a tree, for peers that need one; `text` is the call's text.
    pub fn into_value(self, text: &str) -> Value {
        match self {
            Structured::Value(value) => value,
            Structured::SameAsText => {
                serde_json::from_str(text).expect("verbatim content was checked to be JSON")
            }
        }
    }

    /// Writes the object as JSON; `text` is the call's text.
    pub fn write_json(&self, text: &str, out: &mut Vec<u8>) {
        match self {
            Structured::Value(value) => {
                serde_json::to_writer(&mut *out, value).expect("a Value always serializes")
            }
            Structured::SameAsText => out.extend_from_slice(text.as_bytes()),
        }
    }
}

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

/// A call refused before anything ran: the tool does not exist for this server (unknown, or
/// filtered out — the two are deliberately indistinguishable).
#[derive(Debug, thiserror::Error)]
#[error("unknown tool: {0}")]
pub struct UnknownTool(pub String);

/// What went wrong on the way to or from the upstream, before mapping to a result.
#[derive(Debug, thiserror::Error)]
pub enum CallFailure {
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error("the account must be reconnected: {0}")]
    NeedsReauth(String),
    #[error("internal error")]
    Internal(String),
}

impl App {
    /// Runs one `tools/call` for a tenant.
    pub async fn call_tool(
        &self,
        tenant: &Tenant,
        tool_name: &str,
        arguments: Map<String, Value>,
        client: Option<&ClientInfo>,
    ) -> Result<CallResult, UnknownTool> {
        let started = Instant::now();
        let catalog = self
            .account_catalog(&tenant.account, &tenant.sealed_credentials)
            .await;
        let Some(tool) = catalog
            .catalog
            .tool(tool_name)
            .filter(|t| tenant.filter.matches(t))
        else {
            self.audit(
                tenant,
                tool_name,
                client,
                None,
                None,
                started,
                Outcome::Refused,
                Some("unknown or filtered-out tool".into()),
            )
            .await;
            return Err(UnknownTool(tool_name.to_owned()));
        };

        let planned = match tool.plan(&arguments) {
            Ok(planned) => planned,
            Err(e) => {
                let message = e.to_string();
                let result = CallResult {
                    outcome: Outcome::InvalidArguments,
                    is_error: true,
                    text: format!(
                        "Invalid arguments for {tool_name}: {message}. Nothing was sent to {}; fix the argument and call again.",
                        self.integration.title()
                    ),
                    structured: Structured::Value(
                        json!({"error": {"kind": "invalid_arguments", "field": e.field(), "message": message}}),
                    ),
                    rate_limit: None,
                    upstream_status: None,
                };
                self.audit(
                    tenant,
                    tool_name,
                    client,
                    None,
                    None,
                    started,
                    result.outcome,
                    Some(message),
                )
                .await;
                return Ok(result);
            }
        };
        let request = upstream::Request {
            method: upstream::method(&planned.method),
            path: planned.path,
            query: planned.query,
            body: planned.body,
            encoding: planned.body_encoding,
        };

        let sent = self.send_as_account(tenant, &request).await;
        let upstream_request = Some((request.method.as_str(), request.path.as_str()));
        let result = match sent {
            // A success is logged before its reply is built: while the audit write waits for
            // the database, the call holds the upstream's bytes rather than the parsed reply and
            // its text, several times larger (this is what bounds memory under a burst).
            Ok(response) if response.status.is_success() => {
                self.audit(
                    tenant,
                    tool_name,
                    client,
                    upstream_request,
                    Some(response.status.as_u16()),
                    started,
                    Outcome::Ok,
                    None,
                )
                .await;
                return Ok(self.result_from_response(response));
            }
            Ok(response) => self.result_from_response(response),
            Err(failure) => self.result_from_failure(&failure),
        };
        let error = result.is_error.then(|| first_line(&result.text));
        self.audit(
            tenant,
            tool_name,
            client,
            upstream_request,
            result.upstream_status,
            started,
            result.outcome,
            error,
        )
        .await;
        Ok(result)
    }

    /// Sends one request with the account's credentials. No retries of any kind.
    async fn send_as_account(
        &self,
        tenant: &Tenant,
        request: &upstream::Request,
    ) -> Result<upstream::Response, CallFailure> {
        if tenant.account.status == AccountStatus::NeedsReauth {
            return Err(CallFailure::NeedsReauth(
                "its authorization was revoked or expired for good".into(),
            ));
        }
        let authorization = self
            .authorization(&tenant.account, &tenant.sealed_credentials)
            .await?;
        let base_url = self.integration.base_url(&tenant.account.context);
        let target = Target {
            base_url: &base_url,
            authorization: &authorization,
        };
        let response = self.upstream.send(&target, request).await?;
        if response.status == http::StatusCode::UNAUTHORIZED
            && tenant.account.auth_type == AuthType::Oauth2
        {
            // The access token died early (revoked, or the clock disagrees): refresh once and
            // send once more. This is the only second request deskgate ever makes for a call,
            // and only because the first one never reached the account.
            let fresh = self
                .refresh_oauth(&tenant.account.id, tenant.account.credentials_version)
                .await?;
            let authorization = self
                .authorization(&fresh.account, &fresh.sealed_credentials)
                .await?;
            let target = Target {
                base_url: &base_url,
                authorization: &authorization,
            };
            return Ok(self.upstream.send(&target, request).await?);
        }
        Ok(response)
    }

    fn rate_limit_of(&self, headers: &http::HeaderMap) -> Option<RateLimit> {
        self.integration.connection().rate_limit(&|name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
    }

    fn result_from_response(&self, response: upstream::Response) -> CallResult {
        let rate_limit = self.rate_limit_of(&response.headers);
        let status = response.status.as_u16();
        let title = self.integration.title();
        if response.status.is_success() {
            // The common case, a JSON object, is shown to the model as the upstream sent it:
            // the text block and the structured content are those very bytes.
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
        let upstream_message = self
            .integration
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
                "Nothing exists at that id. Check the id, e.g. with the matching list tool."
                    .to_owned(),
            ),
            409 => (
                Outcome::UpstreamClientError,
                "The change conflicts with the current state of the resource.".to_owned(),
            ),
            400..=499 => (
                Outcome::UpstreamClientError,
                format!(
                    "{title} rejected the request; fix the arguments named below and call again."
                ),
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
            structured["ratelimit-limit"] = json!(rl.limit);
            structured["ratelimit-remaining"] = json!(rl.remaining);
            structured["ratelimit-reset"] = json!(rl.reset);
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

    fn result_from_failure(&self, failure: &CallFailure) -> CallResult {
        let title = self.integration.title();
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
        CallResult {
            outcome,
            is_error: true,
            structured: Structured::Value(json!({ "error": { "kind": kind, "message": text } })),
            text,
            rate_limit: None,
            upstream_status: None,
        }
    }

    /// Writes the audit record. It is awaited (committed) before the call is answered, so a
    /// completed call is never missing from the log, even if this process dies right after.
    #[expect(
        clippy::too_many_arguments,
        reason = "one flat record; a builder would only hide the fields"
    )]
    async fn audit(
        &self,
        tenant: &Tenant,
        tool: &str,
        client: Option<&ClientInfo>,
        upstream_request: Option<(&str, &str)>,
        upstream_status: Option<u16>,
        started: Instant,
        outcome: Outcome,
        error: Option<String>,
    ) {
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let record = ToolCallRecord {
            id: uuid::Uuid::now_v7().to_string(),
            mcp_server_id: tenant.server.id.clone(),
            integrated_account_id: tenant.account.id.clone(),
            at: Timestamp::now(),
            tool: tool.to_owned(),
            client_name: client.map(|c| c.name.clone()),
            client_version: client.map(|c| c.version.clone()),
            upstream_method: upstream_request.map(|(m, _)| m.to_owned()),
            upstream_path: upstream_request.map(|(_, p)| p.to_owned()),
            upstream_status,
            duration_ms,
            outcome,
            error,
        };
        tracing::info!(
            mcp_server.id = %record.mcp_server_id,
            tool.name = %record.tool,
            upstream.status = record.upstream_status,
            outcome = record.outcome.as_str(),
            duration_ms,
            "tool call"
        );
        self.audit_log.write(record).await;
    }
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    line.chars().take(300).collect()
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

    #[test]
    fn verbatim_content_reads_and_writes_as_the_same_object() {
        let text = r#"{"id":7,"subject":"Où est ma commande ?","tags":[{"name":"refund"}]}"#;
        let mut written = Vec::new();
        Structured::SameAsText.write_json(text, &mut written);
        assert_eq!(written, text.as_bytes());
        let tree = Structured::SameAsText.into_value(text);
        assert_eq!(tree["subject"], "Où est ma commande ?");
        let mut again = Vec::new();
        Structured::Value(tree).write_json("ignored", &mut again);
        assert_eq!(again, text.as_bytes());
    }
}
