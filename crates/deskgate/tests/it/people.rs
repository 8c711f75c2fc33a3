//! People and roles (issue 19, part A), over real sockets: a password sign-in through the
//! console's form, wrong passwords refused and then throttled, an agent walking every console
//! page and every management API route (only their own few open), consent by an agent on a
//! shared server and refused on another, and the audit log naming the person and the OAuth
//! client behind a real OAuth-authenticated MCP call. The store parts run on SQLite and, when
//! configured, PostgreSQL.

use std::collections::HashMap;
use std::net::IpAddr;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Backend, Console, RawMcp, TestServer, browser};

const AGENT_PASSWORD: &str = "agent password 1234";
const ADMIN_PASSWORD: &str = "admin password 1234";
/// RFC 7636 appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const REDIRECT: &str = "http://127.0.0.1:9/callback";

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("no redirect from {}", response.url()))
        .to_str()
        .unwrap()
        .to_owned()
}

fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next()?.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// Adds a person through the API; returns their id.
async fn add_person(s: &TestServer, email: &str, role: &str, password: &str) -> String {
    let (status, body) = s
        .api(
            Method::POST,
            "/people",
            Some(json!({"email": email, "role": role, "password": password})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body.get("password").is_none() && !body.to_string().contains("argon2"));
    body["id"].as_str().unwrap().to_owned()
}

/// A person's console session, signed in from 198.51.100.1.
async fn session_of<'a>(s: &'a TestServer, email: &str, password: &str) -> Console<'a> {
    s.console_of(email, password, "198.51.100.1".parse().unwrap())
        .await
}

