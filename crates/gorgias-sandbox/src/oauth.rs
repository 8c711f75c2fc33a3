//! The OAuth2 authorization-code flow of a Gorgias account (reference §2.2):
//! `GET|POST /oauth/authorize` (consent page), `POST /oauth/token` (code exchange and refresh),
//! `POST /oauth/revoke`.
//!
//! Emulation choices, each where the docs are silent or cannot be matched:
//! * Access tokens are JWT-shaped with the documented claims (`iss`, `sub`, `aud`, `azp`,
//!   `scope`, `iat`, `exp`, `jti`) but signed **HS256** with a sandbox secret; real ones are RS256.
//! * `expires_in` is the real lifetime in seconds (the docs' example showed `0`, §12 #6).
//! * A refresh token is issued only with the `offline` scope and never expires (docs). Rotation
//!   (`SandboxConfig::rotate_refresh_tokens`) is off by default as in the docs' example; when on,
//!   reusing a rotated refresh token is `invalid_grant`.
//! * PKCE is not in Gorgias's docs; a `code_challenge` (S256 or plain) is accepted optionally and
//!   then the exchange must present the matching `code_verifier`.
//! * Codes are single-use, expire after 10 minutes, and are bound to client and redirect URI.
//! * Client authentication: HTTP Basic or `client_id`/`client_secret` in the body (both are
//!   seen in the wild).

use std::collections::{BTreeSet, HashMap};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::app::App;
use crate::clock::Timestamp;
use crate::config::OAuthClient;

const CODE_TTL_SECS: i64 = 600;

/// Scopes from the docs' scope table (§2.2). Unknown scopes are refused with `invalid_scope`.
pub const KNOWN_SCOPES: &[&str] = &[
    "openid",
    "email",
    "profile",
    "offline",
    "account:read",
    "account:write",
    "users:read",
    "users:write",
    "customers:read",
    "customers:write",
    "tickets:read",
    "tickets:write",
    "custom_fields:read",
    "custom_fields:write",
    "events:read",
    "events:write",
    "integrations:read",
    "integrations:write",
    "jobs:read",
    "jobs:write",
    "macros:read",
    "macros:write",
    "rules:read",
    "rules:write",
    "satisfaction_survey:read",
    "satisfaction_survey:write",
    "statistics:read",
    "tags:read",
    "tags:write",
    "apps:read",
    "apps:write",
    "write:all",
];

#[derive(Debug, Clone)]
struct AuthCode {
    client_id: String,
    redirect_uri: String,
    user_id: i64,
    scopes: BTreeSet<String>,
    nonce: Option<String>,
    challenge: Option<(String, String)>,
    expires: Timestamp,
}

#[derive(Debug, Clone)]
struct AccessGrant {
    user_id: i64,
    scopes: BTreeSet<String>,
    refresh_token: Option<String>,
    expires: Timestamp,
    revoked: bool,
}

#[derive(Debug, Clone)]
struct RefreshGrant {
    client_id: String,
    user_id: i64,
    scopes: BTreeSet<String>,
    /// Retired by rotation or revocation.
    retired: bool,
}

/// Issued codes and tokens.
#[derive(Debug, Default)]
pub struct OAuthState {
    counter: u64,
    /// Calls that reached `POST /oauth/token`, whatever their outcome.
    pub token_requests: u64,
    /// Every access, id and refresh token handed out, for tests that check none leaks.
    pub issued: Vec<String>,
    codes: HashMap<String, AuthCode>,
    access: HashMap<String, AccessGrant>,
    refresh: HashMap<String, RefreshGrant>,
}

/// What a valid access token grants.
#[derive(Debug, Clone)]
pub struct Grant {
    pub user_id: i64,
    pub scopes: BTreeSet<String>,
}

impl OAuthState {
    /// Ends the life of every access token now (refresh tokens keep working).
    pub fn expire_access_tokens(&mut self) {
        let past = Timestamp::wall_clock().plus_secs(-1);
        for grant in self.access.values_mut() {
            grant.expires = past;
        }
    }

