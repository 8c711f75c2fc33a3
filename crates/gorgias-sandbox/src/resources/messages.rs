//! Ticket messages (reference §6.10 and §8): validation of the create body, sender/receiver
//! resolution, send vs record, the asynchronous "send" of outgoing replies, and the side effects
//! of a new message on its ticket.

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Map, Value, json};

use crate::app::{App, Ctx, Ids, JsonBody, empty, json_response, ok};
use crate::clock::Timestamp;
use crate::errors::{ApiError, ApiResult};
use crate::pagination::{PageRequest, SortKey, envelope, paginate, query_error};
use crate::resources::{CHANNELS, CREATED_ORDERING, NEWER_CHANNELS, SOURCE_TYPES, VIA_WRITE};
use crate::store::{Message, Party, Store, id_base};
use crate::validation::{self, Errors, Field, Input, MISSING};

const ACTIONS: &[&str] = &["force", "retry", "cancel"];

/// Integration types that can deliver a reply on a channel. `None`: Gorgias cannot send there.
pub fn channel_integration_types(channel: &str) -> Option<&'static [&'static str]> {
    Some(match channel {
        "email" | "contact_form" | "help-center" => &["email", "gmail", "outlook"],
        "chat" => &["gorgias_chat", "smooch_inside"],
        "sms" => &["sms", "twilio"],
        "phone" => &["phone", "aircall"],
        "facebook" | "facebook-messenger" | "facebook-mention" | "facebook-recommendations" => {
            &["facebook"]
        }
        "instagram-direct-message"
        | "instagram-comment"
        | "instagram-ad-comment"
        | "instagram-mention" => &["facebook", "instagram"],
        "twitter" | "twitter-direct-message" => &["twitter"],
        "whatsapp" => &["whatsapp"],
        "yotpo-review" => &["yotpo"],
        _ => return None,
    })
}

/// A sender or receiver as resolved before anything is written.
#[derive(Debug, Clone, PartialEq)]
pub enum PartyRef {
    User(i64),
    Customer(i64),
    /// A customer to create (an unknown `{email}`).
    NewCustomer {
        email: String,
        name: Option<String>,
    },
}

/// Where a message goes: an existing ticket, or the ticket being created.
pub struct TicketContext {
    /// The ticket's customer (existing ticket) or the `customer` of a ticket being created.
    pub customer: Option<PartyRef>,
    pub acting_user: i64,
}

/// A validated message body, ready to be written.
#[derive(Debug, Clone)]
pub struct Draft {
    pub channel: String,
    pub via: String,
    pub from_agent: bool,
    pub public: bool,
    pub sender: PartyRef,
    pub receiver: Option<PartyRef>,
    pub source: Value,
    pub integration_id: Option<i64>,
    pub subject: Option<String>,
    pub body_text: Option<String>,
    pub body_html: Option<String>,
    pub stripped_text: Option<String>,
    pub stripped_html: Option<String>,
    pub stripped_signature: Option<String>,
    pub attachments: Vec<Value>,
    pub message_id: Option<String>,
    pub external_id: Option<String>,
    pub created: Option<Timestamp>,
    pub sent: Option<Timestamp>,
    pub failed: Option<Timestamp>,
    pub opened: Option<Timestamp>,
    pub mention_ids: Vec<i64>,
    pub macros: Vec<Value>,
    pub actions: Value,
    pub headers: Value,
    pub meta: Value,
    pub last_sending_error: Value,
    pub imported: bool,
}

impl Draft {
    pub fn is_internal_note(&self) -> bool {
        self.channel == "internal-note" || !self.public
    }

    /// An outgoing reply without `sent_datetime` is queued and sent by "Gorgias" (§8.2).
    /// The `api` channel is delivered by the third-party app, never by Gorgias.
    pub fn is_queued(&self) -> bool {
        self.from_agent && !self.is_internal_note() && self.channel != "api" && self.sent.is_none()
    }
}

fn read_contact(v: &Value) -> Option<(Option<String>, Option<String>)> {
    let m = v.as_object()?;
    let address = m.get("address").and_then(Value::as_str).map(str::to_owned);
    let name = m.get("name").and_then(Value::as_str).map(str::to_owned);
    Some((address, name))
}

