//! The error envelopes of the API families, rendered in one place. Handlers
//! and extractors return [`Error`]; its `IntoResponse` only parks it in the
//! response, and [`render_errors`] (a layer on each family's router, see
//! `http::endpoint::ApiFamily`) turns it into the family's body.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::error::{Error, ErrorKind};

/// The error envelope of an API family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// Table API, CDM, CI/CD: `{"error": {...}, "status": "failure"}`.
    ServiceNow,
    /// Digital Product Release: domain failures inside `result`.
    DigitalProductRelease,
    /// `/api/v3`: `response_status` with numeric codes.
    ServiceDesk,
    /// Configuration Data Management: the ServiceNow body, but every refusal
    /// of a request's content or state is a 400, as the CDM pages document
    /// (they list only 200, 400 and 500), with `detail` empty.
    ConfigurationData,
    /// Outside `/api`: operations endpoints.
    Other,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// Parked next to an [`Error`] by the DPR policy-run endpoint: its domain
/// failures carry the fields of its success answer too (`errorCode`, the
/// HTTP status as a string, and `policyExecutionScheduled: false`), as its
/// page documents the answer.
#[derive(Clone, Copy, Debug)]
pub struct PolicyRunAnswer;

/// Parks `error` in a response marked as the policy-run endpoint's.
pub fn policy_run_failure(error: Error) -> Response {
    let mut response = error.into_response();
    response.extensions_mut().insert(PolicyRunAnswer);
    response
}

/// Renders a parked [`Error`] in the envelope of `family`, whose router
/// this layer wraps.
pub async fn render_errors(family: Family, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let policy_run = response
        .extensions_mut()
        .remove::<PolicyRunAnswer>()
        .is_some();
    match response.extensions_mut().remove::<Error>() {
        Some(error) if policy_run && family == Family::DigitalProductRelease => {
            render_policy_run(&error)
        }
        Some(error) => render(family, &error),
        None => response,
    }
}

fn render_policy_run(error: &Error) -> Response {
    if !is_domain_failure(error.kind) {
        return render(Family::DigitalProductRelease, error);
    }
    let status = StatusCode::BAD_REQUEST;
    let body = json!({"result": {
        "error": true,
        "errorCode": status.as_u16().to_string(),
        "message": error.message,
        "policyExecutionScheduled": false,
    }});
    (status, Json(body)).into_response()
}

pub fn render(family: Family, error: &Error) -> Response {
    let mut response = render_body(family, error);
    if let Some(secs) = error.retry_after {
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, secs.into());
    }
    response
}

fn render_body(family: Family, error: &Error) -> Response {
    match family {
        Family::ServiceDesk => service_desk(error),
        Family::DigitalProductRelease if is_domain_failure(error.kind) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"result": {"error": true, "message": error.message}})),
        )
            .into_response(),
        Family::ConfigurationData => configuration_data(error),
        _ => service_now(family, error),
    }
}

fn configuration_data(error: &Error) -> Response {
    let status = match error.kind {
        ErrorKind::Unauthenticated | ErrorKind::Forbidden => {
            return service_now(Family::ServiceNow, error)
        }
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        _ => StatusCode::BAD_REQUEST,
    };
    let message = if error.message.starts_with("Error:") {
        error.message.clone()
    } else {
        format!("Error: {}", error.message)
    };
    let body = json!({
        "error": {"message": message, "detail": error.detail.clone().unwrap_or_default()},
        "status": "failure",
    });
    (status, Json(body)).into_response()
}

/// Failures of the request's content, which the DPR endpoints report inside
/// `result` as their pages show.
fn is_domain_failure(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::Missing
            | ErrorKind::WrongType
            | ErrorKind::Invalid
            | ErrorKind::ReadOnly
            | ErrorKind::TimeMismatch
            | ErrorKind::Conflict
            | ErrorKind::NotUnique
            | ErrorKind::InUse
            | ErrorKind::ClosureRule
    )
}

/// The HTTP status of an error kind outside the API families (the release
/// console's pages).
pub fn http_status(kind: ErrorKind) -> StatusCode {
    service_now_status(Family::Other, kind)
}