    /// Revokes every access and refresh token.
    pub fn revoke_all(&mut self) {
        for grant in self.access.values_mut() {
            grant.revoked = true;
        }
        for grant in self.refresh.values_mut() {
            grant.retired = true;
        }
    }

    pub fn live_access_tokens(&self) -> usize {
        let now = Timestamp::wall_clock();
        self.access
            .values()
            .filter(|g| !g.revoked && g.expires > now)
            .count()
    }
}

fn sign(secret: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).unwrap_or_else(|_| {
        // HMAC takes keys of any length; this branch cannot happen.
        <Hmac<Sha256> as KeyInit>::new_from_slice(b"k").expect("static key")
    });
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// An opaque, unguessable-without-the-secret, deterministic token.
fn opaque(app: &App, state: &mut OAuthState, kind: &str) -> String {
    state.counter += 1;
    let raw = sign(
        app.jwt_secret(),
        format!("{kind}:{}", state.counter).as_bytes(),
    );
    URL_SAFE_NO_PAD.encode(&raw[..24])
}

fn jwt(app: &App, claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing_input = format!("{header}.{payload}");
    let sig = URL_SAFE_NO_PAD.encode(sign(app.jwt_secret(), signing_input.as_bytes()));
    format!("{signing_input}.{sig}")
}

/// Decodes and verifies a sandbox JWT, returning its claims.
pub fn decode_jwt(app: &App, token: &str) -> Option<Value> {
    let mut parts = token.split('.');
    let (h, p, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let sig = URL_SAFE_NO_PAD.decode(s).ok()?;
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(app.jwt_secret()).ok()?;
    mac.update(format!("{h}.{p}").as_bytes());
    mac.verify_slice(&sig).ok()?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).ok()?).ok()
}

/// The grant behind a live bearer token, or `None` (expired, revoked, forged, unknown).
pub fn verify_access_token(app: &App, token: &str) -> Option<Grant> {
    let claims = decode_jwt(app, token)?;
    let jti = claims.get("jti")?.as_str()?;
    let now = Timestamp::wall_clock();
    let state = app.oauth();
    let grant = state.access.get(jti)?;
    if grant.revoked || grant.expires <= now {
        return None;
    }
    Some(Grant {
        user_id: grant.user_id,
        scopes: grant.scopes.clone(),
    })
}

fn parse_scopes(raw: &str) -> Result<BTreeSet<String>, String> {
    let mut scopes = BTreeSet::new();
    for s in raw.split([' ', '+', ',']).filter(|s| !s.is_empty()) {
        if !KNOWN_SCOPES.contains(&s) && !looks_like_resource_scope(s) {
            return Err(s.to_owned());
        }
        scopes.insert(s.to_owned());
    }
    Ok(scopes)
}

/// §12 #7: our copy of the scope table stopped after `apps:*`, so more `resource:read|write`
/// scopes exist (views, teams, phone, ...). Well-formed ones are accepted; gibberish is not.
fn looks_like_resource_scope(s: &str) -> bool {
    match s.split_once(':') {
        Some((resource, access)) => {
            matches!(access, "read" | "write")
                && !resource.is_empty()
                && resource
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_')
        }
        None => false,
    }
}

fn scope_string(scopes: &BTreeSet<String>) -> String {
    scopes.iter().cloned().collect::<Vec<_>>().join(" ")
}

fn find_client<'a>(app: &'a App, client_id: &str) -> Option<&'a OAuthClient> {
    app.config()
        .oauth_clients
        .iter()
        .find(|c| c.client_id == client_id)
}

fn redirect_allowed(client: &OAuthClient, uri: &str) -> bool {
    client.redirect_uris.is_empty() || client.redirect_uris.iter().any(|u| u == uri)
}

fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        ser.append_pair(k, v);
    }
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}{}", ser.finish())
}