/// Validates `source` (§8.3): `{type, from:{address,name?}, to/cc/bcc:[...], extra?}`.
fn read_source(v: &Value, errors: &mut Errors) -> Value {
    let Some(mut input) = Input::nested(v) else {
        errors.add("source", validation::INVALID_INPUT);
        return Value::Null;
    };
    input.choice("type", SOURCE_TYPES);
    if let Field::Set(from) = input.value("from")
        && !from.is_object()
    {
        let mut inner = Errors::default();
        inner.add("_schema", validation::INVALID_INPUT);
        input.errors.nest("from", inner);
    }
    for key in ["to", "cc", "bcc"] {
        if let Field::Set(list) = input.list(key) {
            let mut inner = Errors::default();
            for (i, item) in list.iter().enumerate() {
                match item.as_object() {
                    Some(o) if o.get("address").is_some_and(Value::is_string) => {}
                    Some(_) => {
                        let mut e = Errors::default();
                        e.add("address", MISSING);
                        inner.nest(&i.to_string(), e);
                    }
                    None => inner.add(&i.to_string(), validation::INVALID_INPUT),
                }
            }
            input.errors.nest(key, inner);
        }
    }
    input.mapping("extra");
    let inner = input.into_errors();
    errors.nest("source", inner);
    v.clone()
}

/// Reads a party `{id?, email?, name?, ...}` for the side it is on.
fn resolve_party(
    store: &Store,
    v: &Value,
    is_agent: bool,
    allow_new: bool,
    key: &str,
    errors: &mut Errors,
) -> Option<PartyRef> {
    let Some(m) = v.as_object() else {
        errors.add(key, validation::INVALID_INPUT);
        return None;
    };
    let id = m.get("id").filter(|v| !v.is_null());
    let email = m.get("email").and_then(Value::as_str);
    let name = m.get("name").and_then(Value::as_str).map(str::to_owned);
    let mut inner = Errors::default();
    let found = if let Some(id) = id {
        match validation::as_integer(id) {
            None => {
                inner.add("id", validation::NOT_INTEGER);
                None
            }
            Some(id) if is_agent => {
                if store.users.contains_key(&id) {
                    Some(PartyRef::User(id))
                } else {
                    inner.add("id", "User not found.");
                    None
                }
            }
            Some(id) => {
                if store.customers.contains_key(&id) {
                    Some(PartyRef::Customer(id))
                } else if store.users.contains_key(&id) {
                    // A receiver of an incoming message may be the support user (§8.1).
                    Some(PartyRef::User(id))
                } else {
                    inner.add("id", "Customer not found.");
                    None
                }
            }
        }
    } else if let Some(email) = email {
        if is_agent {
            // §8.2: a user given by `{email}` must exist **[inferred]**.
            match store.user_by_email(email) {
                Some(uid) => Some(PartyRef::User(uid)),
                None => {
                    inner.add("email", "User not found.");
                    None
                }
            }
        } else {
            match store.customer_by_email(email) {
                Some(cid) => Some(PartyRef::Customer(cid)),
                // Legacy docs: an unknown `{email}` creates a customer.
                None if allow_new => Some(PartyRef::NewCustomer {
                    email: email.to_owned(),
                    name,
                }),
                None => store.user_by_email(email).map(PartyRef::User),
            }
        }
    } else {
        inner.add("id", MISSING);
        None
    };
    errors.nest(key, inner);
    found
}

fn party_from_address(store: &Store, address: &str, name: Option<String>) -> PartyRef {
    match store.customer_by_email(address) {
        Some(id) => PartyRef::Customer(id),
        None => PartyRef::NewCustomer {
            email: address.to_owned(),
            name,
        },
    }
}

