//! Tags (reference §6.16): list, CRUD, bulk delete, merge.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, put};
use serde_json::{Value, json};

use crate::app::{App, Ctx, Ids, JsonBody, empty, json_response, ok};
use crate::errors::{ApiError, ApiResult};
use crate::pagination::{Ordering, PageRequest, SortKey, envelope, paginate};
use crate::resources::macros::macro_tags;
use crate::store::{Store, Tag, id_base};
use crate::validation::{self, Field, Input};

const ORDERING: Ordering<'static> = Ordering {
    allowed: &[
        "created_datetime:asc",
        "created_datetime:desc",
        "name:asc",
        "name:desc",
        "usage:asc,name:asc",
        "usage:desc,name:desc",
    ],
    default: "created_datetime:desc",
};

fn sort_key(store: &Store, t: &Tag, field: &str) -> SortKey {
    match field {
        "name" => SortKey::Str(t.name.to_lowercase()),
        // `usage:…,name:…`: usage first, then the name, in one comparable key.
        "usage" => SortKey::Str(format!(
            "{:012}\u{0}{}",
            store.tag_usage(t.id),
            t.name.to_lowercase()
        )),
        _ => SortKey::time(Some(t.created)),
    }
}

async fn list(State(app): State<App>, ctx: Ctx) -> ApiResult {
    let page = PageRequest::from_query(&ctx.query, &ORDERING)?;
    let search = ctx.query.get("search").map(str::to_lowercase);
    let store = app.store();
    let items = store
        .tags
        .values()
        .filter(|t| t.deleted.is_none())
        .filter(|t| {
            search
                .as_ref()
                .is_none_or(|s| t.name.to_lowercase().contains(s))
        })
        .map(|t| {
            (
                sort_key(&store, t, &page.order.field),
                t.id,
                store.tag_json(t),
            )
        })
        .collect();
    let page = paginate(items, &page);
    Ok(ok(envelope(&ctx.uri, page.items.clone(), page.meta())))
}

fn read_decoration(input: &mut Input<'_>) -> Field<Value> {
    match input.mapping("decoration") {
        Field::Set(m) => {
            if let Some(c) = m.get("color")
                && !c
                    .as_str()
                    .is_some_and(|s| s.starts_with('#') && (s.len() == 7 || s.len() == 4))
            {
                let mut e = validation::Errors::default();
                e.add("color", "Not a valid color.");
                input.errors.nest("decoration", e);
            }
            Field::Set(Value::Object(m.clone()))
        }
        Field::Null => Field::Null,
        Field::Missing => Field::Missing,
    }
}

