//! Command-line and environment configuration (`chorus --help`).
//!
//! Every flag is also an environment variable, so the same binary is set up
//! by flags on a laptop and by env in a container.

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Chorus: streams AI work to people in the browser.
#[derive(Debug, Clone, Parser)]
#[command(name = "chorus", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What to do; with none, `serve`.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Serve the API, the streams and the app (the default).
    Serve,
    /// Manage users' credits in the configured database.
    Credits {
        #[command(subcommand)]
        action: CreditsCommand,
    },
    /// Manage users' roles in the configured database: admins read the
    /// escalation summary and the admin page.
    Users {
        #[command(subcommand)]
        action: UsersCommand,
    },
    /// Score the crisis classifier on your own labelled messages: a file of
    /// JSON lines `{"text": "...", "label": "none|low|medium|high"}`.
    /// Prints the confusion matrix, precision and recall per level, the
    /// recall of high risk and the false alarms on benign messages.
    SafetyEval {
        /// The labelled file (JSON lines).
        file: PathBuf,
        /// Also list every message classified otherwise than labelled,
        /// with the cues behind the decision.
        #[arg(long)]
        misses: bool,
    },
}

/// `chorus credits …`
#[derive(Debug, Clone, Subcommand)]
pub enum CreditsCommand {
    /// Add credits to a user's balance: `chorus credits grant alice 500`.
    Grant {
        /// The user's name.
        username: String,
        /// How many credits to add (1 or more).
        #[arg(value_parser = clap::value_parser!(i64).range(1..))]
        amount: i64,
    },
}

/// `chorus users …`
#[derive(Debug, Clone, Subcommand)]
pub enum UsersCommand {
    /// Make a user an admin: `chorus users promote alice`.
    Promote {
        /// The user's name.
        username: String,
    },
    /// Make an admin a plain user again.
    Demote {
        /// The user's name.
        username: String,
    },
    /// List every user with their role and credits.
    List,
}

/// The model providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LlmKind {
    /// The built-in offline generator.
    Offline,
    /// Any OpenAI-compatible API.
    Openai,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// For people: one line of text per event.
    Text,
    /// For log shippers: one JSON object per line, the request's span (with
    /// its `request_id`) in `span` and `spans`.
    Json,
}

/// Server settings.
#[derive(Debug, Clone, Parser)]
pub struct Config {
    /// Address to listen on. Defaults to 127.0.0.1 with the port from `PORT`,
    /// or 3000 when `PORT` is unset.
    #[arg(long, env = "CHORUS_BIND", global = true)]
    pub bind: Option<SocketAddr>,

    /// The port used when `--bind` is not given (platforms set `PORT`).
    #[arg(long, env = "PORT", default_value_t = 3000, global = true, hide = true)]
    pub port: u16,

    /// Folder of the built app (trunk's output); served with an SPA fallback.
    #[arg(long, env = "CHORUS_DIST", default_value = "dist", global = true)]
    pub dist: PathBuf,

