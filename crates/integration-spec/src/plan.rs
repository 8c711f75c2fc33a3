//! Request planning: a tool's arguments in, the upstream request out, pure.
//!
//! In order: defaults are filled in, custom-field values are checked against the account's
//! definitions, the arguments are validated against the tool's schema (the validator was
//! compiled once when the catalog was built), the data's cross-field rules are checked, and
//! the arguments are split into path, query and body. Keys outside the schema are refused
//! (the schema says `additionalProperties: false`), so they never reach the upstream.

use std::fmt;

use jsonschema::error::ValidationErrorKind;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::catalog::{Step, TemplateBody, Tool};
use crate::custom_fields;
use crate::definition::{CURSOR_ARG, LIMIT_ARG};
use crate::rules::apply_defaults;

/// How the body travels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyEncoding {
    /// `application/json`.
    #[default]
    Json,
    /// `multipart/form-data`: the body is an object whose keys are the parts. A part that is an
    /// object with `content_base64` is a file (`name`, `content_type`, `content_base64`).
    Multipart,
}

/// The upstream request a tool call becomes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path with every parameter percent-encoded as one segment.
    pub path: String,
    /// Unencoded pairs in order; arrays repeat the key, objects use `key[sub]`.
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
    pub body_encoding: BodyEncoding,
}

/// Arguments a tool refuses, with a message the model can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ArgumentError {
    problems: Vec<Problem>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Problem {
    field: String,
    message: String,
}

impl ArgumentError {
    pub(crate) fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        ArgumentError {
            problems: vec![Problem {
                field: field.into(),
                message: message.into(),
            }],
        }
    }

    /// The first offending argument, as a path like `messages[0].channel` (empty when the
    /// arguments as a whole are wrong).
    pub fn field(&self) -> &str {
        &self.problems[0].field
    }

    /// Every offending argument path, in the order reported.
    pub fn fields(&self) -> Vec<&str> {
        self.problems.iter().map(|p| p.field.as_str()).collect()
    }
}

impl fmt::Display for ArgumentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            if p.field.is_empty() {
                f.write_str(&p.message)?;
            } else {
                write!(f, "argument `{}`: {}", p.field, p.message)?;
            }
        }
        Ok(())
    }
}

/// Everything but unreserved characters is escaped, so a value cannot add a `/`, `?` or `#`.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// At most this many problems are reported at once.
const MAX_PROBLEMS: usize = 8;

impl Tool {
    /// Turns arguments into the upstream request, or explains what is wrong with them.
    pub fn plan(&self, arguments: &Map<String, Value>) -> Result<PlannedRequest, ArgumentError> {
        let args = self.validate(arguments)?;
        self.split(&args)
    }

    /// The arguments with defaults filled in, checked against the schema (custom fields
    /// included), the rules, and the integer range; or what is wrong with them.
    pub fn validate(
        &self,
        arguments: &Map<String, Value>,
    ) -> Result<Map<String, Value>, ArgumentError> {
        let inner = &self.inner;
        let template = &inner.template;
        let mut args = Value::Object(arguments.clone());

        apply_defaults(&mut args, &template.defaults);
        for instance in &template.instances {
            each_instance(&mut args, &instance.path, String::new(), &mut |v, _| {
                apply_defaults(v, &instance.extras.defaults)
            });
        }

        if let Some(fields) = &inner.fields {
            custom_fields::check(&args, &template.bindings, fields)?;
        }

        let problems: Vec<Problem> = inner
            .validator
            .iter_errors(&args)
            .flat_map(|e| describe(&e, &inner.full_schema))
            .take(MAX_PROBLEMS)
            .collect();
        if !problems.is_empty() {
            return Err(ArgumentError { problems });
        }

        for rule in &template.rules {
            if let Some(v) = rule.check(&args) {
                return Err(ArgumentError::new(v.field.join("."), v.message));
            }
        }
        for instance in &template.instances {
            let mut found = None;
            each_instance(
                &mut args,
                &instance.path,
                String::new(),
                &mut |v, prefix| {
                    if found.is_none() {
                        found = instance.extras.rules.iter().find_map(|r| r.check(v)).map(
                            |violation| {
                                let field = violation.field.join(".");
                                let field = if prefix.is_empty() {
                                    field
                                } else {
                                    format!("{prefix}.{field}")
                                };
                                ArgumentError::new(field, violation.message)
                            },
                        );
                    }
                },
            );
            if let Some(e) = found {
                return Err(e);
            }
        }
        let mut args = args;
        for slot in &template.filter_slots {
            crate::names::each_at(&mut args, &slot.path, String::new(), &mut |v, at| match v
                .as_str()
                .map(|src| slot.language.check(src))
            {
                Some(Err(message)) => Err(ArgumentError::new(at, message)),
                _ => Ok(()),
            })?;
        }
        let Value::Object(args) = args else {
            unreachable!("arguments are an object")
        };
        let properties = self.inner.full_schema.get("properties");
        for (k, v) in &args {
            if let Some(schema) = properties.and_then(|p| p.get(k)) {
                check_integers(v, schema, k.clone())?;
            }
        }
        Ok(args)
    }

