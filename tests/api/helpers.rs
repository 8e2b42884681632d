//! The test application: a router over a fresh database, driven in-process.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use base64::Engine;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use tollgate::app::AppState;
use tollgate::config::Settings;
use tollgate::identity::users::{self, NewUser};
use tollgate::jobs::JobHandler;
use tollgate::storage::{migrations, ConnectOptions, Db};

pub const ADMIN_PASSWORD: &str = "admin-password";

/// Drops the test's PostgreSQL schema or SQLite file when the test ends,
/// even when it panicked.
pub enum Cleanup {
    Sqlite(std::path::PathBuf),
    Postgres { url: String, schema: String },
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        match self {
            Cleanup::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Postgres { url, schema } => {
                let (url, schema) = (url.clone(), schema.clone());
                // A runtime of its own: Drop may run inside or outside one.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build();
                    if let Ok(rt) = rt {
                        rt.block_on(async {
                            if let Ok(db) = Db::connect(
                                &url,
                                &ConnectOptions {
                                    max_connections: 1,
                                    pg_schema: None,
                                },
                            )
                            .await
                            {
                                // The test's pool may still hold connections
                                // (one mid-transaction, whose rollback needs
                                // the runtime this drop is blocking): end them.
                                let _ = db
                                    .execute(
                                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                                         WHERE application_name = $1 AND pid <> pg_backend_pid()",
                                        &[tollgate::storage::Value::Text(schema.clone())],
                                    )
                                    .await;
                                let _ = db
                                    .execute(
                                        &format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
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

/// A database of the test's own, migrated.
pub async fn fresh_db() -> (Db, Cleanup) {
    let id = tollgate::ids::new_sys_id();
    match std::env::var("TOLLGATE_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        Some(url) => {
            let schema = format!("t_{id}");
            let admin = Db::connect(
                &url,
                &ConnectOptions {
                    max_connections: 1,
                    pg_schema: None,
                },
            )
            .await
            .expect("TOLLGATE_TEST_DATABASE_URL must name a reachable PostgreSQL server");
            admin
                .execute(&format!("CREATE SCHEMA {schema}"), &[])
                .await
                .expect("create schema");
            admin.close().await;
            let db = Db::connect(
                &url,
                &ConnectOptions {
                    max_connections: 5,
                    pg_schema: Some(schema.clone()),
                },
            )
            .await
            .expect("connect to the test schema");
            migrations::run(&db).await.expect("migrate");
            users::seed_roles(&db).await.expect("seed roles");
            (db, Cleanup::Postgres { url, schema })
        }
        None => {
            let path = std::env::temp_dir().join(format!("tollgate-test-{id}.db"));
            let db = Db::connect(
                &format!("sqlite://{}", path.display()),
                &ConnectOptions {
                    max_connections: 4,
                    pg_schema: None,
                },
            )
            .await
            .expect("open sqlite");
            migrations::run(&db).await.expect("migrate");
            users::seed_roles(&db).await.expect("seed roles");
            (db, Cleanup::Sqlite(path))
        }
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with_settings(test_settings()).await
    }

    /// A test app with these settings and the job handlers they set up.
    pub async fn spawn_with_settings(settings: Settings) -> TestApp {
        let handlers = tollgate::app::job_handlers(&settings);
        TestApp::spawn_with(settings, handlers).await
    }

    pub async fn spawn_with(settings: Settings, handlers: Vec<Arc<dyn JobHandler>>) -> TestApp {
        // Policies run in evaluator processes of the built binary, as in
        // the server.
        tollgate::policy::sandbox::install(tollgate::policy::sandbox::SandboxConfig::new(
            std::path::PathBuf::from(env!("CARGO_BIN_EXE_tollgate")),
            &Settings::default(),
        ));
        let (db, cleanup) = fresh_db().await;
        let all_roles: Vec<&str> = tollgate::identity::roles::ALL
            .iter()
            .map(|(n, _)| *n)
            .collect();
        users::upsert_user(
            &db,
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
        let state = AppState::new(db.clone(), settings, handlers);
        let router = tollgate::http::router(state.clone());
        TestApp {
            state,
            db,
            router,
            _cleanup: cleanup,
        }
    }

    /// Loads the demo data set.
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
}
