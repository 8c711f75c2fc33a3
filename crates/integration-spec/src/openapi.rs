//! OpenAPI 3.1 export of a definition, so it can be checked with other tools (linters, client
//! generators, diffing against the vendor's own spec). Operation ids are the tool names.

use serde_json::{Map, Value, json};

use crate::definition::{Body, Definition};
use crate::plan::BodyEncoding;
use crate::schema::rewrite_refs;

fn components(mut schema: Value) -> Value {
    rewrite_refs(&mut schema, &|name| format!("#/components/schemas/{name}"));
    schema
}

fn parameter(name: &str, location: &str, required: bool, schema: &Value) -> Value {
    let mut p = json!({
        "name": name,
        "in": location,
        "required": required,
        "schema": components(schema.clone()),
    });
    if let Some(d) = schema.get("description") {
        p["description"] = d.clone();
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("array") => {
            p["style"] = json!("form");
            p["explode"] = json!(true);
        }
        Some("object") => {
            p["style"] = json!("deepObject");
            p["explode"] = json!(true);
        }
        _ => {}
    }
    p
}

impl Definition {
    /// The whole definition as an OpenAPI 3.1 document.
    pub fn openapi(&self) -> Value {
        let pagination = &self.connection.pagination;
        let mut paths: Map<String, Value> = Map::new();
        for m in &self.methods {
            let mut op = json!({
                "operationId": m.tool_name,
                "tags": m.tags,
            });
            let mut parameters = Vec::new();
            if let Some(doc) = &m.doc {
                op["summary"] = json!(doc.title);
                op["description"] = json!(doc.description);
                for (name, schema) in &doc.path {
                    parameters.push(parameter(name, "path", true, schema));
                }
                for (name, schema) in &doc.query {
                    parameters.push(parameter(
                        name,
                        "query",
                        doc.required.contains(name),
                        schema,
                    ));
                }
                let content_type = match m.body_encoding {
                    BodyEncoding::Json => "application/json",
                    BodyEncoding::Multipart => "multipart/form-data",
                };
                let body = match &doc.body {
                    Some(Body::Object(schema)) => {
                        // `required` in the documentation record may name body properties that
                        // a shared body schema leaves optional.
                        let extra: Vec<&String> = doc
                            .required
                            .iter()
                            .filter(|r| !doc.query.contains_key(*r))
                            .collect();
                        let schema = if extra.is_empty() {
                            components(schema.clone())
                        } else {
                            json!({"allOf": [components(schema.clone())], "required": extra})
                        };
                        Some((schema, !extra.is_empty()))
                    }
                    Some(Body::Wrapped { schema, .. }) => Some((components(schema.clone()), true)),
                    None => None,
                };
                if let Some((schema, required)) = body {
                    op["requestBody"] = json!({
                        "required": required,
                        "content": {content_type: {"schema": schema}},
                    });
                }
            } else {
                op["summary"] = json!(format!("{} (undocumented: no tool)", m.tool_name));
            }
            for param in &m.path_params {
                if m.doc.is_none() {
                    parameters.push(json!({"name": param, "in": "path", "required": true, "schema": {"type": "string"}}));
                }
            }
            if m.paginated {
                parameters.push(json!({
                    "name": pagination.limit_param, "in": "query", "required": false,
                    "schema": {"type": "integer", "minimum": 1, "maximum": m.max_limit, "default": pagination.default_limit},
                }));
                parameters.push(json!({
                    "name": pagination.cursor_param, "in": "query", "required": false,
                    "description": "Opaque cursor from a previous page's meta.",
                    "schema": {"type": "string"},
                }));
            }
            if !parameters.is_empty() {
                op["parameters"] = Value::Array(parameters);
            }
            op["responses"] =
                json!({"2XX": {"description": "Success."}, "default": {"description": "Error."}});
            let path = paths.entry(m.path.clone()).or_insert_with(|| json!({}));
            path[m.http_method.to_ascii_lowercase()] = op;
        }

        let schemas: Map<String, Value> = self
            .schemas
            .iter()
            .map(|(k, v)| (k.clone(), components(v.clone())))
            .collect();
        let mut security_schemes = json!({"basic": {"type": "http", "scheme": "basic"}});
        let mut security = vec![json!({"basic": []})];
        if let Some(o) = &self.connection.oauth2 {
            let base = self.connection.base_url.clone();
            let scopes: Map<String, Value> =
                o.scopes.iter().map(|s| (s.clone(), json!(s))).collect();
            security_schemes["oauth2"] = json!({
                "type": "oauth2",
                "flows": {"authorizationCode": {
                    "authorizationUrl": o.authorize_url_for(&base),
                    "tokenUrl": o.token_url_for(&base),
                    "scopes": scopes,
                }},
            });
            security.push(json!({"oauth2": o.scopes}));
        }
        json!({
            "openapi": "3.1.0",
            "info": {"title": self.title, "description": self.description, "version": "1"},
            "servers": [{
                "url": self.connection.base_url,
                "variables": {"subdomain": {"default": "example", "description": "The account's subdomain."}},
            }],
            "tags": self.tags.iter().map(|(k, v)| json!({"name": k, "description": v})).collect::<Vec<_>>(),
            "security": security,
            "paths": paths,
            "components": {"schemas": schemas, "securitySchemes": security_schemes},
        })
    }
}
