//! Widgets (reference §6.21).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Map, Value, json};

use crate::app::{App, Ctx, Ids, JsonBody, empty, json_response, ok};
use crate::clock::Timestamp;
use crate::errors::{ApiError, ApiResult};
use crate::pagination::{Ordering, PageRequest, query_error};
use crate::resources::{list_docs, set_time};
use crate::store::{Store, id_base};
use crate::validation::{self, Errors, Field, Input};

const TYPES: &[&str] = &[
    "bigcommerce",
    "custom",
    "customer_external_data",
    "http",
    "magento2",
    "recharge",
    "shopify",
    "smile",
    "standalone",
    "yotpo",
    "klaviyo",
    "stripe",
    "woocommerce",
];
const CONTEXTS: &[&str] = &["ticket", "customer", "user"];
const ORDERING: Ordering<'static> = Ordering {
    allowed: &[
        "created_datetime:asc",
        "created_datetime:desc",
        "order:asc",
        "order:desc",
    ],
    default: "created_datetime:desc",
};

pub fn new_widget(
    store: &mut Store,
    fields: Map<String, Value>,
    user_id: Option<i64>,
    at: Timestamp,
) -> i64 {
    let id = store.next_id("widget", id_base::WIDGET);
    let mut d = Map::new();
    for (k, v) in [
        ("id", json!(id)),
        ("type", Value::Null),
        ("context", json!("ticket")),
        ("order", json!(0)),
        ("template", json!({"type": "wrapper", "widgets": []})),
        ("integration_id", Value::Null),
        ("app_id", Value::Null),
        ("deactivated_datetime", Value::Null),
        ("uri", json!(format!("/api/widgets/{id}/"))),
    ] {
        d.insert(k.to_owned(), v);
    }
    d.extend(fields);
    set_time(&mut d, "created_datetime", Some(at));
    set_time(&mut d, "updated_datetime", Some(at));
    store.widgets.insert(id, d);
    store.record_event("widget-created", "Widget", id, user_id, json!({}), at);
    id
}

fn read_patch(store: &Store, input: &mut Input<'_>, creating: bool) -> Map<String, Value> {
    let mut m = Map::new();
    let kind = if creating {
        input.required_choice("type", TYPES)
    } else {
        input.choice("type", TYPES).value()
    };
    if let Some(k) = kind {
        m.insert("type".into(), json!(k));
    }
    match input.mapping("template") {
        Field::Set(t) => {
            if t.get("type").and_then(Value::as_str).is_none() {
                let mut e = Errors::default();
                e.add("type", validation::MISSING);
                input.errors.nest("template", e);
            }
            m.insert("template".into(), Value::Object(t.clone()));
        }
        _ if creating => input.errors.add("template", validation::MISSING),
        _ => {}
    }
    if let Some(c) = input.choice("context", CONTEXTS).value() {
        m.insert("context".into(), json!(c));
    }
    if let Some(o) = input.integer_in("order", 0, i64::from(i32::MAX)).value() {
        m.insert("order".into(), json!(o));
    }
    if let Some(v) = input.integer("integration_id").sent() {
        if let Some(id) = v
            && !store.integrations.contains_key(&id)
        {
            input.errors.add("integration_id", "Integration not found.");
        }
        m.insert("integration_id".into(), json!(v));
    }
    if let Some(v) = input.string("app_id", 0, Some(255)).sent() {
        m.insert("app_id".into(), json!(v));
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
    let page = PageRequest::from_query(&ctx.query, &ORDERING)?;
    let mut errors = Errors::default();
    let integration_id = ctx.query.integer("integration_id", &mut errors);
    let app_id = ctx.query.get("app_id").map(str::to_owned);
    query_error(errors)?;
    let store = app.store();
    Ok(list_docs(&ctx, &store.widgets, &page, |d| {
        integration_id.is_none_or(|i| d.get("integration_id").and_then(Value::as_i64) == Some(i))
            && app_id
                .as_deref()
                .is_none_or(|a| d.get("app_id").and_then(Value::as_str) == Some(a))
    }))
}

async fn create(State(app): State<App>, ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult {
    let msg = "Failed to create widget";
    let mut store = app.store();
    let mut input = Input::object(&body, msg)?;
    let fields = read_patch(&store, &mut input, true);
    input.finish(msg)?;
    let now = store.now();
    let id = new_widget(&mut store, fields, Some(ctx.principal.user_id), now);
    let d = store.widgets.get(&id).cloned().unwrap_or_default();
    Ok(json_response(app.create_status("widget"), Value::Object(d)))
}

async fn get_one(State(app): State<App>, ids: Ids) -> ApiResult {
    let store = app.store();
    let d = store.widgets.get(&ids.one()).ok_or(ApiError::NotFound)?;
    Ok(ok(Value::Object(d.clone())))
}

async fn update(State(app): State<App>, ids: Ids, ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult {
    let id = ids.one();
    let msg = "Failed to update widget";
    let mut store = app.store();
    if !store.widgets.contains_key(&id) {
        return Err(ApiError::NotFound);
    }
    let mut input = Input::object(&body, msg)?;
    let fields = read_patch(&store, &mut input, false);
    input.finish(msg)?;
    let now = store.now();
    let d = store.widgets.get_mut(&id).ok_or(ApiError::NotFound)?;
    d.extend(fields);
    set_time(d, "updated_datetime", Some(now));
    let d = d.clone();
    store.record_event(
        "widget-updated",
        "Widget",
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
    store.widgets.remove(&id).ok_or(ApiError::NotFound)?;
    let now = store.now();
    store.record_event(
        "widget-deleted",
        "Widget",
        id,
        Some(ctx.principal.user_id),
        json!({}),
        now,
    );
    Ok(empty(StatusCode::NO_CONTENT))
}

pub fn routes() -> Router<App> {
    Router::new()
        .route("/widgets", get(list).post(create))
        .route("/widgets/{id}", get(get_one).put(update).delete(delete))
}
