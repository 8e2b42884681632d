//! The test application: a router over a fresh database, driven in-process.

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use base64::Engine;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use tollgate::app::AppState;
use tollgate::config::Settings;
use tollgate::identity::users::{self, NewUser};
use tollgate::jobs::{JobRegistry, JobState, Progress};
use tollgate::storage::{migrations, ConnectOptions, Db};

pub const ADMIN_PASSWORD: &str = "admin-password";

/// Drops the test's PostgreSQL database or SQLite file when the test ends,
/// even when it panicked.
pub enum Cleanup {
    Sqlite(std::path::PathBuf),
    Postgres { url: String, database: String },
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        match self {
            Cleanup::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Postgres { url, database } => {
                let (url, database) = (url.clone(), database.clone());
                // A runtime of its own: Drop may run inside or outside one.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build();
                    if let Ok(rt) = rt {
                        rt.block_on(async {
                            if let Ok(db) = pg_admin(&url).await {
                                // The test's pool may still hold connections
                                // (one mid-transaction, whose rollback needs
                                // the runtime this drop is blocking): FORCE
                                // ends them.
                                let _ = db
                                    .execute(
                                        &format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"),
                                        &[],
                                    )
                                    .await;
                                db.close().await;
                            }
                        });
                    }
                })
                .join();
            }
        }
    }
}

impl Cleanup {
    /// The URL of the database this cleans up after.
    pub fn database_url(&self) -> String {
        match self {
            Cleanup::Sqlite(path) => format!("sqlite://{}", path.display()),
            Cleanup::Postgres { url, database } => pg_url_for(url, database),
        }
    }
}

/// A database that exists but holds nothing (no Tollgate schema): an empty
/// SQLite file, or a new PostgreSQL database on the test server.
pub async fn empty_database() -> Cleanup {
    let id = tollgate::ids::new_sys_id();
    match test_database_url() {
        Some(url) => {
            let database = format!("tollgate_t_{id}");
            let admin = pg_admin(&url).await.expect("connect to PostgreSQL");
            admin
                .execute(&format!("CREATE DATABASE {database}"), &[])
                .await
                .expect("create an empty database");
            admin.close().await;
            Cleanup::Postgres { url, database }
        }
        None => {
            let path = std::env::temp_dir().join(format!("tollgate-test-{id}.db"));
            std::fs::write(&path, b"").expect("create an empty file");
            Cleanup::Sqlite(path)
        }
    }
}

/// Which prepared database a test starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Template {
    /// Migrated, with the roles and the admin user.
    Base,
    /// `Base` with the demo data loaded.
    Demo,
}

/// The two templates, built once per test process: migrating, hashing the
/// admin's password and loading the demo data are paid once, and every
/// test copies the template it starts from.
enum Templates {
    /// Both databases' bytes (`VACUUM INTO` copies: one file, no WAL); a
    /// test writes them to its own file.
    Sqlite { base: Vec<u8>, demo: Vec<u8> },
    /// Template databases on the server of `TOLLGATE_TEST_DATABASE_URL`;
    /// a test's database is `CREATE DATABASE ... TEMPLATE` one of them.
    Postgres { base: String, demo: String },
}

static TEMPLATES: std::sync::OnceLock<Templates> = std::sync::OnceLock::new();

fn test_database_url() -> Option<String> {
    std::env::var("TOLLGATE_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// The templates, built by the first test that needs them. They are built
/// on a thread with a runtime of its own, closed when done: a pool must not
/// outlive the runtime it was opened on, and each test has its own.
fn templates() -> &'static Templates {
    TEMPLATES.get_or_init(|| {
        std::thread::spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the templates")
                .block_on(build_templates())
        })
        .join()
        .expect("the test database templates are built")
    })
}

async fn build_templates() -> Templates {
    match test_database_url() {
        Some(url) => build_pg_templates(&url).await,
        None => build_sqlite_templates().await,
    }
}

