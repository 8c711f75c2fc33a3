//! Custom field definitions (reference §6.4) and the value rules shared by ticket and customer
//! field values (§6.3, §6.18).

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Value, json};

use crate::app::{App, Ctx, Ids, JsonBody, json_response, ok};
use crate::errors::{ApiError, ApiResult};
use crate::pagination::{Ordering, PageRequest, SortKey, envelope, paginate, query_error};
use crate::store::{CustomField, Store, id_base};
use crate::validation::{self, Errors, Field, Input};

const OBJECT_TYPES: &[&str] = &["Ticket", "Customer"];
const DATA_TYPES: &[&str] = &["text", "number", "boolean"];
const REQUIREMENT_TYPES: &[&str] = &["visible", "required", "conditional"];
const MANAGED_TYPES: &[&str] = &[
    "contact_reason",
    "product",
    "resolution",
    "ai_intent",
    "ai_outcome",
    "ai_sales",
    "ai_discount",
    "ai_journey",
    "managed_sentiment",
    "call_status",
    "customer_type",
];
const ORDERING: Ordering<'static> = Ordering {
    allowed: &["priority:asc", "priority:desc"],
    default: "priority:desc",
};

/// Checks a value against its field's definition (§6.4 value rules; dropdown choices and
/// number bounds are enforced **[inferred]**). `null` clears.
pub fn check_value(field: &CustomField, v: &Value) -> Result<Value, String> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    let def = &field.definition;
    let settings = def.get("input_settings").cloned().unwrap_or(json!({}));
    match def
        .get("data_type")
        .and_then(Value::as_str)
        .unwrap_or("text")
    {
        "number" => {
            let n = match v {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            }
            .ok_or_else(|| validation::NOT_NUMBER.to_owned())?;
            let min = settings.get("min").and_then(Value::as_f64);
            let max = settings.get("max").and_then(Value::as_f64);
            let below = min.is_some_and(|m| n < m);
            let above = max.is_some_and(|m| n > m);
            if below || above {
                return Err(match (min, max) {
                    (Some(a), Some(b)) => validation::range(a, b),
                    (Some(a), None) => format!("Must be greater than or equal to {a}."),
                    (None, Some(b)) => format!("Must be less than or equal to {b}."),
                    (None, None) => unreachable_range(),
                });
            }
            Ok(match v {
                Value::Number(_) => v.clone(),
                _ => json!(n),
            })
        }
        "boolean" => match v {
            Value::Bool(_) => Ok(v.clone()),
            _ => Err(validation::NOT_BOOLEAN.to_owned()),
        },
        _ => {
            let Value::String(s) = v else {
                return Err(validation::NOT_STRING.to_owned());
            };
            if settings.get("input_type").and_then(Value::as_str) == Some("dropdown")
                && let Some(choices) = settings.get("choices").and_then(Value::as_array)
            {
                let names: Vec<&str> = choices.iter().filter_map(Value::as_str).collect();
                if !names.contains(&s.as_str()) {
                    return Err(validation::one_of(&names));
                }
            }
            Ok(v.clone())
        }
    }
}

fn unreachable_range() -> String {
    "Invalid value.".to_owned()
}

fn field_of(store: &Store, id: i64, object_type: &str) -> Option<CustomField> {
    store
        .custom_fields
        .get(&id)
        .filter(|f| f.object_type == object_type)
        .cloned()
}

/// Reads `[{id, value}, ...]` (ticket/customer create and update, and the bulk PUT).
pub fn read_values(
    store: &Store,
    list: &[Value],
    object_type: &str,
    errors: &mut Errors,
) -> BTreeMap<i64, Value> {
    let mut out = BTreeMap::new();
    for (i, item) in list.iter().enumerate() {
        let mut inner = Errors::default();
        let Some(obj) = item.as_object() else {
            errors.add(&i.to_string(), validation::INVALID_INPUT);
            continue;
        };
        let id = obj.get("id").and_then(validation::as_integer);
        match (id, obj.get("value")) {
            (None, _) => inner.add("id", validation::MISSING),
            (Some(_), None) => inner.add("value", validation::MISSING),
            (Some(id), Some(v)) => match field_of(store, id, object_type) {
                None => inner.add("id", "Custom field not found."),
                Some(f) => match check_value(&f, v) {
                    Ok(v) => {
                        out.insert(id, v);
                    }
                    Err(e) => inner.add("value", e),
                },
            },
        }
        errors.nest(&i.to_string(), inner);
    }
    out
}

