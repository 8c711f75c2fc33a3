//! Views and view items (reference §6.20): CRUD, `GET /api/views/{id}/items`, and the ad-hoc
//! search `PUT /api/views/{id|0}/items` (read-only despite the PUT).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Map, Value, json};

use crate::app::{App, Ctx, Ids, JsonBody, empty, json_response, ok};
use crate::clock::Timestamp;
use crate::errors::{ApiError, ApiResult};
use crate::pagination::{Ordering, PageRequest, envelope, paginate, query_error};
use crate::resources::view_filter::{self, Expr};
use crate::resources::{CREATED_ORDERING, doc_sort_key, set_time, tickets};
use crate::store::{Store, Ticket, id_base, strip_html};
use crate::validation::{self, Errors, Field, Input};

const TYPES: &[&str] = &["ticket-list", "customer-list"];
const VISIBILITIES: &[&str] = &["public", "shared", "private"];
const CATEGORIES: &[&str] = &["system", "user"];
const ORDER_DIRS: &[&str] = &["asc", "desc"];
const COLUMNS: &[&str] = &[
    "id",
    "details",
    "tags",
    "customer",
    "last_message",
    "name",
    "email",
    "created",
    "updated",
    "assignee",
    "assignee_team",
    "channel",
    "closed",
    "language",
    "last_received_message",
    "integrations",
    "snooze",
    "status",
    "subject",
    "priority",
];
const ITEM_FIELDS: &[&str] = &[
    "created_datetime",
    "updated_datetime",
    "last_message_datetime",
    "last_received_message_datetime",
    "closed_datetime",
    "snooze_datetime",
    "priority",
];
const ITEM_ORDERING: Ordering<'static> = Ordering {
    allowed: &[
        "created_datetime:asc",
        "created_datetime:desc",
        "updated_datetime:asc",
        "updated_datetime:desc",
        "last_message_datetime:asc",
        "last_message_datetime:desc",
        "last_received_message_datetime:asc",
        "last_received_message_datetime:desc",
        "closed_datetime:asc",
        "closed_datetime:desc",
        "snooze_datetime:asc",
        "snooze_datetime:desc",
        "priority:asc",
        "priority:desc",
    ],
    default: "updated_datetime:desc",
};

/// A view ready to match tickets.
pub struct CompiledView {
    expr: Option<Expr>,
    search: Option<String>,
    include_trashed: bool,
    include_spam: bool,
    now: Timestamp,
}

impl CompiledView {
    fn binding(&self) -> String {
        format!("{:?}|{:?}", self.expr, self.search)
    }

    pub fn matches(&self, store: &Store, t: &Ticket) -> bool {
        // Views leave trashed and spam tickets out unless their filter asks for them, like
        // the product's views do **[inferred]**.
        if t.trashed.is_some() && !self.include_trashed {
            return false;
        }
        if t.spam && !self.include_spam {
            return false;
        }
        if let Some(q) = &self.search {
            // `search` is a substring match on subject and message text **[inferred semantics]**.
            let q = q.to_lowercase();
            let in_subject = t
                .subject
                .as_deref()
                .is_some_and(|s| s.to_lowercase().contains(&q));
            let in_messages = store.ticket_messages(t.id).iter().any(|m| {
                m.body_text
                    .as_deref()
                    .is_some_and(|b| b.to_lowercase().contains(&q))
                    || m.body_html
                        .as_deref()
                        .is_some_and(|b| strip_html(b).to_lowercase().contains(&q))
            });
            let in_customer = t
                .customer_id
                .and_then(|c| store.customers.get(&c))
                .is_some_and(|c| {
                    c.email
                        .as_deref()
                        .is_some_and(|e| e.to_lowercase().contains(&q))
                        || c.name
                            .as_deref()
                            .is_some_and(|n| n.to_lowercase().contains(&q))
                });
            if !(in_subject || in_messages || in_customer) {
                return false;
            }
        }
        match &self.expr {
            None => true,
            Some(e) => view_filter::eval(e, &store.ticket_json(t, true), self.now),
        }
    }
}

