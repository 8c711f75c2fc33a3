//! `/integrated-account/{id}/mcp/{mcp_id}/grants`: the OAuth clients an operator let into an
//! `oauth` server, and revoking them. A revoked grant's tokens are deleted with it, and every
//! MCP request looks its access token up, so the next request fails on every replica.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;

use super::{Caller, Page};
use crate::app::App;
use crate::error::ApiError;
use crate::store::oauth_grants::OAuthGrant;
use crate::timestamp::Timestamp;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OAuthGrantView {
    pub id: String,
    /// The MCP server it opens.
    pub mcp_server_id: String,
    pub client_id: String,
    /// The name the client registered with (self-declared).
    pub client_name: String,
    /// Where the client's authorization was sent back to.
    pub redirect_uri: String,
    pub scope: String,
    /// The API token or person whose console session approved it.
    pub approved_by: String,
    /// The person who approved it, when a person did (absent for an API token's session).
    pub approved_by_person: Option<String>,
    /// That person's email (absent once they are deleted, which revokes the grant anyway).
    pub approved_by_email: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl From<OAuthGrant> for OAuthGrantView {
    fn from(g: OAuthGrant) -> Self {
        OAuthGrantView {
            id: g.id,
            mcp_server_id: g.mcp_server_id,
            client_id: g.client_id,
            client_name: g.client_name,
            redirect_uri: g.redirect_uri,
            scope: g.scope,
            approved_by: g.approved_by,
            approved_by_person: g.approved_by_person,
            approved_by_email: g.approved_by_email,
            created_at: g.created_at,
        }
    }
}

#[utoipa::path(get, path = "/integrated-account/{id}/mcp/{mcp_id}/grants", operation_id = "list_oauth_grants", tag = "mcp servers",
    responses((status = 200, body = Page<OAuthGrantView>), (status = 404, body = crate::error::ErrorBody)),
    security(("api_token" = [])))]
pub async fn list(
    _caller: Caller,
    State(app): State<Arc<App>>,
    Path((account_id, id)): Path<(String, String)>,
) -> Result<Json<Page<OAuthGrantView>>, ApiError> {
    let server = app.mcp_server(&account_id, &id).await?;
    let result = app
        .store
        .list_oauth_grants(&server.id)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(Json(Page {
        result,
        next_cursor: None,
    }))
}

#[utoipa::path(delete, path = "/integrated-account/{id}/mcp/{mcp_id}/grants/{grant_id}", operation_id = "revoke_oauth_grant", tag = "mcp servers",
    responses((status = 204, description = "Revoked: its access and refresh tokens stop working at once"),
              (status = 404, body = crate::error::ErrorBody)),
    security(("api_token" = [])))]
pub async fn revoke(
    _caller: Caller,
    State(app): State<Arc<App>>,
    Path((account_id, id, grant_id)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let server = app.mcp_server(&account_id, &id).await?;
    app.revoke_grant_of(
        &grant_id,
        |g| g.mcp_server_id == server.id,
        "revoked through the API",
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
