//! `/oauth-app/{integration}`: the OAuth app deskgate is registered as with an integration
//! (client id, secret, redirect URL). The secret is sealed at rest and never shown again.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::{ApiJson, Caller};
use crate::app::App;
use crate::error::ApiError;
use crate::oauth::OAuthError;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetOAuthApp {
    pub client_id: String,
    #[schema(value_type = String, format = Password)]
    pub client_secret: SecretString,
    /// Where the provider sends the browser back; defaults to `<public URL>/connect/<integration>/callback`.
    pub redirect_url: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OAuthAppView {
    pub integration: String,
    pub client_id: String,
    pub redirect_url: String,
}

impl From<OAuthError> for ApiError {
    fn from(e: OAuthError) -> Self {
        match e {
            OAuthError::Internal(why) => ApiError::Internal(why.into()),
            OAuthError::Unreachable(..) => ApiError::UpstreamUnavailable(e.to_string()),
            other => ApiError::BadRequest(other.to_string()),
        }
    }
}

fn known(app: &App, integration: &str) -> Result<(), ApiError> {
    if integration == app.integration.name() {
        Ok(())
    } else {
        Err(ApiError::NotFound("integration"))
    }
}

#[utoipa::path(put, path = "/oauth-app/{integration}", operation_id = "set_oauth_app", tag = "oauth", request_body = SetOAuthApp,
    responses((status = 200, body = OAuthAppView), (status = 400, body = crate::error::ErrorBody)),
    security(("api_token" = [])))]
pub async fn set(
    _caller: Caller,
    State(app): State<Arc<App>>,
    Path(integration): Path<String>,
    ApiJson(body): ApiJson<SetOAuthApp>,
) -> Result<Json<OAuthAppView>, ApiError> {
    known(&app, &integration)?;
    app.set_oauth_app(
        &body.client_id,
        &body.client_secret,
        body.redirect_url.as_deref(),
    )
    .await?;
    get(_caller, State(app), Path(integration)).await
}

#[utoipa::path(get, path = "/oauth-app/{integration}", operation_id = "get_oauth_app", tag = "oauth",
    responses((status = 200, body = OAuthAppView), (status = 404, body = crate::error::ErrorBody)),
    security(("api_token" = [])))]
pub async fn get(
    _caller: Caller,
    State(app): State<Arc<App>>,
    Path(integration): Path<String>,
) -> Result<Json<OAuthAppView>, ApiError> {
    known(&app, &integration)?;
    let configured = app
        .oauth_app()
        .await?
        .ok_or(ApiError::NotFound("OAuth app"))?;
    Ok(Json(OAuthAppView {
        integration,
        client_id: configured.client_id,
        redirect_url: configured.redirect_url,
    }))
}