async fn create(State(app): State<App>, ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult {
    let msg = "Failed to create tag";
    let mut input = Input::object(&body, msg)?;
    let name = input.required_string("name", 1, Some(256));
    let description = input.string("description", 0, Some(1024)).value();
    let decoration = read_decoration(&mut input);
    input.finish(msg)?;
    let name = name.unwrap_or_default();
    let mut store = app.store();
    // Names are unique (case-sensitive); a duplicate is a conflict **[inferred code]**.
    if store.tag_by_name(&name).is_some() {
        return Err(ApiError::Conflict(format!(
            "A tag named {name:?} already exists."
        )));
    }
    let now = store.now();
    let id = store.next_id("tag", id_base::TAG);
    let tag = Tag {
        id,
        name: name.clone(),
        description,
        decoration: decoration.value().unwrap_or_else(|| json!({})),
        created: now,
        deleted: None,
    };
    let v = store.tag_json(&tag);
    store.tags.insert(id, tag);
    store.record_event(
        "tag-created",
        "Tag",
        id,
        Some(ctx.principal.user_id),
        json!({"name": name}),
        now,
    );
    // §6.16: 201 (the reference page for tag create says so).
    Ok(json_response(app.create_status("tag"), v))
}

async fn get_one(State(app): State<App>, ids: Ids) -> ApiResult {
    let store = app.store();
    let t = store
        .tags
        .get(&ids.one())
        .filter(|t| t.deleted.is_none())
        .ok_or(ApiError::NotFound)?;
    Ok(ok(store.tag_json(t)))
}

async fn update(State(app): State<App>, ids: Ids, ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult {
    let id = ids.one();
    let msg = "Failed to update tag";
    let mut store = app.store();
    if store.tags.get(&id).is_none_or(|t| t.deleted.is_some()) {
        return Err(ApiError::NotFound);
    }
    let mut input = Input::object(&body, msg)?;
    let name = input.string("name", 1, Some(256)).value();
    let description = input.string("description", 0, Some(1024));
    let decoration = read_decoration(&mut input);
    input.ignore(&["id", "uri", "usage", "created_datetime", "deleted_datetime"]);
    input.finish(msg)?;
    if let Some(n) = &name
        && store.tag_by_name(n).is_some_and(|other| other != id)
    {
        return Err(ApiError::Conflict(format!(
            "A tag named {n:?} already exists."
        )));
    }
    let now = store.now();
    let t = store.tags.get_mut(&id).ok_or(ApiError::NotFound)?;
    let renamed = name.as_ref().is_some_and(|n| *n != t.name);
    if let Some(n) = name {
        t.name = n;
    }
    description.apply_to(&mut t.description);
    if let Some(d) = decoration.sent() {
        t.decoration = d.unwrap_or_else(|| json!({}));
    }
    let t = t.clone();
    store.record_event(
        if renamed {
            "tag-renamed"
        } else {
            "tag-updated"
        },
        "Tag",
        id,
        Some(ctx.principal.user_id),
        json!({"name": t.name}),
        now,
    );
    Ok(ok(store.tag_json(&t)))
}

/// Tags used in macros or rules cannot be deleted (409 **[inferred code]**).
fn delete_tag(store: &mut Store, id: i64, user_id: i64) -> ApiResult<()> {
    let tag = store
        .tags
        .get(&id)
        .filter(|t| t.deleted.is_none())
        .cloned()
        .ok_or(ApiError::NotFound)?;
    let in_macro = store
        .macros
        .values()
        .any(|m| macro_tags(m).contains(&tag.name));
    let quoted = [format!("'{}'", tag.name), format!("\"{}\"", tag.name)];
    let in_rule = store.rules.values().any(|r| {
        r.get("code")
            .and_then(Value::as_str)
            .is_some_and(|c| quoted.iter().any(|q| c.contains(q)))
    });
    if in_macro || in_rule {
        return Err(ApiError::Conflict(format!(
            "The tag {:?} is used by macros or rules.",
            tag.name
        )));
    }
    store.tags.remove(&id);
    for t in store.tickets.values_mut() {
        t.tags.retain(|x| *x != id);
    }
    // Views that filter on the tag are deactivated (§6.16).
    let now = store.now();
    for v in store.views.values_mut() {
        if v.get("filters")
            .and_then(Value::as_str)
            .is_some_and(|f| quoted.iter().any(|q| f.contains(q)))
        {
            crate::resources::set_time(v, "deactivated_datetime", Some(now));
        }
    }
    store.record_event(
        "tag-deleted",
        "Tag",
        id,
        Some(user_id),
        json!({"name": tag.name}),
        now,
    );
    Ok(())
}

async fn delete(State(app): State<App>, ids: Ids, ctx: Ctx) -> ApiResult {
    let mut store = app.store();
    delete_tag(&mut store, ids.one(), ctx.principal.user_id)?;
    Ok(empty(StatusCode::NO_CONTENT))
}

async fn delete_many(State(app): State<App>, ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult {
    let msg = "Failed to delete tags";
    let mut input = Input::object(&body, msg)?;
    let ids = input.integer_list("ids").value();
    if ids.is_none() {
        input.errors.add("ids", validation::MISSING);
    }
    input.finish(msg)?;
    let mut store = app.store();
    for id in ids.unwrap_or_default() {
        match delete_tag(&mut store, id, ctx.principal.user_id) {
            Ok(()) | Err(ApiError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `PUT /api/tags/{destination}/merge {"source_tags_ids":[...]}`: sources are merged into the
/// destination (on every ticket), then deleted.
async fn merge(State(app): State<App>, ids: Ids, ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult {
    let dest = ids.one();
    let msg = "Failed to merge tags";
    let mut store = app.store();
    if store.tags.get(&dest).is_none_or(|t| t.deleted.is_some()) {
        return Err(ApiError::NotFound);
    }
    let mut input = Input::object(&body, msg)?;
    let sources = match input.integer_list("source_tags_ids") {
        Field::Set(s) => s,
        _ => {
            input.errors.add("source_tags_ids", validation::MISSING);
            Vec::new()
        }
    };
    for s in &sources {
        if *s == dest {
            input
                .errors
                .add("source_tags_ids", "A tag cannot be merged into itself.");
        } else if !store.tags.contains_key(s) {
            input
                .errors
                .add("source_tags_ids", format!("Tag {s} not found."));
        }
    }
    input.finish(msg)?;
    let now = store.now();
    for t in store.tickets.values_mut() {
        if t.tags.iter().any(|x| sources.contains(x)) {
            t.tags.retain(|x| !sources.contains(x));
            if !t.tags.contains(&dest) {
                t.tags.push(dest);
            }
            t.updated = now;
        }
    }
    for s in &sources {
        store.tags.remove(s);
        store.record_event(
            "tag-deleted",
            "Tag",
            *s,
            Some(ctx.principal.user_id),
            json!({"merged_into": dest}),
            now,
        );
    }
    store.record_event(
        "tag-merged",
        "Tag",
        dest,
        Some(ctx.principal.user_id),
        json!({"source_tags_ids": sources}),
        now,
    );
    let t = store.tags.get(&dest).cloned().ok_or(ApiError::NotFound)?;
    Ok(ok(store.tag_json(&t)))
}

pub fn routes() -> Router<App> {
    Router::new()
        .route("/tags", get(list).post(create).delete(delete_many))
        .route("/tags/{id}", get(get_one).put(update).delete(delete))
        .route("/tags/{id}/merge", put(merge))
}
