//! Issue 16's hardening, through real servers on SQLite and PostgreSQL: scoped API tokens, the
//! bootstrap admin token that follows `DESKGATE_ADMIN_TOKEN`, failed authentication throttled
//! per client address, credentials no vault key opens, the legacy SSE caps and streams that end
//! with their server, and file names that cannot carry a header into the upstream request.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Backend, Options, RawMcp, SseStream, TestServer, fresh_database};

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name(super::Backend::Sqlite).await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name(super::Backend::Postgres).await;
            })*
        }
    };
}

on_both_backends!(
    mcp_tokens_only_open_the_servers_they_cover,
    the_bootstrap_token_follows_the_variable,
    failed_authentication_is_throttled_per_client,
    credentials_no_vault_key_opens_stop_the_start,
    a_missing_key_file_is_never_replaced_over_sealed_data,
    sse_streams_are_capped_per_server_and_in_total,
    sse_streams_end_with_their_server,
    line_breaks_in_a_file_name_never_reach_gorgias,
    the_console_mints_and_revokes_tokens_and_takes_new_credentials,
);

async fn mcp_tokens_only_open_the_servers_they_cover(backend: Backend) {
    let Some(s) = TestServer::start_on(backend).await else {
        return;
    };
    let account = s.connect_sandbox().await;
    let guarded = json!({"name": "guarded", "require_api_token_auth": true});
    let (first, first_url) = s.mint(&account, guarded.clone()).await;
    let (_, second_url) = s.mint(&account, guarded).await;

    // An admin token cannot be limited; limits name things that exist.
    let (status, body) = s
        .api(
            Method::POST,
            "/api-token",
            Some(json!({"name": "x", "mcp_server_ids": [first]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = s
        .api(
            Method::POST,
            "/api-token",
            Some(json!({"name": "x", "scope": "mcp", "mcp_server_ids": ["no-such-server"]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no-such-server")
    );

    let (status, limited) = s
        .api(
            Method::POST,
            "/api-token",
            Some(json!({"name": "cursor", "scope": "mcp", "mcp_server_ids": [first]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{limited}");
    assert_eq!(limited["scope"], "mcp");
    assert_eq!(limited["mcp_server_ids"], json!([first]));
    let limited = limited["token"].as_str().unwrap().to_owned();
    let (_, by_account) = s
        .api(
            Method::POST,
            "/api-token",
            Some(json!({"name": "agents", "scope": "mcp", "integrated_account_ids": [account]})),
        )
        .await;
    let by_account = by_account["token"].as_str().unwrap().to_owned();

    let initialize = |url: &str, token: &str| {
        let mcp = RawMcp::new(url);
        let token = token.to_owned();
        async move {
            mcp.post_with(
                json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                    "protocolVersion": "2025-11-25", "capabilities": {},
                    "clientInfo": {"name": "t", "version": "1"}}}),
                &[("authorization", &format!("Bearer {token}"))],
            )
            .await
            .status
        }
    };
    assert_eq!(initialize(&first_url, &limited).await, StatusCode::OK);
    assert_eq!(
        initialize(&second_url, &limited).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(initialize(&first_url, &by_account).await, StatusCode::OK);
    assert_eq!(initialize(&second_url, &by_account).await, StatusCode::OK);
    assert_eq!(
        initialize(&second_url, &s.admin_token).await,
        StatusCode::OK
    );
    assert_eq!(
        initialize(&second_url, "dga_wrong").await,
        StatusCode::UNAUTHORIZED
    );

    // Anywhere else, an mcp token is refused: the API and the console.
    for path in ["/integrated-account", "/api-token"] {
        let (status, body) = s.api_as(&limited, Method::GET, path, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        assert_eq!(body["error"]["code"], "forbidden");
    }
    let (status, _) = s
        .api_as(
            &limited,
            Method::POST,
            &format!("/integrated-account/{account}/mcp"),
            Some(json!({"name": "escalate"})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "an mcp token minted a server"
    );
    let console = s
        .http
        .get(format!("{}/ui", s.base))
        .bearer_auth(&limited)
        .send()
        .await
        .unwrap();
    assert_eq!(console.status(), StatusCode::FORBIDDEN);
    assert!(
        s.app
            .sign_in(&limited, "127.0.0.1".parse().unwrap())
            .await
            .is_err()
    );

    // Listed with their scope and limits, never their values; revoked at once.
    let (_, list) = s.api(Method::GET, "/api-token", None).await;
    assert!(!list.to_string().contains(&limited));
    let row = list["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "cursor")
        .unwrap()
        .clone();
    assert_eq!(row["scope"], "mcp");
    let (status, _) = s
        .api(
            Method::DELETE,
            &format!("/api-token/{}", row["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        initialize(&first_url, &limited).await,
        StatusCode::UNAUTHORIZED
    );
    s.stop().await;
}

/// Starts a server on `database` with `admin` as `DESKGATE_ADMIN_TOKEN` (or none).
async fn start_with_admin(
    backend: Backend,
    database: &str,
    vault_key: &str,
    admin: Option<&str>,
) -> TestServer {
    let database = database.to_owned();
    let vault_key = vault_key.to_owned();
    let admin = admin.map(str::to_owned);
    TestServer::start_with(Options {
        backend,
        database_url: Some(database),
        configure: Box::new(move |config| {
            config.admin_token = admin.map(Into::into);
            config.vault_key = Some(vault_key.into());
        }),
        ..Options::default()
    })
    .await
    .expect("the server starts")
}

async fn the_bootstrap_token_follows_the_variable(backend: Backend) {
    let Some(database) = fresh_database(backend).await else {
        return;
    };
    let key = deskgate::vault::Vault::generate_key_spec();
    let old = format!("old-{}", deskgate::tokens::random_urlsafe(24));
    let new = format!("new-{}", deskgate::tokens::random_urlsafe(24));
    let works = |s: &TestServer, token: &str| {
        let request = s
            .http
            .get(format!("{}/api-token", s.base))
            .bearer_auth(token);
        async move { request.send().await.unwrap().status() }
    };

    let s = start_with_admin(backend, &database, &key, Some(&old)).await;
    assert_eq!(works(&s, &old).await, StatusCode::OK);
    // A console session opened with it ends with it.
    let session = s
        .app
        .sign_in(&old, "127.0.0.1".parse().unwrap())
        .await
        .unwrap();
    s.stop().await;

    let s = start_with_admin(backend, &database, &key, Some(&new)).await;
    assert_eq!(
        works(&s, &old).await,
        StatusCode::UNAUTHORIZED,
        "the rotated-out value still works"
    );
    assert_eq!(works(&s, &new).await, StatusCode::OK);
    let mut cookie = reqwest::header::HeaderMap::new();
    cookie.insert("cookie", format!("dg_session={session}").parse().unwrap());
    assert!(
        s.app
            .operator(&cookie, "127.0.0.1".parse().unwrap())
            .await
            .is_err()
    );
    let (_, tokens) = s.api_as(&new, Method::GET, "/api-token", None).await;
    let bootstrap: Vec<&Value> = tokens["result"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["bootstrap"] == true)
        .collect();
    assert_eq!(bootstrap.len(), 1, "{tokens}");
    s.stop().await;

    // Removing the variable retires it too; minted tokens are untouched.
    let s = start_with_admin(backend, &database, &key, Some(&new)).await;
    let (_, minted) = s
        .api_as(
            &new,
            Method::POST,
            "/api-token",
            Some(json!({"name": "named"})),
        )
        .await;
    let minted = minted["token"].as_str().unwrap().to_owned();
    s.stop().await;
    let s = start_with_admin(backend, &database, &key, None).await;
    assert_eq!(works(&s, &new).await, StatusCode::UNAUTHORIZED);
    assert_eq!(works(&s, &minted).await, StatusCode::OK);
    s.stop().await;

    // A weak value is refused, and says why without echoing it.
    let mut config = deskgate::config::Config::new("127.0.0.1:0".parse().unwrap(), database);
    config.vault_key = Some(key.into());
    config.admin_token = Some("a".to_owned().into());
    let refused = deskgate::app::App::build(config)
        .await
        .err()
        .expect("a weak token is refused");
    let message = refused.to_string();
    assert!(
        message.contains("DESKGATE_ADMIN_TOKEN is too weak") && message.contains("128"),
        "{message}"
    );
}

async fn failed_authentication_is_throttled_per_client(backend: Backend) {
    let Some(s) = TestServer::start_with(Options {
        backend,
        configure: Box::new(|config| {
            config.trusted_proxies =
                vec![deskgate::auth_throttle::parse_trusted_proxy("127.0.0.1").unwrap()];
        }),
        ..Options::default()
    })
    .await
    else {
        return;
    };
    let as_client = |client: &str, token: &str| {
        s.http
            .get(format!("{}/integrated-account", s.base))
            .bearer_auth(token)
            .header("x-forwarded-for", client)
    };
    let burst = deskgate::auth_throttle::BURST as usize;
    for _ in 0..burst {
        let r = as_client("203.0.113.5", "dga_guess").send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = as_client("203.0.113.5", "dga_guess").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_requests");
    // Blocked addresses wait whatever they send; other clients are not affected.
    let r = as_client("203.0.113.5", &s.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let r = as_client("198.51.100.1", &s.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // A client cannot pose as another from an untrusted hop: the right-most untrusted address
    // counts, not what the client wrote first.
    let r = as_client("203.0.113.5, 198.51.100.2", "dga_guess")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Unknown MCP URLs count too, and get a 429 past the budget; a known one is still served.
    let account = s.connect_sandbox().await;
    let (_, url) = s.mint(&account, json!({"name": "open"})).await;
    let unknown = format!("{}/mcp/dgm_{}", s.base, "A".repeat(43));
    let mcp_from = |url: &str| {
        s.http
            .post(url)
            .header("x-forwarded-for", "192.0.2.77")
            .header("accept", "application/json, text/event-stream")
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
    };
    for _ in 0..burst {
        assert_eq!(
            mcp_from(&unknown).send().await.unwrap().status(),
            StatusCode::NOT_FOUND
        );
    }
    let r = mcp_from(&unknown).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(
        mcp_from(&url)
            .header("mcp-protocol-version", "2025-11-25")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    // The console sign-in counts failures the same way.
    let client: std::net::IpAddr = "192.0.2.200".parse().unwrap();
    for _ in 0..burst {
        assert!(matches!(
            s.app.sign_in("dga_guess", client).await,
            Err(deskgate::error::ApiError::Unauthorized)
        ));
    }
    assert!(matches!(
        s.app.sign_in(&s.admin_token, client).await,
        Err(deskgate::error::ApiError::TooManyRequests { .. })
    ));
    tokio::time::sleep(Duration::from_millis(1)).await;
    s.stop().await;
}

async fn credentials_no_vault_key_opens_stop_the_start(backend: Backend) {
    let Some(database) = fresh_database(backend).await else {
        return;
    };
    let old_key = deskgate::vault::Vault::generate_key_spec();
    let new_key = deskgate::vault::Vault::generate_key_spec();
    // The first server keeps running so that its sandbox (the account's upstream) stays up.
    let first = start_with_admin(
        backend,
        &database,
        &old_key,
        Some(&format!("admin-{}", uuid::Uuid::new_v4())),
    )
    .await;
    let account = first.connect_sandbox().await;
    let (_, url) = first.mint(&account, json!({"name": "reads"})).await;

    let mut config =
        deskgate::config::Config::new("127.0.0.1:0".parse().unwrap(), database.clone());
    config.vault_key = Some(new_key.clone().into());
    let refused = deskgate::app::App::build(config.clone())
        .await
        .err()
        .expect("a start over credentials no key opens is refused")
        .to_string();
    for expected in [
        "refusing to start",
        "1 integrated account",
        &account,
        "--allow-unreadable-credentials",
        "PATCH /integrated-account",
    ] {
        assert!(
            refused.contains(expected),
            "{expected:?} missing from: {refused}"
        );
    }

    let admin = format!("admin-{}", uuid::Uuid::new_v4());
    let admin_for_config = admin.clone();
    let key_for_config = new_key.clone();
    let second = TestServer::start_with(Options {
        backend,
        database_url: Some(database.clone()),
        configure: Box::new(move |config| {
            config.vault_key = Some(key_for_config.into());
            config.admin_token = Some(admin_for_config.into());
            config.allow_unreadable_credentials = true;
        }),
        ..Options::default()
    })
    .await
    .unwrap();
    let (_, shown) = second
        .api(Method::GET, &format!("/integrated-account/{account}"), None)
        .await;
    assert_eq!(shown["status"], "needs_credentials", "{shown}");
    let page = second
        .http
        .get(format!("{}/ui/accounts/{account}", second.base))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Needs credentials") && page.contains("reenter-credentials"));

    // Calls say what is wrong instead of blaming Gorgias.
    let mcp = RawMcp::new(&url.replace(&first.base, &second.base));
    let reply = mcp.call("list_all_gorgias_tags", json!({"limit": 1})).await;
    let result = &reply.body["result"];
    assert_eq!(result["isError"], true, "{}", reply.body);
    let text = result["content"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("cannot be opened") && text.contains("vault key"),
        "{text}"
    );

    // Entering the credentials again (checked with Gorgias) brings the account back.
    let c = first.sandbox.config();
    let (status, fixed) = second
        .api(
            Method::PATCH,
            &format!("/integrated-account/{account}"),
            Some(json!({"credentials": {"subdomain": c.subdomain, "email": c.email, "api_key": c.api_key}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{fixed}");
    assert_eq!(fixed["status"], "active");
    let reply = mcp.call("list_all_gorgias_tags", json!({"limit": 1})).await;
    assert_eq!(reply.body["result"]["isError"], false, "{}", reply.body);
    // Now the new key opens everything: a start without the flag succeeds.
    let again = deskgate::app::App::build(config).await;
    assert!(again.is_ok(), "{:?}", again.err());
    second.stop().await;
    first.stop().await;
}

async fn a_missing_key_file_is_never_replaced_over_sealed_data(backend: Backend) {
    let Some(database) = fresh_database(backend).await else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("deskgate-key-{}", uuid::Uuid::new_v4()));
    let key_file = dir.join("deskgate.key");
    let file_for_config = key_file.clone();
    let s = TestServer::start_with(Options {
        backend,
        database_url: Some(database.clone()),
        configure: Box::new(move |config| {
            config.vault_key = None;
            config.vault_key_file = file_for_config;
        }),
        ..Options::default()
    })
    .await
    .unwrap();
    assert!(key_file.exists(), "a first start generates the key file");
    s.connect_sandbox().await;
    s.stop().await;

    std::fs::remove_file(&key_file).unwrap();
    let mut config = deskgate::config::Config::new("127.0.0.1:0".parse().unwrap(), database);
    config.vault_key_file = key_file.clone();
    let refused = deskgate::app::App::build(config)
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(
        refused.contains("is missing") && refused.contains("Restore the key file"),
        "{refused}"
    );
    assert!(
        !key_file.exists(),
        "a new key file was generated over sealed data"
    );
    std::fs::remove_dir_all(dir).ok();
}

async fn sse_streams_are_capped_per_server_and_in_total(backend: Backend) {
    let Some(s) = TestServer::start_with(Options {
        backend,
        configure: Box::new(|config| {
            config.sse_max_streams_per_server = 2;
            config.sse_max_streams = 3;
        }),
        ..Options::default()
    })
    .await
    else {
        return;
    };
    let account = s.connect_sandbox().await;
    let (_, a) = s.mint(&account, json!({"name": "a"})).await;
    let (_, b) = s.mint(&account, json!({"name": "b"})).await;
    let open = |url: &str| {
        s.http
            .get(format!("{url}/sse"))
            .header("accept", "text/event-stream")
            .send()
    };
    let first = SseStream::open(&s.http, &a).await;
    let _second = SseStream::open(&s.http, &a).await;
    let refused = open(&a).await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.text().await.unwrap().contains("2 open SSE streams"));
    let _third = SseStream::open(&s.http, &b).await;
    let refused = open(&b).await.unwrap();
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(s.app.sse.open_streams(), 3);
    // A stream the client closes gives its place back.
    drop(first);
    let mut reopened = None;
    for _ in 0..50 {
        let r = open(&b).await.unwrap();
        if r.status() == StatusCode::OK {
            reopened = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        reopened.is_some(),
        "a closed stream's place was never given back"
    );
    s.stop().await;
}

async fn sse_streams_end_with_their_server(backend: Backend) {
    let Some(s) = TestServer::start_on(backend).await else {
        return;
    };
    let account = s.connect_sandbox().await;
    let path = |id: &str| format!("/integrated-account/{account}/mcp/{id}");

    // Deleted.
    let (deleted, url) = s.mint(&account, json!({"name": "deleted"})).await;
    let mut stream = SseStream::open(&s.http, &url).await;
    let (status, _) = s.api(Method::DELETE, &path(&deleted), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(
        stream.next_message().await.is_none(),
        "the stream outlived its server"
    );

    // Expired (by the clock, written straight into the store as a long-lived server would be).
    let (expiring, url) = s.mint(&account, json!({"name": "expiring"})).await;
    let mut stream = SseStream::open(&s.http, &url).await;
    let mut server = s
        .app
        .store
        .get_mcp_server(&account, &expiring)
        .await
        .unwrap()
        .unwrap();
    server.expires_at = Some(deskgate::timestamp::Timestamp::now().plus_secs(-1));
    assert!(s.app.store.update_mcp_server(&server).await.unwrap());
    assert!(
        stream.next_message().await.is_none(),
        "the stream outlived its expiry"
    );

    // Its account deleted.
    let other = s.connect_sandbox().await;
    let (_, url) = s.mint(&other, json!({"name": "orphan"})).await;
    let mut stream = SseStream::open(&s.http, &url).await;
    let (status, _) = s
        .api(
            Method::DELETE,
            &format!("/integrated-account/{other}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(
        stream.next_message().await.is_none(),
        "the stream outlived its account"
    );

    // Another replica's stream ends too (on PostgreSQL, replicas share the database).
    if backend == Backend::Postgres {
        let replica = s.replica().await;
        let (id, url) = s.mint(&account, json!({"name": "elsewhere"})).await;
        let mut stream = SseStream::open(&replica.http, &url.replace(&s.base, &replica.base)).await;
        let (status, _) = s.api(Method::DELETE, &path(&id), None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert!(
            stream.next_message().await.is_none(),
            "another replica's stream outlived its server"
        );
        replica.stop().await;
    }
    assert_eq!(s.app.sse.open_streams(), 0);
    s.stop().await;
}

async fn line_breaks_in_a_file_name_never_reach_gorgias(backend: Backend) {
    let Some(s) = TestServer::start_on(backend).await else {
        return;
    };
    let account = s.connect_sandbox().await;
    let (_, url) = s
        .mint(
            &account,
            json!({"name": "files", "config": {"tags": ["files"]}}),
        )
        .await;
    let mcp = RawMcp::new(&url);
    let stats = || async {
        s.http
            .get(format!("{}/_sandbox/stats", s.sandbox.base_url()))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()["api_requests"]
            .as_u64()
            .unwrap()
    };
    // The account's catalog (its custom fields) is fetched once, first.
    assert!(!mcp.list_tools().await.is_empty());
    let before = stats().await;
    let reply = mcp
        .call(
            "upload_gorgias_file",
            json!({"type": "attachment", "file": {
                "name": "note.txt\r\nContent-Type: text/html\r\n\r\n<script>",
                "content_type": "text/plain", "content_base64": "SGVsbG8K"}}),
        )
        .await;
    let result = &reply.body["result"];
    assert_eq!(result["isError"], true, "{}", reply.body);
    let text = result["content"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("control characters") && text.contains("Nothing was sent"),
        "{text}"
    );
    assert_eq!(stats().await, before, "the request reached the sandbox");
    // A plain name still uploads.
    let reply = mcp
        .call(
            "upload_gorgias_file",
            json!({"type": "attachment", "file": {"name": "note.txt", "content_type": "text/plain", "content_base64": "SGVsbG8K"}}),
        )
        .await;
    assert_eq!(reply.body["result"]["isError"], false, "{}", reply.body);
    s.stop().await;
}

async fn the_console_mints_and_revokes_tokens_and_takes_new_credentials(backend: Backend) {
    let Some(s) = TestServer::start_on(backend).await else {
        return;
    };
    let account = s.connect_sandbox().await;
    let console = s.console("/ui/tokens").await;

    let (status, page) = console.get("/ui/tokens").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("this session") && page.contains(r#"href="/ui/tokens""#),
        "{page}"
    );

    // Without the CSRF token nothing is minted.
    let forged = console
        .request(Method::POST, "/ui/tokens")
        .form(&[("name", "forged"), ("scope", "admin")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let (status, created) = console
        .post(
            "/ui/tokens",
            &[("name", "cursor"), ("scope", "mcp"), ("account", &account)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let at = created.find("dga_").expect("the new token is shown");
    let token: String = created[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    let (_, list) = console.get("/ui/tokens").await;
    assert!(
        list.contains("cursor") && list.contains(&account) && !list.contains(&token),
        "the list shows a value"
    );
    let (status, _) = s
        .api_as(&token, Method::GET, "/integrated-account", None)
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "an mcp token minted in the console opens the API"
    );
    // A bad input says why, on the form.
    let (status, refused) = console
        .post(
            "/ui/tokens",
            &[("name", "x"), ("scope", "admin"), ("servers", "abc")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(refused.contains("form-error"), "{refused}");

    let (_, tokens) = s.api(Method::GET, "/api-token", None).await;
    let id = tokens["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "cursor")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, confirm) = console.get(&format!("/ui/tokens/{id}/revoke")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(confirm.contains("Revoke"));
    let (status, location, _) = console
        .post_landing(&format!("/ui/tokens/{id}/revoke"), &[])
        .await;
    assert_eq!((status, location.as_str()), (StatusCode::OK, "/ui/tokens"));
    let (status, _) = s
        .api_as(&token, Method::GET, "/integrated-account", None)
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a revoked token still works"
    );

    // An account whose credentials must be entered again takes them on its Overview.
    s.app
        .store
        .set_account_status(
            &account,
            deskgate::accounts::AccountStatus::NeedsCredentials,
            deskgate::timestamp::Timestamp::now(),
        )
        .await
        .unwrap();
    let (_, overview) = console.get(&format!("/ui/accounts/{account}")).await;
    assert!(overview.contains("reenter-credentials"), "{overview}");
    let c = s.sandbox.config();
    let path = format!("/ui/accounts/{account}/credentials");
    let (status, wrong) = console
        .post(&path, &[("email", &c.email), ("api_key", "wrong")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        wrong.contains("refused these credentials") && !wrong.contains(&c.api_key),
        "{wrong}"
    );
    let (status, location, _) = console
        .post_landing(&path, &[("email", &c.email), ("api_key", &c.api_key)])
        .await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::OK, format!("/ui/accounts/{account}").as_str())
    );
    let (_, shown) = s
        .api(Method::GET, &format!("/integrated-account/{account}"), None)
        .await;
    assert_eq!(shown["status"], "active");
    s.stop().await;
}
