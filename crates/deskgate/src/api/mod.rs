//! The management API: JSON over HTTP, authenticated with `Authorization: Bearer <api token>`.
//!
//! - `tokens`: API tokens. `accounts`: integrated accounts and their tool catalog.
//!   `mcp_servers`: minted MCP servers and their call logs. `openapi`: the generated document.
//! - Here: the extractors every handler uses (the authenticated caller, strict JSON bodies and
//!   query strings that turn rejections into the one error body).

pub mod accounts;
pub mod mcp_servers;
pub mod oauth_app;
pub mod openapi;
pub mod tokens;

use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::routing::{get, post};
use serde::de::DeserializeOwned;

use crate::app::App;
use crate::error::ApiError;
use crate::store::ApiToken;
use crate::tokens::TokenHash;

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/api-token", post(tokens::create).get(tokens::list))
        .route("/api-token/{id}", axum::routing::delete(tokens::delete))
        .route(
            "/integrated-account",
            post(accounts::create).get(accounts::list),
        )
        .route(
            "/integrated-account/{id}",
            get(accounts::get)
                .patch(accounts::update)
                .delete(accounts::delete),
        )
        .route("/integrated-account/{id}/tools", get(accounts::tools))
        .route(
            "/integrated-account/{id}/mcp",
            post(mcp_servers::create).get(mcp_servers::list),
        )
        .route(
            "/integrated-account/{id}/mcp/{mcp_id}",
            get(mcp_servers::get)
                .patch(mcp_servers::update)
                .delete(mcp_servers::delete),
        )
        .route(
            "/integrated-account/{id}/mcp/{mcp_id}/logs",
            get(mcp_servers::logs),
        )
        .route(
            "/oauth-app/{integration}",
            get(oauth_app::get).put(oauth_app::set),
        )
        .route("/openapi.json", get(openapi::document))
}

/// The API token a request was made with. Looked up on every request, so a revoked token stops
/// working at once.
pub struct Caller(pub ApiToken);

impl FromRequestParts<Arc<App>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let token = bearer_token(&parts.headers).ok_or(ApiError::Unauthorized)?;
        app.authenticate_api_token(token)
            .await?
            .map(Caller)
            .ok_or(ApiError::Unauthorized)
    }
}

/// The bearer token of an `Authorization` header. Any opaque value is accepted here (the
/// bootstrap admin token is whatever the operator chose); the hash lookup decides.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && token.len() <= 512)
        .then_some(token)
}

impl App {
    pub async fn authenticate_api_token(&self, token: &str) -> Result<Option<ApiToken>, ApiError> {
        Ok(self.store.find_api_token(&TokenHash::of(token)).await?)
    }
}

/// A JSON body parsed strictly: unknown fields and type errors become a 400 naming the field.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(JsonRejection::JsonDataError(e)) => Err(ApiError::BadRequest(format!(
                "the request body does not fit this endpoint: {}",
                innermost(&e)
            ))),
            Err(JsonRejection::JsonSyntaxError(e)) => Err(ApiError::BadRequest(format!(
                "the request body is not valid JSON: {}",
                innermost(&e)
            ))),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::BadRequest(
                "send the body as JSON with `Content-Type: application/json`".into(),
            )),
            Err(JsonRejection::BytesRejection(e))
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Err(ApiError::PayloadTooLarge)
            }
            Err(e) => Err(ApiError::BadRequest(e.body_text())),
        }
    }
}

/// A query string parsed strictly, like [`ApiJson`].
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => {
                Err(ApiError::BadRequest(format!(
                    "the query string does not fit this endpoint: {}",
                    innermost(&e)
                )))
            }
            Err(e) => Err(ApiError::BadRequest(e.body_text())),
        }
    }
}

fn innermost(e: &dyn std::error::Error) -> String {
    let mut current = e;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

/// A page of a list: `{"result": [...], "next_cursor": "..."}`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub result: Vec<T>,
    /// Pass back as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// 1 to 100, default 50.
    pub limit: Option<u32>,
}

impl PageQuery {
    pub fn limit(&self) -> Result<u32, ApiError> {
        match self.limit {
            None => Ok(50),
            Some(n @ 1..=100) => Ok(n),
            Some(n) => Err(ApiError::BadRequest(format!(
                "limit must be between 1 and 100, got {n}"
            ))),
        }
    }
}
