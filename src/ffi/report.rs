//! Exports of the streaming report. See issue 4.