/// Validates one message body (§8.3). Errors go to `errors` (the caller nests them).
pub fn read_draft(
    store: &Store,
    body: &Value,
    ctx: &TicketContext,
    errors: &mut Errors,
) -> Option<Draft> {
    let Some(mut input) = Input::nested(body) else {
        errors.add("_schema", validation::INVALID_INPUT);
        return None;
    };
    let channel = match input.value("channel") {
        Field::Set(Value::String(s))
            if CHANNELS.contains(&s.as_str()) || NEWER_CHANNELS.contains(&s.as_str()) =>
        {
            Some(s.clone())
        }
        Field::Set(Value::String(_)) => {
            input.errors.add("channel", validation::one_of(CHANNELS));
            None
        }
        Field::Set(_) => {
            input.errors.add("channel", validation::NOT_STRING);
            None
        }
        Field::Null => {
            input.errors.add("channel", validation::NULL);
            None
        }
        Field::Missing => {
            input.errors.add("channel", MISSING);
            None
        }
    };
    let from_agent = input.required_boolean("from_agent");
    // §12 #2: `via` is optional here (the newest spec and Pipedream's working call leave it
    // out); it defaults to `api` (§11 #15).
    let via = input
        .choice("via", VIA_WRITE)
        .value()
        .unwrap_or_else(|| "api".to_owned());
    let public_field = input.boolean("public");
    let source = match input.value("source") {
        Field::Set(v) => read_source(v, &mut input.errors),
        _ => Value::Null,
    };
    let integration_id = match input.integer("integration_id") {
        Field::Set(n) if n <= 0 => {
            input
                .errors
                .add("integration_id", validation::range(1.0, 2_147_483_647.0));
            None
        }
        Field::Set(n) if !store.integrations.contains_key(&n) => {
            input.errors.add("integration_id", "Integration not found.");
            None
        }
        Field::Set(n) => Some(n),
        _ => None,
    };
    let subject = input.string("subject", 0, Some(998)).value();
    let body_text = input.string("body_text", 0, None).value();
    let body_html = input.string("body_html", 0, None).value();
    let stripped_text = input.string("stripped_text", 0, None).value();
    let stripped_html = input.string("stripped_html", 0, None).value();
    let stripped_signature = input.string("stripped_signature", 0, None).value();
    let message_id = input.string("message_id", 0, None).value();
    let external_id = input.string("external_id", 0, Some(255)).value();
    let created = input.datetime("created_datetime").value();
    let sent = input.datetime("sent_datetime").value();
    let failed = input.datetime("failed_datetime").value();
    let opened = input.datetime("opened_datetime").value();
    input.datetime("deleted_datetime");
    let mention_ids = input
        .integer_list("mention_ids")
        .value()
        .unwrap_or_default();
    let macros = input.list("macros").value().cloned().unwrap_or_default();
    let actions = input
        .list("actions")
        .value()
        .map_or(Value::Null, |a| Value::Array(a.clone()));
    let headers = input
        .mapping("headers")
        .value()
        .map_or(Value::Null, |m| Value::Object(m.clone()));
    let meta = input
        .mapping("meta")
        .value()
        .map_or(Value::Null, |m| Value::Object(m.clone()));
    let last_sending_error = input
        .mapping("last_sending_error")
        .value()
        .map_or(Value::Null, |m| Value::Object(m.clone()));
    let imported = input.boolean("imported").value().unwrap_or(false);
    let mut attachments = Vec::new();
    if let Field::Set(list) = input.list("attachments") {
        let mut inner = Errors::default();
        for (i, item) in list.iter().enumerate() {
            let Some(mut a) = Input::nested(item) else {
                inner.add(&i.to_string(), validation::INVALID_INPUT);
                continue;
            };
            let url = a.required_string("url", 1, None);
            let name = a.required_string("name", 1, None);
            let content_type = a.required_string("content_type", 1, None);
            let size = a.integer("size").value();
            let public = a.boolean("public").value().unwrap_or(true);
            let extra = a.value("extra").value().cloned();
            let e = a.into_errors();
            if e.is_empty() {
                attachments.push(
                    json!({"url": url, "name": name, "content_type": content_type,
                    "size": size, "public": public, "extra": extra}),
                );
            } else {
                inner.nest(&i.to_string(), e);
            }
        }
        input.errors.nest("attachments", inner);
    }
    // Keys of the message object that clients echo back; read-only, accepted and ignored.
    input.ignore(&[
        "id",
        "uri",
        "ticket_id",
        "is_retriable",
        "intents",
        "rule_id",
        "auth_customer_identity",
        "processed_datetime",
        "replied_by",
        "replied_to",
    ]);
    let sender_field = input.value("sender");
    let receiver_field = input.value("receiver");
    let (Some(channel), Some(from_agent)) = (channel, from_agent) else {
        errors.extend(input.into_errors());
        return None;
    };
    let public = if channel == "internal-note" {
        // An internal note is private whatever `public` says **[inferred]**.
        false
    } else {
        public_field.value().unwrap_or(true)
    };
    let is_note = channel == "internal-note" || !public;
    if !mention_ids.is_empty() && !is_note {
        input.errors.add(
            "mention_ids",
            "Mentions are only allowed in internal notes.",
        );
    }
    for uid in &mention_ids {
        if !store.users.contains_key(uid) {
            input
                .errors
                .add("mention_ids", format!("User {uid} not found."));
        }
    }
    if body_text.is_none() && body_html.is_none() && attachments.is_empty() {
        // One of text/html is expected **[inferred]**; an attachment-only message is fine.
        input.errors.add("body_text", MISSING);
    }
    let source_from = source.get("from").and_then(read_contact);
    let source_to = source
        .get("to")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(read_contact);
    // Sender: given, or derived (the acting user for agents; the source address or the
    // ticket's customer for customers). Legacy docs: missing sender -> "Missing data".
    let sender = match sender_field {
        Field::Set(v) => resolve_party(store, v, from_agent, true, "sender", &mut input.errors),
        Field::Null | Field::Missing => {
            if from_agent {
                Some(PartyRef::User(ctx.acting_user))
            } else if let Some((Some(addr), name)) = source_from.clone() {
                Some(party_from_address(store, &addr, name))
            } else if let Some(c) = ctx.customer.clone() {
                Some(c)
            } else {
                input.errors.add("sender", MISSING);
                None
            }
        }
    };
    let receiver = match receiver_field {
        Field::Set(v) => resolve_party(store, v, false, true, "receiver", &mut input.errors),
        _ if from_agent && !is_note => {
            if let Some((Some(addr), name)) = source_to.clone() {
                Some(party_from_address(store, &addr, name))
            } else {
                ctx.customer.clone()
            }
        }
        _ => None,
    };
    let e = input.into_errors();
    if !e.is_empty() {
        errors.extend(e);
        return None;
    }
    let sender = sender?;
    let mut draft = Draft {
        channel,
        via,
        from_agent,
        public,
        sender,
        receiver,
        source,
        integration_id,
        subject,
        body_text,
        body_html,
        stripped_text,
        stripped_html,
        stripped_signature,
        attachments,
        message_id,
        external_id,
        created,
        sent,
        failed,
        opened,
        mention_ids,
        macros,
        actions,
        headers,
        meta,
        last_sending_error,
        imported,
    };
    complete_routing(store, &mut draft);
    Some(draft)
}

