//! Settings, layered: command-line flags, then `TOLLGATE_*` environment
//! variables, then an optional TOML file, then defaults.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use clap::Args;
use serde::Deserialize;

/// Where the database is, and the file of further settings: all that the
/// commands working on a database (`migrate`, `user`, `apikey`) read from
/// flags and the environment. The file is read whole, as for `serve`.
#[derive(Args, Clone, Debug, Default)]
pub struct DatabaseArgs {
    /// TOML file with further settings.
    #[arg(long, env = "TOLLGATE_CONFIG")]
    pub config: Option<String>,
    /// sqlite://PATH or postgres://USER@HOST/DB.
    #[arg(long = "database", env = "TOLLGATE_DATABASE_URL")]
    pub database_url: Option<String>,
}

impl DatabaseArgs {
    /// These flags as the settings flags, the others unset (so they come
    /// from the file or the defaults).
    pub fn settings_args(&self) -> SettingsArgs {
        SettingsArgs {
            config: self.config.clone(),
            database_url: self.database_url.clone(),
            ..Default::default()
        }
    }
}

/// What `demo` reads besides the database: the admin it may create, the
/// key that encrypts the demo remote instance's password, and the address
/// that instance points at (this server's).
#[derive(Args, Clone, Debug, Default)]
pub struct DemoArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Password for the `admin` user, when the database has none yet.
    #[arg(long, env = "TOLLGATE_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// Key (64 hex digits) that encrypts stored secrets; the server's.
    #[arg(long, env = "TOLLGATE_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// The server's base URL, where the demo remote instance points.
    #[arg(long, env = "TOLLGATE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The server's listen address, where the demo remote instance points
    /// when no public URL is set.
    #[arg(long, env = "TOLLGATE_LISTEN")]
    pub listen: Option<String>,
}

impl DemoArgs {
    pub fn settings_args(&self) -> SettingsArgs {
        SettingsArgs {
            admin_password: self.admin_password.clone(),
            secret_key: self.secret_key.clone(),
            public_url: self.public_url.clone(),
            listen: self.listen.clone(),
            ..self.database.settings_args()
        }
    }
}

/// What `policy eval` reads: the limits every evaluation runs under, as in
/// the server (and the file they may come from).
#[derive(Args, Clone, Debug, Default)]
pub struct PolicyArgs {
    /// TOML file with further settings.
    #[arg(long, env = "TOLLGATE_CONFIG")]
    pub config: Option<String>,
    /// Milliseconds the evaluation may run.
    #[arg(long, env = "TOLLGATE_POLICY_TIME_LIMIT_MS")]
    pub policy_time_limit_ms: Option<u64>,
    /// Mebibytes of memory the policy evaluator process may use.
    #[arg(long, env = "TOLLGATE_POLICY_MEMORY_LIMIT_MB")]
    pub policy_memory_limit_mb: Option<u64>,
}

impl PolicyArgs {
    pub fn settings_args(&self) -> SettingsArgs {
        SettingsArgs {
            config: self.config.clone(),
            policy_time_limit_ms: self.policy_time_limit_ms,
            policy_memory_limit_mb: self.policy_memory_limit_mb,
            ..Default::default()
        }
    }
}

