//! `/integrated-account`: connecting a Gorgias account, reading, renaming, re-keying and
//! deleting it, and previewing the tools a server of it would expose.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::{ApiJson, ApiQuery, Caller, Page, PageQuery};
use crate::accounts::{AccountContext, AccountStatus, AuthType, IntegratedAccount};
use crate::app::App;
use crate::connect::{ApiKeyCredentials, ConnectApiKey};
use crate::error::ApiError;
use crate::timestamp::Timestamp;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAccount {
    /// The integration to connect; only `gorgias` exists.
    #[schema(pattern = "^gorgias$", example = "gorgias")]
    pub integration: String,
    /// A name for this connection; defaults to the subdomain.
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    pub credentials: ApiKeyCredentials,
    /// Replaces `https://<subdomain>.gorgias.com`, e.g. `http://127.0.0.1:8081` for the sandbox.
    /// Accepted only when the server runs with `--allow-custom-upstream`.
    pub api_base_url: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAccount {
    #[schema(min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// New API-key credentials; checked against Gorgias before they replace the old ones.
    pub credentials: Option<ApiKeyCredentials>,
    /// How many calls of the helpdesk's rate-limit bucket agents must leave to people and
    /// other integrations; `null` removes the reserve.
    #[serde(default, deserialize_with = "super::mcp_servers::present")]
    #[schema(value_type = Option<u32>, minimum = 1)]
    pub rate_limit_reserve: Option<Option<u32>>,
}

/// An integrated account as the API shows it: never its credentials.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccountView {
    pub id: String,
    pub integration: String,
    pub name: String,
    pub status: AccountStatus,
    pub auth_type: AuthType,
    pub context: AccountContext,
    /// Calls of the helpdesk's rate-limit bucket left to people and other integrations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit_reserve: Option<u32>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl From<IntegratedAccount> for AccountView {
    fn from(a: IntegratedAccount) -> Self {
        AccountView {
            id: a.id,
            integration: a.integration,
            name: a.name,
            status: a.status,
            auth_type: a.auth_type,
            context: a.context,
            rate_limit_reserve: a.rate_limit_reserve,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

#[utoipa::path(post, path = "/integrated-account", operation_id = "connect_account", tag = "integrated accounts", request_body = CreateAccount,
    responses((status = 201, body = AccountView), (status = 400, body = crate::error::ErrorBody),
              (status = 502, description = "Gorgias could not be reached", body = crate::error::ErrorBody)),
    security(("api_token" = [])))]
pub async fn create(
    _caller: Caller,
    State(app): State<Arc<App>>,
    ApiJson(body): ApiJson<CreateAccount>,
) -> Result<(StatusCode, Json<AccountView>), ApiError> {
    let account = app
        .connect_with_api_key(ConnectApiKey {
            integration: body.integration,
            name: body.name,
            credentials: body.credentials,
            api_base_url: body.api_base_url,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(account.into())))
}

#[utoipa::path(get, path = "/integrated-account", operation_id = "list_accounts", tag = "integrated accounts", params(PageQuery),
    responses((status = 200, body = Page<AccountView>)), security(("api_token" = [])))]
pub async fn list(
    _caller: Caller,
    State(app): State<Arc<App>>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<Page<AccountView>>, ApiError> {
    let limit = page.limit()?;
    let rows = app
        .store
        .list_accounts(page.cursor.as_deref(), limit + 1)
        .await?;
    let more = rows.len() > limit as usize;
    let result: Vec<AccountView> = rows
        .into_iter()
        .take(limit as usize)
        .map(|s| s.account.into())
        .collect();
    let next_cursor = more.then(|| result.last().map(|a| a.id.clone())).flatten();
    Ok(Json(Page {
        result,
        next_cursor,
    }))
}

#[utoipa::path(get, path = "/integrated-account/{id}", operation_id = "get_account", tag = "integrated accounts",
    responses((status = 200, body = AccountView), (status = 404, body = crate::error::ErrorBody)),
    security(("api_token" = [])))]
