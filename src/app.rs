//! The application: its shared state, start-up and graceful shutdown.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::config::Settings;
use crate::identity::{users, Identity, EPOCH_POLL};
use crate::jobs::{spawn_workers, JobQueue, JobRegistry};
use crate::metrics::Metrics;
use crate::storage::{migrations, ConnectOptions, Db};

/// How long finished jobs (and so their progress ids) are kept.
const JOB_RETENTION_DAYS: i64 = 7;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub identity: Arc<Identity>,
    pub jobs: JobQueue,
    pub settings: Arc<Settings>,
    pub metrics: Arc<Metrics>,
    pub answers: Arc<crate::answer_cache::AnswerCache>,
    /// Set when shutdown begins: `/readyz` then answers 503 so that load
    /// balancers stop sending before the listener closes.
    pub draining: Arc<AtomicBool>,
}

/// The job kinds this build runs (the family issues add theirs), set up
/// from the server's settings.
pub fn job_handlers(settings: &Settings) -> JobRegistry {
    use crate::domain::{cdm, dpr, update_sets};
    JobRegistry::new()
        .register::<dpr::jobs::CreateIncludedVersions>()
        .register::<dpr::policy_run::RunPolicies>()
        .register::<dpr::lifecycle::AdvanceTimeline>()
        .register_with::<update_sets::jobs::Retrieve>(
            update_sets::remote::RemotePolicy::from_settings(settings),
        )
        .register::<update_sets::jobs::Preview>()
        .register::<update_sets::jobs::Commit>()
        .register::<update_sets::jobs::CommitMultiple>()
        .register::<update_sets::jobs::BackOut>()
        .register::<cdm::jobs::Commit>()
        .register::<cdm::jobs::Upload>()
        .register::<cdm::jobs::Export>()
}

impl AppState {
    /// Builds the state over an open, migrated database.
    pub fn new(db: Db, settings: Settings, jobs: JobRegistry) -> AppState {
        crate::identity::password::configure(settings.max_concurrent_password_hashes);
        crate::domain::cdm::snapshots::configure_expansion(settings.cdm_expansion_max_bytes);
        let identity = Arc::new(Identity::new(
            db.clone(),
            Duration::from_secs(settings.access_token_ttl),
            settings.failed_logins_per_address,
        ));
        let jobs = JobQueue::new(db.clone(), Duration::from_secs(settings.job_lease), jobs);
        let answers = Arc::new(crate::answer_cache::AnswerCache::new(
            settings.answer_cache_bytes,
        ));
        AppState {
            db,
            identity,
            jobs,
            settings: Arc::new(settings),
            metrics: Arc::new(Metrics::default()),
            answers,
            draining: Arc::new(AtomicBool::new(false)),
        }
    }
}

/// Opens the configured database, creating it when missing (SQLite), and
/// applies pending migrations: for `serve`, `migrate` and `demo`, the
/// commands that set a database up.
pub async fn open_database(settings: &Settings, options: &ConnectOptions) -> anyhow::Result<Db> {
    let db = Db::connect(&settings.database_url, options).await?;
    migrations::run(&db).await?;
    users::seed_roles(&db).await?;
    Ok(db)
}

/// Opens the configured database for a command that works on an existing
/// one (`user`, `apikey`): it is neither created nor migrated here. A
/// missing SQLite file, a database without Tollgate's schema, or a schema
/// older than this binary is refused with a message naming the URL and how
/// to set it up, so that a command run in the wrong directory (or against
/// the wrong server) does not quietly act on a new, empty database.
///
/// A schema newer than this binary is accepted, as `serve` accepts it:
/// during a rolling upgrade the older binary still runs on it.
pub async fn open_existing_database(
    settings: &Settings,
    options: &ConnectOptions,
) -> anyhow::Result<Db> {
    let url = &settings.database_url;
    let shown = crate::config::redact_url(url);
    const HOW: &str = "create it with `tollgate migrate` (or start `tollgate serve`), \
                       or name the right one with --database or TOLLGATE_DATABASE_URL";
    if let Some(path) = crate::storage::sqlite_file_path(url) {
        let path = std::path::Path::new(path);
        if !path.exists() {
            let full = std::env::current_dir()
                .map(|dir| dir.join(path))
                .unwrap_or_else(|_| path.to_path_buf());
            anyhow::bail!(
                "no database at {shown} (the file {} does not exist); {HOW}",
                full.display()
            );
        }
    }
    let db = Db::connect(url, options)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the database at {shown}: {e}"))?;
    let installed = match migrations::installed_version(&db).await {
        Ok(version) => version,
        Err(err) => {
            db.close().await;
            return Err(err.into());
        }
    };
    let latest = migrations::latest_version();
    let refusal = match installed {
        None => Some(format!("the database at {shown} holds no Tollgate schema; {HOW}")),
        Some(version) if version < latest => Some(format!(
            "the database at {shown} has schema version {version} and this tollgate needs \
             {latest}; apply the migrations with `tollgate migrate` (or start `tollgate serve`) first"
        )),
        Some(_) => None,
    };
    if let Some(message) = refusal {
        db.close().await;
        anyhow::bail!(message);
    }
    Ok(db)
}

