//! The `tollgate` command line: its subcommands and what each reads.
//!
//! Each subcommand takes only the settings it uses: `serve` all of them,
//! `demo` the database and what the demo data depends on, `policy eval` the
//! policy limits, the others the database alone (see [`crate::config`]). Only `serve`, `migrate` and
//! `demo` may create or migrate a database; the others refuse one that does
//! not exist yet or is not current (see [`app::open_existing_database`]).

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::app::{self, AppState};
use crate::config::{DatabaseArgs, DemoArgs, PolicyArgs, Settings, SettingsArgs};
use crate::identity::{api_keys, users};
use crate::storage::{migrations, ConnectOptions};

/// `println!` for the commands' output, except that a reader that went away
/// (`tollgate apikey create NAME | head -n 1`) ends the command with
/// [`StdoutClosed`] instead of a panic: Rust ignores SIGPIPE, so the write
/// fails with EPIPE, which `println!` turns into "failed printing to stdout".
macro_rules! say {
    ($($arg:tt)*) => {
        say_line(format_args!($($arg)*))?
    };
}

#[derive(Parser, Debug)]
#[command(
    name = "tollgate",
    version,
    about = "Release and change control server"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server (creates the database when missing and migrates it first).
    Serve {
        /// Load the demo data set before serving.
        #[arg(long)]
        demo: bool,
        #[command(flatten)]
        settings: Box<SettingsArgs>,
    },
    /// Create the database when missing, apply pending migrations and exit.
    Migrate {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Manage users (in an existing, migrated database).
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API keys (ServiceDesk-style `authtoken`, or `Bearer`) in an
    /// existing, migrated database.
    Apikey {
        #[command(subcommand)]
        command: ApikeyCommand,
    },
    /// Load the demo data set, creating and migrating the database first
    /// when needed (as `serve --demo` does).
    Demo {
        #[command(flatten)]
        settings: DemoArgs,
    },
    /// Try Rego policies without a server or a database.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// Evaluate POLICY (a .rego file) against INPUT (a JSON file, the
    /// policy's `input`) as the server does, in an evaluator process under
    /// the same limits, and print the verdict as JSON. Exit status: 0
    /// compliant, 1 non-compliant (or the evaluation failed), 2 not
    /// evaluated (a file unreadable, INPUT not JSON, or POLICY refused as it
    /// would be on save).
    Eval {
        policy: PathBuf,
        input: PathBuf,
        #[command(flatten)]
        limits: PolicyArgs,
    },
}

/// `policy eval`'s exit status when the policy is not compliant.
pub const EXIT_NON_COMPLIANT: i32 = 1;
/// `policy eval`'s exit status when nothing was evaluated.
pub const EXIT_NOT_EVALUATED: i32 = 2;
/// The exit status of a command whose standard output was closed before it
/// had written everything: the one a shell shows for a process ended by
/// SIGPIPE, which is what such a command would get without Rust's default.
pub const EXIT_STDOUT_CLOSED: i32 = 141;

/// Standard output was closed by its reader: nothing more can be said, and
/// nothing is wrong that an error message could help with (the reader, such
/// as `head -n 1`, took what it wanted).
#[derive(Debug)]
pub struct StdoutClosed;

impl std::fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("standard output was closed")
    }
}

impl std::error::Error for StdoutClosed {}

