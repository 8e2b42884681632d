//! Tollgate: a self-hosted release and change control server.
//!
//! A guided tour, from the outside in:

/// Answers cached per process and validated by the data epoch.
pub mod answer_cache;
/// Start-up, shared state and graceful shutdown.
pub mod app;
/// The `tollgate` command line and what each subcommand does.
pub mod cli;
/// Layered settings: flags, `TOLLGATE_*` variables, a TOML file.
pub mod config;
/// The release console: server-rendered pages at `/` and `/console`.
pub mod console;
/// `tollgate demo`: the records the API documents' examples name.
pub mod demo;
/// Rules of each family, reachable without HTTP: records, encoded queries,
/// Digital Product Release.
pub mod domain;
/// The one domain error type; each family renders it in `http::envelope`.
pub mod error;
/// HTTP: routes, extractors, envelopes, one module per API family.
pub mod http;
/// Users, roles, passwords, API keys, OAuth tokens, the credential cache.
pub mod identity;
/// Record identifiers and random secrets.
pub mod ids;
/// The durable job queue and its workers.
pub mod jobs;
/// Prometheus metrics.
pub mod metrics;
/// The policy engine: Rego policies compiled by regorus, evaluated in-process.
pub mod policy;
/// The table registry that drives the Table API.
pub mod registry;
/// Reversible encryption of stored secrets.
pub mod secrets;
/// The HTTP listener: connections, header-read timeout, bounded shutdown.
pub mod server;
/// The storage boundary over SQLite and PostgreSQL, and migrations.
pub mod storage;
/// Date-time formats of records.
pub mod time;
