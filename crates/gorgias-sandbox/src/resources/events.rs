//! Events (reference §6.5): read-only, recorded by every write of the sandbox.

use axum::Router;
use axum::extract::State;
use axum::routing::get;

use crate::app::{App, Ctx, Ids, ok};
use crate::errors::{ApiError, ApiResult};
use crate::pagination::{PageRequest, SortKey, envelope, paginate, query_error};
use crate::resources::CREATED_ORDERING;
use crate::validation::Errors;

/// The `object_type` filter values the live API accepts (`Message` and `TicketRule` are
/// rejected, obs).
const OBJECT_TYPES: &[&str] = &[
    "Account",
    "Macro",
    "Tag",
    "Customer",
    "Team",
    "View",
    "Widget",
    "User",
    "TicketMessage",
    "Ticket",
    "Rule",
    "Integration",
    "SatisfactionSurvey",
];

async fn list(State(app): State<App>, ctx: Ctx) -> ApiResult {
    let page = PageRequest::from_query(&ctx.query, &CREATED_ORDERING)?;
    let q = &ctx.query;
    let mut errors = Errors::default();
    let object_type = q.choice("object_type", OBJECT_TYPES, &mut errors);
    let object_id = q.integer("object_id", &mut errors);
    let user_ids = q.integers("user_ids", &mut errors);
    let range = q.datetime_range("created_datetime", &mut errors);
    let types: Vec<&str> = q.all("types");
    query_error(errors)?;
    let store = app.store();
    let items = store
        .events
        .values()
        .filter(|e| object_type.as_deref().is_none_or(|t| e.object_type == t))
        .filter(|e| object_id.is_none_or(|id| e.object_id == id))
        .filter(|e| types.is_empty() || types.contains(&e.kind.as_str()))
        .filter(|e| user_ids.is_empty() || e.user_id.is_some_and(|u| user_ids.contains(&u)))
        .filter(|e| range.contains(e.created))
        .map(|e| (SortKey::time(Some(e.created)), e.id, store.event_json(e)))
        .collect();
    let page = paginate(items, &page);
    Ok(ok(envelope(&ctx.uri, page.items.clone(), page.meta())))
}

async fn get_one(State(app): State<App>, ids: Ids) -> ApiResult {
    let store = app.store();
    let e = store.events.get(&ids.one()).ok_or(ApiError::NotFound)?;
    Ok(ok(store.event_json(e)))
}

pub fn routes() -> Router<App> {
    Router::new()
        .route("/events", get(list))
        .route("/events/{id}", get(get_one))
}
