//! Customers (reference §6.3, §9.1): list, create, get, partial update, delete (single and
//! bulk), merge, integration data, and customer custom-field values.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, put};
use serde_json::{Map, Value, json};

use crate::app::{App, Ctx, Ids, JsonBody, empty, json_response, ok};
use crate::clock::Timestamp;
use crate::errors::{ApiError, ApiResult};
use crate::pagination::{Ordering, PageRequest, SortKey, envelope, paginate, query_error};
use crate::resources::field_values::{self, Owner};
use crate::resources::{LANGUAGES, custom_fields, is_timezone, view_filter};
use crate::store::{Customer, CustomerChannel, Store, id_base, split_name};
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

async fn list(State(app): State<App>, ctx: Ctx) -> ApiResult {
    let page = PageRequest::from_query(&ctx.query, &ORDERING)?;
    let q = &ctx.query;
    let mut errors = Errors::default();
    let view_id = q.integer("view_id", &mut errors);
    let channel_type = q.get("channel_type");
    let channel_address = q.get("channel_address");
    if channel_address.is_some_and(|a| a.chars().count() > 320) {
        errors.add("channel_address", validation::longer_than(320));
    }
    let store = app.store();
    let view = match view_id {
        Some(id) => match store.views.get(&id) {
            Some(v) => v
                .get("filters")
                .and_then(Value::as_str)
                .filter(|f| !f.trim().is_empty())
                .map(|f| view_filter::parse(f, ctx.principal.user_id))
                .transpose()
                .map_err(|e| {
                    ApiError::field("Invalid query parameters.", "view_id", &e.to_string())
                })?,
            None => {
                errors.add("view_id", "View not found.");
                None
            }
        },
        None => None,
    };
    query_error(errors)?;
    let now = Timestamp::wall_clock();
    let items = store
        .customers
        .values()
        .filter(|c| {
            q.get("email").is_none_or(|e| {
                c.email
                    .as_deref()
                    .is_some_and(|ce| ce.eq_ignore_ascii_case(e))
            })
        })
        .filter(|c| {
            q.get("external_id")
                .is_none_or(|e| c.external_id.as_deref() == Some(e))
        })
        .filter(|c| q.get("name").is_none_or(|n| c.name.as_deref() == Some(n)))
        .filter(|c| {
            q.get("language")
                .is_none_or(|l| c.language.as_deref() == Some(l))
        })
        .filter(|c| {
            q.get("timezone")
                .is_none_or(|t| c.timezone.as_deref() == Some(t))
        })
        .filter(|c| {
            c.channels.iter().any(|ch| {
                channel_type.is_none_or(|t| ch.kind == t)
                    && channel_address.is_none_or(|a| ch.address.eq_ignore_ascii_case(a))
            }) || (channel_type.is_none() && channel_address.is_none())
        })
        .map(|c| (c, store.customer_json(c, false)))
        .filter(|(_, json)| {
            view.as_ref()
                .is_none_or(|e| view_filter::eval(e, json, now))
        })
        .map(|(c, json)| {
            let key = if page.order.field == "updated_datetime" {
                c.updated
            } else {
                c.created
            };
            (SortKey::time(Some(key)), c.id, json)
        })
        .collect();
    let page = paginate(items, &page);
    Ok(ok(envelope(&ctx.uri, page.items.clone(), page.meta())))
}

struct CustomerPatch {
    email: Field<String>,
    name: Field<String>,
    firstname: Field<String>,
    lastname: Field<String>,
    external_id: Field<String>,
    language: Field<String>,
    timezone: Field<String>,
    note: Field<String>,
    meta: Field<Value>,
    data: Field<Value>,
    channels: Option<Vec<(String, String, bool)>>,
    custom_fields: Option<BTreeMap<i64, Value>>,
}

