use clap::Parser;
use deskgate::cli::Cli;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let traces = deskgate::commands::init_logs(cli.log_format, cli.command.otlp_endpoint())?;
    let outcome = deskgate::commands::run(cli.command).await;
    // The spans of the last calls are still in the batch: sent (or given up) before exit.
    if let Some(traces) = traces {
        traces.shutdown();
    }
    outcome
}
