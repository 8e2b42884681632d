//! The API, declared once. Each family module lists its endpoints
//! (`endpoints()`: method, path, handler, summary, parameters, success
//! status) and `http::families()` gives each list its prefix and envelope.
//! The router, the OpenAPI document and the generated 401/403 tests are all
//! built from these lists.
//!
//! Who may call an endpoint and what body it reads are not written down
//! separately: they are read from the handler's argument types (see
//! [`Arg`]), so the document cannot name other roles than the
//! `Authorized<R>` the handler checks.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::http::{HeaderMap, Method, Uri};
use axum::middleware::{self, Next};
use axum::response::IntoResponse;
use axum::routing::{any, on, MethodFilter, MethodRouter};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;

use super::envelope::{self, Family as Envelope};
use super::extract::{
    Authenticated, Authorized, ClientAddr, FormBody, JsonObject, QueryParams, RoleSet,
};
use super::sdp::InputData;
use super::PathParams;
use crate::app::AppState;
use crate::config::Settings;
use crate::error::{Error, ErrorKind};

/// Who may call an endpoint.
#[derive(Clone, Copy)]
pub enum Access {
    /// Anyone, without credentials.
    Public,
    /// Anyone when the setting (named for the document) is on; otherwise any
    /// authenticated caller.
    PublicIf(fn(&Settings) -> bool, &'static str),
    /// Any authenticated caller; the handler decides further, as the note
    /// says (the Table API checks the table's roles).
    Caller(Option<&'static str>),
    /// Callers holding one of these roles, or admin (an empty list is admin
    /// alone): the `R::ANY_OF` of the handler's `Authorized<R>`.
    Roles(&'static [&'static str]),
}

impl Access {
    /// Whether requests need credentials under these settings.
    pub fn authenticates(&self, settings: &Settings) -> bool {
        match self {
            Access::Public => false,
            Access::PublicIf(open, _) => !open(settings),
            Access::Caller(_) | Access::Roles(_) => true,
        }
    }
}

/// What an endpoint reads from the request body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    None,
    /// A JSON object (or, where the family speaks XML, an XML document).
    Object,
    /// A JSON object of a schema named in the document's components.
    Schema(&'static str),
    /// Form-encoded fields.
    Form,
    /// Content read as it comes (CDM uploads: JSON, YAML, INI or properties).
    Raw,
}

/// What one handler argument tells about its endpoint. Every extractor a
/// handler takes implements it, so a handler taking an extractor that does
/// not cannot be declared (it would not compile), and the roles and body of
/// an endpoint are those its handler really checks and reads.
pub trait Arg {
    /// The roles the extractor requires (any one of them, or admin).
    const ROLES: Option<&'static [&'static str]> = None;
    /// The body the extractor reads.
    const BODY: Body = Body::None;
}

impl<R: RoleSet> Arg for Authorized<R> {
    const ROLES: Option<&'static [&'static str]> = Some(R::ANY_OF);
}
impl Arg for JsonObject {
    const BODY: Body = Body::Object;
}
impl Arg for FormBody {
    const BODY: Body = Body::Form;
}
impl Arg for InputData {
    const BODY: Body = Body::Form;
}
impl Arg for Request {
    const BODY: Body = Body::Raw;
}
impl<T: Arg, E> Arg for Result<T, E> {
    const ROLES: Option<&'static [&'static str]> = T::ROLES;
    const BODY: Body = T::BODY;
}
impl Arg for State<AppState> {}
impl Arg for Authenticated {}
impl Arg for ClientAddr {}
impl Arg for PathParams {}
impl Arg for QueryParams {}
impl Arg for HeaderMap {}
impl Arg for Uri {}

/// The arguments of a handler taken together: axum's `Handler<T, _>` has `T =
/// (M, T1, ..., Tn)`, `M` marking how the last argument is extracted.
pub trait Args {
    const ROLES: Option<&'static [&'static str]>;
    const BODY: Body;
}

