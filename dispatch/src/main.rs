//! The `dispatch` binary: read the configuration, set up logging, and run a subcommand.

use anyhow::Context;
use clap::{Parser, Subcommand};
use dispatch::config::Config;
use dispatch::state::AppState;

#[derive(Parser)]
#[command(version, about = "Passaggio dispatch service")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply migrations and serve the HTTP API.
    Serve,
    /// Apply the migrations and exit.
    Migrate,
    /// Load the demo region (province of Foggia).
    SeedDemo {
        /// Load only when the database has no Poli yet.
        #[arg(long)]
        if_empty: bool,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into()),
        )
        .init();
    let cli = Cli::parse();
    let config = Config::from_env()?;
    tracing::info!(?config, "configuration");
    let pool = dispatch::connect(&config).await?;
    dispatch::migrate(&pool).await?;
    match cli.command {
        Command::Migrate => tracing::info!("migrations applied"),
        Command::SeedDemo { if_empty } => {
            let loaded = dispatch::demo::seed(&pool, if_empty).await?;
            if loaded {
                println!("{}", dispatch::demo::LOGINS_HELP);
            } else {
                println!("the database already has data: demo region not loaded");
            }
        }
        Command::Serve => {
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .with_context(|| {
                    format!(
                        "binding {} (set PASSAGGIO_LISTEN to another port?)",
                        config.listen
                    )
                })?;
            let addr = listener.local_addr()?;
            tracing::info!(%addr, "listening");
            println!("Passaggio is running: http://{addr}/health  (Ctrl-C to stop)");
            dispatch::serve(listener, AppState::new(pool, config), shutdown_signal()).await?;
            tracing::info!("stopped");
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down: finishing requests in flight");
}
