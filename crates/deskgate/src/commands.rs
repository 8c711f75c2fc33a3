//! What each CLI command does.

use anyhow::Context;
use tokio::net::TcpListener;

use crate::app::App;
use crate::cli::{Command, IntegrationsCommand, LogFormat, PersonCommand, ServeArgs, TokenCommand};
use crate::store::{OpenMode, Store};

/// Log filter when `DESKGATE_LOG` is not set. rmcp logs three info lines for every request it
/// serves statelessly (service initialized, input stream terminated, serve finished): they say
/// nothing about the request and cost more than the tool call's own line.
pub const DEFAULT_LOG_FILTER: &str = "info,rmcp=warn";

/// Logs go to stderr, filtered by `DESKGATE_LOG` (an `EnvFilter` directive). With an OTLP
/// endpoint, the call spans (`crate::traces`) are exported too; the log layer never shows them.
pub fn init_logs(
    format: LogFormat,
    otlp_endpoint: Option<&str>,
) -> anyhow::Result<Option<crate::traces::Traces>> {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;

    let filter = tracing_subscriber::EnvFilter::try_from_env("DESKGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER))
        .add_directive(
            format!("{}=off", crate::traces::TARGET)
                .parse()
                .expect("a valid directive"),
        );
    // Colours only for a person at a terminal: in a file or a log collector the escape codes
    // are noise, and styling every span's fields was ~5 % of a `tools/list`'s instructions.
    let colours = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let logs = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_ansi(colours)
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .boxed(),
    };
    let traces = otlp_endpoint
        .map(crate::traces::Traces::start)
        .transpose()
        .context("could not start the OTLP trace exporter")?;
    let export = traces.as_ref().map(|traces| {
        tracing_opentelemetry::layer()
            .with_tracer(traces.tracer())
            .with_filter(
                tracing_subscriber::filter::Targets::new()
                    .with_target(crate::traces::TARGET, tracing::Level::TRACE),
            )
    });
    tracing_subscriber::registry()
        .with(logs.with_filter(filter))
        .with(export)
        .init();
    Ok(traces)
}

pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => serve(args).await,
        Command::Sandbox(args) => gorgias_sandbox::cli::run(args).await,
        Command::Token(command) => token(command).await,
        Command::Person(command) => person(command).await,
        Command::Integrations(command) => integrations(command),
        Command::Connect(args) => crate::bridge::run(args).await,
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let open_files = raise_open_files_limit();
    let mut config = args.config();
    // Each connection holds a descriptor; the database, the upstream pool and the listener need
    // some too. A cap above what the process may open would fail at accept() instead.
    if let Some(limit) = open_files {
        let fits = usize::try_from(limit.saturating_sub(256))
            .unwrap_or(usize::MAX)
            .max(1);
        if config.max_connections > fits {
            tracing::warn!(
                max_connections = config.max_connections,
                open_files_limit = limit,
                "--max-connections is above what the open-files limit allows; using {fits}"
            );
            config.max_connections = fits;
        }
    }
    // SSE streams are connections that stay busy: were they allowed to fill every connection,
    // nothing else (a health check) could get in.
    if config.sse_max_streams >= config.max_connections {
        let fits = (config.max_connections / 2).max(1);
        tracing::warn!(
            sse_max_streams = config.sse_max_streams,
            max_connections = config.max_connections,
            "--sse-max-streams must stay below --max-connections; using {fits}"
        );
        config.sse_max_streams = fits;
        config.sse_max_streams_per_server = config.sse_max_streams_per_server.min(fits);
    }
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    config.listen = listener.local_addr()?;
    let app = App::build(config).await?;
    tracing::info!(
        listen = %app.config.listen,
        database = app.store.backend_name(),
        public_url = %app.public_url,
        "deskgate is serving"
    );
    // The sandbox must outlive the server: keep its handle until shutdown.
    let _demo = if args.demo {
        Some(crate::demo::start(&app).await?)
    } else {
        print_out(&format!("{}\n", first_steps(&app, &args).await?))?;
        None
    };
    crate::server::serve(app, listener, shutdown_signal()).await?;
    Ok(())
}

/// What a plain `serve` prints: where the console is and, while no admin token exists, how to
/// get the first one.
async fn first_steps(app: &App, args: &ServeArgs) -> anyhow::Result<String> {
    let mut text = format!(
        "\ndeskgate is serving.\n\n  Console:      {base}/ui\n  API and docs: {base}/openapi.json\n",
        base = app.public_url
    );
    let has_admin = app
        .store
        .list_api_tokens()
        .await?
        .iter()
        .any(|t| t.scope == crate::tokens::TokenScope::Admin);
    if !has_admin {
        let same_db = if args.database.database_url == crate::cli::DEFAULT_DATABASE_URL {
            String::new()
        } else {
            " (with the same --database-url)".to_owned()
        };
        text.push_str(&format!(
            "\nNo API token exists yet; the console and the API need one. Either mint one from another\n\
             terminal, in this directory{same_db}:\n\n  \
             deskgate token create --name me\n\n\
             or restart with an admin token in the environment (at least 128 bits):\n\n  \
             export DESKGATE_ADMIN_TOKEN=$(openssl rand -hex 24)\n\n\
             To try everything against a local Gorgias emulator instead, run `deskgate serve --demo`.\n"
        ));
    }
    Ok(text)
}

