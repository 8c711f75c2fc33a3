//! Users, i.e. agents (reference §6.19, §9.2). `0` means the authenticated user.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};

use crate::app::{App, Ctx, Ids, JsonBody, empty, json_response, ok};
use crate::errors::{ApiError, ApiResult};
use crate::pagination::{Ordering, PageRequest, SortKey, envelope, paginate, query_error};
use crate::resources::is_timezone;
use crate::store::{Store, User, id_base, split_name};
use crate::validation::{self, Errors, Field, Input};

pub const ROLES: &[&str] = &[
    "admin",
    "agent",
    "basic-agent",
    "lite-agent",
    "observer-agent",
    "internal-agent",
    "bot",
];
/// The spec's create enum lists the first five roles.
const CREATE_ROLES: &[&str] = &[
    "admin",
    "agent",
    "basic-agent",
    "lite-agent",
    "observer-agent",
];
const UI_LANGUAGES: &[&str] = &["en", "fr"];
const ORDERING: Ordering<'static> = Ordering {
    allowed: &[
        "created_datetime:asc",
        "created_datetime:desc",
        "name:asc",
        "name:desc",
        "email:asc",
        "email:desc",
        "role.name:asc",
        "role.name:desc",
    ],
    default: "created_datetime:desc",
};

fn sort_key(u: &User, field: &str) -> SortKey {
    match field {
        "name" => SortKey::Str(u.name.to_lowercase()),
        "email" => SortKey::Str(u.email.to_lowercase()),
        "role.name" => SortKey::Str(u.role.clone()),
        _ => SortKey::time(Some(u.created)),
    }
}

async fn list(State(app): State<App>, ctx: Ctx) -> ApiResult {
    let page = PageRequest::from_query(&ctx.query, &ORDERING)?;
    let q = &ctx.query;
    let mut errors = Errors::default();
    let roles: Vec<&str> = q.all("roles");
    for r in &roles {
        if !ROLES.contains(r) {
            errors.add("roles", validation::one_of(ROLES));
        }
    }
    // Availability is not modelled: every active user counts as available **[inferred]**.
    let _available_first = q.boolean("available_first", &mut errors);
    query_error(errors)?;
    let search = q.get("search").map(str::to_lowercase);
    let store = app.store();
    let items = store
        .users
        .values()
        .filter(|u| {
            q.get("email")
                .is_none_or(|e| u.email.eq_ignore_ascii_case(e))
        })
        .filter(|u| {
            q.get("external_id")
                .is_none_or(|e| u.external_id.as_deref() == Some(e))
        })
        .filter(|u| roles.is_empty() || roles.contains(&u.role.as_str()))
        .filter(|u| {
            search.as_ref().is_none_or(|s| {
                u.name.to_lowercase().contains(s) || u.email.to_lowercase().contains(s)
            })
        })
        .map(|u| (sort_key(u, &page.order.field), u.id, store.user_json(u)))
        .collect();
    let page = paginate(items, &page);
    Ok(ok(envelope(&ctx.uri, page.items.clone(), page.meta())))
}

fn account_timezone(store: &Store) -> String {
    store
        .settings
        .values()
        .find(|s| s.get("type").and_then(Value::as_str) == Some("business-hours"))
        .and_then(|s| s.get("data")?.get("timezone")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| "UTC".to_owned())
}

struct Patch {
    email: Option<String>,
    name: Option<String>,
    role: Option<String>,
    firstname: Option<String>,
    lastname: Option<String>,
    active: Option<bool>,
    bio: Field<String>,
    country: Field<String>,
    external_id: Field<String>,
    language: Field<String>,
    meta: Option<Value>,
    timezone: Field<String>,
    new_password: Option<String>,
}