/// Ties an email to the account's email integration the way real messages are (§8.2): an
/// outgoing reply with `integration_id` gets that integration's address as `source.from`; one
/// whose `source.from.address` is an integration address gets its `integration_id`. Incoming
/// email addressed to an integration gets that `integration_id` too.
fn complete_routing(store: &Store, d: &mut Draft) {
    if d.channel != "email" || d.is_internal_note() {
        if d.source.is_null() && d.channel == "internal-note" {
            d.source = json!({"type": "internal-note"});
        }
        return;
    }
    let mut source = d.source.as_object().cloned().unwrap_or_default();
    source.entry("type").or_insert_with(|| json!("email"));
    if d.from_agent {
        let from_addr = source.get("from").and_then(read_contact).and_then(|c| c.0);
        match (d.integration_id, from_addr) {
            (Some(iid), None) => {
                if let Some(addr) = store.email_integration_address(iid) {
                    let name = store
                        .integrations
                        .get(&iid)
                        .and_then(|i| i.get("name"))
                        .cloned();
                    source.insert("from".into(), json!({"address": addr, "name": name}));
                }
            }
            (None, Some(addr)) => d.integration_id = store.email_integration_by_address(&addr),
            _ => {}
        }
        if !source.contains_key("to")
            && let Some(addr) = party_email(store, d.receiver.as_ref())
        {
            source.insert("to".into(), json!([{"address": addr.0, "name": addr.1}]));
        }
    } else if d.integration_id.is_none() {
        let to: Vec<String> = source
            .get("to")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|c| read_contact(c).and_then(|c| c.0))
                    .collect()
            })
            .unwrap_or_default();
        d.integration_id = to
            .iter()
            .find_map(|a| store.email_integration_by_address(a));
    }
    d.source = Value::Object(source);
}

fn party_email(store: &Store, p: Option<&PartyRef>) -> Option<(String, Option<String>)> {
    match p? {
        PartyRef::Customer(id) => {
            let c = store.customers.get(id)?;
            let email = c.email.clone().or_else(|| {
                c.channels
                    .iter()
                    .find(|ch| ch.kind == "email")
                    .map(|ch| ch.address.clone())
            })?;
            Some((email, c.name.clone()))
        }
        PartyRef::NewCustomer { email, name } => Some((email.clone(), name.clone())),
        PartyRef::User(id) => store
            .users
            .get(id)
            .map(|u| (u.email.clone(), Some(u.name.clone()))),
    }
}