fn read_patch(store: &Store, input: &mut Input<'_>) -> CustomerPatch {
    let email = input.string("email", 0, Some(320));
    if let Field::Set(e) = &email
        && !e.is_empty()
        && !looks_like_email(e)
    {
        input.errors.add("email", "Not a valid email address.");
    }
    let language = match input.string("language", 0, None) {
        Field::Set(l) if !LANGUAGES.contains(&l.as_str()) => {
            input
                .errors
                .add("language", "Must be one of the ISO 639-1 language codes.");
            Field::Missing
        }
        other => other,
    };
    let timezone = match input.string("timezone", 0, None) {
        Field::Set(t) if !is_timezone(&t) => {
            input.errors.add("timezone", "Not a valid timezone.");
            Field::Missing
        }
        other => other,
    };
    let channels = match input.list("channels") {
        Field::Set(list) => {
            let mut out = Vec::new();
            let mut e = Errors::default();
            for (i, item) in list.iter().enumerate() {
                let Some(mut ch) = Input::nested(item) else {
                    e.add(&i.to_string(), validation::INVALID_INPUT);
                    continue;
                };
                let kind = ch.required_string("type", 1, Some(64));
                let address = ch.required_string("address", 1, Some(320));
                let preferred = ch.boolean("preferred").value().unwrap_or(true);
                ch.ignore(&[
                    "id",
                    "created_datetime",
                    "updated_datetime",
                    "deleted_datetime",
                    "user",
                    "customer",
                ]);
                let ce = ch.into_errors();
                if let (Some(k), Some(a), true) = (kind, address, ce.is_empty()) {
                    out.push((k, a, preferred));
                }
                e.nest(&i.to_string(), ce);
            }
            input.errors.nest("channels", e);
            Some(out)
        }
        Field::Null => Some(Vec::new()),
        Field::Missing => None,
    };
    let custom_fields = match input.list("custom_fields") {
        Field::Set(list) => {
            let mut e = Errors::default();
            let v = custom_fields::read_values(store, list, "Customer", &mut e);
            input.errors.nest("custom_fields", e);
            Some(v)
        }
        _ => None,
    };
    let meta = match input.mapping("meta") {
        Field::Set(m) => Field::Set(Value::Object(m.clone())),
        Field::Null => Field::Null,
        Field::Missing => Field::Missing,
    };
    let data = match input.value("data") {
        Field::Set(v) => Field::Set(v.clone()),
        Field::Null => Field::Null,
        Field::Missing => Field::Missing,
    };
    // Read-only keys of the customer object that clients echo back.
    input.ignore(&[
        "id",
        "uri",
        "created_datetime",
        "updated_datetime",
        "active",
        "customer",
        "integrations",
        "external_data",
        "ecommerce_data",
    ]);
    CustomerPatch {
        email,
        name: input.string("name", 0, Some(255)),
        firstname: input.string("firstname", 0, Some(255)),
        lastname: input.string("lastname", 0, Some(255)),
        external_id: input.string("external_id", 0, Some(255)),
        language,
        timezone,
        note: input.string("note", 0, None),
        meta,
        data,
        channels,
        custom_fields,
    }
}

fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !s.contains(' ')
        }
        None => false,
    }
}

/// Another customer already owning one of these addresses: 409 **[inferred]** (§4.1).
fn address_conflict(
    store: &Store,
    me: Option<i64>,
    addresses: &[(String, String)],
) -> Option<String> {
    for c in store.customers.values() {
        if Some(c.id) == me {
            continue;
        }
        for (kind, addr) in addresses {
            if c.channels
                .iter()
                .any(|ch| &ch.kind == kind && ch.address.eq_ignore_ascii_case(addr))
            {
                return Some(format!(
                    "A customer with the {kind} address {addr} already exists."
                ));
            }
        }
    }
    None
}