/// Every MCP client holds a socket, and a legacy SSE client holds one for as long as it listens:
/// the common soft limit of 1,024 descriptors would refuse connections long before the machine
/// runs out of anything, so the soft limit is raised to the hard one.
fn raise_open_files_limit() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => {
            tracing::debug!(limit, "open-files limit");
            Some(limit)
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not raise the open-files limit");
            None
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = terminate => {} }
    tracing::info!("shutting down");
}

async fn token(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create {
            name,
            scope,
            servers,
            accounts,
            database,
        } => {
            let store = Store::connect(&database.database_url).await?;
            let (token, secret) = crate::api::tokens::mint(
                &store,
                crate::api::tokens::CreateApiToken {
                    name,
                    scope: Some(scope),
                    mcp_server_ids: (!servers.is_empty()).then_some(servers),
                    integrated_account_ids: (!accounts.is_empty()).then_some(accounts),
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            eprintln!(
                "API token {:?} ({}, scope {}) created. It is shown only now:",
                token.name,
                token.id,
                token.scope.as_str()
            );
            println!("{secret}");
        }
        TokenCommand::List { database } => {
            let store = Store::open(&database.database_url, OpenMode::MustExist).await?;
            let mut out = String::new();
            for t in store.list_api_tokens().await? {
                out.push_str(&format!(
                    "{}\t{}\t{}\t{}\t{}\n",
                    t.id,
                    t.created_at.to_rfc3339(),
                    t.scope.as_str(),
                    describe_limits(&t),
                    t.name
                ));
            }
            print_out(&out)?;
        }
        TokenCommand::Revoke { id, database } => {
            let store = Store::open(&database.database_url, OpenMode::MustExist).await?;
            anyhow::ensure!(
                store.delete_api_token(&id).await?,
                "no API token with id {id}"
            );
            eprintln!("API token {id} revoked");
        }
    }
    Ok(())
}

async fn person(command: PersonCommand) -> anyhow::Result<()> {
    match command {
        PersonCommand::Add {
            email,
            name,
            admin,
            password_stdin,
            database,
        } => {
            let (password, generated) = if password_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                (line.trim_end_matches(['\r', '\n']).to_owned(), false)
            } else {
                (crate::tokens::random_urlsafe(15), true)
            };
            let store = Store::connect(&database.database_url).await?;
            let role = if admin {
                crate::people::Role::Admin
            } else {
                crate::people::Role::Agent
            };
            let person = crate::people::add(
                &store,
                crate::people::NewPerson {
                    email: &email,
                    name: name.as_deref(),
                    role,
                    password: &password,
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            eprintln!(
                "{} {} ({}) added; they sign in at /ui/sign-in with their email and password.",
                if admin { "Admin" } else { "Agent" },
                person.email,
                person.id
            );
            if generated {
                eprintln!("Their password, shown only now:");
                println!("{password}");
            }
        }
        PersonCommand::List { database } => {
            let store = Store::open(&database.database_url, OpenMode::MustExist).await?;
            let mut out = String::new();
            for p in store.list_people().await? {
                out.push_str(&format!(
                    "{}\t{}\t{}\t{}\t{}\n",
                    p.id,
                    p.created_at.to_rfc3339(),
                    p.role.as_str(),
                    p.email,
                    p.name
                ));
            }
            print_out(&out)?;
        }
    }
    Ok(())
}

/// What an API token is limited to, for `deskgate token list`.
fn describe_limits(token: &crate::store::ApiToken) -> String {
    let mut limits = Vec::new();
    if let Some(ids) = &token.mcp_server_ids {
        limits.push(format!("servers={}", ids.join(",")));
    }
    if let Some(ids) = &token.integrated_account_ids {
        limits.push(format!("accounts={}", ids.join(",")));
    }
    if token.bootstrap {
        limits.push("bootstrap".to_owned());
    }
    if limits.is_empty() {
        "-".to_owned()
    } else {
        limits.join(" ")
    }
}

fn integrations(command: IntegrationsCommand) -> anyhow::Result<()> {
    match command {
        IntegrationsCommand::Check => {
            let integration =
                crate::integration::Integration::gorgias(std::time::Duration::from_secs(60))?;
            print_out(&format!("{}\n", integration.summary()))?;
        }
        IntegrationsCommand::Tokens { lines } => {
            let mut input = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut input)?;
            let mut out = String::new();
            if lines {
                for line in input.lines() {
                    out.push_str(&format!("{}\n", integration_spec::tokens::count(line)));
                }
            } else {
                out = format!("{}\n", integration_spec::tokens::count(&input));
            }
            print_out(&out)?;
        }
        IntegrationsCommand::ExportOpenapi { integration } => {
            anyhow::ensure!(
                integration == "gorgias",
                "unknown integration {integration:?}; the available integration is gorgias"
            );
            let integration =
                crate::integration::Integration::gorgias(std::time::Duration::from_secs(60))?;
            print_out(&format!(
                "{}\n",
                serde_json::to_string_pretty(&integration.openapi())?
            ))?;
        }
    }
    Ok(())
}

/// Writes a command's output to stdout. A reader that stops early (`| head`) closes the pipe:
/// that ends the output, it is not an error (`println!` would panic, and for `serve` that
/// would take the server down with the banner).
pub(crate) fn print_out(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
