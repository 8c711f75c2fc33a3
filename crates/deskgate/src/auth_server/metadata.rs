//! The two discovery documents an MCP client reads before anything else: the server's
//! protected resource metadata (RFC 9728), which names deskgate as its authorization server,
//! and deskgate's authorization server metadata (RFC 8414).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::SCOPE;
use crate::app::App;

/// `GET /.well-known/oauth-protected-resource/mcp/{server_id}`: 404 unless the id names a live
/// `oauth` server, so the document never tells a URL-token server's id.
pub async fn protected_resource(
    State(app): State<Arc<App>>,
    Path(server_id): Path<String>,
) -> Response {
    let resource = app.oauth_server_url(&server_id);
    match app.resource_server(&resource).await {
        Ok(Some(server)) => Json(json!({
            "resource": resource,
            "authorization_servers": [app.issuer()],
            "scopes_supported": [SCOPE],
            "bearer_methods_supported": ["header"],
            "resource_name": server.name,
        }))
        .into_response(),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "not_found", "error_description": "no OAuth MCP server here"})),
        )
            .into_response(),
        Err(e) => super::OAuthError::internal(e).into_response(),
    }
}

/// `GET /.well-known/oauth-authorization-server/oauth` (the issuer `<base>/oauth`).
pub async fn authorization_server(State(app): State<Arc<App>>) -> Json<serde_json::Value> {
    let issuer = app.issuer();
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "registration_endpoint": format!("{issuer}/register"),
        "revocation_endpoint": format!("{issuer}/revoke"),
        "scopes_supported": [SCOPE],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "code_challenge_methods_supported": ["S256"],
        // RFC 9207: every authorization response carries `iss`.
        "authorization_response_iss_parameter_supported": true,
        // Client ID Metadata Documents (see `client_metadata`).
        "client_id_metadata_document_supported": true,
    }))
}
