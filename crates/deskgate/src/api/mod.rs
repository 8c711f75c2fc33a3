//! The management API: JSON over HTTP, authenticated with `Authorization: Bearer <api token>`,
//! or with a console session cookie (a person's: then every request but GET and HEAD must carry
//! the session's CSRF token in `X-CSRF-Token`).
//!
//! Roles: the `Caller` extractor admits admins only (an admin API token, or a person whose role
//! is `admin`); the few endpoints agents may use (`/me`, their own grants) take an
//! [`AnyCaller`] instead. Default deny: a new endpoint is admin-only unless it asks otherwise.
//!
//! - `tokens`: API tokens. `people`: people, their roles, shares and grants.
//!   `accounts`: integrated accounts and their tool catalog.
//!   `mcp_servers`: minted MCP servers and their call logs. `openapi`: the generated document.
//! - Here: the extractors every handler uses (the authenticated caller, strict JSON bodies and
//!   query strings that turn rejections into the one error body).

pub mod accounts;
pub mod actions;
pub mod mcp_servers;
pub mod oauth_app;
pub mod oauth_grants;
pub mod openapi;
pub mod people;
pub mod tokens;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;

use crate::app::App;
use crate::error::ApiError;
use crate::store::ApiToken;
use crate::tokens::TokenHash;
use crate::ui::session::{Operator, SESSION_COOKIE, cookie};

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
            "/integrated-account/{id}/test-connection",
            post(accounts::test_connection),
        )
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
            "/integrated-account/{id}/mcp/{mcp_id}/webhook/rotate-secret",
            post(mcp_servers::rotate_webhook_secret),
        )
        .route(
            "/integrated-account/{id}/mcp/{mcp_id}/grants",
            get(oauth_grants::list),
        )
        .route(
            "/integrated-account/{id}/mcp/{mcp_id}/grants/{grant_id}",
            axum::routing::delete(oauth_grants::revoke),
        )
        .route(
            "/integrated-account/{id}/mcp/{mcp_id}/shares",
            get(people::shares),
        )
        .route(
            "/integrated-account/{id}/mcp/{mcp_id}/shares/{person_id}",
            axum::routing::put(people::share).delete(people::unshare),
        )
        .route("/me", get(people::me))
        .route("/people", post(people::create).get(people::list))
        .route("/people/{id}", get(people::get).delete(people::delete))
        .route(
            "/people/{id}/password",
            axum::routing::put(people::reset_password),
        )
        .route("/people/{id}/servers", get(people::servers))
        .route("/people/{id}/grants", get(people::grants))
        .route(
            "/people/{id}/grants/{grant_id}",
            axum::routing::delete(people::revoke_grant),
        )
        .route("/integrated-account/{id}/actions", get(actions::list))
        .route(
            "/integrated-account/{id}/actions/{action_id}/approve",
            post(actions::approve),
        )
        .route(
            "/integrated-account/{id}/actions/{action_id}/reject",
            post(actions::reject),
        )
        .route(
            "/oauth-app/{integration}",
            get(oauth_app::get).put(oauth_app::set),
        )
        .route("/openapi.json", get(openapi::document))
}

/// An admin: an admin API token, or a console session of a person whose role is `admin`.
/// Looked up on every request, so a revoked token or a deleted person stops at once. An
/// `mcp`-scoped token is refused here: it only opens MCP servers.
pub struct Caller(pub Operator);

/// Anyone signed in, agents included (see the module's note on roles).
pub struct AnyCaller(pub Operator);

impl FromRequestParts<Arc<App>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let AnyCaller(operator) = AnyCaller::from_request_parts(parts, app).await?;
        operator.require_admin()?;
        Ok(Caller(operator))
    }
}

impl FromRequestParts<Arc<App>> for AnyCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let client = app.client_address(&parts.headers, &parts.extensions);
        let bearer = bearer_token(&parts.headers);
        if bearer.is_none()
            && let Some(session) = cookie(&parts.headers, SESSION_COOKIE)
            && let Some(operator) = app.session_operator(session).await?
        {
            if !parts.method.is_safe() {
                let presented = parts
                    .headers
                    .get("x-csrf-token")
                    .and_then(|v| v.to_str().ok());
                operator.check_csrf(presented).map_err(|_| {
                    ApiError::Forbidden(
                        "a request made with a console session must carry its CSRF token in X-CSRF-Token".into(),
                    )
                })?;
            }
            return Ok(AnyCaller(operator));
        }
        let token = app.authenticate_api_token(bearer, client).await?;
        token.require_admin()?;
        Ok(AnyCaller(Operator {
            id: token.id,
            person: None,
            csrf_token: None,
        }))
    }
}

impl ApiToken {
    /// Refuses a token that may not act as an admin (the API, the console).
    pub fn require_admin(&self) -> Result<(), ApiError> {
        match self.scope {
            crate::tokens::TokenScope::Admin => Ok(()),
            crate::tokens::TokenScope::Mcp => Err(ApiError::Forbidden(
                "this API token's scope is `mcp`: it only authenticates MCP requests; the management API and the console need an `admin` token".into(),
            )),
        }
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
    /// The API token presented, if it exists. Failures are counted per client address, and an
    /// address past its budget is refused before its token is even looked up (see
    /// `auth_throttle`). A missing token is not a failed guess and is not counted.
    pub async fn authenticate_api_token(
        &self,
        token: Option<&str>,
        client: IpAddr,
    ) -> Result<ApiToken, ApiError> {
        let token = token.ok_or(ApiError::Unauthorized)?;
        if let Some(retry_after_secs) = self.auth_throttle.blocked(client) {
            return Err(ApiError::TooManyRequests { retry_after_secs });
        }
        match self
            .store
            .find_api_token(&TokenHash::of(token.trim()))
            .await?
        {
            Some(found) => Ok(found),
            None => {
                self.auth_throttle.failed(client);
                Err(ApiError::Unauthorized)
            }
        }
    }

    /// The address a request comes from, as the throttle counts it (see `auth_throttle`).
    pub fn client_address(&self, headers: &HeaderMap, extensions: &Extensions) -> IpAddr {
        let peer = extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0);
        crate::auth_throttle::client_address(headers, peer, &self.config.trusted_proxies)
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
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// 1 to 100, default 50.
    #[param(minimum = 1, maximum = 100)]
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
