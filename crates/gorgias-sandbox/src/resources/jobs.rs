//! Jobs (reference §6.8): asynchronous bulk work. The sandbox runs a job as soon as it is due:
//! `updateTicket`, `deleteTicket` and `applyMacro` (tags, status, priority, assignee actions)
//! really change the tickets; exports finish with a download URL in `info`.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Map, Value, json};

use crate::app::{App, Ctx, Ids, JsonBody, empty, json_response, ok};
use crate::clock::Timestamp;
use crate::errors::{ApiError, ApiResult};
use crate::pagination::{PageRequest, query_error};
use crate::resources::{CREATED_ORDERING, list_docs, set_time, views};
use crate::store::{Store, doc_time, id_base};
use crate::validation::{self, Errors, Field, Input};

pub const TYPES: &[&str] = &[
    "applyMacro",
    "deleteTicket",
    "exportTicket",
    "exportMacro",
    "importMacro",
    "updateTicket",
    "exportTicketDrilldown",
    "exportConvertCampaignSalesDrilldown",
];
pub const STATUSES: &[&str] = &[
    "pending",
    "scheduled",
    "running",
    "done",
    "cancel_requested",
    "canceled",
    "errored",
    "fatal_errored",
];

/// The tickets a job's params select: `ticket_ids`, or the tickets of `view_id` / `view.filters`.
fn target_tickets(
    store: &Store,
    params: &Map<String, Value>,
    user_id: i64,
) -> Result<Vec<i64>, String> {
    if let Some(ids) = params.get("ticket_ids").and_then(Value::as_array) {
        return Ok(ids
            .iter()
            .filter_map(Value::as_i64)
            .filter(|id| store.tickets.contains_key(id))
            .collect());
    }
    let view = if let Some(vid) = params.get("view_id").and_then(Value::as_i64) {
        let doc = store
            .views
            .get(&vid)
            .ok_or_else(|| format!("View {vid} not found."))?;
        views::compile_view(doc, user_id)?
    } else if let Some(v) = params.get("view").and_then(Value::as_object) {
        views::compile_view(v, user_id)?
    } else {
        return Ok(Vec::new());
    };
    Ok(store
        .tickets
        .values()
        .filter(|t| view.matches(store, t))
        .map(|t| t.id)
        .collect())
}

fn apply_updates(
    store: &mut Store,
    ids: &[i64],
    updates: &Map<String, Value>,
    user_id: i64,
    now: Timestamp,
) -> usize {
    let mut n = 0;
    for id in ids {
        let Some(t) = store.tickets.get_mut(id) else {
            continue;
        };
        if let Some(s) = updates
            .get("status")
            .and_then(Value::as_str)
            .filter(|s| matches!(*s, "open" | "closed"))
        {
            t.closed = (s == "closed").then_some(t.closed.unwrap_or(now));
            t.status = s.to_owned();
        }
        if let Some(p) = updates.get("priority").and_then(Value::as_str) {
            t.priority = p.to_owned();
        }
        if let Some(a) = updates.get("assignee_user") {
            t.assignee_user_id = a.get("id").and_then(Value::as_i64);
        }
        if let Some(a) = updates.get("assignee_team") {
            t.assignee_team_id = a.get("id").and_then(Value::as_i64);
        }
        if let Some(s) = updates.get("spam").and_then(Value::as_bool) {
            t.spam = s;
        }
        t.updated = now;
        n += 1;
        store.record_event(
            "ticket-updated",
            "Ticket",
            *id,
            Some(user_id),
            json!({"job": true}),
            now,
        );
    }
    n
}

