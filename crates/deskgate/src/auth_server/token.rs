//! The token endpoint (RFC 6749 §3.2, OAuth 2.1): `authorization_code` with PKCE and
//! `refresh_token` with rotation; and revocation (RFC 7009).
//!
//! Every failure of a secret that was really issued revokes its grant: a code presented twice
//! (RFC 6749 §4.1.2: "SHOULD revoke all tokens previously issued based on that code"), a
//! refresh token presented after it was rotated (OAuth 2.1 §4.3.1, replay detection), and a
//! code or refresh token presented with the wrong verifier, client, redirect URI or resource
//! (it was taken by someone else). The secret is consumed before anything else is checked, so
//! two replicas racing on the same code cannot both issue tokens.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use oauth2::basic::{BasicErrorResponseType, BasicTokenType};
use oauth2::{AccessToken, EmptyExtraTokenFields, RefreshToken, Scope, StandardTokenResponse};

use super::{ACCESS_TOKEN_SECS, OAuthError, SCOPE, no_store, pkce_matches};
use crate::app::App;
use crate::store::oauth_grants::{OAuthGrant, Taken};
use crate::timestamp::Timestamp;
use crate::tokens::{TokenHash, TokenKind};
use crate::ui::form::FormFields;

type TokenResponse = StandardTokenResponse<EmptyExtraTokenFields, BasicTokenType>;

/// `POST /oauth/token`.
pub async fn token(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let fields = FormFields::parse(&body);
    let result = match fields.get("grant_type") {
        Some("authorization_code") => exchange_code(&app, &fields).await,
        Some("refresh_token") => refresh(&app, &fields).await,
        Some(other) => Err(OAuthError::new(
            BasicErrorResponseType::UnsupportedGrantType,
            format!(
                "grant_type {other:?} is not supported: use authorization_code or refresh_token"
            ),
        )),
        None => Err(OAuthError::request("grant_type is required")),
    };
    match result {
        Ok(tokens) => no_store(Json(tokens).into_response()),
        Err(e) => {
            tracing::info!(oauth.error = e.code(), "OAuth token request refused");
            e.into_response()
        }
    }
}

fn required<'a>(fields: &'a FormFields, name: &str) -> Result<&'a str, OAuthError> {
    fields
        .get(name)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| OAuthError::request(format!("{name} is required")))
}

async fn exchange_code(app: &App, fields: &FormFields) -> Result<TokenResponse, OAuthError> {
    let code = required(fields, "code")?;
    let client_id = required(fields, "client_id")?;
    let verifier = required(fields, "code_verifier")?;
    let redirect_uri = required(fields, "redirect_uri")?;
    if !crate::tokens::looks_like(TokenKind::OAuthCode, code) {
        return Err(OAuthError::grant("the authorization code is not valid"));
    }
    let grant = match app
        .store
        .take_oauth_code(&TokenHash::of(code).0, Timestamp::now())
        .await?
    {
        Taken::Won(grant) => grant,
        Taken::Replayed(grant_id) => {
            app.revoke_grant(&grant_id, "authorization code reused")
                .await?;
            return Err(OAuthError::grant(
                "the authorization code was already used; the tokens issued with it are revoked",
            ));
        }
        Taken::Missing => {
            return Err(OAuthError::grant(
                "the authorization code is not valid or has expired",
            ));
        }
    };
    let refusal = if grant.client_id != client_id {
        Some(OAuthError::grant(
            "the authorization code was issued to another client",
        ))
    } else if grant.redirect_uri != redirect_uri {
        Some(OAuthError::grant(
            "redirect_uri does not match the authorization request",
        ))
    } else if !pkce_matches(verifier, &grant.code_challenge) {
        Some(OAuthError::grant(
            "code_verifier does not match the code challenge",
        ))
    } else {
        check_resource(app, fields, &grant).err()
    };
    if let Some(refusal) = refusal {
        app.revoke_grant(&grant.id, "code exchange refused").await?;
        return Err(refusal);
    }
    // A client that exchanged a code is kept (the sweep forgets only unused registrations).
    app.store
        .mark_oauth_client_used(&grant.client_id, Timestamp::now())
        .await?;
    respond(app, &grant).await
}