/// The docs' redirect is a 302 (axum's `Redirect` only offers 303/307/308).
fn found(location: &str) -> Response {
    match header::HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::FOUND, [(header::LOCATION, v)]).into_response(),
        Err(_) => error_page(StatusCode::BAD_REQUEST, "Invalid redirect_uri."),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct AuthorizeParams {
    #[serde(default)]
    response_type: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    redirect_uri: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    code_challenge: Option<String>,
    #[serde(default)]
    code_challenge_method: Option<String>,
    /// POST only: `approve` or `deny`.
    #[serde(default)]
    decision: Option<String>,
    /// POST only: which user approves (the consent page's "signed in as").
    #[serde(default)]
    login_email: Option<String>,
}

fn error_page(status: StatusCode, msg: &str) -> Response {
    (
        status,
        Html(format!(
            "<!doctype html><html><head><title>Authorization error</title></head><body><h1>Authorization error</h1><p>{}</p></body></html>",
            escape(msg)
        )),
    )
        .into_response()
}

/// Validates client and redirect URI (errors here must not redirect, per RFC 6749 §4.1.2.1),
/// then the rest (errors redirect back with `error=`).
fn check_authorize(app: &App, p: &AuthorizeParams) -> Result<BTreeSet<String>, Box<Response>> {
    let client = find_client(app, &p.client_id)
        .ok_or_else(|| Box::new(error_page(StatusCode::BAD_REQUEST, "Unknown client_id.")))?;
    if p.redirect_uri.is_empty() || !redirect_allowed(client, &p.redirect_uri) {
        return Err(Box::new(error_page(
            StatusCode::BAD_REQUEST,
            "Invalid redirect_uri for this client.",
        )));
    }
    let back = |error: &str| {
        let mut pairs = vec![("error", error)];
        if let Some(s) = p.state.as_deref() {
            pairs.push(("state", s));
        }
        Box::new(found(&with_query(&p.redirect_uri, &pairs)))
    };
    if p.response_type != "code" {
        return Err(back("unsupported_response_type"));
    }
    let scopes = parse_scopes(&p.scope).map_err(|_| back("invalid_scope"))?;
    if scopes.is_empty() {
        return Err(back("invalid_scope"));
    }
    if let Some(m) = p.code_challenge_method.as_deref()
        && !matches!(m, "S256" | "plain")
    {
        return Err(back("invalid_request"));
    }
    Ok(scopes)
}

async fn authorize_page(State(app): State<App>, Query(p): Query<AuthorizeParams>) -> Response {
    let scopes = match check_authorize(&app, &p) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let users: Vec<(String, String)> = {
        let store = app.store();
        store
            .users
            .values()
            .filter(|u| u.active && u.role != "bot")
            .map(|u| (u.email.clone(), format!("{} ({})", u.name, u.role)))
            .collect()
    };
    let default_email = app.config().email.clone();
    let options: String = users
        .iter()
        .map(|(email, label)| {
            let selected = if email.eq_ignore_ascii_case(&default_email) {
                " selected"
            } else {
                ""
            };
            format!(
                "<option value=\"{}\"{selected}>{} &lt;{}&gt;</option>",
                escape(email),
                escape(label),
                escape(email)
            )
        })
        .collect();
    let scope_items: String = scopes
        .iter()
        .map(|s| format!("<li><code>{}</code></li>", escape(s)))
        .collect();
    let hidden = |name: &str, value: Option<&str>| {
        value.map_or(String::new(), |v| {
            format!(
                "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
                escape(v)
            )
        })
    };
    let hidden_fields = [
        hidden("response_type", Some(&p.response_type)),
        hidden("client_id", Some(&p.client_id)),
        hidden("redirect_uri", Some(&p.redirect_uri)),
        hidden("scope", Some(&p.scope)),
        hidden("state", p.state.as_deref()),
        hidden("nonce", p.nonce.as_deref()),
        hidden("code_challenge", p.code_challenge.as_deref()),
        hidden("code_challenge_method", p.code_challenge_method.as_deref()),
    ]
    .concat();
    let sub = escape(&app.config().subdomain);
    Html(format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Authorize application · {sub}.gorgias.com (sandbox)</title></head>
<body>
<main>
<h1>Authorize application</h1>
<p>The application <strong>{client}</strong> wants to access the Gorgias account <strong>{sub}</strong> with these permissions:</p>
<ul id="scopes">{scope_items}</ul>
<form method="post" action="/oauth/authorize">
{hidden_fields}
<label for="login_email">Signed in as</label>
<select id="login_email" name="login_email">{options}</select>
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>
</main>
</body></html>"#,
        client = escape(&p.client_id),
    ))
    .into_response()
}

