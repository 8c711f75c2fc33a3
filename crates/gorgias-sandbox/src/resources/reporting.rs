//! Reporting statistics (reference §6.12): `POST /api/reporting/stats` computes plausible
//! aggregates over the account's tickets, messages and surveys. The query language is
//! Gorgias's (scope, filters, dimensions, measures, time dimensions, order); the member names
//! are **[inferred]** from the docs' example.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::app::{App, Ctx, JsonBody, ok};
use crate::clock::{MICROS_PER_DAY, MICROS_PER_HOUR, Timestamp};
use crate::errors::{ApiError, ApiResult};
use crate::pagination::query_error;
use crate::store::{Store, doc_time};
use crate::validation::{self, Errors, Input};

pub const SCOPES: &[&str] = &[
    "tickets-closed",
    "tickets-created",
    "tickets-open",
    "tickets-replied",
    "one-touch-tickets",
    "zero-touch-tickets",
    "satisfaction-surveys",
    "resolution-time",
    "messages-sent",
    "first-response-time",
    "human-first-response-time",
    "response-time",
    "messages-per-ticket",
    "ticket-handle-time",
    "online-time",
    "tags",
    "auto-qa",
    "messages-received",
    "automation-rate",
    "workload-tickets",
    "automated-interactions",
    "ticket-fields",
    "voice-calls",
    "voice-agent-events",
    "ticket-sla",
    "knowledge-insights",
    "voice-calls-summary",
];
const OPERATORS: &[&str] = &[
    "one-of",
    "not-one-of",
    "all-of",
    "afterDate",
    "beforeDate",
    "set",
    "inDateRange",
    "contains",
];
const TIME_DIMENSIONS: &[&str] = &[
    "closedDatetime",
    "createdDatetime",
    "sentDatetime",
    "updatedDatetime",
    "firstAgentMessageDatetime",
    "timestamp",
    "anchorDatetime",
];
const GRANULARITIES: &[&str] = &["hour", "day", "week", "month"];
const MAX_LIMIT: i64 = 10_000;

/// One fact row: dimension values, a time per time dimension, and numbers to aggregate.
struct Fact {
    dims: BTreeMap<&'static str, Value>,
    times: BTreeMap<&'static str, Option<Timestamp>>,
    /// The instant the scope is about (the date range applies to it).
    at: Option<Timestamp>,
    numbers: BTreeMap<&'static str, f64>,
}

