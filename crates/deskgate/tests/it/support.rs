//! What every integration test shares: a real deskgate server on a loopback port, a real Gorgias
//! sandbox on another, an HTTP client, captured logs, the database backend to run on, and a
//! signed-in console session.

use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use deskgate::app::App;
use deskgate::config::Config;
use gorgias_sandbox::{Sandbox, SandboxConfig};
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// The database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests use, when `DESKGATE_TEST_POSTGRES_URL` is set. Without it the
/// PostgreSQL variants skip (and say so); CI always sets it.
pub fn postgres_url() -> Option<String> {
    std::env::var("DESKGATE_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// A fresh database for one test: a SQLite file in a temp dir, or a new PostgreSQL database.
pub async fn fresh_database(backend: Backend) -> Option<String> {
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join(format!("deskgate-it-{}", uuid::Uuid::new_v4()));
            std::fs::create_dir_all(&dir).unwrap();
            Some(format!("sqlite:{}", dir.join("deskgate.db").display()))
        }
        Backend::Postgres => {
            let Some(url) = postgres_url() else {
                eprintln!("DESKGATE_TEST_POSTGRES_URL is not set: skipping the PostgreSQL variant");
                return None;
            };
            use sqlx::Connection;
            let name = format!("deskgate_it_{}", uuid::Uuid::new_v4().simple());
            let mut admin = sqlx::PgConnection::connect(&url)
                .await
                .expect("connect to the test PostgreSQL");
            // The name is ours (a UUID), not input.
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut admin)
                .await
                .expect("create a test database");
            let mut parsed = url::Url::parse(&url).expect("DESKGATE_TEST_POSTGRES_URL is a URL");
            parsed.set_path(&format!("/{name}"));
            Some(parsed.to_string())
        }
    }
}

/// Logs of the whole test binary, so tests can assert that no secret ever reaches a log line.
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&LOGS.get_or_init(init_logs).lock().unwrap()).into_owned()
}

static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

