//! Numeric kernels (exact sum, polyval, prime counting). See issue 3.
