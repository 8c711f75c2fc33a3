//! §2.2 OAuth2: consent, code exchange, refresh (with and without rotation), revoke, expiry,
//! scopes and the OAuth rate-limit bucket.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gorgias_sandbox::{BucketConfig, OAuthClient, SandboxConfig};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::{Harness, start, start_with};

const CLIENT_ID: &str = "606d8961c9809e208baf1835";
const SECRET: &str = "sandbox-client-secret";
const REDIRECT: &str = "https://app.example/callback";

fn query_param(url: &str, key: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then(|| v.replace('+', " ").replace("%20", " ").replace("%3A", ":"))
    })
}

/// Runs the consent form and returns the `Location` of the redirect.
async fn consent(h: &Harness, scope: &str, decision: &str, extra: &[(&str, &str)]) -> String {
    let mut form = vec![
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT),
        ("scope", scope),
        ("state", "xyz"),
        ("decision", decision),
    ];
    form.extend_from_slice(extra);
    let r = h
        .send(h.http.post(h.url("/oauth/authorize")).form(&form))
        .await;
    assert_eq!(r.status, 302, "{}", r.text);
    r.header("location").expect("Location").to_owned()
}

async fn exchange(h: &Harness, code: &str, extra: &[(&str, &str)]) -> crate::support::Reply {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
    ];
    form.extend_from_slice(extra);
    h.send(
        h.http
            .post(h.url("/oauth/token"))
            .basic_auth(CLIENT_ID, Some(SECRET))
            .form(&form),
    )
    .await
}

async fn refresh(h: &Harness, token: &str) -> crate::support::Reply {
    h.send(
        h.http
            .post(h.url("/oauth/token"))
            .basic_auth(CLIENT_ID, Some(SECRET))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", token)]),
    )
    .await
}

async fn tokens(h: &Harness, scope: &str) -> Value {
    let loc = consent(h, scope, "approve", &[]).await;
    let code = query_param(&loc, "code").expect("code");
    let r = exchange(h, &code, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

fn claims(jwt: &str) -> Value {
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3, "JWT-shaped");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("base64url"))
        .expect("claims json")
}

#[tokio::test]
async fn consent_page_and_redirects() {
    let h = start().await;
    let page = h
        .send(h.http.get(h.url(&format!(
            "/oauth/authorize?response_type=code&client_id={CLIENT_ID}&redirect_uri={REDIRECT}&scope=openid%20offline%20tickets:write&state=xyz"
        ))))
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .unwrap_or("")
            .starts_with("text/html")
    );
    for needle in [
        "<form",
        "name=\"decision\" value=\"approve\"",
        "value=\"deny\"",
        "tickets:write",
        "<label",
    ] {
        assert!(page.text.contains(needle), "{needle}");
    }
    let approved = consent(&h, "offline tickets:read", "approve", &[]).await;
    assert!(approved.starts_with(REDIRECT));
    assert!(query_param(&approved, "code").is_some());
    assert_eq!(query_param(&approved, "state").as_deref(), Some("xyz"));
    let denied = consent(&h, "offline tickets:read", "deny", &[]).await;
    assert_eq!(
        query_param(&denied, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(query_param(&denied, "state").as_deref(), Some("xyz"));
    let bad_scope = consent(&h, "tickets:destroy", "approve", &[]).await;
    assert_eq!(
        query_param(&bad_scope, "error").as_deref(),
        Some("invalid_scope")
    );
    let unknown_client = h
        .send(h.http.get(h.url(&format!("/oauth/authorize?response_type=code&client_id=nope&redirect_uri={REDIRECT}&scope=openid"))))
        .await;
    assert_eq!(
        unknown_client.status, 400,
        "no redirect for an unknown client"
    );
}

#[tokio::test]
async fn code_exchange_and_api_access() {
    let h = start().await;
    let t = tokens(&h, "openid email offline tickets:write users:read").await;
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["expires_in"], 86_400);
    assert!(t["refresh_token"].is_string());
    assert!(t["id_token"].is_string(), "openid gives an id_token");
    let scope = t["scope"].as_str().expect("scope");
    assert!(scope.contains("tickets:write") && scope.contains("offline"));
    let access = t["access_token"].as_str().expect("access token");
    let c = claims(access);
    assert_eq!(c["iss"], "https://acme.gorgias.com");
    assert_eq!(c["aud"], "https://acme.gorgias.com/api");
    assert_eq!(c["azp"], CLIENT_ID);
    assert_eq!(c["sub"], h.user_id().to_string());
    assert_eq!(
        c["exp"].as_i64().expect("exp") - c["iat"].as_i64().expect("iat"),
        86_400
    );
    assert!(c["jti"].is_string());
    let r = h.bearer(Method::GET, "/api/tickets?limit=1", access).await;
    assert_eq!(r.status, 200);
    // The OAuth bucket: 80 per 20 s.
    assert_eq!(r.header("x-gorgias-account-api-call-limit"), Some("1/80"));
    let me = h.bearer(Method::GET, "/api/users/0", access).await;
    assert_eq!(me.body["id"], h.user_id());
}

