//! Signing in and out of the console. A person's email and password, or an admin API token,
//! opens a session (see `session`); agents land on their own page (`/ui/me`), admins on the
//! account list. The sign-in form itself is protected by a double-submit nonce (a cookie and a hidden field that
//! must match), so another site cannot sign a browser into someone else's session.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use subtle::ConstantTimeEq;

use super::error::UiError;
use super::form::{FormFields, MemberForm};
use super::page::{error_page, frame, notice};
use super::session::{SESSION_COOKIE, SESSION_SECS, cookie, set_cookie};
use crate::app::App;
use crate::error::ApiError;
use crate::people::Role;

/// The sign-in form's nonce cookie, scoped to the sign-in path.
const NONCE_COOKIE: &str = "dg_signin";
const SIGN_IN_PATH: &str = "/ui/sign-in";

#[derive(Debug, serde::Deserialize)]
pub struct SignInQuery {
    notice: Option<String>,
    /// Where to go once signed in: only the OAuth consent page (`auth_server::authorize`)
    /// sends people here with one.
    next: Option<String>,
}

/// A `next` that may be followed: a path on this server to the authorization endpoint, never
/// an absolute or protocol-relative URL (no open redirect).
fn safe_next(next: Option<&str>) -> Option<&str> {
    next.filter(|n| n.starts_with("/oauth/authorize?") && !n.contains(['\\', '\r', '\n']))
}

pub async fn form(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    extensions: Extensions,
    Query(query): Query<SignInQuery>,
) -> Result<Response, UiError> {
    // Already signed in: straight to the console.
    let client = app.client_address(&headers, &extensions);
    let next = safe_next(query.next.as_deref());
    if cookie(&headers, SESSION_COOKIE).is_some()
        && let Ok(operator) = app.operator(&headers, client).await
    {
        return Ok(Redirect::to(next.unwrap_or(home(&operator))).into_response());
    }
    Ok(render(
        &app,
        StatusCode::OK,
        query.notice.as_deref(),
        None,
        next,
    ))
}

pub async fn submit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    extensions: Extensions,
    body: Bytes,
) -> Response {
    let fields = FormFields::parse(&body);
    let nonce_ok = match (cookie(&headers, NONCE_COOKIE), fields.get("nonce")) {
        (Some(c), Some(f)) => !c.is_empty() && bool::from(c.as_bytes().ct_eq(f.as_bytes())),
        _ => false,
    };
    if !nonce_ok {
        return (
            StatusCode::FORBIDDEN,
            error_page(
                "Refused",
                "This sign-in form has expired or did not come from the console; open the sign-in page again.",
            ),
        )
            .into_response();
    }
    let next = safe_next(fields.get("next"));
    let client = app.client_address(&headers, &extensions);
    // The password form sends `email`; the token form sends `api_token`.
    let signed_in = match fields.get("email") {
        Some(email) => {
            let password = fields.get("password").unwrap_or_default();
            app.sign_in_with_password(email, password, client)
                .await
                .map(|(session, person)| {
                    let home = if person.role == Role::Admin {
                        "/ui"
                    } else {
                        MY_PAGE
                    };
                    (session, home)
                })
        }
        None => {
            let token = fields.text("api_token").unwrap_or_default();
            app.sign_in(&token, client)
                .await
                .map(|session| (session, "/ui"))
        }
    };
    let by_password = fields.get("email").is_some();
    match signed_in {
        Ok((session, home)) => {
            let mut response = Redirect::to(next.unwrap_or(home)).into_response();
            let h = response.headers_mut();
            h.append(
                header::SET_COOKIE,
                set_cookie(&app, SESSION_COOKIE, &session, "/", SESSION_SECS),
            );
            h.append(
                header::SET_COOKIE,
                set_cookie(&app, NONCE_COOKIE, "", SIGN_IN_PATH, 0),
            );
            tracing::info!("console session opened");
            response
        }
        Err(ApiError::Unauthorized) if by_password => render(
            &app,
            StatusCode::UNAUTHORIZED,
            None,
            Some(
                "That email and password do not match. Ask an admin to reset your password if you forgot it.",
            ),
            next,
        ),
        Err(ApiError::Unauthorized) => render(
            &app,
            StatusCode::UNAUTHORIZED,
            None,
            Some(
                "That API token is not valid. Use a token from `deskgate token create` (or the one `deskgate serve --demo` printed).",
            ),
            next,
        ),
        Err(ApiError::Forbidden(why)) => {
            render(&app, StatusCode::FORBIDDEN, None, Some(&why), next)
        }
        Err(ApiError::TooManyRequests { retry_after_secs }) => {
            let mut response = render(
                &app,
                StatusCode::TOO_MANY_REQUESTS,
                None,
                Some(&format!(
                    "Too many failed sign-ins (wrong passwords or API tokens) from your address. Try again in {retry_after_secs} s."
                )),
                next,
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            response
        }
        Err(e) => UiError::from(e).into_response(),
    }
}

/// The sign-in page, with a fresh nonce in its cookie and its form.
fn render(
    app: &App,
    status: StatusCode,
    notice_code: Option<&str>,
    error: Option<&str>,
    next: Option<&str>,
) -> Response {
    let nonce = crate::tokens::random_urlsafe(24);
    let mut response = (status, page(&nonce, notice_code, error, next)).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(app, NONCE_COOKIE, &nonce, SIGN_IN_PATH, 3600),
    );
    response
}