/// Migrates, seeds the roles and creates the admin user.
async fn prepare_base(db: &Db) {
    migrations::run(db).await.expect("migrate");
    users::seed_roles(db).await.expect("seed roles");
    let all_roles: Vec<&str> = tollgate::identity::roles::ALL
        .iter()
        .map(|(n, _)| *n)
        .collect();
    users::upsert_user(
        db,
        &NewUser {
            sys_id: Some(tollgate::demo::ADMIN_ID),
            user_name: "admin",
            first_name: "System",
            last_name: "Administrator",
            email: "admin@example.com",
            password: Some(ADMIN_PASSWORD),
            roles: &all_roles,
        },
        "test",
    )
    .await
    .expect("admin user");
}

async fn build_sqlite_templates() -> Templates {
    let dir =
        std::env::temp_dir().join(format!("tollgate-template-{}", tollgate::ids::new_sys_id()));
    std::fs::create_dir_all(&dir).expect("template folder");
    let work = dir.join("work.db");
    let db = Db::connect(
        &format!("sqlite://{}", work.display()),
        &ConnectOptions {
            max_connections: 1,
            pg_schema: None,
        },
    )
    .await
    .expect("open the sqlite template");
    let snapshot = |name: &str| {
        let (db, path) = (db.clone(), dir.join(name));
        async move {
            let quoted = path.display().to_string().replace('\'', "''");
            db.execute(&format!("VACUUM INTO '{quoted}'"), &[])
                .await
                .expect("VACUUM INTO");
            std::fs::read(&path).expect("read the template")
        }
    };
    prepare_base(&db).await;
    let base = snapshot("base.db").await;
    tollgate::demo::load(&db).await.expect("demo data");
    let demo = snapshot("demo.db").await;
    db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Templates::Sqlite { base, demo }
}

/// A one-connection pool on the database the URL names.
async fn pg_admin(url: &str) -> Result<Db, tollgate::storage::StorageError> {
    Db::connect(
        url,
        &ConnectOptions {
            max_connections: 1,
            pg_schema: None,
        },
    )
    .await
}

