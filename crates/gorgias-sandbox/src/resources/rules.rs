//! Rules (reference §6.13): CRUD and `POST /api/rules/priorities`.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use crate::app::{App, Ctx, Ids, JsonBody, empty, json_response, ok};
use crate::clock::Timestamp;
use crate::errors::{ApiError, ApiResult};
use crate::resources::{list_docs_by_created, set_time};
use crate::store::{Store, id_base};
use crate::validation::{self, Field, Input};

pub const EVENT_TYPES: &[&str] = &[
    "ticket-created",
    "ticket-updated",
    "ticket-message-created",
    "ticket-assigned",
    "ticket-self-unsnoozed",
    "satisfaction-survey-responded",
];

/// `code_ast` is "made from code if omitted" (§6.13). The sandbox has no JavaScript parser:
/// it stores an ESTree `Program` whose single statement carries the source as `raw`, which
/// keeps the documented shape without pretending to have parsed it.
fn ast_for(code: &str) -> Value {
    json!({"type": "Program", "sourceType": "script", "body": [
        {"type": "ExpressionStatement", "expression": {"type": "Literal", "value": null, "raw": code}}
    ]})
}

pub fn new_rule(
    store: &mut Store,
    fields: Map<String, Value>,
    user_id: Option<i64>,
    at: Timestamp,
) -> i64 {
    let id = store.next_id("rule", id_base::RULE);
    let mut d = Map::new();
    for (k, v) in [
        ("id", json!(id)),
        ("name", Value::Null),
        ("description", Value::Null),
        ("code", Value::Null),
        ("code_ast", Value::Null),
        ("event_types", json!("ticket-created")),
        ("priority", json!(0)),
        ("deactivated_datetime", Value::Null),
        ("uri", json!(format!("/api/rules/{id}/"))),
    ] {
        d.insert(k.to_owned(), v);
    }
    d.extend(fields);
    if d.get("code_ast").is_none_or(Value::is_null) {
        let code = d
            .get("code")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        d.insert("code_ast".into(), ast_for(&code));
    }
    set_time(&mut d, "created_datetime", Some(at));
    set_time(&mut d, "updated_datetime", Some(at));
    store.rules.insert(id, d);
    store.record_event("rule-created", "Rule", id, user_id, json!({}), at);
    id
}

fn read_patch(input: &mut Input<'_>, creating: bool) -> Map<String, Value> {
    let mut m = Map::new();
    let name = if creating {
        input.required_string("name", 1, Some(255))
    } else {
        input.string("name", 1, Some(255)).value()
    };
    if let Some(v) = name {
        m.insert("name".into(), json!(v));
    }
    let code = if creating {
        input.required_string("code", 1, None)
    } else {
        input.string("code", 1, None).value()
    };
    if let Some(v) = code {
        m.insert("code_ast".into(), ast_for(&v));
        m.insert("code".into(), json!(v));
    }
    if let Field::Set(ast) = input.mapping("code_ast") {
        m.insert("code_ast".into(), Value::Object(ast.clone()));
    }
    if let Some(v) = input.string("description", 0, Some(1024)).sent() {
        m.insert("description".into(), json!(v));
    }
    if let Some(v) = input.string("event_types", 1, None).value() {
        // A comma-separated string (§6.13).
        let bad: Vec<&str> = v
            .split(',')
            .map(str::trim)
            .filter(|t| !EVENT_TYPES.contains(t))
            .collect();
        if bad.is_empty() {
            m.insert("event_types".into(), json!(v));
        } else {
            input
                .errors
                .add("event_types", validation::one_of(EVENT_TYPES));
        }
    }
    if let Some(v) = input.integer("priority").value() {
        m.insert("priority".into(), json!(v));
    }
    if let Some(v) = input.datetime("deactivated_datetime").sent() {
        m.insert(
            "deactivated_datetime".into(),
            v.map_or(Value::Null, |t| json!(t.to_string())),
        );
    }
    input.ignore(&["id", "uri", "created_datetime", "updated_datetime"]);
    m
}

async fn list(State(app): State<App>, ctx: Ctx) -> ApiResult {
    let store = app.store();
    list_docs_by_created(&ctx, &store.rules, |_| true)
}

