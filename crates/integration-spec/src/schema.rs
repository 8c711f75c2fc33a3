//! Turning the YAML schema subset into JSON Schema values, checked on the way, and walking
//! the result.
//!
//! A `$ref: name` in YAML names a shared schema; in the converted value it is
//! `{"$ref": "#/$defs/name"}`, the form a tool's input schema uses. The catalog then decides per
//! tool whether to inline the shared schema or keep it under `$defs`.

use indexmap::IndexMap;
use serde_json::{Map, Value, json};
use serde_saphyr::Spanned;

use crate::definition::LoadError;
use crate::filter_expr::FilterLanguage;
use crate::format::SchemaDoc;
use crate::naming::check_property_name;

pub(crate) const REF_PREFIX: &str = "#/$defs/";

const TYPES: &[&str] = &[
    "string", "integer", "number", "boolean", "object", "array", "null",
];
const FORMATS: &[&str] = &["date-time", "date", "email", "uri"];

/// What conversion needs to know about the shared schemas: their names, and which have a
/// description (a `$ref` to one of those needs none of its own).
pub(crate) struct Shared<'a> {
    pub described: &'a IndexMap<String, bool>,
    /// The directories the connection declares (what `names:` may say).
    pub directories: &'a [String],
    /// The filter languages the definition declares (what `filter_language:` may say).
    pub filter_languages: &'a IndexMap<String, std::sync::Arc<FilterLanguage>>,
}

/// Where a `names:` marker travels in a converted schema, until the catalog collects it.
pub(crate) const NAMES_KEYWORD: &str = "x-names";
/// Where `effect:` and `effects:` markers travel, until the catalog collects them.
pub(crate) const EFFECT_KEYWORD: &str = "x-effect";
pub(crate) const EFFECTS_KEYWORD: &str = "x-effects";
/// Where a `filter_language:` marker travels, until the catalog collects it.
pub(crate) const FILTER_LANGUAGE_KEYWORD: &str = "x-filter-language";
/// A property the model is not shown (see `SchemaDoc::hidden`); the validator ignores it.
pub(crate) const HIDDEN_KEYWORD: &str = "x-hidden";
/// What an argument can do that its tool's annotations must admit.
pub(crate) const EFFECTS: &[&str] = &["deletes", "replaces", "sends"];

pub(crate) fn loc_error<T>(
    file: &str,
    spanned: &Spanned<T>,
    message: impl Into<String>,
) -> LoadError {
    LoadError::at(
        file,
        spanned.referenced.line(),
        spanned.referenced.column(),
        message,
    )
}

