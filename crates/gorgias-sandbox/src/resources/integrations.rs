//! Integrations (reference §6.7). Only `http` integrations can be created through the API;
//! the seeded email/chat/phone ones stand for channels connected in the UI.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Map, Value, json};

use crate::app::{App, Ctx, Ids, JsonBody, empty, json_response, ok};
use crate::clock::Timestamp;
use crate::errors::{ApiError, ApiResult};
use crate::pagination::{PageRequest, query_error};
use crate::resources::{CREATED_ORDERING, list_docs, set_time};
use crate::store::{Store, id_base};
use crate::validation::{self, Errors, Field, Input};

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];
const REQUEST_TYPES: &[&str] = &["application/json", "application/x-www-form-urlencoded"];
const RESPONSE_TYPES: &[&str] = &["application/json"];
pub const TRIGGERS: &[&str] = &[
    "ticket-created",
    "ticket-updated",
    "ticket-message-created",
    "ticket-self-unsnoozed",
    "ticket-message-failed",
    "ticket-assignment-updated",
    "ticket-status-updated",
    "ticket-handed-over",
];

/// A new integration document with every documented key.
pub fn new_integration(
    store: &mut Store,
    kind: &str,
    name: &str,
    meta: Value,
    http: Value,
    user_id: Option<i64>,
    at: Timestamp,
) -> Map<String, Value> {
    let id = store.next_id("integration", id_base::INTEGRATION);
    let mut d = Map::new();
    for (k, v) in [
        ("id", json!(id)),
        ("type", json!(kind)),
        ("name", json!(name)),
        ("description", Value::Null),
        ("uri", json!(format!("/api/integrations/{id}/"))),
        ("decoration", Value::Null),
        ("meta", meta),
        ("http", http),
        ("managed", json!(false)),
        ("user", json!({"id": user_id})),
        ("business_hours_id", Value::Null),
        ("locked_datetime", Value::Null),
        ("deleted_datetime", Value::Null),
        ("deactivated_datetime", Value::Null),
    ] {
        d.insert(k.to_owned(), v);
    }
    set_time(&mut d, "created_datetime", Some(at));
    set_time(&mut d, "updated_datetime", Some(at));
    store.integrations.insert(id, d.clone());
    store.record_event(
        "integration-created",
        "Integration",
        id,
        user_id,
        json!({"type": kind}),
        at,
    );
    d
}

/// Reads the `http` object; `hmac_secret` is write-only (kept out of responses).
fn read_http(v: &Value, required: bool, errors: &mut Errors) -> Option<Value> {
    let Some(mut h) = Input::nested(v) else {
        errors.add("http", validation::INVALID_INPUT);
        return None;
    };
    let url = if required {
        h.required_string("url", 1, Some(2048))
    } else {
        h.string("url", 1, Some(2048)).value()
    };
    let method = h.choice("method", METHODS).value();
    let req_type = h.choice("request_content_type", REQUEST_TYPES).value();
    let resp_type = h.choice("response_content_type", RESPONSE_TYPES).value();
    let headers = h.mapping("headers").value().cloned();
    let form = h.value("form");
    let form = match form {
        Field::Set(v) => Some(v.clone()),
        _ => None,
    };
    h.string("hmac_secret", 0, None);
    let mut triggers = Map::new();
    if let Field::Set(t) = h.mapping("triggers") {
        let mut te = Errors::default();
        for (k, v) in t {
            if !TRIGGERS.contains(&k.as_str()) {
                te.add(k, validation::UNKNOWN);
            } else if !v.is_boolean() {
                te.add(k, validation::NOT_BOOLEAN);
            } else {
                triggers.insert(k.clone(), v.clone());
            }
        }
        h.errors.nest("triggers", te);
    }
    h.ignore(&["id"]);
    let e = h.into_errors();
    let failed = !e.is_empty();
    errors.nest("http", e);
    if failed {
        return None;
    }
    let mut out = Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            out.insert(k.to_owned(), v);
        }
    };
    put("url", url.map(Value::String));
    put("method", method.map(Value::String));
    put("request_content_type", req_type.map(Value::String));
    put("response_content_type", resp_type.map(Value::String));
    put("headers", headers.map(Value::Object));
    put("form", form);
    if !triggers.is_empty() {
        out.insert("triggers".into(), Value::Object(triggers));
    }
    Some(Value::Object(out))
}

fn default_http() -> Map<String, Value> {
    let triggers: Map<String, Value> = TRIGGERS
        .iter()
        .map(|t| ((*t).to_owned(), json!(false)))
        .collect();
    let mut m = Map::new();
    for (k, v) in [
        ("url", Value::Null),
        ("method", json!("POST")),
        ("request_content_type", json!("application/json")),
        ("response_content_type", json!("application/json")),
        ("headers", json!({})),
        ("form", Value::Null),
        ("triggers", Value::Object(triggers)),
    ] {
        m.insert(k.to_owned(), v);
    }
    m
}

async fn list(State(app): State<App>, ctx: Ctx) -> ApiResult {
    let page = PageRequest::from_query(&ctx.query, &CREATED_ORDERING)?;
    let kind = ctx.query.get("type").map(str::to_owned);
    query_error(Errors::default())?;
    let store = app.store();
    Ok(list_docs(&ctx, &store.integrations, &page, |d| {
        kind.as_deref()
            .is_none_or(|k| d.get("type").and_then(Value::as_str) == Some(k))
    }))
}

struct Patch {
    name: Option<String>,
    description: Field<String>,
    http: Option<Value>,
    business_hours_id: Field<i64>,
    managed: Option<bool>,
    deactivated: Field<Timestamp>,
}

