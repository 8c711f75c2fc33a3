//! Voice calls, call events and recordings (reference §6.11): read-only (seeded), except
//! deleting a recording.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::Value;

use crate::app::{App, Ctx, Ids, empty, ok};
use crate::errors::{ApiError, ApiResult};
use crate::pagination::query_error;
use crate::resources::list_docs_by_created;
use crate::store::Docs;
use crate::validation::Errors;

fn filtered(ctx: &Ctx, docs: &Docs, key: &str) -> ApiResult {
    let mut errors = Errors::default();
    let want = ctx.query.integer(key, &mut errors);
    query_error(errors)?;
    list_docs_by_created(ctx, docs, |d| {
        want.is_none_or(|w| d.get(key).and_then(Value::as_i64) == Some(w))
    })
}

async fn list_calls(State(app): State<App>, ctx: Ctx) -> ApiResult {
    let store = app.store();
    filtered(&ctx, &store.voice_calls, "ticket_id")
}

async fn get_call(State(app): State<App>, ids: Ids) -> ApiResult {
    let store = app.store();
    let d = store
        .voice_calls
        .get(&ids.one())
        .ok_or(ApiError::NotFound)?;
    Ok(ok(Value::Object(d.clone())))
}

async fn list_events(State(app): State<App>, ctx: Ctx) -> ApiResult {
    let store = app.store();
    filtered(&ctx, &store.voice_call_events, "call_id")
}

async fn get_event(State(app): State<App>, ids: Ids) -> ApiResult {
    let store = app.store();
    let d = store
        .voice_call_events
        .get(&ids.one())
        .ok_or(ApiError::NotFound)?;
    Ok(ok(Value::Object(d.clone())))
}

async fn list_recordings(State(app): State<App>, ctx: Ctx) -> ApiResult {
    let store = app.store();
    filtered(&ctx, &store.recordings, "call_id")
}

async fn get_recording(State(app): State<App>, ids: Ids) -> ApiResult {
    let store = app.store();
    let d = store.recordings.get(&ids.one()).ok_or(ApiError::NotFound)?;
    Ok(ok(Value::Object(d.clone())))
}

async fn delete_recording(State(app): State<App>, ids: Ids) -> ApiResult {
    let mut store = app.store();
    store
        .recordings
        .remove(&ids.one())
        .ok_or(ApiError::NotFound)?;
    Ok(empty(StatusCode::NO_CONTENT))
}

pub fn routes() -> Router<App> {
    Router::new()
        .route("/phone/voice-calls", get(list_calls))
        .route("/phone/voice-calls/{id}", get(get_call))
        .route("/phone/voice-call-events", get(list_events))
        .route("/phone/voice-call-events/{id}", get(get_event))
        .route("/phone/voice-call-recordings", get(list_recordings))
        .route(
            "/phone/voice-call-recordings/{id}",
            get(get_recording).delete(delete_recording),
        )
}
