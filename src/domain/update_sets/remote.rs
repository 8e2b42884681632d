//! The client side of retrieval: another instance read over HTTP or HTTPS
//! through its Table API, with the remote instance record's credentials.
//!
//! The server sends stored credentials to the remote instance and reads
//! what it answers, so where it may connect is the server's configuration,
//! not the record's: a URL's host must be listed in `remote_allow`, and a
//! host name that resolves to a loopback, link-local or unspecified address
//! is not reached unless that address (or `localhost`) is listed itself.
//! HTTPS is verified against the system's roots plus an optional CA file.
//!
//! Every failure (not allowed, down, slow, an error answer, garbage, too
//! much) becomes one clear message naming the instance and what went wrong.
//! What the remote answered is never repeated in it: a progress record is
//! no window onto whatever a URL points at.
//!
//! An answer is read into memory only up to `retrieve_max_answer_bytes`
//! (and what is left of `retrieve_max_bytes`), and is parsed straight into
//! the typed record its caller expects, never into a generic JSON tree: a
//! body of the wrong shape fails at its first wrong element, and fields the
//! caller does not read are skipped unread.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::de::{self, Deserialize, DeserializeOwned, Deserializer, MapAccess, Visitor};

use crate::config::Settings;
use crate::error::{Error, Result};

/// How long one request to a remote instance may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How this server reaches remote instances, from its settings.
#[derive(Clone, Debug)]
pub struct RemotePolicy {
    /// `remote_allow`: hosts, each optionally with `:port`; `*.domain` for
    /// a domain's hosts.
    pub allow: Vec<String>,
    /// `remote_ca_file`: PEM CA certificates trusted besides the system's.
    pub ca_file: Option<String>,
    /// One request's time limit.
    pub request_timeout: Duration,
    /// `retrieve_max_updates`.
    pub max_updates: usize,
    /// `retrieve_max_bytes`: answer bytes one retrieval may read in all.
    pub max_bytes: u64,
    /// `retrieve_timeout`: one retrieval's time limit in all.
    pub total_timeout: Duration,
    /// `retrieve_max_answer_bytes`: bytes one answer may hold (at most
    /// `max_bytes`).
    pub max_answer_bytes: u64,
}

impl RemotePolicy {
    pub fn from_settings(settings: &Settings) -> RemotePolicy {
        RemotePolicy {
            allow: settings.remote_allow.clone(),
            ca_file: settings.remote_ca_file.clone(),
            request_timeout: DEFAULT_TIMEOUT,
            max_updates: settings.retrieve_max_updates,
            max_bytes: settings.retrieve_max_bytes,
            total_timeout: Duration::from_secs(settings.retrieve_timeout),
            max_answer_bytes: settings
                .retrieve_max_answer_bytes
                .min(settings.retrieve_max_bytes)
                .max(1),
        }
    }

    /// The `remote_allow` entry that lets this server reach `host:port`.
    fn entry_for(&self, host: &str, port: u16) -> Option<&str> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        self.allow.iter().map(String::as_str).find(|entry| {
            let (entry_host, entry_port) = split_entry(entry);
            let host_matches = match entry_host.strip_prefix("*.") {
                Some(domain) => host
                    .to_ascii_lowercase()
                    .ends_with(&format!(".{}", domain.to_ascii_lowercase())),
                None => entry_host.eq_ignore_ascii_case(host),
            };
            host_matches && entry_port.is_none_or(|p| p == port)
        })
    }
}

impl Default for RemotePolicy {
    fn default() -> Self {
        RemotePolicy::from_settings(&Settings::default())
    }
}

/// An allow-list entry's host and port (`host`, `host:port`, `[v6]:port`,
/// or a bare IPv6 address).
fn split_entry(entry: &str) -> (&str, Option<u16>) {
    if let Some(rest) = entry.strip_prefix('[') {
        if let Some((host, after)) = rest.split_once(']') {
            return (host, after.strip_prefix(':').and_then(|p| p.parse().ok()));
        }
    }
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => match port.parse() {
            Ok(p) => (host, Some(p)),
            Err(_) => (entry, None),
        },
        _ => (entry, None),
    }
}

/// Addresses that reach this machine or its local network's control plane
/// (cloud metadata services live on link-local addresses).
fn is_special(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_link_local() || v4.is_unspecified(),
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| is_special(IpAddr::V4(v4)))
        }
    }
}

/// A remote instance URL's parts, checked for form (not yet for whether the
/// server may reach it).
#[derive(Debug, PartialEq, Eq)]
pub struct RemoteUrl {
    /// Scheme, host and port, and any path prefix, without a trailing `/`.
    pub base: String,
    pub host: String,
    pub port: u16,
}