    /// Validated arguments split into path, query and body.
    fn split(&self, args: &Map<String, Value>) -> Result<PlannedRequest, ArgumentError> {
        let template = &self.inner.template;

        let mut path = String::new();
        for segment in template.path.split('/').skip(1) {
            path.push('/');
            match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(param) => path.push_str(&path_segment(param, args.get(param))?),
                None => path.push_str(segment),
            }
        }

        let mut query = Vec::new();
        for name in &template.query {
            if let Some(v) = args.get(name) {
                query_pairs(name, v, &mut query);
            }
        }
        if let Some((cursor_param, limit_param)) = &template.pagination {
            if let Some(v) = args.get(LIMIT_ARG) {
                query_pairs(limit_param, v, &mut query);
            }
            if let Some(v) = args.get(CURSOR_ARG) {
                query_pairs(cursor_param, v, &mut query);
            }
        }

        let body = match &template.body {
            TemplateBody::None => None,
            TemplateBody::Object(names) => Some(Value::Object(
                names
                    .iter()
                    .filter_map(|n| args.get(n).map(|v| (n.clone(), v.clone())))
                    .collect(),
            )),
            TemplateBody::Wrapped(property) => args.get(property).cloned(),
        };

        Ok(PlannedRequest {
            method: template.http_method.clone(),
            path,
            query,
            body,
            body_encoding: template.body_encoding,
        })
    }
}

/// JSON Schema calls `1e30` an integer (its fractional part is zero), but no id is that large,
/// and written into a path or query it would read `1e30`: a whole number must fit 64 bits.
fn check_integers(value: &Value, schema: &Value, at: String) -> Result<(), ArgumentError> {
    let says_integer = match schema.get("type") {
        Some(Value::String(t)) => t == "integer",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "integer"),
        _ => false,
    };
    match value {
        Value::Number(n) if says_integer && n.as_i64().is_none() && n.as_u64().is_none() => Err(
            ArgumentError::new(at, format!("{n} is not a whole number that fits 64 bits")),
        ),
        Value::Object(map) => {
            let props = schema.get("properties");
            for (k, v) in map {
                if let Some(s) = props.and_then(|p| p.get(k)) {
                    let at = if at.is_empty() {
                        k.clone()
                    } else {
                        format!("{at}.{k}")
                    };
                    check_integers(v, s, at)?;
                }
            }
            Ok(())
        }
        Value::Array(items) => match schema.get("items") {
            Some(s) => {
                for (i, v) in items.iter().enumerate() {
                    check_integers(v, s, format!("{at}[{i}]"))?;
                }
                Ok(())
            }
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

/// Calls `f` on every instance at `path` (`Each` walks array items), with its display prefix.
pub(crate) fn each_instance(
    value: &mut Value,
    path: &[Step],
    prefix: String,
    f: &mut dyn FnMut(&mut Value, &str),
) {
    match path.split_first() {
        None => {
            if value.is_object() {
                f(value, &prefix)
            }
        }
        Some((Step::Key(k), rest)) => {
            if let Some(v) = value.get_mut(k.as_str()) {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                each_instance(v, rest, p, f);
            }
        }
        Some((Step::Each, rest)) => {
            if let Value::Array(items) = value {
                for (i, v) in items.iter_mut().enumerate() {
                    each_instance(v, rest, format!("{prefix}[{i}]"), f);
                }
            }
        }
    }
}

fn path_segment(param: &str, value: Option<&Value>) -> Result<String, ArgumentError> {
    let text = match value {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        // The schema makes every path parameter a required integer or string.
        _ => return Err(ArgumentError::new(param, "is required")),
    };
    // `.` and `..` survive encoding and are dot segments that a URL parser would resolve.
    if text.is_empty() || text == "." || text == ".." {
        return Err(ArgumentError::new(
            param,
            format!("{text:?} is not a valid id"),
        ));
    }
    Ok(utf8_percent_encode(&text, SEGMENT).to_string())
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
    }
}

/// Arrays repeat the key (form, explode); objects use deep-object keys (`created_datetime[gte]`).
fn query_pairs(name: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Array(items) => {
            for item in items {
                if let Some(s) = scalar(item) {
                    out.push((name.to_owned(), s));
                }
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                if let Some(s) = scalar(item) {
                    out.push((format!("{name}[{k}]"), s));
                }
            }
        }
        other => {
            if let Some(s) = scalar(other) {
                out.push((name.to_owned(), s));
            }
        }
    }
}