const fn first_roles(all: &[Option<&'static [&'static str]>]) -> Option<&'static [&'static str]> {
    let mut i = 0;
    while i < all.len() {
        if all[i].is_some() {
            return all[i];
        }
        i += 1;
    }
    None
}

const fn first_body(all: &[Body]) -> Body {
    let mut i = 0;
    while i < all.len() {
        if !matches!(all[i], Body::None) {
            return all[i];
        }
        i += 1;
    }
    Body::None
}

macro_rules! args_of_tuple {
    ($($t:ident),*) => {
        impl<M, $($t: Arg,)*> Args for (M, $($t,)*) {
            const ROLES: Option<&'static [&'static str]> = first_roles(&[$($t::ROLES),*]);
            const BODY: Body = first_body(&[$($t::BODY),*]);
        }
    };
}
args_of_tuple!();
args_of_tuple!(T1);
args_of_tuple!(T1, T2);
args_of_tuple!(T1, T2, T3);
args_of_tuple!(T1, T2, T3, T4);
args_of_tuple!(T1, T2, T3, T4, T5);
args_of_tuple!(T1, T2, T3, T4, T5, T6);
args_of_tuple!(T1, T2, T3, T4, T5, T6, T7);
args_of_tuple!(T1, T2, T3, T4, T5, T6, T7, T8);

/// A query parameter, for the document.
#[derive(Clone, Copy, Debug)]
pub struct QueryParam {
    pub name: &'static str,
    pub required: bool,
}

/// One operation: a method on a path below its family's prefix.
pub struct Endpoint {
    pub method: Method,
    /// Below the family prefix, with `{name}` parameters as the handler
    /// reads them (`/release/{release_id}/restart`).
    pub path: &'static str,
    pub summary: &'static str,
    pub access: Access,
    pub body: Body,
    pub success: u16,
    pub query: Vec<QueryParam>,
    /// Path parameters the document names otherwise (the vendor's names).
    renamed: Vec<(&'static str, &'static str)>,
    /// Values for path parameters in generated requests (tests).
    examples: Vec<(&'static str, &'static str)>,
    /// Also routed with a trailing slash.
    pub trailing_slash: bool,
    /// Also routed under this other prefix (an alias the vendor's pages use).
    pub also_under: Option<&'static str>,
    handler: MethodRouter<AppState>,
}

/// The example value of a path parameter no endpoint gives one for.
pub const DEFAULT_EXAMPLE: &str = "0123456789abcdef0123456789abcdef";

