//! The audit log: one record per `tools/call`, never holding argument values.

use serde::Serialize;

use crate::timestamp::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The upstream answered 2xx.
    Ok,
    /// The arguments failed validation; nothing was sent upstream.
    InvalidArguments,
    /// The upstream answered 429.
    RateLimited,
    /// The upstream answered another 4xx.
    UpstreamClientError,
    /// The upstream answered 5xx, timed out or could not be reached.
    UpstreamFailure,
    /// The account must be reconnected (its OAuth grant is gone).
    NeedsReauth,
    /// The tool is unknown or filtered out for this server.
    Refused,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::InvalidArguments => "invalid_arguments",
            Outcome::RateLimited => "rate_limited",
            Outcome::UpstreamClientError => "upstream_client_error",
            Outcome::UpstreamFailure => "upstream_failure",
            Outcome::NeedsReauth => "needs_reauth",
            Outcome::Refused => "refused",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Outcome::Ok,
            Outcome::InvalidArguments,
            Outcome::RateLimited,
            Outcome::UpstreamClientError,
            Outcome::UpstreamFailure,
            Outcome::NeedsReauth,
            Outcome::Refused,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ToolCallRecord {
    pub id: String,
    pub mcp_server_id: String,
    pub integrated_account_id: String,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub tool: String,
    pub client_name: Option<String>,
    pub client_version: Option<String>,
    pub upstream_method: Option<String>,
    pub upstream_path: Option<String>,
    pub upstream_status: Option<u16>,
    pub duration_ms: u64,
    pub outcome: Outcome,
    /// A short, secret-free reason for a failed call.
    pub error: Option<String>,
}

/// Filters for reading the log.
#[derive(Debug, Clone, Default)]
pub struct ToolCallQuery {
    pub mcp_server_id: Option<String>,
    pub tool: Option<String>,
    pub outcome: Option<Outcome>,
    /// Records strictly older than this record id (ids are time-ordered UUIDv7).
    pub before_id: Option<String>,
    pub limit: u32,
}
