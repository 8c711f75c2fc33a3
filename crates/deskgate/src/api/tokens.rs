//! `/api-token`: minting, listing and revoking management API tokens, `admin` or `mcp` scoped.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::{ApiJson, Caller};
use crate::app::App;
use crate::error::ApiError;
use crate::store::{ApiToken, Store};
use crate::tokens::TokenScope;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiToken {
    /// What the token is for, e.g. `ci` or `console`.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// `admin` (default): the management API and the console. `mcp`: only MCP requests to
    /// servers minted with `require_api_token_auth`.
    #[serde(default)]
    pub scope: Option<TokenScope>,
    /// For an `mcp` token: only these MCP servers.
    #[serde(default)]
    pub mcp_server_ids: Option<Vec<String>>,
    /// For an `mcp` token: only the servers of these integrated accounts.
    #[serde(default)]
    pub integrated_account_ids: Option<Vec<String>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedApiToken {
    #[serde(flatten)]
    pub info: ApiToken,
    /// The token itself. Shown only in this response: store it now.
    pub token: String,
}

#[utoipa::path(post, path = "/api-token", operation_id = "create_api_token", tag = "api tokens", request_body = CreateApiToken,
    responses((status = 201, body = CreatedApiToken), (status = 400, body = crate::error::ErrorBody)),
    security(("api_token" = [])))]
pub async fn create(
    _caller: Caller,
    State(app): State<Arc<App>>,
    ApiJson(body): ApiJson<CreateApiToken>,
) -> Result<(StatusCode, Json<CreatedApiToken>), ApiError> {
    let (token, secret) = app.mint_api_token(body).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedApiToken {
            info: token,
            token: secret,
        }),
    ))
}

#[utoipa::path(get, path = "/api-token", operation_id = "list_api_tokens", tag = "api tokens",
    responses((status = 200, body = super::Page<ApiToken>)), security(("api_token" = [])))]
pub async fn list(
    _caller: Caller,
    State(app): State<Arc<App>>,
) -> Result<Json<super::Page<ApiToken>>, ApiError> {
    Ok(Json(super::Page {
        result: app.store.list_api_tokens().await?,
        next_cursor: None,
    }))
}

#[utoipa::path(delete, path = "/api-token/{id}", operation_id = "revoke_api_token", tag = "api tokens",
    responses((status = 204, description = "Revoked: it stops working at once, on every replica"),
              (status = 404, body = crate::error::ErrorBody)),
    security(("api_token" = [])))]
pub async fn delete(
    _caller: Caller,
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if app.store.delete_api_token(&id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("API token"))
    }
}

impl App {
    /// Mints an API token; the secret is returned once and only its hash is kept.
    pub async fn mint_api_token(
        &self,
        new: CreateApiToken,
    ) -> Result<(ApiToken, String), ApiError> {
        mint(&self.store, new).await
    }
}

/// Checks and mints an API token (the API, the console and `deskgate token create`).
pub async fn mint(store: &Store, new: CreateApiToken) -> Result<(ApiToken, String), ApiError> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::BadRequest(
            "name must be 1 to 100 characters".into(),
        ));
    }
    let scope = new.scope.unwrap_or(TokenScope::Admin);
    let mcp_server_ids = checked_ids(new.mcp_server_ids, "mcp_server_ids")?;
    let integrated_account_ids = checked_ids(new.integrated_account_ids, "integrated_account_ids")?;
    if scope == TokenScope::Admin && (mcp_server_ids.is_some() || integrated_account_ids.is_some())
    {
        return Err(ApiError::BadRequest(
            "mcp_server_ids and integrated_account_ids limit an `mcp` token; an `admin` token cannot be limited (set scope to \"mcp\")".into(),
        ));
    }
    for id in mcp_server_ids.iter().flatten() {
        if store.find_mcp_server(id).await?.is_none() {
            return Err(ApiError::BadRequest(format!("no MCP server has id {id:?}")));
        }
    }
    for id in integrated_account_ids.iter().flatten() {
        if store.get_account(id).await?.is_none() {
            return Err(ApiError::BadRequest(format!(
                "no integrated account has id {id:?}"
            )));
        }
    }
    let minted = crate::tokens::mint(crate::tokens::TokenKind::Api);
    let token = ApiToken {
        id: uuid::Uuid::now_v7().to_string(),
        name: name.to_owned(),
        scope,
        mcp_server_ids,
        integrated_account_ids,
        bootstrap: false,
        created_at: crate::timestamp::Timestamp::now(),
    };
    store.insert_api_token(&token, &minted.hash).await?;
    tracing::info!(api_token.id = %token.id, scope = scope.as_str(), "API token minted");
    Ok((token, crate::tokens::reveal(&minted.secret).to_owned()))
}

/// An id list as given: `None` stays "no limit"; an empty list would allow nothing, which is
/// surely a mistake.
fn checked_ids(ids: Option<Vec<String>>, field: &str) -> Result<Option<Vec<String>>, ApiError> {
    let Some(ids) = ids else {
        return Ok(None);
    };
    let mut ids: Vec<String> = ids.into_iter().map(|id| id.trim().to_owned()).collect();
    ids.sort();
    ids.dedup();
    if ids.is_empty() || ids.len() > 100 || ids.iter().any(|id| id.is_empty() || id.len() > 64) {
        return Err(ApiError::BadRequest(format!(
            "{field} must list 1 to 100 ids, or be left out for no limit"
        )));
    }
    Ok(Some(ids))
}