/// The settings `serve` reads from flags and the environment; anything
/// unset falls back to the TOML file, then defaults.
#[derive(Args, Clone, Debug, Default)]
pub struct SettingsArgs {
    /// TOML file with further settings.
    #[arg(long, env = "TOLLGATE_CONFIG")]
    pub config: Option<String>,
    /// Address to listen on.
    #[arg(long, env = "TOLLGATE_LISTEN")]
    pub listen: Option<String>,
    /// sqlite://PATH or postgres://USER@HOST/DB.
    #[arg(long = "database", env = "TOLLGATE_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Password for the `admin` user created on first start.
    #[arg(long, env = "TOLLGATE_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// Base URL used in reference and progress links (default: from the Host header).
    #[arg(long, env = "TOLLGATE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Largest accepted request body in bytes.
    #[arg(long, env = "TOLLGATE_BODY_LIMIT")]
    pub body_limit: Option<usize>,
    /// Lifetime of OAuth access tokens in seconds.
    #[arg(long, env = "TOLLGATE_ACCESS_TOKEN_TTL")]
    pub access_token_ttl: Option<u64>,
    /// Background job workers in this process.
    #[arg(long, env = "TOLLGATE_WORKERS")]
    pub workers: Option<usize>,
    /// Seconds a job whose worker stopped stays leased before another worker
    /// may take it over (a running job's heartbeat renews it every third).
    /// At least 1.
    #[arg(long, env = "TOLLGATE_JOB_LEASE")]
    pub job_lease: Option<u64>,
    /// Database connections in the pool.
    #[arg(long, env = "TOLLGATE_MAX_CONNECTIONS")]
    pub max_connections: Option<u32>,
    /// Seconds before a request is answered 503.
    #[arg(long, env = "TOLLGATE_REQUEST_TIMEOUT")]
    pub request_timeout: Option<u64>,
    /// Seconds between passes that move timeline releases on their dates.
    #[arg(long, env = "TOLLGATE_TIMELINE_TICK")]
    pub timeline_tick: Option<u64>,
    /// Seconds between folds of the search counts' deltas into the counts
    /// (PostgreSQL).
    #[arg(long, env = "TOLLGATE_PIECE_FOLD")]
    pub piece_fold: Option<u64>,
    /// Key (64 hex digits) that encrypts stored secrets such as remote
    /// instance passwords.
    #[arg(long, env = "TOLLGATE_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// Deepest element nesting accepted in an XML request body.
    #[arg(long, env = "TOLLGATE_XML_MAX_DEPTH")]
    pub xml_max_depth: Option<usize>,
    /// Serve /metrics without credentials (default: authenticated callers only).
    #[arg(long, env = "TOLLGATE_PUBLIC_METRICS")]
    pub public_metrics: Option<bool>,
    /// Serve /openapi.json without credentials (default: authenticated callers only).
    #[arg(long, env = "TOLLGATE_PUBLIC_OPENAPI")]
    pub public_openapi: Option<bool>,
    /// Proxies whose X-Forwarded-Host/-Proto are believed: comma-separated
    /// addresses or CIDR ranges (default: none).
    #[arg(long, env = "TOLLGATE_TRUSTED_PROXIES")]
    pub trusted_proxies: Option<String>,
    /// Largest page a list answers (`sysparm_limit`, `row_count`).
    #[arg(long, env = "TOLLGATE_MAX_PAGE_SIZE")]
    pub max_page_size: Option<i64>,
    /// Most conditions one encoded query (`sysparm_query`) may hold.
    #[arg(long, env = "TOLLGATE_MAX_QUERY_TERMS")]
    pub max_query_terms: Option<usize>,
    /// Milliseconds one policy evaluation may run.
    #[arg(long, env = "TOLLGATE_POLICY_TIME_LIMIT_MS")]
    pub policy_time_limit_ms: Option<u64>,
    /// Mebibytes of memory one policy evaluator process may use.
    #[arg(long, env = "TOLLGATE_POLICY_MEMORY_LIMIT_MB")]
    pub policy_memory_limit_mb: Option<u64>,
    /// Policy evaluator processes (evaluations running at once).
    #[arg(long, env = "TOLLGATE_POLICY_WORKERS")]
    pub policy_workers: Option<usize>,
    /// Argon2 password checks and hashes running at once in this process
    /// (each holds about 19 MiB); further ones wait their turn.
    #[arg(long, env = "TOLLGATE_MAX_CONCURRENT_PASSWORD_HASHES")]
    pub max_concurrent_password_hashes: Option<usize>,
    /// Failed authentications one client address may make per minute;
    /// beyond them its credentials are answered 429 until the minute ends.
    #[arg(long, env = "TOLLGATE_FAILED_LOGINS_PER_ADDRESS")]
    pub failed_logins_per_address: Option<u32>,
    /// Bytes the answer cache (v3 lists, bundle aggregates, policy status)
    /// may hold in this process.
    #[arg(long, env = "TOLLGATE_ANSWER_CACHE_BYTES")]
    pub answer_cache_bytes: Option<usize>,
    /// Remote instances update sets may be retrieved from: hosts, each
    /// optionally with `:port` (`*.example.com` for a domain's hosts),
    /// comma-separated. Empty: none. Loopback and link-local addresses are
    /// reached only when listed as such.
    #[arg(long, env = "TOLLGATE_REMOTE_ALLOW", value_delimiter = ',')]
    pub remote_allow: Option<Vec<String>>,
    /// PEM file of CA certificates trusted for https:// remote instances,
    /// besides the system's roots.
    #[arg(long, env = "TOLLGATE_REMOTE_CA_FILE")]
    pub remote_ca_file: Option<String>,
    /// PEM file with the server's certificate chain: with --tls-key, the
    /// server speaks HTTPS only.
    #[arg(long, env = "TOLLGATE_TLS_CERT")]
    pub tls_cert: Option<String>,
    /// PEM file with the private key of --tls-cert.
    #[arg(long, env = "TOLLGATE_TLS_KEY")]
    pub tls_key: Option<String>,
    /// Most updates one retrieval may read from a remote instance.
    #[arg(long, env = "TOLLGATE_RETRIEVE_MAX_UPDATES")]
    pub retrieve_max_updates: Option<usize>,
    /// Most bytes of answers one retrieval may read from a remote instance.
    #[arg(long, env = "TOLLGATE_RETRIEVE_MAX_BYTES")]
    pub retrieve_max_bytes: Option<u64>,
    /// Seconds one retrieval may take in all.
    #[arg(long, env = "TOLLGATE_RETRIEVE_TIMEOUT")]
    pub retrieve_timeout: Option<u64>,
    /// Largest form-encoded request body (the OAuth token request), in bytes.
    #[arg(long, env = "TOLLGATE_FORM_BODY_LIMIT")]
    pub form_body_limit: Option<usize>,
    /// Most bytes one answer of a remote instance may hold (at most
    /// `retrieve_max_bytes`); a larger one fails the retrieval unread.
    #[arg(long, env = "TOLLGATE_RETRIEVE_MAX_ANSWER_BYTES")]
    pub retrieve_max_answer_bytes: Option<u64>,
    /// Seconds a connection may take to send a complete request head (also
    /// the idle time allowed between keep-alive requests); then it is closed.
    #[arg(long, env = "TOLLGATE_HEADER_READ_TIMEOUT")]
    pub header_read_timeout: Option<u64>,
    /// Seconds after SIGTERM during which /readyz answers 503 while requests
    /// are still served, before the listener closes.
    #[arg(long, env = "TOLLGATE_SHUTDOWN_DRAIN")]
    pub shutdown_drain: Option<u64>,
    /// Seconds in-flight requests get after the listener closes; then their
    /// connections are dropped.
    #[arg(long, env = "TOLLGATE_SHUTDOWN_DEADLINE")]
    pub shutdown_deadline: Option<u64>,
    /// Client connections open at once; past it, new connections wait in
    /// the listen queue until one closes. At least 1.
    #[arg(long, env = "TOLLGATE_MAX_CLIENT_CONNECTIONS")]
    pub max_client_connections: Option<usize>,
    /// Largest attachment (Attachment API upload), in bytes.
    #[arg(long, env = "TOLLGATE_ATTACHMENT_MAX_BYTES")]
    pub attachment_max_bytes: Option<usize>,
    /// Most requests one Batch API call may carry; the rest are answered
    /// as unserviced.
    #[arg(long, env = "TOLLGATE_BATCH_MAX_REQUESTS")]
    pub batch_max_requests: Option<usize>,
    /// Most bytes `@@variable@@` substitution may add to one deployable's
    /// configuration; past it the remaining tokens stay as written.
    #[arg(long, env = "TOLLGATE_CDM_EXPANSION_MAX_BYTES")]
    pub cdm_expansion_max_bytes: Option<usize>,
    /// Seconds a console session lasts without a request. At least 60.
    #[arg(long, env = "TOLLGATE_CONSOLE_SESSION_IDLE")]
    pub console_session_idle: Option<u64>,
    /// Seconds a console session lasts at most, however busy. At least 60.
    #[arg(long, env = "TOLLGATE_CONSOLE_SESSION_MAX")]
    pub console_session_max: Option<u64>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<String>,
    database_url: Option<String>,
    admin_password: Option<String>,
    public_url: Option<String>,
    body_limit: Option<usize>,
    access_token_ttl: Option<u64>,
    workers: Option<usize>,
    job_lease: Option<u64>,
    max_connections: Option<u32>,
    request_timeout: Option<u64>,
    timeline_tick: Option<u64>,
    piece_fold: Option<u64>,
    secret_key: Option<String>,
    xml_max_depth: Option<usize>,
    public_metrics: Option<bool>,
    public_openapi: Option<bool>,
    trusted_proxies: Option<String>,
    max_page_size: Option<i64>,
    max_query_terms: Option<usize>,
    policy_time_limit_ms: Option<u64>,
    policy_memory_limit_mb: Option<u64>,
    policy_workers: Option<usize>,
    max_concurrent_password_hashes: Option<usize>,
    failed_logins_per_address: Option<u32>,
    answer_cache_bytes: Option<usize>,
    remote_allow: Option<Vec<String>>,
    remote_ca_file: Option<String>,
    tls_cert: Option<String>,
    tls_key: Option<String>,
    retrieve_max_updates: Option<usize>,
    retrieve_max_bytes: Option<u64>,
    retrieve_timeout: Option<u64>,
    form_body_limit: Option<usize>,
    retrieve_max_answer_bytes: Option<u64>,
    header_read_timeout: Option<u64>,
    shutdown_drain: Option<u64>,
    shutdown_deadline: Option<u64>,
    max_client_connections: Option<usize>,
    attachment_max_bytes: Option<usize>,
    batch_max_requests: Option<usize>,
    cdm_expansion_max_bytes: Option<usize>,
    console_session_idle: Option<u64>,
    console_session_max: Option<u64>,
}