/// `{data:[{field, value, prediction}]}` for an object's values.
pub fn values_json(store: &Store, values: &BTreeMap<i64, Value>) -> Value {
    let data: Vec<Value> = values
        .iter()
        .filter(|(_, v)| !v.is_null())
        .filter_map(|(id, v)| {
            let f = store.custom_fields.get(id)?;
            Some(json!({"field": store.custom_field_json(f), "value": v, "prediction": null}))
        })
        .collect();
    json!({"data": data})
}

/// The single-value PUT body: the spec says the body is the raw value; one client sends
/// `{"id": .., "value": ..}` (§12 #4). An object with a `value` key is read as the latter.
pub fn single_value(
    store: &Store,
    field_id: i64,
    object_type: &str,
    body: &Value,
) -> ApiResult<Value> {
    let field = field_of(store, field_id, object_type).ok_or(ApiError::NotFound)?;
    let raw = match body {
        Value::Object(m) if m.contains_key("value") => {
            m.get("value").cloned().unwrap_or(Value::Null)
        }
        other => other.clone(),
    };
    check_value(&field, &raw)
        .map_err(|e| ApiError::field("Invalid custom field value", "value", &e))
}

pub fn single_value_json(store: &Store, field_id: i64, value: &Value) -> Value {
    let field = store
        .custom_fields
        .get(&field_id)
        .map(|f| store.custom_field_json(f));
    json!({"field": field, "value": value, "prediction": null})
}

fn read_definition(input: &mut Input<'_>, required: bool) -> Option<Value> {
    let def = match input.value("definition") {
        Field::Set(v) => v,
        Field::Null | Field::Missing => {
            if required {
                input.errors.add("definition", validation::MISSING);
            }
            return None;
        }
    };
    let Some(mut d) = Input::nested(def) else {
        input.errors.add("definition", validation::INVALID_INPUT);
        return None;
    };
    let data_type = d.required_choice("data_type", DATA_TYPES);
    let settings = d
        .value("input_settings")
        .value()
        .cloned()
        .unwrap_or(json!({}));
    let mut errors = d.into_errors();
    let Some(data_type) = data_type else {
        input.errors.nest("definition", errors);
        return None;
    };
    let mut s_errors = Errors::default();
    match settings.as_object() {
        None => s_errors.add("_schema", validation::INVALID_INPUT),
        Some(s) => {
            let input_type = s.get("input_type").and_then(Value::as_str);
            let allowed: &[&str] = match data_type.as_str() {
                "text" => &["input", "dropdown"],
                "number" => &["input_number"],
                _ => &["dropdown"],
            };
            match input_type {
                None => s_errors.add("input_type", validation::MISSING),
                Some(t) if !allowed.contains(&t) => {
                    s_errors.add("input_type", validation::one_of(allowed))
                }
                Some("dropdown") if data_type == "text" => match s
                    .get("choices")
                    .and_then(Value::as_array)
                {
                    Some(c) if !c.is_empty() && c.iter().all(Value::is_string) => {}
                    _ => s_errors.add("choices", "Choices must be a non-empty list of strings."),
                },
                Some(_) => {}
            }
            if data_type == "number" {
                for k in ["min", "max"] {
                    if s.get(k).is_some_and(|v| !v.is_null() && !v.is_number()) {
                        s_errors.add(k, validation::NOT_NUMBER);
                    }
                }
            }
        }
    }
    errors.nest("input_settings", s_errors);
    if errors.is_empty() {
        Some(json!({"data_type": data_type, "input_settings": settings}))
    } else {
        input.errors.nest("definition", errors);
        None
    }
}

