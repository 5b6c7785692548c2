//! One error type for every operation: a machine-readable code, a message
//! for people, and the input field it is about. The CLI turns it into an
//! exit code, the API into a status and `{"error": {…}}`.

use serde::Serialize;
use tern_store::StoreError;
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// The input is not valid (which field says `field`).
    Invalid,
    /// What the request names does not exist (or is not visible to the
    /// caller's scope).
    NotFound,
    /// It exists already, or something still depends on it.
    Conflict,
    /// The caller's scope does not cover it.
    Forbidden,
    /// A dependency (the database, the disk) failed; try again later.
    Unavailable,
}

impl Code {
    /// The HTTP status for this code (RFC 9110 15).
    pub fn status(self) -> u16 {
        match self {
            Code::Invalid => 422,
            Code::NotFound => 404,
            Code::Conflict => 409,
            Code::Forbidden => 403,
            Code::Unavailable => 503,
        }
    }

    /// The caller can fix it (the CLI exits 2); otherwise it is a runtime
    /// failure (exit 1).
    pub fn is_callers(self) -> bool {
        self != Code::Unavailable
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Error {
    pub code: Code,
    pub message: String,
    /// The input field the error is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn invalid(field: &str, message: impl Into<String>) -> Error {
        Error {
            code: Code::Invalid,
            message: message.into(),
            field: Some(field.to_string()),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Error {
        Error {
            code: Code::NotFound,
            message: message.into(),
            field: None,
        }
    }

    pub fn conflict(message: impl Into<String>) -> Error {
        Error {
            code: Code::Conflict,
            message: message.into(),
            field: None,
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Error {
        Error {
            code: Code::Forbidden,
            message: message.into(),
            field: None,
        }
    }

    pub fn unavailable(message: impl Into<String>) -> Error {
        Error {
            code: Code::Unavailable,
            message: message.into(),
            field: None,
        }
    }

    /// The same error, about `field`.
    pub fn on(mut self, field: &str) -> Error {
        self.field = Some(field.to_string());
        self
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) if self.code == Code::Invalid => write!(f, "{field}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Error {
        match e {
            StoreError::NotFound(_) => Error::not_found(e.to_string()),
            StoreError::Duplicate(_)
            | StoreError::DomainNotEmpty { .. }
            | StoreError::AlreadyDelivered => Error::conflict(e.to_string()),
            StoreError::Invalid(m) => Error {
                code: Code::Invalid,
                message: m,
                field: None,
            },
            StoreError::OverQuota { .. }
            | StoreError::Active(_)
            | StoreError::Limit(..)
            | StoreError::DavPreconditionFailed
            | StoreError::DavUidConflict(_) => Error::conflict(e.to_string()),
            StoreError::Other(e) => Error::unavailable(format!("{e:#}")),
        }
    }
}
