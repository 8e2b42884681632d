//! The client side of retrieval: another Tollgate instance read over HTTP
//! through its Table API, with the remote instance record's credentials.
//! Every failure (down, slow, an error answer, garbage) becomes one clear
//! message naming the instance and what went wrong.

use std::time::Duration;

use base64::Engine;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde_json::Value as Json;

use crate::error::{Error, Result};

/// How long one request to a remote instance may take, unless configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Largest answer accepted from a remote instance (one page of updates).
const MAX_ANSWER_BYTES: usize = 256 * 1024 * 1024;

pub struct RemoteInstance {
    base: String,
    authorization: String,
    client: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
}

impl RemoteInstance {
    pub fn new(url: &str, user: &str, password: &str, timeout: Duration) -> Result<RemoteInstance> {
        let base = url.trim().trim_end_matches('/').to_owned();
        if base.starts_with("https://") {
            return Err(Error::invalid(
                "url",
                format!(
                    "{base}: this build reaches remote instances over plain HTTP; \
                     put the remote behind a local TLS-terminating proxy and use its http:// URL"
                ),
            ));
        }
        if !base.starts_with("http://") || base.len() <= "http://".len() {
            return Err(Error::invalid(
                "url",
                format!("{base:?} is not an http:// URL of a remote instance"),
            ));
        }
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(timeout));
        Ok(RemoteInstance {
            base,
            authorization: format!("Basic {token}"),
            client: Client::builder(TokioExecutor::new()).build(connector),
            timeout,
        })
    }

    pub fn url(&self) -> &str {
        &self.base
    }

    /// GETs `path` (with its query) and parses the JSON answer; a 404 comes
    /// back as `None`.
    pub async fn get_json(&self, path: &str) -> Result<Option<Json>> {
        let uri = format!("{}{path}", self.base);
        let request = hyper::Request::get(&uri)
            .header("accept", "application/json")
            .header("authorization", &self.authorization)
            .body(Full::new(Bytes::new()))
            .map_err(|e| self.failure(format!("cannot build a request for {uri}: {e}")))?;
        let exchange = async {
            let response =
                self.client.request(request).await.map_err(|e| {
                    self.failure(format!("could not be reached ({})", root_cause(&e)))
                })?;
            let status = response.status();
            let body = http_body_util::Limited::new(response.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|e| self.failure(format!("broke off its answer ({e})")))?
                .to_bytes();
            Ok::<_, Error>((status, body))
        };
        let (status, body) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| {
                self.failure(format!(
                    "did not answer within {} seconds",
                    self.timeout.as_secs_f64()
                ))
            })??;
        if status == hyper::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let parsed: Option<Json> = serde_json::from_slice(&body).ok();
        if !status.is_success() {
            let said = parsed
                .as_ref()
                .and_then(|j| j.pointer("/error/message"))
                .and_then(Json::as_str)
                .map(|m| format!(": {m}"))
                .unwrap_or_default();
            return Err(self.failure(format!("answered HTTP {}{said}", status.as_u16())));
        }
        parsed
            .map(Some)
            .ok_or_else(|| self.failure("answered something that is not JSON".into()))
    }

    fn failure(&self, what: String) -> Error {
        Error::conflict(format!("The remote instance {} {what}", self.base))
    }
}

fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}