fn read_patch(input: &mut Input<'_>, creating: bool) -> Patch {
    let name = input.required_string("name", 1, Some(255));
    let description = input.string("description", 0, Some(1024));
    let http = match input.value("http") {
        Field::Set(v) => read_http(v, creating, &mut input.errors),
        _ => {
            if creating {
                input.errors.add("http", validation::MISSING);
            }
            None
        }
    };
    let patch = Patch {
        name,
        description,
        http,
        business_hours_id: input.integer("business_hours_id"),
        managed: input.boolean("managed").value(),
        deactivated: input.datetime("deactivated_datetime"),
    };
    input.ignore(&[
        "id",
        "uri",
        "created_datetime",
        "updated_datetime",
        "meta",
        "decoration",
    ]);
    patch
}

fn apply(d: &mut Map<String, Value>, p: Patch, at: Timestamp) {
    if let Some(n) = p.name {
        d.insert("name".into(), json!(n));
    }
    if let Some(v) = p.description.sent() {
        d.insert("description".into(), json!(v));
    }
    if let Some(Value::Object(h)) = p.http {
        let mut merged = d
            .get("http")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_else(default_http);
        for (k, v) in h {
            if k == "triggers"
                && let (Some(Value::Object(old)), Value::Object(new)) =
                    (merged.get_mut("triggers"), &v)
            {
                old.extend(new.clone());
                continue;
            }
            merged.insert(k, v);
        }
        d.insert("http".into(), Value::Object(merged));
    }
    if let Some(v) = p.business_hours_id.sent() {
        d.insert("business_hours_id".into(), json!(v));
    }
    if let Some(v) = p.managed {
        d.insert("managed".into(), json!(v));
    }
    if let Some(v) = p.deactivated.sent() {
        set_time(d, "deactivated_datetime", v);
    }
    set_time(d, "updated_datetime", Some(at));
}

async fn create(State(app): State<App>, ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult {
    let msg = "Failed to create integration";
    let mut input = Input::object(&body, msg)?;
    // Only `http` integrations can be created through the API (§6.7).
    match input.value("type") {
        Field::Set(Value::String(t)) if t == "http" => {}
        Field::Set(_) => input.errors.add("type", validation::one_of(&["http"])),
        _ => input.errors.add("type", validation::MISSING),
    }
    let patch = read_patch(&mut input, true);
    input.finish(msg)?;
    let mut store = app.store();
    let now = store.now();
    let mut d = new_integration(
        &mut store,
        "http",
        patch.name.as_deref().unwrap_or(""),
        json!({}),
        Value::Object(default_http()),
        Some(ctx.principal.user_id),
        now,
    );
    apply(&mut d, patch, now);
    let id = d.get("id").and_then(Value::as_i64).unwrap_or_default();
    store.integrations.insert(id, d.clone());
    Ok(json_response(
        app.create_status("integration"),
        Value::Object(d),
    ))
}

async fn get_one(State(app): State<App>, ids: Ids) -> ApiResult {
    let store = app.store();
    let d = store
        .integrations
        .get(&ids.one())
        .ok_or(ApiError::NotFound)?;
    Ok(ok(Value::Object(d.clone())))
}

/// PUT needs `name` (§1); the rest is partial.
async fn update(State(app): State<App>, ids: Ids, ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult {
    let id = ids.one();
    let msg = "Failed to update integration";
    let mut store = app.store();
    if !store.integrations.contains_key(&id) {
        return Err(ApiError::NotFound);
    }
    let mut input = Input::object(&body, msg)?;
    input.ignore(&["type"]);
    let patch = read_patch(&mut input, false);
    input.finish(msg)?;
    let now = store.now();
    let was_active = store
        .integrations
        .get(&id)
        .is_some_and(|d| d.get("deactivated_datetime").is_none_or(Value::is_null));
    let d = store.integrations.get_mut(&id).ok_or(ApiError::NotFound)?;
    apply(d, patch, now);
    let d = d.clone();
    let active = d.get("deactivated_datetime").is_none_or(Value::is_null);
    let kind = match (was_active, active) {
        (true, false) => "integration-deactivated",
        (false, true) => "integration-reactivated",
        _ => "integration-updated",
    };
    store.record_event(
        kind,
        "Integration",
        id,
        Some(ctx.principal.user_id),
        json!({}),
        now,
    );
    Ok(ok(Value::Object(d)))
}

/// Refused while a rule's code refers to the integration (409 **[inferred code]**).
async fn delete(State(app): State<App>, ids: Ids, ctx: Ctx) -> ApiResult {
    let id = ids.one();
    let mut store = app.store();
    if !store.integrations.contains_key(&id) {
        return Err(ApiError::NotFound);
    }
    let needle = id.to_string();
    let used = store.rules.values().any(|r| {
        r.get("code")
            .and_then(Value::as_str)
            .is_some_and(|c| c.contains(&needle))
    });
    if used {
        return Err(ApiError::Conflict(
            "This integration is used by rules and cannot be deleted.".into(),
        ));
    }
    store.integrations.remove(&id);
    store
        .widgets
        .retain(|_, w| w.get("integration_id").and_then(Value::as_i64) != Some(id));
    let now = store.now();
    store.record_event(
        "integration-deleted",
        "Integration",
        id,
        Some(ctx.principal.user_id),
        json!({}),
        now,
    );
    Ok(empty(StatusCode::NO_CONTENT))
}

pub fn routes() -> Router<App> {
    Router::new()
        .route("/integrations", get(list).post(create))
        .route(
            "/integrations/{id}",
            get(get_one).put(update).delete(delete),
        )
}