async fn authorize_decision(State(app): State<App>, Form(p): Form<AuthorizeParams>) -> Response {
    let scopes = match check_authorize(&app, &p) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if p.decision.as_deref() != Some("approve") {
        pairs.push(("error", "access_denied".to_owned()));
    } else {
        let email = p
            .login_email
            .clone()
            .unwrap_or_else(|| app.config().email.clone());
        let user_id = {
            let store = app.store();
            store
                .user_by_email(&email)
                .filter(|id| store.users.get(id).is_some_and(|u| u.active))
        };
        let Some(user_id) = user_id else {
            return error_page(StatusCode::BAD_REQUEST, "Unknown user.");
        };
        let mut state = app.oauth();
        let code = opaque(&app, &mut state, "code");
        state.codes.insert(
            code.clone(),
            AuthCode {
                client_id: p.client_id.clone(),
                redirect_uri: p.redirect_uri.clone(),
                user_id,
                scopes,
                nonce: p.nonce.clone(),
                challenge: p.code_challenge.clone().map(|c| {
                    (
                        c,
                        p.code_challenge_method
                            .clone()
                            .unwrap_or_else(|| "plain".into()),
                    )
                }),
                expires: Timestamp::wall_clock().plus_secs(CODE_TTL_SECS),
            },
        );
        pairs.push(("code", code));
    }
    if let Some(s) = &p.state {
        pairs.push(("state", s.clone()));
    }
    let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    found(&with_query(&p.redirect_uri, &borrowed))
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut r = (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"oauth\""),
        );
    }
    r
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct TokenParams {
    #[serde(default)]
    grant_type: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    redirect_uri: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    code_verifier: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    #[expect(
        dead_code,
        reason = "accepted per RFC 7009 and ignored: both kinds are looked up"
    )]
    token_type_hint: Option<String>,
    #[serde(default)]
    #[expect(
        dead_code,
        reason = "a refresh may narrow scopes in RFC 6749; Gorgias's docs don't say, so it is ignored"
    )]
    scope: Option<String>,
}

/// The authenticated client, from HTTP Basic or the body. `Err` is the 401 to send.
fn client_auth<'a>(
    app: &'a App,
    headers: &HeaderMap,
    p: &TokenParams,
) -> Result<&'a OAuthClient, Box<Response>> {
    let invalid = || {
        Box::new(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed.",
        ))
    };
    let (id, secret) = if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, cred) = v.split_once(' ').ok_or_else(invalid)?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(invalid());
        }
        let decoded = STANDARD.decode(cred.trim()).map_err(|_| invalid())?;
        let decoded = String::from_utf8(decoded).map_err(|_| invalid())?;
        let (id, secret) = decoded.split_once(':').ok_or_else(invalid)?;
        // Basic credentials are form-encoded per RFC 6749 §2.3.1.
        let dec = |s: &str| {
            form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        (dec(id), dec(secret))
    } else {
        (
            p.client_id.clone().ok_or_else(invalid)?,
            p.client_secret.clone().ok_or_else(invalid)?,
        )
    };
    match find_client(app, &id) {
        Some(c) if c.client_secret == secret => Ok(c),
        _ => Err(invalid()),
    }
}

/// What one token response is for.
struct Issue<'a> {
    client_id: &'a str,
    user_id: i64,
    scopes: &'a BTreeSet<String>,
    /// The refresh token the access token hangs off (revoking it revokes the access token).
    refresh_token: Option<String>,
    nonce: Option<&'a str>,
    /// Whether the response shows `refresh_token`.
    include_refresh: bool,
}

