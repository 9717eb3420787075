//! Helpers that more than one kernel family uses, kept here so that every user can see
//! they are shared (and so that `report` does not reach into `text`'s internals):
//! * [`hash`]: the deterministic FxHash map used for every string-keyed map;
//! * [`pyint`]: Python's `int` (parsing as `int()` does, exact addition, order, the
//!   ValueError messages);
//! * [`counts`]: [`counts::CountMap`] (add / merge counts per string) and
//!   [`counts::ByCount`], the one "count descending, then code point" order of every
//!   ranked list;
//! * [`files`]: atomic output files (temporary file + rename) and file identity
//!   (device + inode), so that no output ever overwrites an input.

pub mod counts;
pub mod files;
pub mod hash;
pub mod pyint;
