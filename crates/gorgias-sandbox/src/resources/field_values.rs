//! Custom-field values on tickets and customers (reference §6.3 and §6.18): list, bulk replace,
//! set one, delete one. Both objects expose the same four endpoints with the same shapes ("same
//! shapes as for tickets"), so they are written once over [`Owner`].

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, put};
use serde_json::{Value, json};

use crate::app::{App, Ctx, Ids, JsonBody, empty, ok};
use crate::clock::Timestamp;
use crate::errors::{ApiError, ApiResult};
use crate::resources::custom_fields;
use crate::store::Store;
use crate::validation::{self, Errors};

/// The kind of object custom-field values hang on.
#[derive(Debug, Clone, Copy)]
pub enum Owner {
    Ticket,
    Customer,
}

impl Owner {
    /// The custom field definitions' `object_type` for this owner.
    fn object_type(self) -> &'static str {
        match self {
            Owner::Ticket => "Ticket",
            Owner::Customer => "Customer",
        }
    }

    fn event(self) -> &'static str {
        match self {
            Owner::Ticket => "ticket-updated",
            Owner::Customer => "customer-updated",
        }
    }

    fn bulk_failure(self) -> &'static str {
        match self {
            Owner::Ticket => "Failed to update ticket custom fields",
            Owner::Customer => "Failed to update customer custom fields",
        }
    }

    fn collection(self) -> &'static str {
        match self {
            Owner::Ticket => "/tickets",
            Owner::Customer => "/customers",
        }
    }

    fn values(self, store: &Store, id: i64) -> Option<&BTreeMap<i64, Value>> {
        match self {
            Owner::Ticket => store.tickets.get(&id).map(|t| &t.custom_fields),
            Owner::Customer => store.customers.get(&id).map(|c| &c.custom_fields),
        }
    }

    /// The object's values and its `updated` stamp, to change together.
    fn values_mut(
        self,
        store: &mut Store,
        id: i64,
    ) -> Option<(&mut BTreeMap<i64, Value>, &mut Timestamp)> {
        match self {
            Owner::Ticket => store
                .tickets
                .get_mut(&id)
                .map(|t| (&mut t.custom_fields, &mut t.updated)),
            Owner::Customer => store
                .customers
                .get_mut(&id)
                .map(|c| (&mut c.custom_fields, &mut c.updated)),
        }
    }

    /// Applies `change` to the object's values, stamps it updated and records the event.
    fn change<R>(
        self,
        store: &mut Store,
        id: i64,
        ctx: &Ctx,
        event_data: Value,
        change: impl FnOnce(&mut BTreeMap<i64, Value>) -> R,
    ) -> ApiResult<R> {
        let now = store.now();
        let (values, updated) = self.values_mut(store, id).ok_or(ApiError::NotFound)?;
        let result = change(values);
        *updated = now;
        store.record_event(
            self.event(),
            self.object_type(),
            id,
            Some(ctx.principal.user_id),
            event_data,
            now,
        );
        Ok(result)
    }
}

/// `/{collection}/{id}/custom-fields[/{field_id}]` for one owner.
pub fn routes(owner: Owner) -> Router<App> {
    let collection = owner.collection();
    Router::new()
        .route(
            &format!("{collection}/{{id}}/custom-fields"),
            get(move |State(app): State<App>, ids: Ids| async move {
                list_values(owner, &app, ids.one())
            })
            .put(
                move |State(app): State<App>, ids: Ids, ctx: Ctx, JsonBody(body): JsonBody| async move {
                    set_values(owner, &app, ids.one(), &ctx, &body)
                },
            ),
        )
        .route(
            &format!("{collection}/{{id}}/custom-fields/{{field_id}}"),
            put(
                move |State(app): State<App>, ids: Ids, ctx: Ctx, JsonBody(body): JsonBody| async move {
                    let (id, field_id) = ids.two();
                    set_value(owner, &app, id, field_id, &ctx, &body)
                },
            )
            .delete(
                move |State(app): State<App>, ids: Ids, ctx: Ctx| async move {
                    let (id, field_id) = ids.two();
                    delete_value(owner, &app, id, field_id, &ctx)
                },
            ),
        )
}

fn list_values(owner: Owner, app: &App, id: i64) -> ApiResult {
    let store = app.store();
    let values = owner.values(&store, id).ok_or(ApiError::NotFound)?;
    Ok(ok(custom_fields::values_json(&store, values)))
}

/// Bulk PUT: §12 #3, the official text says fields left out are deleted (replace-all); the
/// customer endpoint has "same shapes as for tickets" (§6.3).
fn set_values(owner: Owner, app: &App, id: i64, ctx: &Ctx, body: &Value) -> ApiResult {
    let msg = owner.bulk_failure();
    let mut store = app.store();
    if owner.values(&store, id).is_none() {
        return Err(ApiError::NotFound);
    }
    let Value::Array(list) = body else {
        return Err(ApiError::field(msg, "_schema", validation::INVALID_INPUT));
    };
    let mut errors = Errors::default();
    let values = custom_fields::read_values(&store, list, owner.object_type(), &mut errors);
    errors.into_result(msg)?;
    let values = owner.change(
        &mut store,
        id,
        ctx,
        json!({"custom_fields": true}),
        |held| {
            *held = values.into_iter().filter(|(_, v)| !v.is_null()).collect();
            held.clone()
        },
    )?;
    Ok(ok(custom_fields::values_json(&store, &values)))
}

fn set_value(
    owner: Owner,
    app: &App,
    id: i64,
    field_id: i64,
    ctx: &Ctx,
    body: &Value,
) -> ApiResult {
    let mut store = app.store();
    if owner.values(&store, id).is_none() {
        return Err(ApiError::NotFound);
    }
    let value = custom_fields::single_value(&store, field_id, owner.object_type(), body)?;
    owner.change(
        &mut store,
        id,
        ctx,
        json!({"custom_field": field_id}),
        |held| {
            if value.is_null() {
                held.remove(&field_id);
            } else {
                held.insert(field_id, value.clone());
            }
        },
    )?;
    Ok(ok(custom_fields::single_value_json(
        &store, field_id, &value,
    )))
}

fn delete_value(owner: Owner, app: &App, id: i64, field_id: i64, ctx: &Ctx) -> ApiResult {
    let mut store = app.store();
    if store
        .custom_fields
        .get(&field_id)
        .is_none_or(|f| f.object_type != owner.object_type())
    {
        return Err(ApiError::NotFound);
    }
    owner.change(
        &mut store,
        id,
        ctx,
        json!({"custom_field": field_id}),
        |held| {
            held.remove(&field_id);
        },
    )?;
    Ok(empty(StatusCode::NO_CONTENT))
}