async fn list(State(app): State<App>, ctx: Ctx) -> ApiResult {
    let mut errors = Errors::default();
    let object_type = ctx.query.choice("object_type", OBJECT_TYPES, &mut errors);
    if ctx.query.get("object_type").is_none() {
        errors.add("object_type", validation::MISSING);
    }
    let archived = ctx.query.boolean("archived", &mut errors).unwrap_or(false);
    let search = ctx.query.get("search").map(str::to_lowercase);
    query_error(errors)?;
    let page = PageRequest::from_query(&ctx.query, &ORDERING)?;
    let store = app.store();
    let items = store
        .custom_fields
        .values()
        .filter(|f| Some(&f.object_type) == object_type.as_ref())
        .filter(|f| f.deactivated.is_some() == archived)
        .filter(|f| {
            search
                .as_ref()
                .is_none_or(|s| f.label.to_lowercase().contains(s))
        })
        .map(|f| (SortKey::Int(f.priority), f.id, store.custom_field_json(f)))
        .collect();
    let page = paginate(items, &page);
    Ok(ok(envelope(&ctx.uri, page.items.clone(), page.meta())))
}

struct Patch {
    object_type: Option<String>,
    label: Option<String>,
    description: Field<String>,
    external_id: Field<String>,
    priority: Option<i64>,
    required: Option<bool>,
    requirement_type: Option<String>,
    managed_type: Field<String>,
    definition: Option<Value>,
    deactivated: Field<crate::clock::Timestamp>,
}

fn read_patch(input: &mut Input<'_>, full: bool) -> Patch {
    let object_type = if full {
        input.required_choice("object_type", OBJECT_TYPES)
    } else {
        input.choice("object_type", OBJECT_TYPES).value()
    };
    let label = if full {
        input.required_string("label", 1, Some(255))
    } else {
        input.string("label", 1, Some(255)).value()
    };
    let patch = Patch {
        object_type,
        label,
        description: input.string("description", 0, Some(1024)),
        external_id: input.string("external_id", 0, Some(255)),
        priority: input.integer_in("priority", 0, 5000).value(),
        required: input.boolean("required").value(),
        requirement_type: input.choice("requirement_type", REQUIREMENT_TYPES).value(),
        managed_type: input.choice("managed_type", MANAGED_TYPES),
        definition: read_definition(input, full),
        deactivated: input.datetime("deactivated_datetime"),
    };
    input.ignore(&["id", "uri", "created_datetime", "updated_datetime"]);
    patch
}

fn apply(f: &mut CustomField, p: Patch) {
    if let Some(v) = p.object_type {
        f.object_type = v;
    }
    if let Some(v) = p.label {
        f.label = v;
    }
    p.description.apply_to(&mut f.description);
    p.external_id.apply_to(&mut f.external_id);
    if let Some(v) = p.priority {
        f.priority = v;
    }
    if let Some(v) = p.required {
        f.required = v;
        if p.requirement_type.is_none() {
            f.requirement_type = if v { "required" } else { "visible" }.into();
        }
    }
    if let Some(v) = p.requirement_type {
        f.required = v == "required";
        f.requirement_type = v;
    }
    p.managed_type.apply_to(&mut f.managed_type);
    if let Some(v) = p.definition {
        f.definition = v;
    }
    p.deactivated.apply_to(&mut f.deactivated);
}

