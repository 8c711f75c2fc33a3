//! Search (reference §6.15): `POST /api/search {type, query, size}` over agents, customers,
//! customer channels, integrations, teams and tags. Tickets are not searchable here.
//! §12 #9: the response is `{"data": [...]}` (the usual wrapping), items in compact form.

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde_json::{Value, json};

use crate::app::{App, JsonBody, ok};
use crate::errors::ApiResult;
use crate::validation::Input;

const TYPES: &[&str] = &[
    "agent",
    "customer",
    "customer_profile",
    "customer_channel",
    "customer_channel_email",
    "customer_channel_phone",
    "customers_by_phone",
    "integration",
    "team",
    "tag",
];

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

async fn search(State(app): State<App>, JsonBody(body): JsonBody) -> ApiResult {
    let msg = "Failed to search";
    let mut input = Input::object(&body, msg)?;
    let kind = input.required_choice("type", TYPES);
    let query = input.required_string("query", 0, Some(255));
    let size = input.integer_in("size", 1, 50).value().unwrap_or(10);
    input.finish(msg)?;
    let (Some(kind), Some(query)) = (kind, query) else {
        return Ok(ok(json!({"data": []})));
    };
    let q = query.to_lowercase();
    let has = |s: Option<&str>| s.is_some_and(|s| s.to_lowercase().contains(&q));
    let store = app.store();
    let mut data: Vec<Value> = match kind.as_str() {
        "agent" => store
            .users
            .values()
            .filter(|u| has(Some(&u.name)) || has(Some(&u.email)))
            .map(|u| {
                json!({"id": u.id, "name": u.name, "email": u.email, "firstname": u.firstname,
                "lastname": u.lastname, "role": {"name": u.role}, "meta": u.meta})
            })
            .collect(),
        "customer" | "customer_profile" => store
            .customers
            .values()
            .filter(|c| {
                has(c.name.as_deref())
                    || has(c.email.as_deref())
                    || (kind == "customer_profile"
                        && c.channels.iter().any(|ch| has(Some(&ch.address))))
            })
            .map(|c| {
                let mut v = store.customer_compact(c.id);
                if kind == "customer_profile" {
                    v["channels"] = json!(
                        c.channels
                            .iter()
                            .map(|ch| store.channel_json(ch, c))
                            .collect::<Vec<_>>()
                    );
                }
                v
            })
            .collect(),
        "customer_channel" | "customer_channel_email" | "customer_channel_phone" => store
            .customers
            .values()
            .flat_map(|c| c.channels.iter().map(move |ch| (c, ch)))
            .filter(|(_, ch)| match kind.as_str() {
                "customer_channel_email" => ch.kind == "email",
                "customer_channel_phone" => ch.kind == "phone",
                _ => true,
            })
            .filter(|(_, ch)| has(Some(&ch.address)))
            .map(|(c, ch)| store.channel_json(ch, c))
            .collect(),
        "customers_by_phone" => {
            let wanted = digits(&query);
            store
                .customers
                .values()
                .filter(|c| {
                    !wanted.is_empty()
                        && c.channels
                            .iter()
                            .any(|ch| ch.kind == "phone" && digits(&ch.address).ends_with(&wanted))
                })
                .map(|c| store.customer_compact(c.id))
                .collect()
        }
        "integration" => store
            .integrations
            .values()
            .filter(|i| has(i.get("name").and_then(Value::as_str)))
            .map(|i| json!({"id": i.get("id"), "name": i.get("name"), "type": i.get("type")}))
            .collect(),
        "team" => store
            .teams
            .values()
            .filter(|t| has(Some(&t.name)))
            .map(|t| store.team_compact(t.id))
            .collect(),
        _ => store
            .tags
            .values()
            .filter(|t| t.deleted.is_none() && has(Some(&t.name)))
            .map(|t| store.tag_compact(t.id))
            .collect(),
    };
    data.truncate(usize::try_from(size).unwrap_or(10));
    Ok(ok(json!({"data": data})))
}

pub fn routes() -> Router<App> {
    Router::new().route("/search", post(search))
}