/// Converts one schema node. `what` names it in messages ("property `status`").
pub(crate) fn convert(
    file: &str,
    node: &Spanned<SchemaDoc>,
    shared: &Shared<'_>,
    what: &str,
) -> Result<Value, LoadError> {
    let doc = &node.value;
    let err = |m: String| loc_error(file, node, format!("{what}: {m}"));
    let mut out = Map::new();

    if let Some(reference) = &doc.reference {
        let name = &reference.value;
        if !shared.described.contains_key(name) {
            let known: Vec<&str> = shared.described.keys().map(String::as_str).collect();
            return Err(loc_error(
                file,
                reference,
                format!(
                    "{what}: `$ref: {name}` names no shared schema; known: {}",
                    known.join(", ")
                ),
            ));
        }
        let extra = doc.names.is_some()
            || doc.effects.is_some()
            || doc.kind.is_some()
            || doc.enumeration.is_some()
            || doc.constant.is_some()
            || doc.format.is_some()
            || doc.items.is_some()
            || doc.properties.is_some()
            || doc.required.is_some()
            || doc.any_of.is_some()
            || doc.additional_properties.is_some()
            || doc.default.is_some();
        if extra {
            return Err(err(
                "`$ref` may only be combined with `description`, `effect` and `hidden`".into(),
            ));
        }
        out.insert("$ref".into(), Value::String(format!("{REF_PREFIX}{name}")));
        if let Some(d) = &doc.description {
            out.insert("description".into(), Value::String(d.trim().to_owned()));
        }
        if let Some(effect) = &doc.effect {
            check_effect(file, effect, what)?;
            out.insert(EFFECT_KEYWORD.into(), json!(effect.value));
        }
        if doc.hidden == Some(true) {
            out.insert(HIDDEN_KEYWORD.into(), Value::Bool(true));
        }
        return Ok(Value::Object(out));
    }

    let types: Vec<&str> = doc.kind.as_ref().map(|t| t.names()).unwrap_or_default();
    for t in &types {
        if !TYPES.contains(t) {
            return Err(err(format!(
                "unknown type `{t}`; use one of {}",
                TYPES.join(", ")
            )));
        }
    }
    let has = |t: &str| types.contains(&t);
    if types.is_empty()
        && doc.any_of.is_none()
        && doc.constant.is_none()
        && doc.enumeration.is_none()
    {
        // A schema that says nothing would let the model send anything; make it explicit.
        return Err(err("needs a `type` (or `enum`, `const`, `anyOf`)".into()));
    }
    if let Some(kind) = &doc.kind {
        out.insert(
            "type".into(),
            match kind {
                crate::format::TypeDoc::One(t) => json!(t),
                crate::format::TypeDoc::Many(ts) => json!(ts),
            },
        );
    }
    if let Some(d) = &doc.description {
        if d.trim().is_empty() {
            return Err(err("empty description".into()));
        }
        out.insert("description".into(), Value::String(d.trim().to_owned()));
    }
    if doc.hidden == Some(true) {
        out.insert(HIDDEN_KEYWORD.into(), Value::Bool(true));
    }
    if let Some(values) = &doc.enumeration {
        if values.is_empty() {
            return Err(err("`enum` is empty".into()));
        }
        for v in values {
            if !types.is_empty() && !types.iter().any(|t| value_has_type(v, t)) {
                return Err(err(format!(
                    "enum value {v} is not of type {}",
                    types.join(" or ")
                )));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for v in values {
            if !seen.insert(v.to_string()) {
                return Err(err(format!("enum value {v} is listed twice")));
            }
        }
        out.insert("enum".into(), Value::Array(values.clone()));
    }
    if let Some(c) = &doc.constant {
        out.insert("const".into(), c.clone());
    }
    if let Some(f) = &doc.format {
        if !FORMATS.contains(&f.as_str()) {
            return Err(err(format!(
                "unknown format `{f}`; use one of {}",
                FORMATS.join(", ")
            )));
        }
        if !has("string") {
            return Err(err("`format` needs type string".into()));
        }
        out.insert("format".into(), json!(f));
    }
    if let Some(p) = &doc.pattern {
        out.insert("pattern".into(), json!(p));
    }
    for (key, value, numeric) in [
        ("minimum", doc.minimum.clone().map(Value::Number), true),
        ("maximum", doc.maximum.clone().map(Value::Number), true),
        ("minLength", doc.min_length.map(Value::from), false),
        ("maxLength", doc.max_length.map(Value::from), false),
        ("minItems", doc.min_items.map(Value::from), false),
        ("maxItems", doc.max_items.map(Value::from), false),
        ("uniqueItems", doc.unique_items.map(Value::from), false),
    ] {
        if let Some(v) = value {
            let fits = match key {
                "minLength" | "maxLength" => has("string"),
                "minItems" | "maxItems" | "uniqueItems" => has("array"),
                _ => numeric && (has("integer") || has("number")),
            };
            if !fits {
                return Err(err(format!(
                    "`{key}` does not apply to type {}",
                    types.join(" or ")
                )));
            }
            out.insert(key.into(), v);
        }
    }
    if let Some(d) = &doc.default {
        out.insert("default".into(), d.clone());
    }
    match (&doc.items, has("array")) {
        (Some(items), true) => {
            out.insert(
                "items".into(),
                convert(file, items, shared, &format!("{what} items"))?,
            );
        }
        (Some(_), false) => return Err(err("`items` needs type array".into())),
        (None, true) => return Err(err("an array needs `items`".into())),
        (None, false) => {}
    }
    if let Some(props) = &doc.properties {
        if !has("object") {
            return Err(err("`properties` needs type object".into()));
        }
        out.insert(
            "properties".into(),
            Value::Object(convert_properties(file, props, shared)?),
        );
    }
    if let Some(required) = &doc.required {
        let props = doc.properties.as_ref();
        for r in required {
            if !props.is_some_and(|p| p.contains_key(r)) {
                return Err(err(format!(
                    "`required` names `{r}`, which is not a property"
                )));
            }
        }
        out.insert("required".into(), json!(required));
    }
    if let Some(ap) = doc.additional_properties {
        if !has("object") {
            return Err(err("`additionalProperties` needs type object".into()));
        }
        out.insert("additionalProperties".into(), Value::Bool(ap));
    } else if doc.properties.is_some() {
        // Declared objects are closed unless the data says otherwise: a key the model invents
        // is refused with the list of accepted keys instead of reaching the upstream.
        out.insert("additionalProperties".into(), Value::Bool(false));
    }
    if let Some(names) = &doc.names {
        if !shared.directories.contains(&names.value) {
            return Err(loc_error(
                file,
                names,
                format!(
                    "{what}: `names: {}` is not a directory of the connection; declared: {}",
                    names.value,
                    shared.directories.join(", ")
                ),
            ));
        }
        let props = doc.properties.as_ref();
        let fits = if has("object") {
            props.is_some_and(|p| p.contains_key("name"))
        } else {
            has("string")
        };
        let fits = fits || (has("integer") && !has("object"));
        if !fits {
            return Err(err(
                "`names` goes on a string, an integer id (which may then be given as a name), or an object with a `name` property (and `id` when the upstream wants the id)".into(),
            ));
        }
        out.insert(NAMES_KEYWORD.into(), json!(names.value));
    }
    if let Some(effect) = &doc.effect {
        check_effect(file, effect, what)?;
        out.insert(EFFECT_KEYWORD.into(), json!(effect.value));
    }
    if let Some(name) = &doc.filter_language {
        let Some(language) = shared.filter_languages.get(&name.value) else {
            let known: Vec<&str> = shared.filter_languages.keys().map(String::as_str).collect();
            return Err(loc_error(
                file,
                name,
                format!(
                    "{what}: `filter_language: {}` is not declared under `filter_languages`; declared: {}",
                    name.value,
                    known.join(", ")
                ),
            ));
        };
        if types != ["string"] {
            return Err(err("`filter_language` goes on a string".into()));
        }
        // The model writes the expression, so it reads the grammar where it writes it.
        let described = out
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if doc.filter_grammar != Some(false) {
            let text = format!("{described} {}", language.grammar());
            out.insert("description".into(), Value::String(text.trim().to_owned()));
        }
        out.insert(FILTER_LANGUAGE_KEYWORD.into(), json!(name.value));
    }
    if let Some(effects) = &doc.effects {
        let values = doc.enumeration.as_ref();
        for (value, effect) in &effects.value {
            if !values.is_some_and(|vs| vs.iter().any(|v| v.as_str() == Some(value))) {
                return Err(loc_error(
                    file,
                    effects,
                    format!("{what}: `effects` names `{value}`, which is not a value of the enum"),
                ));
            }
            if !EFFECTS.contains(&effect.as_str()) {
                return Err(loc_error(
                    file,
                    effects,
                    format!(
                        "{what}: unknown effect `{effect}`; use {}",
                        EFFECTS.join(", ")
                    ),
                ));
            }
        }
        out.insert(EFFECTS_KEYWORD.into(), json!(effects.value));
    }
    if let Some(alternatives) = &doc.any_of {
        let mut converted = Vec::new();
        for (i, a) in alternatives.iter().enumerate() {
            converted.push(convert(file, a, shared, &format!("{what} anyOf[{i}]"))?);
        }
        out.insert("anyOf".into(), Value::Array(converted));
    }
    Ok(Value::Object(out))
}

pub(crate) fn check_effect(
    file: &str,
    effect: &Spanned<String>,
    what: &str,
) -> Result<(), LoadError> {
    if EFFECTS.contains(&effect.value.as_str()) {
        Ok(())
    } else {
        Err(loc_error(
            file,
            effect,
            format!(
                "{what}: unknown effect `{}`; use {}",
                effect.value,
                EFFECTS.join(", ")
            ),
        ))
    }
}

/// Converts a property map, requiring a description on every property (the model reads them)
/// and names every client accepts.
pub(crate) fn convert_properties(
    file: &str,
    props: &IndexMap<String, Spanned<SchemaDoc>>,
    shared: &Shared<'_>,
) -> Result<Map<String, Value>, LoadError> {
    let mut out = Map::new();
    for (name, schema) in props {
        check_property_name(name).map_err(|m| loc_error(file, schema, m))?;
        let what = format!("property `{name}`");
        let value = convert(file, schema, shared, &what)?;
        require_description(file, schema, &value, shared, &what)?;
        out.insert(name.clone(), value);
    }
    Ok(out)
}

pub(crate) fn require_description(
    file: &str,
    node: &Spanned<SchemaDoc>,
    value: &Value,
    shared: &Shared<'_>,
    what: &str,
) -> Result<(), LoadError> {
    if value.get("description").is_some() {
        return Ok(());
    }
    if let Some(name) = ref_name(value)
        && shared.described.get(name).copied().unwrap_or(false)
    {
        return Ok(());
    }
    Err(loc_error(
        file,
        node,
        format!("{what} needs a `description`"),
    ))
}

pub(crate) fn value_has_type(v: &Value, t: &str) -> bool {
    match t {
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "null" => v.is_null(),
        _ => false,
    }
}

/// The shared-schema name a `{"$ref": "#/$defs/name"}` node points at.
pub(crate) fn ref_name(schema: &Value) -> Option<&str> {
    schema.get("$ref")?.as_str()?.strip_prefix(REF_PREFIX)
}

/// Follows `$ref`s to the schema that holds the keywords.
pub(crate) fn resolve<'a>(mut schema: &'a Value, shared: &'a IndexMap<String, Value>) -> &'a Value {
    // Cycles are refused at load time; the bound is belt and braces.
    for _ in 0..32 {
        match ref_name(schema).and_then(|n| shared.get(n)) {
            Some(target) => schema = target,
            None => break,
        }
    }
    schema
}

/// The schema of the property at a dotted path (`source.from.address`), through `$ref`s.
pub(crate) fn property_at<'a>(
    schema: &'a Value,
    path: &[&str],
    shared: &'a IndexMap<String, Value>,
) -> Option<&'a Value> {
    let mut current = resolve(schema, shared);
    for part in path {
        current = resolve(current.get("properties")?.get(*part)?, shared);
    }
    Some(current)
}

/// Every shared-schema name referenced (directly) inside `schema`, in order, with repeats.
pub(crate) fn refs_in(schema: &Value, out: &mut Vec<String>) {
    match schema {
        Value::Object(map) => {
            if let Some(n) = ref_name(schema) {
                out.push(n.to_owned());
            }
            for (k, v) in map {
                // `enum`, `const`, `default` and `examples` hold data, not schemas.
                if !matches!(k.as_str(), "enum" | "const" | "default" | "examples") {
                    refs_in(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs_in(v, out)),
        _ => {}
    }
}

/// Rewrites every `$ref` with `f` (used by the OpenAPI export).
pub(crate) fn rewrite_refs(schema: &mut Value, f: &dyn Fn(&str) -> String) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get_mut("$ref")
                && let Some(name) = r.strip_prefix(REF_PREFIX)
            {
                *r = f(name);
            }
            for (k, v) in map.iter_mut() {
                if !matches!(k.as_str(), "enum" | "const" | "default" | "examples") {
                    rewrite_refs(v, f);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_refs(v, f)),
        _ => {}
    }
}