fn issue_tokens(app: &App, state: &mut OAuthState, issue: Issue<'_>) -> Value {
    let Issue {
        client_id,
        user_id,
        scopes,
        refresh_token,
        nonce,
        include_refresh,
    } = issue;
    let now = Timestamp::wall_clock();
    let ttl = i64::try_from(app.config().access_token_ttl.as_secs()).unwrap_or(i64::MAX / 2);
    let iat = now.micros() / 1_000_000;
    let jti = opaque(app, state, "jti");
    let sub = &app.config().subdomain;
    let claims = json!({"iss": format!("https://{sub}.gorgias.com"), "sub": user_id.to_string(),
        "aud": format!("https://{sub}.gorgias.com/api"), "azp": client_id,
        "scope": scope_string(scopes), "iat": iat, "exp": iat + ttl, "jti": jti});
    let access_token = jwt(app, &claims);
    state.issued.push(access_token.clone());
    state.access.insert(
        jti,
        AccessGrant {
            user_id,
            scopes: scopes.clone(),
            refresh_token: refresh_token.clone(),
            expires: now.plus_secs(ttl),
            revoked: false,
        },
    );
    let mut body = json!({"access_token": access_token, "expires_in": ttl,
        "scope": scope_string(scopes), "token_type": "Bearer"});
    if include_refresh && let Some(rt) = refresh_token {
        if !state.issued.contains(&rt) {
            state.issued.push(rt.clone());
        }
        body["refresh_token"] = json!(rt);
    }
    if scopes.contains("openid") {
        let (email, name) = {
            let store = app.store();
            store
                .users
                .get(&user_id)
                .map(|u| (u.email.clone(), u.name.clone()))
                .unwrap_or_default()
        };
        let id_claims = json!({"iss": format!("https://{sub}.gorgias.com"), "sub": user_id.to_string(),
            "aud": client_id, "iat": iat, "exp": iat + ttl, "email": email, "name": name,
            "nonce": nonce});
        let id_token = jwt(app, &id_claims);
        state.issued.push(id_token.clone());
        body["id_token"] = json!(id_token);
    }
    body
}

fn token_response(body: Value) -> Response {
    let mut r = axum::Json(body).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    r
}

fn pkce_ok(challenge: &(String, String), verifier: Option<&str>) -> bool {
    let Some(verifier) = verifier else {
        return false;
    };
    match challenge.1.as_str() {
        "S256" => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == challenge.0,
        _ => verifier == challenge.0,
    }
}

async fn token(State(app): State<App>, headers: HeaderMap, Form(p): Form<TokenParams>) -> Response {
    app.oauth().token_requests += 1;
    let client = match client_auth(&app, &headers, &p) {
        Ok(c) => c.client_id.clone(),
        Err(r) => return *r,
    };
    let invalid_grant = |d: &str| oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", d);
    let mut state = app.oauth();
    match p.grant_type.as_str() {
        "authorization_code" => {
            let Some(code) = p.code.as_deref() else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "Missing code.");
            };
            // Single use: the code is consumed whatever happens next.
            let Some(grant) = state.codes.remove(code) else {
                return invalid_grant("Invalid or already used authorization code.");
            };
            if grant.client_id != client {
                return invalid_grant("The code was issued to another client.");
            }
            if grant.expires <= Timestamp::wall_clock() {
                return invalid_grant("The authorization code has expired.");
            }
            if p.redirect_uri.as_deref() != Some(grant.redirect_uri.as_str()) {
                return invalid_grant("redirect_uri does not match the authorization request.");
            }
            if let Some(ch) = &grant.challenge
                && !pkce_ok(ch, p.code_verifier.as_deref())
            {
                return invalid_grant("code_verifier does not match the code_challenge.");
            }
            let refresh = grant.scopes.contains("offline").then(|| {
                let rt = opaque(&app, &mut state, "refresh");
                state.refresh.insert(
                    rt.clone(),
                    RefreshGrant {
                        client_id: client.clone(),
                        user_id: grant.user_id,
                        scopes: grant.scopes.clone(),
                        retired: false,
                    },
                );
                rt
            });
            let body = issue_tokens(
                &app,
                &mut state,
                Issue {
                    client_id: &client,
                    user_id: grant.user_id,
                    scopes: &grant.scopes,
                    refresh_token: refresh,
                    nonce: grant.nonce.as_deref(),
                    include_refresh: true,
                },
            );
            token_response(body)
        }
        "refresh_token" => {
            let Some(rt) = p.refresh_token.clone() else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Missing refresh_token.",
                );
            };
            let Some(grant) = state.refresh.get(&rt).cloned() else {
                return invalid_grant("Invalid refresh token.");
            };
            if grant.retired {
                return invalid_grant("The refresh token has been revoked.");
            }
            if grant.client_id != client {
                return invalid_grant("The refresh token was issued to another client.");
            }
            let rotate = app.config().rotate_refresh_tokens;
            let refresh = if rotate {
                if let Some(old) = state.refresh.get_mut(&rt) {
                    old.retired = true;
                }
                let new_rt = opaque(&app, &mut state, "refresh");
                state.refresh.insert(
                    new_rt.clone(),
                    RefreshGrant {
                        retired: false,
                        ..grant.clone()
                    },
                );
                new_rt
            } else {
                rt
            };
            // Without rotation the docs' refresh response carries no refresh_token.
            let body = issue_tokens(
                &app,
                &mut state,
                Issue {
                    client_id: &client,
                    user_id: grant.user_id,
                    scopes: &grant.scopes,
                    refresh_token: Some(refresh),
                    nonce: None,
                    include_refresh: rotate,
                },
            );
            token_response(body)
        }
        "" => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing grant_type.",
        ),
        _ => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Unsupported grant_type.",
        ),
    }
}

