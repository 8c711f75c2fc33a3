//! Macros (reference §6.9): list with search/tags/languages/relevance, CRUD, archive/unarchive.

use std::collections::BTreeSet;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, put};
use serde_json::{Map, Value, json};

use crate::app::{App, Ctx, Ids, JsonBody, empty, json_response, ok};
use crate::clock::Timestamp;
use crate::errors::{ApiError, ApiResult};
use crate::pagination::{Ordering, PageRequest, SortKey, envelope, paginate, query_error};
use crate::resources::{LANGUAGES, doc_sort_key, set_time};
use crate::store::{Store, id_base, strip_html};
use crate::validation::{self, Errors, Field, Input};

const ORDERING: Ordering<'static> = Ordering {
    allowed: &[
        "name:asc",
        "name:desc",
        "created_datetime:asc",
        "created_datetime:desc",
        "updated_datetime:asc",
        "updated_datetime:desc",
        "usage:asc",
        "usage:desc",
        "relevance:asc",
        "relevance:desc",
        "language:asc",
        "language:desc",
    ],
    default: "created_datetime:desc",
};

pub const INTENTS: &[&str] = &[
    "discount/request",
    "exchange/request",
    "exchange/status",
    "feedback",
    "order/damaged",
    "order/cancel",
    "order/change",
    "order/wrong",
    "other/no_reply",
    "other/question",
    "other/thanks",
    "product/recommendation",
    "product/question",
    "refund/request",
    "refund/status",
    "return/request",
    "return/status",
    "shipping/change",
    "shipping/delivery-issue",
    "shipping/policy",
    "shipping/status",
    "stock/request",
    "subscription/cancel",
    "subscription/change",
];