fn ticket_facts(store: &Store, scope: &str) -> Vec<Fact> {
    let mut out = Vec::new();
    for t in store
        .tickets
        .values()
        .filter(|t| t.trashed.is_none() && !t.spam)
    {
        let msgs = store.ticket_messages(t.id);
        let agent_public: Vec<_> = msgs
            .iter()
            .filter(|m| m.from_agent && !m.is_internal_note())
            .collect();
        let first_agent = agent_public.first().map(|m| m.sent.unwrap_or(m.created));
        let include = match scope {
            "tickets-closed" | "resolution-time" => t.status == "closed",
            "tickets-open" | "workload-tickets" => t.status == "open",
            "tickets-replied"
            | "first-response-time"
            | "human-first-response-time"
            | "response-time" => !agent_public.is_empty(),
            "one-touch-tickets" => t.status == "closed" && agent_public.len() == 1,
            "zero-touch-tickets" | "automated-interactions" | "automation-rate" => {
                t.status == "closed" && agent_public.is_empty()
            }
            _ => true,
        };
        if !include {
            continue;
        }
        let at = match scope {
            "tickets-closed" | "resolution-time" => t.closed,
            "tickets-replied"
            | "first-response-time"
            | "human-first-response-time"
            | "response-time" => first_agent,
            _ => Some(t.created),
        };
        let mut dims = BTreeMap::new();
        dims.insert("channel", json!(t.channel));
        dims.insert("status", json!(t.status));
        dims.insert("priority", json!(t.priority));
        dims.insert("via", json!(t.via));
        dims.insert("language", json!(t.language));
        dims.insert("assigneeUserId", json!(t.assignee_user_id));
        dims.insert("assigneeTeamId", json!(t.assignee_team_id));
        dims.insert("customerId", json!(t.customer_id));
        let mut times = BTreeMap::new();
        times.insert("createdDatetime", Some(t.created));
        times.insert("closedDatetime", t.closed);
        times.insert("updatedDatetime", Some(t.updated));
        times.insert("firstAgentMessageDatetime", first_agent);
        times.insert("anchorDatetime", at);
        times.insert("timestamp", at);
        let mut numbers = BTreeMap::new();
        numbers.insert("ticketCount", 1.0);
        numbers.insert("messagesCount", msgs.len() as f64);
        if let Some(c) = t.closed {
            numbers.insert(
                "resolutionTime",
                ((c.micros() - t.created.micros()) / 1_000_000) as f64,
            );
        }
        if let Some(f) = first_agent {
            numbers.insert(
                "firstResponseTime",
                ((f.micros() - t.created.micros()) / 1_000_000).max(0) as f64,
            );
        }
        if scope == "tags" || scope == "ticket-fields" {
            let items: Vec<(&'static str, Value, &'static str, Value)> = if scope == "tags" {
                t.tags
                    .iter()
                    .filter_map(|id| store.tags.get(id))
                    .map(|tag| ("tagId", json!(tag.id), "tagName", json!(tag.name)))
                    .collect()
            } else {
                t.custom_fields
                    .iter()
                    .map(|(id, v)| ("customFieldId", json!(id), "customFieldValue", v.clone()))
                    .collect()
            };
            for (k1, v1, k2, v2) in items {
                let mut d = dims.clone();
                d.insert(k1, v1);
                d.insert(k2, v2);
                out.push(Fact {
                    dims: d,
                    times: times.clone(),
                    at,
                    numbers: numbers.clone(),
                });
            }
        } else {
            out.push(Fact {
                dims,
                times,
                at,
                numbers,
            });
        }
    }
    out
}

fn message_facts(store: &Store, from_agent: bool) -> Vec<Fact> {
    store
        .messages
        .values()
        .filter(|m| m.from_agent == from_agent && !m.is_internal_note())
        .filter(|m| !from_agent || m.sent.is_some())
        .map(|m| {
            let at = if from_agent { m.sent } else { Some(m.created) };
            let mut dims = BTreeMap::new();
            dims.insert("channel", json!(m.channel));
            dims.insert("via", json!(m.via));
            dims.insert("ticketId", json!(m.ticket_id));
            dims.insert(
                "senderId",
                match m.sender {
                    Some(crate::store::Party::User(id))
                    | Some(crate::store::Party::Customer(id)) => json!(id),
                    None => Value::Null,
                },
            );
            let mut times = BTreeMap::new();
            times.insert("createdDatetime", Some(m.created));
            times.insert("sentDatetime", m.sent);
            times.insert("timestamp", at);
            times.insert("anchorDatetime", at);
            let mut numbers = BTreeMap::new();
            numbers.insert("messageCount", 1.0);
            Fact {
                dims,
                times,
                at,
                numbers,
            }
        })
        .collect()
}

fn survey_facts(store: &Store) -> Vec<Fact> {
    store
        .surveys
        .values()
        .map(|s| {
            let at = doc_time(s, "scored_datetime").or_else(|| doc_time(s, "created_datetime"));
            let mut dims = BTreeMap::new();
            dims.insert("score", s.get("score").cloned().unwrap_or(Value::Null));
            let mut times = BTreeMap::new();
            times.insert("createdDatetime", doc_time(s, "created_datetime"));
            times.insert("timestamp", at);
            let mut numbers = BTreeMap::new();
            numbers.insert("surveyCount", 1.0);
            if let Some(score) = s.get("score").and_then(Value::as_f64) {
                numbers.insert("score", score);
            }
            Fact {
                dims,
                times,
                at,
                numbers,
            }
        })
        .collect()
}