fn page(nonce: &str, notice_code: Option<&str>, error: Option<&str>, next: Option<&str>) -> Markup {
    frame(
        "Sign in",
        html! {
            section.card.narrow.sign-in {
                h1 { "Sign in to deskgate" }
                (notice(notice_code))
                @if let Some(error) = error {
                    div.alert role="alert" #sign-in-error { (super::page::rich_text(error)) }
                }
                @if next.is_some() {
                    p.hint #sign-in-next { "An application asks for access to an MCP server: sign in to review it." }
                }
                form #sign-in-password method="post" action=(SIGN_IN_PATH) {
                    input type="hidden" name="nonce" value=(nonce);
                    @if let Some(next) = next {
                        input type="hidden" name="next" value=(next);
                    }
                    div.field {
                        label for="email" { "Email" }
                        input #email type="email" name="email" required autocomplete="username"
                            spellcheck="false" autofocus;
                    }
                    div.field {
                        label for="password" { "Password" }
                        input #password type="password" name="password" required
                            autocomplete="current-password";
                    }
                    button.button.primary #sign-in-with-password type="submit" { "Sign in" }
                }
                h2 { "Or with an API token" }
                form #sign-in-token method="post" action=(SIGN_IN_PATH) {
                    input type="hidden" name="nonce" value=(nonce);
                    @if let Some(next) = next {
                        input type="hidden" name="next" value=(next);
                    }
                    div.field {
                        label for="api_token" { "API token" }
                        input #api_token type="password" name="api_token" required
                            autocomplete="off" spellcheck="false"
                            aria-describedby="api_token-hint";
                        p.hint #api_token-hint {
                            "An API token of this deskgate server (minted tokens start with " code { "dga_" }
                            "). Create one with " code { "deskgate token create" } "."
                        }
                    }
                    button.button #sign-in-with-token type="submit" { "Sign in with the token" }
                }
            }
        },
    )
}

/// An agent's own page: the servers shared with them and the grants they approved.
pub const MY_PAGE: &str = "/ui/me";

/// Where an operator lands once signed in.
pub fn home(operator: &super::session::Operator) -> &'static str {
    if operator.is_admin() { "/ui" } else { MY_PAGE }
}

/// Ends the session and forgets its cookie.
pub async fn sign_out(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    _form: MemberForm,
) -> Response {
    if let Some(session) = cookie(&headers, SESSION_COOKIE)
        && let Err(e) = app.sign_out(session).await
    {
        return UiError::from(e).into_response();
    }
    let mut response = Redirect::to("/ui/sign-in?notice=signed-out").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&app, SESSION_COOKIE, "", "/", 0),
    );
    response
}
