//! The `tollgate` command.

use clap::Parser;
use tollgate::cli::{self, Cli};

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

/// Makes every allocation of 1 MiB or more its own mapping, handed back to
/// the system when freed. glibc otherwise raises that threshold after the
/// first such block is freed, and the next ones (a password hash's 19 MiB of
/// working memory, every five minutes when a cached credential expires) come
/// from the heap, whose freed top stays resident: the process would keep
/// each block's size for good after the first re-check.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn return_large_blocks_to_the_system() {
    // SAFETY: mallopt only sets an allocator parameter; called once, before
    // the runtime starts any thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_large_blocks_to_the_system() {}

fn main() {
    // A policy evaluator (see `policy::sandbox`) starts without the server's
    // runtime, settings or logging: it only reads requests from its parent.
    // It keeps the allocator's defaults: it is short-lived, and its memory
    // limit must be reached as fast as before.
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(tollgate::policy::sandbox::WORKER_COMMAND) {
        std::process::exit(tollgate::policy::sandbox::worker_main(&args[2..]));
    }
    return_large_blocks_to_the_system();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(worker_threads())
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

/// The runtime's worker threads: one per core, and never fewer than two.
/// Database statements run inline on the worker that asks (see
/// `storage::sqlite`), and now and then one takes long: an SQLite commit that
/// merges the text indexes' segments or checkpoints the log, a few hundred
/// milliseconds at a million rows. With a single worker (a server limited to
/// one core) every request in flight waited for it; a second worker takes
/// the other requests over while the first is held, and the operating system
/// shares the core between them.
fn worker_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |cores| cores.get().max(2))
}

async fn async_main() {
    let cli = Cli::parse();
    init_logging();
    match cli::run(cli).await {
        Ok(0) => {}
        Ok(status) => std::process::exit(status),
        // The reader of our output went away (`... | head -n 1`): end as
        // quietly as a process ended by SIGPIPE would.
        Err(err) if err.is::<cli::StdoutClosed>() => std::process::exit(cli::EXIT_STDOUT_CLOSED),
        Err(err) => {
            // One line for the operator; no backtrace.
            eprintln!("error: {err:#}");
            std::process::exit(1);
        }
    }
}
