//! Example arguments, for tests and diagnostics (e.g. calling every tool against the sandbox):
//! the documentation record's example if it has one, otherwise minimal values built from the
//! schema, with ids from a caller-supplied resolver. With an account's custom fields, values
//! fit the field they are for.

use serde_json::{Map, Value, json};

use crate::catalog::Tool;
use crate::custom_fields;
use crate::rules::apply_defaults;

impl Tool {
    /// Minimal valid arguments. Path parameters come from `ids`: it is asked for the parameter
    /// name (`ticket_id`), or for the resource name (`ticket`) when the parameter is `id`.
    /// Other required integers named `*_id` (or items of `*_ids`) are asked for by name, and
    /// required integers named `id` (or items of `ids`, e.g. the records of a bulk call) by the
    /// resource name. Whatever the resolver does not know is built from the schema: first enum
    /// value, the minimum, an `example` string, a valid date-time or email. In a catalog
    /// completed with an account's custom fields, a custom-field value argument gets a value
    /// of the field its id argument names (a choice of a dropdown, a number in range...).
    pub fn example_arguments(&self, ids: &dyn Fn(&str) -> Option<Value>) -> Map<String, Value> {
        let template = &self.inner.template;
        let root = &*self.inner.full_schema;
        let mut args = template.example.clone().unwrap_or_default();
        let properties = root
            .get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        for param in &template.path_params {
            let key = if param == "id" {
                template.resource.as_str()
            } else {
                param.as_str()
            };
            let value = ids(key).unwrap_or_else(|| {
                example_value(&properties[param], ids, &template.resource, param)
            });
            args.insert(param.clone(), value);
        }
        let required: Vec<&str> = root
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for name in required {
            if !args.contains_key(name)
                && let Some(schema) = properties.get(name)
            {
                args.insert(
                    name.to_owned(),
                    example_value(schema, ids, &template.resource, name),
                );
            }
        }
        if let Some(fields) = &self.inner.fields {
            custom_fields::fit_example_values(&mut args, &template.bindings, fields);
        }
        let mut value = Value::Object(args);
        apply_defaults(&mut value, &template.defaults);
        match value {
            Value::Object(m) => m,
            _ => unreachable!("an object stays an object"),
        }
    }
}

/// An example of `schema` for the argument or property `name` of a `resource` tool.
fn example_value(
    schema: &Value,
    ids: &dyn Fn(&str) -> Option<Value>,
    resource: &str,
    name: &str,
) -> Value {
    if let Some(c) = schema.get("const") {
        return c.clone();
    }
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.clone();
    }
    if let Some(first) = schema
        .get("anyOf")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    {
        return example_value(first, ids, resource, name);
    }
    let kind = match schema.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ => "null",
    };
    match kind {
        "string" => {
            let s = match schema.get("format").and_then(Value::as_str) {
                Some("date-time") => "2024-01-01T00:00:00Z".to_owned(),
                Some("date") => "2024-01-01".to_owned(),
                Some("email") => "example@example.com".to_owned(),
                Some("uri") => "https://example.com/".to_owned(),
                _ => "example".to_owned(),
            };
            let min = schema.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
            if s.len() < min {
                format!("{s}{}", "x".repeat(min - s.len()))
            } else {
                s
            }
        }
        .into(),
        "integer" | "number" => {
            // `id`/`ids` inside a tool's arguments are records of its own resource (a bulk
            // delete's ids, a reorder's ids); `*_id`/`*_ids` say what they are by name.
            let key = match name {
                "id" | "ids" => Some(resource),
                _ if name.ends_with("_id") || name.ends_with("_ids") => Some(name),
                _ => None,
            };
            if let Some(key) = key
                && let Some(v) = ids(key)
            {
                return v;
            }
            let min = schema.get("minimum").and_then(Value::as_i64).unwrap_or(1);
            let max = schema
                .get("maximum")
                .and_then(Value::as_i64)
                .unwrap_or(i64::MAX);
            json!(min.max(1).min(max))
        }
        "boolean" => json!(false),
        "array" => {
            let n = schema
                .get("minItems")
                .and_then(Value::as_u64)
                .unwrap_or(1)
                .max(1);
            let item = schema.get("items").cloned().unwrap_or(Value::Null);
            Value::Array(
                (0..n)
                    .map(|_| example_value(&item, ids, resource, name))
                    .collect(),
            )
        }
        "object" => {
            let mut out = Map::new();
            let props = schema.get("properties").and_then(Value::as_object);
            for r in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let (Some(r), Some(props)) = (r.as_str(), props)
                    && let Some(s) = props.get(r)
                {
                    out.insert(r.to_owned(), example_value(s, ids, resource, r));
                }
            }
            Value::Object(out)
        }
        _ => Value::Null,
    }
}