/// A JSON pointer (`/messages/0/channel`) as the model wrote it (`messages[0].channel`).
pub(crate) fn display_path(pointer: &jsonschema::paths::Location) -> String {
    let mut out = String::new();
    for segment in pointer.segments() {
        match segment {
            jsonschema::paths::LocationSegment::Index(i) => out.push_str(&format!("[{i}]")),
            jsonschema::paths::LocationSegment::Property(p) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&p);
            }
        }
    }
    out
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

fn shown(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 80 {
        format!("{}...", s.chars().take(77).collect::<String>())
    } else {
        s
    }
}

fn list(values: &[Value]) -> String {
    values
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The schema node a validation error's schema path points at (input schemas hold no `$ref`).
fn schema_node<'a>(
    root: &'a Map<String, Value>,
    schema_path: &jsonschema::paths::Location,
) -> Option<&'a Value> {
    let mut node: Option<&Value> = None;
    for segment in schema_path.segments() {
        let next = match (&segment, node) {
            (jsonschema::paths::LocationSegment::Property(p), None) => root.get(p.as_ref()),
            (jsonschema::paths::LocationSegment::Property(p), Some(n)) => n.get(p.as_ref()),
            (jsonschema::paths::LocationSegment::Index(i), Some(n)) => n.get(*i),
            (jsonschema::paths::LocationSegment::Index(_), None) => None,
        };
        node = Some(next?);
    }
    node
}

fn describe(error: &jsonschema::ValidationError<'_>, root: &Map<String, Value>) -> Vec<Problem> {
    let at = display_path(error.instance_path());
    let instance = error.instance();
    let problem = |field: String, message: String| Problem { field, message };
    match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            // The keyword's parent is the object schema: list what it accepts.
            let segments: Vec<_> = error.schema_path().segments().collect();
            let parent: jsonschema::paths::Location = segments[..segments.len().saturating_sub(1)]
                .iter()
                .cloned()
                .collect();
            let properties = if parent.is_empty() {
                root.get("properties")
            } else {
                schema_node(root, &parent).and_then(|n| n.get("properties"))
            };
            let allowed: Vec<&str> = properties
                .and_then(Value::as_object)
                .map(|p| p.keys().map(String::as_str).collect())
                .unwrap_or_default();
            unexpected
                .iter()
                .map(|key| {
                    let what = if at.is_empty() {
                        "is not an argument of this tool"
                    } else {
                        "is not an accepted key here"
                    };
                    let message = if allowed.is_empty() {
                        what.to_owned()
                    } else {
                        format!("{what}; accepted: {}", allowed.join(", "))
                    };
                    problem(join(&at, key), message)
                })
                .collect()
        }
        ValidationErrorKind::Required { property } => {
            let name = property
                .as_str()
                .map_or_else(|| property.to_string(), str::to_owned);
            vec![problem(join(&at, &name), "is required".into())]
        }
        ValidationErrorKind::Enum { options } => {
            let options = options.as_array().map(Vec::as_slice).unwrap_or_default();
            vec![problem(
                at,
                format!("{} is not one of {}", shown(instance), list(options)),
            )]
        }
        ValidationErrorKind::Constant { expected_value } => {
            vec![problem(
                at,
                format!("{} must be {}", shown(instance), expected_value),
            )]
        }
        ValidationErrorKind::Type { .. } => {
            let expected = schema_node(root, error.schema_path())
                .map(|t| t.to_string())
                .unwrap_or_default();
            vec![problem(
                at,
                format!("{} is not of type {expected}", shown(instance)),
            )]
        }
        _ => {
            let message = error.to_string();
            let message = message.replace(&instance.to_string(), &shown(instance));
            vec![problem(at, message)]
        }
    }
}