/// Creates the customer behind a `NewCustomer`, once, and returns the concrete party.
pub fn materialize(store: &mut Store, p: &PartyRef, user_id: i64) -> Party {
    match p {
        PartyRef::User(id) => Party::User(*id),
        PartyRef::Customer(id) => Party::Customer(*id),
        PartyRef::NewCustomer { email, name } => {
            let id = store.customer_by_email(email).unwrap_or_else(|| {
                store.create_customer_from_contact(Some(email), name.as_deref(), Some(user_id))
            });
            Party::Customer(id)
        }
    }
}

/// Writes a validated draft onto an existing ticket and applies the side effects (§8.4).
/// Returns the message id; queued replies are sent by `process_send`.
pub fn commit(
    store: &mut Store,
    ticket_id: i64,
    d: &Draft,
    user_id: i64,
    ticket_creation: bool,
) -> i64 {
    let now = store.now();
    let sender = materialize(store, &d.sender, user_id);
    let receiver = d.receiver.as_ref().map(|r| materialize(store, r, user_id));
    let id = store.next_id("message", id_base::MESSAGE);
    let created = d.created.unwrap_or(now);
    let queued = d.is_queued();
    let sent = if d.is_internal_note() || queued {
        None
    } else if d.sent.is_some() {
        d.sent
    } else {
        // Customer messages and `api`-channel replies count as delivered when recorded
        // (a real API-created customer message came back with sent = created, §7.3).
        Some(created)
    };
    let message = Message {
        id,
        ticket_id,
        message_id: d.message_id.clone(),
        external_id: d.external_id.clone(),
        public: d.public,
        channel: d.channel.clone(),
        via: d.via.clone(),
        source: d.source.clone(),
        sender: Some(sender),
        receiver,
        integration_id: d.integration_id,
        from_agent: d.from_agent,
        subject: d.subject.clone(),
        body_text: d.body_text.clone(),
        body_html: d.body_html.clone(),
        stripped_text: d.stripped_text.clone().or_else(|| d.body_text.clone()),
        stripped_html: d.stripped_html.clone().or_else(|| d.body_html.clone()),
        stripped_signature: d.stripped_signature.clone(),
        attachments: d.attachments.clone(),
        intents: Vec::new(),
        rule_id: None,
        macros: d.macros.clone(),
        actions: d.actions.clone(),
        meta: d.meta.clone(),
        headers: d.headers.clone(),
        mention_ids: d.mention_ids.clone(),
        imported: d.imported,
        created,
        sent,
        failed: d.failed,
        opened: d.opened,
        last_sending_error: d.last_sending_error.clone(),
        is_retriable: true,
        pending_send: queued,
    };
    let is_note = message.is_internal_note();
    let from_agent = message.from_agent;
    store.messages.insert(id, message);
    store.record_event(
        "ticket-message-created",
        "TicketMessage",
        id,
        Some(user_id),
        json!({"ticket_id": ticket_id, "from_agent": from_agent, "public": !is_note}),
        now,
    );
    let settings = assignment_settings(store);
    let Some(ticket) = store.tickets.get_mut(&ticket_id) else {
        return id;
    };
    let mut changes = Map::new();
    ticket.updated = ticket.updated.max(now);
    if !is_note {
        // Internal notes do not move last_message_datetime (third-party docs, §8.2).
        if ticket.last_message.is_none_or(|t| created > t) {
            ticket.last_message = Some(created);
        }
        if !from_agent {
            if ticket.last_received_message.is_none_or(|t| created > t) {
                ticket.last_received_message = Some(created);
            }
            ticket.is_unread = true;
            // A customer message reopens a closed ticket **[inferred: product behaviour]**.
            if ticket.status == "closed" && !ticket_creation {
                ticket.status = "open".into();
                ticket.closed = None;
                changes.insert("status".into(), json!({"old": "closed", "new": "open"}));
            }
        } else if let Party::User(agent) = sender {
            // §8.4: assignment follows the account's `ticket-assignment` settings.
            if settings.0 && ticket.assignee_user_id.is_none() && !ticket_creation {
                ticket.assignee_user_id = Some(agent);
                changes.insert(
                    "assignee_user_id".into(),
                    json!({"old": null, "new": agent}),
                );
            } else if settings.1 && !ticket_creation {
                ticket.assignee_user_id = None;
            }
        }
    }
    if !ticket_creation {
        store.record_event(
            "ticket-updated",
            "Ticket",
            ticket_id,
            Some(user_id),
            Value::Object(changes),
            now,
        );
    }
    id
}

