//! The account and its settings (reference §6.2).

use axum::Router;
use axum::extract::State;
use axum::routing::{get, put};
use serde_json::{Map, Value, json};

use crate::app::{App, Ctx, Ids, JsonBody, json_response, ok};
use crate::errors::{ApiError, ApiResult};
use crate::store::{Store, id_base};
use crate::validation::{Field, Input};

pub fn new_setting(
    store: &mut Store,
    kind: &str,
    data: Value,
    user_id: Option<i64>,
) -> Map<String, Value> {
    let id = store.next_id("setting", id_base::SETTING);
    let mut d = Map::new();
    d.insert("id".into(), json!(id));
    d.insert("type".into(), json!(kind));
    d.insert("data".into(), data);
    store.settings.insert(id, d.clone());
    let now = store.now();
    store.record_event(
        "account-setting-created",
        "AccountSetting",
        id,
        user_id,
        json!({"type": kind}),
        now,
    );
    d
}

async fn account(State(app): State<App>) -> ApiResult {
    let store = app.store();
    let settings: Vec<Value> = store
        .settings
        .values()
        .map(|s| Value::Object(s.clone()))
        .collect();
    Ok(ok(json!({
        "domain": store.subdomain,
        "created_datetime": store.account_created,
        "deactivated_datetime": null,
        "status": {"status": "active", "notification": null},
        "settings": settings,
        "current_subscription": {"status": "active", "plan": "sandbox", "products": {"helpdesk": "pro"}},
        "meta": {"sandbox": true},
    })))
}

async fn list(State(app): State<App>, ctx: Ctx) -> ApiResult {
    let store = app.store();
    let kind = ctx.query.get("type");
    let data: Vec<Value> = store
        .settings
        .values()
        .filter(|s| kind.is_none_or(|k| s.get("type").and_then(Value::as_str) == Some(k)))
        .map(|s| Value::Object(s.clone()))
        .collect();
    Ok(ok(json!({"data": data})))
}

fn read(body: &Value, msg: &str) -> ApiResult<(String, Value, Option<String>)> {
    let mut input = Input::object(body, msg)?;
    let kind = input.required_string("type", 1, Some(255));
    let data = match input.mapping("data") {
        Field::Set(m) => Value::Object(m.clone()),
        _ => json!({}),
    };
    let name = input.string("name", 0, Some(255)).value();
    input.ignore(&["id"]);
    input.finish(msg)?;
    Ok((kind.unwrap_or_default(), data, name))
}

async fn create(State(app): State<App>, ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult {
    let (kind, data, name) = read(&body, "Failed to create account setting")?;
    let mut store = app.store();
    let mut d = new_setting(&mut store, &kind, data, Some(ctx.principal.user_id));
    if let Some(n) = name {
        d.insert("name".into(), json!(n));
        if let Some(id) = d.get("id").and_then(Value::as_i64) {
            store.settings.insert(id, d.clone());
        }
    }
    Ok(json_response(
        app.create_status("account_setting"),
        Value::Object(d),
    ))
}

/// `type` is required; `data` is replaced whole (§6.2).
async fn update(State(app): State<App>, ids: Ids, ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult {
    let id = ids.one();
    let msg = "Failed to update account setting";
    let (kind, data, name) = read(&body, msg)?;
    let mut store = app.store();
    let d = store.settings.get_mut(&id).ok_or(ApiError::NotFound)?;
    if d.get("type").and_then(Value::as_str) != Some(kind.as_str()) {
        return Err(ApiError::field(
            msg,
            "type",
            "The type of a setting cannot change.",
        ));
    }
    d.insert("data".into(), data);
    if let Some(n) = name {
        d.insert("name".into(), json!(n));
    }
    let d = d.clone();
    let now = store.now();
    store.record_event(
        "account-setting-updated",
        "AccountSetting",
        id,
        Some(ctx.principal.user_id),
        json!({"type": kind}),
        now,
    );
    Ok(ok(Value::Object(d)))
}

pub fn routes() -> Router<App> {
    Router::new()
        .route("/account", get(account))
        .route("/account/settings", get(list).post(create))
        .route("/account/settings/{id}", put(update))
}
