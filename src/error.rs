//! The one error type of the domain. Each API family renders it in its own
//! envelope, once, in `http::envelope`; nothing here knows about HTTP bodies.

use std::fmt;

/// What went wrong, in terms every family can map to its own codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// No or wrong credentials (401).
    Unauthenticated,
    /// A known caller without the role (403).
    Forbidden,
    /// The addressed record does not exist (404).
    NotFound,
    /// A required field was not given.
    Missing,
    /// A field has the wrong JSON type.
    WrongType,
    /// A field's value is not acceptable (unknown reference, bad format, ...).
    Invalid,
    /// The request body is not well-formed JSON or form data.
    Malformed,
    /// A field only the server's own rules may change.
    ReadOnly,
    /// A record with the same unique key exists.
    NotUnique,
    /// The record is referenced by another and cannot be deleted.
    InUse,
    /// A field the closure rules require is empty.
    ClosureRule,
    /// A start after its end, and the like.
    TimeMismatch,
    /// The state of a record forbids the operation.
    Conflict,
    PayloadTooLarge,
    MethodNotAllowed,
    /// The path names no endpoint.
    NoSuchEndpoint,
    /// The database is busy or unreachable; the client may retry.
    Unavailable,
    /// The client made too many (failed) attempts; it may retry after
    /// [`Error::retry_after`] seconds (429 with `Retry-After`).
    TooManyRequests,
    Internal,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    /// The request field the problem is about, when there is one.
    pub field: Option<String>,
    /// A message for the client: names the field and the problem, never
    /// internals.
    pub message: String,
    pub detail: Option<String>,
    /// For [`ErrorKind::TooManyRequests`]: seconds before a retry may pass,
    /// sent as `Retry-After`.
    pub retry_after: Option<u64>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            field: None,
            message: message.into(),
            detail: None,
            retry_after: None,
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Error {
        self.field = Some(field.into());
        self
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Error {
        self.detail = Some(detail.into());
        self
    }

    pub fn unauthenticated() -> Error {
        Error::new(ErrorKind::Unauthenticated, "User Not Authenticated")
            .with_detail("Required to provide Auth information")
    }

    pub fn forbidden(roles: &[&str]) -> Error {
        let detail = if roles.is_empty() {
            "This operation requires the admin role".to_owned()
        } else {
            format!(
                "This operation requires one of the roles: {}",
                roles.join(", ")
            )
        };
        Error::new(
            ErrorKind::Forbidden,
            "Insufficient rights to perform this operation",
        )
        .with_detail(detail)
    }

    /// Too many attempts from this client: refused without being checked.
    /// `retry_after` is rounded up to whole seconds (at least one).
    pub fn too_many_requests(
        message: impl Into<String>,
        retry_after: std::time::Duration,
    ) -> Error {
        let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        Error {
            retry_after: Some(secs.max(1)),
            ..Error::new(ErrorKind::TooManyRequests, message)
        }
    }

    pub fn not_found(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::NotFound, message)
    }

    pub fn missing(field: &str) -> Error {
        Error::new(ErrorKind::Missing, format!("{field} is required")).with_field(field)
    }

    pub fn wrong_type(field: &str, expected: &str) -> Error {
        Error::new(ErrorKind::WrongType, format!("{field} must be {expected}")).with_field(field)
    }

    pub fn invalid(field: &str, problem: impl fmt::Display) -> Error {
        Error::new(ErrorKind::Invalid, format!("{field}: {problem}")).with_field(field)
    }

    pub fn malformed(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Malformed, message)
    }

    pub fn read_only(field: &str) -> Error {
        Error::new(
            ErrorKind::ReadOnly,
            format!("{field} is read-only: only the server's rules change it"),
        )
        .with_field(field)
    }

    pub fn conflict(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Conflict, message)
    }

    pub fn no_such_endpoint() -> Error {
        Error::new(
            ErrorKind::NoSuchEndpoint,
            "Requested URI does not represent any resource",
        )
    }

    /// An unexpected failure: the cause is logged here and never shown.
    pub fn internal(cause: impl fmt::Display) -> Error {
        tracing::error!(error = %cause, "internal error");
        Error::new(
            ErrorKind::Internal,
            "An unexpected error occurred while processing the request",
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<crate::storage::StorageError> for Error {
    fn from(err: crate::storage::StorageError) -> Self {
        use crate::storage::{ConstraintKind, StorageError};
        match err {
            StorageError::UniqueViolation => Error::new(
                ErrorKind::NotUnique,
                "A record with the same unique value already exists",
            ),
            // The database's integrity rules are the last line: the domain
            // checks mandatory fields and references first, so reaching
            // here means a rule the domain does not know yet. The client
            // still gets a 400 naming the field, never the SQL; the log
            // keeps the whole story.
            StorageError::Constraint {
                kind,
                table,
                column,
                constraint,
            } => {
                tracing::warn!(%kind, table, column, constraint, "database constraint refused a write");
                let field = column.or(constraint);
                match (kind, field) {
                    (ConstraintKind::NotNull, Some(field)) => Error::missing(&field),
                    (ConstraintKind::NotNull, None) => {
                        Error::new(ErrorKind::Missing, "A required field is empty")
                    }
                    (ConstraintKind::Check, Some(field)) => {
                        Error::invalid(&field, "the value is not one the table accepts")
                    }
                    (ConstraintKind::Check, None) => {
                        Error::new(ErrorKind::Invalid, "A value is not one the table accepts")
                    }
                    (ConstraintKind::ForeignKey, Some(field)) => Error::invalid(
                        &field,
                        "names a record that does not exist, or the record is still referenced",
                    ),
                    (ConstraintKind::ForeignKey, None) => Error::new(
                        ErrorKind::Invalid,
                        "A reference names a record that does not exist, or the record is still \
                         referenced",
                    ),
                }
            }
            StorageError::InvalidValue { column, code } => {
                tracing::warn!(column, code, "database refused a value");
                let problem = "it holds a NUL character, a number out of range, or text that \
                               is not of the field's type";
                match column {
                    Some(column) => {
                        Error::invalid(&column, format!("the value cannot be used: {problem}"))
                    }
                    None => Error::new(
                        ErrorKind::Invalid,
                        format!("A value in the request cannot be used: {problem}"),
                    ),
                }
            }
            StorageError::Busy => {
                tracing::warn!("database busy");
                Error::new(ErrorKind::Unavailable, "The database is busy; try again")
            }
            other => Error::internal(other),
        }
    }
}
