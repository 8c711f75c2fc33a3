//! Tickets (reference §6.18 and §7): list, create (with messages), get, partial update, delete,
//! ticket tags, and ticket custom-field values.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Map, Value, json};

use crate::app::{App, Ctx, Ids, JsonBody, empty, json_response, ok};
use crate::clock::Timestamp;
use crate::errors::{ApiError, ApiResult};
use crate::pagination::{Ordering, PageRequest, SortKey, envelope, paginate, query_error};
use crate::resources::custom_fields;
use crate::resources::field_values::{self, Owner};
use crate::resources::messages::{self, PartyRef, TicketContext};
use crate::resources::{CHANNELS, LANGUAGES, NEWER_CHANNELS, PRIORITIES, STATUSES, VIA_WRITE};
use crate::store::{Party, Store, Ticket, id_base};
use crate::validation::{self, Errors, Field, Input};

const ORDERING: Ordering<'static> = Ordering {
    allowed: &[
        "created_datetime:asc",
        "created_datetime:desc",
        "updated_datetime:asc",
        "updated_datetime:desc",
    ],
    default: "created_datetime:desc",
};

pub fn sort_key(t: &Ticket, field: &str) -> SortKey {
    match field {
        "updated_datetime" => SortKey::time(Some(t.updated)),
        "last_message_datetime" => SortKey::time(t.last_message),
        "last_received_message_datetime" => SortKey::time(t.last_received_message),
        "closed_datetime" => SortKey::time(t.closed),
        "snooze_datetime" => SortKey::time(t.snooze),
        "priority" => SortKey::Int(match t.priority.as_str() {
            "low" => 0,
            "normal" => 1,
            "high" => 2,
            _ => 3,
        }),
        _ => SortKey::time(Some(t.created)),
    }
}

async fn list(State(app): State<App>, ctx: Ctx) -> ApiResult {
    let page = PageRequest::from_query(&ctx.query, &ORDERING)?;
    let mut errors = Errors::default();
    let customer_id = ctx.query.integer("customer_id", &mut errors);
    let external_id = ctx.query.get("external_id").map(str::to_owned);
    let view_id = ctx.query.integer("view_id", &mut errors);
    let rule_id = ctx.query.integer("rule_id", &mut errors);
    let ticket_ids = ctx.query.integers("ticket_ids", &mut errors);
    if ticket_ids.len() > 100 {
        errors.add("ticket_ids", validation::longer_than(100));
    }
    // The spec's default for `trashed` is true: trashed tickets are included.
    let trashed = ctx.query.boolean("trashed", &mut errors).unwrap_or(true);
    let store = app.store();
    let view_filter = match view_id {
        Some(vid) => match store.views.get(&vid) {
            Some(v) => Some(
                crate::resources::views::compile_view(v, ctx.principal.user_id).map_err(|e| {
                    ApiError::field(
                        "Invalid query parameters.",
                        "view_id",
                        &format!("The view's filters are invalid: {e}"),
                    )
                })?,
            ),
            None => {
                errors.add("view_id", "View not found.");
                None
            }
        },
        None => None,
    };
    if let Some(rid) = rule_id
        && !store.rules.contains_key(&rid)
    {
        errors.add("rule_id", "Rule not found.");
    }
    query_error(errors)?;
    let items = store
        .tickets
        .values()
        .filter(|t| customer_id.is_none_or(|c| t.customer_id == Some(c)))
        .filter(|t| {
            external_id
                .as_ref()
                .is_none_or(|e| t.external_id.as_ref() == Some(e))
        })
        .filter(|t| ticket_ids.is_empty() || ticket_ids.contains(&t.id))
        .filter(|t| trashed || t.trashed.is_none())
        .filter(|t| rule_id.is_none_or(|r| t.matched_rules.contains(&r)))
        .filter(|t| view_filter.as_ref().is_none_or(|f| f.matches(&store, t)))
        .map(|t| {
            (
                sort_key(t, &page.order.field),
                t.id,
                store.ticket_compact(t),
            )
        })
        .collect();
    let page = paginate(items, &page);
    Ok(ok(envelope(&ctx.uri, page.items.clone(), page.meta())))
}