/// Writes one line to standard output and flushes it; a closed output is
/// [`StdoutClosed`], any other failure an error that says so.
pub fn say_line(line: std::fmt::Arguments<'_>) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{line}").and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(StdoutClosed.into()),
        Err(e) => Err(anyhow::anyhow!("cannot write to standard output: {e}")),
    }
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user (or update its password and add roles); the password
    /// is read from standard input.
    Add {
        name: String,
        /// Comma-separated role names, such as admin,sn_dpr_model.release_admin.
        #[arg(long, value_delimiter = ',')]
        roles: Vec<String>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum ApikeyCommand {
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
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// List API keys (id, user, name, created, expiry); never the keys.
    List {
        /// Only this user's keys.
        user: Option<String>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Revoke the API key with ID (from `apikey list`): it stops working at
    /// once (running servers notice within seconds).
    Revoke {
        id: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

impl Command {
    /// The settings flags and environment this command read.
    fn settings_args(&self) -> SettingsArgs {
        match self {
            Command::Serve { settings, .. } => (**settings).clone(),
            Command::Migrate { database }
            | Command::User {
                command: UserCommand::Add { database, .. },
            }
            | Command::Apikey {
                command:
                    ApikeyCommand::Create { database, .. }
                    | ApikeyCommand::List { database, .. }
                    | ApikeyCommand::Revoke { database, .. },
            } => database.settings_args(),
            Command::Demo { settings } => settings.settings_args(),
            Command::Policy {
                command: PolicyCommand::Eval { limits, .. },
            } => limits.settings_args(),
        }
    }
}

/// Runs one command to its end; `Ok` carries the exit status (only `policy
/// eval` answers other than 0 without an error).
pub async fn run(cli: Cli) -> anyhow::Result<i32> {
    let settings = Settings::load(&cli.command.settings_args())?;
    let evaluator = std::env::current_exe()
        .map_err(|e| anyhow::anyhow!("cannot find this program to run policy evaluators: {e}"))?;
    crate::policy::sandbox::install(crate::policy::sandbox::SandboxConfig::new(
        evaluator, &settings,
    ));
    if let Some(key) = &settings.secret_key {
        crate::secrets::configure(key).map_err(|e| anyhow::anyhow!(e.message))?;
    }
    let options = ConnectOptions {
        max_connections: settings.max_connections,
        ..Default::default()
    };
    let fail = |e: crate::error::Error| anyhow::anyhow!(e.message);
    match cli.command {
        Command::Serve { demo, .. } => {
            let db = app::open_database(&settings, &options).await?;
            if let Some(password) = app::bootstrap_admin(&db, &settings).await? {
                say!("Created user admin with password: {password}");
                say!("(shown once; set TOLLGATE_ADMIN_PASSWORD to choose it)");
            }
            if demo {
                let added = crate::demo::load_with(&db, &self_url(&settings))
                    .await
                    .map_err(fail)?;
                tracing::info!(added, "demo data loaded");
            }
            for (place, n) in crate::secrets::retired_values(&db).await.map_err(fail)? {
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
        Command::Migrate { .. } => {
            let db = crate::storage::Db::connect(&settings.database_url, &options).await?;
            let applied = migrations::run(&db).await?;
            users::seed_roles(&db).await?;
            say!(
                "applied {applied} migration(s) to {}; schema version {}",
                crate::config::redact_url(&settings.database_url),
                migrations::latest_version()
            );
        }
        Command::User {
            command: UserCommand::Add { name, roles, .. },
        } => {
            let db = app::open_existing_database(&settings, &options).await?;
            // Roles are data, not schema: a newer binary may know roles the
            // database lacks although its schema is current.
            users::seed_roles(&db).await?;
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
            let id = users::upsert_user(&db, &user, "cli").await.map_err(fail)?;
            say!(
                "user {name} ({id}) has roles: {}",
                users::role_names(&db, &id).await.map_err(fail)?.join(", ")
            );
        }
        Command::Apikey { command } => {
            let db = app::open_existing_database(&settings, &options).await?;
            match command {
                ApikeyCommand::Create {
                    user,
                    name,
                    expires_in_days,
                    expires,
                    ..
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
                    say!(
                        "API key {} for {user}{until} (shown once, stored hashed):",
                        created.id
                    );
                    say!("{}", created.key);
                }
                ApikeyCommand::List { user, .. } => {
                    let keys = api_keys::list(&db, user.as_deref()).await.map_err(fail)?;
                    say!("ID\tUSER\tNAME\tCREATED\tEXPIRES");
                    for k in keys {
                        let expires = match (&k.expires_on, k.expired) {
                            (Some(e), true) => format!("{e} (expired)"),
                            (Some(e), false) => e.clone(),
                            (None, _) => "never".to_owned(),
                        };
                        say!(
                            "{}\t{}\t{}\t{}\t{expires}",
                            k.id,
                            k.user,
                            k.name,
                            k.created_on
                        );
                    }
                }
                ApikeyCommand::Revoke { id, .. } => {
                    api_keys::revoke(&db, &id).await.map_err(fail)?;
                    say!("API key {id} revoked");
                }
            }
        }
        Command::Demo { .. } => {
            // Loading the demo is a way to set a database up (the quick
            // start and the benchmarks run it in an empty folder), so it
            // creates and migrates one as `serve` does, and says which.
            let db = app::open_database(&settings, &options).await?;
            if let Some(password) = app::bootstrap_admin(&db, &settings).await? {
                say!("Created user admin with password: {password}");
            }
            let added = crate::demo::load_with(&db, &self_url(&settings))
                .await
                .map_err(fail)?;
            say!(
                "demo data loaded into {} ({added} record(s) added)",
                crate::config::redact_url(&settings.database_url)
            );
        }
        Command::Policy {
            command: PolicyCommand::Eval { policy, input, .. },
        } => return Ok(policy_eval(&policy, &input).await),
    }
    Ok(0)
}

/// `tollgate policy eval POLICY INPUT`: the save check, then one evaluation,
/// both through the sandbox the server uses (installed above with the
/// settings' limits), as `POST /api/tollgate/policy/eval` does.
async fn policy_eval(policy: &Path, input: &Path) -> i32 {
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    let prepared = read(policy).and_then(|source| {
        let text = read(input)?;
        let input: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not JSON: {e}", input.display()))?;
        Ok((source, input))
    });
    let (source, input_doc) = match prepared {
        Ok(prepared) => prepared,
        Err(message) => {
            eprintln!("error: {message}");
            return EXIT_NOT_EVALUATED;
        }
    };
    let verdict = match crate::domain::policy_trial::try_policy(&source, &input_doc).await {
        Ok(verdict) => verdict,
        Err(error) if error.kind == crate::error::ErrorKind::Invalid => {
            eprintln!(
                "error: {} would be refused on save:\n{}",
                policy.display(),
                error.detail.unwrap_or(error.message)
            );
            return EXIT_NOT_EVALUATED;
        }
        Err(error) => {
            let path = if error.field.as_deref() == Some("input") {
                input
            } else {
                policy
            };
            eprintln!("error: {}: {}", path.display(), error.message);
            return EXIT_NOT_EVALUATED;
        }
    };
    match serde_json::to_string_pretty(&verdict) {
        Ok(text) => match say_line(format_args!("{text}")) {
            Ok(()) => {}
            Err(e) if e.is::<StdoutClosed>() => return EXIT_STDOUT_CLOSED,
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_NOT_EVALUATED;
            }
        },
        Err(e) => {
            eprintln!("error: the verdict cannot be shown: {e}");
            return EXIT_NOT_EVALUATED;
        }
    }
    if verdict.compliant {
        0
    } else {
        EXIT_NON_COMPLIANT
    }
}

/// This instance's own address, where the demo remote instance points.
fn self_url(settings: &Settings) -> String {
    match &settings.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("http://{}", settings.listen.replace("0.0.0.0", "127.0.0.1")),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// The long flags a (sub)command's help lists, found by its path.
    fn long_flags(path: &[&str]) -> Vec<String> {
        let mut command = Cli::command();
        command.build();
        let mut current = &command;
        for name in path {
            current = current
                .find_subcommand(name)
                .unwrap_or_else(|| panic!("no subcommand {name}"));
        }
        current
            .get_arguments()
            .filter_map(|a| a.get_long().map(str::to_owned))
            .collect()
    }

    fn help(path: &[&str]) -> String {
        let mut command = Cli::command();
        command.build();
        let mut current = &mut command;
        for name in path {
            current = current
                .find_subcommand_mut(name)
                .unwrap_or_else(|| panic!("no subcommand {name}"));
        }
        current.render_long_help().to_string()
    }

    #[test]
    fn database_commands_list_only_the_database_settings() {
        for path in [
            &["apikey", "create"][..],
            &["apikey", "list"],
            &["apikey", "revoke"],
            &["user", "add"],
            &["migrate"],
        ] {
            let flags = long_flags(path);
            assert!(
                flags.contains(&"database".to_owned()),
                "{path:?}: {flags:?}"
            );
            assert!(flags.contains(&"config".to_owned()), "{path:?}: {flags:?}");
            for server_only in ["listen", "workers", "body-limit", "admin-password"] {
                assert!(
                    !flags.contains(&server_only.to_owned()),
                    "{path:?} lists --{server_only}: {flags:?}"
                );
            }
        }
        let text = help(&["apikey", "create"]);
        assert!(text.contains("--database"), "{text}");
        assert!(
            !text.contains("--listen") && !text.contains("--workers"),
            "{text}"
        );
    }

    #[test]
    fn serve_lists_the_server_settings() {
        let flags = long_flags(&["serve"]);
        for flag in [
            "listen",
            "workers",
            "database",
            "config",
            "demo",
            "secret-key",
        ] {
            assert!(flags.contains(&flag.to_owned()), "serve lacks --{flag}");
        }
        let text = help(&["serve"]);
        assert!(
            text.contains("--listen") && text.contains("--workers"),
            "{text}"
        );
        assert!(text.contains("TOLLGATE_LISTEN"), "{text}");
    }

    #[test]
    fn demo_lists_what_the_demo_data_reads_and_no_server_limits() {
        let flags = long_flags(&["demo"]);
        for flag in ["database", "admin-password", "secret-key", "public-url"] {
            assert!(flags.contains(&flag.to_owned()), "demo lacks --{flag}");
        }
        for server_only in ["workers", "body-limit", "request-timeout"] {
            assert!(!flags.contains(&server_only.to_owned()), "{flags:?}");
        }
    }

    #[test]
    fn policy_eval_lists_the_policy_limits_and_no_database() {
        let flags = long_flags(&["policy", "eval"]);
        for flag in ["policy-time-limit-ms", "policy-memory-limit-mb", "config"] {
            assert!(
                flags.contains(&flag.to_owned()),
                "policy eval lacks --{flag}"
            );
        }
        for other in ["database", "listen", "workers"] {
            assert!(!flags.contains(&other.to_owned()), "{flags:?}");
        }
    }

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
