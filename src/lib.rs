//! ferrokern: native-speed, all-cores kernels for Python data pipelines behind a plain C ABI.
//!
//! Two layers (docs/architecture.md is the map for newcomers):
//! * pure-Rust kernels that know nothing of C:
//!   - [`text`]: regex extraction and aggregation over batches of texts with Python-exact
//!     semantics (`re.findall`, `int()`, `\w \d \s`), flat results;
//!   - [`report`]: streaming reports over files, byte ranges or texts (reader, per-document
//!     extraction, mergeable tally, JSON out and back);
//!   - [`image`]: Sobel, grayscale and the two fused, over strided ndarray views;
//!   - [`numeric`]: correctly rounded sum, numpy-exact polyval, prime counting, with
//!     explicit SIMD paths chosen at run time;
//!   - [`shared`]: what several kernels use (FxHash maps, Python ints, counting and the
//!     one ranking order);
//!   - [`parallel`]: the library's own rayon pool (sized by `FERROKERN_THREADS`, safe
//!     across `fork()`); [`error`]: the kernels' error type;
//! * [`ffi`], the thin `extern "C"` layer: converts arguments, calls one kernel, converts the
//!   result into a status code, a caller buffer or an opaque handle. Its doc comments become
//!   `include/ferrokern.h` through cbindgen (build.rs).

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

/// Internal entry points for the fuzz targets in `fuzz/` (built with `--cfg fuzzing`, as
/// libFuzzer builds are); not part of the API and absent from every other build.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzz_api {
    pub use crate::report::jsonl::json_text_field;
}