async fn refresh(app: &App, fields: &FormFields) -> Result<TokenResponse, OAuthError> {
    let presented = required(fields, "refresh_token")?;
    let client_id = required(fields, "client_id")?;
    check_scope(fields)?;
    if !crate::tokens::looks_like(TokenKind::OAuthRefresh, presented) {
        return Err(OAuthError::grant("the refresh token is not valid"));
    }
    let grant = match app
        .store
        .take_oauth_refresh(&TokenHash::of(presented).0, Timestamp::now())
        .await?
    {
        Taken::Won(grant) => grant,
        Taken::Replayed(grant_id) => {
            app.revoke_grant(&grant_id, "refresh token replayed")
                .await?;
            return Err(OAuthError::grant(
                "the refresh token was already used; this grant is revoked and must be authorized again",
            ));
        }
        Taken::Missing => {
            return Err(OAuthError::grant(
                "the refresh token is not valid, expired or revoked",
            ));
        }
    };
    let refusal = if grant.client_id != client_id {
        Some(OAuthError::grant(
            "the refresh token was issued to another client",
        ))
    } else {
        check_resource(app, fields, &grant).err()
    };
    if let Some(refusal) = refusal {
        app.revoke_grant(&grant.id, "refresh refused").await?;
        return Err(refusal);
    }
    respond(app, &grant).await
}

/// RFC 8707 §2.2: a `resource` on the token request must be the one the grant is for.
fn check_resource(app: &App, fields: &FormFields, grant: &OAuthGrant) -> Result<(), OAuthError> {
    match fields.get("resource") {
        None => Ok(()),
        Some(resource)
            if app.resource_server_id_of(resource).as_deref() == Some(&grant.mcp_server_id) =>
        {
            Ok(())
        }
        Some(_) => Err(OAuthError::extension(
            "invalid_target",
            "resource is not the MCP server this grant is for",
        )),
    }
}

/// A refresh may narrow the scope, never widen it (RFC 6749 §6); there is one scope.
fn check_scope(fields: &FormFields) -> Result<(), OAuthError> {
    match fields.get("scope") {
        Some(scope) if scope.split_ascii_whitespace().any(|s| s != SCOPE) => Err(OAuthError::new(
            BasicErrorResponseType::InvalidScope,
            format!("the only scope is {SCOPE:?}"),
        )),
        _ => Ok(()),
    }
}

async fn respond(app: &App, grant: &OAuthGrant) -> Result<TokenResponse, OAuthError> {
    let (access, refresh) = app.issue_tokens(&grant.id).await?;
    let mut response = TokenResponse::new(
        AccessToken::new(access),
        BasicTokenType::Bearer,
        EmptyExtraTokenFields {},
    );
    response.set_expires_in(Some(&Duration::from_secs(ACCESS_TOKEN_SECS as u64)));
    response.set_refresh_token(Some(RefreshToken::new(refresh)));
    response.set_scopes(Some(vec![Scope::new(SCOPE.to_owned())]));
    Ok(response)
}

/// `POST /oauth/revoke` (RFC 7009): a refresh token revokes its whole grant, an access token
/// only itself. Unknown tokens answer 200, as §2.2 requires.
pub async fn revoke(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let fields = FormFields::parse(&body);
    match revoke_token(&app, &fields).await {
        Ok(()) => no_store(axum::http::StatusCode::OK.into_response()),
        Err(e) => e.into_response(),
    }
}

async fn revoke_token(app: &App, fields: &FormFields) -> Result<(), OAuthError> {
    let token = required(fields, "token")?;
    let client_id = required(fields, "client_id")?;
    let hash = TokenHash::of(token).0;
    let Some((grant_id, kind)) = app.store.find_oauth_token(&hash).await? else {
        return Ok(());
    };
    let Some(grant) = app.store.get_oauth_grant(&grant_id).await? else {
        return Ok(());
    };
    if grant.client_id != client_id {
        return Err(OAuthError::new(
            BasicErrorResponseType::UnauthorizedClient,
            "this token was issued to another client",
        ));
    }
    if kind == "refresh" {
        app.revoke_grant(&grant.id, "refresh token revoked by its client")
            .await?;
    } else {
        app.store.delete_oauth_token(&hash).await?;
    }
    Ok(())
}
