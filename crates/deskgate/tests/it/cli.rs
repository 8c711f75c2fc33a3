//! The `deskgate` binary as a newcomer meets it, run as a subprocess: every error names the
//! file or host it is about and its cause, read-only commands never create a database, the
//! first start says where the console is and how to get a token, and the demo keeps its
//! account, servers, URL and token across runs.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_deskgate");

fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("deskgate-cli-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `deskgate args…` in `dir` with a clean environment (no `DESKGATE_*` from the caller).
fn deskgate(dir: &Path, args: &[&str]) -> Output {
    command(dir, args).output().expect("run deskgate")
}

fn command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .current_dir(dir)
        .env("RUST_BACKTRACE", "0");
    for (name, _) in std::env::vars() {
        if name.starts_with("DESKGATE_") {
            command.env_remove(name);
        }
    }
    command
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn read_only_commands_say_there_is_no_database_here() {
    let dir = scratch_dir();
    for args in [&["token", "list"][..], &["token", "revoke", "some-id"][..]] {
        let output = deskgate(&dir, args);
        assert!(!output.status.success(), "{args:?} succeeded");
        let text = stderr(&output);
        let expected = dir.join("deskgate.db");
        assert!(
            text.contains("no database here") && text.contains(&expected.display().to_string()),
            "{args:?}: {text}"
        );
    }
    assert!(
        std::fs::read_dir(&dir).unwrap().next().is_none(),
        "a read-only command created files"
    );
}

#[test]
fn a_missing_sqlite_directory_is_named() {
    let dir = scratch_dir();
    let file = dir.join("no-such-dir").join("deskgate.db");
    let url = format!("sqlite:{}", file.display());
    let output = deskgate(&dir, &["token", "create", "--database-url", &url]);
    assert!(!output.status.success());
    let text = stderr(&output);
    assert!(
        text.contains(&file.display().to_string())
            && text.contains(&dir.join("no-such-dir").display().to_string())
            && text.contains("does not exist"),
        "{text}"
    );
}

#[test]
fn an_unreachable_postgres_fails_fast_naming_host_and_cause() {
    let dir = scratch_dir();
    // A port nothing listens on: refused at once.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("postgres://deskgate@127.0.0.1:{port}/deskgate");
    let started = Instant::now();
    let output = deskgate(&dir, &["token", "list", "--database-url", &url]);
    assert!(!output.status.success());
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "took {:?}",
        started.elapsed()
    );
    let text = stderr(&output);
    assert!(
        text.contains(&format!("PostgreSQL at 127.0.0.1:{port}")) && text.contains("refused"),
        "{text}"
    );
}