#[tokio::test]
async fn codes_are_single_use_and_bound() {
    let h = start().await;
    let loc = consent(&h, "offline tickets:read", "approve", &[]).await;
    let code = query_param(&loc, "code").expect("code");
    let wrong_redirect = h
        .send(
            h.http
                .post(h.url("/oauth/token"))
                .basic_auth(CLIENT_ID, Some(SECRET))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", "https://evil.example/cb"),
                ]),
        )
        .await;
    assert_eq!(wrong_redirect.status, 400);
    assert_eq!(wrong_redirect.body["error"], "invalid_grant");
    // The failed attempt consumed the code.
    let reused = exchange(&h, &code, &[]).await;
    assert_eq!(reused.status, 400);
    assert_eq!(reused.body["error"], "invalid_grant");
    let loc = consent(&h, "offline tickets:read", "approve", &[]).await;
    let code = query_param(&loc, "code").expect("code");
    let bad_client = h
        .send(
            h.http
                .post(h.url("/oauth/token"))
                .basic_auth(CLIENT_ID, Some("wrong"))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", REDIRECT),
                ]),
        )
        .await;
    assert_eq!(bad_client.status, 401);
    assert_eq!(bad_client.body["error"], "invalid_client");
    // Client credentials in the body work too.
    let body_auth = h
        .send(h.http.post(h.url("/oauth/token")).form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
        ]))
        .await;
    assert_eq!(body_auth.status, 200, "{}", body_auth.text);
    let unsupported = h
        .send(
            h.http
                .post(h.url("/oauth/token"))
                .basic_auth(CLIENT_ID, Some(SECRET))
                .form(&[("grant_type", "password")]),
        )
        .await;
    assert_eq!(unsupported.body["error"], "unsupported_grant_type");
}

#[tokio::test]
async fn refresh_without_rotation_keeps_the_refresh_token() {
    let h = start().await;
    let t = tokens(&h, "offline tickets:read").await;
    let rt = t["refresh_token"].as_str().expect("rt");
    let before = h.sandbox.state().oauth_token_requests();
    let r1 = refresh(&h, rt).await;
    assert_eq!(h.sandbox.state().oauth_token_requests(), before + 1);
    let issued = h.sandbox.state().issued_tokens();
    for token in [
        rt,
        t["access_token"].as_str().expect("at"),
        r1.body["access_token"].as_str().expect("at"),
    ] {
        assert!(
            issued.iter().any(|i| i == token),
            "issued_tokens lists {token}"
        );
    }
    assert_eq!(r1.status, 200, "{}", r1.text);
    assert!(
        r1.body.get("refresh_token").is_none(),
        "the docs' refresh response has no refresh_token"
    );
    assert_ne!(r1.body["access_token"], t["access_token"]);
    let r2 = refresh(&h, rt).await;
    assert_eq!(r2.status, 200, "the refresh token keeps working");
    let old = t["access_token"].as_str().expect("at");
    assert_eq!(
        h.bearer(Method::GET, "/api/tickets?limit=1", old)
            .await
            .status,
        200
    );
    assert_eq!(refresh(&h, "garbage").await.body["error"], "invalid_grant");
}

#[tokio::test]
async fn rotation_retires_the_old_refresh_token() {
    let h = start_with(SandboxConfig {
        rotate_refresh_tokens: true,
        ..SandboxConfig::default()
    })
    .await;
    let t = tokens(&h, "offline tickets:read").await;
    let rt1 = t["refresh_token"].as_str().expect("rt").to_owned();
    let r = refresh(&h, &rt1).await;
    assert_eq!(r.status, 200);
    let rt2 = r.body["refresh_token"]
        .as_str()
        .expect("a new refresh token")
        .to_owned();
    assert_ne!(rt1, rt2);
    let reuse = refresh(&h, &rt1).await;
    assert_eq!(reuse.status, 400);
    assert_eq!(reuse.body["error"], "invalid_grant");
    assert_eq!(refresh(&h, &rt2).await.status, 200);
}

#[tokio::test]
async fn revoke_and_expiry() {
    let h = start().await;
    let t = tokens(&h, "offline tickets:read account:read").await;
    let rt = t["refresh_token"].as_str().expect("rt");
    let at = t["access_token"].as_str().expect("at");
    // Expire: 401 on the API, the refresh token still works.
    let expired = h
        .send(h.http.post(h.url("/_sandbox/oauth/expire-access-tokens")))
        .await;
    assert_eq!(expired.status, 204);
    assert_eq!(h.bearer(Method::GET, "/api/account", at).await.status, 401);
    let fresh = refresh(&h, rt).await;
    let at2 = fresh.body["access_token"].as_str().expect("at2").to_owned();
    assert_eq!(
        h.bearer(Method::GET, "/api/account", &at2).await.status,
        200
    );
    // Revoke the refresh token: its access tokens die and it gives invalid_grant.
    let revoked = h
        .send(
            h.http
                .post(h.url("/oauth/revoke"))
                .basic_auth(CLIENT_ID, Some(SECRET))
                .form(&[("token", rt)]),
        )
        .await;
    assert_eq!(revoked.status, 200);
    assert_eq!(revoked.body, json!({}));
    assert_eq!(refresh(&h, rt).await.body["error"], "invalid_grant");
    assert_eq!(
        h.bearer(Method::GET, "/api/account", &at2).await.status,
        401
    );
    // Revoking one access token.
    let t = tokens(&h, "offline account:read").await;
    let at3 = t["access_token"].as_str().expect("at3");
    h.send(h.http.post(h.url("/oauth/revoke")).form(&[("token", at3)]))
        .await;
    assert_eq!(h.bearer(Method::GET, "/api/account", at3).await.status, 401);
    // revoke_all from state.
    let t = tokens(&h, "offline account:read").await;
    h.sandbox.state().revoke_all_tokens();
    assert_eq!(
        h.bearer(
            Method::GET,
            "/api/account",
            t["access_token"].as_str().expect("at")
        )
        .await
        .status,
        401
    );
}

