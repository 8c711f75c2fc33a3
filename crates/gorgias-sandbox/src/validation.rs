//! Marshmallow-like reading of JSON bodies: typed getters that collect per-field messages in
//! the shape Gorgias returns (`{"field": ["Missing data for required field."]}`, nested objects
//! for nested input, e.g. `{"messages": {"0": {"channel": [...]}}}`).
//!
//! Unknown fields: marshmallow 3's default is to reject them with `Unknown field.` and the
//! reference lists that text, so every schema here declares its fields and rejects the rest.
//! Read-only keys that clients commonly echo back (`id`, `uri`, ...) are listed per schema where
//! the reference shows clients sending them.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::clock::Timestamp;
use crate::errors::ApiError;

pub const MISSING: &str = "Missing data for required field.";
pub const NULL: &str = "Field may not be null.";
pub const NOT_STRING: &str = "Not a valid string.";
pub const NOT_INTEGER: &str = "Not a valid integer.";
pub const NOT_NUMBER: &str = "Not a valid number.";
pub const NOT_BOOLEAN: &str = "Not a valid boolean.";
pub const NOT_DATETIME: &str = "Not a valid datetime.";
pub const NOT_LIST: &str = "Not a valid list.";
pub const NOT_MAPPING: &str = "Not a valid mapping type.";
pub const INVALID_INPUT: &str = "Invalid input type.";
pub const UNKNOWN: &str = "Unknown field.";

pub fn one_of(choices: &[&str]) -> String {
    format!("Must be one of: {}.", choices.join(", "))
}

pub fn length_between(min: usize, max: usize) -> String {
    format!("Length must be between {min} and {max}.")
}

pub fn longer_than(max: usize) -> String {
    format!("Longer than maximum length {max}.")
}

pub fn range(min: f64, max: f64) -> String {
    format!(
        "Must be greater than or equal to {} and less than or equal to {}.",
        number_text(min),
        number_text(max)
    )
}

fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

/// A collection of per-field messages, nested like the input.
#[derive(Debug, Default, Clone)]
pub struct Errors(Map<String, Value>);

impl Errors {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        let entry = self
            .0
            .entry(field.to_owned())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = entry {
            list.push(Value::String(message.into()));
        }
    }

    pub fn nest(&mut self, field: &str, inner: Errors) {
        if inner.is_empty() {
            return;
        }
        match self.0.get_mut(field) {
            Some(Value::Object(existing)) => existing.extend(inner.0),
            _ => {
                self.0.insert(field.to_owned(), Value::Object(inner.0));
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Merges `other` into `self` (message lists appended, nested objects merged).
    pub fn extend(&mut self, other: Errors) {
        for (k, v) in other.0 {
            match (self.0.get_mut(&k), v) {
                (Some(Value::Array(mine)), Value::Array(theirs)) => mine.extend(theirs),
                (Some(Value::Object(mine)), Value::Object(theirs)) => {
                    let mut merged = Errors(std::mem::take(mine));
                    merged.extend(Errors(theirs));
                    *mine = merged.0;
                }
                (_, v) => {
                    self.0.insert(k, v);
                }
            }
        }
    }

    pub fn into_value(self) -> Value {
        Value::Object(self.0)
    }

    pub fn into_result(self, msg: &str) -> Result<(), ApiError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation {
                msg: msg.to_owned(),
                data: self.into_value(),
            })
        }
    }
}

/// A field that may be absent, explicitly `null`, or set. PUT is partial, so "absent" and
/// "null" mean different things (leave alone vs clear).
#[derive(Debug, Clone, PartialEq)]
pub enum Field<T> {
    Missing,
    Null,
    Set(T),
}

impl<T> Field<T> {
    pub fn is_missing(&self) -> bool {
        matches!(self, Field::Missing)
    }

    /// `Some(new value)` when the field was sent (null included).
    pub fn sent(self) -> Option<Option<T>> {
        match self {
            Field::Missing => None,
            Field::Null => Some(None),
            Field::Set(v) => Some(Some(v)),
        }
    }

    pub fn value(self) -> Option<T> {
        match self {
            Field::Set(v) => Some(v),
            _ => None,
        }
    }

    /// Applies a sent value to a nullable slot.
    pub fn apply_to(self, slot: &mut Option<T>) {
        if let Some(v) = self.sent() {
            *slot = v;
        }
    }
}

/// Reads one JSON object against a schema, collecting errors.
pub struct Input<'a> {
    obj: &'a Map<String, Value>,
    seen: BTreeSet<String>,
    pub errors: Errors,
}

impl<'a> Input<'a> {
    /// Starts reading `value`, which must be a JSON object (else marshmallow's `_schema` error).
    pub fn object(value: &'a Value, msg: &str) -> Result<Self, ApiError> {
        match value {
            Value::Object(obj) => Ok(Input {
                obj,
                seen: BTreeSet::new(),
                errors: Errors::default(),
            }),
            _ => Err(ApiError::field(msg, "_schema", INVALID_INPUT)),
        }
    }