fn call_facts(store: &Store) -> Vec<Fact> {
    store
        .voice_calls
        .values()
        .map(|c| {
            let at = doc_time(c, "created_datetime");
            let mut dims = BTreeMap::new();
            dims.insert(
                "direction",
                c.get("direction").cloned().unwrap_or(Value::Null),
            );
            dims.insert("status", c.get("status").cloned().unwrap_or(Value::Null));
            let mut times = BTreeMap::new();
            times.insert("createdDatetime", at);
            times.insert("timestamp", at);
            let mut numbers = BTreeMap::new();
            numbers.insert("callCount", 1.0);
            numbers.insert(
                "duration",
                c.get("duration").and_then(Value::as_f64).unwrap_or(0.0),
            );
            Fact {
                dims,
                times,
                at,
                numbers,
            }
        })
        .collect()
}

/// Measures and how they aggregate the facts' numbers.
fn measure(name: &str, facts: &[&Fact]) -> Option<Value> {
    let sum = |k: &str| facts.iter().filter_map(|f| f.numbers.get(k)).sum::<f64>();
    let values = |k: &str| {
        facts
            .iter()
            .filter_map(|f| f.numbers.get(k).copied())
            .collect::<Vec<f64>>()
    };
    let avg = |k: &str| {
        let v = values(k);
        if v.is_empty() {
            Value::Null
        } else {
            json!((v.iter().sum::<f64>() / v.len() as f64 * 100.0).round() / 100.0)
        }
    };
    let median = |k: &str| {
        let mut v = values(k);
        if v.is_empty() {
            return Value::Null;
        }
        v.sort_by(f64::total_cmp);
        json!(v[v.len() / 2])
    };
    Some(match name {
        "ticketCount" => json!(sum("ticketCount") as i64),
        "messageCount" | "messagesCount" => {
            json!((sum("messageCount") + sum("messagesCount")) as i64)
        }
        "surveyCount" => json!(sum("surveyCount") as i64),
        "callCount" => json!(sum("callCount") as i64),
        "averageScore" => avg("score"),
        "averageMessagesPerTicket" => avg("messagesCount"),
        "medianResolutionTime" => median("resolutionTime"),
        "averageResolutionTime" => avg("resolutionTime"),
        "medianFirstResponseTime" => median("firstResponseTime"),
        "averageFirstResponseTime" => avg("firstResponseTime"),
        "averageDuration" => avg("duration"),
        "totalDuration" => json!(sum("duration")),
        _ => return None,
    })
}

const MEASURES: &[&str] = &[
    "ticketCount",
    "messageCount",
    "messagesCount",
    "surveyCount",
    "callCount",
    "averageScore",
    "averageMessagesPerTicket",
    "medianResolutionTime",
    "averageResolutionTime",
    "medianFirstResponseTime",
    "averageFirstResponseTime",
    "averageDuration",
    "totalDuration",
];

fn default_measure(scope: &str) -> &'static str {
    match scope {
        "messages-sent" | "messages-received" => "messageCount",
        "satisfaction-surveys" => "averageScore",
        "resolution-time" => "medianResolutionTime",
        "first-response-time" | "human-first-response-time" | "response-time" => {
            "medianFirstResponseTime"
        }
        "messages-per-ticket" => "averageMessagesPerTicket",
        "voice-calls" | "voice-calls-summary" | "voice-agent-events" => "callCount",
        _ => "ticketCount",
    }
}

fn bucket(t: Timestamp, granularity: &str) -> Timestamp {
    match granularity {
        "hour" => t.truncate_to(MICROS_PER_HOUR),
        "week" => t.start_of_week(),
        "month" => t.start_of_month(),
        _ => t.truncate_to(MICROS_PER_DAY),
    }
}

/// Filter values come as strings even for numeric members (`"123"` matches `123`).
fn same(a: &Value, b: &Value) -> bool {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    text(a) == text(b)
}

struct Filter {
    member: String,
    operator: String,
    values: Vec<Value>,
}