/// Reads `customer` on ticket create/update: `{id}` or `{email, name?}`.
fn read_customer(store: &Store, v: &Value, errors: &mut Errors) -> Option<PartyRef> {
    let Some(m) = v.as_object() else {
        errors.add("customer", validation::INVALID_INPUT);
        return None;
    };
    let mut inner = Errors::default();
    let out = if let Some(id) = m.get("id").filter(|v| !v.is_null()) {
        match validation::as_integer(id) {
            Some(id) if store.customers.contains_key(&id) => Some(PartyRef::Customer(id)),
            Some(_) => {
                inner.add("id", "Customer not found.");
                None
            }
            None => {
                inner.add("id", validation::NOT_INTEGER);
                None
            }
        }
    } else if let Some(email) = m.get("email").and_then(Value::as_str) {
        Some(match store.customer_by_email(email) {
            Some(id) => PartyRef::Customer(id),
            None => PartyRef::NewCustomer {
                email: email.to_owned(),
                name: m.get("name").and_then(Value::as_str).map(str::to_owned),
            },
        })
    } else {
        inner.add("id", validation::MISSING);
        None
    };
    errors.nest("customer", inner);
    out
}

/// Reads `tags: [{name, decoration?}]` (or `{id}`), returning names/ids to attach.
fn read_tags(store: &Store, list: &[Value], errors: &mut Errors) -> Vec<TagRef> {
    let mut out = Vec::new();
    let mut inner = Errors::default();
    for (i, item) in list.iter().enumerate() {
        match item {
            Value::Object(m) => {
                if let Some(name) = m.get("name").and_then(Value::as_str) {
                    if name.is_empty() || name.chars().count() > 256 {
                        let mut e = Errors::default();
                        e.add("name", validation::length_between(1, 256));
                        inner.nest(&i.to_string(), e);
                    } else {
                        out.push(TagRef::Name(name.to_owned(), m.get("decoration").cloned()));
                    }
                } else if let Some(id) = m.get("id").and_then(validation::as_integer) {
                    if store.tags.get(&id).is_some_and(|t| t.deleted.is_none()) {
                        out.push(TagRef::Id(id));
                    } else {
                        let mut e = Errors::default();
                        e.add("id", "Tag not found.");
                        inner.nest(&i.to_string(), e);
                    }
                } else {
                    let mut e = Errors::default();
                    e.add("name", validation::MISSING);
                    inner.nest(&i.to_string(), e);
                }
            }
            Value::String(name) => out.push(TagRef::Name(name.clone(), None)),
            _ => inner.add(&i.to_string(), validation::INVALID_INPUT),
        }
    }
    errors.nest("tags", inner);
    out
}

pub enum TagRef {
    Id(i64),
    Name(String, Option<Value>),
}

