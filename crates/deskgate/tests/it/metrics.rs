//! `GET /metrics`: scraped after real tool calls over MCP, against the sandbox. The recorder is
//! global to this test binary (tests run side by side), so counters are compared before and
//! after, and labels are looked up exactly.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{Options, RawMcp, SseStream, TestServer};

/// The sum of the samples of `name` whose labels include every `labels` pair.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
            (metric == name
                && labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\""))))
            .then(|| value.parse::<f64>().ok())
            .flatten()
        })
        .sum()
}

async fn scrape(s: &TestServer) -> String {
    let response = s
        .http
        .get(format!("{}/metrics", s.base))
        .bearer_auth(&s.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"),
    );
    response.text().await.unwrap()
}

#[tokio::test]
async fn metrics_count_real_calls_and_need_an_admin_token() {
    let s = TestServer::start().await;
    let account = s.connect_sandbox().await;
    let (server_id, url) = s
        .mint(
            &account,
            json!({"name": "metrics", "config": {"methods": ["read"]}}),
        )
        .await;

    // Without a token, or with an MCP-scoped one, the metrics are refused.
    let anonymous = s
        .http
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let (_, body) = s
        .api(
            reqwest::Method::POST,
            "/api-token",
            Some(json!({"name": "mcp only", "scope": "mcp"})),
        )
        .await;
    let mcp_token = body["token"].as_str().expect("the minted token").to_owned();
    let scoped = s
        .http
        .get(format!("{}/metrics", s.base))
        .bearer_auth(&mcp_token)
        .send()
        .await
        .unwrap();
    assert_eq!(scoped.status(), StatusCode::FORBIDDEN);

    let before = scrape(&s).await;
    let get_2xx = [("method", "GET"), ("status", "2xx")];
    let upstream_ok = "deskgate_upstream_request_duration_seconds_count";

    let mcp = RawMcp::new(&url);
    for _ in 0..3 {
        let reply = mcp.call("list_all_gorgias_tags", json!({})).await;
        assert_eq!(reply.body["result"]["isError"], false, "{}", reply.body);
    }
    s.http
        .post(format!("{}/_sandbox/faults", s.sandbox.base_url()))
        .json(&json!({"status": 429, "count": 1}))
        .send()
        .await
        .unwrap();
    let reply = mcp.call("list_all_gorgias_tags", json!({})).await;
    assert_eq!(reply.body["result"]["isError"], true, "{}", reply.body);
    let _stream = SseStream::open(&s.http, &url).await;

    let after = scrape(&s).await;
    let delta = |name: &str, labels: &[(&str, &str)]| {
        sample(&after, name, labels) - sample(&before, name, labels)
    };
    assert!(delta(upstream_ok, &get_2xx) >= 3.0, "{after}");
    assert!(
        delta(
            "deskgate_upstream_request_duration_seconds_count",
            &[("status", "429")]
        ) >= 1.0,
        "{after}"
    );
    assert!(
        delta("deskgate_upstream_rate_limited_total", &[]) >= 1.0,
        "{after}"
    );
    // The first call read the store; the next ones were served from the tenant cache.
    assert!(
        delta("deskgate_tenant_cache_lookups_total", &[("result", "hit")]) >= 1.0,
        "{after}"
    );
    assert!(
        sample(&after, "deskgate_sse_streams_open", &[]) >= 1.0,
        "{after}"
    );
    assert!(
        sample(&after, "deskgate_db_pool_connections", &[("state", "idle")])
            + sample(
                &after,
                "deskgate_db_pool_connections",
                &[("state", "in_use")]
            )
            >= 1.0,
        "{after}"
    );
    assert!(after.contains("deskgate_build_info{version="), "{after}");

    // What the call pipeline records of real calls, with bounded labels: a tool outside the
    // catalog is `other`, never the client's text.
    let refused = mcp.call("<script>free text</script>", json!({})).await;
    assert!(refused.body["error"].is_object() || refused.body["result"]["isError"] == true);
    // Read records are written behind their answers (within 50 ms): let them land.
    s.app.audit_log.flush().await;
    let recorded = scrape(&s).await;
    assert!(
        sample(
            &recorded,
            "deskgate_tool_calls_total",
            &[
                ("mcp_server_id", server_id.as_str()),
                ("tool", "list_all_gorgias_tags"),
                ("outcome", "ok")
            ]
        ) >= 3.0,
        "{recorded}"
    );
    assert!(
        sample(
            &recorded,
            "deskgate_tool_calls_total",
            &[
                ("mcp_server_id", server_id.as_str()),
                ("tool", "other"),
                ("outcome", "refused")
            ]
        ) >= 1.0,
        "{recorded}"
    );
    assert!(!recorded.contains("free text"), "{recorded}");
    // The sandbox's bucket as its rate-limit header reported it on the last answer.
    let remaining = sample(
        &recorded,
        "deskgate_upstream_rate_limit_remaining",
        &[("integrated_account_id", account.as_str())],
    );
    let limit = sample(
        &recorded,
        "deskgate_upstream_rate_limit_limit",
        &[("integrated_account_id", account.as_str())],
    );
    assert!(limit > 0.0 && remaining <= limit, "{recorded}");
    assert!(
        sample(
            &recorded,
            "deskgate_audit_write_duration_seconds_count",
            &[]
        ) >= 1.0,
        "{recorded}"
    );
    // No secret in any label.
    let token = url.rsplit('/').next().unwrap();
    assert!(!recorded.contains(token));
    assert!(!recorded.contains(&s.admin_token));
    s.stop().await;
}

#[tokio::test]
async fn public_metrics_need_no_token() {
    let s = TestServer::start_with(Options {
        configure: Box::new(|config| config.public_metrics = true),
        ..Options::default()
    })
    .await
    .unwrap();
    let response = s
        .http
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("deskgate_build_info")
    );
    s.stop().await;
}
