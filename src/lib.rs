//! ferrokern: native-speed, all-cores kernels for Python data pipelines behind a plain C ABI.
//!
//! Layout — two layers:
//! * pure-Rust kernels that know nothing of C: [`text`] (regex extraction and aggregation
//!   with Python-exact semantics), plus [`parallel`] (the pool) and [`error`];
//! * [`ffi`], the thin `extern "C"` layer: converts arguments, calls one kernel, converts the
//!   result into a status code, a caller buffer or an opaque handle. Its doc comments become
//!   `include/ferrokern.h` through cbindgen.

// Every `unsafe` block says why it is sound (clippy enforces it in `make lint-rust`).
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod error;
pub mod ffi;
pub mod image;
pub mod numeric;
pub mod parallel;
pub mod report;
pub mod shared;
pub mod text;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The library's version (Cargo's).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