    /// Like `object`, for nested input: a non-object is recorded as an error on `errors`.
    pub fn nested(value: &'a Value) -> Option<Self> {
        match value {
            Value::Object(obj) => Some(Input {
                obj,
                seen: BTreeSet::new(),
                errors: Errors::default(),
            }),
            _ => None,
        }
    }

    pub fn has(&self, key: &str) -> bool {
        self.obj.contains_key(key)
    }

    /// Marks keys as known without reading them (accepted and ignored).
    pub fn ignore(&mut self, keys: &[&str]) {
        for k in keys {
            self.seen.insert((*k).to_owned());
        }
    }

    fn take(&mut self, key: &str) -> Option<&'a Value> {
        self.seen.insert(key.to_owned());
        self.obj.get(key)
    }

    pub fn value(&mut self, key: &str) -> Field<&'a Value> {
        match self.take(key) {
            None => Field::Missing,
            Some(Value::Null) => Field::Null,
            Some(v) => Field::Set(v),
        }
    }

    pub fn string(&mut self, key: &str, min: usize, max: Option<usize>) -> Field<String> {
        match self.take(key) {
            None => Field::Missing,
            Some(Value::Null) => Field::Null,
            Some(Value::String(s)) => {
                let len = s.chars().count();
                let too_long = max.is_some_and(|m| len > m);
                if len < min || too_long {
                    let msg = match max {
                        Some(m) if min > 0 => length_between(min, m),
                        Some(m) => longer_than(m),
                        None => format!("Shorter than minimum length {min}."),
                    };
                    self.errors.add(key, msg);
                    Field::Missing
                } else {
                    Field::Set(s.clone())
                }
            }
            Some(_) => {
                self.errors.add(key, NOT_STRING);
                Field::Missing
            }
        }
    }

    pub fn required_string(&mut self, key: &str, min: usize, max: Option<usize>) -> Option<String> {
        let field = self.string(key, min, max);
        self.require(key, field)
    }

    fn require<T>(&mut self, key: &str, field: Field<T>) -> Option<T> {
        match field {
            Field::Set(v) => Some(v),
            Field::Null => {
                self.errors.add(key, NULL);
                None
            }
            Field::Missing => {
                if !self.obj.contains_key(key) {
                    self.errors.add(key, MISSING);
                }
                None
            }
        }
    }

    pub fn choice(&mut self, key: &str, choices: &[&str]) -> Field<String> {
        match self.string(key, 0, None) {
            Field::Set(s) if !choices.contains(&s.as_str()) => {
                self.errors.add(key, one_of(choices));
                Field::Missing
            }
            other => other,
        }
    }

    pub fn required_choice(&mut self, key: &str, choices: &[&str]) -> Option<String> {
        let field = self.choice(key, choices);
        self.require(key, field)
    }

    pub fn boolean(&mut self, key: &str) -> Field<bool> {
        match self.take(key) {
            None => Field::Missing,
            Some(Value::Null) => Field::Null,
            Some(Value::Bool(b)) => Field::Set(*b),
            Some(_) => {
                self.errors.add(key, NOT_BOOLEAN);
                Field::Missing
            }
        }
    }

    pub fn required_boolean(&mut self, key: &str) -> Option<bool> {
        let field = self.boolean(key);
        self.require(key, field)
    }

    /// An integer; marshmallow also takes integral strings like `"42"`.
    pub fn integer(&mut self, key: &str) -> Field<i64> {
        match self.take(key) {
            None => Field::Missing,
            Some(Value::Null) => Field::Null,
            Some(v) => match as_integer(v) {
                Some(n) => Field::Set(n),
                None => {
                    self.errors.add(key, NOT_INTEGER);
                    Field::Missing
                }
            },
        }
    }

    pub fn integer_in(&mut self, key: &str, min: i64, max: i64) -> Field<i64> {
        match self.integer(key) {
            Field::Set(n) if n < min || n > max => {
                self.errors.add(key, range(min as f64, max as f64));
                Field::Missing
            }
            other => other,
        }
    }

    pub fn required_integer(&mut self, key: &str) -> Option<i64> {
        let field = self.integer(key);
        self.require(key, field)
    }

    pub fn datetime(&mut self, key: &str) -> Field<Timestamp> {
        match self.take(key) {
            None => Field::Missing,
            Some(Value::Null) => Field::Null,
            Some(Value::String(s)) => match Timestamp::parse(s) {
                Some(t) => Field::Set(t),
                None => {
                    self.errors.add(key, NOT_DATETIME);
                    Field::Missing
                }
            },
            Some(_) => {
                self.errors.add(key, NOT_DATETIME);
                Field::Missing
            }
        }
    }

    /// A JSON object (marshmallow `Dict`).
    pub fn mapping(&mut self, key: &str) -> Field<&'a Map<String, Value>> {
        match self.take(key) {
            None => Field::Missing,
            Some(Value::Null) => Field::Null,
            Some(Value::Object(m)) => Field::Set(m),
            Some(_) => {
                self.errors.add(key, NOT_MAPPING);
                Field::Missing
            }
        }
    }

    pub fn list(&mut self, key: &str) -> Field<&'a Vec<Value>> {
        match self.take(key) {
            None => Field::Missing,
            Some(Value::Null) => Field::Null,
            Some(Value::Array(a)) => Field::Set(a),
            Some(_) => {
                self.errors.add(key, NOT_LIST);
                Field::Missing
            }
        }
    }

    /// A list of integers (e.g. `ids`).
    pub fn integer_list(&mut self, key: &str) -> Field<Vec<i64>> {
        match self.list(key) {
            Field::Set(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut bad = Errors::default();
                for (i, item) in items.iter().enumerate() {
                    match as_integer(item) {
                        Some(n) => out.push(n),
                        None => bad.add(&i.to_string(), NOT_INTEGER),
                    }
                }
                if bad.is_empty() {
                    Field::Set(out)
                } else {
                    self.errors.nest(key, bad);
                    Field::Missing
                }
            }
            Field::Null => Field::Null,
            Field::Missing => Field::Missing,
        }
    }

    /// A nested `{ "id": N }` reference. Returns `Set(None)` for `{"id": null}`.
    pub fn reference(&mut self, key: &str) -> Field<Option<i64>> {
        match self.take(key) {
            None => Field::Missing,
            Some(Value::Null) => Field::Null,
            Some(Value::Object(m)) => match m.get("id") {
                None => {
                    let mut inner = Errors::default();
                    inner.add("id", MISSING);
                    self.errors.nest(key, inner);
                    Field::Missing
                }
                Some(Value::Null) => Field::Set(None),
                Some(v) => match as_integer(v) {
                    Some(n) => Field::Set(Some(n)),
                    None => {
                        let mut inner = Errors::default();
                        inner.add("id", NOT_INTEGER);
                        self.errors.nest(key, inner);
                        Field::Missing
                    }
                },
            },
            Some(_) => {
                self.errors.add("_schema", INVALID_INPUT);
                Field::Missing
            }
        }
    }

    /// Reports every key that no getter read as `Unknown field.`.
    pub fn reject_unknown(&mut self) {
        let unknown: Vec<String> = self
            .obj
            .keys()
            .filter(|k| !self.seen.contains(*k))
            .cloned()
            .collect();
        for k in unknown {
            self.errors.add(&k, UNKNOWN);
        }
    }

    /// Rejects unknown keys, then fails with `msg` if any error was collected.
    pub fn finish(mut self, msg: &str) -> Result<(), ApiError> {
        self.reject_unknown();
        self.errors.into_result(msg)
    }

    /// Rejects unknown keys and hands the collected errors back (for nested input).
    pub fn into_errors(mut self) -> Errors {
        self.reject_unknown();
        self.errors
    }
}

