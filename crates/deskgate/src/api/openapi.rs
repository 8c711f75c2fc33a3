//! `GET /openapi.json`: an OpenAPI 3.1 document generated from the handlers' annotations.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "deskgate management API", description = "Connect Gorgias accounts and mint scoped MCP servers for them. Authenticate with `Authorization: Bearer <api token>`."),
    paths(
        super::tokens::create, super::tokens::list, super::tokens::delete,
        super::accounts::create, super::accounts::list, super::accounts::get, super::accounts::update,
        super::accounts::delete, super::accounts::tools,
        super::mcp_servers::create, super::mcp_servers::list, super::mcp_servers::get,
        super::mcp_servers::update, super::mcp_servers::delete, super::mcp_servers::logs,
        super::oauth_app::set, super::oauth_app::get,
    ),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "api_token",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
    }
}

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