fn compile(
    filters: Option<&str>,
    search: Option<&str>,
    user_id: i64,
) -> Result<CompiledView, String> {
    let expr = match filters.map(str::trim).filter(|f| !f.is_empty()) {
        Some(f) => Some(view_filter::parse(f, user_id).map_err(|e| e.to_string())?),
        None => None,
    };
    let include_trashed = expr
        .as_ref()
        .is_some_and(|e| view_filter::mentions(e, "trashed_datetime"));
    let include_spam = expr
        .as_ref()
        .is_some_and(|e| view_filter::mentions(e, "spam"));
    Ok(CompiledView {
        expr,
        search: search
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        include_trashed,
        include_spam,
        now: Timestamp::wall_clock(),
    })
}

/// Compiles a stored view for `user_id` (its `{{current_user.id}}`).
pub fn compile_view(doc: &Map<String, Value>, user_id: i64) -> Result<CompiledView, String> {
    compile(
        doc.get("filters").and_then(Value::as_str),
        doc.get("search").and_then(Value::as_str),
        user_id,
    )
}

/// The view as the current user sees it: templates in `filters` filled in (§6.20).
fn render(doc: &Map<String, Value>, user_id: i64) -> Value {
    let mut d = doc.clone();
    if let Some(Value::String(f)) = d.get("filters") {
        let filled = f.replace("{{current_user.id}}", &user_id.to_string());
        d.insert("filters".into(), Value::String(filled));
    }
    Value::Object(d)
}

async fn list(State(app): State<App>, ctx: Ctx) -> ApiResult {
    let page = PageRequest::from_query(&ctx.query, &CREATED_ORDERING)?;
    let mut errors = Errors::default();
    let category = ctx.query.choice("category", CATEGORIES, &mut errors);
    query_error(errors)?;
    let store = app.store();
    let user = ctx.principal.user_id;
    let items = store
        .views
        .values()
        .filter(|d| {
            category
                .as_deref()
                .is_none_or(|c| d.get("category").and_then(Value::as_str) == Some(c))
        })
        .filter(|d| visible_to(&store, d, user))
        .map(|d| {
            let id = d.get("id").and_then(Value::as_i64).unwrap_or_default();
            (doc_sort_key(d, &page.order.field), id, render(d, user))
        })
        .collect();
    let page = paginate(items, &page);
    Ok(ok(envelope(&ctx.uri, page.items.clone(), page.meta())))
}

/// Private views are the owner's; shared ones their users' and teams' **[inferred]**.
fn visible_to(store: &Store, d: &Map<String, Value>, user: i64) -> bool {
    match d.get("visibility").and_then(Value::as_str) {
        Some("private") => d.get("user_id").and_then(Value::as_i64) == Some(user),
        Some("shared") => {
            let users = d.get("shared_with_users").and_then(Value::as_array);
            let teams = d.get("shared_with_teams").and_then(Value::as_array);
            d.get("user_id").and_then(Value::as_i64) == Some(user)
                || users.is_some_and(|u| u.iter().any(|x| x.as_i64() == Some(user)))
                || teams.is_some_and(|t| {
                    t.iter().filter_map(Value::as_i64).any(|tid| {
                        store
                            .teams
                            .get(&tid)
                            .is_some_and(|team| team.members.contains(&user))
                    })
                })
        }
        _ => true,
    }
}

struct ViewPatch(Map<String, Value>);