    /// Database: `sqlite://path` (created if missing) or `postgres://…`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://data/chorus.db",
        global = true
    )]
    pub database_url: String,

    /// Extra origins allowed to open WebSockets and to call the API from a
    /// browser (CORS), e.g. `http://localhost:8080` for `trunk serve`.
    /// Repeat the flag, or separate with commas in the env var.
    #[arg(
        long = "allowed-origin",
        env = "CHORUS_ALLOWED_ORIGINS",
        value_delimiter = ',',
        global = true
    )]
    pub allowed_origins: Vec<String>,

    /// The origins this server is reached at by browsers
    /// (`https://chorus.example`). Needed when it is reached by a name:
    /// without it only an address or `localhost` counts as the server's own
    /// origin for WebSockets, since a name can be rebound to this server by
    /// another site (DNS rebinding). Repeat the flag, or separate with
    /// commas in the env var.
    #[arg(
        long = "public-origin",
        env = "CHORUS_PUBLIC_ORIGINS",
        value_delimiter = ',',
        global = true
    )]
    pub public_origins: Vec<String>,

    /// Reverse proxies whose `X-Forwarded-For` header is believed, as
    /// addresses or networks (`127.0.0.1`, `10.0.0.0/8`). Unset (the
    /// default): the header is ignored and the TCP peer is the client, so
    /// behind a proxy every visitor shares the proxy's address. Repeat the
    /// flag, or separate with commas in the env var.
    #[arg(
        long = "trusted-proxy",
        env = "CHORUS_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_parser = parse_net,
        global = true
    )]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// Folder for the server's own files (the generated JWT secret).
    #[arg(long, env = "CHORUS_DATA_DIR", default_value = "data", global = true)]
    pub data_dir: PathBuf,

    /// Secret that signs login tokens (HS256). Unset: one is generated once
    /// and kept in `<data-dir>/jwt_secret` (mode 0600).
    #[arg(long, env = "JWT_SECRET", hide_env_values = true, global = true)]
    pub jwt_secret: Option<String>,

    /// Redis shared by several instances of Chorus (a cluster): live
    /// streams, stop, BooksWriter sessions, chat news and limits then hold
    /// across instances. Unset: everything stays in this process. Needs an
    /// explicit `--jwt-secret` (every instance must sign alike).
    #[arg(long, env = "REDIS_URL", hide_env_values = true, global = true)]
    pub redis_url: Option<String>,

    /// How long a login token is valid, in hours.
    #[arg(
        long,
        env = "CHORUS_TOKEN_TTL_HOURS",
        default_value_t = 24,
        global = true
    )]
    pub token_ttl_hours: i64,

    /// Assistant replies an anonymous visitor gets before signing up.
    #[arg(
        long,
        env = "CHORUS_ANON_MESSAGE_LIMIT",
        default_value_t = 10,
        global = true
    )]
    pub anon_message_limit: i64,

    /// Free assistant replies anonymous visitors from one address share
    /// per day, whatever ids they send (0: no budget per address).
    #[arg(
        long,
        env = "CHORUS_ANON_IP_MESSAGE_LIMIT",
        default_value_t = 30,
        global = true
    )]
    pub anon_ip_message_limit: u32,

    /// Credits a new account starts with (one credit = one output token).
    #[arg(
        long,
        env = "CHORUS_INITIAL_CREDITS",
        default_value_t = 2000,
        global = true
    )]
    pub initial_credits: i64,

    /// Which model provider generates text: `offline` (built in, no key, no
    /// network) or `openai` (any OpenAI-compatible API).
    #[arg(long, env = "CHORUS_LLM", value_enum, default_value_t = LlmKind::Offline, global = true)]
    pub llm: LlmKind,

    /// The model to ask when a request names none.
    #[arg(
        long,
        env = "CHORUS_MODEL",
        default_value = "gpt-4o-mini",
        global = true
    )]
    pub model: String,

    /// Models clients may name besides `--model` (repeat the flag, or
    /// separate with commas). Any other name is refused with
    /// `MODEL_NOT_ALLOWED` before anything is charged; `GET /api/models`
    /// lists them. The offline generator ignores model names.
    #[arg(
        long = "allowed-models",
        env = "CHORUS_ALLOWED_MODELS",
        value_delimiter = ',',
        global = true
    )]
    pub allowed_models: Vec<String>,

    /// Credits per output token of a model, `name=factor` (repeatable, or
    /// comma-separated in the env var); unpriced models cost 1.
    #[arg(
        long = "model-price",
        env = "CHORUS_MODEL_PRICES",
        value_delimiter = ',',
        value_parser = crate::engine::models::parse_price,
        global = true
    )]
    pub model_prices: Vec<(String, f64)>,

    /// Name prefixes of reasoning models (OpenAI's o-series and peers):
    /// they get `max_completion_tokens` and no `temperature`. A model that
    /// refuses `max_tokens` is also switched to that the first time it does.
    #[arg(
        long = "reasoning-models",
        env = "CHORUS_REASONING_MODELS",
        value_delimiter = ',',
        default_value = "o1,o3,o4,gpt-5",
        global = true
    )]
    pub reasoning_models: Vec<String>,

    /// Base URL of the OpenAI-compatible API (OpenAI, Ollama at
    /// http://localhost:11434/v1, vLLM, llama.cpp server, LM Studio).
    #[arg(
        long,
        env = "OPENAI_BASE_URL",
        default_value = "https://api.openai.com/v1",
        global = true
    )]
    pub openai_base_url: String,

    /// API key for `--llm openai` (local servers usually need none).
    #[arg(long, env = "OPENAI_API_KEY", hide_env_values = true, global = true)]
    pub openai_api_key: Option<String>,

    /// Seconds to wait for a provider to start answering, and between pieces.
    #[arg(
        long,
        env = "CHORUS_PROVIDER_TIMEOUT_SECS",
        default_value_t = 60,
        global = true
    )]
    pub provider_timeout_secs: u64,

    /// Least pause between streamed chunks, in milliseconds. Unset, the
    /// offline writer (which has its whole text at once) is paced at the
    /// protocols' 100, and a live model streams at its own pace (chunks go
    /// out as its text comes, so nothing waits behind a timer); 0 streams
    /// as fast as possible (tests, benchmarks).
    #[arg(long, env = "CHORUS_CHUNK_DELAY_MS", global = true)]
    pub chunk_delay_ms: Option<u64>,

    /// How long a finished stream stays replayable, in seconds.
    #[arg(
        long,
        env = "CHORUS_STREAM_TTL_SECS",
        default_value_t = 300,
        global = true
    )]
    pub stream_ttl_secs: u64,

    /// Most memory, in MiB, that streams may hold for replay (their events,
    /// what indexes them, and each stream itself); past it the oldest
    /// finished streams are forgotten before `--stream-ttl-secs` (a resume
    /// then gets `STREAM_EXPIRED` with the saved text).
    #[arg(
        long,
        env = "CHORUS_STREAM_MEMORY_MB",
        default_value_t = 512,
        global = true
    )]
    pub stream_memory_mb: usize,

    /// A WebSocket client whose outgoing queue stays full this long (it
    /// stopped reading) is closed with 1008; it can resume. Milliseconds.
    #[arg(
        long,
        env = "CHORUS_WS_STALL_TIMEOUT_MS",
        default_value_t = 10_000,
        global = true
    )]
    pub ws_stall_timeout_ms: u64,

    /// Socket connections one signed-in user may hold at once (every
    /// socket endpoint and transport counted together).
    #[arg(
        long,
        env = "CHORUS_MAX_CONNECTIONS_PER_USER",
        default_value_t = 5,
        global = true
    )]
    pub max_connections_per_user: usize,

    /// Socket connections anonymous visitors from one address may hold at
    /// once, whatever ids they send (`/ws`, `/ws/{id}`, the chat
    /// management socket and socket.io together).
    #[arg(
        long,
        env = "CHORUS_MAX_CONNECTIONS_PER_IP",
        default_value_t = 50,
        global = true
    )]
    pub max_connections_per_ip: usize,

    /// Most socket connections open at once, for everyone. 0 (the
    /// default): the open-file limit less 1024 descriptors kept for the
    /// HTTP API and the database.
    #[arg(long, env = "CHORUS_MAX_SOCKETS", default_value_t = 0, global = true)]
    pub max_sockets: usize,

    /// `false` turns every WebSocket endpoint off (503); the support protocol's switch.
    #[arg(long, env = "ENABLE_WEBSOCKET", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub enable_websocket: bool,

    /// Largest request body accepted, in bytes.
    #[arg(long, env = "CHORUS_BODY_LIMIT", default_value_t = 64 * 1024, global = true)]
    pub body_limit: usize,

    /// BooksWriter: how long one agent may work on a request before it is
    /// stopped with `AGENT_TIMEOUT` (its partial work is saved). `30s`,
    /// `500ms`, or plain seconds.
    #[arg(long, env = "CHORUS_AGENT_TIMEOUT", default_value = "30s", value_parser = parse_duration, global = true)]
    pub agent_timeout: std::time::Duration,

    /// BooksWriter: a connection with no traffic from its client for this
    /// long is closed (the app pings every 30 s); the session itself stays
    /// in the database.
    #[arg(long, env = "CHORUS_BOOKS_IDLE_TIMEOUT", default_value = "5m", value_parser = parse_duration, global = true)]
    pub books_idle_timeout: std::time::Duration,

    /// Benchmarking only: lifts every limit that protects a public server
    /// (anonymous replies, credits, the per-connection message rate, the
    /// per-user connection cap), so a load generator is not refused. The
    /// server logs a warning at start when it is set.
    #[arg(long, env = "CHORUS_NO_LIMITS", global = true)]
    pub no_limits: bool,

    /// Log lines as `text` (for people) or `json` (one object a line, for
    /// log shippers). What is logged follows `RUST_LOG`.
    #[arg(long, env = "CHORUS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// Serve `GET /metrics` (Prometheus text) on this address, e.g.
    /// `127.0.0.1:9100`. Off by default, and never on the public listener,
    /// so the figures are not published by accident.
    #[arg(long, env = "CHORUS_METRICS_BIND", global = true)]
    pub metrics_bind: Option<SocketAddr>,
}

