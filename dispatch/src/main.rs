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
    /// Plan a region's day now and print the result (the same job as `POST /api/plans`).
    Plan {
        /// Day to plan, YYYY-MM-DD.
        #[arg(long)]
        date: chrono::NaiveDate,
        /// Region code, e.g. puglia.
        #[arg(long)]
        region: String,
        /// Seconds the optimiser may search.
        #[arg(long, default_value_t = 10)]
        time_limit: u64,
        /// Replan confirmed rides too (their promised times may change).
        #[arg(long)]
        replan_confirmed: bool,
    },
    /// Run the retention job once now (the service also runs it periodically) and print what
    /// it did.
    Retention,
    /// Print the OpenAPI document (YAML) generated from the code, without touching the
    /// database: `dispatch openapi > dispatch/api/openapi.yaml`.
    Openapi,
    /// Print how to sign in with the demo worker's access card (the demo has one card with a
    /// fixed code; `make run` prints it).
    DemoCard {
        /// The service's address as a phone reaches it.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        base: String,
    },
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
    if matches!(cli.command, Command::Openapi) {
        print!("{}", dispatch::openapi::yaml());
        return Ok(());
    }
    let config = Config::from_env()?;
    tracing::info!(?config, "configuration");
    let pool = dispatch::connect(&config).await?;
    dispatch::migrate(&pool).await?;
    match cli.command {
        Command::Migrate => tracing::info!("migrations applied"),
        Command::Openapi => unreachable!("answered before connecting"),
        Command::DemoCard { base } => {
            if dispatch::demo::ensure_card(&pool).await? {
                println!("{}", dispatch::demo::card_help(base.trim_end_matches('/')));
            } else {
                println!(
                    "No demo person here: the demo access card exists only in the demo region."
                );
            }
        }
        Command::Retention => {
            let state = AppState::new(pool, config);
            let report = dispatch::retention::run(&state)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        Command::SeedDemo { if_empty } => {
            let loaded = dispatch::demo::seed(&pool, if_empty).await?;
            if loaded {
                dispatch::demo::seed_season(&pool).await?;
                println!("{}", dispatch::demo::LOGINS_HELP);
            } else {
                println!("The database already has data: the demo region was not loaded again.");
                println!(
                    "If it is the demo, its logins are:\n{}",
                    dispatch::demo::LOGINS_HELP
                        .split_once('\n')
                        .map_or("", |x| x.1)
                );
            }
        }
        Command::Plan {
            date,
            region,
            time_limit,
            replan_confirmed,
        } => {
            if !dispatch::auth::REGIONS.contains(&region.as_str()) {
                anyhow::bail!(
                    "unknown region {region:?}; one of {:?}",
                    dispatch::auth::REGIONS
                );
            }
            let state = AppState::new(pool, config);
            let mut conn = state.db.acquire().await?;
            let job =
                dispatch::runs::plan::create_job(&mut conn, &region, date, !replan_confirmed, None)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            drop(conn);
            println!("planning {region} on {date} (job {job}); progress is logged");
            match dispatch::runs::plan::run_job(
                state,
                job,
                std::time::Duration::from_secs(time_limit),
            )
            .await
            {
                Some(summary) => println!("{}", serde_json::to_string_pretty(&summary)?),
                None => anyhow::bail!("planning failed: see the log, or GET /api/plans/{job}"),
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
