//! Request extractors that fail with [`Error`], so every rejection reaches the
//! client in its family's envelope.

use std::collections::HashMap;
use std::marker::PhantomData;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde_json::{Map, Value as Json};

use crate::app::AppState;
use crate::error::{Error, ErrorKind};
use crate::identity::Caller;

/// The authenticated caller (any role).
pub struct Authenticated(pub Caller);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(Authenticated(caller.clone()));
        }
        let ClientAddr(client) = ClientAddr::of(parts);
        let caller = state.identity.authenticate(&parts.headers, client).await?;
        parts.extensions.insert(caller.clone());
        Ok(Authenticated(caller))
    }
}

/// The client's IP address: the TCP peer's, or the one a trusted proxy
/// reports (see `http::proxy`); None for in-process callers without one,
/// which count as one client.
pub struct ClientAddr(pub crate::identity::Client);

impl ClientAddr {
    pub fn of(parts: &Parts) -> ClientAddr {
        ClientAddr::from_extensions(&parts.extensions)
    }

    /// The address `http::proxy` resolved for this request (every request
    /// passes that layer first).
    pub fn from_extensions(extensions: &axum::http::Extensions) -> ClientAddr {
        ClientAddr(
            extensions
                .get::<super::proxy::ClientIp>()
                .and_then(|ip| ip.0),
        )
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr::of(parts))
    }
}

/// A set of roles an endpoint accepts (any one of them, or admin).
pub trait RoleSet {
    const ANY_OF: &'static [&'static str];
}

/// The caller, after the check that it holds one of `R`'s roles. A handler
/// that takes this cannot forget the check.
pub struct Authorized<R: RoleSet> {
    pub caller: Caller,
    _roles: PhantomData<R>,
}

impl<R: RoleSet> FromRequestParts<AppState> for Authorized<R> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let Authenticated(caller) = Authenticated::from_request_parts(parts, state).await?;
        caller.require_any(R::ANY_OF)?;
        Ok(Authorized {
            caller,
            _roles: PhantomData,
        })
    }
}

/// The query string as name/value pairs (the last of repeated names wins).
pub struct QueryParams(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Error> {
        let query = parts.uri.query().unwrap_or("");
        Ok(QueryParams(
            form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect(),
        ))
    }
}

/// A JSON object body. An empty body reads as `{}`. Where the family speaks
/// XML (`/api/sn_cicd`), an XML body reads as the object of its root
/// element's children.
pub struct JsonObject(pub Map<String, Json>);

impl FromRequest<AppState> for JsonObject {
    type Rejection = Error;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Error> {
        let xml = request
            .extensions()
            .get::<super::xml::SpeaksXml>()
            .is_some()
            && super::xml::is_xml_body(request.headers());
        let bytes = read_body(request, state.settings.body_limit).await?;
        if xml {
            super::xml::body_as_json_object(&bytes, state.settings.xml_max_depth).map(JsonObject)
        } else {
            parse_json_object(&bytes).map(JsonObject)
        }
    }
}

pub fn parse_json_object(bytes: &[u8]) -> Result<Map<String, Json>, Error> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Json>(bytes) {
        Ok(Json::Object(map)) => Ok(map),
        Ok(_) => Err(Error::malformed("The request body must be a JSON object")),
        Err(e) => Err(Error::malformed(format!(
            "Malformed JSON in the request body: {e}"
        ))),
    }
}

/// The raw body, refused with 413 past `limit` bytes.
pub async fn read_body(request: Request, limit: usize) -> Result<axum::body::Bytes, Error> {
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large(limit));
    }
    axum::body::to_bytes(request.into_body(), limit)
        .await
        .map_err(|_| too_large(limit))
}

fn too_large(limit: usize) -> Error {
    Error::new(
        ErrorKind::PayloadTooLarge,
        format!("The request body is larger than the limit of {limit} bytes"),
    )
}

/// A form-encoded body (`application/x-www-form-urlencoded`).
pub struct FormBody(pub HashMap<String, String>);

impl FromRequest<AppState> for FormBody {
    type Rejection = Error;

    /// Read under `form_body_limit`: the form-encoded requests (the OAuth
    /// token request) are a few fields, and the token endpoint takes them
    /// without credentials.
    async fn from_request(request: Request, state: &AppState) -> Result<Self, Error> {
        let bytes = read_body(request, state.settings.form_body_limit).await?;
        if std::str::from_utf8(&bytes).is_err() {
            return Err(Error::malformed("The form body is not valid UTF-8"));
        }
        Ok(FormBody(
            form_urlencoded::parse(&bytes).into_owned().collect(),
        ))
    }
}

/// Typed access to a JSON object's fields, with errors that name the field
/// (nested fields by their dotted path, such as `repeats.type`).
pub struct Fields<'a> {
    map: &'a Map<String, Json>,
    prefix: String,
}

impl<'a> Fields<'a> {
    pub fn new(map: &'a Map<String, Json>) -> Fields<'a> {
        Fields {
            map,
            prefix: String::new(),
        }
    }

    /// The fields of a nested object, named `parent.child` in errors.
    pub fn nested(&self, parent: &str, map: &'a Map<String, Json>) -> Fields<'a> {
        Fields {
            map,
            prefix: format!("{}{parent}.", self.prefix),
        }
    }

    pub fn path(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn get(&self, name: &str) -> Option<&'a Json> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    pub fn opt_str(&self, name: &str) -> Result<Option<&'a str>, Error> {
        match self.get(name) {
            None => Ok(None),
            Some(Json::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(Error::wrong_type(&self.path(name), "a string")),
        }
    }

    /// A string that must be present and not empty.
    pub fn str(&self, name: &str) -> Result<&'a str, Error> {
        match self.opt_str(name)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            _ => Err(Error::missing(&self.path(name))),
        }
    }

    pub fn opt_bool(&self, name: &str) -> Result<Option<bool>, Error> {
        match self.get(name) {
            None => Ok(None),
            Some(Json::Bool(b)) => Ok(Some(*b)),
            Some(Json::String(s)) if crate::domain::boolean::parse(s).is_some() => {
                Ok(crate::domain::boolean::parse(s))
            }
            Some(_) => Err(Error::wrong_type(
                &self.path(name),
                "a boolean (true or false)",
            )),
        }
    }

    pub fn opt_int(&self, name: &str) -> Result<Option<i64>, Error> {
        match self.get(name) {
            None => Ok(None),
            Some(Json::Number(n)) if n.is_i64() => Ok(n.as_i64()),
            Some(Json::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| Error::wrong_type(&self.path(name), "a number")),
            Some(_) => Err(Error::wrong_type(&self.path(name), "a number")),
        }
    }

    pub fn opt_object(&self, name: &str) -> Result<Option<&'a Map<String, Json>>, Error> {
        match self.get(name) {
            None => Ok(None),
            Some(Json::Object(o)) => Ok(Some(o)),
            Some(_) => Err(Error::wrong_type(&self.path(name), "an object")),
        }
    }

    pub fn opt_array(&self, name: &str) -> Result<Option<&'a Vec<Json>>, Error> {
        match self.get(name) {
            None => Ok(None),
            Some(Json::Array(a)) => Ok(Some(a)),
            Some(_) => Err(Error::wrong_type(&self.path(name), "an array")),
        }
    }
}
