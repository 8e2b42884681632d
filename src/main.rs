//! The `tollgate` command.

use std::io::Read;

use clap::{Parser, Subcommand};
use tollgate::app::{self, AppState};
use tollgate::config::{Settings, SettingsArgs};
use tollgate::identity::{api_keys, users};
use tollgate::storage::{migrations, ConnectOptions};

#[derive(Parser)]
#[command(
    name = "tollgate",
    version,
    about = "Release and change control server"
)]
struct Cli {
    #[command(flatten)]
    settings: SettingsArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (migrates the database first).
    Serve {
        /// Load the demo data set before serving.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API keys (ServiceDesk-style `authtoken`, or `Bearer`).
    Apikey {
        #[command(subcommand)]
        command: ApikeyCommand,
    },
    /// Load the demo data set into the configured database.
    Demo,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user (or update its password and add roles); the password
    /// is read from standard input.
    Add {
        name: String,
        /// Comma-separated role names, such as admin,sn_dpr_model.release_admin.
        #[arg(long, value_delimiter = ',')]
        roles: Vec<String>,
    },
}

#[derive(Subcommand)]
enum ApikeyCommand {
    /// Create an API key for USER; the key is the last line printed.
    Create {
        user: String,
        #[arg(long, default_value = "cli")]
        name: String,
        /// The key stops working this many days from now.
        #[arg(long, conflicts_with = "expires")]
        expires_in_days: Option<i64>,
        /// The key stops working at 00:00 UTC on this date (YYYY-MM-DD).
        #[arg(long)]
        expires: Option<String>,
    },
    /// List API keys (id, user, name, created, expiry); never the keys.
    List {
        /// Only this user's keys.
        user: Option<String>,
    },
    /// Revoke the API key with ID (from `apikey list`): it stops working at
    /// once (running servers notice within seconds).
    Revoke { id: String },
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TOLLGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("TOLLGATE_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn main() {
    // A policy evaluator (see `policy::sandbox`) starts without the server's
    // runtime, settings or logging: it only reads requests from its parent.
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(tollgate::policy::sandbox::WORKER_COMMAND) {
        std::process::exit(tollgate::policy::sandbox::worker_main(&args[2..]));
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the runtime: {err}");
            std::process::exit(1);
        }
    };
    runtime.block_on(async_main());
    // A job abandoned at shutdown may still run on a blocking thread (see
    // `jobs::worker`); its effects can no longer land, so do not wait for it.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
}

async fn async_main() {
    let cli = Cli::parse();
    init_logging();
    if let Err(err) = run(cli).await {
        // One line for the operator; no backtrace.
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load(&cli.settings)?;
    let evaluator = std::env::current_exe()
        .map_err(|e| anyhow::anyhow!("cannot find this program to run policy evaluators: {e}"))?;
    tollgate::policy::sandbox::install(tollgate::policy::sandbox::SandboxConfig::new(
        evaluator, &settings,
    ));
    if let Some(key) = &settings.secret_key {
        tollgate::secrets::configure(key).map_err(|e| anyhow::anyhow!(e.message))?;
    }
    let options = ConnectOptions {
        max_connections: settings.max_connections,
        ..Default::default()
    };
    match cli.command {
        Command::Serve { demo } => {
            let db = app::open_database(&settings, &options).await?;
            if let Some(password) = app::bootstrap_admin(&db, &settings).await? {
                println!("Created user admin with password: {password}");
                println!("(shown once; set TOLLGATE_ADMIN_PASSWORD to choose it)");
            }
            if demo {
                let added = tollgate::demo::load_with(&db, &self_url(&settings))
                    .await
                    .map_err(|e| anyhow::anyhow!(e.message))?;
                tracing::info!(added, "demo data loaded");
            }
            for (place, n) in tollgate::secrets::retired_values(&db)
                .await
                .map_err(|e| anyhow::anyhow!(e.message))?
            {
                tracing::warn!(
                    place = %place,
                    values = n,
                    "stored secrets in the retired enc:v1 format are no longer decrypted; enter them again"
                );
            }
            let listener = tokio::net::TcpListener::bind(&settings.listen).await?;
            let handlers = app::job_handlers(&settings);
            let state = AppState::new(db, settings, handlers);
            app::serve(state, listener, app::shutdown_signal()).await?;
        }
        Command::Migrate => {
            let db = tollgate::storage::Db::connect(&settings.database_url, &options).await?;
            let applied = migrations::run(&db).await?;
            users::seed_roles(&db).await?;
            println!(
                "applied {applied} migration(s); schema version {}",
                migrations::latest_version()
            );
        }
        Command::User {
            command: UserCommand::Add { name, roles },
        } => {
            let db = app::open_database(&settings, &options).await?;
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']);
            if password.is_empty() {
                anyhow::bail!("no password on standard input");
            }
            let role_refs: Vec<&str> = roles.iter().map(String::as_str).collect();
            let user = users::NewUser {
                sys_id: None,
                user_name: &name,
                first_name: &name,
                last_name: "",
                email: "",
                password: Some(password),
                roles: &role_refs,
            };
            let id = users::upsert_user(&db, &user, "cli")
                .await
                .map_err(|e| anyhow::anyhow!(e.message))?;
            println!(
                "user {name} ({id}) has roles: {}",
                users::role_names(&db, &id)
                    .await
                    .map_err(|e| anyhow::anyhow!(e.message))?
                    .join(", ")
            );
        }
        Command::Apikey { command } => {
            let db = app::open_database(&settings, &options).await?;
            let fail = |e: tollgate::error::Error| anyhow::anyhow!(e.message);
            match command {
                ApikeyCommand::Create {
                    user,
                    name,
                    expires_in_days,
                    expires,
                } => {
                    let expires_at = api_keys::expiry(
                        expires_in_days,
                        expires.as_deref(),
                        "--expires-in-days",
                        "--expires",
                    )
                    .map_err(fail)?;
                    let created = api_keys::create(&db, &user, &name, expires_at)
                        .await
                        .map_err(fail)?;
                    let until = created
                        .expires_on
                        .map(|e| format!(", expires {e} UTC"))
                        .unwrap_or_default();
                    println!(
                        "API key {} for {user}{until} (shown once, stored hashed):",
                        created.id
                    );
                    println!("{}", created.key);
                }
                ApikeyCommand::List { user } => {
                    let keys = api_keys::list(&db, user.as_deref()).await.map_err(fail)?;
                    println!("ID\tUSER\tNAME\tCREATED\tEXPIRES");
                    for k in keys {
                        let expires = match (&k.expires_on, k.expired) {
                            (Some(e), true) => format!("{e} (expired)"),
                            (Some(e), false) => e.clone(),
                            (None, _) => "never".to_owned(),
                        };
                        println!(
                            "{}\t{}\t{}\t{}\t{expires}",
                            k.id, k.user, k.name, k.created_on
                        );
                    }
                }
                ApikeyCommand::Revoke { id } => {
                    api_keys::revoke(&db, &id).await.map_err(fail)?;
                    println!("API key {id} revoked");
                }
            }
        }
        Command::Demo => {
            let db = app::open_database(&settings, &options).await?;
            if let Some(password) = app::bootstrap_admin(&db, &settings).await? {
                println!("Created user admin with password: {password}");
            }
            let added = tollgate::demo::load_with(&db, &self_url(&settings))
                .await
                .map_err(|e| anyhow::anyhow!(e.message))?;
            println!("demo data loaded ({added} record(s) added)");
        }
    }
    Ok(())
}

/// This instance's own address, where the demo remote instance points.
fn self_url(settings: &Settings) -> String {
    match &settings.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("http://{}", settings.listen.replace("0.0.0.0", "127.0.0.1")),
    }
}
