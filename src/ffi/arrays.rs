//! Exports of the image and numeric kernels. See issue 3.
