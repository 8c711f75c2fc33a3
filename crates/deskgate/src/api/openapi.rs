//! `GET /openapi.json`: an OpenAPI 3.1 document generated from the handlers' annotations, then
//! completed by [`Completion`] with what every operation shares, so that no route can forget
//! it: each `{name}` of a path declared as a path parameter, the bearer security scheme, and the
//! error responses every authenticated route may give (400, 401, 403, 404 where the path names
//! something, 429), all with the one error body.
//!
//! The document is checked by generating a Python client from it and driving the README's
//! walk-through with that client, and by a bounded schemathesis run (`tests/e2e/test_openapi.py`).

use axum::Json;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, Required, ResponseBuilder, Type};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "deskgate management API", description = "Connect Gorgias accounts and mint scoped MCP servers for them. Authenticate with `Authorization: Bearer <api token>` (an `admin` token), or with a person's console session cookie (admins everything; agents only `/me` and their own `/people/{id}/...`; with a cookie, send the session's CSRF token as `X-CSRF-Token` on every request but GET)."),
    paths(
        super::tokens::create, super::tokens::list, super::tokens::delete,
        super::accounts::create, super::accounts::list, super::accounts::get, super::accounts::update,
        super::accounts::delete, super::accounts::tools, super::accounts::test_connection,
        super::mcp_servers::create, super::mcp_servers::list, super::mcp_servers::get,
        super::mcp_servers::update, super::mcp_servers::delete, super::mcp_servers::logs,
        super::mcp_servers::rotate_webhook_secret,
        super::oauth_grants::list, super::oauth_grants::revoke,
        super::people::me, super::people::create, super::people::list, super::people::get,
        super::people::delete, super::people::reset_password, super::people::servers,
        super::people::grants, super::people::revoke_grant,
        super::people::shares, super::people::share, super::people::unshare,
        super::actions::list, super::actions::approve, super::actions::reject,
        super::oauth_app::set, super::oauth_app::get,
    ),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorDetail)),
    modifiers(&Completion),
)]
pub struct ApiDoc;

struct Completion;

impl Modify for Completion {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "api_token",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        for (path, item) in openapi.paths.paths.iter_mut() {
            let names = path_parameters(path);
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                declare_path_parameters(operation, path, &names);
                add_error_responses(operation, !names.is_empty());
            }
        }
    }
}

/// The `{name}`s of a path template, in order.
fn path_parameters(path: &str) -> Vec<String> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(str::to_owned)
        .collect()
}

fn describe(path: &str, name: &str) -> &'static str {
    match name {
        "mcp_id" => "The MCP server's id.",
        "integration" => "The integration: `gorgias`.",
        "id" if path.starts_with("/api-token") => "The API token's id.",
        "id" if path.starts_with("/people") => "The person's id.",
        "person_id" => "The person's id.",
        "grant_id" => "The OAuth grant's id.",
        _ => "The integrated account's id.",
    }
}

fn declare_path_parameters(operation: &mut Operation, path: &str, names: &[String]) {
    let parameters = operation.parameters.get_or_insert_with(Vec::new);
    for name in names {
        let declared = parameters
            .iter()
            .any(|p| p.name == *name && p.parameter_in == ParameterIn::Path);
        if !declared {
            parameters.push(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .description(Some(describe(path, name)))
                    .schema(Some(
                        utoipa::openapi::ObjectBuilder::new().schema_type(Type::String),
                    ))
                    .build(),
            );
        }
    }
}

fn add_error_responses(operation: &mut Operation, names_something: bool) {
    let mut errors = vec![
        (
            "400",
            "The request is malformed or does not fit this endpoint.",
        ),
        ("401", "No API token, or one that does not exist (revoked)."),
        (
            "403",
            "The API token's scope is `mcp`: the management API needs an `admin` token.",
        ),
        (
            "429",
            "Too many failed authentications from this address; see `Retry-After`.",
        ),
    ];
    if names_something {
        errors.push((
            "404",
            "Nothing with this id exists (or it was deleted or expired).",
        ));
    }
    for (status, description) in errors {
        if operation.responses.responses.contains_key(status) {
            continue;
        }
        let response = ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build();
        operation
            .responses
            .responses
            .insert(status.to_owned(), response.into());
    }
}

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_parameter_is_declared_and_every_operation_documents_its_errors() {
        let document = serde_json::to_value(ApiDoc::openapi()).unwrap();
        for (path, item) in document["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let parameters = operation["parameters"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                for name in path_parameters(path) {
                    assert!(
                        parameters
                            .iter()
                            .any(|p| p["name"] == name.as_str() && p["in"] == "path"),
                        "{method} {path}: {name} is not declared"
                    );
                }
                for p in &parameters {
                    if p["in"] == "path" {
                        assert!(
                            path.contains(&format!("{{{}}}", p["name"].as_str().unwrap())),
                            "{method} {path}: {p}"
                        );
                    }
                }
                for status in ["400", "401", "403", "429"] {
                    assert!(
                        operation["responses"].get(status).is_some(),
                        "{method} {path}: no {status}"
                    );
                }
            }
        }
        assert!(document["components"]["schemas"]["ErrorBody"].is_object());
    }
}