fn init_logs() -> Arc<Mutex<Vec<u8>>> {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let writer = buffer.clone();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "debug,sqlx=warn,hyper=warn,h2=warn,reqwest=warn,rustls=warn",
        ))
        .with_writer(move || LogWriter(writer.clone()))
        .with_ansi(false)
        .try_init();
    buffer
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A running deskgate with its own database, a sandbox to connect to, and an admin token.
pub struct TestServer {
    pub base: String,
    pub app: Arc<App>,
    pub sandbox: Sandbox,
    pub admin_token: String,
    pub http: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

pub struct Options {
    pub backend: Backend,
    /// Use this database instead of a fresh one (another replica of a running server).
    pub database_url: Option<String>,
    pub sandbox: SandboxConfig,
    pub configure: Box<dyn FnOnce(&mut Config) + Send>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            backend: Backend::Sqlite,
            database_url: None,
            sandbox: SandboxConfig {
                api_key: format!("sandbox-key-{}", uuid::Uuid::new_v4().simple()),
                ..SandboxConfig::default()
            },
            configure: Box::new(|_| {}),
        }
    }
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(Options::default())
            .await
            .expect("SQLite always runs")
    }

    /// `None` when the backend is PostgreSQL and no test database is configured.
    pub async fn start_on(backend: Backend) -> Option<Self> {
        Self::start_with(Options {
            backend,
            ..Options::default()
        })
        .await
    }

    pub async fn start_with(options: Options) -> Option<Self> {
        LOGS.get_or_init(init_logs);
        let database_url = match options.database_url {
            Some(url) => url,
            None => fresh_database(options.backend).await?,
        };
        let sandbox = Sandbox::start(options.sandbox)
            .await
            .expect("start the sandbox");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut config = Config::new(addr, database_url);
        config.allow_custom_upstream = true;
        config.admin_token = Some(format!("admin-{}", uuid::Uuid::new_v4()).into());
        config.vault_key = Some(deskgate::vault::Vault::generate_key_spec().into());
        config.sweep_interval = Duration::from_millis(200);
        (options.configure)(&mut config);
        let admin_token = config
            .admin_token
            .as_ref()
            .map(|t| t.expose_secret().to_owned())
            .unwrap_or_default();
        let app = App::build(config).await.expect("deskgate builds");
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let server_app = app.clone();
        let task = tokio::spawn(async move {
            deskgate::server::serve(server_app, listener, async {
                let _ = stopped.await;
            })
            .await
            .expect("server runs");
        });
        Some(Self {
            base: format!("http://{addr}"),
            app,
            sandbox,
            admin_token,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            shutdown: Some(shutdown),
            task: Some(task),
        })
    }

    /// Another replica of this server, on its own port: the same configuration (database, vault
    /// key, admin token, ...) as replicas behind a load balancer have. Its sandbox goes unused.
    pub async fn replica(&self) -> Self {
        let same = self.app.config.clone();
        let backend = match self.app.store.shared() {
            Some(_) => Backend::Postgres,
            None => Backend::Sqlite,
        };
        Self::start_with(Options {
            backend,
            database_url: Some(same.database_url.clone()),
            configure: Box::new(move |config| {
                *config = Config {
                    listen: config.listen,
                    ..same
                };
            }),
            ..Options::default()
        })
        .await
        .expect("a replica of a running server starts")
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
        }
    }

    /// Sends a management API request as the admin; returns status and JSON body (Null if none).
    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.api_as(&self.admin_token.clone(), method, path, body)
            .await
    }

    pub async fn api_as(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("deskgate answers");
        let status = response.status();
        let text = response.text().await.unwrap();
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, json)
    }

    /// The credentials body that connects the sandbox account.
    pub fn sandbox_account_body(&self) -> Value {
        let c = self.sandbox.config();
        json!({
            "integration": "gorgias",
            "name": "Sandbox",
            "credentials": {"subdomain": c.subdomain, "email": c.email, "api_key": c.api_key},
            "api_base_url": self.sandbox.base_url(),
        })
    }

    /// The sandbox's own answer to a GET with the account's credentials, as sent (to check
    /// the sandbox's state, or compare deskgate's answers with it byte for byte).
    pub async fn sandbox_text(&self, path: &str) -> String {
        let c = self.sandbox.config();
        self.http
            .get(format!("{}{path}", self.sandbox.base_url()))
            .basic_auth(&c.email, Some(&c.api_key))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The same, parsed.
    pub async fn sandbox_json(&self, path: &str) -> Value {
        serde_json::from_str(&self.sandbox_text(path).await).unwrap()
    }

    /// Connects the sandbox account; returns its id.
    pub async fn connect_sandbox(&self) -> String {
        let (status, body) = self
            .api(
                reqwest::Method::POST,
                "/integrated-account",
                Some(self.sandbox_account_body()),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// Mints an MCP server; returns (server id, URL).
    pub async fn mint(&self, account_id: &str, body: Value) -> (String, String) {
        let (status, created) = self
            .api(
                reqwest::Method::POST,
                &format!("/integrated-account/{account_id}/mcp"),
                Some(body),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        (
            created["id"].as_str().unwrap().to_owned(),
            created["url"].as_str().unwrap().to_owned(),
        )
    }
}

/// A client that does not follow redirects, so each hop can be checked.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A signed-in console session: the cookie that carries it and the CSRF token its forms post.
pub struct Console<'a> {
    s: &'a TestServer,
    /// The `Cookie` header's value: `dg_session=…`.
    pub cookie: String,
    pub csrf: String,
}

impl TestServer {
    /// The console signed in with the admin token (from 127.0.0.1), its CSRF token read off the
    /// form of `page`, which must open.
    pub async fn console(&self, page: &str) -> Console<'_> {
        let session = self
            .app
            .sign_in(&self.admin_token, "127.0.0.1".parse().unwrap())
            .await
            .unwrap();
        let mut console = Console {
            s: self,
            cookie: format!("dg_session={session}"),
            csrf: String::new(),
        };
        let (status, html) = console.get(page).await;
        assert_eq!(status, StatusCode::OK, "{page}: {html}");
        let at = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
        console.csrf = html[at..at + html[at..].find('"').unwrap()].to_owned();
        console
    }

    /// The console signed in as a person with their password from `client`, with the CSRF
    /// token their session holds.
    pub async fn console_of(&self, email: &str, password: &str, client: IpAddr) -> Console<'_> {
        let (session, _) = self
            .app
            .sign_in_with_password(email, password, client)
            .await
            .expect("signs in");
        let csrf = self
            .app
            .session_operator(&session)
            .await
            .unwrap()
            .unwrap()
            .csrf_token
            .unwrap();
        Console {
            s: self,
            cookie: format!("dg_session={session}"),
            csrf,
        }
    }
}

impl Console<'_> {
    pub async fn get(&self, path: &str) -> (StatusCode, String) {
        let r = self
            .s
            .http
            .get(format!("{}{path}", self.s.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }

    /// A form post with the CSRF token; redirects are followed (reqwest's default), so the
    /// answer is the page the operator lands on.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
        let (status, _, page) = self.post_landing(path, fields).await;
        (status, page)
    }

    /// [`Console::post`], with the path of the page it landed on.
    pub async fn post_landing(
        &self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, String, String) {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf", &self.csrf));
        let r = self
            .s
            .http
            .post(format!("{}{path}", self.s.base))
            .header("cookie", &self.cookie)
            .form(&form)
            .send()
            .await
            .unwrap();
        let landed = r.url().path().to_owned();
        (r.status(), landed, r.text().await.unwrap())
    }

    /// A request with the session's cookie (and nothing else) from a client that does not
    /// follow redirects: the answer as sent.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        browser()
            .request(method, format!("{}{path}", self.s.base))
            .header("cookie", &self.cookie)
    }
}