fn read_view(store: &Store, input: &mut Input<'_>, user_id: i64, creating: bool) -> ViewPatch {
    let mut out = Map::new();
    let mut put = |k: &str, v: Value| {
        out.insert(k.to_owned(), v);
    };
    if let Some(v) = input.string("name", 1, Some(255)).sent() {
        put("name", json!(v));
    }
    if let Some(v) = input.string("slug", 1, Some(255)).sent() {
        put("slug", json!(v));
    }
    if let Some(v) = input.choice("type", TYPES).value() {
        put("type", json!(v));
    }
    if let Some(v) = input.choice("visibility", VISIBILITIES).value() {
        put("visibility", json!(v));
    }
    if let Some(v) = input.choice("category", CATEGORIES).value() {
        put("category", json!(v));
    }
    if let Some(v) = input.mapping("decoration").sent() {
        put(
            "decoration",
            v.map_or(Value::Null, |m| Value::Object(m.clone())),
        );
    }
    if let Field::Set(cols) = input.list("fields") {
        let mut e = Errors::default();
        for (i, c) in cols.iter().enumerate() {
            if !c.as_str().is_some_and(|c| COLUMNS.contains(&c)) {
                e.add(&i.to_string(), validation::one_of(COLUMNS));
            }
        }
        input.errors.nest("fields", e);
        put("fields", Value::Array(cols.clone()));
    }
    match input.string("filters", 0, None) {
        Field::Set(f) => {
            if let Err(e) = compile(Some(&f), None, user_id) {
                input
                    .errors
                    .add("filters", format!("Invalid filters: {e}."));
            }
            put("filters", json!(f));
        }
        Field::Null => put("filters", Value::Null),
        Field::Missing => {}
    }
    if let Some(v) = input.string("order_by", 0, None).value() {
        if ITEM_FIELDS.contains(&v.as_str()) {
            put("order_by", json!(v));
        } else {
            input
                .errors
                .add("order_by", validation::one_of(ITEM_FIELDS));
        }
    }
    if let Some(v) = input.choice("order_dir", ORDER_DIRS).value() {
        put("order_dir", json!(v));
    }
    if let Some(v) = input.string("search", 0, None).sent() {
        put("search", json!(v));
    }
    if let Some(v) = input.integer("section_id").sent() {
        put("section_id", json!(v));
    }
    for key in ["shared_with_teams", "shared_with_users"] {
        if let Field::Set(ids) = input.integer_list(key) {
            if ids.len() > 100 {
                input.errors.add(key, validation::longer_than(100));
            }
            let known = |id: &i64| {
                if key == "shared_with_teams" {
                    store.teams.contains_key(id)
                } else {
                    store.users.contains_key(id)
                }
            };
            if let Some(bad) = ids.iter().find(|id| !known(id)) {
                input.errors.add(key, format!("{bad} not found."));
            }
            put(key, json!(ids));
        }
    }
    if let Some(v) = input.datetime("deactivated_datetime").sent() {
        put(
            "deactivated_datetime",
            v.map_or(Value::Null, |t| json!(t.to_string())),
        );
    }
    input.ignore(&["id", "uri", "created_datetime", "updated_datetime"]);
    if creating && !out.contains_key("slug") {
        // The spec marks `slug` required; the docs' examples leave it out. The sandbox makes
        // one from the name.
        let name = out.get("name").and_then(Value::as_str).unwrap_or("view");
        out.insert("slug".into(), json!(slugify(name)));
    }
    ViewPatch(out)
}

