//! The floor under any gateway on this machine: the cheapest process that can stand where
//! deskgate stands, measured exactly like deskgate against the same baseline.
//!
//! - **bare proxy**: receives the ticket GET, forwards it to the upstream with a client set up
//!   like deskgate's (reqwest, pooled keep-alive, `TCP_NODELAY`, no retries), answers with the
//!   upstream's status and bytes. No MCP, no JSON, no tokens, no logs.
//! - **proxy + SQLite insert**: the same, and before answering it commits one row to a SQLite
//!   database (WAL, `synchronous = NORMAL`, through sqlx, as deskgate's store is set up): the
//!   least a gateway pays to keep a "no completed call is missing from the audit log" promise.
//!
//! - **static bytes**: answers every request with the same bytes from memory (the baseline of
//!   `tools/list`: what serving deskgate's list answer costs when nothing computes it).
//!
//! Each runs as its own process (this executable re-run as `deskgate-bench __floor …`), on the
//! same tokio runtime deskgate uses, so it pays the same cross-process costs. What deskgate adds
//! on top of these floors is what its own work costs; what the floors themselves add is what
//! any gateway costs here, however it is written.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqliteSynchronous};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};

/// The hidden first argument that turns this executable into a floor proxy.
const CHILD_ARG: &str = "__floor";

/// Which floor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    BareProxy,
    ProxyWithInsert,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::BareProxy => "bare proxy",
            Kind::ProxyWithInsert => "proxy + SQLite insert",
        }
    }
}

/// The argument before a file whose bytes the static floor serves.
const STATIC_ARG: &str = "--static";

/// When this process was started as a floor, runs it: `__floor UPSTREAM_BASE [DB_PATH]` for a
/// proxy, `__floor --static FILE` for static bytes.
pub fn child_main() -> Option<anyhow::Result<()>> {
    let mut args = std::env::args_os().skip(1);
    if args.next().as_deref() != Some(OsStr::new(CHILD_ARG)) {
        return None;
    }
    let first = args.next()?;
    if first == STATIC_ARG {
        let file = PathBuf::from(args.next()?);
        return Some(crate::block_on(serve_static(file)));
    }
    let upstream = first.into_string().ok()?;
    let database = args.next().map(PathBuf::from);
    Some(crate::block_on(serve(upstream, database)))
}

/// Binds a loopback port, says where on stdout (what [`Floor::start`] waits for), serves.
async fn listen_and_serve(router: Router) -> anyhow::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    println!("listening {}", listener.local_addr()?);
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router.into_make_service()).await?;
    Ok(())
}

/// Every request, whatever its method and path, answered with the file's bytes as JSON.
async fn serve_static(file: PathBuf) -> anyhow::Result<()> {
    let body = axum::body::Bytes::from(
        std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?,
    );
    let router = Router::new().fallback(move || {
        let body = body.clone();
        async move { ([(header::CONTENT_TYPE, "application/json")], body) }
    });
    listen_and_serve(router).await
}

struct Proxy {
    client: reqwest::Client,
    upstream: String,
    database: Option<SqlitePool>,
    next_id: AtomicU64,
}

async fn serve(upstream: String, database: Option<PathBuf>) -> anyhow::Result<()> {
    let database = match database {
        Some(path) => Some(open_database(&path).await?),
        None => None,
    };
    let proxy = Arc::new(Proxy {
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(usize::MAX)
            .tcp_nodelay(true)
            .redirect(reqwest::redirect::Policy::none())
            .retry(reqwest::retry::never())
            .build()?,
        upstream,
        database,
        next_id: AtomicU64::new(0),
    });
    listen_and_serve(Router::new().fallback(forward).with_state(proxy)).await
}

async fn open_database(path: &Path) -> anyhow::Result<SqlitePool> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePool::connect_with(options).await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS calls (id TEXT PRIMARY KEY, at BIGINT NOT NULL, path TEXT NOT NULL, status BIGINT NOT NULL)",
    )
    .execute(&pool)
    .await?;
    Ok(pool)
}

async fn forward(State(proxy): State<Arc<Proxy>>, request: Request) -> Response {
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let mut upstream = proxy.client.request(
        request.method().clone(),
        format!("{}{path}", proxy.upstream),
    );
    for name in [header::AUTHORIZATION, header::ACCEPT] {
        if let Some(value) = request.headers().get(&name) {
            upstream = upstream.header(name, value);
        }
    }
    let Ok(reply) = upstream.send().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let status = reply.status();
    let content_type = reply.headers().get(header::CONTENT_TYPE).cloned();
    let Ok(body) = reply.bytes().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    if let Some(database) = &proxy.database {
        // Time-ordered text ids, as deskgate's UUIDv7 audit ids are.
        let at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let id = format!(
            "{:020}-{:012}",
            at.as_nanos(),
            proxy.next_id.fetch_add(1, Ordering::Relaxed)
        );
        let inserted = sqlx::query("INSERT INTO calls (id, at, path, status) VALUES (?, ?, ?, ?)")
            .bind(id)
            .bind(i64::try_from(at.as_millis()).unwrap_or(i64::MAX))
            .bind(&path)
            .bind(i64::from(status.as_u16()))
            .execute(database)
            .await;
        if inserted.is_err() {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    }
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    if let Some(content_type) = content_type {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type);
    }
    response
}

/// A running floor proxy.
pub struct Floor {
    _child: Child,
    pub pid: u32,
    pub base: String,
}

impl Floor {
    /// Starts a floor proxy in front of `upstream_base`; the insert variant keeps its database
    /// in `work_dir`.
    pub async fn start(kind: Kind, upstream_base: &str, work_dir: &Path) -> anyhow::Result<Self> {
        let mut command = Command::new(std::env::current_exe()?);
        command.arg(CHILD_ARG).arg(upstream_base);
        if kind == Kind::ProxyWithInsert {
            command.arg(work_dir.join(format!("floor-{}.db", std::process::id())));
        }
        Self::spawn(command).await
    }

    /// Starts a static floor answering every request with `body`, kept in `work_dir`.
    pub async fn serving(body: &[u8], work_dir: &Path) -> anyhow::Result<Self> {
        let file = work_dir.join(format!("static-{}.json", std::process::id()));
        std::fs::write(&file, body)?;
        let mut command = Command::new(std::env::current_exe()?);
        command.arg(CHILD_ARG).arg(STATIC_ARG).arg(&file);
        Self::spawn(command).await
    }

    async fn spawn(mut command: Command) -> anyhow::Result<Self> {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start the floor proxy")?;
        let pid = child.id().context("the floor proxy exited at once")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut line = String::new();
        tokio::time::timeout(
            Duration::from_secs(30),
            BufReader::new(stdout).read_line(&mut line),
        )
        .await
        .context("the floor proxy did not start within 30 s")??;
        let Some(address) = line.trim().strip_prefix("listening ") else {
            bail!("the floor proxy did not start: {line:?}");
        };
        Ok(Floor {
            base: format!("http://{address}"),
            _child: child,
            pid,
        })
    }
}