async fn stats(State(app): State<App>, ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult {
    let msg = "Failed to retrieve statistics";
    let mut qerr = Errors::default();
    let limit = ctx.query.integer("limit", &mut qerr).unwrap_or(30);
    if !(1..=MAX_LIMIT).contains(&limit) {
        qerr.add("limit", validation::range(1.0, MAX_LIMIT as f64));
    }
    let offset = match ctx.query.get("cursor") {
        None | Some("") => 0,
        Some(c) => match URL_SAFE_NO_PAD
            .decode(c)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| {
                s.strip_prefix("offset:")
                    .and_then(|n| n.parse::<usize>().ok())
            }) {
            Some(n) => n,
            None => {
                qerr.add("cursor", "Invalid cursor.");
                0
            }
        },
    };
    query_error(qerr)?;
    let mut outer = Input::object(&body, msg)?;
    let query = outer.value("query").value().cloned();
    if query.is_none() {
        outer.errors.add("query", validation::MISSING);
    }
    outer.finish(msg)?;
    let query = query.unwrap_or_default();
    let mut input = Input::object(&query, msg)?;
    let scope = input.required_choice("scope", SCOPES);
    let timezone = input
        .string("timezone", 0, None)
        .value()
        .unwrap_or_else(|| "UTC".into());
    let dimensions: Vec<String> = input
        .list("dimensions")
        .value()
        .map(|l| {
            l.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let measures: Vec<String> = input
        .list("measures")
        .value()
        .map(|l| {
            l.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let mut filters = Vec::new();
    if let Some(list) = input.list("filters").value() {
        let mut fe = Errors::default();
        for (i, f) in list.iter().enumerate() {
            let Some(mut fi) = Input::nested(f) else {
                fe.add(&i.to_string(), validation::INVALID_INPUT);
                continue;
            };
            let member = fi.required_string("member", 1, None);
            let operator = fi.required_choice("operator", OPERATORS);
            let values = fi.list("values").value().cloned().unwrap_or_default();
            let e = fi.into_errors();
            if let (Some(member), Some(operator), true) = (member, operator, e.is_empty()) {
                filters.push(Filter {
                    member,
                    operator,
                    values,
                });
            }
            fe.nest(&i.to_string(), e);
        }
        input.errors.nest("filters", fe);
    }
    let mut time_dims = Vec::new();
    if let Some(list) = input.list("time_dimensions").value() {
        let mut te = Errors::default();
        for (i, td) in list.iter().enumerate() {
            let Some(mut ti) = Input::nested(td) else {
                te.add(&i.to_string(), validation::INVALID_INPUT);
                continue;
            };
            let dim = ti.required_choice("dimension", TIME_DIMENSIONS);
            let gran = ti.choice("granularity", GRANULARITIES).value();
            ti.ignore(&["dateRange"]);
            let e = ti.into_errors();
            if let (Some(dim), true) = (dim, e.is_empty()) {
                time_dims.push((dim, gran));
            }
            te.nest(&i.to_string(), e);
        }
        input.errors.nest("time_dimensions", te);
    }
    let order = input.list("order").value().cloned().unwrap_or_default();
    for m in &measures {
        if !MEASURES.contains(&m.as_str()) {
            input
                .errors
                .add("measures", format!("Unknown measure {m}."));
        }
    }
    input.finish(msg)?;
    let scope = scope.unwrap_or_default();
    // The date range: at most 366 days (§6.12).
    let mut start = None;
    let mut end = None;
    for f in &filters {
        let first = f
            .values
            .first()
            .and_then(Value::as_str)
            .and_then(Timestamp::parse);
        match (f.member.as_str(), f.operator.as_str()) {
            (_, "afterDate") => start = first,
            (_, "beforeDate") => end = first,
            (_, "inDateRange") => {
                start = first;
                end = f
                    .values
                    .get(1)
                    .and_then(Value::as_str)
                    .and_then(Timestamp::parse);
            }
            _ => {}
        }
    }
    if let (Some(s), Some(e)) = (start, end)
        && e.micros() - s.micros() > 366 * MICROS_PER_DAY
    {
        return Err(ApiError::field(
            msg,
            "filters",
            "The date range can cover at most 366 days.",
        ));
    }
    let store = app.store();
    let facts = match scope.as_str() {
        "messages-sent" => message_facts(&store, true),
        "messages-received" => message_facts(&store, false),
        "satisfaction-surveys" => survey_facts(&store),
        "voice-calls" | "voice-calls-summary" | "voice-agent-events" => call_facts(&store),
        other => ticket_facts(&store, other),
    };
    drop(store);
    let kept: Vec<&Fact> = facts
        .iter()
        .filter(|f| start.is_none_or(|s| f.at.is_some_and(|a| a >= s)))
        .filter(|f| end.is_none_or(|e| f.at.is_some_and(|a| a <= e)))
        .filter(|f| {
            filters.iter().all(|flt| {
                let Some(v) = f.dims.get(flt.member.as_str()) else {
                    return true;
                };
                match flt.operator.as_str() {
                    "one-of" | "all-of" => flt.values.iter().any(|x| same(x, v)),
                    "not-one-of" => !flt.values.iter().any(|x| same(x, v)),
                    "set" => !v.is_null(),
                    "contains" => flt
                        .values
                        .first()
                        .and_then(Value::as_str)
                        .is_some_and(|needle| v.as_str().is_some_and(|s| s.contains(needle))),
                    _ => true,
                }
            })
        })
        .collect();
    let measures = if measures.is_empty() {
        vec![default_measure(&scope).to_owned()]
    } else {
        measures
    };
    let mut groups: BTreeMap<String, (Map<String, Value>, Vec<&Fact>)> = BTreeMap::new();
    for f in kept {
        let mut key_parts = Map::new();
        for d in &dimensions {
            key_parts.insert(
                d.clone(),
                f.dims.get(d.as_str()).cloned().unwrap_or(Value::Null),
            );
        }
        let mut skip = false;
        for (dim, gran) in &time_dims {
            match (f.times.get(dim.as_str()).copied().flatten(), gran) {
                (Some(t), Some(g)) => {
                    key_parts.insert(format!("{dim}.{g}"), json!(bucket(t, g).to_string()));
                }
                (Some(_), None) => {}
                (None, _) => skip = true,
            }
        }
        if skip {
            continue;
        }
        let key = Value::Object(key_parts.clone()).to_string();
        groups
            .entry(key)
            .or_insert_with(|| (key_parts, Vec::new()))
            .1
            .push(f);
    }
    let mut rows: Vec<Value> = groups
        .into_values()
        .map(|(mut row, members)| {
            for m in &measures {
                row.insert(m.clone(), measure(m, &members).unwrap_or(Value::Null));
            }
            Value::Object(row)
        })
        .collect();
    for o in order.iter().rev() {
        let (key, desc) = match o {
            Value::Array(a) => (
                a.first().and_then(Value::as_str).unwrap_or("").to_owned(),
                a.get(1).and_then(Value::as_str) == Some("desc"),
            ),
            _ => continue,
        };
        rows.sort_by(|a, b| {
            let ord = match (a.get(&key), b.get(&key)) {
                (Some(Value::Number(x)), Some(Value::Number(y))) => x
                    .as_f64()
                    .unwrap_or(0.0)
                    .total_cmp(&y.as_f64().unwrap_or(0.0)),
                (x, y) => x.map(Value::to_string).cmp(&y.map(Value::to_string)),
            };
            if desc { ord.reverse() } else { ord }
        });
    }
    let total = rows.len();
    let limit = usize::try_from(limit).unwrap_or(30);
    let page: Vec<Value> = rows.into_iter().skip(offset).take(limit).collect();
    let cursor = |n: usize| URL_SAFE_NO_PAD.encode(format!("offset:{n}"));
    let next = (offset + limit < total).then(|| cursor(offset + limit));
    let prev = (offset > 0).then(|| cursor(offset.saturating_sub(limit)));
    Ok(ok(json!({"object": "list", "uri": ctx.uri, "data": page,
        "meta": {"scope": scope, "timezone": timezone, "prev_cursor": prev, "next_cursor": next,
                 "total": total, "offset": offset, "limit": limit}})))
}

pub fn routes() -> Router<App> {
    Router::new().route("/reporting/stats", post(stats))
}