fn apply(store: &mut Store, c: &mut Customer, p: CustomerPatch, now: Timestamp) {
    p.name.clone().apply_to(&mut c.name);
    if let Some(name) = p.name.clone().value()
        && p.firstname.is_missing()
        && p.lastname.is_missing()
    {
        let (f, l) = split_name(&name);
        c.firstname = f;
        c.lastname = l;
        c.meta = merge_meta(&c.meta, "name_set_via", "agent");
    }
    if let Some(f) = p.firstname.sent() {
        c.firstname = f.unwrap_or_default();
    }
    if let Some(l) = p.lastname.sent() {
        c.lastname = l.unwrap_or_default();
    }
    p.external_id.apply_to(&mut c.external_id);
    p.language.apply_to(&mut c.language);
    p.timezone.apply_to(&mut c.timezone);
    p.note.apply_to(&mut c.note);
    if let Some(m) = p.meta.sent() {
        c.meta = m.unwrap_or(Value::Null);
    }
    if let Some(d) = p.data.sent() {
        c.data = d.unwrap_or(Value::Null);
    }
    if let Some(channels) = p.channels {
        // `channels` replaces all channels (§6.3).
        c.channels = channels
            .into_iter()
            .map(|(kind, address, preferred)| {
                let existing = c
                    .channels
                    .iter()
                    .find(|ch| ch.kind == kind && ch.address == address)
                    .map(|ch| ch.id);
                CustomerChannel {
                    id: existing.unwrap_or_else(|| store.next_id("channel", id_base::CHANNEL)),
                    kind,
                    address,
                    preferred,
                    created: now,
                    updated: now,
                }
            })
            .collect();
        if p.email.is_missing() {
            c.email = c
                .channels
                .iter()
                .find(|ch| ch.kind == "email")
                .map(|ch| ch.address.clone());
        }
    }
    if let Some(email) = p.email.sent() {
        c.email = email.filter(|e| !e.is_empty());
        if let Some(e) = &c.email
            && !c
                .channels
                .iter()
                .any(|ch| ch.kind == "email" && ch.address.eq_ignore_ascii_case(e))
        {
            c.channels.push(CustomerChannel {
                id: store.next_id("channel", id_base::CHANNEL),
                kind: "email".into(),
                address: e.clone(),
                preferred: true,
                created: now,
                updated: now,
            });
        }
    }
    if let Some(cf) = p.custom_fields {
        for (id, v) in cf {
            if v.is_null() {
                c.custom_fields.remove(&id);
            } else {
                c.custom_fields.insert(id, v);
            }
        }
    }
    c.updated = now;
}

fn merge_meta(meta: &Value, key: &str, value: &str) -> Value {
    let mut m = meta.as_object().cloned().unwrap_or_default();
    m.insert(key.to_owned(), json!(value));
    Value::Object(m)
}

fn patch_addresses(p: &CustomerPatch) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = p
        .channels
        .as_ref()
        .map(|chs| chs.iter().map(|(k, a, _)| (k.clone(), a.clone())).collect())
        .unwrap_or_default();
    if let Field::Set(e) = &p.email
        && !e.is_empty()
    {
        out.push(("email".into(), e.clone()));
    }
    out
}