/// `url` with its database name replaced by `database`.
fn pg_url_for(url: &str, database: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let authority_start = head.find("://").map_or(0, |i| i + 3);
    let base = match head[authority_start..].find('/') {
        Some(i) => &head[..authority_start + i],
        None => head,
    };
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

/// How long a template database of an ended test process is kept before a
/// later process drops it (a process cannot drop its own at exit).
const STALE_TEMPLATE_SECS: u64 = 3 * 3600;

async fn build_pg_templates(url: &str) -> Templates {
    let admin = pg_admin(url)
        .await
        .expect("TOLLGATE_TEST_DATABASE_URL must name a reachable PostgreSQL server");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    // Templates left by processes that ended long ago.
    for row in admin
        .fetch_all(
            "SELECT datname FROM pg_database WHERE datname LIKE 'tollgate_tmpl_%'",
            &[],
        )
        .await
        .expect("list template databases")
    {
        let name = row.string("datname");
        let made = name
            .split('_')
            .nth(2)
            .and_then(|t| t.parse::<u64>().ok())
            .unwrap_or(now);
        if now.saturating_sub(made) > STALE_TEMPLATE_SECS {
            let _ = admin
                .execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"), &[])
                .await;
        }
    }
    let id = &tollgate::ids::new_sys_id()[..16];
    let base = format!("tollgate_tmpl_{now}_{id}_base");
    let demo = format!("tollgate_tmpl_{now}_{id}_demo");
    admin
        .execute(&format!("CREATE DATABASE {base}"), &[])
        .await
        .expect("create the base template database");
    let db = pg_admin(&pg_url_for(url, &base))
        .await
        .expect("connect to the base template");
    prepare_base(&db).await;
    db.close().await;
    admin
        .execute(&format!("CREATE DATABASE {demo} TEMPLATE {base}"), &[])
        .await
        .expect("create the demo template database");
    let db = pg_admin(&pg_url_for(url, &demo))
        .await
        .expect("connect to the demo template");
    tollgate::demo::load(&db).await.expect("demo data");
    db.close().await;
    admin.close().await;
    Templates::Postgres { base, demo }
}

pub struct TestApp {
    pub state: AppState,
    pub db: Db,
    router: Router,
    _cleanup: Cleanup,
}

/// Credentials for a request.
#[derive(Clone, Debug)]
pub enum Auth {
    None,
    Basic(String, String),
    Bearer(String),
    Header(&'static str, String),
}

impl Auth {
    pub fn admin() -> Auth {
        Auth::Basic("admin".into(), ADMIN_PASSWORD.into())
    }
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl TestResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub fn test_settings() -> Settings {
    Settings {
        body_limit: 64 * 1024,
        workers: 0,
        job_lease: 30,
        ..Settings::default()
    }
}

/// A database of the test's own: migrated, with the roles and the admin
/// user.
pub async fn fresh_db() -> (Db, Cleanup) {
    db_from(Template::Base).await
}

/// A database of the test's own: migrated, with the admin user, and with
/// the demo data when `demo`.
pub async fn database(demo: bool) -> (Db, Cleanup) {
    db_from(if demo { Template::Demo } else { Template::Base }).await
}

/// A database of the test's own, a copy of `template`.
async fn db_from(template: Template) -> (Db, Cleanup) {
    // Policies run in evaluator processes of the built binary, as in the
    // server (the demo data is loaded with them too).
    tollgate::policy::sandbox::install(tollgate::policy::sandbox::SandboxConfig::new(
        std::path::PathBuf::from(env!("CARGO_BIN_EXE_tollgate")),
        &Settings::default(),
    ));
    let id = tollgate::ids::new_sys_id();
    match templates() {
        Templates::Postgres { base, demo } => {
            let url = test_database_url().expect("TOLLGATE_TEST_DATABASE_URL");
            let source = match template {
                Template::Base => base,
                Template::Demo => demo,
            };
            let database = format!("tollgate_t_{id}");
            let admin = pg_admin(&url).await.expect("connect to PostgreSQL");
            admin
                .execute(
                    &format!("CREATE DATABASE {database} TEMPLATE {source}"),
                    &[],
                )
                .await
                .expect("create the test database");
            admin.close().await;
            let cleanup = Cleanup::Postgres {
                url: url.clone(),
                database: database.clone(),
            };
            let db = Db::connect(
                &pg_url_for(&url, &database),
                &ConnectOptions {
                    max_connections: 5,
                    pg_schema: None,
                },
            )
            .await
            .expect("connect to the test database");
            (db, cleanup)
        }
        Templates::Sqlite { base, demo } => {
            let bytes = match template {
                Template::Base => base,
                Template::Demo => demo,
            };
            let path = std::env::temp_dir().join(format!("tollgate-test-{id}.db"));
            std::fs::write(&path, bytes).expect("copy the template");
            let cleanup = Cleanup::Sqlite(path.clone());
            let db = Db::connect(
                &format!("sqlite://{}", path.display()),
                &ConnectOptions {
                    max_connections: 4,
                    pg_schema: None,
                },
            )
            .await
            .expect("open sqlite");
            (db, cleanup)
        }
    }
}

impl TestApp {
    /// A test app over an empty database (migrated, with the admin user).
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with_settings(test_settings()).await
    }

    /// A test app with these settings and the job handlers they set up.
    pub async fn spawn_with_settings(settings: Settings) -> TestApp {
        let jobs = tollgate::app::job_handlers(&settings);
        TestApp::spawn_with(settings, jobs).await
    }

    pub async fn spawn_with(settings: Settings, jobs: JobRegistry) -> TestApp {
        TestApp::spawn_from(Template::Base, settings, jobs).await
    }

    /// A test app whose database starts with the demo data: what
    /// `spawn()` then `demo()` gives, copied from a template.
    pub async fn spawn_demo() -> TestApp {
        TestApp::spawn_demo_with_settings(test_settings()).await
    }

    pub async fn spawn_demo_with_settings(settings: Settings) -> TestApp {
        let jobs = tollgate::app::job_handlers(&settings);
        TestApp::spawn_demo_with(settings, jobs).await
    }

    pub async fn spawn_demo_with(settings: Settings, jobs: JobRegistry) -> TestApp {
        TestApp::spawn_from(Template::Demo, settings, jobs).await
    }

    async fn spawn_from(template: Template, settings: Settings, jobs: JobRegistry) -> TestApp {
        let (db, cleanup) = db_from(template).await;
        let state = AppState::new(db.clone(), settings, jobs);
        let router = tollgate::http::router(state.clone());
        TestApp {
            state,
            db,
            router,
            _cleanup: cleanup,
        }
    }

    /// Loads the demo data set into this app's database, adding what is
    /// missing (a test that wants it from the start uses `spawn_demo`).
    pub async fn demo(&self) {
        tollgate::demo::load(&self.db).await.expect("demo data");
    }

    /// Creates a user with the given roles; returns Basic credentials for it.
    pub async fn user(&self, name: &str, roles: &[&str]) -> Auth {
        let password = format!("{name}-password");
        users::upsert_user(
            &self.db,
            &NewUser {
                sys_id: None,
                user_name: name,
                first_name: name,
                last_name: "Tester",
                email: "",
                password: Some(&password),
                roles,
            },
            "test",
        )
        .await
        .expect("create user");
        self.state.identity.clear_cache();
        Auth::Basic(name.into(), password)
    }

    pub async fn request(
        &self,
        method: &str,
        path: &str,
        auth: &Auth,
        body: Option<Value>,
    ) -> TestResponse {
        let body = body.map(|b| b.to_string());
        self.raw(method, path, auth, body.as_deref(), "application/json")
            .await
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.request("GET", path, &Auth::admin(), None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> TestResponse {
        self.request("POST", path, &Auth::admin(), Some(body)).await
    }

    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        auth: &Auth,
        body: Option<&str>,
        content_type: &str,
    ) -> TestResponse {
        self.raw_from(None, method, path, auth, body, content_type)
            .await
    }

    /// A JSON request from the client at `addr` (an IP address), as the
    /// server sees it through `ConnectInfo`.
    pub async fn request_from(
        &self,
        addr: &str,
        method: &str,
        path: &str,
        auth: &Auth,
        body: Option<Value>,
    ) -> TestResponse {
        let body = body.map(|b| b.to_string());
        let peer = std::net::SocketAddr::new(addr.parse().expect("an IP address"), 40000);
        self.raw_from(
            Some(peer),
            method,
            path,
            auth,
            body.as_deref(),
            "application/json",
        )
        .await
    }

    /// A request, from `peer` when given (requests without one count as one
    /// unknown client).
    pub async fn raw_from(
        &self,
        peer: Option<std::net::SocketAddr>,
        method: &str,
        path: &str,
        auth: &Auth,
        body: Option<&str>,
        content_type: &str,
    ) -> TestResponse {
        let mut req = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(path)
            .header("host", "tollgate.test")
            .header("accept", "application/json");
        match auth {
            Auth::None => {}
            Auth::Basic(u, p) => {
                let token = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
                req = req.header("authorization", format!("Basic {token}"));
            }
            Auth::Bearer(t) => req = req.header("authorization", format!("Bearer {t}")),
            Auth::Header(name, value) => req = req.header(*name, value.as_str()),
        }
        let req = match body {
            Some(b) => req
                .header("content-type", content_type)
                .body(Body::from(b.to_owned()))
                .unwrap(),
            None => req.body(Body::empty()).unwrap(),
        };
        let mut req = req;
        if let Some(peer) = peer {
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
        }
        self.send(req).await
    }

    /// Sends a request built by the test (raw bytes, extensions such as the
    /// peer address).
    pub async fn send(&self, req: Request<Body>) -> TestResponse {
        let res = self
            .router
            .clone()
            .oneshot(req)
            .await
            .expect("router answers");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        TestResponse {
            status,
            headers,
            body,
            text,
        }
    }

    /// Counts the rows of a table.
    pub async fn count(&self, table: &str) -> i64 {
        self.db
            .fetch_optional(&format!("SELECT COUNT(*) AS n FROM {table}"), &[])
            .await
            .unwrap()
            .and_then(|r| r.int("n"))
            .unwrap()
    }

    /// Runs every due job to its end, as a worker would (a job queued by
    /// another runs too); returns each one's final progress, in order. A job
    /// that failed and waits for its retry is not due, so this ends.
    pub async fn run_jobs(&self) -> RanJobs {
        let jobs = &self.state.jobs;
        let mut ran = Vec::new();
        while let Some(job) = jobs
            .claim("test-worker", chrono::Utc::now().timestamp_millis())
            .await
            .unwrap()
        {
            let id = job.id.clone();
            jobs.execute(job).await;
            ran.push(jobs.progress(&id).await.unwrap().expect("the job ran"));
        }
        RanJobs(ran)
    }

    /// Fails the test when a job is still pending or running: one it queued
    /// and never ran, or one that failed and waits for a retry.
    pub async fn assert_no_jobs_left(&self) {
        let left = self
            .db
            .fetch_all(
                "SELECT id, kind, state, attempts, error FROM tollgate_job \
                 WHERE state IN ('pending', 'running') ORDER BY id",
                &[],
            )
            .await
            .unwrap();
        let left: Vec<String> = left
            .iter()
            .map(|r| {
                format!(
                    "{} {} ({}, {} attempt(s), error {:?})",
                    r.string("kind"),
                    r.string("id"),
                    r.string("state"),
                    r.int("attempts").unwrap_or(0),
                    r.string("error")
                )
            })
            .collect();
        assert!(left.is_empty(), "jobs left behind: {left:#?}");
    }

    /// Writes a job row as a server of an earlier version did: its kind and
    /// its payload's JSON text, due at once. Returns its id.
    pub async fn queue_raw_job(&self, kind: &str, payload: &str) -> String {
        let id = tollgate::ids::new_sys_id();
        let now = "2026-01-01 00:00:00";
        self.db
            .execute(
                "INSERT INTO tollgate_job (id, kind, payload, state, attempts, max_attempts, run_at, \
                 percent_complete, status_message, created_by, created_on, updated_on) \
                 VALUES ($1, $2, $3, 'pending', 0, 3, 0, 0, 'Pending', 'test', $4, $4)",
                &[
                    tollgate::storage::Value::from(id.as_str()),
                    tollgate::storage::Value::from(kind),
                    tollgate::storage::Value::from(payload),
                    tollgate::storage::Value::from(now),
                ],
            )
            .await
            .unwrap();
        id
    }
}

/// What [`TestApp::run_jobs`] ran: each job's final progress.
pub struct RanJobs(pub Vec<Progress>);

impl RanJobs {
    /// Fails the test unless every job that ran succeeded.
    pub fn assert_all_succeeded(&self) {
        for p in &self.0 {
            assert_eq!(
                p.state,
                JobState::Succeeded,
                "{} job {} ended {:?}: {}",
                p.kind,
                p.id,
                p.state,
                p.error
            );
        }
    }
}

/// The real server (`app::serve`) listening on 127.0.0.1 at a free port,
/// over a database of its own, until the test sends the shutdown signal
/// (dropped unstopped, it is aborted).
pub struct RunningServer {
    pub addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _cleanup: Cleanup,
}

impl RunningServer {
    pub async fn start(settings: Settings) -> RunningServer {
        let (db, cleanup) = fresh_db().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        RunningServer::start_on(db, cleanup, listener, settings)
    }

    /// Serves `db` (see [`database`]) on `listener`: for a test that
    /// prepares the database knowing the server's address first.
    pub fn start_on(
        db: Db,
        cleanup: Cleanup,
        listener: tokio::net::TcpListener,
        settings: Settings,
    ) -> RunningServer {
        let handlers = tollgate::app::job_handlers(&settings);
        let state = AppState::new(db, settings, handlers);
        let addr = listener.local_addr().expect("its address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(tollgate::app::serve(state, listener, async {
            let _ = stopped.await;
        }));
        RunningServer {
            addr,
            stop: Some(stop),
            task: Some(task),
            _cleanup: cleanup,
        }
    }

    /// Sends the shutdown signal (SIGTERM's effect).
    pub fn signal_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Waits for `serve` to return, failing the test past `bound` (a
    /// generous bound: it proves the shutdown ends, not how fast).
    pub async fn stopped_within(&mut self, bound: std::time::Duration) -> anyhow::Result<()> {
        let task = self.task.take().expect("the server is running");
        tokio::time::timeout(bound, task)
            .await
            .unwrap_or_else(|_| panic!("serve did not return within {bound:?} of the signal"))
            .expect("the serve task ends without panicking")
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The OAuth password grant (`POST /oauth_token.do`) for `user`.
pub async fn password_grant(app: &TestApp, user: &str, password: &str) -> TestResponse {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "password"),
            ("client_id", "cli"),
            ("username", user),
            ("password", password),
        ])
        .finish();
    app.raw(
        "POST",
        "/oauth_token.do",
        &Auth::None,
        Some(&body),
        "application/x-www-form-urlencoded",
    )
    .await
}

/// The `input_data` form of a v3 request (add, edit, list).
pub fn v3_form(input: &Value) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("input_data", &input.to_string())
        .finish()
}