/// Names of the tags a macro adds (`addTags` takes a comma-separated string).
pub fn macro_tags(doc: &Map<String, Value>) -> Vec<String> {
    doc.get("actions")
        .and_then(Value::as_array)
        .map(|actions| {
            actions
                .iter()
                .filter(|a| a.get("name").and_then(Value::as_str) == Some("addTags"))
                .filter_map(|a| a.get("arguments")?.get("tags")?.as_str().map(str::to_owned))
                .flat_map(|s| {
                    s.split(',')
                        .map(|t| t.trim().to_owned())
                        .collect::<Vec<_>>()
                })
                .filter(|t| !t.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn macro_text(doc: &Map<String, Value>) -> String {
    let mut text = doc
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_lowercase();
    if let Some(actions) = doc.get("actions").and_then(Value::as_array) {
        for a in actions {
            if let Some(args) = a.get("arguments") {
                for k in ["body_text", "body_html", "subject"] {
                    if let Some(s) = args.get(k).and_then(Value::as_str) {
                        text.push(' ');
                        text.push_str(&strip_html(s).to_lowercase());
                    }
                }
            }
        }
    }
    text
}

fn words(s: &str) -> BTreeSet<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 3)
        .map(str::to_lowercase)
        .collect()
}

/// Relevance to a ticket: shared words between the macro and the ticket's subject and last
/// customer message **[inferred: Gorgias uses an ML model]**.
fn relevance(
    store: &Store,
    doc: &Map<String, Value>,
    ticket_id: i64,
    message_id: Option<i64>,
) -> i64 {
    let Some(t) = store.tickets.get(&ticket_id) else {
        return 0;
    };
    let mut text = t.subject.clone().unwrap_or_default();
    let msgs = store.ticket_messages(ticket_id);
    let msg = match message_id {
        Some(id) => msgs.iter().find(|m| m.id == id).copied(),
        None => msgs.iter().rev().find(|m| !m.from_agent).copied(),
    };
    if let Some(m) = msg {
        text.push(' ');
        text.push_str(m.body_text.as_deref().unwrap_or(""));
    }
    let ticket_words = words(&text);
    let macro_words = words(&macro_text(doc));
    let mut score = ticket_words.intersection(&macro_words).count() as i64;
    let tag_names: BTreeSet<String> = t
        .tags
        .iter()
        .filter_map(|id| store.tags.get(id))
        .map(|t| t.name.clone())
        .collect();
    score += macro_tags(doc)
        .iter()
        .filter(|t| tag_names.contains(*t))
        .count() as i64
        * 2;
    if t.language.is_some() && t.language.as_ref().map(|l| json!(l)) == doc.get("language").cloned()
    {
        score += 1;
    }
    score
}

pub fn used_by_rules(store: &Store, id: i64) -> bool {
    let needle = id.to_string();
    store.rules.values().any(|r| {
        r.get("code")
            .and_then(Value::as_str)
            .is_some_and(|c| c.contains(&needle))
    })
}

async fn list(State(app): State<App>, ctx: Ctx) -> ApiResult {
    let page = PageRequest::from_query(&ctx.query, &ORDERING)?;
    let q = &ctx.query;
    let mut errors = Errors::default();
    let ticket_id = q.integer("ticket_id", &mut errors);
    let message_id = q.integer("message_id", &mut errors);
    let predictions = q
        .integer("number_predictions", &mut errors)
        .unwrap_or(0)
        .max(0) as usize;
    let archived = q.boolean("archived", &mut errors).unwrap_or(false);
    if page.order.field == "relevance" && ticket_id.is_none() {
        errors.add("ticket_id", "Sorting by relevance needs a ticket_id.");
    }
    query_error(errors)?;
    let search = q.get("search").map(str::to_lowercase);
    let tags: Vec<&str> = q.all("tags");
    let languages: Vec<&str> = q.all("languages");
    let store = app.store();
    let mut items: Vec<(SortKey, i64, Value)> = store
        .macros
        .values()
        .filter(|d| d.get("archived_datetime").is_some_and(|v| !v.is_null()) == archived)
        .filter(|d| search.as_ref().is_none_or(|s| macro_text(d).contains(s)))
        .filter(|d| {
            let mine = macro_tags(d);
            tags.iter().all(|t| mine.iter().any(|m| m == t))
        })
        .filter(|d| {
            languages.is_empty()
                || d.get("language")
                    .and_then(Value::as_str)
                    .is_some_and(|l| languages.contains(&l))
        })
        .map(|d| {
            let id = d.get("id").and_then(Value::as_i64).unwrap_or_default();
            let key = if page.order.field == "relevance" {
                SortKey::Int(relevance(
                    &store,
                    d,
                    ticket_id.unwrap_or_default(),
                    message_id,
                ))
            } else {
                doc_sort_key(d, &page.order.field)
            };
            (key, id, Value::Object(d.clone()))
        })
        .collect();
    if predictions > 0
        && let Some(tid) = ticket_id
        && page.cursor.is_none()
    {
        // The most relevant macros first, then the requested order (§6.9 number_predictions).
        let mut ranked: Vec<(i64, i64)> = items
            .iter()
            .filter_map(|(_, id, v)| {
                v.as_object()
                    .map(|d| (relevance(&store, d, tid, message_id), *id))
            })
            .filter(|(score, _)| *score > 0)
            .collect();
        ranked.sort_by(|a, b| b.cmp(a));
        let top: Vec<i64> = ranked
            .into_iter()
            .take(predictions)
            .map(|(_, id)| id)
            .collect();
        let page_result = paginate(
            items
                .iter()
                .filter(|(_, id, _)| !top.contains(id))
                .cloned()
                .collect(),
            &page,
        );
        let mut data: Vec<Value> = top
            .iter()
            .filter_map(|id| {
                items
                    .iter()
                    .find(|(_, i, _)| i == id)
                    .map(|(_, _, v)| v.clone())
            })
            .collect();
        data.extend(page_result.items.iter().cloned());
        data.truncate(page.limit.max(top.len()));
        return Ok(ok(envelope(&ctx.uri, data, page_result.meta())));
    }
    items.shrink_to_fit();
    let page = paginate(items, &page);
    Ok(ok(envelope(&ctx.uri, page.items.clone(), page.meta())))
}

fn read_actions(list: &[Value], errors: &mut Errors) -> Vec<Value> {
    let mut out = Vec::new();
    let mut inner = Errors::default();
    for (i, item) in list.iter().enumerate() {
        let Some(mut a) = Input::nested(item) else {
            inner.add(&i.to_string(), validation::INVALID_INPUT);
            continue;
        };
        let name = a.required_string("name", 1, Some(255));
        let title = a.string("title", 0, Some(255)).value();
        let kind = a
            .choice("type", &["user", "system"])
            .value()
            .unwrap_or_else(|| "user".into());
        let arguments = a.mapping("arguments").value().cloned().unwrap_or_default();
        let description = a.string("description", 0, None).value();
        a.ignore(&["id"]);
        let e = a.into_errors();
        if e.is_empty() {
            out.push(
                json!({"name": name, "title": title.or(name.clone()), "type": kind,
                "arguments": arguments, "description": description}),
            );
        } else {
            inner.nest(&i.to_string(), e);
        }
    }
    errors.nest("actions", inner);
    out
}

struct Patch(Map<String, Value>);

fn read_patch(input: &mut Input<'_>, creating: bool) -> Patch {
    let mut m = Map::new();
    let name = if creating {
        input.required_string("name", 1, Some(255))
    } else {
        input.string("name", 1, Some(255)).value()
    };
    if let Some(n) = name {
        m.insert("name".into(), json!(n));
    }
    if let Field::Set(list) = input.list("actions") {
        let actions = read_actions(list, &mut input.errors);
        m.insert("actions".into(), json!(actions));
    }
    if let Some(v) = input.choice("intent", INTENTS).sent() {
        m.insert("intent".into(), json!(v));
    }
    match input.string("language", 0, None) {
        Field::Set(l) if !LANGUAGES.contains(&l.as_str()) => {
            input
                .errors
                .add("language", "Must be one of the ISO 639-1 language codes.");
        }
        other => {
            if let Some(v) = other.sent() {
                m.insert("language".into(), json!(v));
            }
        }
    }
    if let Some(v) = input.string("external_id", 0, Some(255)).sent() {
        m.insert("external_id".into(), json!(v));
    }
    input.ignore(&[
        "id",
        "uri",
        "usage",
        "created_datetime",
        "updated_datetime",
        "archived_datetime",
    ]);
    Patch(m)
}

pub fn new_macro(
    store: &mut Store,
    fields: Map<String, Value>,
    user_id: Option<i64>,
    at: Timestamp,
) -> i64 {
    let id = store.next_id("macro", id_base::MACRO);
    let mut d = Map::new();
    for (k, v) in [
        ("id", json!(id)),
        ("name", Value::Null),
        ("intent", Value::Null),
        ("language", Value::Null),
        ("external_id", Value::Null),
        ("actions", json!([])),
        ("usage", json!(0)),
        ("archived_datetime", Value::Null),
        ("uri", json!(format!("/api/macros/{id}/"))),
    ] {
        d.insert(k.to_owned(), v);
    }
    d.extend(fields);
    set_time(&mut d, "created_datetime", Some(at));
    set_time(&mut d, "updated_datetime", Some(at));
    store.macros.insert(id, d);
    store.record_event("macro-created", "Macro", id, user_id, json!({}), at);
    id
}

async fn create(State(app): State<App>, ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult {
    let msg = "Failed to create macro";
    let mut input = Input::object(&body, msg)?;
    let patch = read_patch(&mut input, true);
    input.finish(msg)?;
    let mut store = app.store();
    let now = store.now();
    let id = new_macro(&mut store, patch.0, Some(ctx.principal.user_id), now);
    let d = store.macros.get(&id).cloned().unwrap_or_default();
    Ok(json_response(app.create_status("macro"), Value::Object(d)))
}

async fn get_one(State(app): State<App>, ids: Ids) -> ApiResult {
    let store = app.store();
    let d = store.macros.get(&ids.one()).ok_or(ApiError::NotFound)?;
    Ok(ok(Value::Object(d.clone())))
}

async fn update(State(app): State<App>, ids: Ids, ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult {
    let id = ids.one();
    let msg = "Failed to update macro";
    let mut store = app.store();
    if !store.macros.contains_key(&id) {
        return Err(ApiError::NotFound);
    }
    let mut input = Input::object(&body, msg)?;
    let patch = read_patch(&mut input, false);
    input.finish(msg)?;
    let now = store.now();
    let d = store.macros.get_mut(&id).ok_or(ApiError::NotFound)?;
    d.extend(patch.0);
    set_time(d, "updated_datetime", Some(now));
    let d = d.clone();
    store.record_event(
        "macro-updated",
        "Macro",
        id,
        Some(ctx.principal.user_id),
        json!({}),
        now,
    );
    Ok(ok(Value::Object(d)))
}

/// 409 when rules use the macro (§6.9).
async fn delete(State(app): State<App>, ids: Ids, ctx: Ctx) -> ApiResult {
    let id = ids.one();
    let mut store = app.store();
    if !store.macros.contains_key(&id) {
        return Err(ApiError::NotFound);
    }
    if used_by_rules(&store, id) {
        return Err(ApiError::Conflict(
            "This macro is used by rules and cannot be deleted.".into(),
        ));
    }
    store.macros.remove(&id);
    let now = store.now();
    store.record_event(
        "macro-deleted",
        "Macro",
        id,
        Some(ctx.principal.user_id),
        json!({}),
        now,
    );
    Ok(empty(StatusCode::NO_CONTENT))
}

fn read_ids(body: &Value, msg: &str) -> ApiResult<Vec<i64>> {
    let mut input = Input::object(body, msg)?;
    let ids = match input.integer_list("ids") {
        Field::Set(ids) if ids.is_empty() || ids.len() > 30 => {
            input.errors.add("ids", validation::length_between(1, 30));
            Vec::new()
        }
        Field::Set(ids) => ids,
        _ => {
            if !input.has("ids") {
                input.errors.add("ids", validation::MISSING);
            }
            Vec::new()
        }
    };
    input.finish(msg)?;
    Ok(ids)
}

async fn archive(State(app): State<App>, ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult {
    let ids = read_ids(&body, "Failed to archive macros")?;
    let mut store = app.store();
    let now = store.now();
    let mut data = Vec::new();
    for id in ids {
        let used = used_by_rules(&store, id);
        let status = match store.macros.get_mut(&id) {
            None => "not_found",
            Some(d) if d.get("archived_datetime").is_some_and(|v| !v.is_null()) => {
                "already_archived"
            }
            Some(_) if used => "macro_used",
            Some(d) => {
                set_time(d, "archived_datetime", Some(now));
                set_time(d, "updated_datetime", Some(now));
                "archived"
            }
        };
        if status == "archived" {
            store.record_event(
                "macro-updated",
                "Macro",
                id,
                Some(ctx.principal.user_id),
                json!({"archived": true}),
                now,
            );
        }
        let mut item = json!({"id": id, "status": status});
        if status == "macro_used" {
            item["error"] = json!("This macro is used by rules.");
        }
        data.push(item);
    }
    Ok(ok(json!({"data": data})))
}

async fn unarchive(State(app): State<App>, ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult {
    let ids = read_ids(&body, "Failed to unarchive macros")?;
    let mut store = app.store();
    let now = store.now();
    let mut data = Vec::new();
    for id in ids {
        let status = match store.macros.get_mut(&id) {
            None => "not_found",
            Some(d) if d.get("archived_datetime").is_none_or(Value::is_null) => {
                "already_not_archived"
            }
            Some(d) => {
                d.insert("archived_datetime".into(), Value::Null);
                set_time(d, "updated_datetime", Some(now));
                "unarchived"
            }
        };
        if status == "unarchived" {
            store.record_event(
                "macro-updated",
                "Macro",
                id,
                Some(ctx.principal.user_id),
                json!({"archived": false}),
                now,
            );
        }
        data.push(json!({"id": id, "status": status}));
    }
    Ok(ok(json!({"data": data})))
}

pub fn routes() -> Router<App> {
    Router::new()
        .route("/macros", get(list).post(create))
        .route("/macros/archive", put(archive))
        .route("/macros/unarchive", put(unarchive))
        .route("/macros/{id}", get(get_one).put(update).delete(delete))
}