fn read_patch(input: &mut Input<'_>, creating: bool) -> Patch {
    let email = if creating {
        input.required_string("email", 3, Some(320))
    } else {
        input.string("email", 3, Some(320)).value()
    };
    let name = if creating {
        input.required_string("name", 1, Some(255))
    } else {
        input.string("name", 1, Some(255)).value()
    };
    let role = match input.value("role") {
        Field::Set(Value::Object(m)) => match m.get("name").and_then(Value::as_str) {
            Some(r) if (if creating { CREATE_ROLES } else { ROLES }).contains(&r) => {
                Some(r.to_owned())
            }
            Some(_) => {
                let mut e = Errors::default();
                e.add(
                    "name",
                    validation::one_of(if creating { CREATE_ROLES } else { ROLES }),
                );
                input.errors.nest("role", e);
                None
            }
            None => {
                let mut e = Errors::default();
                e.add("name", validation::MISSING);
                input.errors.nest("role", e);
                None
            }
        },
        Field::Set(_) => {
            input.errors.add("role", validation::INVALID_INPUT);
            None
        }
        _ => {
            if creating {
                input.errors.add("role", validation::MISSING);
            }
            None
        }
    };
    let country = match input.string("country", 0, None) {
        Field::Set(c) if c.len() != 2 || !c.chars().all(|ch| ch.is_ascii_uppercase()) => {
            input
                .errors
                .add("country", "Not a valid ISO 3166-1 alpha-2 country code.");
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
    let patch = Patch {
        email,
        name,
        role,
        firstname: input.string("firstname", 0, Some(255)).value(),
        lastname: input.string("lastname", 0, Some(255)).value(),
        active: input.boolean("active").value(),
        bio: input.string("bio", 0, Some(1024)),
        country,
        external_id: input.string("external_id", 0, Some(255)),
        language: input.choice("language", UI_LANGUAGES),
        meta: input
            .mapping("meta")
            .value()
            .map(|m| Value::Object(m.clone())),
        timezone,
        new_password: input.string("new_password", 8, Some(255)).value(),
    };
    input.string("old_password", 0, None);
    input.string("password_confirmation", 0, None);
    input.string("two_fa_code", 0, None);
    input.ignore(&[
        "id",
        "uri",
        "created_datetime",
        "updated_datetime",
        "has_password",
        "has_2fa_enabled",
    ]);
    patch
}

fn apply(u: &mut User, p: Patch) {
    if let Some(e) = p.email {
        u.email = e;
    }
    if let Some(n) = p.name {
        let (f, l) = split_name(&n);
        if p.firstname.is_none() {
            u.firstname = f;
        }
        if p.lastname.is_none() {
            u.lastname = l;
        }
        u.name = n;
    }
    if let Some(f) = p.firstname {
        u.firstname = f;
    }
    if let Some(l) = p.lastname {
        u.lastname = l;
    }
    if let Some(r) = p.role {
        u.role = r;
    }
    if let Some(a) = p.active {
        u.active = a;
    }
    p.bio.apply_to(&mut u.bio);
    p.country.apply_to(&mut u.country);
    p.external_id.apply_to(&mut u.external_id);
    p.language.apply_to(&mut u.language);
    p.timezone.apply_to(&mut u.timezone);
    if let Some(m) = p.meta {
        u.meta = m;
    }
    if p.new_password.is_some() {
        u.has_password = true;
    }
}

async fn create(State(app): State<App>, ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult {
    let msg = "Failed to create user";
    let mut input = Input::object(&body, msg)?;
    let patch = read_patch(&mut input, true);
    input.finish(msg)?;
    let mut store = app.store();
    if let Some(e) = &patch.email
        && store.user_by_email(e).is_some()
    {
        return Err(ApiError::field(
            msg,
            "email",
            "A user with this email already exists.",
        ));
    }
    let now = store.now();
    let id = store.next_id("user", id_base::USER);
    // Obs: timezone defaults to the account's, language null, has_password false,
    // meta {sso: null, profile_picture_url: null}.
    let mut user = User {
        id,
        email: String::new(),
        name: String::new(),
        firstname: String::new(),
        lastname: String::new(),
        role: "agent".into(),
        active: true,
        bio: None,
        country: None,
        external_id: None,
        language: None,
        timezone: Some(account_timezone(&store)),
        meta: json!({"sso": null, "profile_picture_url": null}),
        has_password: false,
        created: now,
        updated: now,
        deactivated: None,
    };
    apply(&mut user, patch);
    let v = store.user_json(&user);
    store.users.insert(id, user);
    store.record_event(
        "user-created",
        "User",
        id,
        Some(ctx.principal.user_id),
        json!({}),
        now,
    );
    Ok(json_response(app.create_status("user"), v))
}

fn resolve(id: i64, ctx: &Ctx) -> i64 {
    if id == 0 { ctx.principal.user_id } else { id }
}

async fn get_one(State(app): State<App>, ids: Ids, ctx: Ctx) -> ApiResult {
    let store = app.store();
    let u = store
        .users
        .get(&resolve(ids.one(), &ctx))
        .ok_or(ApiError::NotFound)?;
    Ok(ok(store.user_json(u)))
}

async fn update(State(app): State<App>, ids: Ids, ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult {
    let id = resolve(ids.one(), &ctx);
    let msg = "Failed to update user";
    let mut store = app.store();
    let mut user = store.users.get(&id).cloned().ok_or(ApiError::NotFound)?;
    let mut input = Input::object(&body, msg)?;
    let has_confirmation = input.has("password_confirmation");
    let has_old = input.has("old_password");
    let patch = read_patch(&mut input, false);
    // Changing the email needs `password_confirmation`; a new password needs the old one (§6.19).
    if patch
        .email
        .as_ref()
        .is_some_and(|e| !e.eq_ignore_ascii_case(&user.email))
        && !has_confirmation
    {
        input
            .errors
            .add("password_confirmation", validation::MISSING);
    }
    if patch.new_password.is_some() && !has_old && user.has_password {
        input.errors.add("old_password", validation::MISSING);
    }
    input.finish(msg)?;
    if let Some(e) = &patch.email
        && store.user_by_email(e).is_some_and(|other| other != id)
    {
        return Err(ApiError::field(
            msg,
            "email",
            "A user with this email already exists.",
        ));
    }
    let now = store.now();
    let was_active = user.active;
    apply(&mut user, patch);
    user.updated = now;
    if was_active && !user.active {
        user.deactivated = Some(now);
    } else if user.active {
        user.deactivated = None;
    }
    let v = store.user_json(&user);
    store.users.insert(id, user);
    store.record_event(
        "user-updated",
        "User",
        id,
        Some(ctx.principal.user_id),
        json!({}),
        now,
    );
    Ok(ok(v))
}

async fn delete(State(app): State<App>, ids: Ids, ctx: Ctx) -> ApiResult {
    let id = ids.one();
    if id == 0 || id == ctx.principal.user_id {
        // Deleting yourself is refused **[inferred]**; it would also strand the API key.
        return Err(ApiError::BadRequest("You cannot delete yourself.".into()));
    }
    let mut store = app.store();
    store.users.remove(&id).ok_or(ApiError::NotFound)?;
    let now = store.now();
    for t in store.tickets.values_mut() {
        if t.assignee_user_id == Some(id) {
            t.assignee_user_id = None;
        }
    }
    for team in store.teams.values_mut() {
        team.members.retain(|m| *m != id);
    }
    store.record_event(
        "user-deleted",
        "User",
        id,
        Some(ctx.principal.user_id),
        json!({}),
        now,
    );
    Ok(empty(StatusCode::NO_CONTENT))
}

pub fn routes() -> Router<App> {
    Router::new()
        .route("/users", get(list).post(create))
        .route("/users/{id}", get(get_one).put(update).delete(delete))
}