pub async fn get(
    _caller: Caller,
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Json<AccountView>, ApiError> {
    Ok(Json(app.account(&id).await?.account.into()))
}

/// What a connection test found (the console's "Test connection").
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConnectionTest {
    /// `ok`, `rejected`, `not_found`, `rate_limited`, `upstream_error`, `unreachable` or
    /// `needs_credentials`.
    pub state: String,
    /// What it means, in plain words (never a secret).
    pub detail: String,
    #[schema(value_type = String, format = DateTime)]
    pub checked_at: crate::timestamp::Timestamp,
}

/// `POST /integrated-account/:id/test-connection`: one real, cheap request to Gorgias with the
/// stored credentials; the result is also the account's health in the console. A refusal by
/// Gorgias is a finding (200), not an error of this request.
#[utoipa::path(post, path = "/integrated-account/{id}/test-connection", operation_id = "test_account_connection", tag = "integrated accounts",
    responses((status = 200, body = ConnectionTest), (status = 404, body = crate::error::ErrorBody)),
    security(("api_token" = [])))]
pub async fn test_connection(
    _caller: Caller,
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Json<ConnectionTest>, ApiError> {
    let stored = app.account(&id).await?;
    let health = app.test_connection(&stored).await?;
    Ok(Json(ConnectionTest {
        state: health.state.as_str().to_owned(),
        detail: health.detail,
        checked_at: health.checked_at,
    }))
}

#[utoipa::path(patch, path = "/integrated-account/{id}", operation_id = "update_account", tag = "integrated accounts", request_body = UpdateAccount,
    responses((status = 200, body = AccountView), (status = 400, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)),
    security(("api_token" = [])))]
pub async fn update(
    _caller: Caller,
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateAccount>,
) -> Result<Json<AccountView>, ApiError> {
    if let Some(reserve) = body.rate_limit_reserve {
        if reserve == Some(0) {
            return Err(ApiError::BadRequest(
                "rate_limit_reserve must be at least 1 (null removes it)".into(),
            ));
        }
        app.account(&id).await?;
        app.store
            .set_rate_limit_reserve(&id, reserve, Timestamp::now())
            .await?;
        // Calls resolve their account through the tenant cache: forget it.
        app.after_credentials_change(&id);
    }
    let account = app.update_account(&id, body.name, body.credentials).await?;
    Ok(Json(account.into()))
}

#[utoipa::path(delete, path = "/integrated-account/{id}", operation_id = "delete_account", tag = "integrated accounts",
    responses((status = 204, description = "Deleted with its MCP servers; their call logs stay for the audit retention"),
              (status = 404, body = crate::error::ErrorBody)),
    security(("api_token" = [])))]
pub async fn delete(
    _caller: Caller,
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    app.delete_account(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ToolsQuery {
    /// Comma-separated method selectors: `read`, `write`, `custom` or method names.
    pub methods: Option<String>,
    /// Comma-separated tags.
    pub tags: Option<String>,
    /// Also the admin tools (writes that change the helpdesk's set-up, bulk jobs), as a
    /// server minted with `admin_tools: true` offers them.
    #[serde(default)]
    pub admin_tools: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ToolsPreview {
    pub count: usize,
    /// Size of the `tools/list` result these tools make, in bytes, and in o200k_base tokens.
    pub tools_list_bytes: usize,
    pub tokens: usize,
    #[schema(value_type = Vec<Object>)]
    pub tools: Vec<serde_json::Value>,
}

#[utoipa::path(get, path = "/integrated-account/{id}/tools", operation_id = "preview_tools", tag = "integrated accounts", params(ToolsQuery),
    responses((status = 200, body = ToolsPreview), (status = 400, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)),
    security(("api_token" = [])))]
pub async fn tools(
    _caller: Caller,
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ToolsQuery>,
) -> Result<Json<ToolsPreview>, ApiError> {
    let split = |s: Option<String>| {
        s.map(|s| {
            s.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
    };
    let config = crate::mcp_servers::McpServerConfig {
        methods: split(q.methods),
        tags: split(q.tags),
        admin_tools: q.admin_tools,
        ..Default::default()
    };
    let stored = app.account(&id).await?;
    let mut filter = config.tool_filter(app.integration.catalog())?;
    // What its servers would offer: reads only on an account connected read-only.
    if stored.account.context.is_read_only() {
        filter = filter.reads_only();
    }
    let catalog = app
        .account_catalog(&stored.account, &stored.sealed_credentials)
        .await;
    let list = catalog.catalog.tools_list_json(&filter);
    let tools = match list {
        serde_json::Value::Array(tools) => tools,
        other => vec![other],
    };
    let json = serde_json::json!({ "tools": tools }).to_string();
    Ok(Json(ToolsPreview {
        count: tools.len(),
        tools_list_bytes: json.len(),
        tokens: integration_spec::tokens::count(&json),
        tools,
    }))
}
