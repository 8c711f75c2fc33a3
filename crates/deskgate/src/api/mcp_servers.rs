//! `/integrated-account/{id}/mcp`: minting MCP servers, reading, changing and deleting them, and
//! reading their tool-call logs.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Deserializer, Serialize};

use super::{ApiJson, ApiQuery, Caller, Page};
use crate::app::App;
use crate::audit::{Outcome, ToolCallQuery, ToolCallRecord};
use crate::error::ApiError;
use crate::mcp_servers::{AuthMode, McpServer, McpServerChanges, McpServerConfig, NewMcpServer};
use crate::timestamp::Timestamp;
use crate::webhooks::WebhookView;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMcpServer {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[serde(default)]
    pub config: McpServerConfig,
    /// Also require `Authorization: Bearer <api token>` on every MCP request (`url_token`
    /// servers only).
    #[serde(default)]
    pub require_api_token_auth: bool,
    /// `url_token` (default): the URL holds a secret token. `oauth`: the URL is
    /// `<base>/mcp/<server id>` and holds no secret; clients connect with OAuth (deskgate is
    /// the authorization server) and an operator approves each one in the console. Fixed at
    /// minting.
    #[serde(default)]
    pub auth: AuthMode,
    /// When the server and its URL are deleted (its call records stay for the audit
    /// retention); at least 60 s ahead.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
    /// An http(s) URL told with a signed JSON POST when a call waits for approval. Its
    /// signing secret is generated and returned once, as `webhook_secret`.
    #[schema(max_length = 2048)]
    pub webhook_url: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMcpServer {
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    pub config: Option<McpServerConfig>,
    pub require_api_token_auth: Option<bool>,
    /// A new expiry, or `null` to clear it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Option<Timestamp>>,
    /// A webhook URL (set, or changed: a changed URL keeps its secret), or `null` to remove
    /// the webhook. Setting one on a server without a webhook returns its `webhook_secret` once.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 2048)]
    pub webhook_url: Option<Option<String>>,
}

/// Tells "absent" (outer `None`) from "null" (`Some(None)`).
pub(super) fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct McpServerView {
    pub id: String,
    pub name: String,
    pub config: McpServerConfig,
    pub require_api_token_auth: bool,
    /// `url_token` or `oauth`.
    pub auth: AuthMode,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
    pub integrated_account_id: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    /// The server's webhook (never its secret), if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookView>,
}

impl McpServerView {
    /// The view with the server's webhook read in.
    async fn of(app: &App, server: McpServer) -> Result<Self, ApiError> {
        let webhook = app.webhook(&server.id).await?;
        Ok(McpServerView {
            webhook,
            ..server.into()
        })
    }
}

impl From<McpServer> for McpServerView {
    fn from(s: McpServer) -> Self {
        McpServerView {
            id: s.id,
            name: s.name,
            config: s.config,
            require_api_token_auth: s.require_api_token_auth,
            auth: s.auth,
            expires_at: s.expires_at,
            integrated_account_id: s.integrated_account_id,
            created_at: s.created_at,
            updated_at: s.updated_at,
            webhook: None,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedMcpServer {
    #[serde(flatten)]
    pub server: McpServerView,
    /// The MCP URL. For `url_token`, its token is the whole credential and is shown only in
    /// this response; for `oauth`, it holds the server id and no secret.
    pub url: String,
    /// The webhook's signing secret, shown only in this response (when `webhook_url` was
    /// given). Receivers check `X-Deskgate-Signature` with it (docs/approvals.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UpdatedMcpServer {
    #[serde(flatten)]
    pub server: McpServerView,
    /// A new webhook's signing secret, shown only in this response (when this change set a
    /// webhook on a server that had none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RotatedWebhookSecret {
    /// The new signing secret, shown only in this response; the old one no longer signs.
    pub webhook_secret: String,
}

#[utoipa::path(post, path = "/integrated-account/{id}/mcp", operation_id = "create_mcp_server", tag = "mcp servers", request_body = CreateMcpServer,
    responses((status = 201, body = CreatedMcpServer), (status = 400, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)),
    security(("api_token" = [])))]
pub async fn create(
    _caller: Caller,
    State(app): State<Arc<App>>,
    Path(account_id): Path<String>,
    ApiJson(body): ApiJson<CreateMcpServer>,
) -> Result<(StatusCode, Json<CreatedMcpServer>), ApiError> {
    // Checked before anything is minted, so a bad URL leaves nothing behind.
    if let Some(url) = &body.webhook_url {
        crate::webhooks::parse_url(url)?;
    }
    let (server, url) = app
        .mint_mcp_server_in(
            &account_id,
            NewMcpServer {
                name: body.name,
                config: body.config,
                require_api_token_auth: body.require_api_token_auth,
                expires_at: body.expires_at,
            },
            body.auth,
        )
        .await?;
    let webhook_secret = match &body.webhook_url {
        Some(webhook_url) => app
            .set_webhook(&account_id, &server.id, webhook_url)
            .await?
            .map(|s| secrecy::ExposeSecret::expose_secret(&s).to_owned()),
        None => None,
    };
    Ok((
        StatusCode::CREATED,
        Json(CreatedMcpServer {
            server: McpServerView::of(&app, server).await?,
            url,
            webhook_secret,
        }),
    ))
}

#[utoipa::path(get, path = "/integrated-account/{id}/mcp", operation_id = "list_mcp_servers", tag = "mcp servers",
    responses((status = 200, body = Page<McpServerView>), (status = 404, body = crate::error::ErrorBody)),
    security(("api_token" = [])))]
