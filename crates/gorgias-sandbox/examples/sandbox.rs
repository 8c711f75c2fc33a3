//! Runs the sandbox on its own, like `deskgate sandbox`:
//! `cargo run -p gorgias-sandbox --example sandbox -- --listen 127.0.0.1:8081`.

use clap::Parser;

#[derive(Debug, Parser)]
#[command(about = "A local emulator of the Gorgias REST API")]
struct Cli {
    #[command(flatten)]
    args: gorgias_sandbox::cli::SandboxArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    gorgias_sandbox::cli::run(Cli::parse().args).await
}
