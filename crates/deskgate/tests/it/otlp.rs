//! Trace export over real sockets: `deskgate serve --otlp-endpoint` (the real binary) sends a
//! tool call's spans with OTLP/HTTP protobuf to a receiver in this test, which decodes them
//! with the OpenTelemetry protocol's own types. The spans are the call and its pipeline
//! stages, in one trace, with bounded attributes only (no token, no name a client made up);
//! the log lines never show them.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_deskgate");

/// A span as the receiver got it.
#[derive(Debug, Clone)]
struct Received {
    name: String,
    trace_id: Vec<u8>,
    span_id: Vec<u8>,
    parent_span_id: Vec<u8>,
    attributes: HashMap<String, String>,
    service: Option<String>,
}

/// An OTLP/HTTP traces receiver on a loopback port.
async fn receiver() -> (String, Arc<Mutex<Vec<Received>>>) {
    let spans: Arc<Mutex<Vec<Received>>> = Arc::default();
    let into = spans.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: Bytes| {
            let into = into.clone();
            async move {
                let request =
                    ExportTraceServiceRequest::decode(body).expect("an OTLP protobuf body");
                let mut into = into.lock().unwrap();
                for resource in request.resource_spans {
                    let service = resource.resource.as_ref().and_then(|r| {
                        r.attributes
                            .iter()
                            .find(|a| a.key == "service.name")
                            .and_then(|a| text(a.value.as_ref()?.value.as_ref()?))
                    });
                    for scope in resource.scope_spans {
                        for span in scope.spans {
                            into.push(Received {
                                name: span.name,
                                trace_id: span.trace_id,
                                span_id: span.span_id,
                                parent_span_id: span.parent_span_id,
                                attributes: span
                                    .attributes
                                    .iter()
                                    .filter_map(|a| {
                                        Some((
                                            a.key.clone(),
                                            text(a.value.as_ref()?.value.as_ref()?)?,
                                        ))
                                    })
                                    .collect(),
                                service: service.clone(),
                            });
                        }
                    }
                }
                (
                    [("content-type", "application/x-protobuf")],
                    ExportTraceServiceResponse::default().encode_to_vec(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, spans)
}

fn text(value: &AnyValue) -> Option<String> {
    match value {
        AnyValue::StringValue(s) => Some(s.clone()),
        AnyValue::IntValue(i) => Some(i.to_string()),
        AnyValue::BoolValue(b) => Some(b.to_string()),
        AnyValue::DoubleValue(d) => Some(d.to_string()),
        _ => None,
    }
}

struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `deskgate serve --demo` exporting to `endpoint`; returns the process, its MCP URL and a
/// handle on its log lines.
fn serve(endpoint: &str) -> (Serving, String, Arc<Mutex<String>>) {
    let dir = std::env::temp_dir().join(format!("deskgate-otlp-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut command = Command::new(BIN);
    for (name, _) in std::env::vars() {
        if name.starts_with("DESKGATE_") || name.starts_with("OTEL_") {
            command.env_remove(name);
        }
    }
    let mut child = command
        .args([
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--otlp-endpoint",
            endpoint,
        ])
        .current_dir(&dir)
        // The SDK's batch delay (5 s by default), so the test need not wait long.
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let logs: Arc<Mutex<String>> = Arc::default();
    let stderr = child.stderr.take().unwrap();
    let into = logs.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            into.lock().unwrap().push_str(&(line + "\n"));
        }
    });
    // Stdout is drained to the end: the banner goes on after the URL, and a closed pipe
    // would end the process at its next line.
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let serving = Serving(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let Ok(line) = lines.recv_timeout(left) else {
            break;
        };
        if let Some(url) = line
            .trim()
            .strip_prefix("http://")
            .filter(|u| u.contains("/mcp/dgm_"))
        {
            return (serving, format!("http://{url}"), logs);
        }
    }
    panic!("no MCP URL in the banner:\n{}", logs.lock().unwrap());
}

async fn call(http: &reqwest::Client, url: &str, tool: &str, arguments: Value) -> Value {
    let response = http
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                      "params": {"name": tool, "arguments": arguments}}))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status} {text:?}: {e}"))
}