/// `(auto_assign_ticket_to_responding_agent, unassign_on_reply)` from account settings.
fn assignment_settings(store: &Store) -> (bool, bool) {
    store
        .settings
        .values()
        .find(|s| s.get("type").and_then(Value::as_str) == Some("ticket-assignment"))
        .and_then(|s| s.get("data"))
        .map(|d| {
            (
                d.get("auto_assign_ticket_to_responding_agent")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                d.get("unassign_on_reply")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            )
        })
        .unwrap_or((false, false))
}

/// Why a queued reply cannot go out, if it cannot.
fn send_problem(store: &Store, m: &Message) -> Option<String> {
    if m.channel == "email" {
        let from = m
            .source
            .get("from")
            .and_then(|f| f.get("address"))
            .and_then(Value::as_str);
        let by_integration = m
            .integration_id
            .and_then(|id| store.email_integration_address(id));
        let ok_from = match (from, by_integration) {
            (Some(f), Some(a)) => f.eq_ignore_ascii_case(&a),
            (None, Some(_)) => true,
            (Some(f), None) => store.email_integration_by_address(f).is_some(),
            (None, None) => false,
        };
        if !ok_from {
            return Some(
                "This message could not be sent because its sender address is not one of the account's email integrations."
                    .into(),
            );
        }
        let has_to = m
            .source
            .get("to")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
        if !has_to {
            return Some("This message could not be sent because it has no recipient.".into());
        }
        return None;
    }
    match channel_integration_types(&m.channel) {
        Some(types) if store.integration_of_type(types).is_some() => None,
        _ => Some(format!(
            "This message could not be sent because there is no active integration for the {} channel.",
            m.channel
        )),
    }
}

/// Delivers (or fails) a queued reply: sets `sent_datetime` and a `message_id`, or
/// `failed_datetime` and `last_sending_error` (§8.5).
pub fn process_send(store: &mut Store, message_id: i64) {
    let Some(m) = store.messages.get(&message_id).cloned() else {
        return;
    };
    if !m.pending_send {
        return;
    }
    let now = store.now();
    let forced = if store.forced_send_failures.is_empty() {
        None
    } else {
        Some(store.forced_send_failures.remove(0))
    };
    let problem = forced.or_else(|| send_problem(store, &m));
    let ticket_id = m.ticket_id;
    let Some(msg) = store.messages.get_mut(&message_id) else {
        return;
    };
    msg.pending_send = false;
    match problem {
        Some(error) => {
            msg.failed = Some(now);
            msg.last_sending_error = json!({"error": error});
            msg.is_retriable = true;
            store.record_event(
                "ticket-message-failed",
                "TicketMessage",
                message_id,
                None,
                json!({"ticket_id": ticket_id, "error": error}),
                now,
            );
        }
        None => {
            msg.sent = Some(now);
            msg.failed = None;
            msg.last_sending_error = Value::Null;
            if msg.channel == "email" {
                msg.message_id = Some(format!(
                    "<{}.{}.sandbox-{ticket_id}-{message_id}@helpdesk.sandbox.gorgias>",
                    now.micros() / 1_000_000,
                    now.micros() % 100_000
                ));
                if let Some(src) = msg.source.as_object_mut() {
                    let extra = src.entry("extra").or_insert_with(|| json!({}));
                    if let Some(e) = extra.as_object_mut() {
                        e.entry("include_thread").or_insert(json!(false));
                    }
                }
            } else {
                msg.message_id
                    .get_or_insert_with(|| format!("sandbox-{message_id}"));
            }
        }
    }
}

/// Schedules the send of queued replies: right away, or after `send_delay`.
pub fn schedule_sends(app: &App, ids: Vec<i64>) {
    if ids.is_empty() {
        return;
    }
    let delay = app.config().send_delay;
    if delay.is_zero() {
        let mut store = app.store();
        for id in ids {
            process_send(&mut store, id);
        }
    } else {
        let app = app.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let mut store = app.store();
            for id in ids {
                process_send(&mut store, id);
            }
        });
    }
}

fn read_action(ctx: &Ctx) -> ApiResult<Option<String>> {
    let mut errors = Errors::default();
    let action = ctx.query.choice("action", ACTIONS, &mut errors);
    query_error(errors)?;
    Ok(action)
}