/// PEM files of the server's own certificate chain and private key.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: String,
    pub key: String,
}

impl Settings {
    /// Whether the server speaks HTTPS itself (its links then say https).
    pub fn serves_tls(&self) -> bool {
        self.tls.is_some()
    }
}

/// The effective settings.
#[derive(Clone)]
pub struct Settings {
    pub listen: String,
    pub database_url: String,
    pub admin_password: Option<String>,
    pub public_url: Option<String>,
    pub body_limit: usize,
    pub access_token_ttl: u64,
    pub workers: usize,
    pub job_lease: u64,
    pub max_connections: u32,
    pub request_timeout: u64,
    pub timeline_tick: u64,
    /// Seconds between folds of the search counts' deltas (PostgreSQL).
    pub piece_fold: u64,
    pub secret_key: Option<String>,
    pub xml_max_depth: usize,
    pub public_metrics: bool,
    pub public_openapi: bool,
    pub trusted_proxies: crate::http::proxy::TrustedProxies,
    pub max_page_size: i64,
    pub max_query_terms: usize,
    pub policy_time_limit_ms: u64,
    pub policy_memory_limit_mb: u64,
    pub policy_workers: usize,
    pub max_concurrent_password_hashes: usize,
    pub failed_logins_per_address: u32,
    pub answer_cache_bytes: usize,
    pub remote_allow: Vec<String>,
    pub remote_ca_file: Option<String>,
    /// The certificate chain and key files when the server speaks HTTPS.
    pub tls: Option<TlsFiles>,
    pub retrieve_max_updates: usize,
    pub retrieve_max_bytes: u64,
    pub retrieve_timeout: u64,
    pub form_body_limit: usize,
    pub retrieve_max_answer_bytes: u64,
    /// Read in whole seconds; a `Duration` so that tests can use less.
    pub header_read_timeout: Duration,
    pub shutdown_drain: Duration,
    pub shutdown_deadline: Duration,
    pub max_client_connections: usize,
    pub attachment_max_bytes: usize,
    pub batch_max_requests: usize,
    /// Bytes variable substitution may add to one deployable's configuration.
    pub cdm_expansion_max_bytes: usize,
    /// Seconds a console session lasts without a request.
    pub console_session_idle: u64,
    /// Seconds a console session lasts at most.
    pub console_session_max: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite://tollgate.db".into(),
            admin_password: None,
            public_url: None,
            body_limit: 6 * 1024 * 1024,
            access_token_ttl: 1800,
            workers: 2,
            job_lease: 60,
            max_connections: 8,
            request_timeout: 30,
            timeline_tick: 60,
            piece_fold: 1,
            secret_key: None,
            xml_max_depth: 32,
            public_metrics: false,
            public_openapi: false,
            trusted_proxies: Default::default(),
            max_page_size: 10_000,
            max_query_terms: 500,
            policy_time_limit_ms: 1000,
            policy_memory_limit_mb: 256,
            policy_workers: 2,
            max_concurrent_password_hashes: 4,
            failed_logins_per_address: 30,
            answer_cache_bytes: 64 * 1024 * 1024,
            remote_allow: Vec::new(),
            remote_ca_file: None,
            tls: None,
            retrieve_max_updates: 100_000,
            retrieve_max_bytes: 256 * 1024 * 1024,
            retrieve_timeout: 600,
            form_body_limit: 16 * 1024,
            retrieve_max_answer_bytes: 16 * 1024 * 1024,
            header_read_timeout: Duration::from_secs(10),
            shutdown_drain: Duration::from_secs(5),
            shutdown_deadline: Duration::from_secs(30),
            max_client_connections: 1000,
            attachment_max_bytes: 10 * 1024 * 1024,
            batch_max_requests: 1000,
            cdm_expansion_max_bytes: crate::domain::cdm::snapshots::DEFAULT_EXPANSION_MAX_BYTES,
            console_session_idle: 30 * 60,
            console_session_max: 12 * 3600,
        }
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("database_url", &redact_url(&self.database_url))
            .field(
                "admin_password",
                &self.admin_password.as_ref().map(|_| "<hidden>"),
            )
            .field("public_url", &self.public_url)
            .field("body_limit", &self.body_limit)
            .field("access_token_ttl", &self.access_token_ttl)
            .field("workers", &self.workers)
            .field("job_lease", &self.job_lease)
            .field("remote_allow", &self.remote_allow)
            .finish_non_exhaustive()
    }
}

