//! Image kernels (Sobel, grayscale, edges) over strided views. See issue 3.