async fn create(State(app): State<App>, ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult {
    let msg = "Failed to create customer";
    let mut store = app.store();
    let mut input = Input::object(&body, msg)?;
    let patch = read_patch(&store, &mut input);
    input.finish(msg)?;
    if let Some(conflict) = address_conflict(&store, None, &patch_addresses(&patch)) {
        return Err(ApiError::Conflict(conflict));
    }
    let now = store.now();
    let id = store.next_id("customer", id_base::CUSTOMER);
    // Obs: a customer created with only channels has name null, firstname/lastname "",
    // language and timezone null, meta {"name_set_via":"agent"}.
    let mut c = Customer {
        id,
        email: None,
        name: None,
        firstname: String::new(),
        lastname: String::new(),
        external_id: None,
        language: None,
        timezone: None,
        note: None,
        meta: json!({"name_set_via": "agent"}),
        data: Value::Null,
        data_version: None,
        integrations: Map::new(),
        channels: Vec::new(),
        custom_fields: BTreeMap::new(),
        active: true,
        created: now,
        updated: now,
    };
    let meta_sent = !patch.meta.is_missing();
    apply(&mut store, &mut c, patch, now);
    if !meta_sent || c.meta.is_null() {
        c.meta = merge_meta(&c.meta, "name_set_via", "agent");
    }
    let json = store.customer_json(&c, true);
    store.customers.insert(id, c);
    store.record_event(
        "customer-created",
        "Customer",
        id,
        Some(ctx.principal.user_id),
        json!({}),
        now,
    );
    Ok(json_response(app.create_status("customer"), json))
}

fn wants_custom_fields(ctx: &Ctx) -> bool {
    ctx.query
        .all("relationships")
        .iter()
        .any(|r| r.split(',').any(|r| r == "custom_fields"))
}

async fn get_one(State(app): State<App>, ids: Ids, ctx: Ctx) -> ApiResult {
    let store = app.store();
    let c = store.customers.get(&ids.one()).ok_or(ApiError::NotFound)?;
    Ok(ok(store.customer_json(c, wants_custom_fields(&ctx))))
}

async fn update(State(app): State<App>, ids: Ids, ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult {
    let id = ids.one();
    let msg = "Failed to update customer";
    let mut store = app.store();
    let mut c = store
        .customers
        .get(&id)
        .cloned()
        .ok_or(ApiError::NotFound)?;
    let mut input = Input::object(&body, msg)?;
    let patch = read_patch(&store, &mut input);
    input.finish(msg)?;
    if let Some(conflict) = address_conflict(&store, Some(id), &patch_addresses(&patch)) {
        return Err(ApiError::Conflict(conflict));
    }
    let now = store.now();
    apply(&mut store, &mut c, patch, now);
    let json = store.customer_json(&c, true);
    store.customers.insert(id, c);
    store.record_event(
        "customer-updated",
        "Customer",
        id,
        Some(ctx.principal.user_id),
        json!({}),
        now,
    );
    Ok(ok(json))
}

fn remove_customer(store: &mut Store, id: i64, user_id: i64) {
    store.customers.remove(&id);
    // The customer's tickets stay; their `customer` renders as null **[inferred]**.
    let now = store.now();
    store.record_event(
        "customer-deleted",
        "Customer",
        id,
        Some(user_id),
        json!({}),
        now,
    );
}

async fn delete(State(app): State<App>, ids: Ids, ctx: Ctx) -> ApiResult {
    let id = ids.one();
    let mut store = app.store();
    if !store.customers.contains_key(&id) {
        return Err(ApiError::NotFound);
    }
    remove_customer(&mut store, id, ctx.principal.user_id);
    Ok(empty(StatusCode::NO_CONTENT))
}

async fn delete_many(State(app): State<App>, ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult {
    let msg = "Failed to delete customers";
    let mut input = Input::object(&body, msg)?;
    let ids = match input.integer_list("ids") {
        Field::Set(ids) => ids,
        Field::Null | Field::Missing => {
            if !input.has("ids") {
                input.errors.add("ids", validation::MISSING);
            }
            Vec::new()
        }
    };
    input.finish(msg)?;
    let mut store = app.store();
    for id in ids {
        if store.customers.contains_key(&id) {
            remove_customer(&mut store, id, ctx.principal.user_id);
        }
    }
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `PUT /api/customers/merge?source_id=&target_id=` (ids in the query, §6.3).
async fn merge(State(app): State<App>, ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult {
    let mut errors = Errors::default();
    let source_id = ctx.query.integer("source_id", &mut errors);
    let target_id = ctx.query.integer("target_id", &mut errors);
    if ctx.query.get("source_id").is_none() {
        errors.add("source_id", validation::MISSING);
    }
    if ctx.query.get("target_id").is_none() {
        errors.add("target_id", validation::MISSING);
    }
    query_error(errors)?;
    let (Some(source_id), Some(target_id)) = (source_id, target_id) else {
        return Err(ApiError::BadRequest("Invalid query parameters.".into()));
    };
    if source_id == target_id {
        return Err(ApiError::field(
            "Failed to merge customers",
            "source_id",
            "Cannot merge a customer into itself.",
        ));
    }
    let msg = "Failed to merge customers";
    let body = if body.is_null() { json!({}) } else { body };
    let mut store = app.store();
    let mut input = Input::object(&body, msg)?;
    let patch = read_patch(&store, &mut input);
    input.finish(msg)?;
    let source = store
        .customers
        .get(&source_id)
        .cloned()
        .ok_or(ApiError::NotFound)?;
    let mut target = store
        .customers
        .get(&target_id)
        .cloned()
        .ok_or(ApiError::NotFound)?;
    // 409 when both have data from the same integration (§6.3).
    if let Some(shared) = source
        .integrations
        .keys()
        .find(|k| target.integrations.contains_key(*k))
    {
        return Err(ApiError::Conflict(format!(
            "Both customers have data for integration {shared}; they cannot be merged."
        )));
    }
    let now = store.now();
    for ch in source.channels {
        if !target
            .channels
            .iter()
            .any(|t| t.kind == ch.kind && t.address.eq_ignore_ascii_case(&ch.address))
        {
            target.channels.push(ch);
        }
    }
    target.integrations.extend(source.integrations);
    if target.data.is_null() {
        target.data = source.data;
    }
    for (k, v) in source.custom_fields {
        target.custom_fields.entry(k).or_insert(v);
    }
    if target.note.is_none() {
        target.note = source.note;
    }
    if target.language.is_none() {
        target.language = source.language;
    }
    apply(&mut store, &mut target, patch, now);
    for t in store.tickets.values_mut() {
        if t.customer_id == Some(source_id) {
            t.customer_id = Some(target_id);
            t.updated = now;
        }
    }
    for m in store.messages.values_mut() {
        for p in [&mut m.sender, &mut m.receiver] {
            if *p == Some(crate::store::Party::Customer(source_id)) {
                *p = Some(crate::store::Party::Customer(target_id));
            }
        }
    }
    store.customers.remove(&source_id);
    let json = store.customer_json(&target, true);
    store.customers.insert(target_id, target);
    store.record_event(
        "customer-merged",
        "Customer",
        target_id,
        Some(ctx.principal.user_id),
        json!({"source_id": source_id}),
        now,
    );
    Ok(ok(json))
}

/// `PUT /api/customers/{id}/data` `{data, version?}`: replaced unless a newer version is held;
/// 202 with an empty body either way (§6.3).
async fn put_data(
    State(app): State<App>,
    ids: Ids,
    ctx: Ctx,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let id = ids.one();
    let msg = "Failed to update customer data";
    let mut store = app.store();
    if !store.customers.contains_key(&id) {
        return Err(ApiError::NotFound);
    }
    let mut input = Input::object(&body, msg)?;
    let data = input.value("data");
    if data.is_missing() {
        input.errors.add("data", validation::MISSING);
    }
    let data = data.value().cloned().unwrap_or(Value::Null);
    let version = input.datetime("version").value();
    input.finish(msg)?;
    let now = store.now();
    let c = store.customers.get_mut(&id).ok_or(ApiError::NotFound)?;
    let stale = matches!((c.data_version, version), (Some(held), Some(v)) if v < held);
    if !stale {
        c.data = data;
        c.data_version = version.or(c.data_version);
        c.updated = now;
        store.record_event(
            "customer-updated",
            "Customer",
            id,
            Some(ctx.principal.user_id),
            json!({"data": true}),
            now,
        );
    }
    Ok(empty(StatusCode::ACCEPTED))
}

pub fn routes() -> Router<App> {
    Router::new()
        .route("/customers", get(list).post(create).delete(delete_many))
        .route("/customers/merge", put(merge))
        .route("/customers/{id}", get(get_one).put(update).delete(delete))
        .route("/customers/{id}/data", put(put_data))
        .merge(field_values::routes(Owner::Customer))
}