async fn create(State(app): State<App>, ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult {
    let msg = "Failed to create custom field";
    let mut input = Input::object(&body, msg)?;
    let patch = read_patch(&mut input, true);
    input.finish(msg)?;
    let mut store = app.store();
    let now = store.now();
    let id = store.next_id("custom_field", id_base::CUSTOM_FIELD);
    let mut f = CustomField {
        id,
        object_type: String::new(),
        label: String::new(),
        description: None,
        external_id: None,
        priority: 0,
        required: false,
        requirement_type: "visible".into(),
        managed_type: None,
        definition: json!({}),
        created: now,
        updated: now,
        deactivated: None,
    };
    apply(&mut f, patch);
    let v = store.custom_field_json(&f);
    store.custom_fields.insert(id, f);
    store.record_event(
        "custom-field-created",
        "CustomField",
        id,
        Some(ctx.principal.user_id),
        json!({}),
        now,
    );
    Ok(json_response(app.create_status("custom_field"), v))
}

async fn get_one(State(app): State<App>, ids: Ids) -> ApiResult {
    let store = app.store();
    let f = store
        .custom_fields
        .get(&ids.one())
        .ok_or(ApiError::NotFound)?;
    Ok(ok(store.custom_field_json(f)))
}

async fn update(State(app): State<App>, ids: Ids, ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult {
    let id = ids.one();
    let msg = "Failed to update custom field";
    if !app.store().custom_fields.contains_key(&id) {
        return Err(ApiError::NotFound);
    }
    let mut input = Input::object(&body, msg)?;
    // §1: object_type, label and definition are required even when unchanged.
    let patch = read_patch(&mut input, true);
    input.finish(msg)?;
    let mut store = app.store();
    let now = store.now();
    let f = store.custom_fields.get_mut(&id).ok_or(ApiError::NotFound)?;
    apply(f, patch);
    f.updated = now;
    let f = f.clone();
    store.record_event(
        "custom-field-updated",
        "CustomField",
        id,
        Some(ctx.principal.user_id),
        json!({}),
        now,
    );
    Ok(ok(store.custom_field_json(&f)))
}

/// Bulk update: an array of partial objects, each with its `id`.
async fn update_many(State(app): State<App>, ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult {
    let msg = "Failed to update custom fields";
    let Value::Array(items) = &body else {
        return Err(ApiError::field(msg, "_schema", "Invalid input type."));
    };
    let mut errors = Errors::default();
    let mut patches = Vec::new();
    {
        let store = app.store();
        for (i, item) in items.iter().enumerate() {
            let Some(mut input) = Input::nested(item) else {
                errors.add(&i.to_string(), validation::INVALID_INPUT);
                continue;
            };
            let id = input.required_integer("id");
            let patch = read_patch(&mut input, false);
            if let Some(id) = id
                && !store.custom_fields.contains_key(&id)
            {
                input.errors.add("id", "Custom field not found.");
            }
            let e = input.into_errors();
            if e.is_empty() {
                patches.push((id.unwrap_or_default(), patch));
            } else {
                errors.nest(&i.to_string(), e);
            }
        }
    }
    errors.into_result(msg)?;
    let mut store = app.store();
    let now = store.now();
    let mut out = Vec::new();
    for (id, patch) in patches {
        if let Some(f) = store.custom_fields.get_mut(&id) {
            apply(f, patch);
            f.updated = now;
        }
        store.record_event(
            "custom-field-updated",
            "CustomField",
            id,
            Some(ctx.principal.user_id),
            json!({}),
            now,
        );
        if let Some(f) = store.custom_fields.get(&id) {
            out.push(store.custom_field_json(f));
        }
    }
    Ok(ok(json!({"data": out})))
}

pub fn routes() -> Router<App> {
    Router::new()
        .route("/custom-fields", get(list).post(create).put(update_many))
        .route("/custom-fields/{id}", get(get_one).put(update))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;

    fn field(definition: Value) -> CustomField {
        let t = Timestamp::from_micros(0);
        CustomField {
            id: 1,
            object_type: "Ticket".into(),
            label: "x".into(),
            description: None,
            external_id: None,
            priority: 0,
            required: false,
            requirement_type: "visible".into(),
            managed_type: None,
            definition,
            created: t,
            updated: t,
            deactivated: None,
        }
    }

    #[test]
    fn dropdown_number_and_boolean_rules() {
        let dropdown = field(
            json!({"data_type": "text", "input_settings": {"input_type": "dropdown", "choices": ["Refund", "Shipping"]}}),
        );
        assert!(check_value(&dropdown, &json!("Refund")).is_ok());
        assert_eq!(
            check_value(&dropdown, &json!("Other")).unwrap_err(),
            "Must be one of: Refund, Shipping."
        );
        assert_eq!(
            check_value(&dropdown, &json!(3)).unwrap_err(),
            "Not a valid string."
        );
        let number = field(
            json!({"data_type": "number", "input_settings": {"input_type": "input_number", "min": 0, "max": 500}}),
        );
        assert_eq!(check_value(&number, &json!(12.5)).unwrap(), json!(12.5));
        assert_eq!(
            check_value(&number, &json!(501)).unwrap_err(),
            "Must be greater than or equal to 0 and less than or equal to 500."
        );
        assert_eq!(
            check_value(&number, &json!("abc")).unwrap_err(),
            "Not a valid number."
        );
        let boolean =
            field(json!({"data_type": "boolean", "input_settings": {"input_type": "dropdown"}}));
        assert!(check_value(&boolean, &json!(true)).is_ok());
        assert!(check_value(&boolean, &json!("yes")).is_err());
        assert_eq!(check_value(&boolean, &Value::Null).unwrap(), Value::Null);
    }
}