fn resolve_tags(store: &mut Store, refs: &[TagRef], user_id: i64) -> Vec<i64> {
    let mut ids = Vec::new();
    for r in refs {
        let id = match r {
            TagRef::Id(id) => *id,
            // Tags are referenced by name and created when missing (§7.3).
            TagRef::Name(name, deco) => store.ensure_tag(name, deco.clone(), Some(user_id)),
        };
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

fn check_user(store: &Store, id: Option<i64>, key: &str, errors: &mut Errors) {
    if let Some(id) = id
        && !store.users.contains_key(&id)
    {
        let mut e = Errors::default();
        e.add("id", "User not found.");
        errors.nest(key, e);
    }
}

fn check_team(store: &Store, id: Option<i64>, key: &str, errors: &mut Errors) {
    if let Some(id) = id
        && !store.teams.contains_key(&id)
    {
        let mut e = Errors::default();
        e.add("id", "Team not found.");
        errors.nest(key, e);
    }
}

fn read_channel(input: &mut Input<'_>) -> Option<String> {
    match input.value("channel") {
        Field::Set(Value::String(s))
            if CHANNELS.contains(&s.as_str()) || NEWER_CHANNELS.contains(&s.as_str()) =>
        {
            Some(s.clone())
        }
        Field::Set(_) => {
            input.errors.add("channel", validation::one_of(CHANNELS));
            None
        }
        _ => None,
    }
}

/// Ticket fields shared by create and update (§7.3, §7.4).
struct TicketPatch {
    channel: Option<String>,
    via: Option<String>,
    customer: Option<PartyRef>,
    subject: Field<String>,
    status: Option<String>,
    priority: Option<String>,
    assignee_user: Field<Option<i64>>,
    assignee_team: Field<Option<i64>>,
    tags: Option<Vec<TagRef>>,
    custom_fields: Option<BTreeMap<i64, Value>>,
    external_id: Field<String>,
    from_agent: Option<bool>,
    language: Field<String>,
    spam: Option<bool>,
    meta: Field<Value>,
    is_unread: Option<bool>,
    imported: Option<bool>,
    times: BTreeMap<&'static str, Field<Timestamp>>,
}

const TIME_FIELDS: &[&str] = &[
    "created_datetime",
    "opened_datetime",
    "closed_datetime",
    "trashed_datetime",
    "snooze_datetime",
    "updated_datetime",
    "last_message_datetime",
    "last_received_message_datetime",
];

fn read_patch(store: &Store, input: &mut Input<'_>) -> TicketPatch {
    let channel = read_channel(input);
    let via = input.choice("via", VIA_WRITE).value();
    let customer = match input.value("customer") {
        Field::Set(v) => read_customer(store, v, &mut input.errors),
        _ => None,
    };
    let subject = input.string("subject", 0, Some(998));
    let status = input.choice("status", STATUSES).value();
    let priority = input.choice("priority", PRIORITIES).value();
    let assignee_user = input.reference("assignee_user");
    let assignee_team = input.reference("assignee_team");
    if let Field::Set(id) = &assignee_user {
        check_user(store, *id, "assignee_user", &mut input.errors);
    }
    if let Field::Set(id) = &assignee_team {
        check_team(store, *id, "assignee_team", &mut input.errors);
    }
    let tags = match input.list("tags") {
        Field::Set(list) => Some(read_tags(store, list, &mut input.errors)),
        Field::Null => Some(Vec::new()),
        Field::Missing => None,
    };
    let custom_fields = match input.list("custom_fields") {
        Field::Set(list) => {
            let mut e = Errors::default();
            let values = custom_fields::read_values(store, list, "Ticket", &mut e);
            input.errors.nest("custom_fields", e);
            Some(values)
        }
        Field::Null => Some(BTreeMap::new()),
        Field::Missing => None,
    };
    let external_id = input.string("external_id", 0, Some(255));
    let from_agent = input.boolean("from_agent").value();
    let language = match input.string("language", 0, None) {
        Field::Set(l) if !LANGUAGES.contains(&l.as_str()) => {
            input
                .errors
                .add("language", validation::one_of(&["<ISO 639-1 code>"]));
            Field::Missing
        }
        other => other,
    };
    let spam = input.boolean("spam").value();
    let meta = match input.mapping("meta") {
        Field::Set(m) => Field::Set(Value::Object(m.clone())),
        Field::Null => Field::Null,
        Field::Missing => Field::Missing,
    };
    let is_unread = input.boolean("is_unread").value();
    let imported = input.boolean("imported").value();
    let mut times = BTreeMap::new();
    for key in TIME_FIELDS {
        times.insert(*key, input.datetime(key));
    }
    TicketPatch {
        channel,
        via,
        customer,
        subject,
        status,
        priority,
        assignee_user,
        assignee_team,
        tags,
        custom_fields,
        external_id,
        from_agent,
        language,
        spam,
        meta,
        is_unread,
        imported,
        times,
    }
}

fn take_time(p: &mut TicketPatch, key: &str) -> Field<Timestamp> {
    p.times.remove(key).unwrap_or(Field::Missing)
}

async fn create(State(app): State<App>, ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult {
    let msg = "Failed to create ticket";
    let user_id = ctx.principal.user_id;
    let (json, queued) = {
        let mut store = app.store();
        let mut input = Input::object(&body, msg)?;
        let mut patch = read_patch(&store, &mut input);
        input.ignore(&["split_from", "summary"]);
        let messages_field = input.list("messages");
        let mut drafts = Vec::new();
        match messages_field {
            Field::Set(list) if list.is_empty() || list.len() > 500 => {
                input
                    .errors
                    .add("messages", validation::length_between(1, 500));
            }
            Field::Set(list) => {
                let mut all = Errors::default();
                // The customer for derivation: `customer`, else the first message's
                // sender (from a customer) or receiver (from an agent) (§7.3).
                let mut customer = patch.customer.clone();
                for (i, m) in list.iter().enumerate() {
                    let tctx = TicketContext {
                        customer: customer.clone(),
                        acting_user: user_id,
                    };
                    let mut e = Errors::default();
                    let draft = messages::read_draft(&store, m, &tctx, &mut e);
                    if let Some(d) = draft {
                        if customer.is_none() {
                            customer = if d.from_agent {
                                d.receiver.clone()
                            } else {
                                Some(d.sender.clone())
                            };
                        }
                        drafts.push(d);
                    }
                    all.nest(&i.to_string(), e);
                }
                if patch.customer.is_none() {
                    patch.customer = customer;
                }
                input.errors.nest("messages", all);
            }
            Field::Null => input.errors.add("messages", validation::NULL),
            Field::Missing => input.errors.add("messages", validation::MISSING),
        }
        if input.errors.is_empty() && patch.customer.is_none() {
            input.errors.add("customer", validation::MISSING);
        }
        input.finish(msg)?;
        let now = store.now();
        let customer_id = patch
            .customer
            .as_ref()
            .map(|c| messages::materialize(&mut store, c, user_id))
            .and_then(|p| match p {
                Party::Customer(id) => Some(id),
                Party::User(_) => None,
            });
        let first = drafts.first().cloned();
        let tag_ids = resolve_tags(&mut store, patch.tags.as_deref().unwrap_or(&[]), user_id);
        let id = store.next_id("ticket", id_base::TICKET);
        let created = take_time(&mut patch, "created_datetime")
            .value()
            .unwrap_or(now);
        let status = patch.status.clone().unwrap_or_else(|| "open".into());
        let customer_language = customer_id
            .and_then(|c| store.customers.get(&c))
            .and_then(|c| c.language.clone());
        let mut ticket = Ticket {
            id,
            external_id: patch.external_id.clone().value(),
            status: status.clone(),
            priority: patch.priority.clone().unwrap_or_else(|| "normal".into()),
            channel: patch
                .channel
                .clone()
                .or_else(|| first.as_ref().map(|d| d.channel.clone()))
                .unwrap_or_else(|| "api".into()),
            via: patch
                .via
                .clone()
                .unwrap_or_else(|| first.as_ref().map_or("api".into(), |d| d.via.clone())),
            from_agent: patch
                .from_agent
                .unwrap_or_else(|| first.as_ref().is_some_and(|d| d.from_agent)),
            spam: patch.spam.unwrap_or(false),
            // Detected from the messages when not set; the sandbox uses the customer's language.
            language: patch.language.clone().value().or(customer_language),
            subject: patch
                .subject
                .clone()
                .value()
                .or_else(|| first.as_ref().and_then(|d| d.subject.clone())),
            summary: Value::Null,
            customer_id,
            assignee_user_id: patch.assignee_user.clone().value().flatten(),
            assignee_team_id: patch.assignee_team.clone().value().flatten(),
            tags: tag_ids,
            custom_fields: patch.custom_fields.clone().unwrap_or_default(),
            meta: patch.meta.clone().value().unwrap_or(Value::Null),
            is_unread: patch.is_unread.unwrap_or(true),
            imported: patch.imported.unwrap_or(false),
            created,
            opened: None,
            last_received_message: None,
            last_message: None,
            updated: now.max(created),
            closed: None,
            snooze: None,
            trashed: None,
            processed: Some(now),
            matched_rules: Default::default(),
        };
        if status == "closed" {
            ticket.closed = Some(now);
        }
        store.tickets.insert(id, ticket);
        store.record_event(
            "ticket-created",
            "Ticket",
            id,
            Some(user_id),
            json!({"channel": first.as_ref().map(|d| d.channel.clone())}),
            now,
        );
        let mut queued = Vec::new();
        for d in &drafts {
            // Messages created with the ticket share its creation instant (obs: opened, last
            // received and last message all equal created_datetime).
            let mut d = d.clone();
            d.created = d.created.or(Some(created));
            let d = &d;
            let mid = messages::commit(&mut store, id, d, user_id, true);
            if d.is_queued() {
                queued.push(mid);
            }
        }
        if let Some(t) = store.tickets.get_mut(&id) {
            // Obs: on creation from a customer message, opened = created.
            if !t.from_agent {
                t.opened = Some(created);
            }
            t.updated = t.updated.max(now);
            for key in TIME_FIELDS {
                let value = patch.times.remove(key).unwrap_or(Field::Missing);
                let slot = match *key {
                    "opened_datetime" => &mut t.opened,
                    "closed_datetime" => &mut t.closed,
                    "trashed_datetime" => &mut t.trashed,
                    "snooze_datetime" => &mut t.snooze,
                    "last_message_datetime" => &mut t.last_message,
                    "last_received_message_datetime" => &mut t.last_received_message,
                    "updated_datetime" => {
                        if let Field::Set(v) = value {
                            t.updated = v;
                        }
                        continue;
                    }
                    _ => continue,
                };
                value.apply_to(slot);
            }
        }
        let t = store.tickets.get(&id).cloned().ok_or(ApiError::Internal)?;
        (store.ticket_json(&t, true), queued)
    };
    messages::schedule_sends(&app, queued);
    Ok(json_response(app.create_status("ticket"), json))
}

async fn get_one(State(app): State<App>, ids: Ids, ctx: Ctx) -> ApiResult {
    let store = app.store();
    let t = store.tickets.get(&ids.one()).ok_or(ApiError::NotFound)?;
    let with_cf = ctx
        .query
        .all("relationships")
        .iter()
        .any(|r| r.split(',').any(|r| r == "custom_fields"));
    Ok(ok(store.ticket_json(t, with_cf)))
}

async fn update(State(app): State<App>, ids: Ids, ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult {
    let id = ids.one();
    let msg = "Failed to update ticket";
    let user_id = ctx.principal.user_id;
    let mut store = app.store();
    if !store.tickets.contains_key(&id) {
        return Err(ApiError::NotFound);
    }
    let mut input = Input::object(&body, msg)?;
    let mut patch = read_patch(&store, &mut input);
    // `created_datetime` and `messages` cannot be changed here (§7.4).
    if input.has("messages") {
        input.ignore(&["messages"]);
        input.errors.add("messages", validation::UNKNOWN);
    }
    patch.times.remove("created_datetime");
    if input.has("created_datetime") {
        input.errors.add("created_datetime", validation::UNKNOWN);
    }
    input.ignore(&["id", "uri", "summary"]);
    input.finish(msg)?;
    let now = store.now();
    let customer_id = patch
        .customer
        .as_ref()
        .map(|c| messages::materialize(&mut store, c, user_id))
        .and_then(|p| match p {
            Party::Customer(id) => Some(id),
            Party::User(_) => None,
        });
    let tag_ids = patch
        .tags
        .as_ref()
        .map(|t| resolve_tags(&mut store, t, user_id));
    let before = store.tickets.get(&id).cloned().ok_or(ApiError::NotFound)?;
    let t = store.tickets.get_mut(&id).ok_or(ApiError::NotFound)?;
    let mut changes = Map::new();
    let mut note = |k: &str, old: Value, new: Value| {
        if old != new {
            changes.insert(k.to_owned(), json!({"old": old, "new": new}));
        }
    };
    if let Some(s) = patch.status.clone() {
        if s == "closed" && t.status != "closed" {
            t.closed = Some(now);
        } else if s == "open" && t.status == "closed" {
            t.closed = None;
        }
        note("status", json!(t.status), json!(s));
        t.status = s;
    }
    if let Some(p) = patch.priority.clone() {
        note("priority", json!(t.priority), json!(p));
        t.priority = p;
    }
    if let Some(c) = patch.channel.clone() {
        t.channel = c;
    }
    if let Some(v) = patch.via.clone() {
        t.via = v;
    }
    if let Some(c) = customer_id {
        note("customer_id", json!(t.customer_id), json!(c));
        t.customer_id = Some(c);
    }
    patch.subject.clone().apply_to(&mut t.subject);
    if let Some(v) = patch.assignee_user.clone().sent() {
        let v = v.flatten();
        note("assignee_user_id", json!(t.assignee_user_id), json!(v));
        t.assignee_user_id = v;
    }
    if let Some(v) = patch.assignee_team.clone().sent() {
        let v = v.flatten();
        note("assignee_team_id", json!(t.assignee_team_id), json!(v));
        t.assignee_team_id = v;
    }
    if let Some(ids) = tag_ids {
        t.tags = ids;
    }
    if let Some(cf) = patch.custom_fields.clone() {
        // `custom_fields` replaces the values (§1).
        t.custom_fields = cf;
    }
    patch.external_id.clone().apply_to(&mut t.external_id);
    if let Some(v) = patch.from_agent {
        t.from_agent = v;
    }
    patch.language.clone().apply_to(&mut t.language);
    if let Some(v) = patch.spam {
        t.spam = v;
    }
    if let Some(v) = patch.meta.clone().sent() {
        t.meta = v.unwrap_or(Value::Null);
    }
    if let Some(v) = patch.is_unread {
        t.is_unread = v;
    }
    if let Some(v) = patch.imported {
        t.imported = v;
    }
    let mut explicit_updated = None;
    for key in TIME_FIELDS {
        let value = take_time(&mut patch, key);
        let slot = match *key {
            "opened_datetime" => &mut t.opened,
            "closed_datetime" => &mut t.closed,
            "trashed_datetime" => &mut t.trashed,
            "snooze_datetime" => &mut t.snooze,
            "last_message_datetime" => &mut t.last_message,
            "last_received_message_datetime" => &mut t.last_received_message,
            "updated_datetime" => {
                explicit_updated = value.value();
                continue;
            }
            _ => continue,
        };
        value.apply_to(slot);
    }
    t.updated = explicit_updated.unwrap_or(now);
    let after = t.clone();
    store.record_event(
        "ticket-updated",
        "Ticket",
        id,
        Some(user_id),
        Value::Object(changes),
        now,
    );
    if before.assignee_user_id != after.assignee_user_id
        || before.assignee_team_id != after.assignee_team_id
    {
        store.record_event(
            "ticket-assigned",
            "Ticket",
            id,
            Some(user_id),
            json!({"assignee_user_id": after.assignee_user_id, "assignee_team_id": after.assignee_team_id}),
            now,
        );
    }
    if before.status != "closed" && after.status == "closed" {
        store.record_event("ticket-closed", "Ticket", id, Some(user_id), json!({}), now);
    }
    if before.trashed.is_none() && after.trashed.is_some() {
        store.record_event(
            "ticket-trashed",
            "Ticket",
            id,
            Some(user_id),
            json!({}),
            now,
        );
    }
    if !before.spam && after.spam {
        store.record_event(
            "ticket-marked-spam",
            "Ticket",
            id,
            Some(user_id),
            json!({}),
            now,
        );
    }
    Ok(ok(store.ticket_json(&after, true)))
}

/// A hard delete: the ticket and its messages are gone (§6.18).
async fn delete(State(app): State<App>, ids: Ids, ctx: Ctx) -> ApiResult {
    let id = ids.one();
    let mut store = app.store();
    store.tickets.remove(&id).ok_or(ApiError::NotFound)?;
    store.messages.retain(|_, m| m.ticket_id != id);
    store
        .surveys
        .retain(|_, s| s.get("ticket_id").and_then(Value::as_i64) != Some(id));
    let now = store.now();
    store.record_event(
        "ticket-deleted",
        "Ticket",
        id,
        Some(ctx.principal.user_id),
        json!({}),
        now,
    );
    Ok(empty(StatusCode::NO_CONTENT))
}

// ---- ticket tags ---------------------------------------------------------------------------

struct TagsBody {
    ids: Vec<i64>,
    names: Vec<String>,
}

fn read_tags_body(store: &Store, body: &Value, require_one: bool) -> ApiResult<TagsBody> {
    let msg = "Failed to update ticket tags";
    let mut input = Input::object(body, msg)?;
    let ids = input.integer_list("ids").value().unwrap_or_default();
    let names: Vec<String> = match input.list("names") {
        Field::Set(list) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    if require_one && !input.has("ids") && !input.has("names") {
        input
            .errors
            .add("_schema", "At least one of ids or names is required.");
    }
    for id in &ids {
        if store.tags.get(id).is_none_or(|t| t.deleted.is_some()) {
            input.errors.add("ids", format!("Tag {id} not found."));
        }
    }
    input.finish(msg)?;
    Ok(TagsBody { ids, names })
}

async fn list_tags(State(app): State<App>, ids: Ids) -> ApiResult {
    let store = app.store();
    let t = store.tickets.get(&ids.one()).ok_or(ApiError::NotFound)?;
    let data: Vec<Value> = t
        .tags
        .iter()
        .filter_map(|id| store.tags.get(id))
        .map(|tag| store.tag_json(tag))
        .collect();
    Ok(ok(json!({"data": data})))
}

fn tag_ids_for(store: &mut Store, body: &TagsBody, user_id: i64, create_missing: bool) -> Vec<i64> {
    let mut out = body.ids.clone();
    for name in &body.names {
        let id = if create_missing {
            Some(store.ensure_tag(name, None, Some(user_id)))
        } else {
            store.tag_by_name(name)
        };
        if let Some(id) = id
            && !out.contains(&id)
        {
            out.push(id);
        }
    }
    out
}

async fn change_tags(
    app: &App,
    ticket_id: i64,
    ctx: &Ctx,
    body: &Value,
    mode: TagMode,
) -> ApiResult {
    let mut store = app.store();
    if !store.tickets.contains_key(&ticket_id) {
        return Err(ApiError::NotFound);
    }
    let parsed = read_tags_body(&store, body, mode != TagMode::Replace)?;
    let user_id = ctx.principal.user_id;
    let ids = tag_ids_for(&mut store, &parsed, user_id, mode != TagMode::Remove);
    let now = store.now();
    let t = store
        .tickets
        .get_mut(&ticket_id)
        .ok_or(ApiError::NotFound)?;
    match mode {
        TagMode::Add => {
            for id in ids {
                if !t.tags.contains(&id) {
                    t.tags.push(id);
                }
            }
        }
        TagMode::Replace => t.tags = ids,
        TagMode::Remove => t.tags.retain(|id| !ids.contains(id)),
    }
    t.updated = now;
    let tags = t.tags.clone();
    store.record_event(
        "ticket-updated",
        "Ticket",
        ticket_id,
        Some(user_id),
        json!({"tags": tags}),
        now,
    );
    Ok(empty(match mode {
        TagMode::Add => StatusCode::CREATED,
        TagMode::Replace => StatusCode::ACCEPTED,
        TagMode::Remove => StatusCode::NO_CONTENT,
    }))
}

#[derive(PartialEq, Clone, Copy)]
enum TagMode {
    Add,
    Replace,
    Remove,
}

async fn add_tags(
    State(app): State<App>,
    ids: Ids,
    ctx: Ctx,
    JsonBody(body): JsonBody,
) -> ApiResult {
    change_tags(&app, ids.one(), &ctx, &body, TagMode::Add).await
}

async fn set_tags(
    State(app): State<App>,
    ids: Ids,
    ctx: Ctx,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let body = if body.is_null() { json!({}) } else { body };
    change_tags(&app, ids.one(), &ctx, &body, TagMode::Replace).await
}

async fn remove_tags(
    State(app): State<App>,
    ids: Ids,
    ctx: Ctx,
    JsonBody(body): JsonBody,
) -> ApiResult {
    change_tags(&app, ids.one(), &ctx, &body, TagMode::Remove).await
}

pub fn routes() -> Router<App> {
    Router::new()
        .route("/tickets", get(list).post(create))
        .route("/tickets/{id}", get(get_one).put(update).delete(delete))
        .route(
            "/tickets/{id}/tags",
            get(list_tags)
                .post(add_tags)
                .put(set_tags)
                .delete(remove_tags),
        )
        .merge(field_values::routes(Owner::Ticket))
}