async fn create(State(app): State<App>, ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult {
    let msg = "Failed to create rule";
    let mut input = Input::object(&body, msg)?;
    let patch = read_patch(&mut input, true);
    input.finish(msg)?;
    let mut store = app.store();
    let now = store.now();
    let id = new_rule(&mut store, patch, Some(ctx.principal.user_id), now);
    let d = store.rules.get(&id).cloned().unwrap_or_default();
    Ok(json_response(app.create_status("rule"), Value::Object(d)))
}

async fn get_one(State(app): State<App>, ids: Ids) -> ApiResult {
    let store = app.store();
    let d = store.rules.get(&ids.one()).ok_or(ApiError::NotFound)?;
    Ok(ok(Value::Object(d.clone())))
}

async fn update(State(app): State<App>, ids: Ids, ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult {
    let id = ids.one();
    let msg = "Failed to update rule";
    let mut store = app.store();
    if !store.rules.contains_key(&id) {
        return Err(ApiError::NotFound);
    }
    let mut input = Input::object(&body, msg)?;
    let patch = read_patch(&mut input, false);
    input.finish(msg)?;
    let now = store.now();
    let was_active = store
        .rules
        .get(&id)
        .is_some_and(|d| d.get("deactivated_datetime").is_none_or(Value::is_null));
    let d = store.rules.get_mut(&id).ok_or(ApiError::NotFound)?;
    d.extend(patch);
    set_time(d, "updated_datetime", Some(now));
    let d = d.clone();
    let active = d.get("deactivated_datetime").is_none_or(Value::is_null);
    let kind = match (was_active, active) {
        (true, false) => "rule-deactivated",
        (false, true) => "rule-reactivated",
        _ => "rule-updated",
    };
    store.record_event(
        kind,
        "Rule",
        id,
        Some(ctx.principal.user_id),
        json!({}),
        now,
    );
    Ok(ok(Value::Object(d)))
}

async fn delete(State(app): State<App>, ids: Ids, ctx: Ctx) -> ApiResult {
    let id = ids.one();
    let mut store = app.store();
    store.rules.remove(&id).ok_or(ApiError::NotFound)?;
    for t in store.tickets.values_mut() {
        t.matched_rules.remove(&id);
    }
    let now = store.now();
    store.record_event(
        "rule-deleted",
        "Rule",
        id,
        Some(ctx.principal.user_id),
        json!({}),
        now,
    );
    Ok(empty(StatusCode::NO_CONTENT))
}

/// Body `{"priorities":[{"id":N,"priority":P}]}`; a bare array is a 400 (§6.13).
async fn priorities(State(app): State<App>, ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult {
    let msg = "Failed to update rules priorities";
    let mut input = Input::object(&body, msg)?;
    let mut updates = Vec::new();
    let store_ids: Vec<i64> = app.store().rules.keys().copied().collect();
    match input.list("priorities") {
        Field::Set(list) => {
            let mut errors = validation::Errors::default();
            for (i, item) in list.iter().enumerate() {
                let Some(mut p) = Input::nested(item) else {
                    errors.add(&i.to_string(), validation::INVALID_INPUT);
                    continue;
                };
                let id = p.required_integer("id");
                let priority = p.required_integer("priority");
                if let Some(id) = id
                    && !store_ids.contains(&id)
                {
                    p.errors.add("id", "Rule not found.");
                }
                let e = p.into_errors();
                if let (Some(id), Some(priority), true) = (id, priority, e.is_empty()) {
                    updates.push((id, priority));
                }
                errors.nest(&i.to_string(), e);
            }
            input.errors.nest("priorities", errors);
        }
        _ => {
            if !input.has("priorities") {
                input.errors.add("priorities", validation::MISSING);
            }
        }
    }
    input.finish(msg)?;
    let mut store = app.store();
    let now = store.now();
    let mut data = Vec::new();
    for (id, priority) in updates {
        if let Some(d) = store.rules.get_mut(&id) {
            d.insert("priority".into(), json!(priority));
            set_time(d, "updated_datetime", Some(now));
            data.push(Value::Object(d.clone()));
        }
        store.record_event(
            "rule-priority-updated",
            "Rule",
            id,
            Some(ctx.principal.user_id),
            json!({"priority": priority}),
            now,
        );
    }
    Ok(ok(json!({"data": data})))
}

pub fn routes() -> Router<App> {
    Router::new()
        .route("/rules", get(list).post(create))
        .route("/rules/priorities", post(priorities))
        .route("/rules/{id}", get(get_one).put(update).delete(delete))
}
