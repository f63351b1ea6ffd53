//! `chorus`: parses the configuration, sets up logging, binds and serves.

use chorus_server::config::{Cli, Command, CreditsCommand, LogFormat, UsersCommand};
use chorus_server::{AppState, run};
use clap::Parser;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

// Many small short-lived allocations per streamed chunk, across threads:
// mimalloc spends a fraction of glibc malloc's time on them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.config.log_format, cli.config.metrics_bind.is_some());
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config).await,
        Command::Credits {
            action: CreditsCommand::Grant { username, amount },
        } => grant(cli.config, &username, amount).await,
        Command::Users { action } => users(cli.config, action).await,
        Command::SafetyEval { file, misses } => safety_eval(&file, misses),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("chorus: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stdout, filtered by `RUST_LOG` (default `info`), as text or JSON
/// lines (`--log-format`); with metrics on, database statements are also
/// timed from sqlx's events (whatever `RUST_LOG` says).
fn init_logging(format: LogFormat, metrics: bool) {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt::layer();
    let logs = match format {
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .boxed(),
        LogFormat::Json => logs.json().boxed(),
    };
    let db = metrics.then(|| {
        chorus_server::metrics::DbQueries.with_filter(chorus_server::metrics::db_queries_filter())
    });
    tracing_subscriber::registry()
        .with(logs.with_filter(filter))
        .with(db)
        .init();
}

async fn serve(config: chorus_server::Config) -> Result<(), chorus_server::StartError> {
    if config.no_limits {
        tracing::warn!(
            "--no-limits: anonymous quotas, credits, message rates and connection caps are OFF; \
             for benchmarks only, never on a public server"
        );
    }
    raise_open_files();
    // The crisis classifier learns from its labelled sets once; do it now,
    // off the async workers, not when the first person writes.
    tokio::task::spawn_blocking(safety::warm);
    let addr = config.bind_addr();
    let dist = config.dist.clone();
    let metrics_bind = config.metrics_bind;
    let state = AppState::new(config).await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| chorus_server::StartError(format!("cannot listen on {addr}: {e}")))?;
    let local = listener.local_addr()?;
    if !dist.join("index.html").exists() {
        tracing::warn!(dist = %dist.display(), "the app is not built: serving the API only");
    }
    tracing::info!(
        database = state.store.db().kind_name(),
        llm = state.generator.engine.name(),
        "Chorus is listening on http://{local}"
    );
    if let Some(addr) = metrics_bind {
        serve_metrics(addr).await?;
    }
    run(listener, state, shutdown_signal()).await?;
    Ok(())
}

/// `GET /metrics` on its own listener, for as long as the process runs.
async fn serve_metrics(addr: std::net::SocketAddr) -> Result<(), chorus_server::StartError> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        chorus_server::StartError(format!("cannot listen on {addr} for metrics: {e}"))
    })?;
    tracing::info!("metrics on http://{}/metrics", listener.local_addr()?);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, chorus_server::metrics::router()).await {
            tracing::error!(error = %e, "the metrics listener failed");
        }
    });
    Ok(())
}

/// `chorus credits grant <username> <amount>`: tops up, prints the balance.
async fn grant(
    config: chorus_server::Config,
    username: &str,
    amount: i64,
) -> Result<(), chorus_server::StartError> {
    let db = chorus_server::db::Db::connect(&config.database_url).await?;
    let store = chorus_server::store::Store::new(db.clone());
    let balance = store.grant(username, amount).await?;
    db.close().await;
    match balance {
        Some(b) => {
            println!("{username} now has {b} credits");
            Ok(())
        }
        None => Err(chorus_server::StartError(format!(
            "no user named {username:?}"
        ))),
    }
}

/// `chorus users promote|demote NAME`, `chorus users list`.
async fn users(
    config: chorus_server::Config,
    action: UsersCommand,
) -> Result<(), chorus_server::StartError> {
    let db = chorus_server::db::Db::connect(&config.database_url).await?;
    let store = chorus_server::store::Store::new(db.clone());
    let result = match &action {
        UsersCommand::Promote { username } | UsersCommand::Demote { username } => {
            let admin = matches!(action, UsersCommand::Promote { .. });
            match store.set_admin(username, admin).await? {
                true => {
                    let role = if admin { "an admin" } else { "a user" };
                    println!("{username} is now {role}");
                    Ok(())
                }
                false => Err(chorus_server::StartError(format!(
                    "no user named {username:?}"
                ))),
            }
        }
        UsersCommand::List => {
            println!("{:<32} {:<6} {:>10}", "username", "role", "credits");
            for u in store.users().await? {
                println!("{:<32} {:<6} {:>10}", u.username, u.role, u.credits);
            }
            Ok(())
        }
    };
    db.close().await;
    result
}

/// `chorus safety-eval FILE.jsonl [--misses]`: the classifier's figures on
/// an operator's own labelled messages.
fn safety_eval(file: &std::path::Path, misses: bool) -> Result<(), chorus_server::StartError> {
    let source = std::fs::read_to_string(file)
        .map_err(|e| chorus_server::StartError(format!("cannot read {}: {e}", file.display())))?;
    let set = safety::eval::parse_jsonl(&source)
        .map_err(|e| chorus_server::StartError(format!("{}: {e}", file.display())))?;
    if set.is_empty() {
        return Err(chorus_server::StartError(format!(
            "{}: no labelled messages",
            file.display()
        )));
    }
    let report = safety::eval::Report::run(&set);
    print!("{}", report.table(&file.display().to_string()));
    if misses {
        println!("messages classified otherwise than labelled:");
        for (text, label, got) in &report.misses {
            let why = safety::assess(text).explanation();
            println!(
                "  {} -> {}: {text}\n      {why}",
                label.as_str(),
                got.as_str()
            );
        }
    }
    Ok(())
}

/// Every socket is a file: lifts the soft open-file limit to the hard one
/// (often 1024 → 1M) so ten thousand connections fit.
fn raise_open_files() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => tracing::debug!(limit = n, "open-file limit"),
        Err(e) => tracing::warn!(error = %e, "could not raise the open-file limit"),
    }
}

/// Ctrl-C, or SIGTERM on Unix.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