#[test]
fn export_openapi_into_a_closed_pipe_does_not_panic() {
    let dir = scratch_dir();
    let mut child = command(&dir, &["integrations", "export-openapi", "gorgias"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line, then close the pipe, as `| head -1` does.
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert_eq!(first.trim(), "{");
    let status = child.wait().unwrap();
    let mut text = String::new();
    child.stderr.unwrap().read_to_string(&mut text).unwrap();
    assert!(!text.contains("panicked"), "{text}");
    assert!(status.success(), "{status:?}: {text}");
}

#[test]
fn serve_help_tells_how_to_sign_in() {
    let output = deskgate(&scratch_dir(), &["serve", "--help"]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("DESKGATE_ADMIN_TOKEN"), "{text}");
    assert!(text.contains("deskgate token create"), "{text}");
}

#[test]
fn connect_never_echoes_its_token() {
    let output = deskgate(
        &scratch_dir(),
        &["connect", "http://[broken/mcp/dgm_secretvalue"],
    );
    assert!(!output.status.success());
    let text = stderr(&output);
    assert!(!text.contains("dgm_secretvalue"), "{text}");
    assert!(text.contains("not a URL"), "{text}");
}

/// A `serve` child that is killed when dropped, with its stdout read line by line.
struct Serving {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Serving {
    fn start(dir: &Path, args: &[&str]) -> Self {
        let mut child = command(dir, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    /// Stdout up to the first line containing `marker`.
    fn until(&self, marker: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut text = String::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    text.push_str(&line);
                    text.push('\n');
                    if line.contains(marker) {
                        return text;
                    }
                }
                Err(_) => break,
            }
        }
        panic!("no {marker:?} in:\n{text}");
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn a_plain_serve_leads_to_the_console_and_a_first_token() {
    let dir = scratch_dir();
    let port = free_port();
    // `localhost:PORT` is accepted as a listen address.
    let listen = format!("localhost:{port}");
    let serving = Serving::start(&dir, &["serve", "--listen", &listen]);
    let text = serving.until("deskgate serve --demo");
    assert!(
        text.contains(&format!("http://127.0.0.1:{port}/ui")),
        "{text}"
    );
    assert!(text.contains("DESKGATE_ADMIN_TOKEN"), "{text}");

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let root = client
        .get(format!("http://127.0.0.1:{port}/"))
        .send()
        .await
        .unwrap();
    assert!(root.status().is_redirection(), "{}", root.status());
    assert_eq!(root.headers()["location"], "/ui");
}

#[test]
fn a_port_alone_listens_on_loopback() {
    let dir = scratch_dir();
    let port = free_port();
    let serving = Serving::start(&dir, &["serve", "--listen", &port.to_string()]);
    let text = serving.until("Console:");
    assert!(
        text.contains(&format!("http://127.0.0.1:{port}/ui")),
        "{text}"
    );
}

#[tokio::test]
async fn the_demo_keeps_its_account_servers_url_and_token_across_runs() {
    let dir = scratch_dir();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let value = |text: &str, label: &str| -> String {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .map(|rest| rest.split_whitespace().next().unwrap_or("").to_owned())
            .unwrap_or_else(|| panic!("no {label:?} in:\n{text}"))
    };
    let url_of = |text: &str| -> String {
        text.lines()
            .map(str::trim)
            .find(|l| l.starts_with("http://") && l.contains("/mcp/dgm_"))
            .unwrap_or_else(|| panic!("no MCP URL in:\n{text}"))
            .to_owned()
    };

    let first = {
        let serving = Serving::start(&dir, &["serve", "--demo", "--listen", &listen]);
        serving.until("/mcp/dgm_")
    };
    assert!(first.contains("First run"), "{first}");
    assert!(
        first.contains("agent@acme.example / sandbox-api-key"),
        "{first}"
    );
    // A second server minted by hand must survive the next run.
    let api_token = value(&first, "API token:");
    let account = value(&first, "Demo account id:");
    let sandbox = value(&first, "Sandbox (a local Gorgias emulator):");

    let serving = Serving::start(&dir, &["serve", "--demo", "--listen", &listen]);
    let _ = serving.until("/mcp/dgm_");
    let client = reqwest::Client::new();
    let minted = client
        .post(format!("http://{listen}/integrated-account/{account}/mcp"))
        .bearer_auth(&api_token)
        .json(&serde_json::json!({"name": "by hand", "config": {"methods": ["read"]}}))
        .send()
        .await
        .unwrap();
    assert!(minted.status().is_success(), "{}", minted.status());
    drop(serving);

    let serving = Serving::start(&dir, &["serve", "--demo", "--listen", &listen]);
    let third = serving.until("/mcp/dgm_");
    assert!(third.contains("Reusing from the last run"), "{third}");
    assert!(third.contains("1 other MCP server"), "{third}");
    assert_eq!(value(&third, "API token:"), api_token);
    assert_eq!(value(&third, "Demo account id:"), account);
    assert_eq!(
        value(&third, "Sandbox (a local Gorgias emulator):"),
        sandbox
    );
    assert_eq!(url_of(&third), url_of(&first));

    // A new client: the last one's pooled connection went with the previous process.
    let client = reqwest::Client::new();
    let servers = client
        .get(format!("http://{listen}/integrated-account/{account}/mcp"))
        .bearer_auth(&api_token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(servers.contains("by hand"), "{servers}");
    let tools = client
        .post(url_of(&third))
        .header("accept", "application/json, text/event-stream")
        .json(
            &serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "list_all_gorgias_tickets", "arguments": {"limit": 1}}}),
        )
        .send()
        .await
        .unwrap();
    assert!(tools.status().is_success(), "{}", tools.status());
    let body = tools.text().await.unwrap();
    assert!(!body.contains("\"isError\":true"), "{body}");
}

/// `deskgate serve --demo | head -3`, or a log shipper that stops reading: the banner meets a
/// closed pipe, and the server must go on serving rather than die with it (`println!`
/// panicked on the broken pipe).
#[tokio::test]
async fn serve_outlives_a_closed_stdout() {
    let dir = scratch_dir();
    let port = free_port();
    let mut child = command(
        &dir,
        &["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    // The reader goes away before the banner is written.
    drop(child.stdout.take());
    let deadline = Instant::now() + Duration::from_secs(30);
    let healthy = loop {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("deskgate exited when its stdout closed: {status:?}");
        }
        let answer = reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await;
        if answer.is_ok_and(|r| r.status().is_success()) {
            break true;
        }
        if Instant::now() > deadline {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(healthy, "deskgate never answered /healthz");
}
