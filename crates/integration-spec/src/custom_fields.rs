//! Account-specific schemas: one account's custom-field definitions, and how they complete the
//! schemas (and the checks) of the tools that take custom-field values.
//!
//! The definition says where values go (a binding: an array argument of `{id, value}` items, or
//! an id argument with an optional value argument). Each active field becomes an explicit
//! alternative in the schema, with its label, type and dropdown choices, and the planner checks
//! values against the same definitions with messages that name the field.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::connection::CustomFieldSource;
use crate::definition::{Binding, BindingTarget};
use crate::plan::ArgumentError;

/// One account's custom-field definitions, per source (e.g. `tickets`, `customers`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomFields {
    by_source: BTreeMap<String, Vec<CustomField>>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CustomField {
    pub id: i64,
    pub label: String,
    pub kind: FieldKind,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FieldKind {
    Text,
    Dropdown(Vec<String>),
    Number {
        min: Option<f64>,
        max: Option<f64>,
    },
    Boolean,
    /// A data type this crate does not know yet: any value passes.
    Other(String),
}

impl CustomFields {
    pub fn empty() -> Self {
        Self::default()
    }

    /// Adds the `data` items of one list page fetched for `source`. Archived fields
    /// (`deactivated_datetime` set) are left out; a field seen again replaces the earlier one.
    pub fn add_page(&mut self, source: &CustomFieldSource, page: &Value) -> Result<(), String> {
        let items = page
            .get("data")
            .and_then(Value::as_array)
            .ok_or("a custom-field page has no `data` array")?;
        let fields = self.by_source.entry(source.resource.clone()).or_default();
        for item in items {
            if item
                .get("deactivated_datetime")
                .is_some_and(|d| !d.is_null())
            {
                continue;
            }
            let field = parse_field(item)?;
            fields.retain(|f| f.id != field.id);
            fields.push(field);
        }
        Ok(())
    }

    /// How many active fields, over all sources.
    pub fn len(&self) -> usize {
        self.by_source.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn has_source(&self, source: &str) -> bool {
        self.by_source.get(source).is_some_and(|f| !f.is_empty())
    }

    fn of(&self, source: &str) -> &[CustomField] {
        self.by_source
            .get(source)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
}

fn parse_field(item: &Value) -> Result<CustomField, String> {
    let id = item
        .get("id")
        .and_then(Value::as_i64)
        .ok_or_else(|| format!("a custom field without an integer `id`: {item}"))?;
    let label = item
        .get("label")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .to_owned();
    let definition = item.get("definition").cloned().unwrap_or(Value::Null);
    let data_type = definition
        .get("data_type")
        .and_then(Value::as_str)
        .unwrap_or("");
    let settings = definition
        .get("input_settings")
        .cloned()
        .unwrap_or(Value::Null);
    let input_type = settings
        .get("input_type")
        .and_then(Value::as_str)
        .unwrap_or("");
    let kind = match data_type {
        "text" if input_type == "dropdown" => {
            let choices: Vec<String> = settings
                .get("choices")
                .and_then(Value::as_array)
                .map(|c| {
                    c.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            if choices.is_empty() {
                FieldKind::Text
            } else {
                FieldKind::Dropdown(choices)
            }
        }
        "text" => FieldKind::Text,
        "number" => FieldKind::Number {
            min: settings.get("min").and_then(Value::as_f64),
            max: settings.get("max").and_then(Value::as_f64),
        },
        "boolean" => FieldKind::Boolean,
        other => FieldKind::Other(other.to_owned()),
    };
    Ok(CustomField { id, label, kind })
}

impl CustomField {
    fn summary(&self) -> String {
        let kind = match &self.kind {
            FieldKind::Text => "text".to_owned(),
            FieldKind::Dropdown(choices) => format!("dropdown: {}", choices.join(", ")),
            FieldKind::Number { min, max } => match (min, max) {
                (Some(a), Some(b)) => format!("number {a} to {b}"),
                (Some(a), None) => format!("number >= {a}"),
                (None, Some(b)) => format!("number <= {b}"),
                (None, None) => "number".to_owned(),
            },
            FieldKind::Boolean => "true/false".to_owned(),
            FieldKind::Other(t) => t.clone(),
        };
        format!("{} = {} ({kind})", self.id, self.label)
    }

    /// The JSON Schema of a value (`null` clears it).
    fn value_schema(&self) -> Value {
        match &self.kind {
            FieldKind::Text => json!({"type": ["string", "null"]}),
            FieldKind::Dropdown(choices) => {
                let mut values: Vec<Value> = choices.iter().map(|c| json!(c)).collect();
                values.push(Value::Null);
                json!({"type": ["string", "null"], "enum": values})
            }
            FieldKind::Number { min, max } => {
                let mut s = json!({"type": ["number", "null"]});
                if let Some(m) = min {
                    s["minimum"] = json!(m);
                }
                if let Some(m) = max {
                    s["maximum"] = json!(m);
                }
                s
            }
            FieldKind::Boolean => json!({"type": ["boolean", "null"]}),
            FieldKind::Other(_) => json!({}),
        }
    }

    /// A value this field accepts (for example arguments).
    fn example(&self) -> Value {
        match &self.kind {
            FieldKind::Text => json!("example"),
            FieldKind::Dropdown(choices) => json!(choices[0]),
            FieldKind::Number { min, max } => {
                let n = min.or(*max).unwrap_or(1.0);
                if n.fract() == 0.0 && n.abs() < 1e15 {
                    json!(n as i64)
                } else {
                    json!(n)
                }
            }
            FieldKind::Boolean => json!(true),
            FieldKind::Other(_) => Value::Null,
        }
    }

    /// Why `value` does not fit this field, if it does not.
    fn check(&self, value: &Value) -> Result<(), String> {
        if value.is_null() {
            return Ok(());
        }
        let name = format!("field {} ({})", self.id, self.label);
        match &self.kind {
            FieldKind::Text if !value.is_string() => {
                Err(format!("{value} is not text, as {name} needs"))
            }
            FieldKind::Dropdown(choices) => match value.as_str() {
                Some(s) if choices.iter().any(|c| c == s) => Ok(()),
                _ => Err(format!(
                    "{value} is not one of {} ({name})",
                    choices
                        .iter()
                        .map(|c| format!("{c:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            },
            FieldKind::Number { min, max } => {
                let Some(n) = value.as_f64() else {
                    return Err(format!("{value} is not a number, as {name} needs"));
                };
                if let Some(m) = min
                    && n < *m
                {
                    return Err(format!("{value} is below the minimum {m} of {name}"));
                }
                if let Some(m) = max
                    && n > *m
                {
                    return Err(format!("{value} is above the maximum {m} of {name}"));
                }
                Ok(())
            }
            FieldKind::Boolean if !value.is_boolean() => {
                Err(format!("{value} is not true or false, as {name} needs"))
            }
            _ => Ok(()),
        }
    }
}

fn listing(fields: &[CustomField]) -> String {
    let items: Vec<String> = fields.iter().map(CustomField::summary).collect();
    format!("This account's fields: {}.", items.join("; "))
}

fn append_description(schema: &mut Value, text: &str) {
    let current = schema
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .to_owned();
    schema["description"] = Value::String(if current.is_empty() {
        text.to_owned()
    } else {
        format!("{current} {text}")
    });
}

/// Writes the account's fields into a tool's input schema.
pub(crate) fn complete(
    schema: &mut Map<String, Value>,
    bindings: &[Binding],
    fields: &CustomFields,
) {
    let Some(Value::Object(properties)) = schema.get_mut("properties") else {
        return;
    };
    for binding in bindings {
        let active = fields.of(&binding.source);
        if active.is_empty() {
            continue;
        }
        match &binding.target {
            BindingTarget::Array(name) => {
                let Some(prop) = properties.get_mut(name) else {
                    continue;
                };
                let alternatives: Vec<Value> = active
                    .iter()
                    .map(|f| {
                        json!({
                            "type": "object",
                            "properties": {
                                "id": {"const": f.id, "description": f.label},
                                "value": f.value_schema(),
                            },
                            "required": ["id", "value"],
                            "additionalProperties": false,
                        })
                    })
                    .collect();
                // Each alternative names its field (a const id with the label as its
                // description) and its value's type and choices: a listing in the array's
                // description would say all of it a second time.
                prop["items"] = json!({"anyOf": alternatives});
            }
            BindingTarget::Id { id, value } => {
                if let Some(prop) = properties.get_mut(id) {
                    prop["enum"] = Value::Array(active.iter().map(|f| json!(f.id)).collect());
                    append_description(prop, &listing(active));
                }
                if let Some(v) = value
                    && let Some(prop) = properties.get_mut(v)
                {
                    append_description(
                        prop,
                        "Its type and choices are those of the field named by the id (listed there).",
                    );
                }
            }
        }
    }
}

/// Makes example value arguments fit the field their id argument names: a value built from the
/// generic schema (text) fits no number, boolean or dropdown field.
pub(crate) fn fit_example_values(
    args: &mut Map<String, Value>,
    bindings: &[Binding],
    fields: &CustomFields,
) {
    for binding in bindings {
        let BindingTarget::Id { id, value: Some(v) } = &binding.target else {
            continue;
        };
        let field = args
            .get(id)
            .and_then(Value::as_i64)
            .and_then(|id| fields.of(&binding.source).iter().find(|f| f.id == id));
        if let Some(field) = field
            && args.contains_key(v)
        {
            args.insert(v.clone(), field.example());
        }
    }
}

/// Checks custom-field ids and values against the account's definitions.
pub(crate) fn check(
    args: &Value,
    bindings: &[Binding],
    fields: &CustomFields,
) -> Result<(), ArgumentError> {
    for binding in bindings {
        let active = fields.of(&binding.source);
        if active.is_empty() {
            continue;
        }
        let find = |field: &str, id: &Value| -> Result<&CustomField, ArgumentError> {
            id.as_i64()
                .and_then(|id| active.iter().find(|f| f.id == id))
                .ok_or_else(|| {
                    let known: Vec<String> = active
                        .iter()
                        .map(|f| format!("{} ({})", f.id, f.label))
                        .collect();
                    ArgumentError::new(
                        field,
                        format!(
                            "{id} is not a custom field of this account; fields: {}",
                            known.join(", ")
                        ),
                    )
                })
        };
        match &binding.target {
            BindingTarget::Array(name) => {
                let Some(Value::Array(items)) = args.get(name) else {
                    continue;
                };
                for (i, item) in items.iter().enumerate() {
                    let Some(id) = item.get("id") else { continue };
                    let field = find(&format!("{name}[{i}].id"), id)?;
                    if let Some(value) = item.get("value") {
                        field
                            .check(value)
                            .map_err(|m| ArgumentError::new(format!("{name}[{i}].value"), m))?;
                    }
                }
            }
            BindingTarget::Id { id, value } => {
                let Some(id_value) = args.get(id) else {
                    continue;
                };
                let field = find(id, id_value)?;
                if let Some(v) = value
                    && let Some(value) = args.get(v)
                {
                    // A value sent as `{"id": .., "value": ..}` (one client does) is checked inside.
                    let inner = value
                        .get("value")
                        .filter(|_| value.get("id").is_some())
                        .unwrap_or(value);
                    field
                        .check(inner)
                        .map_err(|m| ArgumentError::new(v.clone(), m))?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> CustomFieldSource {
        CustomFieldSource {
            resource: "tickets".into(),
            path: "/api/custom-fields".into(),
            query: vec![("object_type".into(), "Ticket".into())],
        }
    }

    #[test]
    fn pages_parse_and_archived_fields_are_left_out() {
        let mut fields = CustomFields::empty();
        let page = json!({"data": [
            {"id": 1, "label": "Reason", "deactivated_datetime": null,
             "definition": {"data_type": "text", "input_settings": {"input_type": "dropdown", "choices": ["A", "B"]}}},
            {"id": 2, "label": "Old", "deactivated_datetime": "2024-01-01T00:00:00+00:00",
             "definition": {"data_type": "text", "input_settings": {"input_type": "input"}}},
            {"id": 3, "label": "Score", "definition": {"data_type": "number", "input_settings": {"input_type": "input_number", "min": 0, "max": 10}}},
        ]});
        fields.add_page(&source(), &page).unwrap();
        assert_eq!(fields.len(), 2);
        assert_eq!(
            fields.of("tickets")[0].kind,
            FieldKind::Dropdown(vec!["A".into(), "B".into()])
        );
        assert_eq!(
            fields.of("tickets")[1].kind,
            FieldKind::Number {
                min: Some(0.0),
                max: Some(10.0)
            }
        );
        assert!(fields.add_page(&source(), &json!({"items": []})).is_err());
        assert!(
            fields
                .add_page(&source(), &json!({"data": [{"label": "x"}]}))
                .is_err()
        );
    }
}
