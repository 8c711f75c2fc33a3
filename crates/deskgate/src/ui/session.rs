//! Console sign-in: an API token opens a session held in an HttpOnly, SameSite=Lax cookie; the
//! store keeps only the session id's hash and the session's CSRF token. A session dies with its
//! API token (revoking the token signs it out at once) and after `SESSION_HOURS`.
//!
//! Every state-changing console request must carry the session's CSRF token (a hidden form
//! field or the `X-CSRF-Token` header); `Operator::check_csrf` is the one place that checks it.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use subtle::ConstantTimeEq;

use crate::app::App;
use crate::error::ApiError;
use crate::store::{ConsoleSessionRow, StoreError};
use crate::timestamp::Timestamp;
use crate::tokens::TokenHash;

pub const SESSION_COOKIE: &str = "dg_session";
const SESSION_HOURS: i64 = 12;
pub const SESSION_SECS: i64 = SESSION_HOURS * 3600;

/// Who is operating the console or the connect flow.
#[derive(Debug, Clone)]
pub struct Operator {
    pub api_token_id: String,
    /// The session's CSRF token; `None` when the operator came with a bearer token (no cookie,
    /// so no cross-site request can ride on it).
    pub csrf_token: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("sign in first")]
    SignedOut,
    #[error("{0}")]
    Refused(crate::error::ApiError),
    #[error(
        "this form has expired or did not come from the console; reload the page and try again"
    )]
    BadCsrf,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Operator {
    /// Refuses a state-changing request whose CSRF token is missing or wrong.
    pub fn check_csrf(&self, provided: Option<&str>) -> Result<(), SessionError> {
        match &self.csrf_token {
            None => Ok(()),
            Some(expected) => {
                let ok =
                    provided.is_some_and(|p| bool::from(p.as_bytes().ct_eq(expected.as_bytes())));
                if ok {
                    Ok(())
                } else {
                    Err(SessionError::BadCsrf)
                }
            }
        }
    }
}

/// The value of one cookie.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, `Secure` when served over HTTPS.
pub fn set_cookie(
    app: &App,
    name: &str,
    value: &str,
    path: &str,
    max_age_secs: i64,
) -> HeaderValue {
    let secure = if app.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    ))
    .expect("cookie values are URL-safe")
}

impl App {
    /// Opens a console session for a valid admin API token; returns the cookie value. A wrong
    /// token counts against the client's address (see `auth_throttle`).
    pub async fn sign_in(&self, api_token: &str, client: IpAddr) -> Result<String, ApiError> {
        let api_token = Some(api_token.trim()).filter(|t| !t.is_empty());
        let token = self.authenticate_api_token(api_token, client).await?;
        token.require_admin()?;
        let id = crate::tokens::random_urlsafe(32);
        let now = Timestamp::now();
        self.store
            .insert_console_session(&ConsoleSessionRow {
                id_hash: TokenHash::of(&id).0,
                api_token_id: token.id,
                csrf_token: crate::tokens::random_urlsafe(32),
                created_at: now.millis(),
                expires_at: now.plus_secs(SESSION_HOURS * 3600).millis(),
            })
            .await?;
        Ok(id)
    }

    pub async fn sign_out(&self, session_id: &str) -> Result<(), SessionError> {
        self.store
            .delete_console_session(&TokenHash::of(session_id).0)
            .await?;
        Ok(())
    }

    /// The operator behind a request: a console session cookie, or a bearer admin API token
    /// (counted against `client` when wrong).
    pub async fn operator(
        &self,
        headers: &HeaderMap,
        client: IpAddr,
    ) -> Result<Operator, SessionError> {
        if let Some(session) = cookie(headers, SESSION_COOKIE)
            && let Some(row) = self
                .store
                .find_console_session(&TokenHash::of(session).0, Timestamp::now())
                .await?
        {
            return Ok(Operator {
                api_token_id: row.api_token_id,
                csrf_token: Some(row.csrf_token),
            });
        }
        let Some(bearer) = crate::api::bearer_token(headers) else {
            return Err(SessionError::SignedOut);
        };
        match self.authenticate_api_token(Some(bearer), client).await {
            Ok(token) => {
                token.require_admin().map_err(SessionError::Refused)?;
                Ok(Operator {
                    api_token_id: token.id,
                    csrf_token: None,
                })
            }
            Err(ApiError::Unauthorized) => Err(SessionError::SignedOut),
            Err(ApiError::Internal(cause)) => Err(SessionError::Refused(ApiError::Internal(cause))),
            Err(refused) => Err(SessionError::Refused(refused)),
        }
    }
}

impl axum::response::IntoResponse for SessionError {
    fn into_response(self) -> axum::response::Response {
        use axum::http::StatusCode;
        match self {
            SessionError::SignedOut => axum::response::Redirect::to("/ui/sign-in").into_response(),
            SessionError::Refused(ApiError::Internal(cause)) => {
                tracing::error!(error = %cause, "console session lookup failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    super::page::error_page("Something went wrong", "Try again in a moment."),
                )
                    .into_response()
            }
            SessionError::Refused(refused) => {
                let status = match &refused {
                    ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
                    _ => StatusCode::FORBIDDEN,
                };
                let mut response =
                    (status, super::page::error_page("Refused", &refused.to_string())).into_response();
                if let ApiError::TooManyRequests { retry_after_secs } = refused {
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
                }
                response
            }
            SessionError::BadCsrf => (
                StatusCode::FORBIDDEN,
                super::page::error_page(
                    "Refused",
                    "This form has expired or did not come from the console. Reload the page and try again.",
                ),
            )
                .into_response(),
            SessionError::Store(e) => {
                tracing::error!(error = %e, "console session lookup failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    super::page::error_page("Something went wrong", "Try again in a moment."),
                )
                    .into_response()
            }
        }
    }
}

impl FromRequestParts<Arc<App>> for Operator {
    type Rejection = SessionError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, SessionError> {
        let client = app.client_address(&parts.headers, &parts.extensions);
        app.operator(&parts.headers, client).await
    }
}