/// First start: creates the `admin` user as the configuration says; returns
/// a generated password to print once.
pub async fn bootstrap_admin(db: &Db, settings: &Settings) -> anyhow::Result<Option<String>> {
    Ok(users::ensure_admin(db, settings.admin_password.as_deref()).await?)
}

/// Serves on `listener` until `shutdown` resolves; then drains (`/readyz`
/// answers 503 for `shutdown_drain` while requests are still served), closes
/// the listener, gives in-flight requests up to `shutdown_deadline`, stops the
/// job workers and releases their leases.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let workers = spawn_workers(&state.jobs, state.settings.workers);
    let identity = state.identity.clone();
    let epoch_task = tokio::spawn(async move {
        loop {
            if let Err(err) = identity.refresh_epoch().await {
                tracing::warn!(error = %err, "could not read the identity epoch");
            }
            tokio::time::sleep(EPOCH_POLL).await;
        }
    });
    // Timeline releases move on their planned dates: queue a pass now and
    // then (only where jobs run).
    let timeline = (state.settings.workers > 0).then(|| {
        let jobs = state.jobs.clone();
        let every = Duration::from_secs(state.settings.timeline_tick.max(1));
        tokio::spawn(async move {
            loop {
                if let Err(err) = crate::domain::dpr::lifecycle::schedule_timeline_pass(&jobs).await
                {
                    tracing::warn!(error = %err, "could not schedule the timeline pass");
                }
                // Finished jobs stay readable (progress ids) for a week.
                let cutoff = crate::time::format_date_time(
                    chrono::Utc::now() - chrono::Duration::days(JOB_RETENTION_DAYS),
                );
                if let Err(err) = jobs.sweep_finished(&cutoff).await {
                    tracing::warn!(error = %err, "could not sweep finished jobs");
                }
                tokio::time::sleep(every).await;
            }
        })
    });
    // PostgreSQL: the search counts' deltas folded into the counts now and
    // then, so counting a piece reads few of them.
    let piece_fold = (state.db.backend() == crate::storage::Backend::Postgres).then(|| {
        let db = state.db.clone();
        let every = Duration::from_secs(state.settings.piece_fold.max(1));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if let Err(err) = crate::storage::word_pieces::fold_counts(&db).await {
                    tracing::warn!(error = %err, "could not fold the search counts");
                }
            }
        })
    });
    let tls = match &state.settings.tls {
        Some(files) => Some(crate::server::tls_acceptor(files)?),
        None => None,
    };
    let router = crate::http::router(state.clone());
    tracing::info!(
        address = %listener.local_addr()?,
        https = tls.is_some(),
        "listening"
    );
    let draining = state.draining.clone();
    let drain = state.settings.shutdown_drain;
    let stop_accepting = async move {
        shutdown.await;
        draining.store(true, Ordering::Relaxed);
        tracing::info!(
            drain_secs = drain.as_secs_f64(),
            "draining: /readyz answers 503 while requests are still served"
        );
        tokio::time::sleep(drain).await;
    };
    crate::server::serve(
        listener,
        router,
        crate::server::ListenerOptions {
            header_read_timeout: state.settings.header_read_timeout,
            shutdown_deadline: state.settings.shutdown_deadline,
            max_connections: state.settings.max_client_connections,
            tls,
        },
        stop_accepting,
    )
    .await;
    epoch_task.abort();
    for task in [timeline, piece_fold].into_iter().flatten() {
        task.abort();
    }
    workers.shutdown(Duration::from_secs(10)).await;
    state.db.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGTERM or SIGINT. A second one while the shutdown runs
/// ends the process at once (exit status 130): an operator who asks twice
/// does not want to wait out the drain and the deadline. Jobs then stop
/// where they are, as after a kill: durable, taken over once their leases
/// expire.
///
/// The signal handlers are installed when this is called, not when the
/// future is first polled: a signal that arrives in between (the server
/// already listening) is then seen, never lost or left to the default
/// action; and the second signal is read from the same streams, so one that
/// follows the first at once is not missed either.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    let mut signals = TerminationSignals::install();
    async move {
        signals.next().await;
        tracing::info!("shutdown signal received; a second one stops the process at once");
        tokio::spawn(async move {
            signals.next().await;
            tracing::warn!("second shutdown signal: stopping at once");
            std::process::exit(130);
        });
    }
}

/// SIGTERM and SIGINT, as streams.
struct TerminationSignals {
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
}

impl TerminationSignals {
    #[cfg(unix)]
    fn install() -> TerminationSignals {
        use tokio::signal::unix::{signal, SignalKind};
        TerminationSignals {
            terminate: signal(SignalKind::terminate()).ok(),
            interrupt: signal(SignalKind::interrupt()).ok(),
        }
    }

    #[cfg(not(unix))]
    fn install() -> TerminationSignals {
        TerminationSignals {}
    }

    /// The next SIGTERM or SIGINT.
    #[cfg(unix)]
    async fn next(&mut self) {
        async fn recv(signal: &mut Option<tokio::signal::unix::Signal>) {
            match signal {
                Some(signal) => {
                    signal.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        let TerminationSignals {
            terminate,
            interrupt,
        } = self;
        tokio::select! {
            _ = recv(terminate) => {}
            _ = recv(interrupt) => {}
        }
    }

    #[cfg(not(unix))]
    async fn next(&mut self) {
        let _ = tokio::signal::ctrl_c().await;
    }
}