pub async fn list(
    _caller: Caller,
    State(app): State<Arc<App>>,
    Path(account_id): Path<String>,
) -> Result<Json<Page<McpServerView>>, ApiError> {
    app.account(&account_id).await?;
    let now = Timestamp::now();
    let mut result = Vec::new();
    for server in app.store.list_mcp_servers(&account_id).await? {
        if !server.is_expired(now) {
            result.push(McpServerView::of(&app, server).await?);
        }
    }
    Ok(Json(Page {
        result,
        next_cursor: None,
    }))
}

#[utoipa::path(get, path = "/integrated-account/{id}/mcp/{mcp_id}", operation_id = "get_mcp_server", tag = "mcp servers",
    responses((status = 200, body = McpServerView), (status = 404, body = crate::error::ErrorBody)),
    security(("api_token" = [])))]
pub async fn get(
    _caller: Caller,
    State(app): State<Arc<App>>,
    Path((account_id, id)): Path<(String, String)>,
) -> Result<Json<McpServerView>, ApiError> {
    let server = app.mcp_server(&account_id, &id).await?;
    Ok(Json(McpServerView::of(&app, server).await?))
}

#[utoipa::path(patch, path = "/integrated-account/{id}/mcp/{mcp_id}", operation_id = "update_mcp_server", tag = "mcp servers",
    request_body = UpdateMcpServer,
    responses((status = 200, body = UpdatedMcpServer), (status = 400, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)),
    security(("api_token" = [])))]
pub async fn update(
    _caller: Caller,
    State(app): State<Arc<App>>,
    Path((account_id, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<UpdateMcpServer>,
) -> Result<Json<UpdatedMcpServer>, ApiError> {
    if let Some(Some(url)) = &body.webhook_url {
        crate::webhooks::parse_url(url)?;
    }
    let server = app
        .update_mcp_server(
            &account_id,
            &id,
            McpServerChanges {
                name: body.name,
                config: body.config,
                require_api_token_auth: body.require_api_token_auth,
                expires_at: body.expires_at,
            },
        )
        .await?;
    let webhook_secret = match &body.webhook_url {
        None => None,
        Some(None) => {
            app.remove_webhook(&account_id, &id).await?;
            None
        }
        Some(Some(url)) => app
            .set_webhook(&account_id, &id, url)
            .await?
            .map(|s| secrecy::ExposeSecret::expose_secret(&s).to_owned()),
    };
    Ok(Json(UpdatedMcpServer {
        server: McpServerView::of(&app, server).await?,
        webhook_secret,
    }))
}

#[utoipa::path(post, path = "/integrated-account/{id}/mcp/{mcp_id}/webhook/rotate-secret", operation_id = "rotate_webhook_secret", tag = "mcp servers",
    responses((status = 200, body = RotatedWebhookSecret),
              (status = 404, description = "No such server, or it has no webhook", body = crate::error::ErrorBody)),
    security(("api_token" = [])))]
