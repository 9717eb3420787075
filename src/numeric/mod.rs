//! Numeric kernels: a correctly rounded parallel sum ([`sum`]), Horner polynomial
//! evaluation with numpy's semantics ([`polyval`]) and prime counting with a segmented
//! parallel sieve ([`primes`]). Pure Rust; the C layer lives in `ffi::arrays`.

mod isa;
pub mod polyval;
pub mod primes;
pub mod sum;

pub use polyval::{polyval, polyval_inplace};
pub use primes::{
    count_primes, count_primes_polled, primes_between, primes_between_bound, MAX_PRIMES_SPAN, MAX_PRIME_LIMIT,
};
pub use sum::{sum, sum_bytes, sum_bytes_polled, ExactSum};