/// Signs in through the sign-in page as a browser does: GET the form (nonce cookie), POST it.
async fn sign_in_form(s: &TestServer, email: &str, password: &str) -> reqwest::Response {
    let http = browser();
    let form = http
        .get(format!("{}/ui/sign-in", s.base))
        .send()
        .await
        .unwrap();
    let nonce = set_cookie(&form, "dg_signin").expect("the form sets its nonce");
    http.post(format!("{}/ui/sign-in", s.base))
        .header("cookie", format!("dg_signin={nonce}"))
        .form(&[
            ("nonce", nonce.as_str()),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn people_on_sqlite() {
    people_story(Backend::Sqlite).await;
}

#[tokio::test]
async fn people_on_postgres() {
    people_story(Backend::Postgres).await;
}

/// Password round trip, roles, shares, consent by an agent and the audit log, on one backend.
async fn people_story(backend: Backend) {
    let Some(s) = TestServer::start_on(backend).await else {
        return;
    };
    let account = s.connect_sandbox().await;
    let (shared_id, shared_url) = s
        .mint(&account, json!({"name": "shared", "auth": "oauth"}))
        .await;
    let (other_id, other_url) = s
        .mint(&account, json!({"name": "not shared", "auth": "oauth"}))
        .await;
    let agent_id = add_person(&s, " Agent@Acme.example ", "agent", AGENT_PASSWORD).await;
    let admin_id = add_person(&s, "boss@acme.example", "admin", ADMIN_PASSWORD).await;

    // The same email twice is a conflict, a short password a 400; nothing is added.
    let (status, _) = s
        .api(
            Method::POST,
            "/people",
            Some(json!({"email": "agent@acme.example", "role": "agent", "password": "another long one"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, body) = s
        .api(
            Method::POST,
            "/people",
            Some(json!({"email": "x@acme.example", "role": "agent", "password": "short"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.to_string().contains("at least 12"), "{body}");
    let (_, listed) = s.api(Method::GET, "/people", None).await;
    assert_eq!(listed["result"].as_array().unwrap().len(), 2, "{listed}");

    // Password round trip through the real sign-in form: the agent lands on their page.
    let response = sign_in_form(&s, "agent@acme.example", AGENT_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/ui/me");
    assert!(set_cookie(&response, "dg_session").is_some_and(|c| !c.is_empty()));
    let wrong = sign_in_form(&s, "agent@acme.example", "not the password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie(&wrong, "dg_session").is_none());
    assert!(wrong.text().await.unwrap().contains("do not match"));

    // Share one server with the agent.
    let share = format!("/integrated-account/{account}/mcp/{shared_id}/shares/{agent_id}");
    let (status, _) = s.api(Method::PUT, &share, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, shares) = s
        .api(
            Method::GET,
            &format!("/integrated-account/{account}/mcp/{shared_id}/shares"),
            None,
        )
        .await;
    assert_eq!(shares["result"][0]["email"], "agent@acme.example");

    let agent = session_of(&s, "agent@acme.example", AGENT_PASSWORD).await;
    let (_, servers) = agent_api(
        &s,
        &agent,
        Method::GET,
        &format!("/people/{agent_id}/servers"),
    )
    .await;
    assert_eq!(servers["result"].as_array().unwrap().len(), 1, "{servers}");
    assert_eq!(servers["result"][0]["id"], shared_id.as_str());
    assert_eq!(servers["result"][0]["url"], shared_url.as_str());

    // A client registers; the agent approves it on the shared server...
    let client_id = register(&s).await;
    let code = consent(&agent, &client_id, &shared_url)
        .await
        .expect("the agent may approve on a shared server");
    // ...and is refused on the other, with nothing granted.
    assert_eq!(
        consent(&agent, &client_id, &other_url).await,
        Err(StatusCode::FORBIDDEN)
    );
    let (_, none) = s
        .api(
            Method::GET,
            &format!("/integrated-account/{account}/mcp/{other_id}/grants"),
            None,
        )
        .await;
    assert_eq!(none["result"], json!([]), "{none}");

    // The code becomes tokens; a real MCP call with the access token.
    let tokens = exchange(&s, &client_id, &code, &shared_url).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let mcp = RawMcp::new(&shared_url);
    let bearer = format!("Bearer {access}");
    let reply = mcp
        .post_with(
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "list_all_gorgias_tags", "arguments": {"limit": 1}}}),
            &[("authorization", &bearer)],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_ne!(reply.body["result"]["isError"], true, "{}", reply.text);

    // The audit log names the person and the client; filtered by person it holds the call,
    // filtered by another person it holds nothing.
    let logs = format!("/integrated-account/{account}/mcp/{shared_id}/logs");
    let (status, by_agent) = s
        .api(Method::GET, &format!("{logs}?person={agent_id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{by_agent}");
    let record = &by_agent["result"][0];
    assert_eq!(record["tool"], "list_all_gorgias_tags", "{by_agent}");
    assert_eq!(record["person_id"], agent_id.as_str());
    assert_eq!(record["person_email"], "agent@acme.example");
    assert_eq!(record["oauth_client_id"], client_id.as_str());
    let (_, by_admin) = s
        .api(Method::GET, &format!("{logs}?person={admin_id}"), None)
        .await;
    assert_eq!(by_admin["result"], json!([]));

    // Grants per server (admin) and per person (the agent's own).
    let (_, per_server) = s
        .api(
            Method::GET,
            &format!("/integrated-account/{account}/mcp/{shared_id}/grants"),
            None,
        )
        .await;
    assert_eq!(
        per_server["result"][0]["approved_by_person"],
        agent_id.as_str()
    );
    assert_eq!(
        per_server["result"][0]["approved_by_email"],
        "agent@acme.example"
    );
    let grant_id = per_server["result"][0]["id"].as_str().unwrap().to_owned();
    let (status, mine) = agent_api(
        &s,
        &agent,
        Method::GET,
        &format!("/people/{agent_id}/grants"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mine["result"][0]["id"], grant_id.as_str());
    // Not someone else's list.
    let (status, _) = agent_api(
        &s,
        &agent,
        Method::GET,
        &format!("/people/{admin_id}/grants"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The console's page of the server lists who it is shared with and the application.
    let access_page = format!("/ui/accounts/{account}/servers/{shared_id}/access");
    let (status, access) = s.console(&access_page).await.get(&access_page).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        access.contains("agent@acme.example") && access.contains("Test client"),
        "{access}"
    );

    // A state change with the session cookie but no CSRF token is refused; with it, the agent
    // revokes their own grant and the next MCP request fails.
    let revoke = format!("/people/{agent_id}/grants/{grant_id}");
    let no_csrf = s
        .http
        .delete(format!("{}{revoke}", s.base))
        .header("cookie", &agent.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(no_csrf.status(), StatusCode::FORBIDDEN);
    let (status, _) = agent_api(&s, &agent, Method::DELETE, &revoke).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let reply = mcp
        .post_with(
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
            &[("authorization", &bearer)],
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);

    // Unsharing revokes what the agent approved on the server.
    let code = consent(&agent, &client_id, &shared_url).await.unwrap();
    exchange(&s, &client_id, &code, &shared_url).await;
    let (_, mine) = agent_api(
        &s,
        &agent,
        Method::GET,
        &format!("/people/{agent_id}/grants"),
    )
    .await;
    assert_eq!(mine["result"].as_array().unwrap().len(), 1);
    let (status, _) = s.api(Method::DELETE, &share, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, mine) = agent_api(
        &s,
        &agent,
        Method::GET,
        &format!("/people/{agent_id}/grants"),
    )
    .await;
    assert_eq!(mine["result"], json!([]));
    assert_eq!(
        consent(&agent, &client_id, &shared_url).await,
        Err(StatusCode::FORBIDDEN)
    );

    // Resetting the password closes the agent's sessions; the new one works, the old does not.
    let (status, _) = s
        .api(
            Method::PUT,
            &format!("/people/{agent_id}/password"),
            Some(json!({"password": "a brand new password"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = agent_api(&s, &agent, Method::GET, "/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let local: IpAddr = "198.51.100.2".parse().unwrap();
    assert!(
        s.app
            .sign_in_with_password("agent@acme.example", AGENT_PASSWORD, local)
            .await
            .is_err()
    );
    let again = session_of(&s, "agent@acme.example", "a brand new password").await;
    let (status, me) = agent_api(&s, &again, Method::GET, "/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["role"], "agent");

    // Deleting the person ends their session.
    let (status, _) = s
        .api(Method::DELETE, &format!("/people/{agent_id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = agent_api(&s, &again, Method::GET, "/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    s.stop().await;
}

/// A management API request made with a person's console session (and its CSRF token).
async fn agent_api(
    s: &TestServer,
    session: &Console<'_>,
    method: Method,
    path: &str,
) -> (StatusCode, Value) {
    let response = s
        .http
        .request(method, format!("{}{path}", s.base))
        .header("cookie", &session.cookie)
        .header("x-csrf-token", &session.csrf)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn register(s: &TestServer) -> String {
    let response = s
        .http
        .post(format!("{}/oauth/register", s.base))
        .json(&json!({"client_name": "Test client", "redirect_uris": [REDIRECT]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    body["client_id"].as_str().unwrap().to_owned()
}

/// Opens the consent page as the session's person and allows; the code, or the status of the
/// page that refused.
async fn consent(
    session: &Console<'_>,
    client_id: &str,
    resource: &str,
) -> Result<String, StatusCode> {
    let params = [
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("state", "xyz"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("resource", resource),
        ("scope", "mcp"),
    ];
    let page = session
        .request(Method::GET, "/oauth/authorize")
        .query(&params)
        .send()
        .await
        .unwrap();
    let page_status = page.status();
    let mut form: Vec<(&str, &str)> = params.to_vec();
    form.push(("csrf", &session.csrf));
    form.push(("decision", "approve"));
    // The decision is posted even when the page refused: the POST must refuse on its own.
    let decided = session
        .request(Method::POST, "/oauth/authorize")
        .form(&form)
        .send()
        .await
        .unwrap();
    if page_status != StatusCode::OK {
        assert_eq!(
            decided.status(),
            page_status,
            "the page and the decision agree"
        );
        return Err(page_status);
    }
    let page_text = page.text().await.unwrap();
    assert!(page_text.contains("Test client"), "{page_text}");
    if decided.status() != StatusCode::SEE_OTHER && decided.status() != StatusCode::FOUND {
        return Err(decided.status());
    }
    let to = url::Url::parse(&location(&decided)).unwrap();
    let query: HashMap<String, String> = to.query_pairs().into_owned().collect();
    assert_eq!(query.get("state").map(String::as_str), Some("xyz"));
    Ok(query["code"].clone())
}

async fn exchange(s: &TestServer, client_id: &str, code: &str, resource: &str) -> Value {
    let response = s
        .http
        .post(format!("{}/oauth/token", s.base))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", client_id),
            ("code_verifier", VERIFIER),
            ("redirect_uri", REDIRECT),
            ("resource", resource),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn wrong_passwords_are_refused_then_throttled() {
    let s = TestServer::start().await;
    add_person(&s, "agent@acme.example", "agent", AGENT_PASSWORD).await;
    let guesser: IpAddr = "203.0.113.7".parse().unwrap();
    let bystander: IpAddr = "203.0.113.8".parse().unwrap();
    let mut refused = 0;
    let mut throttled = None;
    for _ in 0..40 {
        match s
            .app
            .sign_in_with_password("agent@acme.example", "wrong password!!", guesser)
            .await
        {
            Err(deskgate::error::ApiError::Unauthorized) => refused += 1,
            Err(deskgate::error::ApiError::TooManyRequests { retry_after_secs }) => {
                throttled = Some(retry_after_secs);
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(refused, deskgate::auth_throttle::BURST as usize);
    assert!(throttled.is_some_and(|secs| secs >= 1));
    // An unknown email counts the same (and is not told apart).
    // The right password from the blocked address waits too; another address signs in.
    assert!(matches!(
        s.app
            .sign_in_with_password("agent@acme.example", AGENT_PASSWORD, guesser)
            .await,
        Err(deskgate::error::ApiError::TooManyRequests { .. })
    ));
    assert!(
        s.app
            .sign_in_with_password("agent@acme.example", AGENT_PASSWORD, bystander)
            .await
            .is_ok()
    );
    assert!(matches!(
        s.app
            .sign_in_with_password("nobody@acme.example", AGENT_PASSWORD, bystander)
            .await,
        Err(deskgate::error::ApiError::Unauthorized)
    ));
    s.stop().await;
}

/// The console's routes as `ui/mod.rs` declares them: (method, path template).
fn console_routes() -> Vec<(Method, String)> {
    let source = include_str!("../../src/ui/mod.rs");
    let router = &source[source.find("pub fn router()").expect("the router")..];
    let mut routes = Vec::new();
    for chunk in router.split(".route(").skip(1) {
        let path = chunk.split('"').nth(1).unwrap().to_owned();
        if chunk.contains("get(") {
            routes.push((Method::GET, path.clone()));
        }
        if chunk.contains("post(") {
            routes.push((Method::POST, path));
        }
    }
    assert!(routes.len() > 30, "the route list was read: {routes:?}");
    routes
}

fn fill(template: &str, ids: &HashMap<&str, String>, id: &str) -> String {
    let mut path = template.replace("{id}", id);
    for (name, value) in ids {
        path = path.replace(&format!("{{{name}}}"), value);
    }
    assert!(!path.contains('{'), "unfilled parameter in {path}");
    path
}

#[tokio::test]
async fn an_agent_is_refused_on_every_route_but_their_own() {
    let s = TestServer::start().await;
    let account = s.connect_sandbox().await;
    let (server_id, _) = s
        .mint(&account, json!({"name": "shared", "auth": "oauth"}))
        .await;
    let agent_id = add_person(&s, "agent@acme.example", "agent", AGENT_PASSWORD).await;
    let other_id = add_person(&s, "other@acme.example", "agent", AGENT_PASSWORD).await;
    let (status, _) = s
        .api(
            Method::PUT,
            &format!("/integrated-account/{account}/mcp/{server_id}/shares/{agent_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let agent = session_of(&s, "agent@acme.example", AGENT_PASSWORD).await;
    let mut ids: HashMap<&str, String> = HashMap::new();
    ids.insert("mcp_id", server_id.clone());
    ids.insert("server_id", server_id.clone());
    ids.insert("person_id", agent_id.clone());
    ids.insert("grant_id", "01a00000-0000-7000-8000-000000000000".into());
    ids.insert("action_id", "01a00000-0000-7000-8000-000000000001".into());
    ids.insert("integration", "gorgias".into());
    ids.insert("name", "list_all_gorgias_tags".into());

    // Every management API route, from the OpenAPI document (which the OpenAPI checks hold to
    // the router): 403 for the agent, except their own.
    let (_, doc) = s.api(Method::GET, "/openapi.json", None).await;
    let own = |method: &Method, path: &str| {
        matches!(
            (method.as_str(), path),
            ("GET", "/me")
                | ("GET", "/people/{id}")
                | ("GET", "/people/{id}/servers")
                | ("GET", "/people/{id}/grants")
                | ("DELETE", "/people/{id}/grants/{grant_id}")
        )
    };
    let mut walked = 0;
    for (template, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let id = if template.starts_with("/people") {
                &other_id
            } else {
                &account
            };
            let path = fill(template, &ids, id);
            let (status, body) = agent_api(&s, &agent, method.clone(), &path).await;
            walked += 1;
            if template == "/me" {
                assert_eq!(status, StatusCode::OK);
                assert_eq!(body["role"], "agent");
            } else if own(&method, template) {
                // Someone else's: refused. (Their own is checked below.)
                assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {body}");
                let mine = fill(template, &ids, &agent_id);
                let (status, body) = agent_api(&s, &agent, method.clone(), &mine).await;
                assert!(
                    status == StatusCode::OK || status == StatusCode::NOT_FOUND,
                    "{method} {mine}: {status} {body}"
                );
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {body}");
                assert!(
                    body.to_string().contains("agent"),
                    "{method} {path}: {body}"
                );
            }
        }
    }
    assert!(walked > 30, "walked {walked} API routes");

    // Every console route from the router's source: 403 for the agent, except their pages.
    let agent_pages = [
        (Method::GET, "/ui/me"),
        (Method::POST, "/ui/me/grants/{grant_id}/revoke"),
        (Method::GET, "/ui/sign-in"),
        (Method::POST, "/ui/sign-in"),
        (Method::POST, "/ui/sign-out"),
        // A permanent redirect to /ui, which is refused.
        (Method::GET, "/ui/"),
        // Public: the stylesheet and script.
        (Method::GET, "/ui/assets/{name}"),
        // Finishes only a connect flow an admin started: its state and binding cookie decide.
        (Method::GET, "/connect/{integration}/callback"),
    ];
    for (method, template) in console_routes() {
        if agent_pages
            .iter()
            .any(|(m, t)| *m == method && *t == template)
        {
            continue;
        }
        let path = fill(&template, &ids, &account);
        let request = agent.request(method.clone(), &path);
        let request = if method == Method::POST {
            request.form(&[("csrf", agent.csrf.as_str())])
        } else {
            request
        };
        let response = request.send().await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::FORBIDDEN,
            "{method} {path} is open to an agent"
        );
    }
    // A refused page says why and leads to their own page.
    let refused = agent.request(Method::GET, "/ui").send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.text().await.unwrap().contains("href=\"/ui/me\""));
    // Their own page opens, and shows only their server.
    let me = agent.request(Method::GET, "/ui/me").send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let page = me.text().await.unwrap();
    assert!(
        page.contains("shared") && page.contains(&server_id),
        "{page}"
    );
    assert!(
        !page.contains("href=\"/ui/tokens\""),
        "an agent's nav offers admin pages"
    );
    s.stop().await;
}