pub async fn rotate_webhook_secret(
    _caller: Caller,
    State(app): State<Arc<App>>,
    Path((account_id, id)): Path<(String, String)>,
) -> Result<Json<RotatedWebhookSecret>, ApiError> {
    let secret = app.rotate_webhook_secret(&account_id, &id).await?;
    Ok(Json(RotatedWebhookSecret {
        webhook_secret: secrecy::ExposeSecret::expose_secret(&secret).to_owned(),
    }))
}

#[utoipa::path(delete, path = "/integrated-account/{id}/mcp/{mcp_id}", operation_id = "delete_mcp_server", tag = "mcp servers",
    responses((status = 204, description = "Deleted; its URL stops answering at once"),
              (status = 404, body = crate::error::ErrorBody)),
    security(("api_token" = [])))]
pub async fn delete(
    _caller: Caller,
    State(app): State<Arc<App>>,
    Path((account_id, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    app.delete_mcp_server(&account_id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LogsQuery {
    pub cursor: Option<String>,
    /// 1 to 100, default 50.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    pub tool: Option<String>,
    /// `ok`, `invalid_arguments`, `rate_limited`, `upstream_client_error`, `upstream_failure`,
    /// `needs_reauth`, `refused` or `pending` (a write recorded before it was sent whose
    /// outcome was never recorded).
    pub outcome: Option<String>,
    /// What the server's policy decided: `allowed`, `denied`, `held` or `approved`.
    pub policy_decision: Option<String>,
    /// Only calls made by OAuth clients this person approved (the person's id).
    pub person: Option<String>,
}

#[utoipa::path(get, path = "/integrated-account/{id}/mcp/{mcp_id}/logs", operation_id = "list_tool_calls", tag = "mcp servers", params(LogsQuery),
    responses((status = 200, body = Page<ToolCallRecord>), (status = 400, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)),
    security(("api_token" = [])))]
pub async fn logs(
    _caller: Caller,
    State(app): State<Arc<App>>,
    Path((account_id, id)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<LogsQuery>,
) -> Result<Json<Page<ToolCallRecord>>, ApiError> {
    // No check that the server (or its account) still exists: the log outlives both, and a
    // deleted server's history is exactly what an audit asks for. Records this replica still
    // holds behind answers are written first.
    app.audit_log.flush().await;
    let limit = super::PageQuery {
        cursor: None,
        limit: q.limit,
    }
    .limit()?;
    let outcome = q
        .outcome
        .as_deref()
        .map(|o| {
            Outcome::parse(o).ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "outcome {o:?} is not one of: ok, invalid_arguments, rate_limited, upstream_client_error, upstream_failure, needs_reauth, refused, pending"
                ))
            })
        })
        .transpose()?;
    let policy_decision = q
        .policy_decision
        .as_deref()
        .map(|d| {
            crate::policy::PolicyOutcome::parse(d).ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "policy_decision {d:?} is not one of: allowed, denied, held, approved"
                ))
            })
        })
        .transpose()?;
    let rows = app
        .store
        .list_tool_calls(
            &account_id,
            &ToolCallQuery {
                mcp_server_id: Some(id),
                tool: q.tool,
                outcome,
                policy_decision,
                person_id: q.person,
                before_id: q.cursor,
                limit: limit + 1,
                ..Default::default()
            },
        )
        .await?;
    let more = rows.len() > limit as usize;
    let result: Vec<ToolCallRecord> = rows.into_iter().take(limit as usize).collect();
    let next_cursor = more.then(|| result.last().map(|r| r.id.clone())).flatten();
    Ok(Json(Page {
        result,
        next_cursor,
    }))
}
