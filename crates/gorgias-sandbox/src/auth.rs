//! Who is calling `/api`: HTTP Basic (`email:api_key`) or an OAuth2 bearer token (§2), and
//! what that caller may do (roles and scopes, §2.1 and §2.2).

use std::collections::BTreeSet;

use axum::http::{HeaderMap, Method, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::app::App;
use crate::errors::ApiError;
use crate::rate_limit::CredentialKind;

/// The authenticated caller of one request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: i64,
    pub kind: CredentialKind,
    /// The token's scopes; `None` for API keys (a key has its user's full permissions).
    pub scopes: Option<BTreeSet<String>>,
}

/// Checks the `Authorization` header. Anything missing or wrong is a 401.
pub fn authenticate(app: &App, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::Unauthorized)?;
    let (scheme, credentials) = value.split_once(' ').ok_or(ApiError::Unauthorized)?;
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD
            .decode(credentials.trim())
            .map_err(|_| ApiError::Unauthorized)?;
        let decoded = String::from_utf8(decoded).map_err(|_| ApiError::Unauthorized)?;
        let (email, key) = decoded.split_once(':').ok_or(ApiError::Unauthorized)?;
        let config = app.config();
        if !email.eq_ignore_ascii_case(&config.email) || key != config.api_key {
            return Err(ApiError::Unauthorized);
        }
        let store = app.store();
        let user = store
            .user_by_email(email)
            .and_then(|id| store.users.get(&id))
            .filter(|u| u.active)
            .ok_or(ApiError::Unauthorized)?;
        Ok(Principal {
            user_id: user.id,
            kind: CredentialKind::ApiKey,
            scopes: None,
        })
    } else if scheme.eq_ignore_ascii_case("bearer") {
        let grant = crate::oauth::verify_access_token(app, credentials.trim())
            .ok_or(ApiError::Unauthorized)?;
        Ok(Principal {
            user_id: grant.user_id,
            kind: CredentialKind::OAuth,
            scopes: Some(grant.scopes),
        })
    } else {
        Err(ApiError::Unauthorized)
    }
}

/// Calls that use POST/PUT but only read.
fn is_read_only(method: &Method, path: &str) -> bool {
    *method == Method::GET
        || *method == Method::HEAD
        || (*method == Method::PUT && path.starts_with("/api/views/") && path.ends_with("/items"))
        || (*method == Method::POST && (path == "/api/search" || path == "/api/reporting/stats"))
}

/// The OAuth scope family a path belongs to, when the docs confirm it (§2.2). Views, teams,
/// widgets, search, phone and uploads have no confirmed scope, so any token may call them.
fn scope_family(path: &str) -> Option<&'static str> {
    let rest = path.strip_prefix("/api/")?;
    let first = rest.split('/').next().unwrap_or("");
    Some(match first {
        "account" => "account",
        "users" => "users",
        "customers" => "customers",
        "tickets" | "messages" => "tickets",
        "custom-fields" => "custom_fields",
        "events" => "events",
        "integrations" => "integrations",
        "jobs" => "jobs",
        "macros" => "macros",
        "rules" => "rules",
        "satisfaction-surveys" => "satisfaction_survey",
        "reporting" => "statistics",
        "tags" => "tags",
        _ => return None,
    })
}

/// Admin-only areas for agents with restricted roles **[inferred split]**.
fn is_admin_area(path: &str) -> bool {
    let first = path
        .strip_prefix("/api/")
        .and_then(|r| r.split('/').next())
        .unwrap_or("");
    matches!(
        first,
        "account"
            | "users"
            | "teams"
            | "integrations"
            | "rules"
            | "custom-fields"
            | "widgets"
            | "jobs"
    )
}

/// 403 when the caller's role or token scopes do not allow the call.
pub fn authorize(
    app: &App,
    principal: &Principal,
    method: &Method,
    path: &str,
) -> Result<(), ApiError> {
    let read_only = is_read_only(method, path);
    let role = app
        .store()
        .users
        .get(&principal.user_id)
        .map(|u| u.role.clone())
        .unwrap_or_default();
    // §2.1: a key has its user's role; observer and lite agents cannot do admin operations.
    let role_ok = match role.as_str() {
        "observer-agent" => read_only,
        "lite-agent" | "basic-agent" => read_only || !is_admin_area(path),
        _ => true,
    };
    if !role_ok {
        return Err(ApiError::forbidden());
    }
    if let (Some(scopes), true) = (&principal.scopes, app.config().enforce_scopes)
        && let Some(family) = scope_family(path)
        && !scopes.contains("write:all")
    {
        let write = format!("{family}:write");
        let read = format!("{family}:read");
        let ok = if read_only && family != "statistics" {
            scopes.contains(&read) || scopes.contains(&write)
        } else if family == "statistics" {
            scopes.contains("statistics:read")
        } else {
            scopes.contains(&write)
        };
        if !ok {
            return Err(ApiError::Forbidden(format!(
                "You do not have enough permissions to perform this action. Missing scope: {}.",
                if read_only { read } else { write }
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_families() {
        assert_eq!(scope_family("/api/tickets/1/messages"), Some("tickets"));
        assert_eq!(scope_family("/api/messages"), Some("tickets"));
        assert_eq!(
            scope_family("/api/satisfaction-surveys"),
            Some("satisfaction_survey")
        );
        assert_eq!(scope_family("/api/views/0/items"), None);
        assert!(is_read_only(&Method::PUT, "/api/views/0/items"));
        assert!(!is_read_only(&Method::PUT, "/api/views/3"));
    }
}