/// The ServiceDesk-style document's add (and edit) request body.
pub fn documented_v3_add() -> Value {
    json!({"release": {
        "roles": [{"role": {"name": "release requester"}, "user": {"name": "guest"}}],
        "template": {"id": "1", "name": "General Template"},
        "risk": {"name": "high"}, "priority": {"name": "high"},
        "comment": "The above Stage/Status is set as part of 'Release' creation",
        "description": "MSSQL Server service pack upgrade",
        "title": "MSSQL Server service pack upgrade",
        "next_review_on": null,
        "urgency": {"name": "Urgent"},
        "group": {"site": null, "name": "Hardware Problems"},
        "impact": {"name": "High"}, "release_type": {"name": "Standard"},
        "category": {"name": "Software"}, "subcategory": {"name": "IE 7"}, "item": {"name": "Install"},
        "services": [{"name": "Application Login", "id": "1"}, {"name": "Communication", "id": "2"}],
        "scheduled_end_time": {"display_value": "Jun 22, 2020 03:34 PM", "value": "1592820360370"},
        "scheduled_start_time": {"display_value": "Jun 22, 2020 03:34 PM", "value": "1592820350370"},
        "stage": {"name": "submission"}, "status": {"name": "Requested"}
    }})
}

const POLICIES_MD: &str = include_str!("../../docs/POLICIES.md");

/// The fenced block after `<!-- test: {name} -->` in docs/POLICIES.md.
pub fn policies_doc_block(name: &str) -> &'static str {
    let marker = format!("<!-- test: {name} -->");
    let start = POLICIES_MD
        .find(&marker)
        .unwrap_or_else(|| panic!("docs/POLICIES.md has no {marker}"));
    let rest = &POLICIES_MD[start + marker.len()..];
    let body = &rest[rest.find("```").expect("a fence")..];
    let body = &body[body.find('\n').expect("a fence line") + 1..];
    &body[..body.find("\n```").expect("a closing fence") + 1]
}