/// Checks a remote instance URL's form: `http://` or `https://`, a host, no
/// user name, query or fragment.
pub fn parse_url(url: &str) -> Result<RemoteUrl> {
    let base = url.trim().trim_end_matches('/');
    let wrong = |why: &str| Error::invalid("url", format!("{base:?} {why}"));
    let uri: http::Uri = base
        .parse()
        .map_err(|_| wrong("is not a URL of a remote instance"))?;
    let default_port = match uri.scheme_str() {
        Some("http") => 80,
        Some("https") => 443,
        _ => return Err(wrong("is not an http:// or https:// URL")),
    };
    let authority = uri.authority().ok_or_else(|| wrong("names no host"))?;
    if authority.as_str().contains('@') {
        return Err(wrong(
            "carries a user name; give it in the username field instead",
        ));
    }
    if uri.query().is_some() || base.contains('#') {
        return Err(wrong(
            "has a query or fragment; give the instance's base URL",
        ));
    }
    let host = authority.host().to_owned();
    if host.is_empty() {
        return Err(wrong("names no host"));
    }
    Ok(RemoteUrl {
        base: base.to_owned(),
        host,
        port: authority.port_u16().unwrap_or(default_port),
    })
}

/// Resolves host names, leaving out special addresses unless the matching
/// allow-list entry names one of them (or `localhost`) itself.
#[derive(Clone)]
struct CheckedResolver {
    special_allowed: bool,
}

type ResolveFuture =
    Pin<Box<dyn Future<Output = std::io::Result<std::vec::IntoIter<SocketAddr>>> + Send>>;

impl tower::Service<Name> for CheckedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = ResolveFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let special_allowed = self.special_allowed;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| special_allowed || !is_special(a.ip()))
                .collect();
            if found.is_empty() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    format!(
                        "{host} resolves only to loopback, link-local or unspecified addresses, \
                         which are reached only when remote_allow lists them"
                    ),
                ));
            }
            Ok(found.into_iter())
        })
    }
}

type Connector = hyper_rustls::HttpsConnector<HttpConnector<CheckedResolver>>;

pub struct RemoteInstance {
    base: String,
    authorization: String,
    client: Client<Connector, Full<Bytes>>,
    timeout: Duration,
    /// Answer bytes this retrieval may still read.
    bytes_left: AtomicU64,
    max_bytes: u64,
    max_answer_bytes: u64,
}

impl RemoteInstance {
    pub fn new(
        url: &str,
        user: &str,
        password: &str,
        policy: &RemotePolicy,
    ) -> Result<RemoteInstance> {
        let parsed = parse_url(url)?;
        let Some(entry) = policy.entry_for(&parsed.host, parsed.port) else {
            return Err(Error::invalid(
                "url",
                format!(
                    "The remote instance {} is not allowed: its host {}:{} is not listed in this \
                     server's remote_allow setting",
                    parsed.base, parsed.host, parsed.port
                ),
            ));
        };
        let (entry_host, _) = split_entry(entry);
        let special_allowed =
            entry_host.eq_ignore_ascii_case("localhost") || entry_host.parse::<IpAddr>().is_ok();
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let mut http = HttpConnector::new_with_resolver(CheckedResolver { special_allowed });
        http.set_connect_timeout(Some(policy.request_timeout));
        http.enforce_http(false);
        let tls = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config(policy.ca_file.as_deref())?)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(RemoteInstance {
            base: parsed.base,
            authorization: format!("Basic {token}"),
            client: Client::builder(TokioExecutor::new()).build(tls),
            timeout: policy.request_timeout,
            bytes_left: AtomicU64::new(policy.max_bytes),
            max_bytes: policy.max_bytes,
            max_answer_bytes: policy.max_answer_bytes,
        })
    }

    pub fn url(&self) -> &str {
        &self.base
    }

    /// GETs `path` (with its query) and parses the JSON answer into `T`; a
    /// 404 comes back as `None`. An answer that is JSON of another shape
    /// fails with what `wrong_shape` makes of the parser's error: words of
    /// the caller's, never the error's own text (which may quote the answer).
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        wrong_shape: fn(&serde_json::Error) -> &'static str,
    ) -> Result<Option<T>> {
        let uri = format!("{}{path}", self.base);
        let request = hyper::Request::get(&uri)
            .header("accept", "application/json")
            .header("authorization", &self.authorization)
            .body(Full::new(Bytes::new()))
            .map_err(|_| self.failure("cannot be asked: the request URL is not valid".into()))?;
        let left = self.bytes_left.load(Ordering::Relaxed);
        // One answer may hold what is left of the retrieval's bytes, and no
        // more than `max_answer_bytes`; the error names the limit that bit.
        let (limit, too_much): (u64, fn(&Self) -> Error) = if left <= self.max_answer_bytes {
            (left, Self::too_much)
        } else {
            (self.max_answer_bytes, Self::answer_too_large)
        };
        let exchange = async {
            let response =
                self.client.request(request).await.map_err(|e| {
                    self.failure(format!("could not be reached ({})", root_cause(&e)))
                })?;
            let status = response.status();
            let limit = usize::try_from(limit).unwrap_or(usize::MAX);
            let body = http_body_util::Limited::new(response.into_body(), limit)
                .collect()
                .await
                .map_err(|e| {
                    if e.is::<http_body_util::LengthLimitError>() {
                        too_much(self)
                    } else {
                        self.failure("broke off its answer".into())
                    }
                })?
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
        self.bytes_left
            .fetch_sub((body.len() as u64).min(left), Ordering::Relaxed);
        if status == hyper::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            // The status only: the answer's text stays out of the message.
            return Err(self.failure(format!("answered HTTP {}", status.as_u16())));
        }
        match serde_json::from_slice(&body) {
            Ok(answer) => Ok(Some(answer)),
            Err(e) if e.is_data() => Err(self.failure(format!("answered {}", wrong_shape(&e)))),
            Err(_) => Err(self.failure("answered something that is not JSON".into())),
        }
    }

    fn answer_too_large(&self) -> Error {
        self.failure(format!(
            "answered more than the {} bytes one answer may hold (retrieve_max_answer_bytes)",
            self.max_answer_bytes
        ))
    }

    fn too_much(&self) -> Error {
        self.failure(format!(
            "answered more than the {} bytes one retrieval may read (retrieve_max_bytes)",
            self.max_bytes
        ))
    }

    fn failure(&self, what: String) -> Error {
        Error::conflict(format!("The remote instance {} {what}", self.base))
    }
}