pub fn as_integer(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn collects_marshmallow_messages() {
        let body = json!({"name": 5, "count": "x", "extra": 1, "flag": null});
        let mut input = Input::object(&body, "Failed").unwrap();
        assert!(input.required_string("name", 1, Some(10)).is_none());
        assert!(input.integer("count").is_missing());
        assert!(input.required_string("title", 1, None).is_none());
        assert!(input.required_boolean("flag").is_none());
        let err = input.finish("Failed").unwrap_err();
        assert_eq!(
            err.body(),
            json!({"error": {"msg": "Failed", "data": {
                "name": ["Not a valid string."],
                "count": ["Not a valid integer."],
                "title": ["Missing data for required field."],
                "flag": ["Field may not be null."],
                "extra": ["Unknown field."]
            }}})
        );
    }

    #[test]
    fn tri_state_fields() {
        let body = json!({"a": null, "b": "x"});
        let mut input = Input::object(&body, "m").unwrap();
        assert_eq!(input.string("a", 0, None), Field::Null);
        assert_eq!(input.string("b", 0, None), Field::Set("x".to_owned()));
        assert_eq!(input.string("c", 0, None), Field::Missing);
        assert!(input.finish("m").is_ok());
    }

    #[test]
    fn enum_length_and_range_messages() {
        let body = json!({"s": "maybe", "n": 0, "l": ""});
        let mut input = Input::object(&body, "m").unwrap();
        input.choice("s", &["open", "closed"]);
        input.integer_in("n", 1, 5);
        input.string("l", 1, Some(255));
        let data = input.finish("m").unwrap_err().body()["error"]["data"].clone();
        assert_eq!(data["s"][0], "Must be one of: open, closed.");
        assert_eq!(
            data["n"][0],
            "Must be greater than or equal to 1 and less than or equal to 5."
        );
        assert_eq!(data["l"][0], "Length must be between 1 and 255.");
    }
}
