//! Satisfaction surveys (reference §6.14): list, create (one per ticket), get, update. No DELETE.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Map, Value, json};

use crate::app::{App, Ctx, Ids, JsonBody, json_response, ok};
use crate::clock::Timestamp;
use crate::errors::{ApiError, ApiResult};
use crate::pagination::{PageRequest, query_error};
use crate::resources::{CREATED_ORDERING, list_docs, set_time};
use crate::store::{Store, id_base};
use crate::validation::{Errors, Input};

const TIMES: &[&str] = &[
    "created_datetime",
    "scored_datetime",
    "sent_datetime",
    "should_send_datetime",
];

pub fn new_survey(
    store: &mut Store,
    customer_id: i64,
    ticket_id: i64,
    fields: Map<String, Value>,
    at: Timestamp,
) -> i64 {
    let id = store.next_id("survey", id_base::SURVEY);
    let mut d = Map::new();
    for (k, v) in [
        ("id", json!(id)),
        ("customer_id", json!(customer_id)),
        ("ticket_id", json!(ticket_id)),
        ("score", Value::Null),
        ("body_text", Value::Null),
        ("meta", Value::Null),
        ("scored_datetime", Value::Null),
        ("sent_datetime", Value::Null),
        ("should_send_datetime", Value::Null),
        ("uri", json!(format!("/api/satisfaction-surveys/{id}/"))),
    ] {
        d.insert(k.to_owned(), v);
    }
    set_time(&mut d, "created_datetime", Some(at));
    d.extend(fields);
    store.surveys.insert(id, d);
    id
}

fn read_patch(
    store: &Store,
    input: &mut Input<'_>,
    creating: bool,
) -> (Option<i64>, Option<i64>, Map<String, Value>) {
    let (customer_id, ticket_id) = if creating {
        (
            input.required_integer("customer_id"),
            input.required_integer("ticket_id"),
        )
    } else {
        (
            input.integer("customer_id").value(),
            input.integer("ticket_id").value(),
        )
    };
    if let Some(c) = customer_id
        && !store.customers.contains_key(&c)
    {
        input.errors.add("customer_id", "Customer not found.");
    }
    if let Some(t) = ticket_id
        && !store.tickets.contains_key(&t)
    {
        input.errors.add("ticket_id", "Ticket not found.");
    }
    let mut m = Map::new();
    if let Some(v) = input.integer_in("score", 1, 5).sent() {
        m.insert("score".into(), json!(v));
    }
    if let Some(v) = input.string("body_text", 0, Some(1000)).sent() {
        m.insert("body_text".into(), json!(v));
    }
    if let Some(v) = input.mapping("meta").sent() {
        m.insert(
            "meta".into(),
            v.map_or(Value::Null, |o| Value::Object(o.clone())),
        );
    }
    for key in TIMES {
        if let Some(v) = input.datetime(key).sent() {
            m.insert(
                (*key).to_owned(),
                v.map_or(Value::Null, |t| json!(t.to_string())),
            );
        }
    }
    input.ignore(&["id", "uri"]);
    (customer_id, ticket_id, m)
}

async fn list(State(app): State<App>, ctx: Ctx) -> ApiResult {
    let page = PageRequest::from_query(&ctx.query, &CREATED_ORDERING)?;
    let mut errors = Errors::default();
    let ticket_id = ctx.query.integer("ticket_id", &mut errors);
    query_error(errors)?;
    let store = app.store();
    Ok(list_docs(&ctx, &store.surveys, &page, |d| {
        ticket_id.is_none_or(|t| d.get("ticket_id").and_then(Value::as_i64) == Some(t))
    }))
}

async fn create(State(app): State<App>, ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult {
    let msg = "Failed to create satisfaction survey";
    let mut store = app.store();
    let mut input = Input::object(&body, msg)?;
    let (customer_id, ticket_id, fields) = read_patch(&store, &mut input, true);
    input.finish(msg)?;
    let (Some(customer_id), Some(ticket_id)) = (customer_id, ticket_id) else {
        return Err(ApiError::BadRequest(msg.into()));
    };
    // Only one survey per ticket; the 409 is **[inferred]** (§11 #22).
    if store.survey_for_ticket(ticket_id).is_some() {
        return Err(ApiError::Conflict(
            "A satisfaction survey already exists for this ticket.".into(),
        ));
    }
    let now = store.now();
    let id = new_survey(&mut store, customer_id, ticket_id, fields, now);
    store.record_event(
        "satisfaction-survey-created",
        "SatisfactionSurvey",
        id,
        Some(ctx.principal.user_id),
        json!({"ticket_id": ticket_id}),
        now,
    );
    let d = store.surveys.get(&id).cloned().unwrap_or_default();
    Ok(json_response(
        app.create_status("satisfaction_survey"),
        Value::Object(d),
    ))
}

async fn get_one(State(app): State<App>, ids: Ids) -> ApiResult {
    let store = app.store();
    let d = store.surveys.get(&ids.one()).ok_or(ApiError::NotFound)?;
    Ok(ok(Value::Object(d.clone())))
}

/// Partial like the other PUTs; `customer_id` and `ticket_id` may be re-sent (one client
/// describes this PUT as a full replacement, §1).
async fn update(State(app): State<App>, ids: Ids, ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult {
    let id = ids.one();
    let msg = "Failed to update satisfaction survey";
    let mut store = app.store();
    if !store.surveys.contains_key(&id) {
        return Err(ApiError::NotFound);
    }
    let mut input = Input::object(&body, msg)?;
    let (customer_id, ticket_id, mut fields) = read_patch(&store, &mut input, false);
    input.finish(msg)?;
    if let Some(t) = ticket_id
        && store
            .survey_for_ticket(t)
            .and_then(|s| s.get("id"))
            .and_then(Value::as_i64)
            .is_some_and(|other| other != id)
    {
        return Err(ApiError::Conflict(
            "A satisfaction survey already exists for this ticket.".into(),
        ));
    }
    if let Some(c) = customer_id {
        fields.insert("customer_id".into(), json!(c));
    }
    if let Some(t) = ticket_id {
        fields.insert("ticket_id".into(), json!(t));
    }
    let scored = fields.get("score").is_some_and(|s| !s.is_null());
    let now = store.now();
    let d = store.surveys.get_mut(&id).ok_or(ApiError::NotFound)?;
    if scored
        && !fields.contains_key("scored_datetime")
        && d.get("scored_datetime").is_none_or(Value::is_null)
    {
        set_time(d, "scored_datetime", Some(now));
    }
    d.extend(fields);
    let d = d.clone();
    let kind = if scored {
        "satisfaction-survey-responded"
    } else {
        "satisfaction-survey-updated"
    };
    store.record_event(
        kind,
        "SatisfactionSurvey",
        id,
        Some(ctx.principal.user_id),
        json!({}),
        now,
    );
    Ok(ok(Value::Object(d)))
}

pub fn routes() -> Router<App> {
    Router::new()
        .route("/satisfaction-surveys", get(list).post(create))
        .route("/satisfaction-surveys/{id}", get(get_one).put(update))
}
