//! Approvals' webhook (issue 15, item 3) over real sockets: a local receiver gets a signed JSON
//! POST when a call waits; the signature verifies with the secret shown once at creation (and
//! only with the rotated one after a rotation); the tool's answer never waits for the receiver;
//! failures are recorded; bad URLs are refused with nothing stored; and the secret never shows
//! again, in an answer or a log line.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::routing::post;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::support::{RawMcp, TestServer, captured_logs};

/// One request the receiver got.
struct Delivery {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

/// A webhook receiver on a loopback port: `/ok` answers 204, `/fail` 500, `/slow` after 3 s.
async fn receiver() -> (String, mpsc::UnboundedReceiver<Delivery>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let tx = Arc::new(tx);
    async fn hook(
        State(tx): State<Arc<mpsc::UnboundedSender<Delivery>>>,
        uri: axum::http::Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> AxumStatus {
        let path = uri.path().to_owned();
        if path == "/slow" {
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
        let _ = tx.send(Delivery {
            path: path.clone(),
            headers,
            body,
        });
        if path == "/fail" {
            AxumStatus::INTERNAL_SERVER_ERROR
        } else {
            AxumStatus::NO_CONTENT
        }
    }
    let app = Router::new().route("/{kind}", post(hook)).with_state(tx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Delivery>) -> Delivery {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("no webhook delivery within 10 s")
        .expect("the receiver stopped")
}

/// What a receiver does: HMAC-SHA256 over `t.body`, written here without deskgate's code.
fn signed_by(secret: &str, delivery: &Delivery) -> bool {
    use hmac::{KeyInit, Mac};
    let header = delivery.headers["x-deskgate-signature"].to_str().unwrap();
    let (t, v1) = header
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
        .expect("t=<unix>,v1=<hex>");
    let t: i64 = t.parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((now - t).abs() < 60, "the timestamp is not now: {t}");
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&delivery.body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    expected == v1
}

async fn hold_a_reply(mcp: &RawMcp, ticket: i64, text: &str) -> String {
    let started = Instant::now();
    let held = mcp
        .call(
            "reply_to_gorgias_customer",
            json!({"ticket_id": ticket, "body_text": text}),
        )
        .await;
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "the held call's answer waited for the webhook: {:?}",
        started.elapsed()
    );
    let result = &held.body["result"];
    assert_eq!(
        result["structuredContent"]["status"], "pending_approval",
        "{}",
        held.body
    );
    result["structuredContent"]["action_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn last_delivery(s: &TestServer, path: &str) -> Value {
    for _ in 0..50 {
        let (_, server) = s.api(Method::GET, path, None).await;
        if server["webhook"]["last_delivery_result"].is_string() {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no delivery result recorded");
}

#[tokio::test]
async fn a_held_call_is_told_to_the_servers_webhook_signed_with_its_secret() {
    webhook_story(crate::support::Backend::Sqlite).await;
}

#[tokio::test]
async fn a_held_call_is_told_to_the_servers_webhook_signed_with_its_secret_on_postgres() {
    webhook_story(crate::support::Backend::Postgres).await;
}

async fn webhook_story(backend: crate::support::Backend) {
    let Some(s) = TestServer::start_on(backend).await else {
        return;
    };
    let account = s.connect_sandbox().await;
    let (hook, mut deliveries) = receiver().await;
    let ticket = *s.sandbox.state().ticket_ids().first().unwrap();
    let servers_path = format!("/integrated-account/{account}/mcp");

    // Bad URLs: a clear 400, and no server minted.
    for bad in [
        "ftp://example.com/hook",
        "javascript:alert(1)",
        "not a url",
        "https://u:p@example.com/",
    ] {
        let (status, body) = s
            .api(
                Method::POST,
                &servers_path,
                Some(json!({"name": "bad hook", "webhook_url": bad})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(body.to_string().contains("webhook_url"), "{body}");
    }
    let (_, listed) = s.api(Method::GET, &servers_path, None).await;
    assert_eq!(listed["result"].as_array().unwrap().len(), 0, "{listed}");

    let (status, created) = s
        .api(
            Method::POST,
            &servers_path,
            Some(json!({"name": "replies with approval",
                "config": {"policies": [{"tool": "reply_to_gorgias_customer", "mode": "approve"}]},
                "webhook_url": format!("{hook}/ok")})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["webhook_secret"].as_str().unwrap().to_owned();
    assert!(
        secret.starts_with("dgwhsec_") && secret.len() > 60,
        "{secret}"
    );
    assert_eq!(created["webhook"]["url"], format!("{hook}/ok"));
    let server = created["id"].as_str().unwrap().to_owned();
    let server_path = format!("{servers_path}/{server}");
    let mcp = RawMcp::new(created["url"].as_str().unwrap());
    mcp.initialize().await;

    let action = hold_a_reply(&mcp, ticket, "Refund REF-123 is on its way").await;
    let delivery = next(&mut deliveries).await;
    assert_eq!(delivery.path, "/ok");
    assert_eq!(delivery.headers["content-type"], "application/json");
    assert_eq!(delivery.headers["x-deskgate-event"], "action.pending");
    assert!(
        signed_by(&secret, &delivery),
        "the signature does not verify"
    );
    let header = delivery.headers["x-deskgate-signature"].to_str().unwrap();
    assert!(deskgate::webhooks::verify(
        &secret,
        header,
        &delivery.body,
        deskgate::timestamp::Timestamp::now().millis() / 1000,
        300
    ));
    let body: Value = serde_json::from_slice(&delivery.body).unwrap();
    assert_eq!(body["event"], "action.pending");
    assert_eq!(body["id"], action.as_str());
    assert_eq!(body["mcp_server_id"], server.as_str());
    assert_eq!(body["mcp_server_name"], "replies with approval");
    assert_eq!(body["integrated_account_id"], account.as_str());
    assert_eq!(body["tool"], "reply_to_gorgias_customer");
    assert_eq!(body["ticket_id"], ticket);
    assert_eq!(
        body["summary"],
        format!("Send a public reply to the customer of ticket #{ticket}, on the ticket's channel")
    );
    assert!(
        body["expires_at"].as_str().unwrap().ends_with('Z'),
        "{body}"
    );
    assert!(
        body["console_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/ui/accounts/{account}/approvals#action-{action}")),
        "{body}"
    );
    assert!(
        !String::from_utf8_lossy(&delivery.body).contains("REF-123"),
        "the notice carries the reply's text"
    );
    let recorded = last_delivery(&s, &server_path).await;
    assert_eq!(
        recorded["webhook"]["last_delivery_result"],
        "delivered (HTTP 204)"
    );

    // Rotation: the new secret signs, the old one no longer does.
    let (status, rotated) = s
        .api(
            Method::POST,
            &format!("{server_path}/webhook/rotate-secret"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let rotated = rotated["webhook_secret"].as_str().unwrap().to_owned();
    assert_ne!(rotated, secret);
    hold_a_reply(&mcp, ticket, "second").await;
    let delivery = next(&mut deliveries).await;
    assert!(signed_by(&rotated, &delivery));
    assert!(!signed_by(&secret, &delivery), "the old secret still signs");

    // A changed URL keeps its secret (none shown); a slow receiver does not hold up the
    // answer; a failing one is recorded, without the secret.
    let (status, patched) = s
        .api(
            Method::PATCH,
            &server_path,
            Some(json!({"webhook_url": format!("{hook}/slow")})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert!(patched.get("webhook_secret").is_none(), "{patched}");
    hold_a_reply(&mcp, ticket, "slow").await;
    let delivery = next(&mut deliveries).await;
    assert_eq!(delivery.path, "/slow");
    assert!(signed_by(&rotated, &delivery));

    s.api(
        Method::PATCH,
        &server_path,
        Some(json!({"webhook_url": format!("{hook}/fail")})),
    )
    .await;
    hold_a_reply(&mcp, ticket, "fails").await;
    next(&mut deliveries).await;
    let mut failed = Value::Null;
    for _ in 0..50 {
        let (_, server) = s.api(Method::GET, &server_path, None).await;
        if server["webhook"]["last_delivery_result"]
            .as_str()
            .is_some_and(|r| r.starts_with("failed"))
        {
            failed = server;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        failed["webhook"]["last_delivery_result"], "failed: the receiver answered HTTP 500",
        "{failed}"
    );

    let (status, body) = s
        .api(
            Method::PATCH,
            &server_path,
            Some(json!({"webhook_url": "gopher://example.com"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // The secrets never show again: not in reads, not in the logs.
    let (_, one) = s.api(Method::GET, &server_path, None).await;
    let (_, all) = s.api(Method::GET, &servers_path, None).await;
    let logs = captured_logs();
    for secret in [&secret, &rotated] {
        assert!(!one.to_string().contains(secret.as_str()));
        assert!(!all.to_string().contains(secret.as_str()));
        assert!(
            !logs.contains(secret.as_str()),
            "a webhook secret reached a log line"
        );
    }
    assert!(
        logs.contains("webhook delivery failed"),
        "failures are logged"
    );

    // Removed: nothing more is sent, and there is no secret to rotate.
    let (status, removed) = s
        .api(
            Method::PATCH,
            &server_path,
            Some(json!({"webhook_url": null})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{removed}");
    assert!(removed.get("webhook").is_none(), "{removed}");
    let (status, _) = s
        .api(
            Method::POST,
            &format!("{server_path}/webhook/rotate-secret"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    hold_a_reply(&mcp, ticket, "unheard").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(deliveries.try_recv().is_err(), "a removed webhook was told");

    // Setting one again on a server without a webhook shows a new secret, once.
    let (_, again) = s
        .api(
            Method::PATCH,
            &server_path,
            Some(json!({"webhook_url": format!("{hook}/ok")})),
        )
        .await;
    let fresh = again["webhook_secret"].as_str().unwrap();
    assert!(fresh != secret && fresh != rotated);

    // The API's document describes the webhook.
    let (_, doc) = s.api(Method::GET, "/openapi.json", None).await;
    assert!(
        doc["paths"]["/integrated-account/{id}/mcp/{mcp_id}/webhook/rotate-secret"]["post"]
            .is_object()
    );
    let create = &doc["components"]["schemas"]["CreateMcpServer"]["properties"];
    assert!(create["webhook_url"].is_object(), "{create}");
    s.stop().await;
}

/// The console's Approvals tab over plain HTTP with a session: an expired action is refused
/// saying so, a ticket that cannot be read is said so instead of failing the page, and the Logs
/// tab refuses a policy decision it does not know. (The Chromium test covers the happy paths.)
#[tokio::test]
async fn the_console_says_why_an_action_cannot_be_decided() {
    let s = TestServer::start().await;
    let account = s.connect_sandbox().await;
    let (_, url) = s
        .mint(
            &account,
            json!({"name": "notes with approval", "config": {"policies": [
                {"tool": "add_gorgias_internal_note", "mode": "approve"}]}}),
        )
        .await;
    let mcp = RawMcp::new(&url);
    mcp.initialize().await;
    let ticket = *s.sandbox.state().ticket_ids().first().unwrap();
    let hold = |ticket: i64, text: &'static str| {
        let mcp = &mcp;
        async move {
            let held = mcp
                .call(
                    "add_gorgias_internal_note",
                    json!({"ticket_id": ticket, "body_text": text}),
                )
                .await;
            held.body["result"]["structuredContent"]["action_id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let expired = hold(ticket, "too late").await;
    let later = deskgate::timestamp::Timestamp::now()
        .plus_secs(deskgate::approvals::DEFAULT_EXPIRY_SECS as i64 + 1);
    assert!(s.app.store.expire_pending_actions(later).await.unwrap() >= 1);
    // Held after the sweep: it waits.
    let missing = hold(999_999_999, "on no ticket").await;
    let base = format!("/ui/accounts/{account}");
    let console = s.console(&format!("{base}/approvals")).await;

    let (status, body) = console
        .post(
            &format!("{base}/approvals/{expired}/approve"),
            &[("text.body_text", "still?")],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("expired at"), "{body}");
    assert!(body.contains("nothing was sent"), "{body}");
    let (status, body) = console
        .post(
            &format!("{base}/approvals/{expired}/reject"),
            &[("reason", "late")],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, _) = console
        .post(&format!("{base}/approvals/no-such-action/approve"), &[])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let sent = s
        .sandbox_json(&format!("/api/tickets/{ticket}/messages"))
        .await;
    let sent_late = sent["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["body_text"] == "still?")
        .count();
    assert_eq!(sent_late, 0, "an expired action was sent");

    // The action on a ticket Gorgias does not know still shows, with why there is no context;
    // a reject without a reason is refused.
    let (_, page) = console.get(&format!("{base}/approvals")).await;
    assert!(page.contains(&format!("id=\"action-{missing}\"")), "{page}");
    assert!(!page.contains(&format!("id=\"action-{expired}\"")));
    assert!(
        page.contains("The ticket could not be read from Gorgias: Gorgias answered HTTP 404"),
        "{page}"
    );
    let (status, body) = console
        .post(
            &format!("{base}/approvals/{missing}/reject"),
            &[("reason", "  ")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("Give a reason"), "{body}");

    let (_, logs) = console
        .get(&format!("{base}/logs?policy_decision=maybe"))
        .await;
    assert!(logs.contains("“maybe” is not a policy decision"), "{logs}");
    let (_, logs) = console
        .get(&format!("{base}/logs?policy_decision=held"))
        .await;
    assert_eq!(logs.matches("policy: held").count(), 2, "{logs}");
    s.stop().await;
}

/// Held actions and webhook secrets are sealed with the vault key: at start, a key that does
/// not open them is reported like credentials (the start refused, saying what), and started
/// anyway, the waiting action is rejected and the webhook sends nothing until rotated.
#[tokio::test]
async fn held_actions_and_webhook_secrets_no_key_opens_are_reported_at_start() {
    use crate::support::{Backend, Options, fresh_database};
    let database = fresh_database(Backend::Sqlite).await.unwrap();
    let old_key = deskgate::vault::Vault::generate_key_spec();
    let new_key = deskgate::vault::Vault::generate_key_spec();
    let (db, key) = (database.clone(), old_key.clone());
    let first = TestServer::start_with(Options {
        database_url: Some(db),
        configure: Box::new(move |config| config.vault_key = Some(key.into())),
        ..Options::default()
    })
    .await
    .unwrap();
    let account = first.connect_sandbox().await;
    let (hook, mut deliveries) = receiver().await;
    let (status, created) = first
        .api(
            Method::POST,
            &format!("/integrated-account/{account}/mcp"),
            Some(json!({"name": "held",
                "config": {"policies": [{"tool": "reply_to_gorgias_customer", "mode": "approve"}]},
                "webhook_url": format!("{hook}/ok")})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let server = created["id"].as_str().unwrap().to_owned();
    let mcp = RawMcp::new(created["url"].as_str().unwrap());
    mcp.initialize().await;
    let ticket = *first.sandbox.state().ticket_ids().first().unwrap();
    let action = hold_a_reply(&mcp, ticket, "sealed with the old key").await;
    next(&mut deliveries).await;

    let mut config =
        deskgate::config::Config::new("127.0.0.1:0".parse().unwrap(), database.clone());
    config.vault_key = Some(new_key.clone().into());
    let refused = deskgate::app::App::build(config)
        .await
        .err()
        .expect("a start over held actions no key opens is refused")
        .to_string();
    for expected in [
        "1 action(s) held for approval have arguments that no key opens",
        action.as_str(),
        "webhook secret(s) of 1 MCP server(s) do not open",
        server.as_str(),
        "--allow-unreadable-credentials",
    ] {
        assert!(
            refused.contains(expected),
            "{expected:?} missing from: {refused}"
        );
    }

    let key = new_key.clone();
    let second = TestServer::start_with(Options {
        database_url: Some(database),
        configure: Box::new(move |config| {
            config.vault_key = Some(key.into());
            config.allow_unreadable_credentials = true;
        }),
        ..Options::default()
    })
    .await
    .unwrap();
    let row = second
        .app
        .store
        .get_pending_action(&account, &action)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "rejected");
    assert!(row.reason.unwrap().contains("cannot be opened"));
    // Its list still reads (the unreadable arguments show as null), and nothing can approve it.
    let (status, listed) = second
        .api(
            Method::GET,
            &format!("/integrated-account/{account}/actions"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed[0]["status"], "rejected");
    assert!(listed[0]["arguments"].is_null());
    first.stop().await;
    second.stop().await;
}
