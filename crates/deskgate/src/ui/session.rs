//! Console sign-in: an admin API token, or a person's email and password (see `crate::people`),
//! opens a session held in an HttpOnly, SameSite=Lax cookie; the store keeps only the session
//! id's hash and the session's CSRF token. A session dies with its API token or its person
//! (revoking the token, deleting the person or resetting their password signs it out at once)
//! and after `SESSION_HOURS`.
//!
//! Every state-changing console request must carry the session's CSRF token (a hidden form
//! field or the `X-CSRF-Token` header); `Operator::check_csrf` is the one place that checks it.
//!
//! Roles: the `Operator` extractor admits admins only (an admin API token, or a person whose
//! role is `admin`), so every console page is admin-only unless its handler asks for a
//! [`Member`] instead, which also admits agents. Default deny: a new page cannot forget it.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use subtle::ConstantTimeEq;

use crate::app::App;
use crate::error::ApiError;
use crate::people::{Person, Role};
use crate::store::{ConsoleSessionRow, StoreError};
use crate::timestamp::Timestamp;
use crate::tokens::TokenHash;

pub const SESSION_COOKIE: &str = "dg_session";
const SESSION_HOURS: i64 = 12;
pub const SESSION_SECS: i64 = SESSION_HOURS * 3600;

/// Who is operating the console or the connect flow.
#[derive(Debug, Clone)]
pub struct Operator {
    /// The API token's id, or the person's id (both UUIDs, never equal).
    pub id: String,
    /// The person who signed in with their password; `None` for an API token.
    pub person: Option<Person>,
    /// The session's CSRF token; `None` when the operator came with a bearer token (no cookie,
    /// so no cross-site request can ride on it).
    pub csrf_token: Option<String>,
}

/// Any signed-in operator, agents included: for the few pages and endpoints agents may use
/// (their servers, the consent page, their grants, signing out).
#[derive(Debug, Clone)]
pub struct Member(pub Operator);

/// What an agent is told on a page or endpoint that is not theirs.
pub const AGENTS_REFUSED: &str = "your role is agent: you may only see the MCP servers an admin shared with you, approve applications for them and revoke your own grants";

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
    /// `admin` for an API token (only admin tokens open the console), else the person's role.
    pub fn role(&self) -> Role {
        self.person.as_ref().map_or(Role::Admin, |p| p.role)
    }

    pub fn is_admin(&self) -> bool {
        self.role() == Role::Admin
    }

    /// Refuses an agent.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(AGENTS_REFUSED.into()))
        }
    }

    /// Who, for logs and records: `person <email>` or `api token <id>`.
    pub fn describe(&self) -> String {
        match &self.person {
            Some(p) => format!("person {}", p.email),
            None => format!("api token {}", self.id),
        }
    }

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
        self.open_session(Some(token.id), None).await
    }

    /// Opens a console session for a person whose password matches; returns the cookie value
    /// and the person. A wrong email or password counts against the client's address like a
    /// wrong API token, and an address past its budget is refused before anything is checked.
    pub async fn sign_in_with_password(
        &self,
        email: &str,
        password: &str,
        client: IpAddr,
    ) -> Result<(String, Person), ApiError> {
        let person = self.authenticate_person(email, password, client).await?;
        let session = self.open_session(None, Some(person.id.clone())).await?;
        Ok((session, person))
    }

    async fn open_session(
        &self,
        api_token_id: Option<String>,
        person_id: Option<String>,
    ) -> Result<String, ApiError> {
        let id = crate::tokens::random_urlsafe(32);
        let now = Timestamp::now();
        self.store
            .insert_console_session(&ConsoleSessionRow {
                id_hash: TokenHash::of(&id).0,
                api_token_id,
                person_id,
                csrf_token: crate::tokens::random_urlsafe(32),
                created_at: now.millis(),
                expires_at: now.plus_secs(SESSION_HOURS * 3600).millis(),
            })
            .await?;
        Ok(id)
    }

    /// The operator of a console session cookie, if it names a live session.
    pub async fn session_operator(&self, session: &str) -> Result<Option<Operator>, StoreError> {
        let Some(row) = self
            .store
            .find_console_session(&TokenHash::of(session).0, Timestamp::now())
            .await?
        else {
            return Ok(None);
        };
        match (row.api_token_id, row.person_id) {
            (Some(api_token_id), _) => Ok(Some(Operator {
                id: api_token_id,
                person: None,
                csrf_token: Some(row.csrf_token),
            })),
            (None, Some(person_id)) => {
                Ok(self.store.get_person(&person_id).await?.map(|p| Operator {
                    id: p.id.clone(),
                    person: Some(p),
                    csrf_token: Some(row.csrf_token),
                }))
            }
            (None, None) => Ok(None),
        }
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
            && let Some(operator) = self.session_operator(session).await?
        {
            return Ok(operator);
        }
        let Some(bearer) = crate::api::bearer_token(headers) else {
            return Err(SessionError::SignedOut);
        };
        match self.authenticate_api_token(Some(bearer), client).await {
            Ok(token) => {
                token.require_admin().map_err(SessionError::Refused)?;
                Ok(Operator {
                    id: token.id,
                    person: None,
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
            SessionError::Refused(ApiError::Forbidden(why)) if why == AGENTS_REFUSED => (
                StatusCode::FORBIDDEN,
                super::page::frame(
                    "Not open to agents",
                    maud::html! {
                        section.card role="alert" {
                            h1 { "Not open to agents" }
                            p { "This page is for admins. As an agent you see the MCP servers an admin shared with you, approve applications for them and revoke your own grants." }
                            p { a href="/ui/me" { "Go to my servers" } }
                        }
                    },
                ),
            )
                .into_response(),
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

/// An admin (see the module's note on roles).
impl FromRequestParts<Arc<App>> for Operator {
    type Rejection = SessionError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, SessionError> {
        let Member(operator) = Member::from_request_parts(parts, app).await?;
        operator.require_admin().map_err(SessionError::Refused)?;
        Ok(operator)
    }
}

impl FromRequestParts<Arc<App>> for Member {
    type Rejection = SessionError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, SessionError> {
        let client = app.client_address(&parts.headers, &parts.extensions);
        app.operator(&parts.headers, client).await.map(Member)
    }
}