async fn list_all(axum::extract::State(app): axum::extract::State<App>, ctx: Ctx) -> ApiResult {
    let page = PageRequest::from_query(&ctx.query, &CREATED_ORDERING)?;
    let mut errors = Errors::default();
    let ticket_id = ctx.query.integer("ticket_id", &mut errors);
    query_error(errors)?;
    let store = app.store();
    let items = store
        .messages
        .values()
        .filter(|m| ticket_id.is_none_or(|t| m.ticket_id == t))
        .map(|m| (SortKey::time(Some(m.created)), m.id, store.message_json(m)))
        .collect();
    let page = paginate(items, &page);
    Ok(ok(envelope(&ctx.uri, page.items.clone(), page.meta())))
}

/// Deprecated per-ticket list. Paginated like the others when asked (`cursor`/`limit`), which
/// is how clients page it; the reference infers `{data}` for it, so the envelope is the same.
async fn list_for_ticket(
    axum::extract::State(app): axum::extract::State<App>,
    ids: Ids,
    ctx: Ctx,
) -> ApiResult {
    let ticket_id = ids.one();
    let page = PageRequest::from_query(&ctx.query, &CREATED_ORDERING)?;
    let store = app.store();
    if !store.tickets.contains_key(&ticket_id) {
        return Err(ApiError::NotFound);
    }
    let items = store
        .ticket_messages(ticket_id)
        .into_iter()
        .map(|m| (SortKey::time(Some(m.created)), m.id, store.message_json(m)))
        .collect();
    let page = paginate(items, &page);
    Ok(ok(envelope(&ctx.uri, page.items.clone(), page.meta())))
}

async fn create(
    axum::extract::State(app): axum::extract::State<App>,
    ids: Ids,
    ctx: Ctx,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let ticket_id = ids.one();
    read_action(&ctx)?;
    let (json, queued_id) = {
        let mut store = app.store();
        let ticket = store.tickets.get(&ticket_id).ok_or(ApiError::NotFound)?;
        let tctx = TicketContext {
            customer: ticket.customer_id.map(PartyRef::Customer),
            acting_user: ctx.principal.user_id,
        };
        let mut errors = Errors::default();
        let draft = read_draft(&store, &body, &tctx, &mut errors);
        errors.into_result("Failed to create message")?;
        let draft = draft.ok_or(ApiError::BadRequest("Failed to create message".into()))?;
        let id = commit(&mut store, ticket_id, &draft, ctx.principal.user_id, false);
        let m = store
            .messages
            .get(&id)
            .map(|m| store.message_json(m))
            .unwrap_or_default();
        (m, draft.is_queued().then_some(id))
    };
    schedule_sends(&app, queued_id.into_iter().collect());
    Ok(json_response(StatusCode::CREATED, json))
}

async fn get_one(axum::extract::State(app): axum::extract::State<App>, ids: Ids) -> ApiResult {
    let (ticket_id, id) = ids.two();
    let store = app.store();
    let m = store
        .messages
        .get(&id)
        .filter(|m| m.ticket_id == ticket_id)
        .ok_or(ApiError::NotFound)?;
    Ok(ok(store.message_json(m)))
}