/// Runs a due job and records its outcome in `status` and `info`.
pub fn run(store: &mut Store, job_id: i64) {
    let Some(job) = store.jobs.get(&job_id).cloned() else {
        return;
    };
    if job.get("status").and_then(Value::as_str) != Some("pending") {
        return;
    }
    let now = store.now();
    let user_id = job
        .get("user_id")
        .and_then(Value::as_i64)
        .unwrap_or_default();
    let params = job
        .get("params")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let kind = job
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let outcome: Result<Value, String> = (|| {
        match kind.as_str() {
            "updateTicket" => {
                let ids = target_tickets(store, &params, user_id)?;
                let updates = params
                    .get("updates")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                let n = apply_updates(store, &ids, &updates, user_id, now);
                Ok(json!({"progress": {"done": n, "total": ids.len()}}))
            }
            "deleteTicket" => {
                let ids = target_tickets(store, &params, user_id)?;
                for id in &ids {
                    store.tickets.remove(id);
                    store.messages.retain(|_, m| m.ticket_id != *id);
                    store.record_event(
                        "ticket-deleted",
                        "Ticket",
                        *id,
                        Some(user_id),
                        json!({"job": job_id}),
                        now,
                    );
                }
                Ok(json!({"progress": {"done": ids.len(), "total": ids.len()}}))
            }
            "applyMacro" => {
                let macro_id = params
                    .get("macro_id")
                    .and_then(Value::as_i64)
                    .ok_or("macro_id is required.")?;
                let actions = store
                    .macros
                    .get(&macro_id)
                    .and_then(|m| m.get("actions"))
                    .and_then(Value::as_array)
                    .cloned()
                    .ok_or_else(|| format!("Macro {macro_id} not found."))?;
                let ids = target_tickets(store, &params, user_id)?;
                let mut updates = Map::new();
                let mut tags = Vec::new();
                for a in &actions {
                    let args = a.get("arguments").cloned().unwrap_or(json!({}));
                    match a.get("name").and_then(Value::as_str) {
                        Some("setStatus") => {
                            updates.insert(
                                "status".into(),
                                args.get("status").cloned().unwrap_or(Value::Null),
                            );
                        }
                        Some("setPriority") => {
                            updates.insert(
                                "priority".into(),
                                args.get("priority").cloned().unwrap_or(Value::Null),
                            );
                        }
                        Some("setAssignee") => {
                            updates.insert(
                                "assignee_user".into(),
                                args.get("assignee_user").cloned().unwrap_or(Value::Null),
                            );
                        }
                        Some("setTeamAssignee") => {
                            updates.insert(
                                "assignee_team".into(),
                                args.get("assignee_team").cloned().unwrap_or(Value::Null),
                            );
                        }
                        Some("addTags") => {
                            // Macro tags are a comma-separated string (§6.9).
                            let list = args.get("tags").and_then(Value::as_str).unwrap_or("");
                            tags.extend(
                                list.split(',')
                                    .map(str::trim)
                                    .filter(|s| !s.is_empty())
                                    .map(str::to_owned),
                            );
                        }
                        _ => {}
                    }
                }
                if params.get("apply_and_close").and_then(Value::as_bool) == Some(true) {
                    updates.insert("status".into(), json!("closed"));
                }
                let tag_ids: Vec<i64> = tags
                    .iter()
                    .map(|t| store.ensure_tag(t, None, Some(user_id)))
                    .collect();
                for id in &ids {
                    if let Some(t) = store.tickets.get_mut(id) {
                        for tid in &tag_ids {
                            if !t.tags.contains(tid) {
                                t.tags.push(*tid);
                            }
                        }
                    }
                }
                let n = apply_updates(store, &ids, &updates, user_id, now);
                if let Some(m) = store.macros.get_mut(&macro_id) {
                    let usage = m.get("usage").and_then(Value::as_i64).unwrap_or(0) + n as i64;
                    m.insert("usage".into(), json!(usage));
                }
                store.record_event(
                    "macro-applied",
                    "Macro",
                    macro_id,
                    Some(user_id),
                    json!({"tickets": n}),
                    now,
                );
                Ok(json!({"progress": {"done": n, "total": ids.len()}}))
            }
            "exportTicket"
            | "exportTicketDrilldown"
            | "exportConvertCampaignSalesDrilldown"
            | "exportMacro" => Ok(
                json!({"url": format!("https://{}.gorgias.com/api/jobs/{job_id}/export.csv", store.subdomain)}),
            ),
            "importMacro" => {
                let url = params
                    .get("url")
                    .and_then(Value::as_str)
                    .ok_or("url is required.")?;
                Ok(json!({"imported_from": url, "progress": {"done": 0, "total": 0}}))
            }
            other => Err(format!("Unknown job type {other}.")),
        }
    })();
    if let Some(j) = store.jobs.get_mut(&job_id) {
        match outcome {
            Ok(info) => {
                j.insert("status".into(), json!("done"));
                j.insert("info".into(), info);
            }
            Err(e) => {
                j.insert("status".into(), json!("errored"));
                j.insert("info".into(), json!({"error": e}));
            }
        }
        set_time(j, "updated_datetime", Some(now));
    }
}

async fn list(State(app): State<App>, ctx: Ctx) -> ApiResult {
    let page = PageRequest::from_query(&ctx.query, &CREATED_ORDERING)?;
    let mut errors = Errors::default();
    let status = ctx.query.choice("status", STATUSES, &mut errors);
    let kind = ctx.query.choice("type", TYPES, &mut errors);
    query_error(errors)?;
    let store = app.store();
    Ok(list_docs(&ctx, &store.jobs, &page, |d| {
        status
            .as_deref()
            .is_none_or(|s| d.get("status").and_then(Value::as_str) == Some(s))
            && kind
                .as_deref()
                .is_none_or(|k| d.get("type").and_then(Value::as_str) == Some(k))
    }))
}

fn read_schedule(input: &mut Input<'_>, now: Timestamp) -> Field<Timestamp> {
    let scheduled = input.datetime("scheduled_datetime");
    if let Field::Set(t) = &scheduled
        && *t > now.plus_secs(3600)
    {
        input.errors.add(
            "scheduled_datetime",
            "Must be at most 60 minutes in the future.",
        );
    }
    scheduled
}