fn slugify(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

/// A new view document with every documented key.
pub fn new_view(
    store: &mut Store,
    user_id: Option<i64>,
    patch: Map<String, Value>,
    at: Timestamp,
) -> Map<String, Value> {
    let id = store.next_id("view", id_base::VIEW);
    let mut d = Map::new();
    for (k, v) in [
        ("id", json!(id)),
        ("name", Value::Null),
        ("slug", Value::Null),
        ("type", json!("ticket-list")),
        ("category", json!("user")),
        ("visibility", json!("public")),
        ("decoration", Value::Null),
        (
            "fields",
            json!([
                "details",
                "tags",
                "customer",
                "last_message",
                "assignee",
                "updated"
            ]),
        ),
        ("filters", Value::Null),
        ("order_by", json!("updated_datetime")),
        ("order_dir", json!("desc")),
        ("search", Value::Null),
        ("section_id", Value::Null),
        ("shared_with_teams", json!([])),
        ("shared_with_users", json!([])),
        ("deactivated_datetime", Value::Null),
        ("user_id", json!(user_id)),
        ("uri", json!(format!("/api/views/{id}/"))),
    ] {
        d.insert(k.to_owned(), v);
    }
    d.extend(patch);
    set_time(&mut d, "created_datetime", Some(at));
    set_time(&mut d, "updated_datetime", Some(at));
    store.views.insert(id, d.clone());
    store.record_event("view-created", "View", id, user_id, json!({}), at);
    d
}

async fn create(State(app): State<App>, ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult {
    let msg = "Failed to create view";
    let mut store = app.store();
    let mut input = Input::object(&body, msg)?;
    let patch = read_view(&store, &mut input, ctx.principal.user_id, true);
    input.finish(msg)?;
    let now = store.now();
    let d = new_view(&mut store, Some(ctx.principal.user_id), patch.0, now);
    Ok(json_response(
        app.create_status("view"),
        render(&d, ctx.principal.user_id),
    ))
}

async fn get_one(State(app): State<App>, ids: Ids, ctx: Ctx) -> ApiResult {
    let store = app.store();
    let d = store.views.get(&ids.one()).ok_or(ApiError::NotFound)?;
    Ok(ok(render(d, ctx.principal.user_id)))
}

async fn update(State(app): State<App>, ids: Ids, ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult {
    let id = ids.one();
    let msg = "Failed to update view";
    let mut store = app.store();
    if !store.views.contains_key(&id) {
        return Err(ApiError::NotFound);
    }
    let mut input = Input::object(&body, msg)?;
    let patch = read_view(&store, &mut input, ctx.principal.user_id, false);
    input.finish(msg)?;
    let now = store.now();
    let d = store.views.get_mut(&id).ok_or(ApiError::NotFound)?;
    d.extend(patch.0);
    set_time(d, "updated_datetime", Some(now));
    let d = d.clone();
    store.record_event(
        "view-updated",
        "View",
        id,
        Some(ctx.principal.user_id),
        json!({}),
        now,
    );
    Ok(ok(render(&d, ctx.principal.user_id)))
}

async fn delete(State(app): State<App>, ids: Ids, ctx: Ctx) -> ApiResult {
    let id = ids.one();
    let mut store = app.store();
    let d = store.views.get(&id).ok_or(ApiError::NotFound)?;
    if d.get("category").and_then(Value::as_str) == Some("system") {
        // System views (Trash, Spam, ...) cannot be deleted; the status is **[inferred]**.
        return Err(ApiError::BadRequest(
            "System views cannot be deleted.".into(),
        ));
    }
    store.views.remove(&id);
    let now = store.now();
    store.record_event(
        "view-deleted",
        "View",
        id,
        Some(ctx.principal.user_id),
        json!({}),
        now,
    );
    Ok(empty(StatusCode::NO_CONTENT))
}

/// Lists the tickets a compiled view matches, as compact tickets, with the legacy meta keys.
fn items(
    app: &App,
    ctx: &Ctx,
    view_id: i64,
    view: &CompiledView,
    order_by: &str,
    order_dir: &str,
) -> ApiResult {
    let default = format!("{order_by}:{order_dir}");
    let ordering = Ordering {
        allowed: ITEM_ORDERING.allowed,
        default: if ITEM_ORDERING.allowed.contains(&default.as_str()) {
            &default
        } else {
            ITEM_ORDERING.default
        },
    };
    let mut errors = Errors::default();
    ctx.query
        .choice("direction", &["prev", "next"], &mut errors);
    let ignored = ctx.query.integer("ignored_item", &mut errors);
    query_error(errors)?;
    // Cursors of an ad-hoc search stay tied to its filters and search text.
    let page = PageRequest::from_query_bound(&ctx.query, &ordering, &view.binding())?;
    let store = app.store();
    let items = store
        .tickets
        .values()
        .filter(|t| Some(t.id) != ignored)
        .filter(|t| view.matches(&store, t))
        .map(|t| {
            (
                tickets::sort_key(t, &page.order.field),
                t.id,
                store.ticket_compact(t),
            )
        })
        .collect();
    let result = paginate(items, &page);
    let link = |c: &Option<String>| {
        c.as_ref()
            .map(|c| {
                json!(format!(
                    "/api/views/{view_id}/items?cursor={c}&limit={}",
                    page.limit
                ))
            })
            .unwrap_or(Value::Null)
    };
    // §12 #8: prev/next cursors (what clients read) plus the spec's legacy keys.
    let meta = json!({"prev_cursor": result.prev_cursor, "next_cursor": result.next_cursor,
        "current_cursor": ctx.query.get("cursor"), "next_items": link(&result.next_cursor),
        "prev_items": link(&result.prev_cursor)});
    Ok(ok(
        json!({"object": "list", "uri": ctx.uri, "data": result.items, "meta": meta}),
    ))
}

async fn list_items(State(app): State<App>, ids: Ids, ctx: Ctx) -> ApiResult {
    let id = ids.one();
    let (view, order_by, order_dir) = {
        let store = app.store();
        let d = store.views.get(&id).ok_or(ApiError::NotFound)?;
        let view = compile_view(d, ctx.principal.user_id).map_err(ApiError::BadRequest)?;
        let order_by = d
            .get("order_by")
            .and_then(Value::as_str)
            .unwrap_or("updated_datetime")
            .to_owned();
        let order_dir = d
            .get("order_dir")
            .and_then(Value::as_str)
            .unwrap_or("desc")
            .to_owned();
        (view, order_by, order_dir)
    };
    items(&app, &ctx, id, &view, &order_by, &order_dir)
}

/// Ad-hoc search: body `{"view": {...}}` overrides the stored view (or defines one for id 0).
async fn search_items(
    State(app): State<App>,
    ids: Ids,
    ctx: Ctx,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let id = ids.one();
    let msg = "Failed to search view items";
    let base = if id == 0 {
        Map::new()
    } else {
        app.store()
            .views
            .get(&id)
            .cloned()
            .ok_or(ApiError::NotFound)?
    };
    let body = if body.is_null() { json!({}) } else { body };
    let mut outer = Input::object(&body, msg)?;
    let view_value = outer.value("view").value().cloned().unwrap_or(json!({}));
    outer.finish(msg)?;
    let patch = {
        let store = app.store();
        let Some(mut input) = Input::nested(&view_value) else {
            return Err(ApiError::field(msg, "view", validation::INVALID_INPUT));
        };
        let patch = read_view(&store, &mut input, ctx.principal.user_id, false);
        let e = input.into_errors();
        let mut errors = Errors::default();
        errors.nest("view", e);
        errors.into_result(msg)?;
        patch
    };
    let mut merged = base;
    merged.extend(patch.0);
    let view = compile_view(&merged, ctx.principal.user_id).map_err(ApiError::BadRequest)?;
    let order_by = merged
        .get("order_by")
        .and_then(Value::as_str)
        .unwrap_or("updated_datetime")
        .to_owned();
    let order_dir = merged
        .get("order_dir")
        .and_then(Value::as_str)
        .unwrap_or("desc")
        .to_owned();
    items(&app, &ctx, id, &view, &order_by, &order_dir)
}

pub fn routes() -> Router<App> {
    Router::new()
        .route("/views", get(list).post(create))
        .route("/views/{id}", get(get_one).put(update).delete(delete))
        .route("/views/{id}/items", get(list_items).put(search_items))
}