fn service_now_status(family: Family, kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Missing
        | ErrorKind::WrongType
        | ErrorKind::Invalid
        | ErrorKind::Malformed
        | ErrorKind::ReadOnly
        | ErrorKind::ClosureRule
        | ErrorKind::TimeMismatch => StatusCode::BAD_REQUEST,
        ErrorKind::NotUnique | ErrorKind::Conflict | ErrorKind::InUse => StatusCode::CONFLICT,
        ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        // Clients probe the API with such paths and read 404 as a wrong base URL.
        ErrorKind::NoSuchEndpoint if family == Family::Other => StatusCode::NOT_FOUND,
        ErrorKind::NoSuchEndpoint => StatusCode::BAD_REQUEST,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn service_now(family: Family, error: &Error) -> Response {
    let status = service_now_status(family, error.kind);
    let body = json!({
        "error": {"message": error.message, "detail": error.detail},
        "status": "failure",
    });
    let mut response = (status, Json(body)).into_response();
    if error.kind == ErrorKind::Unauthenticated {
        response.headers_mut().insert(
            axum::http::header::WWW_AUTHENTICATE,
            axum::http::HeaderValue::from_static("Basic realm=\"Tollgate\""),
        );
    }
    response
}

/// The ServiceDesk-style code and HTTP status for an error kind.
pub fn service_desk_code(kind: ErrorKind) -> (u32, StatusCode) {
    match kind {
        ErrorKind::Unauthenticated => (4022, StatusCode::UNAUTHORIZED),
        ErrorKind::Forbidden => (4002, StatusCode::FORBIDDEN),
        ErrorKind::NotFound | ErrorKind::NoSuchEndpoint => (4007, StatusCode::NOT_FOUND),
        ErrorKind::MethodNotAllowed => (4007, StatusCode::METHOD_NOT_ALLOWED),
        ErrorKind::Missing => (4012, StatusCode::BAD_REQUEST),
        ErrorKind::WrongType | ErrorKind::Malformed => (4021, StatusCode::BAD_REQUEST),
        ErrorKind::Invalid | ErrorKind::Conflict => (4001, StatusCode::BAD_REQUEST),
        ErrorKind::ReadOnly => (4014, StatusCode::BAD_REQUEST),
        ErrorKind::NotUnique => (4008, StatusCode::BAD_REQUEST),
        ErrorKind::InUse => (4005, StatusCode::BAD_REQUEST),
        ErrorKind::ClosureRule => (4003, StatusCode::BAD_REQUEST),
        ErrorKind::TimeMismatch => (4016, StatusCode::BAD_REQUEST),
        ErrorKind::PayloadTooLarge => (4000, StatusCode::PAYLOAD_TOO_LARGE),
        ErrorKind::Unavailable => (4004, StatusCode::SERVICE_UNAVAILABLE),
        ErrorKind::TooManyRequests => (4000, StatusCode::TOO_MANY_REQUESTS),
        ErrorKind::Internal => (4004, StatusCode::INTERNAL_SERVER_ERROR),
    }
}

fn service_desk(error: &Error) -> Response {
    let (code, status) = service_desk_code(error.kind);
    let mut message = json!({"status_code": code, "type": "failed", "message": error.message});
    if let Some(field) = &error.field {
        message["field"] = json!(field);
    }
    let body = json!({
        "response_status": {"status_code": 4000, "status": "failed", "messages": [message]}
    });
    (status, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servicedesk_codes_follow_the_vendor_table() {
        assert_eq!(
            service_desk_code(ErrorKind::Unauthenticated),
            (4022, StatusCode::UNAUTHORIZED)
        );
        assert_eq!(
            service_desk_code(ErrorKind::Forbidden),
            (4002, StatusCode::FORBIDDEN)
        );
        assert_eq!(
            service_desk_code(ErrorKind::Missing),
            (4012, StatusCode::BAD_REQUEST)
        );
        assert_eq!(
            service_desk_code(ErrorKind::WrongType),
            (4021, StatusCode::BAD_REQUEST)
        );
        assert_eq!(
            service_desk_code(ErrorKind::NotUnique),
            (4008, StatusCode::BAD_REQUEST)
        );
        assert_eq!(
            service_desk_code(ErrorKind::NoSuchEndpoint),
            (4007, StatusCode::NOT_FOUND)
        );
    }

    #[test]
    fn too_many_requests_is_429_with_retry_after_in_every_family() {
        let error = Error::too_many_requests("slow down", std::time::Duration::from_millis(1500));
        for family in [
            Family::ServiceNow,
            Family::DigitalProductRelease,
            Family::ServiceDesk,
            Family::ConfigurationData,
            Family::Other,
        ] {
            let r = render(family, &error);
            assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "{family:?}");
            assert_eq!(
                r.headers().get(axum::http::header::RETRY_AFTER).unwrap(),
                "2",
                "{family:?}: rounded up"
            );
        }
    }

    #[test]
    fn dpr_domain_failures_go_inside_result_and_auth_failures_do_not() {
        let r = render(Family::DigitalProductRelease, &Error::missing("name"));
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let r = render(Family::DigitalProductRelease, &Error::unauthenticated());
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
}