/// Waits until the receiver holds a `tool_call` span for which `pick` is true, then a moment
/// more so its children (exported in the same or the next batch) are in too.
async fn wait_for_call(
    spans: &Arc<Mutex<Vec<Received>>>,
    pick: impl Fn(&Received) -> bool,
) -> Received {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let found = spans
            .lock()
            .unwrap()
            .iter()
            .find(|s| s.name == "tool_call" && pick(s))
            .cloned();
        if let Some(found) = found {
            tokio::time::sleep(Duration::from_millis(500)).await;
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "no tool_call span: {:?}",
            spans.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every span under `root` in its trace, by name (a stage may nest in another).
fn descendants(spans: &[Received], root: &Received) -> HashMap<String, Received> {
    let mut ids = vec![root.span_id.clone()];
    let mut found = HashMap::new();
    let mut grew = true;
    while grew {
        grew = false;
        for span in spans.iter().filter(|s| s.trace_id == root.trace_id) {
            if ids.contains(&span.parent_span_id) && !ids.contains(&span.span_id) {
                ids.push(span.span_id.clone());
                found.insert(span.name.clone(), span.clone());
                grew = true;
            }
        }
    }
    found
}

#[tokio::test]
async fn a_tool_call_exports_its_pipeline_spans_with_bounded_attributes() {
    let (endpoint, spans) = receiver().await;
    let (_serving, url, logs) = serve(&endpoint);
    let token = url.rsplit('/').next().unwrap().to_owned();
    let http = reqwest::Client::new();

    let answer = call(&http, &url, "list_all_gorgias_tickets", json!({"limit": 1})).await;
    assert_eq!(answer["result"]["isError"], false, "{answer}");
    let root = wait_for_call(&spans, |s| {
        s.attributes.get("tool.name").map(String::as_str) == Some("list_all_gorgias_tickets")
    })
    .await;
    assert_eq!(root.service.as_deref(), Some("deskgate"));
    assert_eq!(root.attributes["outcome"], "ok");
    assert_eq!(root.attributes["upstream.status"], "200");
    assert!(root.attributes.contains_key("mcp_server.id"));
    assert!(root.attributes.contains_key("integrated_account.id"));
    const STAGES: [&str; 7] = [
        "resolve",
        "authorize",
        "plan",
        "names",
        "upstream.send",
        "shape",
        "audit.record",
    ];
    // The batch exporter may send a stage in a later batch than its call (a busy machine):
    // wait for every stage rather than a fixed moment, up to a generous bound.
    let deadline = Instant::now() + Duration::from_secs(20);
    let stages = loop {
        let all = spans.lock().unwrap().clone();
        let stages = descendants(&all, &root);
        if STAGES.iter().all(|s| stages.contains_key(*s)) || Instant::now() > deadline {
            break stages;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for stage in STAGES {
        assert!(
            stages.contains_key(stage),
            "no {stage} span under the call: {:?}",
            stages.keys()
        );
    }
    assert_eq!(stages["authorize"].attributes["policy.decision"], "allowed");
    assert_eq!(
        stages["upstream.send"].attributes["http.request.method"],
        "GET"
    );
    assert_eq!(stages["upstream.send"].attributes["upstream.status"], "200");

    // A tool the client made up: its span says so without the made-up name.
    let refused = call(&http, &url, "made_up_tool_with_a_secret_4242", json!({})).await;
    assert!(refused["error"].is_object(), "{refused}");
    let unknown = wait_for_call(&spans, |s| {
        s.attributes.get("outcome").map(String::as_str) == Some("unknown_tool")
    })
    .await;
    assert!(
        !unknown.attributes.contains_key("tool.name"),
        "{:?}",
        unknown.attributes
    );

    // Nothing exported holds the URL's token or the made-up name; the logs show no span.
    for span in spans.lock().unwrap().iter() {
        for value in span.attributes.values() {
            assert!(
                !value.contains(&token) && !value.contains("made_up"),
                "{span:?}"
            );
        }
    }
    let logs = logs.lock().unwrap().clone();
    assert!(logs.contains("tool call"), "{logs}");
    assert!(
        !logs.contains("tool_call{") && !logs.contains("upstream.send"),
        "{logs}"
    );
}