impl Endpoint {
    fn new<H, T>(method: Method, path: &'static str, handler: H) -> Endpoint
    where
        H: Handler<T, AppState>,
        T: Args + 'static,
    {
        let filter = MethodFilter::try_from(method.clone())
            .unwrap_or_else(|_| panic!("{method} is not a routable method"));
        Endpoint {
            method,
            path,
            summary: "",
            access: match T::ROLES {
                Some(roles) => Access::Roles(roles),
                None => Access::Caller(None),
            },
            body: T::BODY,
            success: 200,
            query: Vec::new(),
            renamed: Vec::new(),
            examples: Vec::new(),
            trailing_slash: false,
            also_under: None,
            handler: on(filter, handler),
        }
    }

    pub fn get<H: Handler<T, AppState>, T: Args + 'static>(path: &'static str, h: H) -> Endpoint {
        Endpoint::new(Method::GET, path, h)
    }
    pub fn post<H: Handler<T, AppState>, T: Args + 'static>(path: &'static str, h: H) -> Endpoint {
        Endpoint::new(Method::POST, path, h)
    }
    pub fn put<H: Handler<T, AppState>, T: Args + 'static>(path: &'static str, h: H) -> Endpoint {
        Endpoint::new(Method::PUT, path, h)
    }
    pub fn patch<H: Handler<T, AppState>, T: Args + 'static>(path: &'static str, h: H) -> Endpoint {
        Endpoint::new(Method::PATCH, path, h)
    }
    pub fn delete<H: Handler<T, AppState>, T: Args + 'static>(
        path: &'static str,
        h: H,
    ) -> Endpoint {
        Endpoint::new(Method::DELETE, path, h)
    }

    pub fn summary(mut self, summary: &'static str) -> Endpoint {
        self.summary = summary;
        self
    }

    pub fn success(mut self, status: u16) -> Endpoint {
        self.success = status;
        self
    }

    /// The JSON body has this schema (a name in the document's components).
    pub fn schema(mut self, name: &'static str) -> Endpoint {
        assert_eq!(
            self.body,
            Body::Object,
            "{} {}: only a JSON body has a schema",
            self.method,
            self.path
        );
        self.body = Body::Schema(name);
        self
    }

    /// Optional query parameters.
    pub fn query(mut self, names: &[&'static str]) -> Endpoint {
        let params = names.iter().map(|&name| QueryParam {
            name,
            required: false,
        });
        self.query.extend(params);
        self
    }

    /// Query parameters the endpoint refuses to go without.
    pub fn required_query(mut self, names: &[&'static str]) -> Endpoint {
        let params = names.iter().map(|&name| QueryParam {
            name,
            required: true,
        });
        self.query.extend(params);
        self
    }

    /// The document names path parameter `name` as `documented`.
    pub fn documented_as(mut self, name: &'static str, documented: &'static str) -> Endpoint {
        self.renamed.push((name, documented));
        self
    }

    /// The value generated requests use for path parameter `name`.
    pub fn example(mut self, name: &'static str, value: &'static str) -> Endpoint {
        self.examples.push((name, value));
        self
    }

    pub fn also_with_trailing_slash(mut self) -> Endpoint {
        self.trailing_slash = true;
        self
    }

    pub fn also_under(mut self, prefix: &'static str) -> Endpoint {
        self.also_under = Some(prefix);
        self
    }

    /// Answered without credentials. Only for handlers that check no roles.
    pub fn public(self) -> Endpoint {
        self.with_access(Access::Public)
    }

    /// Answered without credentials when `open(settings)`.
    pub fn public_if(self, open: fn(&Settings) -> bool, setting: &'static str) -> Endpoint {
        self.with_access(Access::PublicIf(open, setting))
    }

    /// Any authenticated caller; the handler checks further as `note` says.
    pub fn checked_by_handler(self, note: &'static str) -> Endpoint {
        self.with_access(Access::Caller(Some(note)))
    }

    fn with_access(mut self, access: Access) -> Endpoint {
        // A handler's `Authorized<R>` is its access; nothing may say otherwise.
        assert!(
            !matches!(self.access, Access::Roles(_)),
            "{} {}: the handler checks roles, so its access is those roles",
            self.method,
            self.path
        );
        self.access = access;
        self
    }

    /// The names of the path parameters, in order.
    pub fn path_params(&self) -> Vec<&'static str> {
        self.path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect()
    }

    /// The name the document gives path parameter `name`.
    pub fn documented_name(&self, name: &'static str) -> &'static str {
        self.renamed
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(name, |(_, d)| d)
    }

    /// The value generated requests use for path parameter `name`.
    pub fn example_of(&self, name: &str) -> &'static str {
        self.examples
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(DEFAULT_EXAMPLE, |(_, v)| v)
    }
}

/// An API family: its endpoints under one prefix, answered in one error
/// envelope.
pub struct ApiFamily {
    pub name: &'static str,
    /// `/api/sn_dpr`; empty for the family at the root, which answers every
    /// path no other family claims.
    pub prefix: &'static str,
    pub envelope: Envelope,
    /// Routed with and without a `/{version}` segment after the prefix.
    pub versioned: bool,
    /// Takes and answers XML as well as JSON.
    pub xml: bool,
    /// Also answers the prefix itself (`/api/v3`) as a path naming nothing;
    /// otherwise the family claims only the paths below `{prefix}/`.
    pub claims_bare_prefix: bool,
    pub endpoints: Vec<Endpoint>,
}

