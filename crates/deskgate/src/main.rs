use clap::Parser;
use deskgate::cli::Cli;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    deskgate::commands::init_logs(cli.log_format);
    deskgate::commands::run(cli.command).await
}
