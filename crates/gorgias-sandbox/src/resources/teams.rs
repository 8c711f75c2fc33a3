//! Teams (reference §6.17).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};

use crate::app::{App, Ctx, Ids, JsonBody, empty, json_response, ok};
use crate::errors::{ApiError, ApiResult};
use crate::pagination::{Ordering, PageRequest, SortKey, envelope, paginate};
use crate::store::{Store, Team, id_base};
use crate::validation::{self, Errors, Field, Input};

const ORDERING: Ordering<'static> = Ordering {
    allowed: &[
        "created_datetime:asc",
        "created_datetime:desc",
        "name:asc",
        "name:desc",
    ],
    default: "created_datetime:desc",
};

async fn list(State(app): State<App>, ctx: Ctx) -> ApiResult {
    let page = PageRequest::from_query(&ctx.query, &ORDERING)?;
    let store = app.store();
    let items = store
        .teams
        .values()
        .map(|t| {
            let key = if page.order.field == "name" {
                SortKey::Str(t.name.to_lowercase())
            } else {
                SortKey::time(Some(t.created))
            };
            (key, t.id, store.team_json(t))
        })
        .collect();
    let page = paginate(items, &page);
    Ok(ok(envelope(&ctx.uri, page.items.clone(), page.meta())))
}

struct Patch {
    name: Option<String>,
    description: Field<String>,
    decoration: Field<Value>,
    members: Option<Vec<i64>>,
}

fn read_patch(store: &Store, input: &mut Input<'_>, creating: bool) -> Patch {
    let name = if creating {
        input.required_string("name", 1, Some(255))
    } else {
        input.string("name", 1, Some(255)).value()
    };
    let description = input.string("description", 0, Some(1024));
    let decoration = match input.mapping("decoration") {
        Field::Set(m) => Field::Set(Value::Object(m.clone())),
        Field::Null => Field::Null,
        Field::Missing => Field::Missing,
    };
    let members = match input.list("members") {
        Field::Set(list) => {
            let mut ids = Vec::new();
            let mut e = Errors::default();
            for (i, m) in list.iter().enumerate() {
                match m.get("id").and_then(validation::as_integer) {
                    Some(id) if store.users.contains_key(&id) => {
                        if !ids.contains(&id) {
                            ids.push(id);
                        }
                    }
                    Some(_) => {
                        let mut inner = Errors::default();
                        inner.add("id", "User not found.");
                        e.nest(&i.to_string(), inner);
                    }
                    None => {
                        let mut inner = Errors::default();
                        inner.add("id", validation::MISSING);
                        e.nest(&i.to_string(), inner);
                    }
                }
            }
            input.errors.nest("members", e);
            Some(ids)
        }
        Field::Null => Some(Vec::new()),
        Field::Missing => None,
    };
    input.ignore(&["id", "uri", "created_datetime", "updated_datetime"]);
    Patch {
        name,
        description,
        decoration,
        members,
    }
}

fn apply(t: &mut Team, p: Patch) {
    if let Some(n) = p.name {
        t.name = n;
    }
    p.description.apply_to(&mut t.description);
    if let Some(d) = p.decoration.sent() {
        t.decoration = d.unwrap_or(Value::Null);
    }
    if let Some(m) = p.members {
        // `members` replaces the whole list (§6.17).
        t.members = m;
    }
}

async fn create(State(app): State<App>, ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult {
    let msg = "Failed to create team";
    let mut store = app.store();
    let mut input = Input::object(&body, msg)?;
    let patch = read_patch(&store, &mut input, true);
    input.finish(msg)?;
    let now = store.now();
    let id = store.next_id("team", id_base::TEAM);
    let mut team = Team {
        id,
        name: String::new(),
        description: None,
        decoration: json!({"emoji": null}),
        members: Vec::new(),
        created: now,
        updated: now,
    };
    apply(&mut team, patch);
    let v = store.team_json(&team);
    store.teams.insert(id, team);
    store.record_event(
        "team-created",
        "Team",
        id,
        Some(ctx.principal.user_id),
        json!({}),
        now,
    );
    Ok(json_response(app.create_status("team"), v))
}

async fn get_one(State(app): State<App>, ids: Ids) -> ApiResult {
    let store = app.store();
    let t = store.teams.get(&ids.one()).ok_or(ApiError::NotFound)?;
    Ok(ok(store.team_json(t)))
}

async fn update(State(app): State<App>, ids: Ids, ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult {
    let id = ids.one();
    let msg = "Failed to update team";
    let mut store = app.store();
    let mut team = store.teams.get(&id).cloned().ok_or(ApiError::NotFound)?;
    let mut input = Input::object(&body, msg)?;
    let patch = read_patch(&store, &mut input, false);
    input.finish(msg)?;
    let now = store.now();
    apply(&mut team, patch);
    team.updated = now;
    let v = store.team_json(&team);
    store.teams.insert(id, team);
    store.record_event(
        "team-updated",
        "Team",
        id,
        Some(ctx.principal.user_id),
        json!({}),
        now,
    );
    Ok(ok(v))
}

/// Deleting a team unassigns its tickets (§6.17).
async fn delete(State(app): State<App>, ids: Ids, ctx: Ctx) -> ApiResult {
    let id = ids.one();
    let mut store = app.store();
    store.teams.remove(&id).ok_or(ApiError::NotFound)?;
    let now = store.now();
    for t in store.tickets.values_mut() {
        if t.assignee_team_id == Some(id) {
            t.assignee_team_id = None;
            t.updated = now;
        }
    }
    store.record_event(
        "team-deleted",
        "Team",
        id,
        Some(ctx.principal.user_id),
        json!({}),
        now,
    );
    Ok(empty(StatusCode::NO_CONTENT))
}

pub fn routes() -> Router<App> {
    Router::new()
        .route("/teams", get(list).post(create))
        .route("/teams/{id}", get(get_one).put(update).delete(delete))
}