/// A JSON object read as `T`. A struct's derived `Deserialize` takes an
/// array of its fields in order as well; an answer or record never is one.
#[derive(Debug)]
pub struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct Fields<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Fields<T> {
            type Value = Object<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<Object<T>, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Object)
            }
        }
        deserializer.deserialize_map(Fields(std::marker::PhantomData))
    }
}

/// A field of a Table API record as text (for `#[serde(deserialize_with)]`):
/// a string as it is, null as empty, a number or boolean as its JSON text.
/// An array or object is the wrong shape and fails the answer.
pub fn text<'de, D: Deserializer<'de>>(deserializer: D) -> std::result::Result<String, D::Error> {
    struct Text;
    impl Visitor<'_> for Text {
        type Value = String;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("text, a number, a boolean or null")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<String, E> {
            Ok(v.to_owned())
        }
        fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<String, E> {
            Ok(v)
        }
        fn visit_unit<E: de::Error>(self) -> std::result::Result<String, E> {
            Ok(String::new())
        }
        fn visit_none<E: de::Error>(self) -> std::result::Result<String, E> {
            Ok(String::new())
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> std::result::Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> std::result::Result<String, E> {
            Ok(serde_json::Number::from_f64(v)
                .map(|n| n.to_string())
                .unwrap_or_default())
        }
    }
    deserializer.deserialize_any(Text)
}

/// TLS for remote instances: the system's roots plus those of `ca_file`.
fn tls_config(ca_file: Option<&str>) -> Result<rustls::ClientConfig> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    // Unreadable system certificates are skipped: a missing store must not
    // stop plain-HTTP or CA-file remotes from working.
    let (_added, _skipped) =
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if let Some(path) = ca_file {
        let unreadable = |why: String| {
            Error::invalid(
                "remote_ca_file",
                format!("{path}: {why}; it must be a PEM file of CA certificates"),
            )
        };
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| unreadable(e.to_string()))?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| unreadable(e.to_string()))?;
        if certs.is_empty() {
            return Err(unreadable("it holds no certificate".into()));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| unreadable(format!("a certificate is not usable ({e})")))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::internal(format!("TLS set-up failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allow: &[&str]) -> RemotePolicy {
        RemotePolicy {
            allow: allow.iter().map(|s| s.to_string()).collect(),
            ..RemotePolicy::default()
        }
    }

    #[test]
    fn only_listed_hosts_and_ports_are_allowed() {
        let p = policy(&["remote.example.com", "10.0.0.5:8443", "*.corp.example"]);
        assert!(p.entry_for("remote.example.com", 443).is_some());
        assert!(p.entry_for("REMOTE.example.com", 8080).is_some());
        assert!(p.entry_for("10.0.0.5", 8443).is_some());
        assert!(p.entry_for("10.0.0.5", 22).is_none());
        assert!(p.entry_for("a.corp.example", 443).is_some());
        assert!(p.entry_for("corp.example.evil", 443).is_none());
        assert!(p.entry_for("127.0.0.1", 80).is_none());
        assert!(policy(&[]).entry_for("remote.example.com", 443).is_none());
        assert!(policy(&["[::1]:8080"]).entry_for("[::1]", 8080).is_some());
    }

    #[test]
    fn urls_need_a_scheme_and_host_and_nothing_else() {
        assert_eq!(
            parse_url("https://x.example.com/").unwrap(),
            RemoteUrl {
                base: "https://x.example.com".into(),
                host: "x.example.com".into(),
                port: 443
            }
        );
        assert_eq!(parse_url("http://h:8080").unwrap().port, 8080);
        for bad in [
            "ftp://h",
            "h.example.com",
            "http://user:pw@h",
            "http://h/?a=b",
            "http://h/#x",
            "",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn loopback_link_local_and_unspecified_addresses_are_special() {
        for ip in [
            "127.0.0.1",
            "::1",
            "169.254.169.254",
            "0.0.0.0",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_special(ip.parse().unwrap()), "{ip}");
        }
        assert!(!is_special("10.1.2.3".parse().unwrap()));
    }
}
