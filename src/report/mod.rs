//! Streaming reports over corpora of any size. See issue 4.