impl ApiFamily {
    pub fn new(
        name: &'static str,
        prefix: &'static str,
        envelope: Envelope,
        endpoints: Vec<Endpoint>,
    ) -> ApiFamily {
        ApiFamily {
            name,
            prefix,
            envelope,
            versioned: false,
            xml: false,
            claims_bare_prefix: false,
            endpoints,
        }
    }

    pub fn versioned(mut self) -> ApiFamily {
        self.versioned = true;
        self
    }

    pub fn xml(mut self) -> ApiFamily {
        self.xml = true;
        self
    }

    pub fn claiming_bare_prefix(mut self) -> ApiFamily {
        self.claims_bare_prefix = true;
        self
    }

    /// Every route pattern of `e`: under the prefix (and its alias), with
    /// and without the version segment, with and without a trailing slash.
    pub fn patterns(&self, e: &Endpoint) -> Vec<String> {
        let versions: &[&str] = if self.versioned {
            &["", "/{version}"]
        } else {
            &[""]
        };
        let mut out = Vec::new();
        for base in std::iter::once(self.prefix).chain(e.also_under) {
            for version in versions {
                let path = format!("{base}{version}{}", e.path);
                if e.trailing_slash {
                    out.push(format!("{path}/"));
                }
                out.push(path);
            }
        }
        out
    }

