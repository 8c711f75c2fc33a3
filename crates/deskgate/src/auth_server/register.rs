//! Dynamic client registration (RFC 7591), open as the MCP specification expects: any client
//! may register, and registering grants nothing — an operator still approves each client for
//! each server on the consent page.
//!
//! Only public clients: whatever `token_endpoint_auth_method` a client asks for, it is
//! registered with `none` (RFC 7591 §3.2.1 lets the server replace requested metadata, and
//! the client reads the response), so no client secret exists to leak or store. PKCE is what
//! binds a code to the client that asked for it.
//!
//! Open registration is bounded: each caller address may register a burst of clients, then one
//! every 30 s (429 with `Retry-After`; per replica, like the sign-in throttle), and a
//! registration that never exchanges a code is swept after a day (`UNUSED_CLIENT_SECS`).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::{OAuthError, SCOPE, check_redirect_uri, no_store};
use crate::app::App;
use crate::store::oauth_grants::OAuthClient;
use crate::timestamp::Timestamp;

/// Longest client name kept (characters): the consent page shows it.
const MAX_NAME_CHARS: usize = 100;
const MAX_REDIRECT_URIS: usize = 10;

/// The RFC 7591 fields deskgate reads; others are ignored, as §2 requires.
#[derive(Debug, Deserialize)]
struct RegistrationRequest {
    #[serde(default)]
    redirect_uris: Vec<String>,
    client_name: Option<String>,
    grant_types: Option<Vec<String>>,
    response_types: Option<Vec<String>>,
    /// OpenID Connect DCR's `native` or `web`, which MCP 2026-07-28 clients send (SEP-837);
    /// echoed back. deskgate's redirect rules are the same for both (see `check_redirect_uri`).
    application_type: Option<String>,
}

/// `POST /oauth/register`.
pub async fn register(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    extensions: Extensions,
    body: Bytes,
) -> Response {
    let caller = app.client_address(&headers, &extensions);
    if let Some(wait) = app.auth_server.registrations.blocked(caller) {
        tracing::info!(client.address = %caller, "OAuth registration refused: too many from this address");
        return super::too_many(wait, "client registrations");
    }
    // Every attempt counts, good or bad: what is limited is work and rows, not guesses.
    app.auth_server.registrations.failed(caller);
    match register_client(&app, &body).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn register_client(app: &App, body: &[u8]) -> Result<Response, OAuthError> {
    let request: RegistrationRequest = serde_json::from_slice(body).map_err(|e| {
        OAuthError::extension(
            "invalid_client_metadata",
            format!("the body is not client metadata as JSON: {e}"),
        )
    })?;
    if request.redirect_uris.is_empty() {
        return Err(OAuthError::extension(
            "invalid_redirect_uri",
            "redirect_uris is required: the authorization code grant redirects to one of them",
        ));
    }
    if request.redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(OAuthError::extension(
            "invalid_redirect_uri",
            format!("at most {MAX_REDIRECT_URIS} redirect URIs"),
        ));
    }
    for uri in &request.redirect_uris {
        check_redirect_uri(uri).map_err(|e| OAuthError::extension("invalid_redirect_uri", e))?;
    }
    if let Some(grants) = &request.grant_types
        && let Some(other) = grants
            .iter()
            .find(|g| !matches!(g.as_str(), "authorization_code" | "refresh_token"))
    {
        return Err(OAuthError::extension(
            "invalid_client_metadata",
            format!(
                "grant type {other:?} is not supported: only authorization_code and refresh_token"
            ),
        ));
    }
    if let Some(types) = &request.response_types
        && types.iter().any(|t| t != "code")
    {
        return Err(OAuthError::extension(
            "invalid_client_metadata",
            "only the response type \"code\" is supported",
        ));
    }
    if let Some(kind) = &request.application_type
        && !matches!(kind.as_str(), "native" | "web")
    {
        return Err(OAuthError::extension(
            "invalid_client_metadata",
            format!("application_type {kind:?} is not supported: native or web"),
        ));
    }
    let name: String = request
        .client_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or("Unnamed client")
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect();
    let client = OAuthClient {
        id: format!("dgcl_{}", uuid::Uuid::new_v4().simple()),
        name,
        redirect_uris: request.redirect_uris,
        created_at: Timestamp::now(),
    };
    app.store.insert_oauth_client(&client).await?;
    tracing::info!(oauth.client_id = %client.id, "OAuth client registered");
    let mut registered = json!({
        "client_id": client.id,
        "client_id_issued_at": client.created_at.millis() / 1000,
        "client_name": client.name,
        "redirect_uris": client.redirect_uris,
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "scope": SCOPE,
    });
    if let Some(kind) = request.application_type {
        registered["application_type"] = kind.into();
    }
    Ok(no_store(
        (StatusCode::CREATED, Json(registered)).into_response(),
    ))
}