/// `10.0.0.0/8`, or a single address (`127.0.0.1`, `::1`).
pub fn parse_net(s: &str) -> Result<ipnet::IpNet, String> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{s:?} is not an address or a network like 10.0.0.0/8"))
}

/// `250ms`, `30s`, `5m`, or a plain number of seconds (`1.5`).
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (try 30s, 500ms or 5m)"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("unknown unit {unit:?} in {s:?}: use ms, s, m or h")),
    };
    if !secs.is_finite() || secs <= 0.0 {
        return Err(format!("{s:?} must be more than zero"));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

impl Config {
    /// The socket address to listen on, after `--bind` and `PORT`.
    pub fn bind_addr(&self) -> SocketAddr {
        self.bind
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], self.port)))
    }

    /// Settings for tests and embedding: defaults, with an in-memory SQLite.
    pub fn for_tests(dist: PathBuf) -> Self {
        Self {
            bind: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            port: 0,
            dist,
            database_url: "sqlite::memory:".into(),
            allowed_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            public_origins: Vec::new(),
            data_dir: std::env::temp_dir().join("chorus-test-data"),
            jwt_secret: Some("test-secret-of-sufficient-length-0123456789".into()),
            redis_url: None,
            token_ttl_hours: 24,
            anon_message_limit: 10,
            anon_ip_message_limit: 30,
            initial_credits: 2000,
            body_limit: 64 * 1024,
            llm: LlmKind::Offline,
            model: "gpt-4o-mini".into(),
            allowed_models: Vec::new(),
            model_prices: Vec::new(),
            reasoning_models: ["o1", "o3", "o4", "gpt-5"].map(String::from).to_vec(),
            openai_base_url: "https://api.openai.com/v1".into(),
            openai_api_key: None,
            provider_timeout_secs: 60,
            chunk_delay_ms: Some(0),
            stream_ttl_secs: 300,
            stream_memory_mb: 512,
            ws_stall_timeout_ms: 10_000,
            max_connections_per_user: 5,
            max_connections_per_ip: 50,
            max_sockets: 0,
            enable_websocket: true,
            agent_timeout: std::time::Duration::from_secs(30),
            books_idle_timeout: std::time::Duration::from_secs(300),
            no_limits: false,
            log_format: LogFormat::Text,
            metrics_bind: None,
        }
    }

    /// The least pause between chunks: `--chunk-delay-ms`, or by default
    /// the protocols' 100 ms for the offline writer and none for a live
    /// model, whose own pace is the stream's.
    pub fn chunk_delay(&self) -> std::time::Duration {
        let ms = self.chunk_delay_ms.unwrap_or(match self.llm {
            LlmKind::Offline => 100,
            _ => 0,
        });
        std::time::Duration::from_millis(ms)
    }

    /// The socket caps (`None` under `--no-limits`).
    pub fn connection_caps(&self) -> Option<crate::connections::Caps> {
        /// Descriptors kept for the HTTP API, the database and files.
        const RESERVE: u64 = 1024;
        let total = match self.max_sockets {
            0 => {
                let (soft, _) = rlimit::Resource::NOFILE.get().unwrap_or((4096, 4096));
                soft.saturating_sub(RESERVE).clamp(64, usize::MAX as u64) as usize
            }
            n => n,
        };
        (!self.no_limits).then_some(crate::connections::Caps {
            per_user: self.max_connections_per_user,
            per_ip: self.max_connections_per_ip,
            total,
        })
    }

    /// How long a WebSocket's queue may stay full.
    pub fn ws_stall_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.ws_stall_timeout_ms.max(1))
    }

    /// The engine these settings ask for.
    pub fn engine(&self) -> crate::engine::Engine {
        use crate::engine::{Engine, offline::Offline, openai::OpenAi};
        match self.llm {
            LlmKind::Offline => Engine::Offline(Offline),
            LlmKind::Openai => Engine::OpenAi(
                OpenAi::new(
                    &self.openai_base_url,
                    self.openai_api_key.clone(),
                    &self.model,
                    std::time::Duration::from_secs(self.provider_timeout_secs.max(1)),
                )
                .with_reasoning_models(&self.reasoning_models),
            ),
        }
    }

    /// The models clients may name, and their prices.
    pub fn models(&self) -> crate::engine::models::Models {
        crate::engine::models::Models::new(
            &self.model,
            &self.allowed_models,
            &self.model_prices,
            self.llm != LlmKind::Offline,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_is_used_when_bind_is_absent() {
        let cli = Cli::try_parse_from(["chorus", "--port", "4100"]).unwrap();
        assert_eq!(cli.config.bind_addr(), "127.0.0.1:4100".parse().unwrap());
        let cli = Cli::try_parse_from(["chorus", "--bind", "0.0.0.0:9"]).unwrap();
        assert_eq!(cli.config.bind_addr(), "0.0.0.0:9".parse().unwrap());
    }

    #[test]
    fn the_offline_writer_is_paced_and_a_live_model_keeps_its_own_pace() {
        let delay = |args: &[&str]| {
            let mut all = vec!["chorus"];
            all.extend_from_slice(args);
            Cli::try_parse_from(all).unwrap().config.chunk_delay()
        };
        let ms = std::time::Duration::from_millis;
        assert_eq!(delay(&[]), ms(100));
        assert_eq!(delay(&["--llm", "openai"]), ms(0));
        assert_eq!(
            delay(&["--llm", "openai", "--chunk-delay-ms", "50"]),
            ms(50)
        );
        assert_eq!(delay(&["--chunk-delay-ms", "0"]), ms(0));
    }

    #[test]
    fn durations_read_with_or_without_a_unit() {
        assert_eq!(
            parse_duration("30s"),
            Ok(std::time::Duration::from_secs(30))
        );
        assert_eq!(
            parse_duration("250ms"),
            Ok(std::time::Duration::from_millis(250))
        );
        assert_eq!(
            parse_duration("5m"),
            Ok(std::time::Duration::from_secs(300))
        );
        assert_eq!(
            parse_duration("1.5"),
            Ok(std::time::Duration::from_millis(1500))
        );
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("3 weeks").is_err());
        let cli = Cli::try_parse_from(["chorus", "--agent-timeout", "200ms"]).unwrap();
        assert_eq!(
            cli.config.agent_timeout,
            std::time::Duration::from_millis(200)
        );
    }

    #[test]
    fn allowed_origins_split_on_commas() {
        let cli = Cli::try_parse_from([
            "chorus",
            "--allowed-origin",
            "http://a:1,http://b:2",
            "--allowed-origin",
            "http://c:3",
        ])
        .unwrap();
        assert_eq!(
            cli.config.allowed_origins,
            ["http://a:1", "http://b:2", "http://c:3"]
        );
    }
}