pub fn new_job(
    store: &mut Store,
    kind: &str,
    params: Value,
    meta: Value,
    scheduled: Option<Timestamp>,
    user_id: i64,
    at: Timestamp,
) -> i64 {
    let id = store.next_id("job", id_base::JOB);
    let status = if scheduled.is_some_and(|s| s > at) {
        "scheduled"
    } else {
        "pending"
    };
    let mut d = Map::new();
    for (k, v) in [
        ("id", json!(id)),
        ("type", json!(kind)),
        ("status", json!(status)),
        ("params", params),
        ("meta", meta),
        ("info", json!({})),
        ("user_id", json!(user_id)),
        ("uri", json!(format!("/api/jobs/{id}/"))),
    ] {
        d.insert(k.to_owned(), v);
    }
    set_time(&mut d, "scheduled_datetime", scheduled);
    set_time(&mut d, "created_datetime", Some(at));
    set_time(&mut d, "updated_datetime", Some(at));
    store.jobs.insert(id, d);
    id
}

async fn create(State(app): State<App>, ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult {
    let msg = "Failed to create job";
    let mut store = app.store();
    let now = store.now();
    let mut input = Input::object(&body, msg)?;
    let kind = input.required_choice("type", TYPES);
    let params = match input.mapping("params") {
        Field::Set(m) => Some(Value::Object(m.clone())),
        _ => {
            input.errors.add("params", validation::MISSING);
            None
        }
    };
    let scheduled = read_schedule(&mut input, now);
    let meta = input
        .mapping("meta")
        .value()
        .map_or(json!({}), |m| Value::Object(m.clone()));
    input.finish(msg)?;
    let (Some(kind), Some(params)) = (kind, params) else {
        return Err(ApiError::BadRequest(msg.into()));
    };
    let id = new_job(
        &mut store,
        &kind,
        params,
        meta,
        scheduled.value(),
        ctx.principal.user_id,
        now,
    );
    let created = store
        .jobs
        .get(&id)
        .cloned()
        .map(Value::Object)
        .unwrap_or_default();
    // The response shows the job as created (pending); it then runs at once.
    run(&mut store, id);
    Ok(json_response(app.create_status("job"), created))
}

/// Runs scheduled jobs whose time has come (checked whenever jobs are read).
fn run_due(store: &mut Store) {
    let now = store.now();
    let due: Vec<i64> = store
        .jobs
        .iter()
        .filter(|(_, j)| j.get("status").and_then(Value::as_str) == Some("scheduled"))
        .filter(|(_, j)| doc_time(j, "scheduled_datetime").is_none_or(|t| t <= now))
        .map(|(id, _)| *id)
        .collect();
    for id in due {
        if let Some(j) = store.jobs.get_mut(&id) {
            j.insert("status".into(), json!("pending"));
        }
        run(store, id);
    }
}

async fn get_one(State(app): State<App>, ids: Ids) -> ApiResult {
    let mut store = app.store();
    run_due(&mut store);
    let d = store.jobs.get(&ids.one()).ok_or(ApiError::NotFound)?;
    Ok(ok(Value::Object(d.clone())))
}

async fn update(State(app): State<App>, ids: Ids, JsonBody(body): JsonBody) -> ApiResult {
    let id = ids.one();
    let msg = "Failed to update job";
    let mut store = app.store();
    if !store.jobs.contains_key(&id) {
        return Err(ApiError::NotFound);
    }
    let now = store.now();
    let mut input = Input::object(&body, msg)?;
    let meta = input.mapping("meta").value().cloned();
    let params = input.mapping("params").value().cloned();
    let scheduled = read_schedule(&mut input, now);
    let status = input.choice("status", STATUSES).value();
    input.ignore(&[
        "id",
        "uri",
        "type",
        "created_datetime",
        "updated_datetime",
        "info",
        "user_id",
    ]);
    input.finish(msg)?;
    let d = store.jobs.get_mut(&id).ok_or(ApiError::NotFound)?;
    if let Some(m) = meta {
        d.insert("meta".into(), Value::Object(m));
    }
    if let Some(p) = params {
        d.insert("params".into(), Value::Object(p));
    }
    if let Some(s) = scheduled.sent() {
        set_time(d, "scheduled_datetime", s);
    }
    if let Some(s) = status {
        d.insert("status".into(), json!(s));
    }
    set_time(d, "updated_datetime", Some(now));
    let d = d.clone();
    Ok(ok(Value::Object(d)))
}

/// Cancels the job; changes already applied stay (§6.8).
async fn cancel(State(app): State<App>, ids: Ids) -> ApiResult {
    let id = ids.one();
    let mut store = app.store();
    let now = store.now();
    let d = store.jobs.get_mut(&id).ok_or(ApiError::NotFound)?;
    let finished = matches!(
        d.get("status").and_then(Value::as_str),
        Some("done" | "errored" | "fatal_errored" | "canceled")
    );
    if !finished {
        d.insert("status".into(), json!("canceled"));
        set_time(d, "updated_datetime", Some(now));
    }
    Ok(empty(StatusCode::NO_CONTENT))
}

pub fn routes() -> Router<App> {
    Router::new()
        .route("/jobs", get(list).post(create))
        .route("/jobs/{id}", get(get_one).put(update).delete(cancel))
}