async fn revoke(
    State(app): State<App>,
    headers: HeaderMap,
    Form(p): Form<TokenParams>,
) -> Response {
    // The docs revoke with client Basic auth; a call without any client credentials is still
    // accepted (the token itself is the secret), but wrong credentials are refused.
    let has_client_credentials =
        headers.contains_key(header::AUTHORIZATION) || p.client_id.is_some();
    if has_client_credentials && let Err(r) = client_auth(&app, &headers, &p) {
        return *r;
    }
    let Some(token) = p.token.as_deref() else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "Missing token.");
    };
    let jti = decode_jwt(&app, token)
        .and_then(|c| c.get("jti").and_then(Value::as_str).map(str::to_owned));
    let mut state = app.oauth();
    if let Some(grant) = state.refresh.get_mut(token) {
        grant.retired = true;
        for access in state.access.values_mut() {
            if access.refresh_token.as_deref() == Some(token) {
                access.revoked = true;
            }
        }
    } else if let Some(jti) = jti
        && let Some(grant) = state.access.get_mut(&jti)
    {
        grant.revoked = true;
    }
    // RFC 7009: unknown tokens are not an error.
    token_response(json!({}))
}

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/oauth/authorize",
            get(authorize_page).post(authorize_decision),
        )
        .route("/oauth/token", post(token))
        .route("/oauth/revoke", post(revoke))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_and_reject_unknown() {
        let s = parse_scopes("openid offline tickets:write").unwrap();
        assert_eq!(scope_string(&s), "offline openid tickets:write");
        assert_eq!(parse_scopes("tickets:delete"), Err("tickets:delete".into()));
        assert_eq!(parse_scopes("admin"), Err("admin".into()));
        assert!(parse_scopes("views:read teams:write").is_ok());
    }

    #[test]
    fn pkce_s256() {
        // RFC 7636 appendix B.
        let challenge = (
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned(),
            "S256".to_owned(),
        );
        assert!(pkce_ok(
            &challenge,
            Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        ));
        assert!(!pkce_ok(&challenge, Some("wrong")));
        assert!(!pkce_ok(&challenge, None));
    }

    #[test]
    fn query_is_appended() {
        assert_eq!(
            with_query("https://a/cb", &[("code", "x y")]),
            "https://a/cb?code=x+y"
        );
        assert_eq!(
            with_query("https://a/cb?k=1", &[("state", "s")]),
            "https://a/cb?k=1&state=s"
        );
    }
}
