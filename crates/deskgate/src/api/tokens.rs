//! `/api-token`: minting, listing and revoking management API tokens.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::{ApiJson, Caller};
use crate::app::App;
use crate::error::ApiError;
use crate::store::ApiToken;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiToken {
    /// What the token is for, e.g. `ci` or `console`.
    pub name: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedApiToken {
    #[serde(flatten)]
    pub info: ApiToken,
    /// The token itself. Shown only in this response: store it now.
    pub token: String,
}

#[utoipa::path(post, path = "/api-token", tag = "api tokens", request_body = CreateApiToken,
    responses((status = 201, body = CreatedApiToken), (status = 400, body = crate::error::ErrorBody)),
    security(("api_token" = [])))]
pub async fn create(
    _caller: Caller,
    State(app): State<Arc<App>>,
    ApiJson(body): ApiJson<CreateApiToken>,
) -> Result<(StatusCode, Json<CreatedApiToken>), ApiError> {
    let (token, secret) = app.mint_api_token(&body.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedApiToken {
            info: token,
            token: secret,
        }),
    ))
}

#[utoipa::path(get, path = "/api-token", tag = "api tokens",
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

#[utoipa::path(delete, path = "/api-token/{id}", tag = "api tokens",
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)), security(("api_token" = [])))]
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
    pub async fn mint_api_token(&self, name: &str) -> Result<(ApiToken, String), ApiError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ApiError::BadRequest(
                "name must be 1 to 100 characters".into(),
            ));
        }
        let minted = crate::tokens::mint(crate::tokens::TokenKind::Api);
        let token = ApiToken {
            id: uuid::Uuid::now_v7().to_string(),
            name: name.to_owned(),
            created_at: crate::timestamp::Timestamp::now(),
        };
        self.store.insert_api_token(&token, &minted.hash).await?;
        Ok((token, crate::tokens::reveal(&minted.secret).to_owned()))
    }
}
