//! The account's data, in memory: typed records for the objects with behaviour (tickets,
//! messages, customers, users, teams, tags, custom fields, events) and JSON documents for the
//! configuration-like ones (macros, rules, views, widgets, integrations, jobs, surveys, account
//! settings, voice calls). Rendering to the API's JSON shapes lives next to the records.
//!
//! The store is plain data behind one `std::sync::Mutex` in `App`; it is never held across an
//! `.await`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::clock::Timestamp;

/// Where each kind of id starts, chosen to look like the magnitudes seen on real accounts
/// (reference §1). Distinct ranges make a customer id used as a ticket id a clean 404.
pub mod id_base {
    pub const TICKET: i64 = 170_000_000;
    pub const MESSAGE: i64 = 440_000_000;
    pub const CUSTOMER: i64 = 490_000_000;
    pub const CHANNEL: i64 = 613_000_000;
    pub const USER: i64 = 400_000_000;
    pub const TEAM: i64 = 30_000;
    pub const TAG: i64 = 1_150_000;
    pub const CUSTOM_FIELD: i64 = 4_000;
    pub const EVENT: i64 = 2_100_000_000;
    pub const MACRO: i64 = 250_000;
    pub const RULE: i64 = 180_000;
    pub const VIEW: i64 = 1_900_000;
    pub const WIDGET: i64 = 70_000;
    pub const INTEGRATION: i64 = 116_000;
    pub const JOB: i64 = 9_800_000;
    pub const SURVEY: i64 = 21_000_000;
    pub const SETTING: i64 = 55_000;
    pub const VOICE_CALL: i64 = 3_300_000;
    pub const VOICE_EVENT: i64 = 8_800_000;
    pub const RECORDING: i64 = 1_700_000;
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub firstname: String,
    pub lastname: String,
    pub role: String,
    pub active: bool,
    pub bio: Option<String>,
    pub country: Option<String>,
    pub external_id: Option<String>,
    pub language: Option<String>,
    pub timezone: Option<String>,
    pub meta: Value,
    pub has_password: bool,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub deactivated: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct Team {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub decoration: Value,
    pub members: Vec<i64>,
    pub created: Timestamp,
    pub updated: Timestamp,
}

#[derive(Debug, Clone)]
pub struct Tag {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub decoration: Value,
    pub created: Timestamp,
    pub deleted: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct CustomerChannel {
    pub id: i64,
    pub kind: String,
    pub address: String,
    pub preferred: bool,
    pub created: Timestamp,
    pub updated: Timestamp,
}

#[derive(Debug, Clone)]
pub struct Customer {
    pub id: i64,
    pub email: Option<String>,
    pub name: Option<String>,
    pub firstname: String,
    pub lastname: String,
    pub external_id: Option<String>,
    pub language: Option<String>,
    pub timezone: Option<String>,
    pub note: Option<String>,
    pub meta: Value,
    pub data: Value,
    pub data_version: Option<Timestamp>,
    /// Integration data about the customer, keyed by integration id (e.g. Shopify orders).
    pub integrations: Map<String, Value>,
    pub channels: Vec<CustomerChannel>,
    pub custom_fields: BTreeMap<i64, Value>,
    pub active: bool,
    pub created: Timestamp,
    pub updated: Timestamp,
}

#[derive(Debug, Clone)]
pub struct CustomField {
    pub id: i64,
    pub object_type: String,
    pub label: String,
    pub description: Option<String>,
    pub external_id: Option<String>,
    pub priority: i64,
    pub required: bool,
    pub requirement_type: String,
    pub managed_type: Option<String>,
    pub definition: Value,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub deactivated: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct Ticket {
    pub id: i64,
    pub external_id: Option<String>,
    pub status: String,
    pub priority: String,
    pub channel: String,
    pub via: String,
    pub from_agent: bool,
    pub spam: bool,
    pub language: Option<String>,
    pub subject: Option<String>,
    pub summary: Value,
    pub customer_id: Option<i64>,
    pub assignee_user_id: Option<i64>,
    pub assignee_team_id: Option<i64>,
    pub tags: Vec<i64>,
    pub custom_fields: BTreeMap<i64, Value>,
    pub meta: Value,
    pub is_unread: bool,
    pub imported: bool,
    pub created: Timestamp,
    pub opened: Option<Timestamp>,
    pub last_received_message: Option<Timestamp>,
    pub last_message: Option<Timestamp>,
    pub updated: Timestamp,
    pub closed: Option<Timestamp>,
    pub snooze: Option<Timestamp>,
    pub trashed: Option<Timestamp>,
    pub processed: Option<Timestamp>,
    /// Rules whose conditions matched this ticket (for `GET /api/tickets?rule_id=`).
    pub matched_rules: BTreeSet<i64>,
}

/// Who wrote or receives a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    User(i64),
    Customer(i64),
}

#[derive(Debug, Clone)]
pub struct Message {
    pub id: i64,
    pub ticket_id: i64,
    pub message_id: Option<String>,
    pub external_id: Option<String>,
    pub public: bool,
    pub channel: String,
    pub via: String,
    pub source: Value,
    pub sender: Option<Party>,
    pub receiver: Option<Party>,
    pub integration_id: Option<i64>,
    pub from_agent: bool,
    pub subject: Option<String>,
    pub body_text: Option<String>,
    pub body_html: Option<String>,
    pub stripped_text: Option<String>,
    pub stripped_html: Option<String>,
    pub stripped_signature: Option<String>,
    pub attachments: Vec<Value>,
    pub intents: Vec<Value>,
    pub rule_id: Option<i64>,
    pub macros: Vec<Value>,
    pub actions: Value,
    pub meta: Value,
    pub headers: Value,
    pub mention_ids: Vec<i64>,
    pub imported: bool,
    pub created: Timestamp,
    pub sent: Option<Timestamp>,
    pub failed: Option<Timestamp>,
    pub opened: Option<Timestamp>,
    pub last_sending_error: Value,
    pub is_retriable: bool,
    /// Queued for sending (an outgoing reply without `sent_datetime`, not yet sent or failed).
    pub pending_send: bool,
}

impl Message {
    /// Internal notes are never sent and do not move `last_message_datetime`.
    pub fn is_internal_note(&self) -> bool {
        self.channel == "internal-note" || !self.public
    }
}

#[derive(Debug, Clone)]
pub struct Event {
    pub id: i64,
    pub context: String,
    pub created: Timestamp,
    pub data: Value,
    pub object_id: i64,
    pub object_type: String,
    pub kind: String,
    pub user_id: Option<i64>,
}

/// A stored upload (`POST /api/upload`), downloadable through the API.
#[derive(Debug, Clone)]
pub struct Upload {
    pub file_type: String,
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// JSON documents of one resource kind, keyed by id. Each document holds its own `id`.
pub type Docs = BTreeMap<i64, Map<String, Value>>;

#[derive(Debug, Default)]
pub struct Counters(BTreeMap<&'static str, i64>);

impl Counters {
    pub fn next(&mut self, kind: &'static str, base: i64) -> i64 {
        let n = self.0.entry(kind).or_insert(base);
        *n += 1;
        *n
    }
}

/// Everything one sandbox account holds.
#[derive(Debug, Default)]
pub struct Store {
    pub subdomain: String,
    pub account_created: Timestamp,
    pub counters: Counters,
    last_now: Timestamp,
    /// Fixed "now" while seeding (seeded objects are placed in the past).
    pub frozen_now: Option<Timestamp>,
    event_context: u64,
    pub users: BTreeMap<i64, User>,
    pub teams: BTreeMap<i64, Team>,
    pub tags: BTreeMap<i64, Tag>,
    pub customers: BTreeMap<i64, Customer>,
    pub custom_fields: BTreeMap<i64, CustomField>,
    pub tickets: BTreeMap<i64, Ticket>,
    pub messages: BTreeMap<i64, Message>,
    pub events: BTreeMap<i64, Event>,
    pub macros: Docs,
    pub rules: Docs,
    pub views: Docs,
    pub widgets: Docs,
    pub integrations: Docs,
    pub jobs: Docs,
    pub surveys: Docs,
    pub settings: Docs,
    pub voice_calls: Docs,
    pub voice_call_events: Docs,
    pub recordings: Docs,
    pub uploads: BTreeMap<String, Upload>,
    /// Outgoing replies that must fail when sent (fault injection), with their error text.
    pub forced_send_failures: Vec<String>,
}

impl Store {
    pub fn new(subdomain: &str) -> Self {
        Store {
            subdomain: subdomain.to_owned(),
            ..Store::default()
        }
    }

    /// The current instant, strictly increasing across calls so creation order is total.
    pub fn now(&mut self) -> Timestamp {
        if let Some(t) = self.frozen_now {
            return t;
        }
        let wall = Timestamp::wall_clock();
        let t = if wall > self.last_now {
            wall
        } else {
            self.last_now.plus_micros(1)
        };
        self.last_now = t;
        t
    }

    pub fn next_id(&mut self, kind: &'static str, base: i64) -> i64 {
        self.counters.next(kind, base)
    }

    /// A uuid4-shaped id that groups a chain of events; derived from a counter so it is
    /// deterministic for a seed.
    pub fn new_event_context(&mut self) -> String {
        self.event_context += 1;
        let n = self.event_context;
        let a = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5851_F42D_4C95_7F2D;
        let b = a.rotate_left(17).wrapping_mul(0xD6E8_FEB8_6659_FD93);
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            (a >> 32) as u32,
            (a >> 16) as u16,
            (a & 0xfff) as u16,
            0x8000 | ((b >> 48) as u16 & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }

    /// Records an event; every write path calls this (reference §6.5).
    pub fn record_event(
        &mut self,
        kind: &str,
        object_type: &str,
        object_id: i64,
        user_id: Option<i64>,
        data: Value,
        at: Timestamp,
    ) -> i64 {
        let id = self.next_id("event", id_base::EVENT);
        let context = self.new_event_context();
        self.events.insert(
            id,
            Event {
                id,
                context,
                created: at,
                data,
                object_id,
                object_type: object_type.to_owned(),
                kind: kind.to_owned(),
                user_id,
            },
        );
        id
    }

    // ---- compact renderings used inside other objects -------------------------------------

    /// A user as embedded in tickets and messages: `{id,email,name,firstname,lastname,meta}`.
    pub fn user_compact(&self, id: i64) -> Value {
        match self.users.get(&id) {
            Some(u) => {
                json!({"id": u.id, "email": u.email, "name": u.name, "firstname": u.firstname,
                "lastname": u.lastname, "meta": u.meta})
            }
            None => {
                json!({"id": id, "email": null, "name": null, "firstname": null, "lastname": null, "meta": null})
            }
        }
    }

    pub fn assignee_user(&self, id: i64) -> Value {
        let mut v = self.user_compact(id);
        v["bio"] = self.users.get(&id).map_or(Value::Null, |u| json!(u.bio));
        v
    }

    pub fn customer_compact(&self, id: i64) -> Value {
        match self.customers.get(&id) {
            Some(c) => {
                json!({"id": c.id, "email": c.email, "name": c.name, "firstname": c.firstname,
                "lastname": c.lastname, "meta": c.meta})
            }
            None => Value::Null,
        }
    }

    pub fn party_compact(&self, party: Option<Party>) -> Value {
        match party {
            Some(Party::User(id)) => self.user_compact(id),
            Some(Party::Customer(id)) => self.customer_compact(id),
            None => Value::Null,
        }
    }

    pub fn team_compact(&self, id: i64) -> Value {
        match self.teams.get(&id) {
            Some(t) => json!({"id": t.id, "name": t.name, "decoration": t.decoration}),
            None => Value::Null,
        }
    }

    pub fn tag_compact(&self, id: i64) -> Value {
        match self.tags.get(&id) {
            Some(t) => json!({"id": t.id, "name": t.name, "decoration": t.decoration}),
            None => Value::Null,
        }
    }

    pub fn tag_usage(&self, id: i64) -> usize {
        self.tickets
            .values()
            .filter(|t| t.tags.contains(&id))
            .count()
    }

    pub fn tag_json(&self, tag: &Tag) -> Value {
        json!({"id": tag.id, "name": tag.name, "description": tag.description,
            "decoration": tag.decoration, "usage": self.tag_usage(tag.id),
            "uri": format!("/api/tags/{}/", tag.id), "created_datetime": tag.created,
            "deleted_datetime": tag.deleted})
    }

    pub fn tag_by_name(&self, name: &str) -> Option<i64> {
        self.tags
            .values()
            .find(|t| t.name == name && t.deleted.is_none())
            .map(|t| t.id)
    }

    /// Finds a tag by its (case-sensitive) name, creating it if missing.
    pub fn ensure_tag(
        &mut self,
        name: &str,
        decoration: Option<Value>,
        user_id: Option<i64>,
    ) -> i64 {
        if let Some(id) = self.tag_by_name(name) {
            return id;
        }
        let now = self.now();
        let id = self.next_id("tag", id_base::TAG);
        self.tags.insert(
            id,
            Tag {
                id,
                name: name.to_owned(),
                description: None,
                decoration: decoration.unwrap_or_else(|| json!({})),
                created: now,
                deleted: None,
            },
        );
        self.record_event(
            "tag-created",
            "Tag",
            id,
            user_id,
            json!({"name": name}),
            now,
        );
        id
    }

    pub fn user_json(&self, u: &User) -> Value {
        json!({"id": u.id, "active": u.active, "bio": u.bio, "country": u.country,
            "created_datetime": u.created, "updated_datetime": u.updated,
            "deactivated_datetime": u.deactivated, "email": u.email, "external_id": u.external_id,
            "firstname": u.firstname, "lastname": u.lastname, "name": u.name,
            "has_password": u.has_password, "has_2fa_enabled": false, "language": u.language,
            "meta": u.meta, "role": {"name": u.role}, "timezone": u.timezone,
            // Seen as an absolute URL on create (reference §9.2).
            "uri": format!("https://{}.gorgias.com/api/users/{}/", self.subdomain, u.id)})
    }

    pub fn team_json(&self, t: &Team) -> Value {
        let members: Vec<Value> = t
            .members
            .iter()
            .filter_map(|id| self.users.get(id))
            .map(|u| json!({"id": u.id, "name": u.name, "email": u.email, "meta": u.meta}))
            .collect();
        json!({"id": t.id, "name": t.name, "description": t.description, "decoration": t.decoration,
            "members": members, "created_datetime": t.created, "updated_datetime": t.updated,
            "uri": format!("/api/teams/{}/", t.id)})
    }

    pub fn custom_field_json(&self, f: &CustomField) -> Value {
        json!({"id": f.id, "object_type": f.object_type, "label": f.label,
            "description": f.description, "external_id": f.external_id, "priority": f.priority,
            "required": f.required, "requirement_type": f.requirement_type,
            "managed_type": f.managed_type, "definition": f.definition,
            "created_datetime": f.created, "updated_datetime": f.updated,
            "deactivated_datetime": f.deactivated, "uri": format!("/api/custom-fields/{}/", f.id)})
    }

    pub fn channel_json(&self, c: &CustomerChannel, customer: &Customer) -> Value {
        json!({"id": c.id, "type": c.kind, "address": c.address, "preferred": c.preferred,
            "created_datetime": c.created, "updated_datetime": c.updated, "deleted_datetime": null,
            "user": {"id": customer.id, "name": customer.name},
            "customer": {"id": customer.id, "name": customer.name}})
    }

    /// Custom-field values keyed by field id: `{"123": {"id":123, "value":...}}`.
    pub fn field_values_map(values: &BTreeMap<i64, Value>) -> Value {
        let map: Map<String, Value> = values
            .iter()
            .map(|(id, v)| (id.to_string(), json!({"id": id, "value": v})))
            .collect();
        Value::Object(map)
    }

    /// The full customer (reference §9.1).
    pub fn customer_json(&self, c: &Customer, with_custom_fields: bool) -> Value {
        let channels: Vec<Value> = c
            .channels
            .iter()
            .map(|ch| self.channel_json(ch, c))
            .collect();
        let mut v = json!({"id": c.id, "email": c.email, "name": c.name, "firstname": c.firstname,
            "lastname": c.lastname, "active": c.active, "meta": c.meta, "channels": channels,
            "data": c.data, "customer": null, "integrations": c.integrations,
            "external_id": c.external_id, "note": c.note, "language": c.language,
            "timezone": c.timezone, "external_data": {}, "ecommerce_data": {},
            "created_datetime": c.created, "updated_datetime": c.updated,
            "uri": format!("/api/customers/{}/", c.id)});
        if with_custom_fields {
            v["custom_fields"] = Self::field_values_map(&c.custom_fields);
        }
        v
    }

    pub fn integration_compact(&self, id: i64) -> Option<Value> {
        let doc = self.integrations.get(&id)?;
        Some(
            json!({"name": doc.get("name"), "address": doc.get("meta").and_then(|m| m.get("address")),
            "type": doc.get("type")}),
        )
    }

    /// An email integration's address, when `id` is one.
    pub fn email_integration_address(&self, id: i64) -> Option<String> {
        let doc = self.integrations.get(&id)?;
        if !matches!(
            doc.get("type").and_then(Value::as_str),
            Some("email" | "gmail" | "outlook")
        ) {
            return None;
        }
        if doc
            .get("deactivated_datetime")
            .is_some_and(|v| !v.is_null())
        {
            return None;
        }
        doc.get("meta")?.get("address")?.as_str().map(str::to_owned)
    }

    /// The active email integration whose address is `address` (case-insensitive).
    pub fn email_integration_by_address(&self, address: &str) -> Option<i64> {
        self.integrations.keys().copied().find(|id| {
            self.email_integration_address(*id)
                .is_some_and(|a| a.eq_ignore_ascii_case(address))
        })
    }

    /// An active integration of one of `types`.
    pub fn integration_of_type(&self, types: &[&str]) -> Option<i64> {
        self.integrations.iter().find_map(|(id, doc)| {
            let ty = doc.get("type").and_then(Value::as_str)?;
            let active = doc.get("deactivated_datetime").is_none_or(Value::is_null);
            (active && types.contains(&ty)).then_some(*id)
        })
    }

    pub fn message_json(&self, m: &Message) -> Value {
        json!({"id": m.id, "uri": format!("/api/tickets/{}/messages/{}/", m.ticket_id, m.id),
            "ticket_id": m.ticket_id, "message_id": m.message_id, "external_id": m.external_id,
            "public": m.public, "channel": m.channel, "via": m.via, "source": m.source,
            "sender": self.party_compact(m.sender), "receiver": self.party_compact(m.receiver),
            "integration_id": m.integration_id, "from_agent": m.from_agent, "subject": m.subject,
            "body_text": m.body_text, "body_html": m.body_html, "stripped_text": m.stripped_text,
            "stripped_html": m.stripped_html, "stripped_signature": m.stripped_signature,
            "attachments": m.attachments, "intents": m.intents, "rule_id": m.rule_id,
            "macros": m.macros, "actions": m.actions, "meta": m.meta, "headers": m.headers,
            "mention_ids": m.mention_ids, "imported": m.imported,
            "created_datetime": m.created, "sent_datetime": m.sent, "failed_datetime": m.failed,
            "opened_datetime": m.opened, "deleted_datetime": null,
            "last_sending_error": m.last_sending_error, "is_retriable": m.is_retriable})
    }

    /// A ticket's messages, oldest first.
    pub fn ticket_messages(&self, ticket_id: i64) -> Vec<&Message> {
        let mut msgs: Vec<&Message> = self
            .messages
            .values()
            .filter(|m| m.ticket_id == ticket_id)
            .collect();
        msgs.sort_by_key(|m| (m.created, m.id));
        msgs
    }

    pub fn survey_for_ticket(&self, ticket_id: i64) -> Option<&Map<String, Value>> {
        self.surveys
            .values()
            .find(|s| s.get("ticket_id").and_then(Value::as_i64) == Some(ticket_id))
    }

    fn ticket_base(&self, t: &Ticket) -> Map<String, Value> {
        let tags: Vec<Value> = t
            .tags
            .iter()
            .map(|id| self.tag_compact(*id))
            .filter(|v| !v.is_null())
            .collect();
        let v = json!({"id": t.id, "uri": format!("/api/tickets/{}/", t.id),
            "external_id": t.external_id, "language": t.language, "status": t.status,
            "priority": t.priority, "channel": t.channel, "via": t.via, "from_agent": t.from_agent,
            "customer": Value::Null,
            "assignee_user": t.assignee_user_id.map_or(Value::Null, |id| self.assignee_user(id)),
            "assignee_team": t.assignee_team_id.map_or(Value::Null, |id| self.team_compact(id)),
            "subject": t.subject, "summary": t.summary, "meta": t.meta, "tags": tags,
            "is_unread": t.is_unread, "spam": t.spam,
            "created_datetime": t.created, "opened_datetime": t.opened,
            "last_received_message_datetime": t.last_received_message,
            "last_message_datetime": t.last_message, "updated_datetime": t.updated,
            "closed_datetime": t.closed, "snooze_datetime": t.snooze,
            "trashed_datetime": t.trashed});
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    /// The compact ticket of lists and view items (reference §7.2).
    pub fn ticket_compact(&self, t: &Ticket) -> Value {
        let mut m = self.ticket_base(t);
        m.insert(
            "customer".into(),
            t.customer_id
                .map_or(Value::Null, |id| self.customer_compact(id)),
        );
        let msgs = self.ticket_messages(t.id);
        let excerpt = msgs
            .iter()
            .rev()
            .find(|m| !m.is_internal_note())
            .or(msgs.last())
            .and_then(|m| {
                m.body_text
                    .clone()
                    .or_else(|| m.body_html.as_deref().map(strip_html))
            })
            .map(|s| s.chars().take(200).collect::<String>());
        let mut integrations: Vec<Value> = Vec::new();
        for m in &msgs {
            if let Some(iid) = m.integration_id
                && let Some(v) = self.integration_compact(iid)
                && !integrations.contains(&v)
            {
                integrations.push(v);
            }
        }
        let last_sent_not_delivered = msgs
            .iter()
            .rev()
            .find(|m| m.from_agent && !m.is_internal_note())
            .is_some_and(|m| m.failed.is_some());
        m.insert("excerpt".into(), json!(excerpt));
        m.insert("integrations".into(), json!(integrations));
        m.insert("messages_count".into(), json!(msgs.len()));
        m.insert(
            "last_sent_message_not_delivered".into(),
            json!(last_sent_not_delivered),
        );
        Value::Object(m)
    }

    /// Which channels can answer the ticket (reference §7.1 `reply_options`).
    pub fn reply_options(&self, t: &Ticket) -> Value {
        let customer = t.customer_id.and_then(|id| self.customers.get(&id));
        let has_email = customer
            .is_some_and(|c| c.email.is_some() || c.channels.iter().any(|ch| ch.kind == "email"));
        let email_integration = self
            .integration_of_type(&["email", "gmail", "outlook"])
            .is_some();
        let mut opts = Map::new();
        let email = if !email_integration {
            json!({"answerable": false, "reason": "There is no active email integration."})
        } else if !has_email {
            json!({"answerable": false, "reason": "The customer has no email address."})
        } else {
            json!({"answerable": true})
        };
        opts.insert("email".into(), email);
        if t.channel != "email" && t.channel != "internal-note" {
            let answerable = crate::resources::messages::channel_integration_types(&t.channel)
                .is_some_and(|types| self.integration_of_type(types).is_some());
            opts.insert(t.channel.clone(), json!({"answerable": answerable}));
        }
        opts.insert("internal-note".into(), json!({"answerable": true}));
        Value::Object(opts)
    }

    /// The full ticket (reference §7.1).
    pub fn ticket_json(&self, t: &Ticket, with_custom_fields: bool) -> Value {
        let mut m = self.ticket_base(t);
        let customer = t
            .customer_id
            .and_then(|id| self.customers.get(&id))
            .map_or(Value::Null, |c| self.customer_json(c, false));
        m.insert("customer".into(), customer.clone());
        m.insert("requester".into(), customer);
        m.insert("assignee_user_id".into(), json!(t.assignee_user_id));
        m.insert("assignee_team_id".into(), json!(t.assignee_team_id));
        let messages: Vec<Value> = self
            .ticket_messages(t.id)
            .iter()
            .map(|m| self.message_json(m))
            .collect();
        m.insert("messages".into(), json!(messages));
        m.insert("events".into(), json!([]));
        m.insert(
            "satisfaction_survey".into(),
            self.survey_for_ticket(t.id)
                .map_or(Value::Null, |s| Value::Object(s.clone())),
        );
        m.insert("reply_options".into(), self.reply_options(t));
        m.insert("imported".into(), json!(t.imported));
        m.insert("processed_datetime".into(), json!(t.processed));
        if with_custom_fields {
            m.insert(
                "custom_fields".into(),
                Self::field_values_map(&t.custom_fields),
            );
        }
        Value::Object(m)
    }

    pub fn event_json(&self, e: &Event) -> Value {
        json!({"id": e.id, "context": e.context, "created_datetime": e.created, "data": e.data,
            "object_id": e.object_id, "object_type": e.object_type, "type": e.kind,
            "user_id": e.user_id, "uri": format!("/api/events/{}/", e.id)})
    }

    /// The customer whose email or email channel is `address` (case-insensitive).
    pub fn customer_by_email(&self, address: &str) -> Option<i64> {
        self.customers.values().find_map(|c| {
            let by_email = c
                .email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(address));
            let by_channel = c
                .channels
                .iter()
                .any(|ch| ch.kind == "email" && ch.address.eq_ignore_ascii_case(address));
            (by_email || by_channel).then_some(c.id)
        })
    }

    pub fn user_by_email(&self, address: &str) -> Option<i64> {
        self.users
            .values()
            .find(|u| u.email.eq_ignore_ascii_case(address))
            .map(|u| u.id)
    }

    /// Creates a customer with an email channel; the minimal path used by message senders.
    pub fn create_customer_from_contact(
        &mut self,
        email: Option<&str>,
        name: Option<&str>,
        user_id: Option<i64>,
    ) -> i64 {
        let now = self.now();
        let id = self.next_id("customer", id_base::CUSTOMER);
        let (firstname, lastname) = split_name(name.unwrap_or(""));
        let mut channels = Vec::new();
        if let Some(e) = email {
            let cid = self.next_id("channel", id_base::CHANNEL);
            channels.push(CustomerChannel {
                id: cid,
                kind: "email".into(),
                address: e.to_owned(),
                preferred: true,
                created: now,
                updated: now,
            });
        }
        self.customers.insert(
            id,
            Customer {
                id,
                email: email.map(str::to_owned),
                name: name.map(str::to_owned),
                firstname,
                lastname,
                external_id: None,
                language: None,
                timezone: None,
                note: None,
                meta: json!({"name_set_via": if name.is_some() { "email" } else { "agent" }}),
                data: Value::Null,
                data_version: None,
                integrations: Map::new(),
                channels,
                custom_fields: BTreeMap::new(),
                active: true,
                created: now,
                updated: now,
            },
        );
        self.record_event("customer-created", "Customer", id, user_id, json!({}), now);
        id
    }

    pub fn doc_json(docs: &Docs, id: i64) -> Option<Value> {
        docs.get(&id).map(|d| Value::Object(d.clone()))
    }
}

/// Splits a full name into first and last name the way Gorgias did for `John Doe` (§9.2).
pub fn split_name(name: &str) -> (String, String) {
    let name = name.trim();
    match name.split_once(' ') {
        Some((first, last)) => (first.to_owned(), last.trim().to_owned()),
        None => (name.to_owned(), String::new()),
    }
}

/// Text of an HTML body, for excerpts and searches.
pub fn strip_html(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&nbsp;", " ")
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

pub fn doc_time(doc: &Map<String, Value>, key: &str) -> Option<Timestamp> {
    doc.get(key)
        .and_then(Value::as_str)
        .and_then(Timestamp::parse)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_like_gorgias() {
        assert_eq!(split_name("John Doe"), ("John".into(), "Doe".into()));
        assert_eq!(split_name("Cher"), ("Cher".into(), String::new()));
        assert_eq!(
            split_name("Anne Marie Dupont"),
            ("Anne".into(), "Marie Dupont".into())
        );
    }

    #[test]
    fn event_contexts_look_like_uuid4() {
        let mut s = Store::new("acme");
        let a = s.new_event_context();
        let b = s.new_event_context();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
    }

    #[test]
    fn now_is_strictly_increasing() {
        let mut s = Store::new("acme");
        let a = s.now();
        let b = s.now();
        assert!(b > a);
    }
}
