//! The OAuth connect flow's browser endpoints: `GET /connect/<integration>` sends the operator
//! to the helpdesk's consent page; `GET /connect/<integration>/callback` finishes the flow and
//! lands on the account's page. Every failure ends on a page that says what happened.
//!
//! The console's form does not come through `GET /connect/…` (that would put its CSRF token
//! in the address bar and the history): `POST /ui/accounts/oauth` calls [`start`] itself.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::page::error_page;
use super::session::{Operator, cookie, set_cookie};
use crate::app::App;
use crate::oauth::{BeginOAuth, OAuthError};

/// Binds a flow to the browser that started it; Lax so the provider's redirect back carries it.
const BINDING_COOKIE: &str = "dg_oauth";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BeginQuery {
    subdomain: String,
    /// For the sandbox and tests (needs `--allow-custom-upstream`).
    api_base_url: Option<String>,
    /// Re-authorize this account.
    account_id: Option<String>,
    /// The console session's CSRF token (not needed with a bearer token).
    csrf: Option<String>,
    /// Ask only for the read scopes (`true`); by default, as the re-authorized account was.
    read_only: Option<bool>,
}

pub async fn begin(
    State(app): State<Arc<App>>,
    Path(integration): Path<String>,
    operator: Operator,
    Query(query): Query<BeginQuery>,
) -> Response {
    if integration != app.integration.name() {
        return failure(StatusCode::NOT_FOUND, &OAuthError::Unsupported);
    }
    if let Err(e) = operator.check_csrf(query.csrf.as_deref()) {
        return e.into_response();
    }
    start(
        &app,
        BeginOAuth {
            subdomain: query.subdomain,
            api_base_url: query.api_base_url,
            account_id: query.account_id,
            read_only: query.read_only,
        },
    )
    .await
}

/// Starts a connect flow: the redirect to the provider's consent page with the cookie that
/// binds the flow to this browser, or a page saying why it cannot start.
pub(super) async fn start(app: &App, begin: BeginOAuth) -> Response {
    let integration = app.integration.name();
    match app.begin_oauth(begin).await {
        Ok(authorization) => {
            let mut response = Redirect::to(&authorization.authorize_url).into_response();
            response.headers_mut().insert(
                header::SET_COOKIE,
                set_cookie(
                    app,
                    BINDING_COOKIE,
                    &authorization.binding,
                    &format!("/connect/{integration}"),
                    600,
                ),
            );
            response
        }
        Err(e) => failure(StatusCode::BAD_REQUEST, &e),
    }
}

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

pub async fn callback(
    State(app): State<Arc<App>>,
    Path(integration): Path<String>,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Response {
    if integration != app.integration.name() {
        return failure(StatusCode::NOT_FOUND, &OAuthError::Unsupported);
    }
    let result = app
        .finish_oauth(
            query.state.as_deref(),
            query.code.as_deref(),
            query.error.as_deref(),
            cookie(&headers, BINDING_COOKIE),
        )
        .await;
    let mut response = match result {
        Ok(account) => Redirect::to(&format!("/ui/accounts/{}", account.id)).into_response(),
        Err(e) => failure(StatusCode::BAD_REQUEST, &e),
    };
    // The binding is single-use like the state.
    response.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(
            &app,
            BINDING_COOKIE,
            "",
            &format!("/connect/{integration}"),
            0,
        ),
    );
    response
}

fn failure(status: StatusCode, error: &OAuthError) -> Response {
    let (status, message) = match error {
        OAuthError::Internal(why) => {
            tracing::error!(error = %why, "OAuth connect flow failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side; nothing was connected. Try again.".to_owned(),
            )
        }
        OAuthError::Unreachable(..) => (StatusCode::BAD_GATEWAY, error.to_string()),
        other => (status, other.to_string()),
    };
    (
        status,
        error_page("Could not connect the account", &message),
    )
        .into_response()
}