/// A minimal MCP client over Streamable HTTP, for tests that need to see raw replies and headers.
/// (End-to-end tests with real third-party clients live in `tests/e2e`.)
pub struct RawMcp {
    pub http: reqwest::Client,
    pub url: String,
    pub protocol_version: String,
}

pub struct RawReply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    /// The JSON reply (from the events' data of an SSE reply), or the text as a string.
    pub body: Value,
    /// The body as sent.
    pub text: String,
}

impl RawMcp {
    pub fn new(url: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            url: url.to_owned(),
            protocol_version: "2025-11-25".to_owned(),
        }
    }

    pub async fn post(&self, message: Value) -> RawReply {
        self.post_with(message, &[]).await
    }

    pub async fn post_with(&self, message: Value, headers: &[(&str, &str)]) -> RawReply {
        let mut all = vec![("accept", "application/json, text/event-stream")];
        // Clients send the version header on every request after `initialize`.
        let overridden = headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("mcp-protocol-version"));
        if message["method"] != "initialize" && !overridden {
            all.push(("mcp-protocol-version", &self.protocol_version));
        }
        all.extend_from_slice(headers);
        self.send(message.to_string(), &all).await
    }

    /// POSTs `body` with a JSON content type and exactly `headers` (no default `Accept`, no
    /// version). A `text/event-stream` reply is read as its events' data, one JSON message.
    pub async fn send(&self, body: impl Into<reqwest::Body>, headers: &[(&str, &str)]) -> RawReply {
        let mut request = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("deskgate answers");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let is_event_stream = headers
            .get("content-type")
            .is_some_and(|t| t.as_bytes().starts_with(b"text/event-stream"));
        let json = if is_event_stream {
            text.lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(|d| d.strip_prefix(' ').unwrap_or(d))
                .collect::<Vec<_>>()
                .join("\n")
        } else {
            text.clone()
        };
        let body = serde_json::from_str(&json).unwrap_or(if text.is_empty() {
            Value::Null
        } else {
            Value::String(text.clone())
        });
        RawReply {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn initialize(&self) -> RawReply {
        let reply = self
            .post(
                json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": self.protocol_version, "capabilities": {},
                "clientInfo": {"name": "deskgate-tests", "version": "1.0"}}}),
            )
            .await;
        let _ = self
            .post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        reply
    }

    pub async fn list_tools(&self) -> Vec<Value> {
        let reply = self
            .post(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body["result"]["tools"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub async fn call(&self, tool: &str, arguments: Value) -> RawReply {
        self.post(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": tool, "arguments": arguments}}))
            .await
    }
}

/// The time now plus `secs`, as RFC 3339.
pub fn in_secs(secs: i64) -> String {
    deskgate::timestamp::Timestamp::now()
        .plus_secs(secs)
        .to_rfc3339()
}

/// A legacy HTTP+SSE stream (`GET <url>/sse`) as a client reads it.
pub struct SseStream {
    response: reqwest::Response,
    buffer: String,
    /// The path the server named in its `endpoint` event, where messages are POSTed.
    pub endpoint: String,
}

impl SseStream {
    /// Opens the stream and reads its first event, the endpoint.
    pub async fn open(http: &reqwest::Client, url: &str) -> Self {
        let response = http
            .get(format!("{url}/sse"))
            .header("accept", "text/event-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let mut stream = Self {
            response,
            buffer: String::new(),
            endpoint: String::new(),
        };
        stream.endpoint = loop {
            if let Some(line) = stream.buffer.lines().find(|l| l.starts_with("data: /")) {
                break line.trim_start_matches("data: ").to_owned();
            }
            assert!(stream.read().await, "the stream ended before its endpoint");
        };
        stream
    }

    /// The next `event: message` as JSON; `None` once the server has ended the stream.
    pub async fn next_message(&mut self) -> Option<Value> {
        loop {
            if let Some(start) = self.buffer.find("event: message\n") {
                let rest = &self.buffer[start..];
                if let Some(end) = rest.find("\n\n") {
                    let event = rest[..end].to_owned();
                    self.buffer.replace_range(start..start + end + 2, "");
                    let data: String = event
                        .lines()
                        .filter_map(|l| l.strip_prefix("data: "))
                        .collect::<Vec<_>>()
                        .join("\n");
                    return Some(serde_json::from_str(&data).unwrap());
                }
            }
            if !self.read().await {
                return None;
            }
        }
    }

    /// Appends the next chunk to the buffer; false when the stream has ended.
    async fn read(&mut self) -> bool {
        let chunk = tokio::time::timeout(Duration::from_secs(10), self.response.chunk())
            .await
            .expect("an event within 10 s");
        match chunk {
            Ok(Some(chunk)) => {
                self.buffer.push_str(&String::from_utf8_lossy(&chunk));
                true
            }
            _ => false,
        }
    }
}
