//! The kernels' error type. Pure Rust: the FFI layer maps [`ErrorKind`] onto the C status
//! enum and the message onto the thread's last-error string.

use std::fmt;

/// What went wrong, coarse enough to pick an exception class from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A required pointer argument was NULL.
    NullPointer,
    /// An argument is out of range or inconsistent (length overflow, bad offsets, bad flag, …).
    InvalidArgument,
    /// A text is not valid UTF-8.
    InvalidUtf8,
    /// The pattern does not parse.
    PatternSyntax,
    /// The pattern uses syntax the engine does not support (backreferences, look-around).
    PatternUnsupported,
    /// The compiled pattern exceeds the size limit.
    PatternTooLarge,
    /// A value extracted from the text cannot be converted (Python's `int()` would raise).
    InvalidValue,
    /// A caller-provided output buffer is too small.
    BufferTooSmall,
    /// Input and output buffers overlap where they must not.
    Overlap,
    /// Unsupported element type or layout.
    Dtype,
    /// An allocation failed.
    OutOfMemory,
    /// Reading a file failed.
    Io,
    /// The input data is malformed (truncated gzip, …).
    Data,
    /// The caller cancelled the operation (from a callback).
    Cancelled,
    /// Something inside the library failed that no input should cause (a lost worker, a
    /// caught panic in a worker task). Not an allocation failure.
    Internal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
        }
    }
    pub fn invalid(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidArgument, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// The message of a caught panic (`catch_unwind`'s payload): the `panic!` text when it has
/// one. The one place that knows what a panic payload can hold.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// The error for a panic caught on one of the library's own threads while `doing` something
/// (`"spilling"`): an internal error with the panic's message, returned to the caller like
/// any other error rather than re-raised.
pub fn panic_error(doing: &str, payload: &(dyn std::any::Any + Send)) -> Error {
    Error::new(
        ErrorKind::Internal,
        format!("internal error while {doing}: {}", panic_message(payload)),
    )
}