/// Hides a password in a database URL (for logs and error messages).
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:<hidden>{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl Settings {
    pub fn load(args: &SettingsArgs) -> anyhow::Result<Settings> {
        let file = match &args.config {
            Some(path) => read_file(Path::new(path))?,
            None => FileSettings::default(),
        };
        warn_about_misspelled_env();
        let d = Settings::default();
        let retrieve_max_bytes = args
            .retrieve_max_bytes
            .or(file.retrieve_max_bytes)
            .unwrap_or(d.retrieve_max_bytes)
            .max(1);
        Ok(Settings {
            listen: args.listen.clone().or(file.listen).unwrap_or(d.listen),
            database_url: args
                .database_url
                .clone()
                .or(file.database_url)
                .unwrap_or(d.database_url),
            admin_password: args.admin_password.clone().or(file.admin_password),
            public_url: args.public_url.clone().or(file.public_url),
            body_limit: args.body_limit.or(file.body_limit).unwrap_or(d.body_limit),
            access_token_ttl: args
                .access_token_ttl
                .or(file.access_token_ttl)
                .unwrap_or(d.access_token_ttl),
            workers: args.workers.or(file.workers).unwrap_or(d.workers),
            job_lease: args
                .job_lease
                .or(file.job_lease)
                .unwrap_or(d.job_lease)
                .max(1),
            max_connections: args
                .max_connections
                .or(file.max_connections)
                .unwrap_or(d.max_connections),
            request_timeout: args
                .request_timeout
                .or(file.request_timeout)
                .unwrap_or(d.request_timeout),
            timeline_tick: args
                .timeline_tick
                .or(file.timeline_tick)
                .unwrap_or(d.timeline_tick),
            piece_fold: args.piece_fold.or(file.piece_fold).unwrap_or(d.piece_fold),
            secret_key: args.secret_key.clone().or(file.secret_key),
            xml_max_depth: args
                .xml_max_depth
                .or(file.xml_max_depth)
                .unwrap_or(d.xml_max_depth)
                .max(1),
            public_metrics: args
                .public_metrics
                .or(file.public_metrics)
                .unwrap_or(d.public_metrics),
            public_openapi: args
                .public_openapi
                .or(file.public_openapi)
                .unwrap_or(d.public_openapi),
            trusted_proxies: match args.trusted_proxies.clone().or(file.trusted_proxies) {
                Some(list) => list
                    .parse()
                    .map_err(|e| anyhow::anyhow!("trusted_proxies: {e}"))?,
                None => d.trusted_proxies,
            },
            max_page_size: args
                .max_page_size
                .or(file.max_page_size)
                .unwrap_or(d.max_page_size)
                .max(1),
            max_query_terms: args
                .max_query_terms
                .or(file.max_query_terms)
                .unwrap_or(d.max_query_terms)
                .max(1),
            policy_time_limit_ms: args
                .policy_time_limit_ms
                .or(file.policy_time_limit_ms)
                .unwrap_or(d.policy_time_limit_ms)
                .max(1),
            policy_memory_limit_mb: args
                .policy_memory_limit_mb
                .or(file.policy_memory_limit_mb)
                .unwrap_or(d.policy_memory_limit_mb)
                .max(16),
            policy_workers: args
                .policy_workers
                .or(file.policy_workers)
                .unwrap_or(d.policy_workers)
                .max(1),
            max_concurrent_password_hashes: args
                .max_concurrent_password_hashes
                .or(file.max_concurrent_password_hashes)
                .unwrap_or(d.max_concurrent_password_hashes)
                .max(1),
            failed_logins_per_address: args
                .failed_logins_per_address
                .or(file.failed_logins_per_address)
                .unwrap_or(d.failed_logins_per_address)
                .max(1),
            answer_cache_bytes: args
                .answer_cache_bytes
                .or(file.answer_cache_bytes)
                .unwrap_or(d.answer_cache_bytes),
            remote_allow: args
                .remote_allow
                .clone()
                .or(file.remote_allow)
                .unwrap_or(d.remote_allow)
                .into_iter()
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty())
                .collect(),
            remote_ca_file: args.remote_ca_file.clone().or(file.remote_ca_file),
            tls: match (
                args.tls_cert.clone().or(file.tls_cert),
                args.tls_key.clone().or(file.tls_key),
            ) {
                (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
                (None, None) => None,
                _ => anyhow::bail!("tls_cert and tls_key go together: give both or neither"),
            },
            retrieve_max_updates: args
                .retrieve_max_updates
                .or(file.retrieve_max_updates)
                .unwrap_or(d.retrieve_max_updates)
                .max(1),
            retrieve_max_bytes,
            retrieve_timeout: args
                .retrieve_timeout
                .or(file.retrieve_timeout)
                .unwrap_or(d.retrieve_timeout)
                .max(1),
            form_body_limit: args
                .form_body_limit
                .or(file.form_body_limit)
                .unwrap_or(d.form_body_limit)
                .max(1024),
            retrieve_max_answer_bytes: args
                .retrieve_max_answer_bytes
                .or(file.retrieve_max_answer_bytes)
                .unwrap_or(d.retrieve_max_answer_bytes)
                .clamp(1, retrieve_max_bytes),
            header_read_timeout: args
                .header_read_timeout
                .or(file.header_read_timeout)
                .map_or(d.header_read_timeout, |s| Duration::from_secs(s.max(1))),
            // 0 is allowed: no drain (nothing routes by /readyz), or no
            // grace for in-flight requests.
            shutdown_drain: args
                .shutdown_drain
                .or(file.shutdown_drain)
                .map_or(d.shutdown_drain, Duration::from_secs),
            shutdown_deadline: args
                .shutdown_deadline
                .or(file.shutdown_deadline)
                .map_or(d.shutdown_deadline, Duration::from_secs),
            max_client_connections: args
                .max_client_connections
                .or(file.max_client_connections)
                .unwrap_or(d.max_client_connections)
                .max(1),
            attachment_max_bytes: args
                .attachment_max_bytes
                .or(file.attachment_max_bytes)
                .unwrap_or(d.attachment_max_bytes)
                .max(1),
            batch_max_requests: args
                .batch_max_requests
                .or(file.batch_max_requests)
                .unwrap_or(d.batch_max_requests)
                .max(1),
            cdm_expansion_max_bytes: args
                .cdm_expansion_max_bytes
                .or(file.cdm_expansion_max_bytes)
                .unwrap_or(d.cdm_expansion_max_bytes),
            console_session_idle: args
                .console_session_idle
                .or(file.console_session_idle)
                .unwrap_or(d.console_session_idle)
                .max(60),
            console_session_max: args
                .console_session_max
                .or(file.console_session_max)
                .unwrap_or(d.console_session_max)
                .max(60),
        })
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileSettings> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read config file {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))
}

const KNOWN_ENV: &[&str] = &[
    "TOLLGATE_FORM_BODY_LIMIT",
    "TOLLGATE_CONFIG",
    "TOLLGATE_LISTEN",
    "TOLLGATE_DATABASE_URL",
    "TOLLGATE_ADMIN_PASSWORD",
    "TOLLGATE_PUBLIC_URL",
    "TOLLGATE_BODY_LIMIT",
    "TOLLGATE_ACCESS_TOKEN_TTL",
    "TOLLGATE_WORKERS",
    "TOLLGATE_JOB_LEASE",
    "TOLLGATE_MAX_CONNECTIONS",
    "TOLLGATE_REQUEST_TIMEOUT",
    "TOLLGATE_SECRET_KEY",
    "TOLLGATE_TIMELINE_TICK",
    "TOLLGATE_PIECE_FOLD",
    "TOLLGATE_XML_MAX_DEPTH",
    "TOLLGATE_PUBLIC_METRICS",
    "TOLLGATE_PUBLIC_OPENAPI",
    "TOLLGATE_TRUSTED_PROXIES",
    "TOLLGATE_MAX_PAGE_SIZE",
    "TOLLGATE_MAX_QUERY_TERMS",
    "TOLLGATE_POLICY_TIME_LIMIT_MS",
    "TOLLGATE_POLICY_MEMORY_LIMIT_MB",
    "TOLLGATE_POLICY_WORKERS",
    "TOLLGATE_LOG",
    "TOLLGATE_LOG_FORMAT",
    "TOLLGATE_TEST_DATABASE_URL",
    "TOLLGATE_MAX_CONCURRENT_PASSWORD_HASHES",
    "TOLLGATE_FAILED_LOGINS_PER_ADDRESS",
    "TOLLGATE_ANSWER_CACHE_BYTES",
    "TOLLGATE_REMOTE_ALLOW",
    "TOLLGATE_REMOTE_CA_FILE",
    "TOLLGATE_RETRIEVE_MAX_UPDATES",
    "TOLLGATE_RETRIEVE_MAX_BYTES",
    "TOLLGATE_RETRIEVE_TIMEOUT",
    "TOLLGATE_RETRIEVE_MAX_ANSWER_BYTES",
    "TOLLGATE_HEADER_READ_TIMEOUT",
    "TOLLGATE_SHUTDOWN_DRAIN",
    "TOLLGATE_SHUTDOWN_DEADLINE",
    "TOLLGATE_MAX_CLIENT_CONNECTIONS",
    "TOLLGATE_TLS_CERT",
    "TOLLGATE_TLS_KEY",
    "TOLLGATE_ATTACHMENT_MAX_BYTES",
    "TOLLGATE_BATCH_MAX_REQUESTS",
    "TOLLGATE_CDM_EXPANSION_MAX_BYTES",
    "TOLLGATE_CONSOLE_SESSION_IDLE",
    "TOLLGATE_CONSOLE_SESSION_MAX",
];

fn warn_about_misspelled_env() {
    for (key, _) in std::env::vars() {
        if key.starts_with("TOLLGATE_") && !KNOWN_ENV.contains(&key.as_str()) {
            eprintln!("warning: unknown environment variable {key} is ignored");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_file_and_file_over_defaults() {
        let dir = std::env::temp_dir().join(format!("tollgate-cfg-{}", crate::ids::new_sys_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.toml");
        std::fs::write(&path, "listen = \"0.0.0.0:9\"\nworkers = 5\n").unwrap();
        let args = SettingsArgs {
            config: Some(path.display().to_string()),
            listen: Some("127.0.0.1:1".into()),
            ..Default::default()
        };
        let s = Settings::load(&args).unwrap();
        assert_eq!(s.listen, "127.0.0.1:1");
        assert_eq!(s.workers, 5);
        assert_eq!(s.body_limit, Settings::default().body_limit);
        std::fs::write(&path, "listn = \"x\"\n").unwrap();
        assert!(
            Settings::load(&args).is_err(),
            "misspelled keys are refused"
        );
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn retrieve_max_answer_bytes_is_capped_by_retrieve_max_bytes() {
        let dir = std::env::temp_dir().join(format!("tollgate-cfg-{}", crate::ids::new_sys_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.toml");
        std::fs::write(
            &path,
            "retrieve_max_bytes = 1000\nretrieve_max_answer_bytes = 5000\n",
        )
        .unwrap();
        let args = SettingsArgs {
            config: Some(path.display().to_string()),
            ..Default::default()
        };
        let s = Settings::load(&args).unwrap();
        assert_eq!(s.retrieve_max_answer_bytes, 1000);
        let d = Settings::load(&SettingsArgs::default()).unwrap();
        assert_eq!(d.retrieve_max_answer_bytes, 16 * 1024 * 1024);
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn connection_timeouts_are_read_in_seconds_with_documented_defaults() {
        let d = Settings::load(&SettingsArgs::default()).unwrap();
        assert_eq!(d.header_read_timeout, Duration::from_secs(10));
        assert_eq!(d.shutdown_drain, Duration::from_secs(5));
        assert_eq!(d.shutdown_deadline, Duration::from_secs(30));
        assert_eq!(d.max_client_connections, 1000);
        let dir = std::env::temp_dir().join(format!("tollgate-cfg-{}", crate::ids::new_sys_id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.toml");
        std::fs::write(
            &path,
            "header_read_timeout = 0\nshutdown_drain = 0\nshutdown_deadline = 7\n",
        )
        .unwrap();
        let args = SettingsArgs {
            config: Some(path.display().to_string()),
            shutdown_deadline: Some(3),
            ..Default::default()
        };
        let s = Settings::load(&args).unwrap();
        // No header-read timeout at all is not offered: 0 reads as 1 s.
        assert_eq!(s.header_read_timeout, Duration::from_secs(1));
        assert_eq!(s.shutdown_drain, Duration::ZERO);
        assert_eq!(s.shutdown_deadline, Duration::from_secs(3));
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn debug_hides_secrets() {
        let s = Settings {
            database_url: "postgres://u:pw@h/db".into(),
            admin_password: Some("pw".into()),
            ..Settings::default()
        };
        let text = format!("{s:?}");
        assert!(!text.contains("pw@") && !text.contains("\"pw\""), "{text}");
    }
}