/// PUT needs `channel` and `from_agent` (§1) and is otherwise partial. `?action=retry` resends
/// a failed reply, `force` keeps it as it is, `cancel` deletes it. Answers 202 with the message,
/// the status one client reports (§6.1 #47).
async fn update(
    axum::extract::State(app): axum::extract::State<App>,
    ids: Ids,
    ctx: Ctx,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let (ticket_id, id) = ids.two();
    let action = read_action(&ctx)?;
    let mut store = app.store();
    let existing = store
        .messages
        .get(&id)
        .filter(|m| m.ticket_id == ticket_id)
        .cloned()
        .ok_or(ApiError::NotFound)?;
    let msg = "Failed to update message";
    let mut input = Input::object(&body, msg)?;
    let channel = match input.value("channel") {
        Field::Set(Value::String(s))
            if CHANNELS.contains(&s.as_str()) || NEWER_CHANNELS.contains(&s.as_str()) =>
        {
            Some(s.clone())
        }
        Field::Set(_) => {
            input.errors.add("channel", validation::one_of(CHANNELS));
            None
        }
        _ => {
            input.errors.add("channel", MISSING);
            None
        }
    };
    let from_agent = input.required_boolean("from_agent");
    let via = input.choice("via", VIA_WRITE).value();
    let public = input.boolean("public").value();
    let subject = input.string("subject", 0, Some(998));
    let body_text = input.string("body_text", 0, None);
    let body_html = input.string("body_html", 0, None);
    let external_id = input.string("external_id", 0, Some(255));
    let sent = input.datetime("sent_datetime");
    let opened = input.datetime("opened_datetime");
    let meta = input.mapping("meta");
    let source = input.value("source");
    let mention_ids = input.integer_list("mention_ids").value();
    let macros = input.list("macros").value().cloned();
    input.ignore(&[
        "sender",
        "receiver",
        "integration_id",
        "attachments",
        "id",
        "uri",
        "ticket_id",
        "created_datetime",
    ]);
    input.finish(msg)?;
    if action.as_deref() == Some("cancel") {
        store.messages.remove(&id);
        let now = store.now();
        store.record_event(
            "ticket-message-deleted",
            "TicketMessage",
            id,
            Some(ctx.principal.user_id),
            json!({"ticket_id": ticket_id}),
            now,
        );
        return Ok(empty(StatusCode::NO_CONTENT));
    }
    let now = store.now();
    let retry = action.as_deref() == Some("retry") && existing.failed.is_some();
    if let Some(m) = store.messages.get_mut(&id) {
        if let Some(c) = channel {
            m.channel = c;
        }
        if let Some(f) = from_agent {
            m.from_agent = f;
        }
        if let Some(v) = via {
            m.via = v;
        }
        if let Some(p) = public {
            m.public = p && m.channel != "internal-note";
        }
        subject.apply_to(&mut m.subject);
        // The stripped bodies are derived from the bodies (as on create), so a new body
        // replaces them too rather than leaving the old text behind.
        if let Some(text) = body_text.sent() {
            m.stripped_text.clone_from(&text);
            m.body_text = text;
        }
        if let Some(html) = body_html.sent() {
            m.stripped_html.clone_from(&html);
            m.body_html = html;
        }
        external_id.apply_to(&mut m.external_id);
        sent.apply_to(&mut m.sent);
        opened.apply_to(&mut m.opened);
        if let Some(meta) = meta.sent() {
            m.meta = meta.map_or(Value::Null, |o| Value::Object(o.clone()));
        }
        if let Field::Set(s) = source {
            m.source = s.clone();
        }
        if let Some(ids) = mention_ids {
            m.mention_ids = ids;
        }
        if let Some(list) = macros {
            m.macros = list;
        }
        if retry {
            m.failed = None;
            m.last_sending_error = Value::Null;
            m.pending_send = true;
        }
    }
    if let Some(t) = store.tickets.get_mut(&ticket_id) {
        t.updated = now;
    }
    store.record_event(
        "ticket-message-updated",
        "TicketMessage",
        id,
        Some(ctx.principal.user_id),
        json!({"ticket_id": ticket_id}),
        now,
    );
    drop(store);
    if retry {
        schedule_sends(&app, vec![id]);
    }
    let store = app.store();
    let m = store.messages.get(&id).ok_or(ApiError::NotFound)?;
    Ok(json_response(StatusCode::ACCEPTED, store.message_json(m)))
}

/// §12 #14: 204 (the spec's pattern) rather than one client's 200 with an empty body.
async fn delete(
    axum::extract::State(app): axum::extract::State<App>,
    ids: Ids,
    ctx: Ctx,
) -> ApiResult<Response> {
    let (ticket_id, id) = ids.two();
    let mut store = app.store();
    if store
        .messages
        .get(&id)
        .is_none_or(|m| m.ticket_id != ticket_id)
    {
        return Err(ApiError::NotFound);
    }
    store.messages.remove(&id);
    let now = store.now();
    if let Some(t) = store.tickets.get_mut(&ticket_id) {
        t.updated = now;
    }
    store.record_event(
        "ticket-message-deleted",
        "TicketMessage",
        id,
        Some(ctx.principal.user_id),
        json!({"ticket_id": ticket_id}),
        now,
    );
    Ok(empty(StatusCode::NO_CONTENT))
}

pub fn routes() -> Router<App> {
    Router::new()
        .route("/messages", get(list_all))
        .route(
            "/tickets/{ticket_id}/messages",
            get(list_for_ticket).post(create),
        )
        .route(
            "/tickets/{ticket_id}/messages/{id}",
            get(get_one).put(update).delete(delete),
        )
}