    /// Every path `e` answers at, with example parameter values (`v1` for a
    /// version): what generated tests send.
    pub fn example_paths(&self, e: &Endpoint) -> Vec<String> {
        self.patterns(e)
            .iter()
            .map(|pattern| {
                pattern
                    .split('/')
                    .map(|segment| {
                        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                            Some("version") => "v1",
                            Some(name) => e.example_of(name),
                            None => segment,
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .collect()
    }

    /// The path the document lists `e` under: the unversioned form, with the
    /// documented parameter names.
    pub fn documented_path(&self, e: &Endpoint) -> String {
        let path = e
            .path
            .split('/')
            .map(
                |segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(name) => format!("{{{}}}", e.documented_name(name)),
                    None => segment.to_owned(),
                },
            )
            .collect::<Vec<_>>()
            .join("/");
        format!("{}{path}", self.prefix)
    }

    /// The router of this family: its routes, and (below its prefixes) an
    /// answer for paths naming nothing, all wrapped in its envelope.
    pub fn router(&self, state: &AppState) -> Router<AppState> {
        let mut by_path: BTreeMap<String, MethodRouter<AppState>> = BTreeMap::new();
        let mut mounts = vec![self.prefix];
        for e in &self.endpoints {
            let mut handler = e.handler.clone();
            if e.access.authenticates(&state.settings) {
                // Routed requests only, before any extractor runs; a method
                // the path does not have is answered 405 without credentials.
                let auth_state = state.clone();
                handler =
                    handler.route_layer(middleware::from_fn(move |req: Request, next: Next| {
                        super::authenticate_first(auth_state.clone(), req, next)
                    }));
            }
            for pattern in self.patterns(e) {
                let merged = match by_path.remove(&pattern) {
                    Some(existing) => existing.merge(handler.clone()),
                    None => handler.clone(),
                };
                by_path.insert(pattern, merged);
            }
            if let Some(alias) = e.also_under {
                if !mounts.contains(&alias) {
                    mounts.push(alias);
                }
            }
        }
        let mut router = Router::new();
        for (pattern, handler) in by_path {
            router = router.route(&pattern, handler.fallback(method_not_allowed));
        }
        if self.claims_bare_prefix {
            router = router.route(self.prefix, any(no_such_endpoint));
        }
        let timeout = Duration::from_secs(state.settings.request_timeout.max(1));
        if self.prefix.is_empty() {
            return self.wrap(router.fallback(no_such_endpoint), timeout);
        }
        let mut router = self.wrap(router, timeout);
        for mount in mounts {
            let unknown = self.wrap(Router::new().fallback(no_such_endpoint), timeout);
            // Nested at `{mount}/`: claims `{mount}/` and every path below it.
            router = router.nest(&format!("{mount}/"), unknown);
        }
        router
    }

    /// The family's layers, inside out: panics and timeouts become errors,
    /// errors are rendered in the family's envelope, and an XML family turns
    /// answers into XML for clients that ask for it.
    fn wrap(&self, router: Router<AppState>, timeout: Duration) -> Router<AppState> {
        let envelope = self.envelope;
        let router = router
            .layer(CatchPanicLayer::custom(
                |_: Box<dyn std::any::Any + Send>| {
                    Error::internal("a handler panicked").into_response()
                },
            ))
            .layer(middleware::from_fn(
                move |req: Request, next: Next| async move {
                    match tokio::time::timeout(timeout, next.run(req)).await {
                        Ok(response) => response,
                        Err(_) => Error::new(
                            ErrorKind::Unavailable,
                            format!("The request took longer than {} seconds", timeout.as_secs()),
                        )
                        .into_response(),
                    }
                },
            ))
            .layer(middleware::from_fn(move |req: Request, next: Next| {
                envelope::render_errors(envelope, req, next)
            }));
        if self.xml {
            router.layer(middleware::from_fn(super::xml::negotiate))
        } else {
            router
        }
    }
}

async fn no_such_endpoint() -> Error {
    Error::no_such_endpoint()
}

async fn method_not_allowed() -> Error {
    Error::new(
        ErrorKind::MethodNotAllowed,
        "Method not supported for this resource",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Editors;
    impl RoleSet for Editors {
        const ANY_OF: &'static [&'static str] = &["editor", "owner"];
    }

    async fn edit(
        _: State<AppState>,
        _: PathParams,
        _: Authorized<Editors>,
        _: JsonObject,
    ) -> &'static str {
        ""
    }

    async fn read(_: State<AppState>, _: Authenticated, _: QueryParams) -> &'static str {
        ""
    }

    #[test]
    fn roles_and_body_are_read_from_the_handler() {
        let e = Endpoint::put("/things/{id}", edit);
        assert!(matches!(e.access, Access::Roles(&["editor", "owner"])));
        assert_eq!(e.body, Body::Object);
        let e = Endpoint::get("/things", read);
        assert!(matches!(e.access, Access::Caller(None)));
        assert_eq!(e.body, Body::None);
    }

    #[test]
    #[should_panic(expected = "the handler checks roles")]
    fn a_role_checked_handler_cannot_be_declared_public() {
        let _ = Endpoint::put("/things/{id}", edit).public();
    }

    #[test]
    fn a_versioned_family_routes_every_form_and_documents_one() {
        let family = ApiFamily::new(
            "test",
            "/api/x",
            Envelope::ServiceNow,
            vec![Endpoint::put("/things/{id}", edit)
                .documented_as("id", "thingId")
                .example("id", "7")
                .also_with_trailing_slash()
                .also_under("/x")],
        )
        .versioned();
        let e = &family.endpoints[0];
        assert_eq!(
            family.patterns(e),
            [
                "/api/x/things/{id}/",
                "/api/x/things/{id}",
                "/api/x/{version}/things/{id}/",
                "/api/x/{version}/things/{id}",
                "/x/things/{id}/",
                "/x/things/{id}",
                "/x/{version}/things/{id}/",
                "/x/{version}/things/{id}",
            ]
        );
        assert_eq!(family.example_paths(e)[3], "/api/x/v1/things/7");
        assert_eq!(family.documented_path(e), "/api/x/things/{thingId}");
        assert_eq!(e.path_params(), ["id"]);
    }
}