#[tokio::test]
async fn short_ttl_expires_by_itself() {
    let h = start_with(SandboxConfig {
        access_token_ttl: Duration::from_secs(2),
        ..SandboxConfig::default()
    })
    .await;
    let t = tokens(&h, "account:read").await;
    assert_eq!(t["expires_in"], 2);
    assert!(
        t.get("refresh_token").is_none(),
        "no offline scope, no refresh token"
    );
    let at = t["access_token"].as_str().expect("at");
    assert_eq!(h.bearer(Method::GET, "/api/account", at).await.status, 200);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(h.bearer(Method::GET, "/api/account", at).await.status, 401);
}

#[tokio::test]
async fn pkce_is_optional_but_enforced_when_used() {
    let h = start().await;
    let verifier = "a-very-long-random-code-verifier-string-0123456789";
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let loc = consent(
        &h,
        "offline",
        "approve",
        &[
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    let code = query_param(&loc, "code").expect("code");
    assert_eq!(
        exchange(&h, &code, &[("code_verifier", "wrong")])
            .await
            .body["error"],
        "invalid_grant"
    );
    let loc = consent(
        &h,
        "offline",
        "approve",
        &[
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    let code = query_param(&loc, "code").expect("code");
    assert_eq!(
        exchange(&h, &code, &[("code_verifier", verifier)])
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn scopes_and_roles_give_403() {
    let h = start().await;
    let t = tokens(&h, "tickets:read").await;
    let at = t["access_token"].as_str().expect("at");
    assert_eq!(
        h.bearer(Method::GET, "/api/tickets?limit=1", at)
            .await
            .status,
        200
    );
    let write = h
        .send(
            h.http
                .post(h.url("/api/tags"))
                .bearer_auth(at)
                .json(&json!({"name": "nope"})),
        )
        .await;
    assert_eq!(write.status, 403);
    assert!(
        write.body["error"]["msg"]
            .as_str()
            .expect("msg")
            .starts_with("You do not have enough permissions")
    );
    assert_eq!(
        h.bearer(Method::GET, "/api/customers", at).await.status,
        403
    );
    // An observer agent approving the app cannot write.
    let loc = consent(
        &h,
        "write:all",
        "approve",
        &[("login_email", "olivia@acme.example")],
    )
    .await;
    let code = query_param(&loc, "code").expect("code");
    let observer = exchange(&h, &code, &[]).await.body["access_token"]
        .as_str()
        .expect("at")
        .to_owned();
    assert_eq!(
        h.bearer(Method::GET, "/api/tickets?limit=1", &observer)
            .await
            .status,
        200
    );
    let denied = h
        .send(
            h.http
                .post(h.url("/api/tags"))
                .bearer_auth(&observer)
                .json(&json!({"name": "x"})),
        )
        .await;
    assert_eq!(denied.status, 403);
}

#[tokio::test]
async fn oauth_bucket_is_separate_from_the_api_key_bucket() {
    let small = BucketConfig {
        capacity: 2,
        window: Duration::from_secs(3600),
    };
    let h = start_with(SandboxConfig {
        api_key_bucket: small,
        oauth_bucket: small,
        oauth_clients: vec![OAuthClient {
            redirect_uris: vec![REDIRECT.to_owned()],
            ..OAuthClient::default()
        }],
        ..SandboxConfig::default()
    })
    .await;
    assert_eq!(h.get("/api/account").await.status, 200);
    assert_eq!(h.get("/api/account").await.status, 200);
    assert_eq!(h.get("/api/account").await.status, 429);
    let t = tokens(&h, "account:read").await;
    let at = t["access_token"].as_str().expect("at");
    let r = h.bearer(Method::GET, "/api/account", at).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-gorgias-account-api-call-limit"), Some("1/2"));
    // A redirect URI that is not registered is refused without redirecting.
    let bad = h
        .send(h.http.post(h.url("/oauth/authorize")).form(&[
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", "https://other.example/cb"),
            ("scope", "openid"),
            ("decision", "approve"),
        ]))
        .await;
    assert_eq!(bad.status, 400);
}
